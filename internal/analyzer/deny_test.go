package analyzer_test

import (
	"slices"
	"testing"

	. "github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/analyzer/analyzertest"
	"github.com/mimic-emu/mimic/internal/authz"
)

// A deny assignment on a vault's secrets takes them out of the blast
// radius of the identity it names, and out of nobody else's.
func TestDenyAssignmentsNarrowTheRadius(t *testing.T) {
	b := analyzertest.New(sub, "contoso")
	b.Group("rg-app", "env=prod")
	app := b.Identity("rg-app", "id-app")
	other := b.Identity("rg-app", "id-other")
	kv := b.Resource("rg-app", "Microsoft.KeyVault/vaults", "kv-app")
	b.Assign(app, "Key Vault Secrets User", kv)
	b.Assign(other, "Key Vault Secrets User", kv)
	vm := b.VM("rg-app", "vm-app", app)
	b.E.Denies = append(b.E.Denies, authz.DenyAssignment{ID: kv + "/providers/Microsoft.Authorization/denyAssignments/d1", Name: "no secrets",
		Scope: kv, Principals: []string{app.PrincipalID},
		Permissions: []authz.Permission{{DataActions: []string{"Microsoft.KeyVault/vaults/secrets/*"}}}})
	a := build(t, b)
	for _, start := range []string{app.Key, vm.ID} {
		r, err := a.BlastRadiusOf(start)
		if err != nil {
			t.Fatal(err)
		}
		if re := reachOf(r, "kv-app"); re != nil {
			t.Errorf("%s: the denied identity still reaches the vault: %+v", start, re)
		}
	}
	r, err := a.BlastRadiusOf(other.Key)
	if err != nil {
		t.Fatal(err)
	}
	if re := reachOf(r, "kv-app"); re == nil || len(re.DataActions) == 0 {
		t.Errorf("id-other lost the vault to a deny assignment that does not name it: %+v", r.Reach)
	}
}

// A deny assignment inside a granted wildcard stays beside it as an
// exclusion, for grants and for role assignment writes alike.
func TestDenyAssignmentsInsideWildcards(t *testing.T) {
	b := analyzertest.New(sub, "contoso")
	rg := b.Group("rg-app", "env=prod")
	officer := b.Identity("rg-app", "id-officer")
	admin := b.Identity("rg-app", "id-admin")
	kv := b.Resource("rg-app", "Microsoft.KeyVault/vaults", "kv-app")
	b.Assign(officer, "Key Vault Secrets Officer", kv)
	b.Assign(admin, "User Access Administrator", rg)
	getSecret := "Microsoft.KeyVault/vaults/secrets/getSecret/action"
	b.E.Denies = append(b.E.Denies, authz.DenyAssignment{ID: kv + "/providers/Microsoft.Authorization/denyAssignments/d2", Name: "no reads",
		Scope: kv, Principals: []string{authz.Everyone}, Permissions: []authz.Permission{{DataActions: []string{getSecret}}}})
	a := build(t, b)
	for _, id := range []string{officer.Key, admin.Key} {
		r, err := a.BlastRadiusOf(id)
		if err != nil {
			t.Fatal(err)
		}
		re := reachOf(r, "kv-app")
		if re == nil || len(re.DataActions) == 0 || !slices.Contains(re.NotDataActions, getSecret) {
			t.Errorf("%s: want the vault's data actions with getSecret excluded, got %+v", id, re)
		}
	}
}

// Findings read the same narrowed grants: a DEV identity whose PROD grant
// a deny assignment takes away spans one environment only.
func TestDenyAssignmentsInFindings(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		b := analyzertest.New(sub, "contoso")
		b.Group("rg-dev", "env=dev")
		b.Group("rg-prod", "env=prod")
		id := b.Identity("rg-dev", "id-app")
		b.VM("rg-dev", "vm-dev", id)
		kv := b.Resource("rg-prod", "Microsoft.KeyVault/vaults", "kv-prod")
		b.Assign(id, "Key Vault Secrets User", kv)
		if sealed {
			b.E.Denies = append(b.E.Denies, authz.DenyAssignment{ID: kv + "/providers/Microsoft.Authorization/denyAssignments/d3", Name: "sealed",
				Scope: kv, Principals: []string{id.PrincipalID}, Permissions: []authz.Permission{{DataActions: []string{"*"}, Actions: []string{"*"}}}})
		}
		fs := build(t, b).Findings(FindingsOptions{})
		if got := len(findingsOf(fs, "cross-environment-identity", "id-app")); got != map[bool]int{false: 1, true: 0}[sealed] {
			t.Errorf("sealed %v: %d cross-environment finding(s)", sealed, got)
		}
	}
}
