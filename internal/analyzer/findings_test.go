package analyzer_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	. "github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/analyzer/analyzertest"
	"github.com/mimic-emu/mimic/internal/demo"
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/store/sqlstore"
)

// findingsOf returns the findings of a rule whose subject (identity name,
// or resource id) contains s.
func findingsOf(fs []Finding, rule, s string) []Finding {
	var out []Finding
	for _, f := range fs {
		subject := f.Resource
		if f.Evidence.Identity != nil {
			subject = f.Evidence.Identity.Name
		}
		if f.Rule == rule && strings.Contains(subject, s) {
			out = append(out, f)
		}
	}
	return out
}

func one(t *testing.T, fs []Finding, rule, s string) Finding {
	t.Helper()
	got := findingsOf(fs, rule, s)
	if len(got) != 1 {
		var all []string
		for _, f := range fs {
			all = append(all, f.Rule+": "+f.Title)
		}
		t.Fatalf("%d %s findings for %s, want 1; all:\n%s", len(got), rule, s, strings.Join(all, "\n"))
	}
	return got[0]
}

func none(t *testing.T, fs []Finding, rule, s string) {
	t.Helper()
	if got := findingsOf(fs, rule, s); len(got) != 0 {
		t.Errorf("unexpected %s finding for %s: %s", rule, s, got[0].Title)
	}
}

func hasCommand(f Finding, prefix string) bool {
	for _, c := range f.Fix.Commands {
		if strings.HasPrefix(c, prefix) {
			return true
		}
	}
	return false
}

func TestDemoFindings(t *testing.T) {
	a := demoAnalysis(t)
	fs := a.Findings(FindingsOptions{})

	// DEV and PROD share an identity that holds PROD roles.
	x := one(t, fs, RuleCrossEnvironment, demo.SharedIdentity)
	if x.Severity != Critical || !reflect.DeepEqual(x.Evidence.Environments, []string{"dev", "prod"}) {
		t.Errorf("cross-environment: %s %v", x.Severity, x.Evidence.Environments)
	}
	if x.Adds == nil || !reflect.DeepEqual(x.Adds.HomeEnvironments, []string{"dev"}) || !reflect.DeepEqual(x.Adds.Environments, []string{"prod"}) || x.Adds.Total != 2 {
		t.Errorf("cross-environment adds %+v", x.Adds)
	}
	for _, c := range x.Evidence.Computes {
		if c.Environment == nil || !strings.HasPrefix(c.Environment.Source, "tag 'env' on resource group") {
			t.Errorf("compute %s environment %+v: want its source", c.Name, c.Environment)
		}
	}
	if len(x.Evidence.Paths) == 0 || x.Evidence.Paths[0].Steps[0].Kind != "token" || !strings.HasSuffix(x.Evidence.Paths[0].From, "/"+demo.PaymentsDev) {
		t.Errorf("cross-environment paths %+v", x.Evidence.Paths)
	}
	for _, want := range []string{"az identity create -g rg-payments-dev -n id-payments-dev", "az identity create -g rg-payments-prod -n id-payments-prod",
		"az webapp identity assign -g rg-payments-dev -n pay-api-dev --identities ", "az role assignment delete --ids ", "az identity delete --ids "} {
		if !hasCommand(x, want) {
			t.Errorf("cross-environment fix lacks %q: %v", want, x.Fix.Commands)
		}
	}
	// DEV's new identity is granted nothing: it only used PROD's vault.
	for _, c := range x.Fix.Commands {
		if strings.Contains(c, "-n id-payments-dev --query principalId") {
			t.Errorf("the DEV identity is granted a PROD role: %s", c)
		}
	}

	// The subscription-wide Contributor.
	s := one(t, fs, RuleSubscriptionScope, demo.OpsIdentity)
	if s.Severity != Critical || !hasCommand(s, "az role assignment create --assignee-object-id ") || !hasCommand(s, "az role assignment delete --ids ") {
		t.Errorf("subscription scope: %s %v", s.Severity, s.Fix.Commands)
	}
	if s.Adds == nil || len(s.Adds.Identities) == 0 {
		t.Errorf("subscription scope adds no identities: %+v", s.Adds)
	}
	p := one(t, fs, RulePrivilegedRole, demo.OpsIdentity)
	if p.Severity != High {
		t.Errorf("privileged role severity %s", p.Severity)
	}

	// The CI identity federated to GitHub reaches PROD's vault through the
	// PROD site's identity.
	ci := one(t, fs, RuleAutomation, demo.CIIdentity)
	if ci.Severity != Critical || len(ci.Evidence.Federated) != 1 || ci.Evidence.Federated[0].System != "GitHub Actions" {
		t.Errorf("automation: %s %+v", ci.Severity, ci.Evidence.Federated)
	}
	lateral := false
	for _, p := range ci.Evidence.Paths {
		lateral = lateral || strings.HasSuffix(p.To, "/"+demo.SharedIdentity)
	}
	if !lateral || !hasCommand(ci, "az identity federated-credential update -g rg-identities --identity-name id-deploy-ci -n github-main") {
		t.Errorf("automation paths %+v, fix %v", ci.Evidence.Paths, ci.Fix.Commands)
	}
	// The ops VM, named like a runner: automation by heuristic, one level lower.
	ops := one(t, fs, RuleAutomation, demo.OpsIdentity)
	if ops.Severity != High || len(ops.Evidence.Notes) == 0 {
		t.Errorf("ops automation: %s %v", ops.Severity, ops.Evidence.Notes)
	}

	// Two teams share the workers' identity.
	w := one(t, fs, RuleCrossTeam, demo.WorkersIdentity)
	if !reflect.DeepEqual(w.Evidence.Teams, []string{"alpha", "beta"}) || !hasCommand(w, "az identity create -g rg-team-alpha -n id-workers-alpha") ||
		!hasCommand(w, "az vm identity remove -g rg-team-beta -n vm-beta-worker") {
		t.Errorf("cross-team: %v %v", w.Evidence.Teams, w.Fix.Commands)
	}

	// Escalation: the CI identity (team platform) into payments' PROD,
	// and the ops VM into everyone's.
	var esc []Finding
	for _, f := range fs {
		if f.Rule == RuleEscalationPath {
			esc = append(esc, f)
		}
	}
	if len(esc) != 2 {
		t.Fatalf("%d escalation paths, want 2: %+v", len(esc), esc)
	}
	if esc[0].Severity != Critical || esc[0].Evidence.Identity.Name != demo.CIIdentity || !contains(esc[0].Evidence.Teams, "payments") {
		t.Errorf("CI escalation %s %s", esc[0].Severity, esc[0].Title)
	}
	if esc[1].Severity != High || esc[1].Evidence.Identity.Name != demo.OpsIdentity || !contains(esc[1].Adds.Teams, "alpha") {
		t.Errorf("ops escalation %s %s %+v", esc[1].Severity, esc[1].Title, esc[1].Adds)
	}
	for _, p := range esc[0].Evidence.Paths {
		kinds := []string{}
		for _, s := range p.Steps {
			kinds = append(kinds, s.Kind)
		}
		if strings.HasSuffix(p.To, "/"+demo.PaymentsVault) && strings.Join(kinds, ",") != "holds,write,token,grants" {
			t.Errorf("CI escalation path to the vault: %v", kinds)
		}
	}

	o := one(t, fs, RuleOrphaned, "rg-legacy")
	if o.Severity != Low || !hasCommand(o, "az role assignment delete --ids /subscriptions/") {
		t.Errorf("orphaned %s %v", o.Severity, o.Fix.Commands)
	}

	// The isolated design has no finding of its own.
	for _, f := range fs {
		if f.Evidence.Identity != nil && strings.HasPrefix(f.Evidence.Identity.Name, "id-orders-") {
			t.Errorf("the isolated design has a finding: %s", f.Title)
		}
	}

	// Deterministic, sorted, with stable ids.
	again := a.Findings(FindingsOptions{})
	if !reflect.DeepEqual(fs, again) {
		t.Error("findings differ between two runs")
	}
	for i := 1; i < len(fs); i++ {
		if fs[i-1].Severity.Rank() < fs[i].Severity.Rank() {
			t.Errorf("not sorted by severity: %s before %s", fs[i-1].Severity, fs[i].Severity)
		}
	}
	ids := map[string]bool{}
	for _, f := range fs {
		if ids[f.ID] {
			t.Errorf("duplicate finding id %s", f.ID)
		}
		ids[f.ID] = true
		if f.Fix.Summary == "" {
			t.Errorf("%s has no fix", f.Title)
		}
	}
	if _, err := json.Marshal(fs); err != nil {
		t.Fatal(err)
	}
}

const sub = "11111111-1111-4111-8111-111111111111"

func build(t *testing.T, b *analyzertest.Builder) *Analysis {
	t.Helper()
	a, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCrossEnvironmentSeverities(t *testing.T) {
	b := analyzertest.New(sub, "contoso")
	b.Group("rg-dev", "env=dev", "team=a")
	b.Group("rg-test", "env=test", "team=a")
	b.Group("rg-prod", "env=prod", "team=a")
	b.Group("rg-x", "team=a")
	// dev and test only: medium.
	nonprod := b.Identity("rg-x", "id-nonprod")
	b.VM("rg-dev", "vm-dev", nonprod)
	b.VM("rg-test", "vm-test", nonprod)
	// a PROD VM with a DEV grant: high (no non-prod holder).
	prodID := b.Identity("rg-prod", "id-prod-app")
	b.VM("rg-prod", "vm-prod", prodID)
	b.Assign(prodID, "Key Vault Secrets User", b.Resource("rg-dev", "Microsoft.KeyVault/vaults", "kv-dev"))
	// an unlabeled holder keeps the shared identity: it is not deleted.
	shared := b.Identity("rg-x", "id-shared")
	b.Site("rg-dev", "web-dev", shared)
	b.Site("rg-prod", "web-prod", shared)
	b.Site("rg-x", "web-unlabeled", shared)
	b.Assign(shared, "Storage Blob Data Reader", b.Resource("rg-prod", "Microsoft.Storage/storageAccounts", "stprod"))
	fs := build(t, b).Findings(FindingsOptions{})

	if f := one(t, fs, RuleCrossEnvironment, "id-nonprod"); f.Severity != Medium {
		t.Errorf("dev+test: %s", f.Severity)
	}
	f := one(t, fs, RuleCrossEnvironment, "id-prod-app")
	if f.Severity != High || len(f.Fix.Commands) != 1 || !strings.HasPrefix(f.Fix.Commands[0], "az role assignment delete --ids "+b.RG("rg-dev")) {
		t.Errorf("prod with a dev grant: %s %v", f.Severity, f.Fix.Commands)
	}
	f = one(t, fs, RuleCrossEnvironment, "id-shared")
	if f.Severity != Critical || hasCommand(f, "az identity delete") || !strings.Contains(f.Fix.Summary, "no environment label") {
		t.Errorf("shared with an unlabeled holder: %s %v %s", f.Severity, f.Fix.Commands, f.Fix.Summary)
	}
	if !hasCommand(f, "az webapp config appsettings set -g rg-prod -n web-prod --settings AZURE_CLIENT_ID=\"$(az identity show -g rg-prod -n id-prod --query clientId -o tsv)\"") {
		t.Errorf("the site's AZURE_CLIENT_ID is not moved: %v", f.Fix.Commands)
	}
}

func TestSubscriptionScopeAndPrivilegedRoles(t *testing.T) {
	b := analyzertest.New(sub, "contoso")
	b.Group("rg-app", "env=prod", "team=a")
	reader := b.Identity("rg-app", "id-reader")
	b.Assign(reader, "Reader", "/subscriptions/"+sub)
	data := b.Identity("rg-app", "id-data")
	b.Assign(data, "Storage Blob Data Reader", "/subscriptions/"+sub)
	uaa := b.Identity("rg-app", "id-uaa")
	b.Assign(uaa, "User Access Administrator", b.RG("rg-app"))
	one1 := b.Identity("rg-app", "id-one")
	b.Assign(one1, "Contributor", b.Resource("rg-app", "Microsoft.KeyVault/vaults", "kv1"))
	b.AssignPrincipal("operator-object-id", "Owner", "/subscriptions/"+sub) // not a managed identity
	fs := build(t, b).Findings(FindingsOptions{})

	if f := one(t, fs, RuleSubscriptionScope, "id-reader"); f.Severity != Medium || !strings.Contains(f.Title, "subscription 'contoso'") {
		t.Errorf("Reader at subscription: %s %q", f.Severity, f.Title)
	}
	if f := one(t, fs, RuleSubscriptionScope, "id-data"); f.Severity != High {
		t.Errorf("data at subscription: %s", f.Severity)
	}
	if len(findingsOf(fs, RuleSubscriptionScope, "operator")) != 0 || len(findingsOf(fs, RulePrivilegedRole, "operator")) != 0 {
		t.Error("a principal that is no managed identity has findings")
	}
	if f := one(t, fs, RulePrivilegedRole, "id-uaa"); f.Severity != Critical {
		t.Errorf("User Access Administrator: %s", f.Severity)
	}
	f := one(t, fs, RulePrivilegedRole, "id-one")
	if f.Severity != Medium || !hasCommand(f, "mimic logs access --identity ") {
		t.Errorf("Contributor on one resource: %s %v", f.Severity, f.Fix.Commands)
	}
	none(t, fs, RulePrivilegedRole, "id-reader")
}

func TestLeastPrivilegeFromTheAccessLog(t *testing.T) {
	b := analyzertest.New(sub, "contoso")
	b.Group("rg-app", "env=prod", "team=a")
	id := b.Identity("rg-app", "id-app")
	b.VM("rg-app", "vm-app", id)
	vault := b.Resource("rg-app", "Microsoft.KeyVault/vaults", "kv-app")
	site := b.Site("rg-app", "web-app").ID
	as := b.Assign(id, "Contributor", b.RG("rg-app"))
	a := build(t, b)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	u := NewUsage(DefaultWindow, now)
	u.RecordingSince = now.Add(-90 * 24 * time.Hour)
	u.SetCreated(as.ID, now.Add(-60*24*time.Hour))
	// One entry names its granting assignment; the other, as imported
	// logs may, does not: it counts when the role allows it in scope.
	u.Record(&store.Access{At: now.Add(-time.Hour), Allowed: true, PrincipalID: id.PrincipalID, Action: "Microsoft.Web/sites/write", Scope: site, Assignment: as.ID})
	u.Record(&store.Access{At: now.Add(-time.Hour), Allowed: true, PrincipalID: id.PrincipalID, Action: "Microsoft.KeyVault/vaults/read", Scope: vault})
	fs := a.Findings(FindingsOptions{Usage: u})
	f := one(t, fs, RulePrivilegedRole, "id-app")
	want := []string{
		"az role assignment create --assignee-object-id " + id.PrincipalID + " --assignee-principal-type ServicePrincipal --role Reader --scope " + vault,
		"az role assignment create --assignee-object-id " + id.PrincipalID + " --assignee-principal-type ServicePrincipal --role 'Website Contributor' --scope " + site,
		"az role assignment delete --ids " + as.ID,
	}
	if !reflect.DeepEqual(f.Fix.Commands, want) {
		t.Errorf("least privilege:\n got %q\nwant %q", f.Fix.Commands, want)
	}
	none(t, fs, RuleUnusedPermission, "id-app")
}

func TestUnusedPermission(t *testing.T) {
	b := analyzertest.New(sub, "contoso")
	b.Group("rg-app", "env=prod", "team=a")
	vault := b.Resource("rg-app", "Microsoft.KeyVault/vaults", "kv-app")
	used := b.Identity("rg-app", "id-used")
	usedAs := b.Assign(used, "Key Vault Secrets User", vault)
	old := b.Identity("rg-app", "id-old")
	oldAs := b.Assign(old, "Key Vault Secrets User", vault)
	young := b.Identity("rg-app", "id-young")
	youngAs := b.Assign(young, "Key Vault Secrets User", vault)
	priv := b.Identity("rg-app", "id-priv")
	privAs := b.Assign(priv, "Contributor", b.RG("rg-app"))
	a := build(t, b)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	u := NewUsage(DefaultWindow, now)
	u.RecordingSince = now.Add(-365 * 24 * time.Hour)
	for _, as := range []string{usedAs.ID, oldAs.ID, privAs.ID} {
		u.SetCreated(as, now.Add(-100*24*time.Hour))
	}
	u.SetCreated(youngAs.ID, now.Add(-3*24*time.Hour))
	u.Record(&store.Access{At: now.Add(-24 * time.Hour), Allowed: true, PrincipalID: used.PrincipalID, Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action",
		DataAction: true, Scope: vault + "/secrets/s", Assignment: usedAs.ID})
	// Denied and out-of-window entries do not count.
	u.Record(&store.Access{At: now.Add(-24 * time.Hour), Allowed: false, PrincipalID: old.PrincipalID, Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", DataAction: true, Scope: vault})
	u.Record(&store.Access{At: now.Add(-40 * 24 * time.Hour), Allowed: true, PrincipalID: old.PrincipalID, Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", DataAction: true, Scope: vault, Assignment: oldAs.ID})
	fs := a.Findings(FindingsOptions{Usage: u})
	none(t, fs, RuleUnusedPermission, "id-used")
	if f := one(t, fs, RuleUnusedPermission, "id-old"); f.Severity != Medium || !f.Evidence.Usage.Full || f.Fix.Commands[0] != "az role assignment delete --ids "+oldAs.ID {
		t.Errorf("old unused: %s %+v %v", f.Severity, f.Evidence.Usage, f.Fix.Commands)
	}
	if f := one(t, fs, RuleUnusedPermission, "id-young"); f.Severity != Low || f.Evidence.Usage.Full || len(f.Evidence.Notes) == 0 {
		t.Errorf("young unused: %s %+v", f.Severity, f.Evidence.Usage)
	}
	if f := one(t, fs, RuleUnusedPermission, "id-priv"); f.Severity != High {
		t.Errorf("privileged unused: %s", f.Severity)
	}
	// An estate younger than the window: everything is partial.
	u.RecordingSince = now.Add(-2 * 24 * time.Hour)
	fs = a.Findings(FindingsOptions{Usage: u})
	if f := one(t, fs, RuleUnusedPermission, "id-old"); f.Severity != Low {
		t.Errorf("unused in a young estate: %s", f.Severity)
	}
	// Without the access log the rule does not run.
	none(t, a.Findings(FindingsOptions{}), RuleUnusedPermission, "id-old")
}

func TestLoadUsage(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC()
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutResource(ctx, &store.Resource{ID: "/subscriptions/" + sub, Type: "Microsoft.Resources/subscriptions", Body: []byte(`{"id":"/subscriptions/` + sub + `"}`)}); err != nil {
			return err
		}
		ra := "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleAssignments/a1"
		if err := tx.PutResource(ctx, &store.Resource{ID: ra, Type: "Microsoft.Authorization/roleAssignments",
			Body: []byte(`{"id":"` + ra + `","properties":{"createdOn":"2026-01-02T03:04:05.0000000Z"}}`)}); err != nil {
			return err
		}
		return tx.AppendAccess(ctx, []*store.Access{
			{At: now.Add(-time.Hour), Allowed: true, PrincipalID: "P1", Action: "a/read", Scope: "/s", Assignment: ra},
			{At: now.Add(-40 * 24 * time.Hour), Allowed: true, PrincipalID: "P1", Action: "a/read", Scope: "/s"},
			{At: now.Add(-time.Hour), Allowed: false, PrincipalID: "P2", Action: "a/read", Scope: "/s"},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := LoadUsage(ctx, s, DefaultWindow, now)
	if err != nil {
		t.Fatal(err)
	}
	if u.Entries != 1 || u.RecordingSince.IsZero() {
		t.Errorf("entries %d, recording since %v", u.Entries, u.RecordingSince)
	}
	if c, ok := u.Created("/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleAssignments/A1"); !ok || c.Year() != 2026 || c.Month() != 1 {
		t.Errorf("created %v %v", c, ok)
	}
	if s := u.Summary(); s.Window != "30d" || s.Entries != 1 {
		t.Errorf("summary %+v", s)
	}
}

func TestAutomationIdentities(t *testing.T) {
	b := analyzertest.New(sub, "contoso")
	b.Group("rg-ci", "team=platform")
	b.Group("rg-app", "env=dev", "team=a")
	gitlab := b.Identity("rg-ci", "id-release")
	b.Federate(gitlab, "gl", "https://gitlab.com", "project_path:org/repo:ref_type:branch:ref:main")
	b.Assign(gitlab, "Reader", b.RG("rg-app"))
	prs := b.Identity("rg-ci", "id-preview")
	b.Federate(prs, "prs", "https://token.actions.githubusercontent.com", "repo:org/repo:pull_request")
	other := b.Identity("rg-ci", "id-partner")
	b.Federate(other, "partner", "https://login.partner.example/", "svc")
	runner := b.Identity("rg-app", "id-app-one")
	b.TaggedVM("rg-app", "vm-worker-01", []string{"purpose=ci-runner"}, runner)
	plain := b.Identity("rg-app", "id-app-two")
	b.VM("rg-app", "vm-app-two", plain)
	// A workload federated to an AKS issuer is no automation.
	aks := b.Identity("rg-app", "id-workload")
	b.Federate(aks, "sa", "https://westeurope.oic.prod-aks.azure.com/t/i/", "system:serviceaccount:default:app")
	fs := build(t, b).Findings(FindingsOptions{})
	if f := one(t, fs, RuleAutomation, "id-release"); f.Evidence.Federated[0].System != "GitLab CI/CD" || f.Severity != Medium {
		t.Errorf("gitlab: %+v %s", f.Evidence.Federated, f.Severity)
	}
	if f := one(t, fs, RuleAutomation, "id-preview"); f.Severity != Critical || !hasCommand(f, "az identity federated-credential update -g rg-ci --identity-name id-preview -n prs") {
		t.Errorf("pull_request: %s %v", f.Severity, f.Fix.Commands)
	}
	if f := one(t, fs, RuleAutomation, "id-partner"); f.Evidence.Federated[0].System != "external OIDC issuer" {
		t.Errorf("external: %+v", f.Evidence.Federated)
	}
	if f := one(t, fs, RuleAutomation, "id-app-one"); f.Severity != Low || !strings.Contains(f.Evidence.Notes[0], "purpose=ci-runner") {
		t.Errorf("runner heuristic: %s %v", f.Severity, f.Evidence.Notes)
	}
	none(t, fs, RuleAutomation, "id-app-two")
	none(t, fs, RuleAutomation, "id-workload")
}

func TestNamedAfterResource(t *testing.T) {
	b := analyzertest.New(sub, "contoso")
	b.Group("rg", "env=prod", "team=a")
	sole := b.Identity("rg", "id-vm-api")
	b.VM("rg", "vm-api", sole)
	b.Assign(sole, "Key Vault Secrets User", b.Resource("rg", "Microsoft.KeyVault/vaults", "kv"))
	shared := b.Identity("rg", "web-front-identity")
	b.Site("rg", "web-front", shared)
	b.Site("rg", "web-admin", shared)
	plain := b.Identity("rg", "id-orders")
	b.VM("rg", "vm-orders", plain)
	fs := build(t, b).Findings(FindingsOptions{})
	f := one(t, fs, RuleNamedAfter, "id-vm-api")
	if f.Severity != Low || f.Fix.Commands[0] != "az vm identity assign -g rg -n vm-api" ||
		!hasCommand(f, `az role assignment create --assignee-object-id "$(az vm show -g rg -n vm-api --query identity.principalId -o tsv)"`) ||
		!hasCommand(f, "az identity delete --ids ") {
		t.Errorf("sole holder: %s %v", f.Severity, f.Fix.Commands)
	}
	f = one(t, fs, RuleNamedAfter, "web-front-identity")
	if f.Severity != Medium || f.Fix.Commands[0] != "az webapp identity assign -g rg -n web-admin" ||
		!hasCommand(f, "az webapp identity remove -g rg -n web-admin --identities "+shared.Key) || hasCommand(f, "az identity delete") {
		t.Errorf("shared: %s %v", f.Severity, f.Fix.Commands)
	}
	none(t, fs, RuleNamedAfter, "id-orders")
}

func TestMixedPermissionSetsAndOwners(t *testing.T) {
	b := analyzertest.New(sub, "contoso")
	b.Group("rg-a", "env=prod", "team=a")
	b.Group("rg-b", "env=prod", "team=b")
	b.Group("rg-nobody", "env=prod")
	deployer := b.Identity("rg-a", "id-deploy-and-read")
	b.Site("rg-a", "web-a", deployer)
	b.Assign(deployer, "Website Contributor", b.RG("rg-a"))
	b.Assign(deployer, "Key Vault Secrets User", b.Resource("rg-a", "Microsoft.KeyVault/vaults", "kva"))
	twoTeams := b.Identity("rg-a", "id-two-teams")
	b.Assign(twoTeams, "Storage Blob Data Reader", b.Resource("rg-a", "Microsoft.Storage/storageAccounts", "sta"))
	b.Assign(twoTeams, "Storage Blob Data Reader", b.Resource("rg-b", "Microsoft.Storage/storageAccounts", "stb"))
	coherent := b.Identity("rg-a", "id-coherent")
	b.Assign(coherent, "Key Vault Secrets User", b.Resource("rg-a", "Microsoft.KeyVault/vaults", "kva2"))
	b.Assign(coherent, "Storage Blob Data Reader", b.Resource("rg-a", "Microsoft.Storage/storageAccounts", "sta2"))
	lonely := b.Identity("rg-nobody", "id-lonely")
	busy := b.Identity("rg-nobody", "id-busy")
	b.VM("rg-a", "vm-1", busy)
	b.VM("rg-a", "vm-2", busy)
	fs := build(t, b).Findings(FindingsOptions{})
	if f := one(t, fs, RuleMixedSets, "id-deploy-and-read"); f.Severity != High || !hasCommand(f, "az identity create -g rg-a -n id-deploy-and-read-deploy") {
		t.Errorf("deploy and data: %s %v", f.Severity, f.Fix.Commands)
	}
	if f := one(t, fs, RuleMixedSets, "id-two-teams"); f.Severity != Medium || !reflect.DeepEqual(f.Evidence.Teams, []string{"a", "b"}) {
		t.Errorf("two teams: %s %v", f.Severity, f.Evidence.Teams)
	}
	none(t, fs, RuleMixedSets, "id-coherent")
	if f := one(t, fs, RuleWithoutOwner, "id-lonely"); f.Severity != Low || !hasCommand(f, "az tag update --resource-id "+lonely.Key+" --operation Merge --tags team=TEAM") {
		t.Errorf("lonely: %s %v", f.Severity, f.Fix.Commands)
	}
	if f := one(t, fs, RuleWithoutOwner, "id-busy"); f.Severity != Medium || !hasCommand(f, "az tag update --resource-id "+busy.Key+" --operation Merge --tags team=a") {
		t.Errorf("busy: %s %v", f.Severity, f.Fix.Commands)
	}
	none(t, fs, RuleWithoutOwner, "id-coherent")
}

func TestEscalationThroughRoleAssignmentsAndClusters(t *testing.T) {
	b := analyzertest.New(sub, "contoso")
	b.Group("rg-dev", "env=dev", "team=a")
	b.Group("rg-prod", "env=prod", "team=a")
	b.Group("rg-b", "env=prod", "team=b")
	admin := b.Identity("rg-dev", "id-dev-admin")
	b.VM("rg-dev", "vm-dev", admin)
	vault := b.Resource("rg-prod", "Microsoft.KeyVault/vaults", "kv-prod")
	ownerAs := b.Assign(admin, "Role Based Access Control Administrator", b.RG("rg-prod"))

	// A cluster of team a whose service account federates with team b's
	// identity.
	cluster := b.VM("rg-prod", "aks-a") // placeholder, turned into a cluster below
	cluster.Kind, cluster.IssuerURL = Cluster, "https://westeurope.oic.prod-aks.azure.com/t/issuer-a/"
	b.E.Resources[len(b.E.Resources)-1].Type = "Microsoft.ContainerService/managedClusters"
	cluster.ID = strings.Replace(cluster.ID, "Microsoft.Compute/virtualMachines", "Microsoft.ContainerService/managedClusters", 1)
	b.E.Resources[len(b.E.Resources)-1].ID = cluster.ID
	workload := b.Identity("rg-b", "id-b-workload")
	b.Federate(workload, "aks-a-app", cluster.IssuerURL, "system:serviceaccount:app:worker")
	b.Assign(workload, "Storage Blob Data Reader", b.Resource("rg-b", "Microsoft.Storage/storageAccounts", "stb"))
	b.E.Computes = append(b.E.Computes, &Compute{ID: cluster.ID + "/serviceAccounts/app~worker", Name: "aks-a/app/worker", Kind: ServiceAccount,
		Cluster: cluster.ID, Subject: "system:serviceaccount:app:worker", Identities: []string{"client:" + workload.ClientID}})
	fs := build(t, b).Findings(FindingsOptions{})

	var esc []Finding
	for _, f := range fs {
		if f.Rule == RuleEscalationPath {
			esc = append(esc, f)
		}
	}
	if len(esc) != 2 {
		t.Fatalf("escalations: %+v", esc)
	}
	dev := esc[0]
	if dev.Severity != Critical || dev.Resource != ownerAs.ID || dev.Adds == nil || len(dev.Adds.Resources) != 2 || dev.Adds.Resources[1].Resource != vault {
		t.Errorf("dev into prod through role assignment writes: %s %s %+v", dev.Severity, dev.Resource, dev.Adds)
	}
	for _, p := range dev.Evidence.Paths {
		if last := p.Steps[len(p.Steps)-1]; p.To == vault && last.Kind != "roleAssignmentWrite" {
			t.Errorf("path to the vault %+v", p.Steps)
		}
	}
	cl := esc[1]
	if cl.Severity != High || cl.Resource != cluster.ID || !hasCommand(cl, "az identity federated-credential delete -g rg-b --identity-name id-b-workload -n aks-a-app --yes") {
		t.Errorf("cluster node access: %s %s %v", cl.Severity, cl.Resource, cl.Fix.Commands)
	}
}

func TestOrphanedPrivileged(t *testing.T) {
	b := analyzertest.New(sub, "contoso")
	b.Group("rg", "team=a")
	b.Orphan("Owner", b.RG("rg"))
	b.Orphan("Reader", b.RG("rg"))
	fs := build(t, b).Findings(FindingsOptions{Rules: []string{RuleOrphaned}})
	if len(fs) != 2 || fs[0].Severity != Medium || fs[1].Severity != Low {
		t.Fatalf("orphaned: %+v", fs)
	}
}

func TestParsers(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 720 * time.Hour, "12h": 12 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := ParseWindow(in); err != nil || got != want {
			t.Errorf("ParseWindow(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0d", "-1d", "xd", "soon"} {
		if _, err := ParseWindow(bad); err == nil {
			t.Errorf("ParseWindow(%q) accepted", bad)
		}
	}
	if FormatWindow(720*time.Hour) != "30d" || FormatWindow(90*time.Minute) != "1h30m0s" {
		t.Error("FormatWindow")
	}
	if s, err := ParseSeverity("HIGH"); err != nil || s != High || s.Rank() <= Medium.Rank() {
		t.Errorf("ParseSeverity: %v %v", s, err)
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Error("ParseSeverity accepted severe")
	}
	if len(Rules()) != 11 {
		t.Errorf("%d rules", len(Rules()))
	}
	for _, r := range Rules() {
		if r.Rationale == "" || r.Fix == "" || r.Description == "" || r.DefaultSeverity.Rank() == 0 {
			t.Errorf("rule %s is incompletely documented", r.ID)
		}
	}
}

// A role assignment at a scope outside the estate (a group with nothing in
// it) must not change what the same role at the root grants another
// identity: the two once shared a cached grant set.
func TestUnknownScopeGrantDoesNotShadowTheRoot(t *testing.T) {
	for _, ghost := range []bool{false, true} {
		b := analyzertest.New(sub, "contoso")
		b.Group("rg-app", "env=prod")
		app := b.Identity("rg-app", "id-app")
		b.VM("rg-app", "vm-app", app)
		if ghost {
			b.Assign(b.Identity("rg-app", "id-ghost"), "Contributor", "/subscriptions/"+sub+"/resourceGroups/rg-ghost")
		}
		as := b.Assign(b.Identity("rg-app", "id-root"), "Contributor", "/")
		var adds *Added
		for _, f := range build(t, b).Findings(FindingsOptions{}) {
			if f.Resource == as.ID && f.Rule == "subscription-scope-assignment" {
				adds = f.Adds
			}
		}
		if adds == nil || len(adds.Computes) != 1 || !strings.HasSuffix(adds.Computes[0], "/vm-app") {
			t.Errorf("with an assignment at an unknown scope %v: the root assignment adds %+v, want vm-app", ghost, adds)
		}
	}
}
