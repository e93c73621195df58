package compat

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

func vms(t *testing.T) *armcompute.VirtualMachinesClient {
	c, err := armcompute.NewVirtualMachinesClient(sub(), env.Operator(t), env.ARMOptions())
	must(t, err)
	return c
}

func vmBody(identity *armcompute.VirtualMachineIdentity) armcompute.VirtualMachine {
	return armcompute.VirtualMachine{
		Location: to.Ptr("westeurope"),
		Identity: identity,
		Properties: &armcompute.VirtualMachineProperties{
			HardwareProfile: &armcompute.HardwareProfile{VMSize: to.Ptr(armcompute.VirtualMachineSizeTypesStandardB1S)},
			OSProfile:       &armcompute.OSProfile{ComputerName: to.Ptr("vm"), AdminUsername: to.Ptr("azureuser"), AdminPassword: to.Ptr("S3cret!pass")},
			StorageProfile: &armcompute.StorageProfile{ImageReference: &armcompute.ImageReference{
				Publisher: to.Ptr("Canonical"), Offer: to.Ptr("ubuntu-24_04-lts"), SKU: to.Ptr("server"), Version: to.Ptr("latest"),
			}},
		},
	}
}

func createVM(t *testing.T, rg, name string, identity *armcompute.VirtualMachineIdentity) armcompute.VirtualMachine {
	t.Helper()
	p, err := vms(t).BeginCreateOrUpdate(ctx(t), rg, name, vmBody(identity), nil)
	must(t, err)
	r, err := p.PollUntilDone(ctx(t), nil)
	must(t, err)
	return r.VirtualMachine
}

func uaiMap(ids ...string) map[string]*armcompute.UserAssignedIdentitiesValue {
	m := map[string]*armcompute.UserAssignedIdentitiesValue{}
	for _, id := range ids {
		m[id] = &armcompute.UserAssignedIdentitiesValue{}
	}
	return m
}

func TestVirtualMachineIdentities(t *testing.T) {
	rg := newGroup(t, "rg-vm", nil)
	a, b := newIdentity(t, rg, "id-a"), newIdentity(t, rg, "id-b")
	vm := createVM(t, rg, "vm1", &armcompute.VirtualMachineIdentity{
		Type:                   to.Ptr(armcompute.ResourceIdentityTypeSystemAssignedUserAssigned),
		UserAssignedIdentities: uaiMap(*a.ID, *b.ID),
	})
	id := vm.Identity
	if *id.Type != armcompute.ResourceIdentityTypeSystemAssignedUserAssigned || id.PrincipalID == nil || *id.TenantID != env.Profile.TenantID {
		t.Fatalf("identity %+v", id)
	}
	if len(id.UserAssignedIdentities) != 2 || *id.UserAssignedIdentities[*a.ID].ClientID != *a.Properties.ClientID || *id.UserAssignedIdentities[*b.ID].PrincipalID != *b.Properties.PrincipalID {
		t.Fatalf("user assigned identities %+v", id.UserAssignedIdentities)
	}
	if vm.Properties.OSProfile.AdminPassword != nil {
		t.Fatal("the admin password was returned")
	}
	if vm.Properties.VMID == nil || *vm.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("properties %+v", vm.Properties)
	}
	systemPrincipal := *id.PrincipalID

	// The system-assigned identity is readable as its own resource.
	sys, err := armmsiSystem(t, *vm.ID)
	must(t, err)
	if sys != systemPrincipal {
		t.Fatalf("identities/default principal %s, want %s", sys, systemPrincipal)
	}

	// PATCH merges: removing one identity with null keeps the other.
	p, err := vms(t).BeginUpdate(ctx(t), rg, "vm1", armcompute.VirtualMachineUpdate{Identity: &armcompute.VirtualMachineIdentity{
		Type:                   to.Ptr(armcompute.ResourceIdentityTypeSystemAssignedUserAssigned),
		UserAssignedIdentities: map[string]*armcompute.UserAssignedIdentitiesValue{*a.ID: nil},
	}}, nil)
	must(t, err)
	upd, err := p.PollUntilDone(ctx(t), nil)
	must(t, err)
	if len(upd.Identity.UserAssignedIdentities) != 1 || upd.Identity.UserAssignedIdentities[*b.ID] == nil || *upd.Identity.PrincipalID != systemPrincipal {
		t.Fatalf("after removing id-a: %+v", upd.Identity)
	}
	// Dropping the system-assigned identity releases it.
	p, err = vms(t).BeginUpdate(ctx(t), rg, "vm1", armcompute.VirtualMachineUpdate{Identity: &armcompute.VirtualMachineIdentity{
		Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned),
	}}, nil)
	must(t, err)
	upd, err = p.PollUntilDone(ctx(t), nil)
	must(t, err)
	if *upd.Identity.Type != armcompute.ResourceIdentityTypeUserAssigned || upd.Identity.PrincipalID != nil || len(upd.Identity.UserAssignedIdentities) != 1 {
		t.Fatalf("after dropping the system identity: %+v", upd.Identity)
	}
	if _, err := armmsiSystem(t, *vm.ID); err == nil {
		t.Fatal("identities/default still answers after the system identity was removed")
	}
	// Deleting an identity detaches it everywhere.
	_, err = identities(t).Delete(ctx(t), rg, "id-b", nil)
	must(t, err)
	got, err := vms(t).Get(ctx(t), rg, "vm1", nil)
	must(t, err)
	if got.Identity != nil && len(got.Identity.UserAssignedIdentities) != 0 {
		t.Fatalf("deleted identity still attached: %+v", got.Identity)
	}
	// PUT replaces: a PUT without identity removes them all.
	replaced := createVM(t, rg, "vm1", nil)
	if replaced.Identity != nil {
		t.Fatalf("PUT without identity kept %+v", replaced.Identity)
	}
}

func TestVirtualMachineIdentityErrors(t *testing.T) {
	rg := newGroup(t, "rg-vmerr", nil)
	missing := rgID(rg) + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ghost"
	p, err := vms(t).BeginCreateOrUpdate(ctx(t), rg, "vm1", vmBody(&armcompute.VirtualMachineIdentity{
		Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: uaiMap(missing),
	}), nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx(t), nil)
	}
	if status, code := respErr(t, err); status != 400 || code != "FailedIdentityOperation" {
		t.Fatalf("missing identity: %d %s", status, code)
	}
	p, err = vms(t).BeginCreateOrUpdate(ctx(t), rg, "vm1", vmBody(&armcompute.VirtualMachineIdentity{Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned)}), nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx(t), nil)
	}
	if status, _ := respErr(t, err); status != 400 {
		t.Fatalf("UserAssigned without identities: %d", status)
	}
}

// runCommandToken runs the token-fetch "script" on a VM and returns the
// token response it printed.
func runCommandToken(t *testing.T, rg, vm string, params map[string]string) map[string]string {
	t.Helper()
	in := armcompute.RunCommandInput{CommandID: to.Ptr("RunShellScript"), Script: []*string{to.Ptr("curl -H Metadata:true http://169.254.169.254/metadata/identity/oauth2/token")}}
	for k, v := range params {
		in.Parameters = append(in.Parameters, &armcompute.RunCommandInputParameter{Name: to.Ptr(k), Value: to.Ptr(v)})
	}
	p, err := vms(t).BeginRunCommand(ctx(t), rg, vm, in, nil)
	must(t, err)
	res, err := p.PollUntilDone(ctx(t), nil)
	must(t, err)
	msg := *res.Value[0].Message
	start := strings.Index(msg, "[stdout]\n")
	end := strings.Index(msg, "\n\n[stderr]")
	if start < 0 || end < start {
		t.Fatalf("runCommand output %q", msg)
	}
	var out map[string]string
	must(t, json.Unmarshal([]byte(msg[start+len("[stdout]\n"):end]), &out))
	return out
}

func TestRunCommandRevealsTheVMToken(t *testing.T) {
	rg := newGroup(t, "rg-run", nil)
	a, b := newIdentity(t, rg, "id-a"), newIdentity(t, rg, "id-b")
	vm := createVM(t, rg, "vm1", &armcompute.VirtualMachineIdentity{
		Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: uaiMap(*a.ID, *b.ID),
	})
	// Two identities and no selector: IMDS refuses to guess.
	out := runCommandToken(t, rg, "vm1", nil)
	if out["error"] != "invalid_request" || !strings.Contains(out["error_description"], "Multiple user assigned identities exist") {
		t.Fatalf("no selector: %v", out)
	}
	out = runCommandToken(t, rg, "vm1", map[string]string{"client_id": *b.Properties.ClientID, "resource": "https://vault.azure.net"})
	if out["client_id"] != *b.Properties.ClientID || out["resource"] != "https://vault.azure.net" || out["token_type"] != "Bearer" {
		t.Fatalf("token response %v", out)
	}
	c := claimsOf(t, out["access_token"])
	if c["oid"] != *b.Properties.PrincipalID || c["appid"] != *b.Properties.ClientID || c["aud"] != "https://vault.azure.net" ||
		!strings.EqualFold(c["xms_mirid"].(string), *b.ID) || !strings.EqualFold(c["xms_az_rid"].(string), *vm.ID) || c["appidacr"] != "2" {
		t.Fatalf("claims %v", c)
	}

	// The VM's token is a real ARM credential; with no role it gets 403.
	armTok := runCommandToken(t, rg, "vm1", map[string]string{"msi_res_id": *a.ID})["access_token"]
	asVM, err := armresources.NewResourceGroupsClient(sub(), StaticToken(armTok), env.ARMOptions())
	must(t, err)
	_, err = asVM.Get(ctx(t), rg, nil)
	if status, code := respErr(t, err); status != 403 || code != "AuthorizationFailed" {
		t.Fatalf("identity without a role: %d %s", status, code)
	}
	if !strings.Contains(err.Error(), "does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/read' over scope '"+rgID(rg)+"'") {
		t.Fatalf("403 message: %v", err)
	}
	// Grant Reader on the group: the same token now reads it.
	assign(t, rgID(rg), readerRole, *a.Properties.PrincipalID)
	if _, err := asVM.Get(ctx(t), rg, nil); err != nil {
		t.Fatalf("after granting Reader: %v", err)
	}
	// Reader cannot write.
	_, err = asVM.CreateOrUpdate(ctx(t), rg, armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil)
	if status, code := respErr(t, err); status != 403 || code != "AuthorizationFailed" {
		t.Fatalf("Reader writing: %d %s", status, code)
	}
}

func TestLinkedAuthorizationForIdentityAssignment(t *testing.T) {
	rg := newGroup(t, "rg-linked", nil)
	runner := newIdentity(t, rg, "runner")
	target := newIdentity(t, rg, "target")
	createVM(t, rg, "jump", &armcompute.VirtualMachineIdentity{Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: uaiMap(*runner.ID)})
	tok := runCommandToken(t, rg, "jump", nil)["access_token"]
	// Virtual Machine Contributor may write VMs, but not assign identities.
	assign(t, rgID(rg), vmContributorRole, *runner.Properties.PrincipalID)
	asRunner, err := armcompute.NewVirtualMachinesClient(sub(), StaticToken(tok), env.ARMOptions())
	must(t, err)
	p, err := asRunner.BeginCreateOrUpdate(ctx(t), rg, "vm2", vmBody(&armcompute.VirtualMachineIdentity{
		Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: uaiMap(*target.ID),
	}), nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx(t), nil)
	}
	if status, code := respErr(t, err); status != 403 || code != "LinkedAuthorizationFailed" {
		t.Fatalf("assigning without assign/action: %d %s", status, code)
	}
	// Managed Identity Operator on the target identity grants assign/action.
	assign(t, *target.ID, managedIdentityOperatorRole, *runner.Properties.PrincipalID)
	p, err = asRunner.BeginCreateOrUpdate(ctx(t), rg, "vm2", vmBody(&armcompute.VirtualMachineIdentity{
		Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: uaiMap(*target.ID),
	}), nil)
	must(t, err)
	if _, err := p.PollUntilDone(ctx(t), nil); err != nil {
		t.Fatalf("with Managed Identity Operator: %v", err)
	}
}

// Built-in role GUIDs.
const (
	readerRole                  = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	vmContributorRole           = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"
	managedIdentityOperatorRole = "f1a07417-d97a-45cb-824c-7a7467783830"
	kvSecretsUserRole           = "4633458b-17de-408a-b874-0445c86b69e6"
)

func roleAssignments(t *testing.T) *armauthorization.RoleAssignmentsClient {
	c, err := armauthorization.NewRoleAssignmentsClient(sub(), env.Operator(t), env.ARMOptions())
	must(t, err)
	return c
}

// assign grants a built-in role to a principal at scope.
func assign(t *testing.T, scope, roleGUID, principalID string) armauthorization.RoleAssignment {
	t.Helper()
	r, err := roleAssignments(t).Create(ctx(t), scope, newGUID(), armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{
			RoleDefinitionID: to.Ptr("/subscriptions/" + sub() + "/providers/Microsoft.Authorization/roleDefinitions/" + roleGUID),
			PrincipalID:      to.Ptr(principalID),
			PrincipalType:    to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
		},
	}, nil)
	must(t, err)
	return r.RoleAssignment
}
