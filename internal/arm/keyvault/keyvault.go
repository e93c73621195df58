// Package keyvault is the Microsoft.KeyVault management plane: vaults,
// their access policies, and the (always empty) soft-deleted vault
// listings.
//
// Semantics, as in Azure:
//
//   - Vault names are DNS labels under vault.azure.net, so they are unique
//     across every subscription and group: a second vault with the same
//     name anywhere is 409 VaultAlreadyExists. Names are 3-24 letters,
//     digits and hyphens, start with a letter, end with a letter or digit,
//     and have no consecutive hyphens (400 VaultNameNotValid).
//   - properties.tenantId and properties.sku are required on create;
//     tenantId must be mimic's tenant. sku.family is "A", sku.name
//     "standard" or "premium".
//   - vaultUri is https://{name}.vault.azure.net/ (lower case), where
//     mimic's proxy serves the data plane.
//   - enableRbacAuthorization is kept as sent and defaults to false, as for
//     every api-version mimic accepts (Azure flips the default only in
//     api-versions newer than these). enableSoftDelete defaults to true
//     and softDeleteRetentionInDays to 90 (7-90); neither soft delete nor
//     purge protection can be turned off once on.
//   - accessPolicies entries are {tenantId, objectId, applicationId?,
//     permissions {keys, secrets, certificates, storage}} with Azure's
//     permission names (compared case-insensitively, stored in Azure's
//     casing); at most 1024 entries.
//   - PUT {vault}/accessPolicies/{add|replace|remove} with
//     {"properties":{"accessPolicies":[…]}} needs
//     Microsoft.KeyVault/vaults/accessPolicies/write. "add" merges the
//     permissions into the entry with the same tenant, object and
//     application (or appends it), "replace" replaces the whole list, and
//     "remove" takes the listed permissions away from the matching entry,
//     dropping the entry when nothing is left (or when the request lists no
//     permissions for it). The answer carries the resulting list.
//
// mimic does not keep deleted vaults: a delete is final and frees the name,
// so the deletedVaults listings are always empty.
//
// ReadAccess and FindVault serve the Key Vault data plane.
package keyvault

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/store"
)

// Type names.
const (
	VaultType        = "Microsoft.KeyVault/vaults"
	AccessPolicyType = "Microsoft.KeyVault/vaults/accessPolicies"
	deletedType      = "Microsoft.KeyVault/deletedVaults"
	deletedLocType   = "Microsoft.KeyVault/locations/deletedVaults"
)

// DNSSuffix is the suffix of vault host names.
const DNSSuffix = ".vault.azure.net"

// MaxAccessPolicies is Azure's limit of access policy entries per vault.
const MaxAccessPolicies = 1024

// APIVersions of Microsoft.KeyVault: armkeyvault sends 2024-11-01 (and
// 2015-11-01 for the generic resource listing), az 2.45 2022-07-01.
var APIVersions = []string{
	"2015-06-01", "2016-10-01", "2018-02-14", "2018-02-14-preview", "2019-09-01", "2020-04-01-preview",
	"2021-04-01-preview", "2021-06-01-preview", "2021-10-01", "2021-11-01-preview", "2022-02-01-preview",
	"2022-07-01", "2022-11-01", "2023-02-01", "2023-07-01", "2024-04-01-preview", "2024-11-01",
	"2024-12-01-preview",
}

// Permissions by category, in Azure's casing.
var Permissions = map[string][]string{
	"keys": {"all", "encrypt", "decrypt", "wrapKey", "unwrapKey", "sign", "verify", "get", "list", "create",
		"update", "import", "delete", "backup", "restore", "recover", "purge", "release", "rotate",
		"getrotationpolicy", "setrotationpolicy"},
	"secrets": {"all", "get", "list", "set", "delete", "backup", "restore", "recover", "purge"},
	"certificates": {"all", "get", "list", "delete", "create", "import", "update", "managecontacts", "getissuers",
		"listissuers", "setissuers", "deleteissuers", "manageissuers", "recover", "purge", "backup", "restore"},
	"storage": {"all", "get", "list", "delete", "set", "update", "regeneratekey", "recover", "purge", "backup",
		"restore", "setsas", "listsas", "getsas", "deletesas"},
}

var categories = []string{"keys", "secrets", "certificates", "storage"}

var vaultName = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`)

func versions() []string { return append([]string(nil), APIVersions...) }

// Register adds the Microsoft.KeyVault types.
func Register(r *arm.Registry) {
	r.Register(
		&arm.Type{Name: VaultType, APIVersions: versions(), Placement: arm.InGroup, Tracked: true, Prepare: prepareVault,
			NameTaken: func(name string) error {
				return armerr.Conflict("VaultAlreadyExists",
					"The vault name '%s' is already in use. Vault names are globally unique so it is possible that the name is already taken. If you are sure that the vault name was not taken then it is possible that a vault with the same name was recently deleted but not purged after being placed in a recoverable state. If the vault is in a recoverable state then the vault will need to be purged before reusing the name. For more information about VaultAlreadyExists, soft delete and purging a vault follow this link https://go.microsoft.com/fwlink/?linkid=2147740.", name)
			}},
		&arm.Type{
			Name: AccessPolicyType, APIVersions: versions(), Placement: arm.ChildOf, Parent: VaultType,
			Serve: serveAccessPolicy,
			List:  func(c *arm.Call) error { return armerr.MethodNotAllowed(c.R.Method, AccessPolicyType) },
		},
		&arm.Type{Name: deletedType, APIVersions: versions(), Placement: arm.Custom, List: listDeleted},
		&arm.Type{Name: deletedLocType, APIVersions: versions(), Placement: arm.Custom, Serve: getDeleted, List: listDeleted},
	)
}

func badRequest(format string, args ...any) error {
	return armerr.BadRequest("BadRequest", format, args...)
}

func prepareVault(c *arm.Call, old, doc arm.Doc) error {
	name := doc.Str("name")
	if old == nil {
		if !vaultName.MatchString(name) || strings.Contains(name, "--") {
			return armerr.BadRequest("VaultNameNotValid",
				"The vault name '%s' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens. Follow this link for more information: https://go.microsoft.com/fwlink/?linkid=2147742", name)
		}
	}
	p := doc.Props()
	var op arm.Doc
	if old != nil {
		op = old.Obj("properties")
	}

	tid := p.Str("tenantId")
	if tid == "" && op != nil {
		tid = op.Str("tenantId")
	}
	if tid == "" {
		return badRequest("The property 'tenantId' is required: the id of the Microsoft Entra tenant that authenticates requests to the vault.")
	}
	if !strings.EqualFold(tid, c.Tenant()) {
		return badRequest("The tenant '%s' is not the tenant '%s' of the vault's subscription. A vault must belong to its subscription's tenant.", tid, c.Tenant())
	}
	p["tenantId"] = c.Tenant()

	sku := p.Obj("sku")
	if sku == nil && op != nil {
		sku = op.Obj("sku")
	}
	if sku == nil {
		return badRequest("The property 'sku' is required: {\"family\": \"A\", \"name\": \"standard\" or \"premium\"}.")
	}
	family := sku.Str("family")
	if family == "" {
		family = "A"
	}
	if !strings.EqualFold(family, "A") {
		return badRequest("The SKU family '%s' is invalid; the only family is 'A'.", family)
	}
	skuName := strings.ToLower(sku.Str("name"))
	if skuName != "standard" && skuName != "premium" {
		return badRequest("The SKU name '%s' is invalid; use 'standard' or 'premium'.", sku.Str("name"))
	}
	p["sku"] = arm.Doc{"family": "A", "name": skuName}

	if raw, ok := p["accessPolicies"]; ok && raw != nil {
		pols, err := parsePolicies(raw)
		if err != nil {
			return err
		}
		p["accessPolicies"] = policyDocs(pols)
	} else if op != nil && op["accessPolicies"] != nil {
		p["accessPolicies"] = op["accessPolicies"]
	} else {
		p["accessPolicies"] = []any{}
	}

	for _, k := range []string{"enableRbacAuthorization", "enabledForDeployment", "enabledForDiskEncryption", "enabledForTemplateDeployment"} {
		if v, ok := p[k]; ok && v != nil {
			if _, isBool := v.(bool); !isBool {
				return armerr.InvalidRequestContent("'properties." + k + "' must be a boolean")
			}
		}
		p.SetDefault(false, k)
		if p[k] == nil {
			p[k] = false
		}
	}
	prevSoft, hadSoft := op.Bool("enableSoftDelete")
	if soft, set := p.Bool("enableSoftDelete"); set && !soft && hadSoft && prevSoft {
		return badRequest("The property \"enableSoftDelete\" cannot be set to false. Enabling the soft delete for a vault is an irreversible action.")
	}
	if _, set := p.Bool("enableSoftDelete"); !set {
		p["enableSoftDelete"] = true
		if hadSoft {
			p["enableSoftDelete"] = prevSoft
		}
	}
	prevPurge, _ := op.Bool("enablePurgeProtection")
	purge, set := p.Bool("enablePurgeProtection")
	switch {
	case set && !purge && prevPurge:
		return badRequest("The property \"enablePurgeProtection\" cannot be set to false. Enabling the purge protection for a vault is an irreversible action.")
	case !set && prevPurge:
		p["enablePurgeProtection"] = true
	case set && purge:
		if soft, _ := p.Bool("enableSoftDelete"); !soft {
			return badRequest("Purge protection can only be enabled on a vault with soft delete enabled.")
		}
	case set && !purge:
		// Azure shows the property only once it is on.
		delete(p, "enablePurgeProtection")
	}
	days := int64(90)
	if v, ok := p["softDeleteRetentionInDays"]; ok && v != nil {
		n, isNum := v.(interface{ Int64() (int64, error) })
		var err error
		if isNum {
			days, err = n.Int64()
		}
		if !isNum || err != nil || days < 7 || days > 90 {
			return badRequest("The property 'softDeleteRetentionInDays' must be an integer from 7 to 90.")
		}
	} else if op != nil && op["softDeleteRetentionInDays"] != nil {
		p["softDeleteRetentionInDays"] = op["softDeleteRetentionInDays"]
	}
	if p["softDeleteRetentionInDays"] == nil {
		p["softDeleteRetentionInDays"] = days
	}
	switch strings.ToLower(p.Str("publicNetworkAccess")) {
	case "", "enabled":
		p["publicNetworkAccess"] = "Enabled"
	case "disabled":
		p["publicNetworkAccess"] = "Disabled"
	default:
		return badRequest("The property 'publicNetworkAccess' must be 'Enabled' or 'Disabled'.")
	}
	delete(p, "createMode")
	delete(p, "hsmPoolResourceId")
	p["vaultUri"] = VaultURI(name)
	p["provisioningState"] = "Succeeded"
	return nil
}

// VaultURI is the data-plane URL of a vault.
func VaultURI(name string) string { return "https://" + strings.ToLower(name) + DNSSuffix + "/" }

// ---- access policies ----

// AccessPolicy is one access policy entry of a vault.
type AccessPolicy struct {
	TenantID      string
	ObjectID      string
	ApplicationID string
	// Permissions by category ("keys", "secrets", "certificates",
	// "storage"), in Azure's casing.
	Permissions map[string][]string
}

// Allows reports whether the entry grants an operation ("get", "list"…)
// of a category, directly or through "all".
func (a AccessPolicy) Allows(category, op string) bool {
	for _, p := range a.Permissions[category] {
		if strings.EqualFold(p, op) || strings.EqualFold(p, "all") {
			return true
		}
	}
	return false
}

func (a AccessPolicy) sameIdentity(b AccessPolicy) bool {
	return strings.EqualFold(a.TenantID, b.TenantID) && strings.EqualFold(a.ObjectID, b.ObjectID) &&
		strings.EqualFold(a.ApplicationID, b.ApplicationID)
}

func (a AccessPolicy) empty() bool {
	for _, c := range categories {
		if len(a.Permissions[c]) > 0 {
			return false
		}
	}
	return true
}

func isGUID(s string) bool { _, err := uuid.Parse(s); return err == nil && len(s) == 36 }

// parsePolicies validates an accessPolicies array.
func parsePolicies(raw any) ([]AccessPolicy, error) {
	arr, ok := raw.([]any)
	if !ok {
		return nil, badRequest("An invalid value was provided for 'accessPolicies': it must be an array.")
	}
	if len(arr) > MaxAccessPolicies {
		return nil, badRequest("The number of access policies (%d) exceeds the maximum of %d per vault.", len(arr), MaxAccessPolicies)
	}
	out := make([]AccessPolicy, 0, len(arr))
	for i, e := range arr {
		d, ok := asDoc(e)
		if !ok {
			return nil, badRequest("An invalid value was provided for 'accessPolicies[%d]': it must be an object.", i)
		}
		ap := AccessPolicy{TenantID: d.Str("tenantId"), ObjectID: d.Str("objectId"), ApplicationID: d.Str("applicationId"), Permissions: map[string][]string{}}
		if !isGUID(ap.TenantID) {
			return nil, badRequest("An invalid value was provided for 'accessPolicies[%d].tenantId': '%s' is not a GUID.", i, ap.TenantID)
		}
		if !isGUID(ap.ObjectID) {
			return nil, badRequest("An invalid value was provided for 'accessPolicies[%d].objectId': '%s' is not a GUID.", i, ap.ObjectID)
		}
		if ap.ApplicationID != "" && !isGUID(ap.ApplicationID) {
			return nil, badRequest("An invalid value was provided for 'accessPolicies[%d].applicationId': '%s' is not a GUID.", i, ap.ApplicationID)
		}
		perms, ok := asDoc(d["permissions"])
		if !ok {
			return nil, badRequest("An invalid value was provided for 'accessPolicies[%d].permissions': it is required.", i)
		}
		for k := range perms {
			if _, known := Permissions[k]; !known {
				return nil, badRequest("An invalid value was provided for 'accessPolicies[%d].permissions': unknown category '%s'.", i, k)
			}
		}
		for _, cat := range categories {
			v, present := perms[cat]
			if !present || v == nil {
				continue
			}
			list, ok := arm.Doc(perms).StrSlice(cat)
			if !ok {
				return nil, badRequest("An invalid value was provided for 'accessPolicies[%d].permissions.%s': it must be an array of strings.", i, cat)
			}
			norm := []string{}
			for _, p := range list {
				canon := ""
				for _, allowed := range Permissions[cat] {
					if strings.EqualFold(allowed, p) {
						canon = allowed
					}
				}
				if canon == "" {
					return nil, badRequest("An invalid value was provided for 'accessPolicies[%d].permissions.%s': '%s' is not a %s permission.", i, cat, p, cat)
				}
				if !containsFold(norm, canon) {
					norm = append(norm, canon)
				}
			}
			ap.Permissions[cat] = norm
		}
		out = append(out, ap)
	}
	return out, nil
}

func policyDocs(pols []AccessPolicy) []any {
	out := make([]any, 0, len(pols))
	for _, ap := range pols {
		perms := arm.Doc{}
		for _, cat := range categories {
			if list, ok := ap.Permissions[cat]; ok {
				perms[cat] = append([]string{}, list...)
			}
		}
		d := arm.Doc{"tenantId": ap.TenantID, "objectId": ap.ObjectID, "permissions": perms}
		if ap.ApplicationID != "" {
			d["applicationId"] = ap.ApplicationID
		}
		out = append(out, d)
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func asDoc(v any) (arm.Doc, bool) {
	switch m := v.(type) {
	case arm.Doc:
		return m, true
	case map[string]any:
		return arm.Doc(m), true
	}
	return nil, false
}

// serveAccessPolicy serves PUT {vault}/accessPolicies/{add|replace|remove}.
func serveAccessPolicy(c *arm.Call) error {
	if c.R.Method != http.MethodPut {
		return armerr.MethodNotAllowed(c.R.Method, AccessPolicyType)
	}
	kind := strings.ToLower(c.ID.Name())
	if kind != "add" && kind != "replace" && kind != "remove" {
		return badRequest("The access policy update kind '%s' is invalid; use 'add', 'replace' or 'remove'.", c.ID.Name())
	}
	if err := c.Authorize(c.Type.Permission("write"), c.ID); err != nil {
		return err
	}
	if len(bytes.TrimSpace(c.Body)) == 0 {
		return badRequest("The property 'properties.accessPolicies' is required.")
	}
	body, err := arm.DecodeDoc(c.Body)
	if err != nil {
		return armerr.InvalidRequestContent(err.Error())
	}
	raw, ok := body.Obj("properties")["accessPolicies"]
	if !ok || raw == nil {
		return badRequest("The property 'properties.accessPolicies' is required.")
	}
	sent, err := parsePolicies(raw)
	if err != nil {
		return err
	}
	var out arm.Doc
	err = c.Update(func() error {
		vaultID := c.ID.Parent()
		if err := c.EnsureScope(vaultID); err != nil {
			return err
		}
		vault, err := c.Load(vaultID)
		if err != nil {
			return err
		}
		cur := ReadAccess(vault).Policies
		var next []AccessPolicy
		switch kind {
		case "replace":
			next = sent
		case "add":
			next = cur
			for _, s := range sent {
				merged := false
				for i := range next {
					if next[i].sameIdentity(s) {
						for _, cat := range categories {
							for _, p := range s.Permissions[cat] {
								if !containsFold(next[i].Permissions[cat], p) {
									next[i].Permissions[cat] = append(next[i].Permissions[cat], p)
								}
							}
						}
						merged = true
						break
					}
				}
				if !merged {
					next = append(next, s)
				}
			}
		case "remove":
			for _, e := range cur {
				for _, s := range sent {
					if !e.sameIdentity(s) {
						continue
					}
					if s.empty() {
						e.Permissions = map[string][]string{}
						continue
					}
					for _, cat := range categories {
						var keep []string
						for _, p := range e.Permissions[cat] {
							if !containsFold(s.Permissions[cat], p) {
								keep = append(keep, p)
							}
						}
						if _, had := e.Permissions[cat]; had {
							e.Permissions[cat] = append([]string{}, keep...)
						}
					}
				}
				if !e.empty() {
					next = append(next, e)
				}
			}
		}
		if len(next) > MaxAccessPolicies {
			return badRequest("The number of access policies (%d) exceeds the maximum of %d per vault.", len(next), MaxAccessPolicies)
		}
		docs := policyDocs(next)
		vault.Props()["accessPolicies"] = docs
		if err := c.Save(c.S.Registry.Lookup(VaultType), vault); err != nil {
			return err
		}
		out = arm.Doc{
			"id":         vault.Str("id") + "/accessPolicies/" + kind,
			"name":       kind,
			"type":       AccessPolicyType,
			"location":   vault["location"],
			"properties": arm.Doc{"accessPolicies": docs},
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// ---- deleted vaults: mimic keeps none ----

func listDeleted(c *arm.Call) error {
	if err := c.Authorize(deletedType+"/read", c.ID); err != nil {
		return err
	}
	return c.List(nil, "")
}

func getDeleted(c *arm.Call) error {
	if c.R.Method != http.MethodGet {
		return armerr.MethodNotAllowed(c.R.Method, deletedLocType)
	}
	if err := c.Authorize(deletedType+"/read", c.ID); err != nil {
		return err
	}
	return armerr.New(http.StatusNotFound, "DeletedVaultNotFound",
		"The specified deleted vault '%s' does not exist in location '%s'. mimic does not keep deleted vaults: a delete frees the name at once.", c.ID.Name(), c.ID.Parent().Name())
}

// ---- helpers for the data plane ----

// Access is what decides data-plane access to a vault.
type Access struct {
	// RBAC is enableRbacAuthorization: Azure RBAC data actions decide, and
	// access policies are ignored.
	RBAC     bool
	TenantID string
	Policies []AccessPolicy
}

// ReadAccess reads a stored vault document's access model.
func ReadAccess(doc arm.Doc) Access {
	p := doc.Obj("properties")
	rbac, _ := p.Bool("enableRbacAuthorization")
	a := Access{RBAC: rbac, TenantID: p.Str("tenantId")}
	arr, _ := p["accessPolicies"].([]any)
	for _, e := range arr {
		d, ok := asDoc(e)
		if !ok {
			continue
		}
		ap := AccessPolicy{TenantID: d.Str("tenantId"), ObjectID: d.Str("objectId"), ApplicationID: d.Str("applicationId"), Permissions: map[string][]string{}}
		perms := d.Obj("permissions")
		for _, cat := range categories {
			if list, ok := perms.StrSlice(cat); ok {
				ap.Permissions[cat] = list
			}
		}
		a.Policies = append(a.Policies, ap)
	}
	return a
}

// FindVault returns the vault with a name, in any subscription and group
// (vault names are global), or store.ErrNotFound.
func FindVault(ctx context.Context, tx store.Tx, name string) (arm.Doc, error) {
	return arm.FindOne(ctx, tx, VaultType, name)
}
