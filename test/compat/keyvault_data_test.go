package compat

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

// kvSecretsOfficerRole is Key Vault Secrets Officer (ownerRole, the Owner
// role, is in rbac_test.go; kvSecretsUserRole in compute_test.go).
const kvSecretsOfficerRole = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"

// proxied is an HTTP client that reaches Azure's hostnames through mimic's
// proxy, as a program in an operator shell does, trusting mimic's CA.
func proxied(t *testing.T) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(env.Profile.CAFile)
	must(t, err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	proxy, err := url.Parse(env.Profile.Endpoints.Proxy)
	must(t, err)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(proxy)
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	return &http.Client{Transport: tr}
}

// operatorSecrets is an azsecrets client for a vault, as the operator,
// through mimic's proxy at the vault's real URL.
func operatorSecrets(t *testing.T, vault string) *azsecrets.Client {
	t.Helper()
	c, err := azsecrets.NewClient("https://"+vault+".vault.azure.net", env.Operator(t), &azsecrets.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: proxied(t), Retry: policy.RetryOptions{MaxRetries: -1}},
	})
	must(t, err)
	return c
}

func setSecret(t *testing.T, c *azsecrets.Client, name, value string) azsecrets.Secret {
	t.Helper()
	r, err := c.SetSecret(ctx(t), name, azsecrets.SetSecretParameters{Value: to.Ptr(value)}, nil)
	must(t, err)
	return r.Secret
}

// unassign deletes a role assignment.
func unassign(t *testing.T, ra armauthorization.RoleAssignment) {
	t.Helper()
	_, err := roleAssignments(t).DeleteByID(ctx(t), *ra.ID, nil)
	must(t, err)
}

// secretProbe runs each language's probe under `mimic run --as vm` to read
// a secret, and checks what it gets.
func secretProbe(t *testing.T, vm, vault, name string, check func(t *testing.T, p probe, r result)) {
	t.Helper()
	for _, p := range probes(t) {
		r := runAs(t, vm, p, nil, nil, "secret", "--vault", "https://"+vault+".vault.azure.net", "--name", name)
		check(t, p, r)
	}
}

// wantValue expects the secret's value.
func wantValue(value string) func(t *testing.T, p probe, r result) {
	return func(t *testing.T, p probe, r result) {
		t.Helper()
		if !r.ok() || r.str("value") != value {
			t.Errorf("%s probe: %v, want the value %q", p.lang, r, value)
		}
	}
}

// wantError expects a Key Vault error: status, code and inner error code.
// The Go probe reports the inner code only inside the error text (the
// response body), the other two as innerErrorCode.
func wantError(status int, code, inner string) func(t *testing.T, p probe, r result) {
	return func(t *testing.T, p probe, r result) {
		t.Helper()
		got, _ := r["status"].(float64)
		if r.ok() || int(got) != status || r.str("errorCode") != code {
			t.Errorf("%s probe: %v, want %d %s", p.lang, r, status, code)
			return
		}
		if inner == "" {
			return
		}
		// The Go probe's error text holds the body, indented.
		body := strings.Join(strings.Fields(r.str("error")), "")
		if p.lang == "go" && !strings.Contains(body, `"innererror":{"code":"`+inner+`"}`) ||
			p.lang != "go" && r.str("innerErrorCode") != inner {
			t.Errorf("%s probe: %v, want the inner error %s", p.lang, r, inner)
		}
	}
}

func TestKeyVaultSecretsRBAC(t *testing.T) {
	rg := newGroup(t, "rg-kvd", nil)
	name, sibling := uniq(t, "kvd"), uniq(t, "kvs")
	vault, err := putVault(t, rg, name, &armkeyvault.VaultProperties{EnableRbacAuthorization: to.Ptr(true)})
	must(t, err)
	sib, err := putVault(t, rg, sibling, &armkeyvault.VaultProperties{EnableRbacAuthorization: to.Ptr(true)})
	must(t, err)

	// The operator is Owner of the subscription, which grants no data
	// access: it needs a data role to set secrets.
	op := operatorSecrets(t, name)
	_, err = op.SetSecret(ctx(t), "app-secret", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 403 || re.ErrorCode != "Forbidden" || !strings.Contains(err.Error(), "ForbiddenByRbac") {
		t.Fatalf("the operator (Owner) sets a secret without a data role: %v", err)
	}
	assign(t, *vault.ID, kvSecretsOfficerRole, env.Profile.Operator.ObjectID)
	assign(t, *sib.ID, kvSecretsOfficerRole, env.Profile.Operator.ObjectID)
	value := "value-" + newGUID()
	set := setSecret(t, op, "app-secret", value)
	if set.ID == nil || !strings.HasPrefix(string(*set.ID), "https://"+name+".vault.azure.net/secrets/app-secret/") || set.ID.Version() == "" {
		t.Fatalf("set answered id %v", set.ID)
	}
	setSecret(t, operatorSecrets(t, sibling), "app-secret", "sibling-"+value)

	id := newIdentity(t, rg, "kvd-id")
	vm := createVM(t, rg, uniq(t, "vmkv"), &armcompute.VirtualMachineIdentity{
		Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: uaiMap(*id.ID),
	})
	principal := *id.Properties.PrincipalID
	forbidden := wantError(403, "Forbidden", "ForbiddenByRbac")

	t.Run("no role", func(t *testing.T) { secretProbe(t, *vm.Name, name, "app-secret", forbidden) })
	t.Run("Owner of the subscription", func(t *testing.T) {
		ra := assign(t, "/subscriptions/"+sub(), ownerRole, principal)
		defer unassign(t, ra)
		secretProbe(t, *vm.Name, name, "app-secret", forbidden)
	})
	t.Run("role on a sibling vault", func(t *testing.T) {
		ra := assign(t, *sib.ID, kvSecretsUserRole, principal)
		defer unassign(t, ra)
		secretProbe(t, *vm.Name, name, "app-secret", forbidden)
	})
	t.Run("Secrets User on the vault", func(t *testing.T) {
		ra := assign(t, *vault.ID, kvSecretsUserRole, principal)
		defer unassign(t, ra)
		secretProbe(t, *vm.Name, name, "app-secret", wantValue(value))
		secretProbe(t, *vm.Name, name, "no-such-secret", wantError(404, "SecretNotFound", ""))
	})
	t.Run("Secrets User on the group", func(t *testing.T) {
		ra := assign(t, rgID(rg), kvSecretsUserRole, principal)
		defer unassign(t, ra)
		secretProbe(t, *vm.Name, name, "app-secret", wantValue(value))
		secretProbe(t, *vm.Name, sibling, "app-secret", wantValue("sibling-"+value))
	})

	// The access log shows an allowed and a denied read by the identity,
	// from the VM.
	entries := accessLog(t, *id.ID)
	var allowed, denied map[string]any
	for _, e := range entries {
		if e["plane"] != "keyvault" || e["action"] != "Microsoft.KeyVault/vaults/secrets/getSecret/action" ||
			!strings.EqualFold(e["scope"].(string), *vault.ID+"/secrets/app-secret") {
			continue
		}
		if e["allowed"] == true && allowed == nil {
			allowed = e
		}
		if e["allowed"] == false && denied == nil {
			denied = e
		}
	}
	if denied == nil || denied["status"] != float64(403) || denied["dataAction"] != true || denied["reason"] == "" ||
		!strings.EqualFold(denied["compute"].(string), *vm.ID) || denied["principalId"] != principal {
		t.Errorf("denied read in the access log: %v", denied)
	}
	if allowed == nil || allowed["status"] != float64(200) || allowed["role"] != "Key Vault Secrets User" || allowed["roleAssignment"] == nil ||
		!strings.EqualFold(allowed["compute"].(string), *vm.ID) {
		t.Errorf("allowed read in the access log: %v", allowed)
	}
}

// accessLog reads the access log entries of an identity through mimic's
// API, as the operator.
func accessLog(t *testing.T, identity string) []map[string]any {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), "GET", env.URL("/mimic/v1/logs/access?identity="+url.QueryEscape(identity)), nil)
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+operatorToken(t))
	resp, err := env.HTTP().Do(req)
	must(t, err)
	defer resp.Body.Close()
	var out struct{ Value []map[string]any }
	must(t, json.NewDecoder(resp.Body).Decode(&out))
	if resp.StatusCode != 200 {
		t.Fatalf("access log: %d", resp.StatusCode)
	}
	return out.Value
}

func TestKeyVaultSecretsAccessPolicies(t *testing.T) {
	rg := newGroup(t, "rg-kvp", nil)
	name := uniq(t, "kvp")
	op := env.Profile.Operator.ObjectID
	_, err := putVault(t, rg, name, &armkeyvault.VaultProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{
		secretPolicy(op, armkeyvault.SecretPermissionsSet, armkeyvault.SecretPermissionsGet, armkeyvault.SecretPermissionsList,
			armkeyvault.SecretPermissionsDelete, armkeyvault.SecretPermissionsRecover, armkeyvault.SecretPermissionsPurge),
	}})
	must(t, err)
	c := operatorSecrets(t, name)
	value := "policy-" + newGUID()
	setSecret(t, c, "app-secret", value)

	id := newIdentity(t, rg, "kvp-id")
	vm := createVM(t, rg, uniq(t, "vmkvp"), &armcompute.VirtualMachineIdentity{
		Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: uaiMap(*id.ID),
	})
	// A role assignment does not count in access-policy mode.
	ra := assign(t, rgID(rg), kvSecretsUserRole, *id.Properties.PrincipalID)
	t.Run("no policy", func(t *testing.T) {
		secretProbe(t, *vm.Name, name, "app-secret", wantError(403, "Forbidden", "AccessDenied"))
	})
	unassign(t, ra)
	_, err = vaults(t).UpdateAccessPolicy(ctx(t), rg, name, armkeyvault.AccessPolicyUpdateKindAdd, armkeyvault.VaultAccessPolicyParameters{
		Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{
			secretPolicy(*id.Properties.PrincipalID, armkeyvault.SecretPermissionsGet)}},
	}, nil)
	must(t, err)
	t.Run("get policy", func(t *testing.T) {
		secretProbe(t, *vm.Name, name, "app-secret", wantValue(value))
	})

	// Soft delete, with the operator's get/list/delete/recover/purge.
	if _, err := c.DeleteSecret(ctx(t), "app-secret", nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetSecret(ctx(t), "app-secret", "", nil)
	if code, status := respErrCode(err); status != 404 || code != "SecretNotFound" {
		t.Fatalf("get after delete: %v", err)
	}
	found := false
	for pager := c.NewListDeletedSecretPropertiesPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, d := range page.Value {
			if d.ID.Name() == "app-secret" && d.RecoveryID != nil && d.ScheduledPurgeDate != nil {
				found = true
			}
		}
	}
	if !found {
		t.Fatal("the deleted secret is not listed")
	}
	_, err = c.SetSecret(ctx(t), "app-secret", azsecrets.SetSecretParameters{Value: to.Ptr("again")}, nil)
	if code, status := respErrCode(err); status != 409 || code != "Conflict" {
		t.Fatalf("set of a deleted name: %v", err)
	}
	if _, err := c.RecoverDeletedSecret(ctx(t), "app-secret", nil); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetSecret(ctx(t), "app-secret", "", nil)
	must(t, err)
	if *got.Value != value {
		t.Fatalf("after recover: %q", *got.Value)
	}
	if _, err := c.DeleteSecret(ctx(t), "app-secret", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PurgeDeletedSecret(ctx(t), "app-secret", nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetDeletedSecret(ctx(t), "app-secret", nil)
	if _, status := respErrCode(err); status != 404 {
		t.Fatalf("deleted secret after purge: %v", err)
	}
	secretProbe(t, *vm.Name, name, "app-secret", wantError(404, "SecretNotFound", ""))
}

// respErrCode returns the Key Vault error code and status of err.
func respErrCode(err error) (string, int) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode, re.StatusCode
	}
	return "", 0
}

func TestKeyVaultSecretsOperations(t *testing.T) {
	rg := newGroup(t, "rg-kvo", nil)
	name := uniq(t, "kvo")
	vault, err := putVault(t, rg, name, &armkeyvault.VaultProperties{EnableRbacAuthorization: to.Ptr(true)})
	must(t, err)
	assign(t, *vault.ID, kvSecretsOfficerRole, env.Profile.Operator.ObjectID)
	c := operatorSecrets(t, name)
	first := setSecret(t, c, "Multi", "one")
	r, err := c.SetSecret(ctx(t), "multi", azsecrets.SetSecretParameters{Value: to.Ptr("two"), ContentType: to.Ptr("text/plain"),
		Tags: map[string]*string{"env": to.Ptr("dev")}}, nil)
	must(t, err)
	second := r.Secret
	if second.ID.Name() != "Multi" || second.ID.Version() == first.ID.Version() || *second.ContentType != "text/plain" {
		t.Fatalf("second version %+v", second)
	}
	old, err := c.GetSecret(ctx(t), "multi", first.ID.Version(), nil)
	must(t, err)
	if *old.Value != "one" || old.Attributes.Created == nil || *old.Attributes.RecoveryLevel != "Recoverable+Purgeable" {
		t.Fatalf("first version %+v", old)
	}
	versions := 0
	for pager := c.NewListSecretPropertiesVersionsPager("multi", &azsecrets.ListSecretPropertiesVersionsOptions{}); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		versions += len(page.Value)
	}
	if versions != 2 {
		t.Fatalf("%d versions", versions)
	}
	// Disable the latest: its value is refused, its metadata listed.
	_, err = c.UpdateSecretProperties(ctx(t), "multi", second.ID.Version(), azsecrets.UpdateSecretPropertiesParameters{
		SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false)}}, nil)
	must(t, err)
	_, err = c.GetSecret(ctx(t), "multi", "", nil)
	if code, status := respErrCode(err); status != 403 || code != "Forbidden" || !strings.Contains(err.Error(), "Operation get is not allowed on a disabled secret.") {
		t.Fatalf("get of a disabled secret: %v", err)
	}
	// Many secrets page through nextLink.
	for i := range 30 {
		setSecret(t, c, "s-"+strings.Repeat("x", i%3)+newGUID()[:8], "v")
	}
	listed := 0
	for pager := c.NewListSecretPropertiesPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		listed += len(page.Value)
	}
	if listed != 31 {
		t.Fatalf("listed %d secrets, want 31", listed)
	}
	// Backup and restore into the same vault after a purge.
	b, err := c.BackupSecret(ctx(t), "multi", nil)
	must(t, err)
	_, err = c.DeleteSecret(ctx(t), "multi", nil)
	must(t, err)
	_, err = c.PurgeDeletedSecret(ctx(t), "multi", nil)
	must(t, err)
	restored, err := c.RestoreSecret(ctx(t), azsecrets.RestoreSecretParameters{SecretBackup: b.Value}, nil)
	must(t, err)
	if restored.ID.Name() != "Multi" || restored.ID.Version() != second.ID.Version() {
		t.Fatalf("restored %v", restored.ID)
	}
	// A vault re-created with the same name starts empty.
	_, err = vaults(t).Delete(ctx(t), rg, name, nil)
	must(t, err)
	vault, err = putVault(t, rg, name, &armkeyvault.VaultProperties{EnableRbacAuthorization: to.Ptr(true)})
	must(t, err)
	assign(t, *vault.ID, kvSecretsOfficerRole, env.Profile.Operator.ObjectID)
	_, err = c.GetSecret(ctx(t), "multi", "", nil)
	if code, status := respErrCode(err); status != 404 || code != "SecretNotFound" {
		t.Fatalf("a re-created vault: %v", err)
	}
}
