// Package storage is the Microsoft.Storage management plane: storage
// accounts with managed identities, their account keys, and the listKeys
// and regenerateKey actions.
//
// Semantics, as in Azure:
//
//   - Account names are DNS labels under core.windows.net, so they are
//     unique across every subscription and group: a second account with the
//     same name anywhere is 409 StorageAccountAlreadyTaken. Names are 3-24
//     lower-case letters and digits (400 AccountNameInvalid).
//   - sku.name (Standard_LRS, Standard_GRS, Standard_RAGRS, Standard_ZRS,
//     Standard_GZRS, Standard_RAGZRS, Premium_LRS, Premium_ZRS and the V2
//     SKUs) and kind (StorageV2, Storage, BlobStorage, BlockBlobStorage,
//     FileStorage) are required; a bad value or a kind the SKU does not
//     allow is 400 InvalidValuesForRequestParameters. sku.tier follows the
//     name.
//   - Read-only properties are filled by the server: primaryEndpoints (the
//     endpoints the kind has), primaryLocation, statusOfPrimary
//     "available", provisioningState "Succeeded", creationTime and
//     keyCreationTime. supportsHttpsTrafficOnly defaults to true,
//     minimumTlsVersion to TLS1_2, allowBlobPublicAccess to false and
//     accessTier to Hot for StorageV2 and BlobStorage (Premium for premium
//     StorageV2). allowSharedKeyAccess is kept as sent (absent means
//     allowed).
//   - Two account keys, key1 and key2 (64 random bytes, base64), are drawn
//     at create and kept in the document, but no GET, list or PUT answer
//     shows them. POST {account}/listKeys
//     (Microsoft.Storage/storageAccounts/listkeys/action) returns them, as
//     Azure does even when shared key access is disabled; POST
//     {account}/regenerateKey {"keyName": "key1"|"key2"}
//     (Microsoft.Storage/storageAccounts/regeneratekey/action) replaces one
//     and returns both.
//
// A create answers 200 OK, as Microsoft.Storage does (the Go SDK treats 201
// as an error), and the identity type is spelled
// "SystemAssigned,UserAssigned", without a space.
//
// POST /subscriptions/{s}/providers/Microsoft.Storage/checkNameAvailability
// is not served: the ARM router answers only GET on provider-level
// collection paths.
//
// Keys and FindAccount serve the Blob data plane, which verifies SharedKey
// signatures.
package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/store"
)

// AccountType is the storage account type.
const AccountType = "Microsoft.Storage/storageAccounts"

// Permissions of the key actions.
const (
	PermListKeys      = "Microsoft.Storage/storageAccounts/listkeys/action"
	PermRegenerateKey = "Microsoft.Storage/storageAccounts/regeneratekey/action"
)

// private is the key of the document's server-only state: the account keys.

// APIVersions of Microsoft.Storage: armstorage sends 2024-01-01, az 2.45
// 2022-09-01.
var APIVersions = []string{
	"2015-05-01-preview", "2015-06-15", "2016-01-01", "2016-05-01", "2016-12-01", "2017-06-01", "2017-10-01",
	"2018-02-01", "2018-03-01-preview", "2018-07-01", "2018-11-01", "2019-04-01", "2019-06-01",
	"2020-08-01-preview", "2021-01-01", "2021-02-01", "2021-04-01", "2021-06-01", "2021-08-01", "2021-09-01",
	"2022-05-01", "2022-09-01", "2023-01-01", "2023-04-01", "2023-05-01", "2024-01-01", "2025-01-01",
	"2025-06-01",
}

// SKUs are the storage SKU names.
var SKUs = []string{
	"Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Standard_GZRS", "Standard_RAGZRS",
	"Premium_LRS", "Premium_ZRS", "StandardV2_LRS", "StandardV2_GRS", "StandardV2_ZRS", "StandardV2_GZRS",
	"PremiumV2_LRS", "PremiumV2_ZRS",
}

// Kinds are the storage account kinds.
var Kinds = []string{"StorageV2", "Storage", "BlobStorage", "BlockBlobStorage", "FileStorage"}

var accountName = regexp.MustCompile(`^[a-z0-9]{3,24}$`)

// Register adds the Microsoft.Storage types.
func Register(r *arm.Registry) {
	r.Register(&arm.Type{
		Name: AccountType, APIVersions: append([]string(nil), APIVersions...), Placement: arm.InGroup, Tracked: true,
		Identity: arm.SystemAndUserIdentity, Prepare: prepareAccount, CreatedStatus: http.StatusOK, CompactIdentityType: true,
		NameTaken: func(name string) error {
			e := armerr.Conflict("StorageAccountAlreadyTaken", "The storage account named %s is already taken.", name)
			e.Target = name
			return e
		},
		Actions: map[string]*arm.Action{
			"listkeys":      {Permission: PermListKeys, Handle: listKeys},
			"regeneratekey": {Permission: PermRegenerateKey, Handle: regenerateKey},
		},
	})
}

func invalidValues(params string) error {
	return armerr.BadRequest("InvalidValuesForRequestParameters",
		"Values for request parameters are invalid: %s. For more information, see - https://aka.ms/storageaccounttypes", params)
}

func canonical(list []string, v string) string {
	for _, s := range list {
		if strings.EqualFold(s, v) {
			return s
		}
	}
	return ""
}

func prepareAccount(c *arm.Call, old, doc arm.Doc) error {
	name := doc.Str("name")
	if old == nil {
		if !accountName.MatchString(name) {
			return armerr.BadRequest("AccountNameInvalid",
				"%s is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.", name)
		}
	}
	priv := doc.PrivateState()
	var op arm.Doc
	if old != nil {
		op = old.Obj("properties")
	}

	sku := doc.Obj("sku")
	if sku == nil && old != nil {
		sku = old.Obj("sku")
	}
	skuName := canonical(SKUs, sku.Str("name"))
	if skuName == "" {
		return invalidValues("sku")
	}
	tier := "Standard"
	if strings.HasPrefix(skuName, "Premium") {
		tier = "Premium"
	}
	doc["sku"] = arm.Doc{"name": skuName, "tier": tier}

	kindSent, _ := doc["kind"].(string)
	if kindSent == "" && old != nil {
		kindSent, _ = old["kind"].(string)
	}
	kind := canonical(Kinds, kindSent)
	if kind == "" {
		return invalidValues("kind")
	}
	switch kind {
	case "BlockBlobStorage", "FileStorage":
		if tier != "Premium" {
			return invalidValues("kind, sku")
		}
	case "BlobStorage":
		if tier != "Standard" || strings.Contains(skuName, "ZRS") || strings.Contains(skuName, "V2") {
			return invalidValues("kind, sku")
		}
	}
	if old != nil {
		prev, _ := old["kind"].(string)
		// Azure upgrades Storage and BlobStorage accounts to StorageV2 and
		// allows no other change of kind.
		if prev != kind && !(kind == "StorageV2" && (prev == "Storage" || prev == "BlobStorage")) {
			return invalidValues("kind")
		}
	}
	doc["kind"] = kind

	p := doc.Props()
	loc := doc.Str("location")
	now := arm.Now()
	created := op.Str("creationTime")
	if created == "" {
		created = now
	}
	p["creationTime"] = created
	p["primaryLocation"] = loc
	p["statusOfPrimary"] = "available"
	p["provisioningState"] = "Succeeded"
	p["primaryEndpoints"] = endpoints(name, kind)
	switch {
	case kind == "StorageV2" && tier == "Premium":
		p["accessTier"] = "Premium"
	case kind == "StorageV2" || kind == "BlobStorage":
		t := canonical([]string{"Hot", "Cool", "Cold"}, p.Str("accessTier"))
		if p.Str("accessTier") != "" && t == "" {
			return invalidValues("accessTier")
		}
		if t == "" {
			t = op.Str("accessTier")
		}
		if t == "" {
			t = "Hot"
		}
		p["accessTier"] = t
	default:
		delete(p, "accessTier")
	}
	if v := p.Str("minimumTlsVersion"); v != "" {
		t := canonical([]string{"TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3"}, v)
		if t == "" {
			return invalidValues("minimumTlsVersion")
		}
		p["minimumTlsVersion"] = t
	} else if prev := op.Str("minimumTlsVersion"); prev != "" {
		p["minimumTlsVersion"] = prev
	} else {
		p["minimumTlsVersion"] = "TLS1_2"
	}
	for _, k := range []string{"supportsHttpsTrafficOnly", "allowBlobPublicAccess", "allowSharedKeyAccess", "isHnsEnabled", "allowCrossTenantReplication", "defaultToOAuthAuthentication"} {
		if v, ok := p[k]; ok && v != nil {
			if _, isBool := v.(bool); !isBool {
				return armerr.InvalidRequestContent("'properties." + k + "' must be a boolean")
			}
		} else if pv, ok := op[k]; ok && pv != nil {
			p[k] = pv
		}
	}
	p.SetDefault(true, "supportsHttpsTrafficOnly")
	p.SetDefault(false, "allowBlobPublicAccess")
	if hns, _ := op.Bool("isHnsEnabled"); old != nil && hns != boolOr(p, "isHnsEnabled", hns) {
		return invalidValues("isHnsEnabled")
	}
	p.SetDefault(arm.Doc{
		"services": arm.Doc{
			"blob": arm.Doc{"enabled": true, "keyType": "Account", "lastEnabledTime": created},
			"file": arm.Doc{"enabled": true, "keyType": "Account", "lastEnabledTime": created},
		},
		"keySource": "Microsoft.Storage",
	}, "encryption")
	p.SetDefault(arm.Doc{"bypass": "AzureServices", "virtualNetworkRules": []any{}, "ipRules": []any{}, "defaultAction": "Allow"}, "networkAcls")
	p.SetDefault([]any{}, "privateEndpointConnections")

	// The keys: drawn at create, kept across updates.
	keys, _ := priv["keys"].([]any)
	if len(keys) != 2 {
		priv["keys"] = []any{newKey("key1", now), newKey("key2", now)}
	}
	p["keyCreationTime"] = keyCreationTimes(priv)
	return nil
}

func boolOr(d arm.Doc, key string, def bool) bool {
	if b, ok := d.Bool(key); ok {
		return b
	}
	return def
}

// endpoints are an account's primary endpoints for its kind.
func endpoints(name, kind string) arm.Doc {
	url := func(svc string) string { return "https://" + name + "." + svc + ".core.windows.net/" }
	all := arm.Doc{
		"blob": url("blob"), "queue": url("queue"), "table": url("table"), "file": url("file"),
		"dfs": url("dfs"), "web": "https://" + name + ".z13.web.core.windows.net/",
	}
	var keep []string
	switch kind {
	case "StorageV2":
		keep = []string{"blob", "queue", "table", "file", "dfs", "web"}
	case "Storage":
		keep = []string{"blob", "queue", "table", "file"}
	case "BlobStorage":
		keep = []string{"blob", "table", "dfs"}
	case "BlockBlobStorage":
		keep = []string{"blob", "dfs", "web"}
	case "FileStorage":
		keep = []string{"file"}
	}
	out := arm.Doc{}
	for _, k := range keep {
		out[k] = all[k]
	}
	return out
}

func newKey(name, created string) arm.Doc {
	b := make([]byte, 64)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return arm.Doc{"keyName": name, "value": base64.StdEncoding.EncodeToString(b), "permissions": "FULL", "creationTime": created}
}

func keyDocs(priv arm.Doc) []arm.Doc {
	arr, _ := priv["keys"].([]any)
	var out []arm.Doc
	for _, e := range arr {
		switch d := e.(type) {
		case arm.Doc:
			out = append(out, d)
		case map[string]any:
			out = append(out, arm.Doc(d))
		}
	}
	return out
}

func keyCreationTimes(priv arm.Doc) arm.Doc {
	out := arm.Doc{}
	for _, k := range keyDocs(priv) {
		out[k.Str("keyName")] = k.Str("creationTime")
	}
	return out
}

func keysBody(doc arm.Doc) arm.Doc {
	keys := []any{}
	for _, k := range keyDocs(doc.Obj(arm.Private)) {
		keys = append(keys, arm.Doc{"keyName": k.Str("keyName"), "value": k.Str("value"), "permissions": k.Str("permissions"), "creationTime": k.Str("creationTime")})
	}
	return arm.Doc{"keys": keys}
}

func listKeys(c *arm.Call, doc arm.Doc) error {
	return c.JSON(http.StatusOK, keysBody(doc))
}

func regenerateKey(c *arm.Call, doc arm.Doc) error {
	if len(bytes.TrimSpace(c.Body)) == 0 {
		return invalidValues("keyName")
	}
	body, err := arm.DecodeDoc(c.Body)
	if err != nil {
		return armerr.InvalidRequestContent(err.Error())
	}
	name := strings.ToLower(body.Str("keyName"))
	if name != "key1" && name != "key2" {
		return invalidValues("keyName")
	}
	priv := doc.PrivateState()
	keys := keyDocs(priv)
	now := arm.Now()
	replaced := false
	next := []any{}
	for _, k := range keys {
		if k.Str("keyName") == name {
			k = newKey(name, now)
			replaced = true
		}
		next = append(next, k)
	}
	if !replaced {
		next = append(next, newKey(name, now))
	}
	slices.SortFunc(next, func(a, b any) int { return strings.Compare(a.(arm.Doc).Str("keyName"), b.(arm.Doc).Str("keyName")) })
	priv["keys"] = next
	doc.Props()["keyCreationTime"] = keyCreationTimes(priv)
	if err := c.Save(c.S.Registry.Lookup(AccountType), doc); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, keysBody(doc))
}

// ---- helpers for the data plane ----

// Keys returns the account keys of a stored account document by name
// ("key1", "key2"), base64-encoded as Azure shows them.
func Keys(doc arm.Doc) map[string]string {
	out := map[string]string{}
	for _, k := range keyDocs(doc.Obj(arm.Private)) {
		out[k.Str("keyName")] = k.Str("value")
	}
	return out
}

// SharedKeyAllowed reports whether an account accepts SharedKey
// authorization (allowSharedKeyAccess absent or true).
func SharedKeyAllowed(doc arm.Doc) bool {
	if b, ok := doc.Bool("properties", "allowSharedKeyAccess"); ok {
		return b
	}
	return true
}

// FindAccount returns the account with a name, in any subscription and
// group (account names are global), or store.ErrNotFound.
func FindAccount(ctx context.Context, tx store.Tx, name string) (arm.Doc, error) {
	docs, err := arm.FindByName(ctx, tx, AccountType, name)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, store.ErrNotFound
	}
	return docs[0], nil
}
