package compat

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// cliIn runs the mimic binary against a home and returns its output and
// exit status.
func cliIn(t *testing.T, home string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.CommandContext(ctx(t), env.Binary, append(args, "--home", home)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// analysisReport is the part of `mimic analyze -o json` the tests read.
type analysisReport struct {
	Window    string         `json:"window"`
	Summary   map[string]int `json:"summary"`
	AccessLog *struct {
		Entries int `json:"entries"`
	} `json:"accessLog"`
	Findings []struct {
		ID       string `json:"id"`
		Rule     string `json:"rule"`
		Severity string `json:"severity"`
		Title    string `json:"title"`
		Resource string `json:"resource"`
		Evidence struct {
			Identity *struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"identity"`
			Assignments []struct {
				ID string `json:"id"`
			} `json:"assignments"`
		} `json:"evidence"`
		Fix struct {
			Commands []string `json:"commands"`
		} `json:"fix"`
	} `json:"findings"`
}

// The demo estate through `mimic up --demo`, and the analyzer's CLI on it:
// findings in every format, the --fail-on gate's exit statuses, SARIF
// against the 2.1.0 schema, and blast radii as JSON, Mermaid and DOT.
func TestAnalyzeTheDemo(t *testing.T) {
	home, rep := startDemo(t)
	cli := func(args ...string) (string, string, int) { return cliIn(t, home, args...) }
	for _, want := range [][2]string{
		{"cross-environment-identity", "id-payments-shared"}, {"subscription-scope-assignment", "id-ops-automation"},
		{"automation-identity", "id-deploy-ci"}, {"cross-team-identity", "id-workers-shared"}, {"privileged-role", "id-ops-automation"},
		{"escalation-path", "id-deploy-ci"}, {"unused-permission", "id-payments-shared"},
	} {
		if !hasFinding(rep, want[0], want[1]) {
			t.Errorf("no %s finding for %s", want[0], want[1])
		}
	}
	if rep.Window != "30d" || rep.Summary["critical"] == 0 || rep.AccessLog == nil {
		t.Errorf("report header: window %q, summary %v, access log %v", rep.Window, rep.Summary, rep.AccessLog)
	}

	// The table, with its one-line summary on stderr.
	out, errOut, code := cli("analyze")
	if code != 0 || !strings.HasPrefix(out, "SEVERITY") || !strings.Contains(errOut, "finding(s):") {
		t.Errorf("table: %d %q %q", code, out, errOut)
	}
	// The gate: 1 when a finding is at or above --fail-on, 2 for usage.
	if _, errOut, code := cli("analyze", "--fail-on", "critical", "-o", "json"); code != 1 || !strings.Contains(errOut, "at or above --fail-on critical") {
		t.Errorf("--fail-on critical: %d %s", code, errOut)
	}
	for _, args := range [][]string{{"--fail-on", "severe"}, {"-o", "xml"}, {"--window", "soon"}, {"--no-such-flag"}, {"extra"}} {
		if _, errOut, code := cli(append([]string{"analyze"}, args...)...); code != 2 {
			t.Errorf("analyze %v: status %d, want 2: %s", args, code, errOut)
		}
	}
	if _, _, code := cliIn(t, filepath.Join(t.TempDir(), "nothing"), "analyze"); code != 3 {
		t.Errorf("analyze without a server: status %d, want 3", code)
	}

	// SARIF validates against the published 2.1.0 schema.
	out, _, code = cli("analyze", "-o", "sarif")
	if code != 0 {
		t.Fatalf("sarif: %d", code)
	}
	sch, err := jsonschema.NewCompiler().Compile("../../internal/analyzer/report/testdata/sarif-schema-2.1.0.json")
	must(t, err)
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	must(t, err)
	if err := sch.Validate(inst); err != nil {
		t.Errorf("the SARIF log does not validate: %v", err)
	}
	if out, _, code := cli("analyze", "-o", "markdown"); code != 0 || !strings.Contains(out, "## mimic: managed identity findings") || !strings.Contains(out, "```sh\naz ") {
		t.Errorf("markdown: %d %.200s", code, out)
	}
	var og struct {
		Metadata struct {
			SourceKind string `json:"source_kind"`
		} `json:"metadata"`
		Graph struct {
			Nodes []struct{ ID string }   `json:"nodes"`
			Edges []struct{ Kind string } `json:"edges"`
		} `json:"graph"`
	}
	out, _, _ = cli("analyze", "-o", "opengraph")
	if err := json.Unmarshal([]byte(out), &og); err != nil || og.Metadata.SourceKind != "Mimic" || len(og.Graph.Nodes) == 0 || len(og.Graph.Edges) == 0 {
		t.Errorf("opengraph: %v %+v", err, og.Metadata)
	}

	// Blast radius of the DEV app: PROD's vault, explained.
	out, errOut, code = cli("blast-radius", "--compute", "pay-api-dev", "-o", "json")
	if code != 0 {
		t.Fatalf("blast-radius: %d %s", code, errOut)
	}
	var radius struct {
		Environment string `json:"environment"`
		Reach       []struct {
			Resource, Environment string
			DataActions           []string
			Path                  []struct{ Kind string }
		} `json:"reach"`
	}
	must(t, json.Unmarshal([]byte(out), &radius))
	found := false
	for _, r := range radius.Reach {
		if strings.HasSuffix(r.Resource, "/kvpayprod") {
			found = r.Environment == "prod" && len(r.DataActions) > 0 && r.Path[0].Kind == "token"
		}
	}
	if radius.Environment != "dev" || !found {
		t.Errorf("DEV's radius lacks PROD's vault: %s", out)
	}
	if out, _, code := cli("blast-radius", "--compute", "pay-api-dev", "-o", "mermaid"); code != 0 || !strings.HasPrefix(out, "flowchart LR\n") || !strings.Contains(out, "kvpayprod") {
		t.Errorf("mermaid: %d %s", code, out)
	}
	if out, _, code := cli("blast-radius", "--identity", "id-deploy-ci"); code != 0 || !strings.Contains(out, "kvpayprod") {
		t.Errorf("the CI identity's table: %d %s", code, out)
	}
	dotSrc, _, code := cli("blast-radius", "--compute", "vm-ops-runner", "-o", "dot")
	if code != 0 || !strings.HasPrefix(dotSrc, "digraph mimic {") {
		t.Fatalf("dot: %d %s", code, dotSrc)
	}
	if dot, err := exec.LookPath("dot"); err == nil {
		render := exec.Command(dot, "-Tsvg")
		render.Stdin = strings.NewReader(dotSrc)
		svg, err := render.Output()
		if err != nil || !bytes.Contains(svg, []byte("<svg")) {
			t.Errorf("dot -Tsvg: %v", err)
		}
	} else if os.Getenv("MIMIC_STRICT") == "1" {
		t.Error("graphviz's dot is missing; MIMIC_STRICT=1 forbids skipping the render")
	}
	if _, _, code := cli("blast-radius", "--compute", "pay-api-dev", "--identity", "id-deploy-ci"); code != 2 {
		t.Errorf("both --compute and --identity: status %d, want 2", code)
	}
	if _, errOut, code := cli("blast-radius", "--compute", "no-such-app"); code != 1 || !strings.Contains(errOut, "no-such-app") {
		t.Errorf("an unknown compute: %d %s", code, errOut)
	}
}

// waitDemo waits until `mimic up --demo` in home says the whole demo
// estate is in: it loads after the server answers.
func waitDemo(t *testing.T, home string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		if log, _ := os.ReadFile(home + ".log"); strings.Contains(string(log), "Loaded the demo estate") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the demo never finished loading")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startDemo runs `mimic up --demo` in a fresh home until the test ends, and
// returns the home and the demo's findings once they are all there.
func startDemo(t *testing.T) (string, analysisReport) {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	demo, err := Start(env.Binary, home, "--demo")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { demo.Stop() })
	waitDemo(t, home)
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, errOut, code := cliIn(t, home, "analyze", "-o", "json")
		if code != 0 {
			t.Fatalf("analyze: %d %s", code, errOut)
		}
		var rep analysisReport
		must(t, json.Unmarshal([]byte(out), &rep))
		if hasFinding(rep, "cross-environment-identity", "id-payments-shared") && hasFinding(rep, "orphaned-assignment", "") {
			return home, rep
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo's findings never appeared: %s", out)
		}
		time.Sleep(time.Second)
	}
}

func hasFinding(rep analysisReport, rule, identity string) bool {
	for _, f := range rep.Findings {
		if f.Rule == rule && (identity == "" || f.Evidence.Identity != nil && f.Evidence.Identity.Name == identity) {
			return true
		}
	}
	return false
}

// unused-permission on the access log: an assignment the identity used
// (from a VM, through ARM) is not reported; the other one is.
func TestAnalyzeUnusedPermission(t *testing.T) {
	rg := newGroup(t, "rg-unused", map[string]*string{"env": to.Ptr("dev"), "team": to.Ptr("analysis")})
	id := newIdentity(t, rg, "id-unused")
	principal := *id.Properties.PrincipalID
	createVM(t, rg, "vm-unused", &armcompute.VirtualMachineIdentity{
		Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: uaiMap(*id.ID)})
	used := assign(t, rgID(rg), readerRole, principal)
	unused := assign(t, *id.ID, kvSecretsUserRole, principal)

	tok := runCommandToken(t, rg, "vm-unused", nil)["access_token"]
	req, _ := http.NewRequestWithContext(ctx(t), http.MethodGet, env.URL(rgID(rg)+"?api-version=2021-04-01"), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := env.HTTP().Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the identity reads its group: %d", resp.StatusCode)
	}

	out, errOut, err := mimicCLI(t, "", "analyze", "-o", "json", "--window", "1d")
	if err != nil {
		t.Fatalf("analyze: %v %s", err, errOut)
	}
	var rep analysisReport
	must(t, json.Unmarshal([]byte(out), &rep))
	var listed []string
	for _, f := range rep.Findings {
		if f.Rule == "unused-permission" && f.Evidence.Identity != nil && strings.EqualFold(f.Evidence.Identity.ID, *id.ID) {
			for _, a := range f.Evidence.Assignments {
				listed = append(listed, strings.ToLower(a.ID))
			}
		}
	}
	if len(listed) != 1 || listed[0] != strings.ToLower(*unused.ID) {
		t.Errorf("unused assignments %v, want only %s (used: %s)", listed, *unused.ID, *used.ID)
	}
	if rep.Window != "1d" || rep.AccessLog == nil || rep.AccessLog.Entries == 0 {
		t.Errorf("window %q, access log %+v", rep.Window, rep.AccessLog)
	}
}
