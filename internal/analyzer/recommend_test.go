package analyzer_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/analyzer/analyzertest"
	"github.com/mimic-emu/mimic/internal/demo"
	"github.com/mimic-emu/mimic/internal/store"
)

// recsOf returns the recommendations of a kind whose title contains s.
func recsOf(rep *RecommendReport, kind, s string) []Recommendation {
	var out []Recommendation
	for _, r := range rep.Recommendations {
		if r.Kind == kind && strings.Contains(r.Title, s) {
			out = append(out, r)
		}
	}
	return out
}

func oneRec(t *testing.T, rep *RecommendReport, kind, s string) Recommendation {
	t.Helper()
	got := recsOf(rep, kind, s)
	if len(got) != 1 {
		var all []string
		for _, r := range rep.Recommendations {
			all = append(all, r.Kind+": "+r.Title)
		}
		t.Fatalf("%d %s recommendations for %q, want 1; all:\n%s", len(got), kind, s, strings.Join(all, "\n"))
	}
	return got[0]
}

// radiusOf finds a start's diff by name.
func radiusOf(d *Diff, name string) *RadiusDiff {
	if d == nil {
		return nil
	}
	for i := range d.Radii {
		if d.Radii[i].Name == name {
			return &d.Radii[i]
		}
	}
	return nil
}

func changeNames(l []ReachChange) []string {
	var out []string
	for _, c := range l {
		out = append(out, c.Resource[strings.LastIndexByte(c.Resource, '/')+1:])
	}
	return out
}

func heldNames(l []Held) []string {
	var out []string
	for _, h := range l {
		out = append(out, h.Name)
	}
	return out
}

const (
	getSecret   = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
	secretsRead = "Microsoft.KeyVault/vaults/secrets/read"
)

// A fixture: one identity on a VM with a right-sized grant, two wide ones
// used narrowly, an old unused one and a young unused one.
func TestRecommendFromUsage(t *testing.T) {
	b := analyzertest.New(sub, "contoso")
	b.Group("rg-app", "env=prod", "team=a")
	subscription := "/subscriptions/" + sub
	vault := b.Resource("rg-app", "Microsoft.KeyVault/vaults", "kv-app")
	account := b.Resource("rg-app", "Microsoft.Storage/storageAccounts", "stapp")
	id := b.Identity("rg-app", "id-app")
	vm := b.VM("rg-app", "vm-app", id)
	officer := b.Assign(id, "Key Vault Secrets Officer", subscription)
	contributor := b.Assign(id, "Contributor", subscription)
	exact := b.Assign(id, "Key Vault Secrets User", vault)
	unused := b.Assign(id, "Storage Blob Data Reader", account)
	young := b.Assign(id, "Reader", b.RG("rg-app"))
	a := build(t, b)

	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	u := NewUsage(DefaultWindow, now)
	u.RecordingSince = now.Add(-365 * 24 * time.Hour)
	for _, as := range []string{officer.ID, contributor.ID, exact.ID, unused.ID} {
		u.SetCreated(as, now.Add(-100*24*time.Hour))
	}
	u.SetCreated(young.ID, now.Add(-3*24*time.Hour))
	use := func(at time.Duration, action string, data bool, scope, assignment string) {
		u.Record(&store.Access{At: now.Add(-at), Allowed: true, PrincipalID: id.PrincipalID, ComputeID: vm.ID, Action: action, DataAction: data,
			Scope: scope, Assignment: assignment})
	}
	use(48*time.Hour, getSecret, true, vault+"/secrets/db", officer.ID)
	use(24*time.Hour, getSecret, true, vault+"/secrets/db", officer.ID)
	use(2*time.Hour, getSecret, true, vault+"/secrets/api", officer.ID)
	use(time.Hour, secretsRead, false, vault+"/secrets/db", contributor.ID)
	use(time.Hour, getSecret, true, vault+"/secrets/db", exact.ID)

	rep, err := a.Recommend(RecommendOptions{Usage: u})
	if err != nil {
		t.Fatal(err)
	}

	// Unused for a whole window: removal, preferred. Its blast radius
	// does not change: Contributor lists the account's keys, which yield
	// its blobs anyway.
	rm := oneRec(t, rep, RecRemoveUnused, "Storage Blob Data Reader")
	if !rm.Preferred || rm.Confidence != "full" || !rm.Evidence.FullWindow || rm.Evidence.Requests != 5 ||
		!reflect.DeepEqual(rm.Commands, []string{"az role assignment delete --ids " + unused.ID}) ||
		!reflect.DeepEqual(rm.Plan, []Change{{Op: OpRemoveAssignment, Assignment: unused.ID}}) {
		t.Errorf("unused: %+v", rm)
	}
	if r := radiusOf(rm.BlastRadius, "vm-app"); rm.BlastRadius == nil || rm.BlastRadius.Affected != 2 || r != nil {
		t.Errorf("removing the unused assignment: vm-app's radius change %+v", r)
	}
	// Unused but three days old: partial, with a note.
	y := oneRec(t, rep, RecRemoveUnused, "Reader at resource group rg-app")
	if y.Confidence != "partial" || y.Evidence.FullWindow || len(y.Evidence.Notes) == 0 || !strings.Contains(y.Evidence.Notes[0], "younger than the 30d window") {
		t.Errorf("young unused: %s %+v", y.Confidence, y.Evidence)
	}

	// Secrets Officer on the subscription, used for getSecret on one
	// vault: narrower scope, Key Vault Secrets User at the vault
	// (preferred), or a custom role of exactly getSecret there.
	n := oneRec(t, rep, RecNarrowScope, "Key Vault Secrets Officer")
	if n.Preferred || !slices.Contains(n.Commands, "az role assignment create --assignee-object-id "+id.PrincipalID+
		" --assignee-principal-type ServicePrincipal --role 'Key Vault Secrets Officer' --scope "+vault) {
		t.Errorf("narrow scope: %v %v", n.Preferred, n.Commands)
	}
	s := oneRec(t, rep, RecSmallerRole, "Key Vault Secrets Officer")
	wantPlan := []Change{
		{Op: OpAddAssignment, Identity: id.Key, Role: "Key Vault Secrets User", Scope: vault},
		{Op: OpRemoveAssignment, Assignment: officer.ID},
	}
	if !s.Preferred || !reflect.DeepEqual(s.Plan, wantPlan) {
		t.Errorf("smaller role: preferred %v, plan %+v", s.Preferred, s.Plan)
	}
	ev := s.Evidence
	if ev.Granted != 3 || len(ev.Uses) != 2 || ev.FirstSeen == nil || !ev.FirstSeen.Equal(now.Add(-48*time.Hour)) || !ev.LastSeen.Equal(now.Add(-2*time.Hour)) ||
		!reflect.DeepEqual(ev.Uses[1].Computes, []string{vm.ID}) || ev.Uses[1].Count != 2 || ev.Uses[1].Action != getSecret {
		t.Errorf("evidence: %+v", ev)
	}
	c := oneRec(t, rep, RecCustomRole, "Key Vault Secrets Officer")
	if d := c.RoleDefinition; d == nil || !reflect.DeepEqual(d.DataActions, []string{getSecret}) || len(d.Actions) != 0 ||
		!reflect.DeepEqual(d.AssignableScopes, []string{vault}) || c.Preferred {
		t.Errorf("custom role for the officer: %+v", c.RoleDefinition)
	}

	// Contributor on the subscription used to read secrets' metadata: a
	// custom role of that one action at the vault, preferred to Reader.
	c = oneRec(t, rep, RecCustomRole, "Contributor")
	if d := c.RoleDefinition; !c.Preferred || d == nil || !reflect.DeepEqual(d.Actions, []string{secretsRead}) || len(d.DataActions) != 0 ||
		!reflect.DeepEqual(d.AssignableScopes, []string{vault}) {
		t.Errorf("custom role for Contributor: preferred %v %+v", c.Preferred, c.RoleDefinition)
	}
	if !strings.HasPrefix(c.Commands[0], "az role definition create --role-definition '{\"name\":\"id-app: Contributor used on kv-app\"") ||
		c.Plan[0].Op != OpCreateRole || c.Plan[1].Role != c.RoleDefinition.Name || c.Plan[1].Scope != vault || c.Plan[2].Assignment != contributor.ID {
		t.Errorf("custom role commands %q plan %+v", c.Commands, c.Plan)
	}
	var def map[string]any
	if err := json.Unmarshal([]byte(strings.Trim(strings.TrimPrefix(c.Commands[0], "az role definition create --role-definition "), "'")), &def); err != nil ||
		def["assignableScopes"] == nil || def["isCustom"] != true {
		t.Errorf("role definition JSON %v %v", def, err)
	}
	// The custom role keeps the identity on the vault without '*' (what
	// it used stays covered by the officer's reads), and takes away
	// run-command on its own VM.
	r := radiusOf(c.BlastRadius, "id-app")
	if r == nil || slices.Contains(changeNames(r.Lost), "kv-app") || !reflect.DeepEqual(heldNames(r.ComputesLost), []string{"vm-app"}) {
		t.Fatalf("custom role blast radius: %+v", r)
	}
	for _, ch := range r.Changed {
		if strings.HasSuffix(ch.Resource, "/kv-app") && (len(ch.ActionsAdded) != 0 || !reflect.DeepEqual(ch.ActionsRemoved, []string{"*"})) {
			t.Errorf("the vault's actions under the custom role: %+v", ch)
		}
	}
	if len(recsOf(rep, RecSmallerRole, "Contributor")) != 1 {
		t.Errorf("no Reader alternative for Contributor")
	}

	// The right-sized grant is left alone.
	for _, r := range rep.Recommendations {
		if r.Group == exact.ID {
			t.Errorf("a right-sized assignment has a recommendation: %s", r.Title)
		}
	}

	// The combined plan takes the preferred ones, applies, and the VM
	// keeps its vault.
	d, err := a.Diff(rep.Plan, DiffOptions{})
	if err != nil {
		t.Fatalf("the combined plan: %v", err)
	}
	r = radiusOf(d, "vm-app")
	if r == nil || slices.Contains(changeNames(r.Lost), "kv-app") || !slices.Contains(changeNames(r.Lost), "stapp") {
		t.Errorf("vm-app under the combined plan: %+v", r)
	}
	if rep.Summary[RecRemoveUnused] != 2 || rep.Summary[RecCustomRole] != 2 {
		t.Errorf("summary %v", rep.Summary)
	}
	ids := map[string]bool{}
	for _, r := range rep.Recommendations {
		if ids[r.ID] {
			t.Errorf("duplicate id %s", r.ID)
		}
		ids[r.ID] = true
	}

	// One identity, by principal id; an unknown one is an error.
	one, err := a.Recommend(RecommendOptions{Usage: u, Identity: id.PrincipalID})
	if err != nil || one.Identity != id.Key || len(one.Recommendations) != len(rep.Recommendations) {
		t.Errorf("one identity: %v %d", err, len(one.Recommendations))
	}
	if _, err := a.Recommend(RecommendOptions{Usage: u, Identity: "nobody"}); err == nil {
		t.Error("an unknown identity is accepted")
	}
	// An empty access log proposes no removal in the combined plan.
	empty, _ := a.Recommend(RecommendOptions{Usage: NewUsage(DefaultWindow, now)})
	if len(empty.Plan.Changes) != 0 || len(empty.Notes) == 0 || recsOf(empty, RecRemoveUnused, "")[0].Confidence != "none" {
		t.Errorf("empty log: plan %+v notes %v", empty.Plan, empty.Notes)
	}
}

// The demo's shared identity: the environment split, each environment
// re-granted only what its computes used.
func TestRecommendSplitsTheDemo(t *testing.T) {
	a := demoAnalysis(t)
	shared := identityNamed(t, a, demo.SharedIdentity)
	dev, prod := computeNamed(t, a, demo.PaymentsDev), computeNamed(t, a, demo.PaymentsProd)
	var vaultAs *string
	for _, as := range a.E.Engine().AssignmentsFor(shared.PrincipalID) {
		if strings.HasSuffix(as.Scope, "/"+demo.PaymentsVault) {
			vaultAs = &as.ID
		}
	}
	if vaultAs == nil {
		t.Fatal("the shared identity has no vault assignment")
	}
	now := time.Now().UTC()
	u := NewUsage(DefaultWindow, now)
	u.RecordingSince = now.Add(-90 * 24 * time.Hour)
	vault := vaultID(a)
	for _, c := range []*Compute{dev, prod} {
		u.Record(&store.Access{At: now.Add(-time.Hour), Allowed: true, PrincipalID: shared.PrincipalID, ComputeID: c.ID, Action: getSecret, DataAction: true,
			Scope: vault + "/secrets/" + demo.PaymentsSecret, Assignment: *vaultAs})
	}
	rep, err := a.Recommend(RecommendOptions{Usage: u, Identity: shared.Key})
	if err != nil {
		t.Fatal(err)
	}
	split := oneRec(t, rep, RecEnvSplit, demo.SharedIdentity)
	for _, want := range []string{"az identity create -g rg-payments-dev -n id-payments-dev", "az identity create -g rg-payments-prod -n id-payments-prod",
		"az webapp identity remove -g rg-payments-dev -n pay-api-dev --identities " + shared.Key, "az identity delete --ids " + shared.Key} {
		if !slices.Contains(split.Commands, want) {
			t.Errorf("split lacks %q: %q", want, split.Commands)
		}
	}
	// PROD is re-granted the vault it used, not the account it did not;
	// DEV nothing.
	var grants []string
	for _, ch := range split.Plan {
		if ch.Op == OpAddAssignment {
			grants = append(grants, ch.Identity[strings.LastIndexByte(ch.Identity, '/')+1:]+" "+ch.Role)
		}
	}
	if !reflect.DeepEqual(grants, []string{"id-payments-prod Key Vault Secrets User"}) {
		t.Errorf("split grants %v", grants)
	}
	notes := strings.Join(split.Evidence.Notes, "\n")
	if !strings.Contains(notes, "prod: Storage Blob Data Reader at stpayprod is not re-granted") || !strings.Contains(notes, "dev computes used Key Vault Secrets User at kvpayprod (prod)") {
		t.Errorf("split notes:\n%s", notes)
	}
	r := radiusOf(split.BlastRadius, demo.PaymentsDev)
	if r == nil || !slices.Contains(changeNames(r.Lost), demo.PaymentsVault) || !reflect.DeepEqual(r.EnvironmentsLost, []string{"prod"}) ||
		!reflect.DeepEqual(heldNames(r.IdentitiesGained), []string{"id-payments-dev"}) {
		t.Errorf("pay-api-dev under the split: %+v", r)
	}
	if r := radiusOf(split.BlastRadius, demo.SharedIdentity); r == nil || r.Status != "deleted" {
		t.Errorf("the shared identity under the split: %+v", r)
	}
	// The unused account grant: removal; other changes to the shared
	// identity would be superseded by the split.
	if rm := oneRec(t, rep, RecRemoveUnused, "Storage Blob Data Reader"); !rm.Preferred {
		t.Error("the unused removal is not preferred")
	}
	// The combined plan (removal, then the split) applies.
	if _, err := ApplyPlan(a.E, rep.Plan); err != nil || len(rep.Notes) != 0 {
		t.Errorf("combined plan: %v %v", err, rep.Notes)
	}
}

func identityNamed(t *testing.T, a *Analysis, name string) *Identity {
	t.Helper()
	for _, id := range a.E.Identities {
		if id.Name == name {
			return id
		}
	}
	t.Fatalf("no identity %s", name)
	return nil
}

func vaultID(a *Analysis) string {
	for _, r := range a.E.Resources {
		if r.Name == demo.PaymentsVault {
			return r.ID
		}
	}
	return ""
}
