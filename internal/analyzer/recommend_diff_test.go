package analyzer_test

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	. "github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/analyzer/analyzertest"
	"github.com/mimic-emu/mimic/internal/demo"
	"github.com/mimic-emu/mimic/internal/server/servertest"
)

// The demo with a DEV vault for payments: detaching the shared identity
// from pay-api-dev and giving it a DEV identity on the DEV vault takes
// PROD out of its blast radius, and only where it should.
func TestDiffTheDemo(t *testing.T) {
	srv := servertest.StartDemo(t)
	ctx := context.Background()
	rg := "/subscriptions/" + srv.Tenant.SubscriptionID + "/resourceGroups/rg-payments-dev"
	devVault := rg + "/providers/Microsoft.KeyVault/vaults/kvpaydev"
	err := srv.Operator.ARM(ctx, http.MethodPut, devVault+"?api-version=2024-11-01", map[string]any{"location": "westeurope",
		"properties": map[string]any{"tenantId": srv.Tenant.ID, "sku": map[string]any{"family": "A", "name": "standard"}, "enableRbacAuthorization": true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := Load(ctx, srv.Store)
	if err != nil {
		t.Fatal(err)
	}
	a := New(e)
	devID := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-payments-dev"
	plan, err := ParsePlan([]byte(`{"changes": [
		{"op": "createIdentity", "identity": "` + devID + `"},
		{"op": "addAssignment", "identity": "` + devID + `", "role": "Key Vault Secrets User", "scope": "` + devVault + `"},
		{"op": "attachIdentity", "identity": "id-payments-dev", "compute": "pay-api-dev"},
		{"op": "detachIdentity", "identity": "id-payments-shared", "compute": "pay-api-dev"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	d, err := a.Diff(plan, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := radiusOf(d, demo.PaymentsDev)
	if r == nil {
		t.Fatalf("pay-api-dev's radius does not change: %+v", d.Radii)
	}
	lostVault := false
	for _, l := range r.Lost {
		if strings.HasSuffix(l.Resource, "/"+demo.PaymentsVault) {
			lostVault = l.Environment == "prod" && slices.Contains(l.DataActionsRemoved, getSecret) && len(l.Path) > 0 && l.Path[0].Kind == "token"
		}
	}
	if !lostVault || !reflect.DeepEqual(r.EnvironmentsLost, []string{"prod"}) || !reflect.DeepEqual(changeNames(r.Gained), []string{"kvpaydev"}) ||
		r.Gained[0].Environment != "dev" || !reflect.DeepEqual(heldNames(r.IdentitiesLost), []string{demo.SharedIdentity}) ||
		!reflect.DeepEqual(heldNames(r.IdentitiesGained), []string{"id-payments-dev"}) {
		t.Errorf("pay-api-dev: %+v", r)
	}
	// PROD's site is untouched; the new identity is a new start; the ops
	// VM, which writes every site, now also reaches the DEV identity.
	if radiusOf(d, demo.PaymentsProd) != nil {
		t.Error("pay-api-prod's radius changed")
	}
	if n := radiusOf(d, "id-payments-dev"); n == nil || n.Status != "created" || !reflect.DeepEqual(changeNames(n.Gained), []string{"kvpaydev"}) {
		t.Errorf("the new identity: %+v", n)
	}
	if ops := radiusOf(d, demo.OpsVM); ops == nil || !slices.Contains(heldNames(ops.IdentitiesGained), "id-payments-dev") {
		t.Errorf("the ops VM: %+v", ops)
	}
	if d.Summary.Changed != len(d.Radii) || d.Summary.ResourcesLost == 0 || d.Affected < len(d.Radii) {
		t.Errorf("summary %+v, affected %d", d.Summary, d.Affected)
	}
	// The estate itself is unchanged.
	if before, _ := a.BlastRadiusOf(computeNamed(t, a, demo.PaymentsDev).ID); reachOf(before, demo.PaymentsVault) == nil {
		t.Error("the diff changed the analyzed estate")
	}

	// Deleting the orphaned assignment changes no blast radius.
	orphan := e.Orphaned[0].ID
	d, err = a.Diff(Plan{Changes: []Change{{Op: OpRemoveAssignment, Assignment: orphan}}}, DiffOptions{})
	if err != nil || len(d.Radii) != 0 || d.Summary.Changed != 0 {
		t.Errorf("removing the orphan: %v %+v", err, d)
	}
}

func TestParsePlan(t *testing.T) {
	p, err := ParsePlan([]byte(` [{"op": "removeAssignment", "assignment": "/x"}]`))
	if err != nil || len(p.Changes) != 1 || p.Changes[0].Assignment != "/x" {
		t.Errorf("a list: %+v %v", p, err)
	}
	for in, want := range map[string]string{
		`{"changes": []}`:                                 "no changes",
		`{"changes": [{"op": "explode"}]}`:                `unknown op "explode"`,
		`[{"op": "removeAssignment", "assignmnt": "/x"}]`: "unknown field",
		`not json`: "not valid JSON",
	} {
		if _, err := ParsePlan([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePlan(%s): %v, want %q", in, err, want)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	b := analyzertest.New(sub, "contoso")
	b.Group("rg-a", "env=dev")
	b.Group("rg-b", "env=prod")
	x := b.Identity("rg-a", "id-x")
	b.Identity("rg-b", "id-x")
	vm := b.VM("rg-a", "vm-a")
	kv := b.Resource("rg-b", "Microsoft.KeyVault/vaults", "kv-b")
	a := build(t, b)
	for _, tc := range []struct {
		ch   []Change
		want string
	}{
		{[]Change{{Op: OpAttachIdentity, Identity: "id-x", Compute: vm.ID}}, `"id-x" names 2 of them, not one identity`},
		{[]Change{{Op: OpAttachIdentity, Identity: x.Key, Compute: "vm-nope"}}, `no compute "vm-nope"`},
		{[]Change{{Op: OpDetachIdentity, Identity: x.Key, Compute: "vm-a"}}, "vm-a does not hold id-x"},
		{[]Change{{Op: OpAddAssignment, Identity: x.Key, Role: "Key Vault Wizard", Scope: kv}}, `no role "Key Vault Wizard"`},
		{[]Change{{Op: OpRemoveAssignment, Assignment: "/nope"}}, "no role assignment /nope"},
		{[]Change{{Op: OpCreateIdentity, Identity: x.Key}}, "exists"},
		{[]Change{{Op: OpCreateIdentity, Identity: vm.ID}}, "must be the new user-assigned identity's resource id"},
		{[]Change{
			{Op: OpCreateRole, RoleDefinition: &RoleDefinition{Name: "kv reader", DataActions: []string{getSecret}, AssignableScopes: []string{kv}}},
			{Op: OpAddAssignment, Identity: x.Key, Role: "kv reader", Scope: b.RG("rg-b")},
		}, `change 2 (addAssignment): role "kv reader" is not assignable at`},
	} {
		if _, err := a.Diff(Plan{Changes: tc.ch}, DiffOptions{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.ch, err, tc.want)
		}
	}
	// The custom role at its assignable scope works, and grants exactly
	// what it lists.
	d, err := a.Diff(Plan{Changes: []Change{
		{Op: OpCreateRole, RoleDefinition: &RoleDefinition{Name: "kv reader", DataActions: []string{getSecret}, AssignableScopes: []string{kv}}},
		{Op: OpAddAssignment, Identity: x.Key, Role: "kv reader", Scope: kv},
		{Op: OpAttachIdentity, Identity: x.Key, Compute: "vm-a"},
	}}, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := radiusOf(d, "vm-a")
	if r == nil || len(r.Gained) != 1 || !reflect.DeepEqual(r.Gained[0].DataActionsAdded, []string{getSecret}) || !reflect.DeepEqual(r.EnvironmentsGained, []string{"prod"}) {
		t.Errorf("vm-a with the custom role: %+v", r)
	}
}

// Federated credentials and identity deletion, on a cluster with a
// service account.
func TestDiffFederationAndDeletion(t *testing.T) {
	b := analyzertest.New(sub, "contoso")
	b.Group("rg-aks", "env=prod")
	issuer := "https://oidc.example/aks1/"
	app := b.Identity("rg-aks", "id-app")
	other := b.Identity("rg-aks", "id-other")
	kv := b.Resource("rg-aks", "Microsoft.KeyVault/vaults", "kv-app")
	st := b.Resource("rg-aks", "Microsoft.Storage/storageAccounts", "stother")
	b.Assign(app, "Key Vault Secrets User", kv)
	b.Assign(other, "Storage Blob Data Reader", st)
	b.Federate(app, "aks1-default-web", issuer, "system:serviceaccount:default:web")
	cluster := b.Resource("rg-aks", "Microsoft.ContainerService/managedClusters", "aks1")
	b.E.Computes = append(b.E.Computes,
		&Compute{ID: cluster, Name: "aks1", Kind: Cluster, IssuerURL: issuer, Tags: map[string]string{}},
		&Compute{ID: cluster + "/serviceAccounts/default~web", Name: "aks1/default/web", Kind: ServiceAccount, Cluster: cluster,
			Subject: "system:serviceaccount:default:web", Identities: []string{"client:" + app.ClientID}, Tags: map[string]string{}})
	a := build(t, b)
	if r, err := a.BlastRadiusOf(cluster + "/serviceAccounts/default~web"); err != nil || reachOf(r, "kv-app") == nil {
		t.Fatalf("the pod does not reach its vault: %v %+v", err, r)
	}

	// A credential of id-other for the same subject: the pod gains it.
	d, err := a.Diff(Plan{Changes: []Change{{Op: OpAddFederatedCredential, Identity: "id-other", Name: "web", Issuer: issuer, Subject: "system:serviceaccount:default:web"}}}, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := radiusOf(d, "aks1/default/web"); r == nil || !reflect.DeepEqual(changeNames(r.Gained), []string{"stother"}) {
		t.Errorf("federating id-other: %+v", d.Radii)
	}
	// Removing id-app's credential, or detaching it, cuts the pod off.
	for _, ch := range []Change{
		{Op: OpRemoveFederatedCredential, Identity: "id-app", Name: "aks1-default-web"},
		{Op: OpDetachIdentity, Identity: "id-app", Compute: "aks1/default/web"},
		{Op: OpDeleteIdentity, Identity: app.PrincipalID},
	} {
		d, err := a.Diff(Plan{Changes: []Change{ch}}, DiffOptions{})
		if err != nil {
			t.Fatalf("%s: %v", ch.Op, err)
		}
		if r := radiusOf(d, "aks1/default/web"); r == nil || !reflect.DeepEqual(changeNames(r.Lost), []string{"kv-app"}) {
			t.Errorf("%s: pod %+v", ch.Op, r)
		}
	}
	// Attaching id-other as the cluster's kubelet identity gives every
	// pod its grants; restricting the diff to the cluster shows it alone.
	d, err = a.Diff(Plan{Changes: []Change{{Op: OpAttachIdentity, Identity: "id-other", Compute: "aks1"}}}, DiffOptions{Starts: []string{cluster}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Radii) != 1 || d.Radii[0].Name != "aks1" || !slices.Contains(changeNames(d.Radii[0].Gained), "stother") {
		t.Errorf("kubelet: %+v", d.Radii)
	}
}
