package attack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/arm/authorization"
	"github.com/mimic-emu/mimic/internal/attack"
	"github.com/mimic-emu/mimic/internal/demo"
	"github.com/mimic-emu/mimic/internal/server/servertest"
	"github.com/mimic-emu/mimic/internal/store"
)

// demoServer serves the demo estate and returns the server and the
// replay's environment.
func demoServer(t *testing.T) (*servertest.Server, attack.Env) {
	t.Helper()
	srv := servertest.StartDemo(t)
	return srv, attack.Env{
		ARMURL: srv.URL(), AuthorityURL: srv.URL(), Proxy: srv.ProxyURL(), Tenant: srv.Tenant.ID, CA: srv.Tenant.CA.Pool(),
		OperatorToken: srv.Operator.Token,
	}
}

func analyze(t *testing.T, s store.Store) *analyzer.Analysis {
	t.Helper()
	e, err := analyzer.Load(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return analyzer.New(e)
}

func computeID(t *testing.T, a *analyzer.Analysis, name string) string {
	t.Helper()
	return named(t, a.E.Computes, name, func(c *analyzer.Compute) string { return c.Name }).ID
}

// named finds the thing of a list with a name.
func named[T any](t *testing.T, list []*T, name string, nameOf func(*T) string) *T {
	t.Helper()
	for _, x := range list {
		if nameOf(x) == name {
			return x
		}
	}
	t.Fatalf("no %s", name)
	return nil
}

func replay(t *testing.T, env attack.Env, a *analyzer.Analysis, id string) (*analyzer.Radius, *attack.Report) {
	t.Helper()
	r, err := a.BlastRadiusOf(id)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := attack.Run(context.Background(), env, r, attack.Options{Probe: outside(a, r)})
	if err != nil {
		t.Fatal(err)
	}
	return r, rep
}

// outside lists the estate's vaults and storage accounts the radius does
// not reach.
func outside(a *analyzer.Analysis, r *analyzer.Radius) []string {
	in := map[string]bool{}
	for _, reach := range r.Reach {
		in[strings.ToLower(reach.Resource)] = true
	}
	var out []string
	for _, res := range a.E.Resources {
		switch strings.ToLower(res.Type) {
		case "microsoft.keyvault/vaults", "microsoft.storage/storageaccounts":
			if !in[strings.ToLower(res.ID)] {
				out = append(out, res.ID)
			}
		}
	}
	return out
}

func exercised(rep *attack.Report, resourceName, action string) *attack.Exercise {
	for i, e := range rep.Exercised {
		if strings.HasSuffix(strings.ToLower(e.Resource), "/"+strings.ToLower(resourceName)) && e.Action == action {
			return &rep.Exercised[i]
		}
	}
	return nil
}

const getSecret = "Microsoft.KeyVault/vaults/secrets/getSecret/action"

// The shared identity's story, proven: code on DEV reads PROD's secret.
func TestReplayDevReadsProdSecret(t *testing.T) {
	srv, env := demoServer(t)
	a := analyze(t, srv.Store)
	_, rep := replay(t, env, a, computeID(t, a, demo.PaymentsDev))
	e := exercised(rep, demo.PaymentsVault, getSecret)
	if e == nil || !e.OK || e.Detail != "read "+demo.PaymentsSecret {
		t.Fatalf("DEV did not read PROD's secret: %+v\n%+v", e, rep)
	}
	if !strings.Contains(strings.ToLower(e.Identity), strings.ToLower(demo.SharedIdentity)) {
		t.Errorf("read as %s, want the shared identity", e.Identity)
	}
	// The isolated design: DEV's replay never touches PROD's vault.
	_, rep = replay(t, env, a, computeID(t, a, demo.OrdersDev))
	if e := exercised(rep, demo.OrdersProdVault, getSecret); e != nil {
		t.Errorf("orders-api-dev exercised PROD's vault: %+v", e)
	}
	if e := exercised(rep, demo.OrdersDevVault, getSecret); e == nil || !e.OK {
		t.Errorf("orders-api-dev could not read its own vault: %+v", rep)
	}
}

// Every compute of the demo: everything the analysis says is reachable is
// actually exercised, and the replay leaves the estate as it found it.
func TestReplayMatchesAnalysis(t *testing.T) {
	srv, env := demoServer(t)
	a := analyze(t, srv.Store)
	before := a.E
	for _, c := range a.E.Computes {
		if c.Kind == analyzer.ServiceAccount && !strings.Contains(c.Name, ".") {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			r, rep := replay(t, env, a, c.ID)
			for _, d := range rep.Disagreements() {
				t.Error(d)
			}
			// Every data action the analysis reports on a vault or an
			// account was exercised.
			for _, reach := range r.Reach {
				typ := strings.ToLower(reach.Type)
				if typ == "microsoft.keyvault/vaults" && hasData(reach.DataActions, getSecret) {
					if e := exercisedID(rep, reach.Resource, getSecret); e == nil {
						t.Errorf("the analysis says %s's secrets can be read (%+v); the replay did not try", reach.Resource, reach.Path)
					}
				}
			}
		})
	}
	after, err := analyzer.Load(context.Background(), srv.Store)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Assignments) != len(before.Assignments) {
		t.Errorf("the replays left %d role assignments, the estate had %d", len(after.Assignments), len(before.Assignments))
	}
	for i, c := range after.Computes {
		if len(c.Identities) != len(before.Computes[i].Identities) {
			t.Errorf("%s has identities %v after the replays, %v before", c.Name, c.Identities, before.Computes[i].Identities)
		}
	}
}

func exercisedID(rep *attack.Report, id, action string) *attack.Exercise {
	for i, e := range rep.Exercised {
		if strings.EqualFold(e.Resource, id) && e.Action == action {
			return &rep.Exercised[i]
		}
	}
	return nil
}

func hasData(patterns []string, action string) bool {
	for _, p := range patterns {
		if strings.EqualFold(p, action) || p == "*" || strings.HasSuffix(p, "/*") && strings.HasPrefix(strings.ToLower(action), strings.ToLower(strings.TrimSuffix(p, "*"))) {
			return true
		}
	}
	return false
}

// Random estates: for every compute, the replay exercises everything the
// analysis reports, and no identity the replay obtains reads a vault or an
// account outside the analysis' radius.
func TestReplayMatchesAnalysisOnRandomEstates(t *testing.T) {
	srv, env := demoServer(t)
	for seed := uint64(1); seed <= 6; seed++ {
		applyRandom(t, srv, seed)
	}
	replayRandom(t, env, analyze(t, srv.Store))
}

// applyRandom adds a small generated estate to the server's.
func applyRandom(t *testing.T, srv *servertest.Server, seed uint64) {
	t.Helper()
	size := demo.RandomSize{Groups: 3, Identities: 4, VMs: 2, Sites: 2, Vaults: 2, Accounts: 2, MaxRoles: 2}
	if err := demo.ApplyRandom(context.Background(), srv.Operator, srv.Tenant.SubscriptionID, srv.Tenant.ID, srv.Tenant.OperatorObject, seed, size); err != nil {
		t.Fatal(err)
	}
}

// replayRandom replays every generated compute that holds an identity and
// reports each difference between the replay and the analysis.
func replayRandom(t *testing.T, env attack.Env, a *analyzer.Analysis) {
	t.Helper()
	var probed, beyond, exercised int
	for _, comp := range a.E.Computes {
		if !strings.Contains(comp.Name, "-r") || len(comp.Identities) == 0 {
			continue
		}
		_, rep := replay(t, env, a, comp.ID)
		probed += rep.Probed
		beyond += len(rep.Beyond)
		exercised += len(rep.Exercised)
		for _, d := range rep.Disagreements() {
			t.Errorf("%s: %s", comp.Name, d)
		}
	}
	t.Logf("%d computes' replays exercised %d actions and refused %d probes outside their radius (%d deny assignments)",
		len(a.E.Computes), exercised, probed-beyond, len(a.E.Denies))
	if probed == 0 || exercised == 0 {
		t.Fatalf("the random estates exercised nothing (probed %d, exercised %d)", probed, exercised)
	}
}

// randomDenies builds deny assignments over a generated estate: each on a
// random vault, storage account, VM or group, for everyone (the operator
// excluded) or for one identity, refusing a random data or control
// permission that the replay would otherwise exercise.
func randomDenies(a *analyzer.Analysis, operator string, seed uint64, n int) []byte {
	rnd := rand.New(rand.NewPCG(seed, 7))
	var targets []*analyzer.Resource
	for _, r := range a.E.Resources {
		switch strings.ToLower(r.Type) {
		case "microsoft.keyvault/vaults", "microsoft.storage/storageaccounts", "microsoft.compute/virtualmachines", "microsoft.resources/resourcegroups":
			if strings.Contains(r.Name, "r") {
				targets = append(targets, r)
			}
		}
	}
	perms := []map[string][]string{
		{"dataActions": {"Microsoft.KeyVault/vaults/secrets/*"}},
		{"dataActions": {"Microsoft.KeyVault/vaults/secrets/getSecret/action"}},
		{"dataActions": {"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"}},
		{"actions": {"Microsoft.Compute/virtualMachines/runCommand/action", "Microsoft.Compute/virtualMachines/write"}},
		{"actions": {"Microsoft.KeyVault/vaults/read", "Microsoft.Storage/storageAccounts/read"}},
		{"actions": {"Microsoft.Storage/storageAccounts/listkeys/action"}},
	}
	var docs []map[string]any
	for i := range n {
		target := targets[rnd.IntN(len(targets))]
		principal := map[string]any{"id": "00000000-0000-0000-0000-000000000000", "type": "SystemDefined"}
		if ids := a.E.Identities; rnd.IntN(2) == 0 && len(ids) > 0 {
			principal = map[string]any{"id": ids[rnd.IntN(len(ids))].PrincipalID, "type": "ServicePrincipal"}
		}
		p := perms[rnd.IntN(len(perms))]
		orEmpty := func(s []string) []string { // [] in JSON, not null
			if len(s) == 0 {
				return []string{}
			}
			return s
		}
		block := map[string]any{"actions": orEmpty(p["actions"]), "notActions": []string{}, "dataActions": orEmpty(p["dataActions"]), "notDataActions": []string{}}
		docs = append(docs, map[string]any{
			"name": fmt.Sprintf("d0000000-0000-4000-8000-%06d%06d", seed, i),
			"properties": map[string]any{
				"denyAssignmentName": fmt.Sprintf("random deny %d/%d", seed, i), "scope": target.ID,
				"permissions": []any{block}, "principals": []any{principal},
				"excludePrincipals": []any{map[string]any{"id": operator, "type": "ServicePrincipal"}}, "doNotApplyToChildScopes": false,
			},
		})
	}
	b, _ := json.Marshal(docs)
	return b
}

// The same property with deny assignments in the estates: what the
// analysis says a deny assignment takes away, the replay is refused, and
// nothing else.
func TestReplayMatchesAnalysisWithDenyAssignments(t *testing.T) {
	srv, env := demoServer(t)
	for seed := uint64(11); seed <= 14; seed++ {
		applyRandom(t, srv, seed)
		if _, err := authorization.LoadDenyAssignments(context.Background(), srv.Store, "random", randomDenies(analyze(t, srv.Store), srv.Tenant.OperatorObject, seed, 3)); err != nil {
			t.Fatal(err)
		}
	}
	a := analyze(t, srv.Store)
	if len(a.E.Denies) != 12 {
		t.Fatalf("%d deny assignments loaded, want 12", len(a.E.Denies))
	}
	replayRandom(t, env, a)
}

// A federated credential write, replayed: DEV's shared identity may write
// the federated credentials of PROD's orders identity (Managed Identity
// Contributor on it). The replay trusts that identity to an issuer of its
// own, reads PROD's orders secret as it, and leaves no credential, cluster
// or resource group behind.
func TestReplayWritesAFederatedCredential(t *testing.T) {
	srv, env := demoServer(t)
	ctx := context.Background()
	a := analyze(t, srv.Store)
	nameOf := func(id *analyzer.Identity) string { return id.Name }
	shared, target := named(t, a.E.Identities, demo.SharedIdentity, nameOf), named(t, a.E.Identities, "id-orders-prod", nameOf)
	grant := target.Key + "/providers/Microsoft.Authorization/roleAssignments/" + "0f1c7c4e-58a3-4c1b-9d56-3b1a4c1e0d77" + "?api-version=2022-04-01"
	const managedIdentityContributor = "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59"
	if err := srv.Operator.ARM(ctx, "PUT", grant, map[string]any{"properties": map[string]any{
		"roleDefinitionId": "/subscriptions/" + srv.Tenant.SubscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/" + managedIdentityContributor,
		"principalId":      shared.PrincipalID, "principalType": "ServicePrincipal",
	}}, nil); err != nil {
		t.Fatal(err)
	}
	a = analyze(t, srv.Store)
	before := len(a.E.Resources)
	r, rep := replay(t, env, a, computeID(t, a, demo.PaymentsDev))
	var how string
	for _, h := range r.Identities {
		if strings.EqualFold(h.ID, target.Key) {
			how = h.Path[len(h.Path)-1].Kind
		}
	}
	if how != "federatedCredentialWrite" {
		t.Fatalf("the analysis does not reach %s by a federated credential write (last step %q)", target.Name, how)
	}
	for _, d := range rep.Disagreements() {
		t.Error(d)
	}
	var got *attack.Obtained
	for i, o := range rep.Identities {
		if strings.EqualFold(o.Identity, target.Key) {
			got = &rep.Identities[i]
		}
	}
	if got == nil || !got.OK || got.How != "federatedCredentialWrite" {
		t.Fatalf("the replay did not obtain %s by writing a federated credential: %+v", target.Name, got)
	}
	if e := exercised(rep, demo.OrdersProdVault, getSecret); e == nil || !e.OK || !strings.EqualFold(e.Identity, target.Key) {
		t.Errorf("PROD's orders secret was not read: %+v", e)
	}
	// Nothing stays: the credential, the attacker's cluster and its group.
	after := analyze(t, srv.Store)
	if len(after.E.Resources) != before {
		t.Errorf("the estate has %d resources after the replay, %d before", len(after.E.Resources), before)
	}
	if fed := after.E.Identity(target.Key).Federated; len(fed) != len(target.Federated) {
		t.Errorf("%s has federated credentials %+v after the replay", target.Name, fed)
	}
}
