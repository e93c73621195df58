package compat

import (
	"net/http"
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
)

func vaults(t *testing.T) *armkeyvault.VaultsClient {
	c, err := armkeyvault.NewVaultsClient(sub(), env.Operator(t), env.ARMOptions())
	must(t, err)
	return c
}

func vaultParams(props *armkeyvault.VaultProperties) armkeyvault.VaultCreateOrUpdateParameters {
	if props.TenantID == nil {
		props.TenantID = to.Ptr(env.Profile.TenantID)
	}
	if props.SKU == nil {
		props.SKU = &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(armkeyvault.SKUNameStandard)}
	}
	return armkeyvault.VaultCreateOrUpdateParameters{Location: to.Ptr("westeurope"), Properties: props}
}

func putVault(t *testing.T, rg, name string, props *armkeyvault.VaultProperties) (armkeyvault.Vault, error) {
	t.Helper()
	p, err := vaults(t).BeginCreateOrUpdate(ctx(t), rg, name, vaultParams(props), nil)
	if err != nil {
		return armkeyvault.Vault{}, err
	}
	r, err := p.PollUntilDone(ctx(t), nil)
	return r.Vault, err
}

func secretPolicy(objectID string, perms ...armkeyvault.SecretPermissions) *armkeyvault.AccessPolicyEntry {
	ps := []*armkeyvault.SecretPermissions{}
	for _, p := range perms {
		ps = append(ps, to.Ptr(p))
	}
	return &armkeyvault.AccessPolicyEntry{
		TenantID: to.Ptr(env.Profile.TenantID), ObjectID: to.Ptr(objectID),
		Permissions: &armkeyvault.Permissions{Secrets: ps},
	}
}

func secretsOf(v armkeyvault.Vault, objectID string) []string {
	for _, ap := range v.Properties.AccessPolicies {
		if *ap.ObjectID == objectID {
			out := []string{}
			for _, p := range ap.Permissions.Secrets {
				out = append(out, string(*p))
			}
			slices.Sort(out)
			return out
		}
	}
	return nil
}

func TestKeyVaultLifecycle(t *testing.T) {
	rg := newGroup(t, "rg-kv", nil)
	rbacName, policyName := uniq(t, "kvr"), uniq(t, "kvp")

	rbac, err := putVault(t, rg, rbacName, &armkeyvault.VaultProperties{EnableRbacAuthorization: to.Ptr(true)})
	must(t, err)
	p := rbac.Properties
	if *p.VaultURI != "https://"+rbacName+".vault.azure.net/" || !*p.EnableRbacAuthorization || !*p.EnableSoftDelete ||
		*p.SoftDeleteRetentionInDays != 90 || *p.ProvisioningState != armkeyvault.VaultProvisioningStateSucceeded ||
		*p.PublicNetworkAccess != "Enabled" || len(p.AccessPolicies) != 0 || p.EnablePurgeProtection != nil ||
		*p.TenantID != env.Profile.TenantID || *p.SKU.Name != armkeyvault.SKUNameStandard {
		t.Fatalf("RBAC vault properties %+v", p)
	}
	if *rbac.Type != "Microsoft.KeyVault/vaults" || *rbac.Location != "westeurope" {
		t.Fatalf("vault %s in %s", *rbac.Type, *rbac.Location)
	}

	op := env.Profile.Operator.ObjectID
	pol, err := putVault(t, rg, policyName, &armkeyvault.VaultProperties{
		AccessPolicies: []*armkeyvault.AccessPolicyEntry{secretPolicy(op, armkeyvault.SecretPermissionsGet, armkeyvault.SecretPermissionsList)},
	})
	must(t, err)
	if *pol.Properties.EnableRbacAuthorization {
		t.Fatal("enableRbacAuthorization defaults to true")
	}
	if got := secretsOf(pol, op); !slices.Equal(got, []string{"get", "list"}) {
		t.Fatalf("access policy %v", got)
	}

	got, err := vaults(t).Get(ctx(t), rg, policyName, nil)
	must(t, err)
	if *got.ID != *pol.ID || !slices.Equal(secretsOf(got.Vault, op), []string{"get", "list"}) {
		t.Fatalf("get %+v", got.Vault)
	}
	var names []string
	pager := vaults(t).NewListByResourceGroupPager(rg, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, v := range page.Value {
			names = append(names, *v.Name)
		}
	}
	slices.Sort(names)
	want := []string{rbacName, policyName}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("list by group %v, want %v", names, want)
	}

	// Subscription-wide listing goes through the generic resource listing.
	names = nil
	all := vaults(t).NewListPager(nil)
	for all.More() {
		page, err := all.NextPage(ctx(t))
		must(t, err)
		for _, v := range page.Value {
			names = append(names, *v.Name)
		}
	}
	if !slices.Contains(names, rbacName) || !slices.Contains(names, policyName) {
		t.Fatalf("subscription listing %v lacks %s or %s", names, rbacName, policyName)
	}

	// Access policy operations.
	other := newGUID()
	update := func(kind armkeyvault.AccessPolicyUpdateKind, entries ...*armkeyvault.AccessPolicyEntry) armkeyvault.Vault {
		t.Helper()
		r, err := vaults(t).UpdateAccessPolicy(ctx(t), rg, policyName, kind, armkeyvault.VaultAccessPolicyParameters{
			Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: entries},
		}, nil)
		must(t, err)
		if *r.Name != string(kind) || *r.Type != "Microsoft.KeyVault/vaults/accessPolicies" {
			t.Fatalf("access policy answer %s %s", *r.Name, *r.Type)
		}
		v, err := vaults(t).Get(ctx(t), rg, policyName, nil)
		must(t, err)
		if len(v.Properties.AccessPolicies) != len(r.Properties.AccessPolicies) {
			t.Fatalf("answer has %d policies, vault %d", len(r.Properties.AccessPolicies), len(v.Properties.AccessPolicies))
		}
		return v.Vault
	}
	v := update(armkeyvault.AccessPolicyUpdateKindAdd, secretPolicy(other, armkeyvault.SecretPermissionsGet))
	if len(v.Properties.AccessPolicies) != 2 || !slices.Equal(secretsOf(v, other), []string{"get"}) {
		t.Fatalf("after add: %v", secretsOf(v, other))
	}
	v = update(armkeyvault.AccessPolicyUpdateKindAdd, secretPolicy(other, armkeyvault.SecretPermissionsSet))
	if len(v.Properties.AccessPolicies) != 2 || !slices.Equal(secretsOf(v, other), []string{"get", "set"}) {
		t.Fatalf("after second add: %v", secretsOf(v, other))
	}
	v = update(armkeyvault.AccessPolicyUpdateKindRemove, secretPolicy(other, armkeyvault.SecretPermissionsGet))
	if !slices.Equal(secretsOf(v, other), []string{"set"}) {
		t.Fatalf("after removing get: %v", secretsOf(v, other))
	}
	v = update(armkeyvault.AccessPolicyUpdateKindRemove, secretPolicy(other, armkeyvault.SecretPermissionsSet))
	if len(v.Properties.AccessPolicies) != 1 || secretsOf(v, other) != nil || secretsOf(v, op) == nil {
		t.Fatalf("after removing the last permission: %+v", v.Properties.AccessPolicies)
	}
	v = update(armkeyvault.AccessPolicyUpdateKindReplace, secretPolicy(other, armkeyvault.SecretPermissionsAll))
	if len(v.Properties.AccessPolicies) != 1 || !slices.Equal(secretsOf(v, other), []string{"all"}) {
		t.Fatalf("after replace: %+v", v.Properties.AccessPolicies)
	}

	// Purge protection cannot be turned off.
	_, err = vaults(t).Update(ctx(t), rg, policyName, armkeyvault.VaultPatchParameters{Properties: &armkeyvault.VaultPatchProperties{EnablePurgeProtection: to.Ptr(true)}}, nil)
	must(t, err)
	_, err = vaults(t).Update(ctx(t), rg, policyName, armkeyvault.VaultPatchParameters{Properties: &armkeyvault.VaultPatchProperties{EnablePurgeProtection: to.Ptr(false)}}, nil)
	if code, ec := respErr(t, err); code != http.StatusBadRequest || ec != "BadRequest" {
		t.Fatalf("disable purge protection: %d %s", code, ec)
	}
	// A PATCH switches the access model and keeps the rest.
	patched, err := vaults(t).Update(ctx(t), rg, policyName, armkeyvault.VaultPatchParameters{Properties: &armkeyvault.VaultPatchProperties{EnableRbacAuthorization: to.Ptr(true)}}, nil)
	must(t, err)
	if !*patched.Properties.EnableRbacAuthorization || !*patched.Properties.EnablePurgeProtection || len(patched.Properties.AccessPolicies) != 1 {
		t.Fatalf("patched vault %+v", patched.Properties)
	}

	// Delete, and the name is free again.
	_, err = vaults(t).Delete(ctx(t), rg, rbacName, nil)
	must(t, err)
	_, err = vaults(t).Get(ctx(t), rg, rbacName, nil)
	if code, ec := respErr(t, err); code != http.StatusNotFound || ec != "ResourceNotFound" {
		t.Fatalf("get after delete: %d %s", code, ec)
	}
	rg2 := newGroup(t, "rg-kv2", nil)
	_, err = putVault(t, rg2, rbacName, &armkeyvault.VaultProperties{})
	must(t, err)
	deleted := vaults(t).NewListDeletedPager(nil)
	for deleted.More() {
		page, err := deleted.NextPage(ctx(t))
		must(t, err)
		if len(page.Value) != 0 {
			t.Fatalf("deleted vaults %+v", page.Value)
		}
	}
}

func TestKeyVaultErrors(t *testing.T) {
	rg := newGroup(t, "rg-kverr", nil)
	other := newGroup(t, "rg-kverr2", nil)
	name := uniq(t, "kv")
	_, err := putVault(t, rg, name, &armkeyvault.VaultProperties{})
	must(t, err)
	_, err = putVault(t, other, name, &armkeyvault.VaultProperties{})
	if code, ec := respErr(t, err); code != http.StatusConflict || ec != "VaultAlreadyExists" {
		t.Errorf("duplicate name: %d %s", code, ec)
	}
	for _, bad := range []string{"1abc", "ab", "a--b", "abc-", "a_b", "abcdefghijklmnopqrstuvwxy"} {
		_, err := putVault(t, rg, bad, &armkeyvault.VaultProperties{})
		if code, ec := respErr(t, err); code != http.StatusBadRequest || ec != "VaultNameNotValid" {
			t.Errorf("name %q: %d %s", bad, code, ec)
		}
	}
	cases := []struct {
		what  string
		props *armkeyvault.VaultProperties
	}{
		{"wrong tenant", &armkeyvault.VaultProperties{TenantID: to.Ptr(newGUID())}},
		{"bad sku", &armkeyvault.VaultProperties{SKU: &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(armkeyvault.SKUName("gold"))}}},
		{"bad permission", &armkeyvault.VaultProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{secretPolicy(newGUID(), "fly")}}},
		{"bad object id", &armkeyvault.VaultProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{secretPolicy("alice", armkeyvault.SecretPermissionsGet)}}},
		{"retention", &armkeyvault.VaultProperties{SoftDeleteRetentionInDays: to.Ptr[int32](3)}},
	}
	for _, tc := range cases {
		_, err := putVault(t, rg, uniq(t, "kv"), tc.props)
		if code, ec := respErr(t, err); code != http.StatusBadRequest || ec != "BadRequest" {
			t.Errorf("%s: %d %s", tc.what, code, ec)
		}
	}
	// tenantId and sku are required.
	if code, body := rawARM(t, http.MethodPut, rgID(rg)+"/providers/Microsoft.KeyVault/vaults/"+uniq(t, "kv")+"?api-version=2022-07-01",
		`{"location":"westeurope","properties":{"sku":{"family":"A","name":"standard"}}}`); code != http.StatusBadRequest {
		t.Errorf("no tenantId: %d %s", code, body)
	}
	if code, body := rawARM(t, http.MethodPut, rgID(rg)+"/providers/Microsoft.KeyVault/vaults/"+uniq(t, "kv")+"?api-version=2022-07-01",
		`{"location":"westeurope","properties":{"tenantId":"`+env.Profile.TenantID+`"}}`); code != http.StatusBadRequest {
		t.Errorf("no sku: %d %s", code, body)
	}
	_, err = vaults(t).UpdateAccessPolicy(ctx(t), rg, uniq(t, "kv"), armkeyvault.AccessPolicyUpdateKindAdd, armkeyvault.VaultAccessPolicyParameters{
		Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{secretPolicy(newGUID(), armkeyvault.SecretPermissionsGet)}},
	}, nil)
	if code, ec := respErr(t, err); code != http.StatusNotFound || ec != "ResourceNotFound" {
		t.Errorf("access policy of a missing vault: %d %s", code, ec)
	}
	_, err = putVault(t, uniq(t, "rg-missing"), uniq(t, "kv"), &armkeyvault.VaultProperties{})
	if code, ec := respErr(t, err); code != http.StatusNotFound || ec != "ResourceGroupNotFound" {
		t.Errorf("missing group: %d %s", code, ec)
	}
	// Managed identities are not a vault feature.
	if code, body := rawARM(t, http.MethodPut, rgID(rg)+"/providers/Microsoft.KeyVault/vaults/"+uniq(t, "kv")+"?api-version=2024-11-01",
		`{"location":"westeurope","identity":{"type":"SystemAssigned"},"properties":{"tenantId":"`+env.Profile.TenantID+`","sku":{"family":"A","name":"standard"}}}`); code != http.StatusBadRequest {
		t.Errorf("identity on a vault: %d %s", code, body)
	}
}
