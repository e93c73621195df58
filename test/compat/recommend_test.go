package compat

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
)

// recChange is a change of a plan, as the tests read and write it.
type recChange struct {
	Op         string `json:"op"`
	Identity   string `json:"identity,omitempty"`
	Compute    string `json:"compute,omitempty"`
	Role       string `json:"role,omitempty"`
	Scope      string `json:"scope,omitempty"`
	Assignment string `json:"assignment,omitempty"`
	// RoleDefinition is kept as it came.
	RoleDefinition json.RawMessage `json:"roleDefinition,omitempty"`
}

// recReport is the part of `mimic recommend -o json` the tests read.
type recReport struct {
	Window          string `json:"window"`
	Identity        string `json:"identity"`
	Recommendations []struct {
		ID         string `json:"id"`
		Kind       string `json:"kind"`
		Title      string `json:"title"`
		Preferred  bool   `json:"preferred"`
		Confidence string `json:"confidence"`
		Identity   struct {
			Name        string `json:"name"`
			PrincipalID string `json:"principalId"`
		} `json:"identity"`
		Evidence struct {
			Assignment *struct {
				ID, Role, Scope string
			} `json:"assignment"`
			Uses []struct {
				Action   string   `json:"action"`
				Count    int      `json:"count"`
				Computes []string `json:"computes"`
			} `json:"uses"`
			Notes []string `json:"notes"`
		} `json:"evidence"`
		RoleDefinition *struct {
			Name             string   `json:"name"`
			Actions          []string `json:"actions"`
			DataActions      []string `json:"dataActions"`
			AssignableScopes []string `json:"assignableScopes"`
		} `json:"roleDefinition"`
		Commands []string    `json:"commands"`
		Plan     []recChange `json:"plan"`
	} `json:"recommendations"`
	Plan struct {
		Changes []recChange `json:"changes"`
	} `json:"plan"`
}

// radiusDiffs is the part of `mimic blast-radius diff -o json` the tests
// read.
type radiusDiffs struct {
	Radii []struct {
		Name             string   `json:"name"`
		EnvironmentsLost []string `json:"environmentsLost"`
		Lost             []struct{ Resource string }
		IdentitiesLost   []struct{ Name string } `json:"identitiesLost"`
	} `json:"radii"`
}

// probeIn runs the Go probe under `mimic run --as compute` against a home
// and returns what it printed; it must succeed.
func probeIn(t *testing.T, home, compute string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(ctx(t), env.Binary, append([]string{"run", "--home", home, "--as", compute, "--", probeGo}, args...)...)
	cmd.Env = cleanEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("probe as %s: %v\n%s\n%s", compute, err, out.String(), errb.String())
	}
	var r result
	if err := json.Unmarshal(lastLine(out.Bytes()), &r); err != nil || !r.ok() {
		t.Fatalf("probe as %s printed %s (%v)\n%s", compute, out.String(), err, errb.String())
	}
	return r
}

// `mimic recommend` and `mimic blast-radius diff` on the demo, after its
// workloads ran: the unused grant is found, the shared identity's split
// re-grants only what was used, the plans diff as expected, and applying
// the ops identity's custom role with the recommended commands keeps its
// workload working while its blast radius shrinks.
func TestRecommendTheDemo(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	demo, err := Start(env.Binary, home, "--demo")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { demo.Stop() })
	cli := func(args ...string) (string, string, int) { return cliIn(t, home, args...) }
	cliJSONIn := func(v any, args ...string) {
		t.Helper()
		out, errOut, code := cli(args...)
		if code != 0 {
			t.Fatalf("mimic %s: %d %s", strings.Join(args, " "), code, errOut)
		}
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("mimic %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	waitDemo(t, home)

	// The workloads: both payments sites read PROD's secret (DEV through
	// the shared identity), the ops runner lists the resource groups.
	vault := []string{"secret", "--vault", "https://kvpayprod.vault.azure.net", "--name", "db-password"}
	if r := probeIn(t, home, "pay-api-prod", vault...); r.str("value") != "prod-db-password-0451" {
		t.Fatalf("the PROD site reads %v", r)
	}
	probeIn(t, home, "pay-api-dev", vault...)
	probeIn(t, home, "vm-ops-runner", "groups", "--subscription", demo.Profile.SubscriptionID)

	// The shared identity: the unused account grant goes; the vault
	// grant, used, stays; the split re-grants PROD the vault only.
	var rep recReport
	cliJSONIn(&rep, "recommend", "--identity", "id-payments-shared", "--since", "1d", "-o", "json")
	if rep.Window != "1d" || !strings.HasSuffix(rep.Identity, "/id-payments-shared") {
		t.Errorf("report header: %q %q", rep.Window, rep.Identity)
	}
	var unused []string
	splitOK := false
	for _, r := range rep.Recommendations {
		switch r.Kind {
		case "remove-unused-assignment":
			unused = append(unused, r.Evidence.Assignment.Role)
			if !r.Preferred || r.Confidence != "partial" || len(r.Evidence.Notes) == 0 {
				t.Errorf("unused %s: preferred %v, confidence %s, notes %v", r.Evidence.Assignment.Role, r.Preferred, r.Confidence, r.Evidence.Notes)
			}
		case "environment-split":
			var grants []string
			for _, ch := range r.Plan {
				if ch.Op == "addAssignment" {
					grants = append(grants, filepath.Base(ch.Identity)+" "+ch.Role)
				}
			}
			computes := map[string]bool{}
			for _, u := range r.Evidence.Uses {
				for _, c := range u.Computes {
					computes[filepath.Base(c)] = u.Action == "Microsoft.KeyVault/vaults/secrets/getSecret/action" && u.Count >= 1
				}
			}
			notes := strings.Join(r.Evidence.Notes, "\n")
			splitOK = slices.Equal(grants, []string{"id-payments-prod Key Vault Secrets User"}) && computes["pay-api-prod"] && computes["pay-api-dev"] &&
				strings.Contains(notes, "dev computes used Key Vault Secrets User at kvpayprod (prod)") &&
				slices.Contains(r.Commands, "az identity create -g rg-payments-dev -n id-payments-dev")
			if !splitOK {
				t.Errorf("split: grants %v, uses %+v, notes %s, commands %v", grants, r.Evidence.Uses, notes, r.Commands)
			}
		}
	}
	if !slices.Equal(unused, []string{"Storage Blob Data Reader"}) || !splitOK {
		t.Errorf("unused %v, split %v", unused, splitOK)
	}

	// Its plan, through a file: DEV no longer reaches PROD.
	plan := filepath.Join(t.TempDir(), "plan.json")
	if out, errOut, code := cli("recommend", "--identity", "id-payments-shared", "--since", "1d", "--plan-out", plan); code != 0 || !strings.Contains(out, "environment-split") ||
		!strings.Contains(errOut, "mimic blast-radius diff --plan "+plan) {
		t.Fatalf("--plan-out: %d %s", code, errOut)
	}
	var d radiusDiffs
	cliJSONIn(&d, "blast-radius", "diff", "--plan", plan, "-o", "json")
	// DEV loses PROD's vault; PROD keeps it and loses only the account it
	// never used.
	lost := map[string][]string{}
	for _, r := range d.Radii {
		for _, l := range r.Lost {
			lost[r.Name] = append(lost[r.Name], filepath.Base(l.Resource))
		}
		if r.Name == "pay-api-dev" && !slices.Equal(r.EnvironmentsLost, []string{"prod"}) {
			t.Errorf("pay-api-dev's environments lost: %v", r.EnvironmentsLost)
		}
	}
	if !slices.Contains(lost["pay-api-dev"], "kvpayprod") || !slices.Equal(lost["pay-api-prod"], []string{"stpayprod"}) {
		t.Errorf("the split's diff: %v", lost)
	}
	if out, _, code := cli("blast-radius", "diff", "--plan", plan); code != 0 || !strings.Contains(out, "pay-api-dev (compute, env dev): no longer reaches prod") {
		t.Errorf("the split's diff table: %d\n%s", code, out)
	}

	// The ops identity used one read of its subscription-wide
	// Contributor: a custom role with exactly it is preferred.
	cliJSONIn(&rep, "recommend", "--identity", "id-ops-automation", "--since", "1d", "-o", "json")
	var customPlan []byte
	var commands []string
	var def struct {
		name    string
		actions []string
		scopes  []string
	}
	for _, r := range rep.Recommendations {
		if r.Kind == "custom-role" && r.Preferred && r.RoleDefinition != nil {
			def.name, def.actions, def.scopes = r.RoleDefinition.Name, r.RoleDefinition.Actions, r.RoleDefinition.AssignableScopes
			commands = r.Commands
			customPlan, _ = json.Marshal(r.Plan)
		}
	}
	if customPlan == nil || len(def.actions) != 1 || !strings.HasSuffix(def.actions[0], "/read") || len(commands) != 3 {
		t.Fatalf("the ops identity's custom role: %+v %v", def, rep.Recommendations)
	}
	// Its plan on standard input: the runner no longer holds the other
	// identities.
	cmd := exec.CommandContext(ctx(t), env.Binary, "blast-radius", "diff", "--home", home, "--plan", "-", "-o", "json")
	cmd.Stdin = bytes.NewReader(customPlan)
	var diffErr bytes.Buffer
	cmd.Stderr = &diffErr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("diff --plan -: %v %s", err, diffErr.String())
	}
	d = radiusDiffs{}
	must(t, json.Unmarshal(out, &d))
	runnerCut := false
	for _, r := range d.Radii {
		if r.Name == "vm-ops-runner" {
			for _, h := range r.IdentitiesLost {
				runnerCut = runnerCut || h.Name == "id-payments-shared"
			}
		}
	}
	if !runnerCut {
		t.Fatalf("the custom role's diff: %s", out)
	}

	// Apply it: the role definition through ARM, then the recommended
	// assignment commands, with mimic's az-compatible commands for az.
	roles, err := armauthorization.NewRoleDefinitionsClient(demo.Operator(t), demo.ARMOptions())
	must(t, err)
	_, err = roles.CreateOrUpdate(ctx(t), def.scopes[0], newGUID(), armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
		RoleName: to.Ptr(def.name), Permissions: []*armauthorization.Permission{{Actions: []*string{to.Ptr(def.actions[0])}}},
		AssignableScopes: []*string{to.Ptr(def.scopes[0])},
	}}, nil)
	must(t, err)
	script := `az() { "$MIMIC" "$@" --home "$MIMIC_HOME_DIR" >/dev/null; }` + "\nset -e\n" + strings.Join(commands[1:], "\n")
	sh := exec.CommandContext(ctx(t), "sh", "-c", script)
	sh.Env = append(cleanEnv(), "MIMIC="+env.Binary, "MIMIC_HOME_DIR="+home)
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("the recommended commands: %v\n%s\n%s", err, script, out)
	}
	// The workload still works; the runner's blast radius holds its own
	// identity only, as the diff said.
	probeIn(t, home, "vm-ops-runner", "groups", "--subscription", demo.Profile.SubscriptionID)
	var radius struct {
		Identities []struct{ Name string } `json:"identities"`
	}
	cliJSONIn(&radius, "blast-radius", "--compute", "vm-ops-runner", "-o", "json")
	if len(radius.Identities) != 1 || radius.Identities[0].Name != "id-ops-automation" {
		t.Errorf("the runner's identities after the change: %+v", radius.Identities)
	}
	// Usage errors exit 2, as analyze's.
	for _, args := range [][]string{{"recommend", "--since", "soon"}, {"recommend", "-o", "sarif"}, {"blast-radius", "diff"},
		{"blast-radius", "diff", "--detach", "id-nobody", "--from", "pay-api-dev"}} {
		if _, errOut, code := cli(args...); code != 2 {
			t.Errorf("%v: status %d, want 2: %s", args, code, errOut)
		}
	}
	if _, _, code := cliIn(t, filepath.Join(t.TempDir(), "nothing"), "recommend"); code != 3 {
		t.Errorf("recommend without a server: status %d, want 3", code)
	}
}
