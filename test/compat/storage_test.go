package compat

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
)

func accounts(t *testing.T) *armstorage.AccountsClient {
	c, err := armstorage.NewAccountsClient(sub(), env.Operator(t), env.ARMOptions())
	must(t, err)
	return c
}

// storageName is a unique account name: lower-case letters and digits.
func storageName(t *testing.T) string { return strings.ReplaceAll(uniq(t, "st"), "-", "") }

func createAccount(t *testing.T, rg, name string, params armstorage.AccountCreateParameters) (armstorage.Account, error) {
	t.Helper()
	if params.Location == nil {
		params.Location = to.Ptr("westeurope")
	}
	p, err := accounts(t).BeginCreate(ctx(t), rg, name, params, nil)
	if err != nil {
		return armstorage.Account{}, err
	}
	r, err := p.PollUntilDone(ctx(t), nil)
	return r.Account, err
}

func keyMap(t *testing.T, keys []*armstorage.AccountKey) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, k := range keys {
		raw, err := base64.StdEncoding.DecodeString(*k.Value)
		if err != nil || len(raw) != 64 {
			t.Fatalf("key %s is not 64 bytes of base64: %q", *k.KeyName, *k.Value)
		}
		if *k.Permissions != "FULL" || k.CreationTime == nil {
			t.Fatalf("key %s: permissions %s, created %v", *k.KeyName, *k.Permissions, k.CreationTime)
		}
		out[*k.KeyName] = *k.Value
	}
	return out
}

func TestStorageAccountLifecycle(t *testing.T) {
	rg := newGroup(t, "rg-st", nil)
	uai := newIdentity(t, rg, "id-st")
	name := storageName(t)
	acct, err := createAccount(t, rg, name, armstorage.AccountCreateParameters{
		Kind: to.Ptr(armstorage.KindStorageV2),
		SKU:  &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
		Identity: &armstorage.Identity{
			Type:                   to.Ptr(armstorage.IdentityTypeSystemAssignedUserAssigned),
			UserAssignedIdentities: map[string]*armstorage.UserAssignedIdentity{*uai.ID: {}},
		},
		Properties: &armstorage.AccountPropertiesCreateParameters{AllowSharedKeyAccess: to.Ptr(false)},
	})
	must(t, err)
	p := acct.Properties
	if *p.PrimaryEndpoints.Blob != "https://"+name+".blob.core.windows.net/" || *p.PrimaryEndpoints.Dfs != "https://"+name+".dfs.core.windows.net/" ||
		*p.PrimaryEndpoints.Queue != "https://"+name+".queue.core.windows.net/" || p.PrimaryEndpoints.Web == nil {
		t.Fatalf("endpoints %+v", p.PrimaryEndpoints)
	}
	if *p.PrimaryLocation != "westeurope" || *p.StatusOfPrimary != armstorage.AccountStatusAvailable || *p.ProvisioningState != armstorage.ProvisioningStateSucceeded ||
		p.CreationTime == nil || *p.AllowSharedKeyAccess || !*p.EnableHTTPSTrafficOnly || *p.AccessTier != armstorage.AccessTierHot ||
		*p.MinimumTLSVersion != armstorage.MinimumTLSVersionTLS12 {
		t.Fatalf("properties %+v", p)
	}
	if *acct.SKU.Tier != armstorage.SKUTierStandard || *acct.Kind != armstorage.KindStorageV2 {
		t.Fatalf("sku %+v kind %s", acct.SKU, *acct.Kind)
	}
	id := acct.Identity
	if id == nil || *id.Type != armstorage.IdentityTypeSystemAssignedUserAssigned || id.PrincipalID == nil || *id.TenantID != env.Profile.TenantID ||
		*id.UserAssignedIdentities[*uai.ID].ClientID != *uai.Properties.ClientID {
		t.Fatalf("identity %+v", id)
	}

	keys, err := accounts(t).ListKeys(ctx(t), rg, name, nil)
	must(t, err)
	before := keyMap(t, keys.Keys)
	if len(before) != 2 || before["key1"] == "" || before["key2"] == "" || before["key1"] == before["key2"] {
		t.Fatalf("keys %v", before)
	}
	// No read shows the keys.
	got, err := accounts(t).GetProperties(ctx(t), rg, name, nil)
	must(t, err)
	if got.Properties.KeyCreationTime == nil || got.Properties.KeyCreationTime.Key1 == nil {
		t.Fatalf("keyCreationTime %+v", got.Properties.KeyCreationTime)
	}
	code, raw := rawARM(t, http.MethodGet, *acct.ID+"?api-version=2024-01-01", "")
	_, listRaw := rawARM(t, http.MethodGet, rgID(rg)+"/providers/Microsoft.Storage/storageAccounts?api-version=2022-09-01", "")
	for _, body := range []string{raw, listRaw} {
		if strings.Contains(body, before["key1"]) || strings.Contains(body, before["key2"]) || strings.Contains(body, "_mimic") {
			t.Fatalf("a read shows the keys: %d %s", code, body)
		}
	}
	if !strings.Contains(listRaw, name) {
		t.Fatalf("list by group lacks the account: %s", listRaw)
	}

	regen, err := accounts(t).RegenerateKey(ctx(t), rg, name, armstorage.AccountRegenerateKeyParameters{KeyName: to.Ptr("key1")}, nil)
	must(t, err)
	after := keyMap(t, regen.Keys)
	if after["key1"] == before["key1"] || after["key2"] != before["key2"] {
		t.Fatalf("regenerate key1: before %v, after %v", before, after)
	}
	keys, err = accounts(t).ListKeys(ctx(t), rg, name, nil)
	must(t, err)
	if listed := keyMap(t, keys.Keys); listed["key1"] != after["key1"] || listed["key2"] != before["key2"] {
		t.Fatalf("listKeys after regenerate %v", listed)
	}
	_, err = accounts(t).RegenerateKey(ctx(t), rg, name, armstorage.AccountRegenerateKeyParameters{KeyName: to.Ptr("key3")}, nil)
	if code, ec := respErr(t, err); code != http.StatusBadRequest || ec != "InvalidValuesForRequestParameters" {
		t.Fatalf("regenerate key3: %d %s", code, ec)
	}

	// PATCH keeps the keys and what it does not name.
	upd, err := accounts(t).Update(ctx(t), rg, name, armstorage.AccountUpdateParameters{
		Properties: &armstorage.AccountPropertiesUpdateParameters{AccessTier: to.Ptr(armstorage.AccessTierCool)},
		Tags:       map[string]*string{"env": to.Ptr("dev")},
	}, nil)
	must(t, err)
	if *upd.Properties.AccessTier != armstorage.AccessTierCool || *upd.Properties.AllowSharedKeyAccess || *upd.Tags["env"] != "dev" || upd.Identity.PrincipalID == nil {
		t.Fatalf("patched account %+v", upd.Account)
	}
	keys, err = accounts(t).ListKeys(ctx(t), rg, name, nil)
	must(t, err)
	if listed := keyMap(t, keys.Keys); listed["key1"] != after["key1"] {
		t.Fatal("an update changed the keys")
	}

	_, err = accounts(t).Delete(ctx(t), rg, name, nil)
	must(t, err)
	_, err = accounts(t).GetProperties(ctx(t), rg, name, nil)
	if code, ec := respErr(t, err); code != http.StatusNotFound || ec != "ResourceNotFound" {
		t.Fatalf("get after delete: %d %s", code, ec)
	}
	if _, err := armmsiSystem(t, *acct.ID); err == nil {
		t.Fatal("the system identity outlived the account")
	}
}

func TestStorageAccountKinds(t *testing.T) {
	rg := newGroup(t, "rg-stkind", nil)
	name := storageName(t)
	acct, err := createAccount(t, rg, name, armstorage.AccountCreateParameters{
		Kind: to.Ptr(armstorage.KindBlockBlobStorage),
		SKU:  &armstorage.SKU{Name: to.Ptr(armstorage.SKUNamePremiumLRS)},
	})
	must(t, err)
	if *acct.SKU.Tier != armstorage.SKUTierPremium || acct.Properties.PrimaryEndpoints.Queue != nil || acct.Properties.PrimaryEndpoints.Blob == nil || acct.Properties.AccessTier != nil {
		t.Fatalf("block blob account %+v %+v", acct.SKU, acct.Properties)
	}
	if acct.Properties.AllowSharedKeyAccess != nil {
		t.Fatalf("allowSharedKeyAccess not sent but set to %v", *acct.Properties.AllowSharedKeyAccess)
	}
}

func TestStorageAccountErrors(t *testing.T) {
	rg := newGroup(t, "rg-sterr", nil)
	other := newGroup(t, "rg-sterr2", nil)
	good := armstorage.AccountCreateParameters{Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)}}
	name := storageName(t)
	_, err := createAccount(t, rg, name, good)
	must(t, err)
	_, err = createAccount(t, other, name, good)
	if code, ec := respErr(t, err); code != http.StatusConflict || ec != "StorageAccountAlreadyTaken" {
		t.Errorf("duplicate name: %d %s", code, ec)
	}
	for _, bad := range []string{"ab", "Upper1234", "with-hyphen", strings.Repeat("a", 25)} {
		_, err := createAccount(t, rg, bad, good)
		if code, ec := respErr(t, err); code != http.StatusBadRequest || ec != "AccountNameInvalid" {
			t.Errorf("name %q: %d %s", bad, code, ec)
		}
	}
	cases := []struct {
		what string
		p    armstorage.AccountCreateParameters
	}{
		{"bad sku", armstorage.AccountCreateParameters{Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUName("Standard_XYZ"))}}},
		{"no sku", armstorage.AccountCreateParameters{Kind: to.Ptr(armstorage.KindStorageV2)}},
		{"bad kind", armstorage.AccountCreateParameters{Kind: to.Ptr(armstorage.Kind("Tape")), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)}}},
		{"no kind", armstorage.AccountCreateParameters{SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)}}},
		{"file storage needs premium", armstorage.AccountCreateParameters{Kind: to.Ptr(armstorage.KindFileStorage), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)}}},
	}
	for _, tc := range cases {
		_, err := createAccount(t, rg, storageName(t), tc.p)
		code, ec := respErr(t, err)
		if code != http.StatusBadRequest || ec != "InvalidValuesForRequestParameters" {
			t.Errorf("%s: %d %s", tc.what, code, ec)
		}
	}
	_, err = createAccount(t, uniq(t, "rg-missing"), storageName(t), good)
	if code, ec := respErr(t, err); code != http.StatusNotFound || ec != "ResourceGroupNotFound" {
		t.Errorf("missing group: %d %s", code, ec)
	}
	// The key actions need a resource that exists.
	_, err = accounts(t).ListKeys(ctx(t), rg, storageName(t), nil)
	if code, ec := respErr(t, err); code != http.StatusNotFound || ec != "ResourceNotFound" {
		t.Errorf("listKeys of a missing account: %d %s", code, ec)
	}
	// A body that tries to plant keys is ignored.
	planted := storageName(t)
	code, body := rawARM(t, http.MethodPut, rgID(rg)+"/providers/Microsoft.Storage/storageAccounts/"+planted+"?api-version=2024-01-01",
		`{"location":"westeurope","kind":"StorageV2","sku":{"name":"Standard_LRS"},"_mimic":{"keys":[{"keyName":"key1","value":"planted"}]}}`)
	if code != http.StatusOK || strings.Contains(body, "planted") {
		t.Fatalf("planted keys: %d %s", code, body)
	}
	keys, err := accounts(t).ListKeys(ctx(t), rg, planted, nil)
	must(t, err)
	if regexp.MustCompile(`planted`).MatchString(*keys.Keys[0].Value) {
		t.Fatal("a client planted an account key")
	}
}

func TestStorageReaderCannotListKeys(t *testing.T) {
	rg := newGroup(t, "rg-strbac", nil)
	name := storageName(t)
	acct, err := createAccount(t, rg, name, armstorage.AccountCreateParameters{Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)}})
	must(t, err)
	asReader, err := armstorage.NewAccountsClient(sub(), StaticToken(readerToken(t, rg)), env.ARMOptions())
	must(t, err)
	if _, err := asReader.GetProperties(ctx(t), rg, name, nil); err != nil {
		t.Fatalf("Reader reading the account: %v", err)
	}
	_, err = asReader.ListKeys(ctx(t), rg, name, nil)
	if code, ec := respErr(t, err); code != http.StatusForbidden || ec != "AuthorizationFailed" ||
		!strings.Contains(err.Error(), "'Microsoft.Storage/storageAccounts/listkeys/action' over scope '"+*acct.ID+"'") {
		t.Fatalf("Reader listing keys: %d %s %v", code, ec, err)
	}
	_, err = asReader.RegenerateKey(ctx(t), rg, name, armstorage.AccountRegenerateKeyParameters{KeyName: to.Ptr("key1")}, nil)
	if code, ec := respErr(t, err); code != http.StatusForbidden || ec != "AuthorizationFailed" || !strings.Contains(err.Error(), "regeneratekey/action") {
		t.Fatalf("Reader regenerating a key: %d %s", code, ec)
	}
}
