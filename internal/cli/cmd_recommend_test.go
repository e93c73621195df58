package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/server/servertest"
)

func invoke(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestParseAddAssignment(t *testing.T) {
	ch, err := parseAddAssignment("id-app=Key Vault Secrets User@/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv")
	want := analyzer.Change{Op: analyzer.OpAddAssignment, Identity: "id-app", Role: "Key Vault Secrets User", Scope: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"}
	if err != nil || !reflect.DeepEqual(ch, want) {
		t.Errorf("%+v %v", ch, err)
	}
	for _, bad := range []string{"id-app", "id-app=Reader", "=Reader@/subscriptions/s", "id-app=@/subscriptions/s", "id-app=Reader@rg"} {
		if _, err := parseAddAssignment(bad); err == nil {
			t.Errorf("%q is accepted", bad)
		}
	}
}

// Usage errors exit 2 before any server is asked; no server exits 3.
func TestRecommendAndDiffUsage(t *testing.T) {
	home := t.TempDir()
	plan := filepath.Join(home, "plan.json")
	if err := os.WriteFile(plan, []byte(`{"changes": [{"op": "fly"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"recommend", "-o", "sarif"}, 2, `unknown output format "sarif"`},
		{[]string{"recommend", "--since", "soon"}, 2, "--since: invalid window"},
		{[]string{"recommend", "--plan-out", "-"}, 2, "--plan-out needs a file"},
		{[]string{"recommend", "extra"}, 2, "unknown command"},
		{[]string{"recommend", "--no-such-flag"}, 2, "unknown flag"},
		{[]string{"blast-radius", "diff"}, 2, "no change to diff"},
		{[]string{"blast-radius", "diff", "--detach", "id-x"}, 2, "--detach IDENTITY and --from COMPUTE go together"},
		{[]string{"blast-radius", "diff", "--to", "vm1"}, 2, "--attach IDENTITY and --to COMPUTE go together"},
		{[]string{"blast-radius", "diff", "--add-assignment", "id-x=Reader"}, 2, "use IDENTITY=ROLE@SCOPE"},
		{[]string{"blast-radius", "diff", "--plan", filepath.Join(home, "missing.json")}, 2, "--plan: open"},
		{[]string{"blast-radius", "diff", "--plan", plan}, 2, `unknown op "fly"`},
		{[]string{"blast-radius", "diff", "--remove-assignment", "/x", "-o", "dot"}, 2, `unknown output format "dot"`},
		{[]string{"blast-radius", "diff", "--bogus"}, 2, "unknown flag"},
		{[]string{"recommend"}, 3, "profile"},
		{[]string{"blast-radius", "diff", "--remove-assignment", "/x"}, 3, "profile"},
	} {
		code, out, errOut := invoke(append(tc.args, "--home", filepath.Join(home, "nothing"))...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit %d and %q", tc.args, code, errOut, out, tc.code, tc.want)
		}
	}
}

// Against the demo, in process: recommend with a plan file, and the diff
// of that plan and of single-change flags.
func TestRecommendAndDiffOnTheDemo(t *testing.T) {
	srv := servertest.StartDemo(t)
	home := srv.Config.Home
	plan := filepath.Join(t.TempDir(), "plan.json")

	code, out, errOut := invoke("recommend", "--home", home, "--plan-out", plan)
	if code != 0 || !strings.Contains(out, "environment-split") || !strings.Contains(errOut, "recommendation(s)") || !strings.Contains(errOut, "mimic blast-radius diff --plan "+plan) {
		t.Fatalf("recommend: %d\n%s\n%s", code, out, errOut)
	}
	b, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	p, err := analyzer.ParsePlan(b)
	if err != nil || len(p.Changes) == 0 {
		t.Fatalf("the plan file: %v %s", err, b)
	}

	code, out, errOut = invoke("recommend", "--home", home, "--identity", "id-payments-shared", "-o", "json")
	var rep analyzer.RecommendReport
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || !strings.HasSuffix(rep.Identity, "/id-payments-shared") || len(rep.Recommendations) == 0 {
		t.Fatalf("recommend --identity: %d %s %s", code, errOut, out)
	}
	for _, r := range rep.Recommendations {
		if r.Identity.Name != "id-payments-shared" {
			t.Errorf("a recommendation for %s", r.Identity.Name)
		}
	}
	if code, _, errOut := invoke("recommend", "--home", home, "--identity", "id-nobody"); code != 2 || !strings.Contains(errOut, "no identity named") {
		t.Errorf("an unknown identity: %d %s", code, errOut)
	}
	if code, out, _ := invoke("recommend", "--home", home, "-o", "markdown"); code != 0 || !strings.HasPrefix(out, "## mimic: least-privilege recommendations") {
		t.Errorf("markdown: %d %.100s", code, out)
	}

	// The combined plan: pay-api-dev no longer reaches PROD.
	code, out, errOut = invoke("blast-radius", "diff", "--home", home, "--plan", plan)
	if code != 0 || !strings.Contains(out, "pay-api-dev (compute, env dev): no longer reaches prod") {
		t.Errorf("diff --plan: %d %s\n%s", code, errOut, out)
	}
	// One flag: detaching the shared identity from pay-api-dev.
	code, out, errOut = invoke("blast-radius", "diff", "--home", home, "--detach", "id-payments-shared", "--from", "pay-api-dev", "-o", "json")
	var d analyzer.Diff
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil || d.Summary.Changed == 0 || d.Radii[0].Name != "pay-api-dev" {
		t.Errorf("diff --detach: %d %s\n%s", code, errOut, out)
	}
	// Nothing changes: granting id-orders-dev again what it holds.
	code, out, _ = invoke("recommend", "--home", home, "-o", "json")
	var all analyzer.RecommendReport
	scope := ""
	if err := json.Unmarshal([]byte(out), &all); err != nil || code != 0 {
		t.Fatalf("recommend: %d %v", code, err)
	}
	for _, r := range all.Recommendations {
		if r.Kind == analyzer.RecRemoveUnused && r.Identity.Name == "id-orders-dev" {
			scope = r.Evidence.Assignment.Scope
		}
	}
	code, out, errOut = invoke("blast-radius", "diff", "--home", home, "--add-assignment", "id-orders-dev=Key Vault Secrets User@"+scope)
	if scope == "" || code != 0 || !strings.HasPrefix(out, "no blast radius changes") {
		t.Errorf("a grant it holds: %q %d %s %s", scope, code, out, errOut)
	}
	// A change naming nothing: the server refuses it, exit 2.
	if code, _, errOut := invoke("blast-radius", "diff", "--home", home, "--detach", "id-nobody", "--from", "pay-api-dev"); code != 2 || !strings.Contains(errOut, `no identity "id-nobody"`) {
		t.Errorf("an unknown identity: %d %s", code, errOut)
	}
}
