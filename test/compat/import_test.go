package compat

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v4"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
)

// The fixture estate of internal/importer: a made-up two-subscription
// tenant exported with az.
const (
	importProd   = "b2c399ee-24f5-4be0-93ca-0a28efb988ca"
	importDev    = "acb010af-cfdb-4715-b5d8-7d6f5ffbb8ec"
	importShared = "cbbd9994-dd42-4cd7-a278-5762239d0b35"
)

// mimicImport runs `mimic import` against e, with stdin, and returns its
// exit status, standard output and standard error.
func mimicImport(t *testing.T, e *Env, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.CommandContext(ctx(t), e.Binary, append([]string{"import", "--home", e.Home}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// TestImport imports az exports into a fresh mimic with `mimic import`,
// then reads them back through ARM with the SDK.
func TestImport(t *testing.T) {
	dir := t.TempDir()
	e, err := Start(env.Binary, filepath.Join(dir, "home"))
	must(t, err)
	defer func() { must(t, e.Stop()) }()
	fixtures, err := filepath.Abs("../../internal/importer/testdata/estate")
	must(t, err)

	// A bad export: nothing is imported, and the message names the file,
	// the element and the field.
	bad := filepath.Join(dir, "assignments.json")
	must(t, os.WriteFile(bad, []byte(`[{"principalId": "cbbd9994-dd42-4cd7-a278-5762239d0b35", "principalName": "x", "roleDefinitionName": "Reader", "scope": "/subscriptions/`+importProd+`", "name": "5b60e9b6-742a-450a-9db0-3d0978947b67"}]`), 0o600))
	code, _, stderr := mimicImport(t, e, "", fixtures, bad)
	if code != 1 || !strings.Contains(stderr, bad+": [0].roleDefinitionId: missing") {
		t.Fatalf("bad export: %d %s", code, stderr)
	}

	code, stdout, stderr := mimicImport(t, e, "", fixtures, "--batch", "5")
	if code != 0 {
		t.Fatalf("mimic import: %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"imported 43/43 documents (100%",
		"vms-prod.json: 1 virtual machines (vms)",
		"graph-data-stores.json: 4 other resources (graph)",
		"functionapps-dev.json: [0].identity.userAssignedIdentities[",
		"role-assignments-prod.json: [6].principalId: principal 7f336f26-535a-4367-90fc-2e746ed46431: az found no such principal",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("standard error lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "imported 43 documents") || !strings.Contains(stdout, "orphaned assignments       1") {
		t.Errorf("summary:\n%s", stdout)
	}

	cred, opts := e.Operator(t), e.ARMOptions()
	subs, err := armsubscriptions.NewClient(cred, opts)
	must(t, err)
	s, err := subs.Get(ctx(t), importProd, nil)
	must(t, err)
	if *s.DisplayName != "contoso-prod" || *s.TenantID != e.Profile.TenantID {
		t.Errorf("subscription %s %s", *s.DisplayName, *s.TenantID)
	}

	ids, err := armmsi.NewUserAssignedIdentitiesClient(importProd, cred, opts)
	must(t, err)
	shared, err := ids.Get(ctx(t), "rg-payments-prod", "id-payments-shared", nil)
	must(t, err)
	if *shared.Properties.PrincipalID != importShared || *shared.Properties.ClientID != "3dab6820-fa13-4b46-b91f-f7c2759d2543" ||
		*shared.Properties.TenantID != e.Profile.TenantID || *shared.Tags["team"] != "payments" || *shared.Location != "westeurope" {
		t.Errorf("identity %+v %+v", shared.Properties, shared.Tags)
	}
	fics, err := armmsi.NewFederatedIdentityCredentialsClient(importProd, cred, opts)
	must(t, err)
	var subjects []string
	for pager := fics.NewListPager("rg-payments-prod", "id-github-deployer", nil); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, f := range page.Value {
			subjects = append(subjects, *f.Properties.Subject)
		}
	}
	if len(subjects) != 2 {
		t.Errorf("federated credentials %v", subjects)
	}

	vms, err := armcompute.NewVirtualMachinesClient(importProd, cred, opts)
	must(t, err)
	vm, err := vms.Get(ctx(t), "rg-payments-prod", "vm-payments-prod", nil)
	must(t, err)
	if *vm.Identity.PrincipalID != "20285d6d-e706-420a-8765-b2348a248543" || len(vm.Identity.UserAssignedIdentities) != 1 ||
		string(*vm.Properties.HardwareProfile.VMSize) != "Standard_D2s_v5" || *vm.Properties.VMID != "f9eb15be-db47-4ec5-a38c-33c6e84e3def" {
		t.Errorf("VM %+v", vm.VirtualMachine)
	}
	for _, u := range vm.Identity.UserAssignedIdentities {
		if *u.PrincipalID != importShared {
			t.Errorf("the VM's user-assigned identity %+v", u)
		}
	}

	clusters, err := armcontainerservice.NewManagedClustersClient(importProd, cred, opts)
	must(t, err)
	cl, err := clusters.Get(ctx(t), "rg-orders-prod", "aks-orders-prod", nil)
	must(t, err)
	wantIssuer := "https://westeurope.oic.prod-aks.azure.com/" + e.Profile.TenantID + "/e1a35ed2-e51b-4ed2-935e-476cd7f6edca/"
	if *cl.Properties.OidcIssuerProfile.IssuerURL != wantIssuer || *cl.Properties.IdentityProfile["kubeletidentity"].ObjectID != "c6129f64-0568-42d9-9af6-0c64c1aec810" {
		t.Errorf("cluster %+v %+v", cl.Properties.OidcIssuerProfile, cl.Properties.IdentityProfile)
	}

	sites, err := armappservice.NewWebAppsClient(importDev, cred, opts)
	must(t, err)
	fn, err := sites.Get(ctx(t), "rg-billing-dev", "func-billing-dev", nil)
	must(t, err)
	if *fn.Kind != "functionapp,linux" || len(fn.Identity.UserAssignedIdentities) != 1 {
		t.Errorf("function app %+v", fn.Site)
	}
	// The function app's identity, in no export, was recreated from it.
	devIDs, err := armmsi.NewUserAssignedIdentitiesClient(importDev, cred, opts)
	must(t, err)
	billing, err := devIDs.Get(ctx(t), "rg-billing-dev", "id-billing-dev", nil)
	must(t, err)
	if *billing.Properties.PrincipalID != "408574e0-7d8c-4df7-ab4d-36b620ba1c7e" {
		t.Errorf("recreated identity %+v", billing.Properties)
	}

	ras, err := armauthorization.NewRoleAssignmentsClient(importProd, cred, opts)
	must(t, err)
	kv := "/subscriptions/" + importProd + "/resourceGroups/rg-payments-prod/providers/Microsoft.KeyVault/vaults/kv-payments-prod"
	var found, orphan bool
	for pager := ras.NewListForScopePager("/subscriptions/"+importProd, nil); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, a := range page.Value {
			p := a.Properties
			if *a.Name == "5b60e9b6-742a-450a-9db0-3d0978947b67" && *p.PrincipalID == importShared && strings.EqualFold(*p.Scope, kv) &&
				*p.PrincipalType == armauthorization.PrincipalTypeServicePrincipal && strings.HasSuffix(*p.RoleDefinitionID, "/4633458b-17de-408a-b874-0445c86b69e6") {
				found = true
			}
			if *a.Name == "65a1594d-8df2-46d1-b910-3ba165a789d7" && string(*p.PrincipalType) == "Unknown" {
				orphan = true // listed as Azure lists orphans
			}
		}
	}
	if !found || !orphan {
		t.Errorf("role assignments: the vault's %v, the orphan %v", found, orphan)
	}
	denies, err := armauthorization.NewDenyAssignmentsClient(importProd, cred, opts)
	must(t, err)
	deny, err := denies.GetByID(ctx(t), "/subscriptions/"+importProd+"/resourceGroups/rg-orders-prod/providers/Microsoft.Storage/storageAccounts/stordersprod/providers/Microsoft.Authorization/denyAssignments/dac19535-5983-4d0e-8a63-d5f9c92d79c8", nil)
	must(t, err)
	if *deny.Properties.DenyAssignmentName != "Protect orders storage from deletion" {
		t.Errorf("deny %+v", deny.Properties)
	}

	// A Resource Graph result on standard input, and a re-import that
	// changes nothing.
	graph := fmt.Sprintf(`{"count": 1, "data": [{"id": "/subscriptions/%s/resourceGroups/rg-payments-dev/providers/Microsoft.Network/virtualNetworks/vnet-payments-dev", "location": "westeurope", "name": "vnet-payments-dev", "properties": {"addressSpace": {"addressPrefixes": ["10.20.0.0/16"]}}, "resourceGroup": "rg-payments-dev", "subscriptionId": "%s", "tags": {"env": "dev"}, "tenantId": "83c6d1e1-3e69-4763-82a0-0b1762b30d3d", "type": "microsoft.network/virtualnetworks"}], "skip_token": null, "total_records": 1}`, importDev, importDev)
	code, stdout, stderr = mimicImport(t, e, graph, "-", fixtures)
	if code != 0 || !strings.Contains(stderr, "stdin: 1 other resources (graph)") || !strings.Contains(stdout, "imported 44 documents") || strings.Contains(stdout, "new subscriptions") {
		t.Fatalf("%d\n%s\n%s", code, stdout, stderr)
	}
	generic, err := armresources.NewClient(importDev, cred, opts)
	must(t, err)
	res, err := generic.NewListByResourceGroupPager("rg-payments-dev", nil).NextPage(ctx(t))
	must(t, err)
	var names []string
	for _, r := range res.Value {
		names = append(names, *r.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "vnet-payments-dev") {
		t.Errorf("resources of rg-payments-dev: %v", names)
	}
}

// TestImportProgress imports thousands of generated role assignments and
// shows the progress on standard error.
func TestImportProgress(t *testing.T) {
	dir := t.TempDir()
	e, err := Start(env.Binary, filepath.Join(dir, "home"))
	must(t, err)
	defer func() { must(t, e.Stop()) }()
	const n = 12_000
	var b strings.Builder
	b.WriteString("[\n")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		scope := fmt.Sprintf("/subscriptions/%s/resourceGroups/rg-%d", e.Profile.SubscriptionID, i%20)
		name := fmt.Sprintf("%08x-0000-4000-8000-%012x", 3, i)
		fmt.Fprintf(&b, `{"id": "%s/providers/Microsoft.Authorization/roleAssignments/%s", "name": "%s", "principalId": "%08x-0000-4000-8000-%012x", "principalName": "user%d@contoso.com", "principalType": "User", "roleDefinitionId": "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7", "roleDefinitionName": "Reader", "scope": "%s", "type": "Microsoft.Authorization/roleAssignments"}`,
			scope, name, name, 1, i%300, i%300, e.Profile.SubscriptionID, scope)
	}
	b.WriteString("\n]\n")
	path := filepath.Join(dir, "role-assignments.json")
	must(t, os.WriteFile(path, []byte(b.String()), 0o600))
	// Progress every millisecond: 24 batches of 500 each take longer, so
	// however fast the import, it shows progress before its end.
	code, stdout, stderr := mimicImport(t, e, "", path, "--batch", "500", "--progress-interval", "1ms")
	if code != 0 || !strings.Contains(stderr, "imported 12,000/12,000 documents (100%") || !strings.Contains(stdout, "role assignments           12,000") ||
		!strings.Contains(stdout, "directory principals       300") {
		t.Fatalf("%d\n%s\n%s", code, stdout, stderr)
	}
	// Progress comes once an interval, and at the end.
	if lines := strings.Count(stderr, "\nimported "); lines < 2 {
		t.Errorf("progress lines: %d", lines)
	}
	t.Logf("progress:\n%s", stderr)
	ras, err := armauthorization.NewRoleAssignmentsClient(e.Profile.SubscriptionID, e.Operator(t), e.ARMOptions())
	must(t, err)
	count := 0
	for pager := ras.NewListForScopePager("/subscriptions/"+e.Profile.SubscriptionID+"/resourceGroups/rg-7", nil); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		count += len(page.Value)
	}
	// 200 in the group, and the operator's Owner on the subscription.
	if count != n/20+1 {
		t.Errorf("rg-7 lists %d role assignments", count)
	}
}
