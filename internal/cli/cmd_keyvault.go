package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// api-versions az 2.45 sends: the Key Vault management plane and its
// data plane (azure-keyvault-secrets 4.6).
const (
	apiKeyVault = "2022-07-01"
	apiKVData   = "7.4"
)

const vaultType = "Microsoft.KeyVault/vaults"

// vaultShape is az's Vault: not flattened; properties in az's casing.
var vaultShape = modelShape{attrs: []string{"id", "location", "name", "properties", "systemData", "tags", "type"}}

// vaultPropertyAttrs are VaultProperties' attributes.
var vaultPropertyAttrs = []string{"accessPolicies", "createMode", "enablePurgeProtection", "enableRbacAuthorization",
	"enableSoftDelete", "enabledForDeployment", "enabledForDiskEncryption", "enabledForTemplateDeployment",
	"hsmPoolResourceId", "networkAcls", "privateEndpointConnections", "provisioningState", "publicNetworkAccess", "sku",
	"softDeleteRetentionInDays", "tenantId", "vaultUri"}

func vaultOut(doc map[string]any) map[string]any {
	out := vaultShape.shape(doc)
	withNulls(obj(out["properties"]), vaultPropertyAttrs...)
	withNulls(obj(obj(out["properties"])["networkAcls"]), "bypass", "defaultAction", "ipRules", "virtualNetworkRules")
	return out
}

// vaultSuffix is the Key Vault DNS suffix of Azure's public cloud.
const vaultSuffix = ".vault.azure.net"

func newKeyVaultCmd(g *globals) *cobra.Command {
	secret := azGroup("secret", "Manage secrets.",
		newSecretSetCmd(g), newSecretShowCmd(g), newSecretListCmd(g), newSecretDeleteCmd(g))
	return addAzGlobals(azGroup("keyvault", "Manage KeyVault keys, secrets, and certificates.",
		newKeyVaultCreateCmd(g), newKeyVaultShowCmd(g), newKeyVaultListCmd(g), newKeyVaultDeleteCmd(g), secret), g)
}

// defaultAccessPolicy is the access policy az gives the creator of a vault
// that does not use RBAC.
func defaultAccessPolicy(tenant, objectID string) map[string]any {
	return map[string]any{
		"tenantId": tenant,
		"objectId": objectID,
		"permissions": map[string]any{
			"keys":         []any{"get", "create", "delete", "list", "update", "import", "backup", "restore", "recover"},
			"secrets":      []any{"get", "list", "set", "delete", "backup", "restore", "recover"},
			"certificates": []any{"get", "list", "delete", "create", "import", "update", "managecontacts", "getissuers", "listissuers", "setissuers", "deleteissuers", "manageissuers", "recover"},
			"storage":      []any{"get", "list", "delete", "set", "update", "regeneratekey", "setsas", "listsas", "getsas", "deletesas"},
		},
	}
}

func newKeyVaultCreateCmd(g *globals) *cobra.Command {
	var rg, name, location, sku, rbac string
	var retention int
	var purge, noSelfPerms, deployment, diskEncryption, templateDeployment bool
	var tags []string
	return newAzCommand(g, azCmd{
		Use:   "create",
		Short: "Create a Vault or HSM.",
		Long: `Create a key vault. Without --enable-rbac-authorization the vault uses
access policies, and its creator (the operator) gets one, as with az.`,
		Example: `  Create a key vault that uses Azure RBAC for its data plane.
    mimic keyvault create -g MyResourceGroup -n MyVault --enable-rbac-authorization
  Create a key vault with access policies.
    mimic keyvault create -g MyResourceGroup -n MyVault -l westeurope`,
		Required: []string{"name"},
		Flags: func(f *pflag.FlagSet) {
			groupFlag(f, &rg)
			nameFlag(f, &name, "Name of the Vault.")
			locationFlag(f, &location)
			f.StringVar(&sku, "sku", "standard", "Required. SKU details. Allowed values for Vault: premium, standard.")
			f.StringVar(&rbac, "enable-rbac-authorization", "", "Property that controls how data actions are authorized: true (RBAC) or false (access policies).")
			f.Lookup("enable-rbac-authorization").NoOptDefVal = "true"
			f.IntVar(&retention, "retention-days", 90, "Soft delete data retention days. It accepts >=7 and <=90.")
			f.BoolVar(&purge, "enable-purge-protection", false, "Property specifying whether protection against purge is enabled for this vault.")
			f.BoolVar(&noSelfPerms, "no-self-perms", false, "Don't add permissions for the current user/service principal in the new vault.")
			f.BoolVar(&deployment, "enabled-for-deployment", false, "Allow Virtual Machines to retrieve certificates stored as secrets from the vault.")
			f.BoolVar(&diskEncryption, "enabled-for-disk-encryption", false, "Allow Disk Encryption to retrieve secrets from the vault and unwrap keys.")
			f.BoolVar(&templateDeployment, "enabled-for-template-deployment", false, "Allow Resource Manager to retrieve secrets from the vault.")
			tagsFlag(f, &tags)
		},
		Run: func(c *azCall) (any, error) {
			if rg == "" {
				return nil, usageError("the following arguments are required: --resource-group/-g")
			}
			useRBAC := false
			if rbac != "" {
				b, err := strconv.ParseBool(rbac)
				if err != nil {
					return nil, usageError("argument --enable-rbac-authorization: invalid choice: '" + rbac + "' (choose from 'false', 'true')")
				}
				useRBAC = b
			}
			cl, err := c.armIn(rg, &location)
			if err != nil {
				return nil, err
			}
			policies := []any{}
			if !useRBAC && !noSelfPerms {
				policies = append(policies, defaultAccessPolicy(cl.profile.TenantID, cl.profile.Operator.ObjectID))
			}
			props := map[string]any{
				"tenantId":                     cl.profile.TenantID,
				"sku":                          map[string]any{"family": "A", "name": strings.ToLower(sku)},
				"accessPolicies":               policies,
				"enableRbacAuthorization":      useRBAC,
				"enableSoftDelete":             true,
				"softDeleteRetentionInDays":    retention,
				"enabledForDeployment":         deployment,
				"enabledForDiskEncryption":     diskEncryption,
				"enabledForTemplateDeployment": templateDeployment,
			}
			if purge {
				props["enablePurgeProtection"] = true
			}
			body := map[string]any{"location": location, "properties": props}
			if c.changed("tags") {
				body["tags"] = parseTags(tags)
			}
			doc, err := cl.send(c.ctx(), http.MethodPut, cl.resourcePath(rg, vaultType, name), apiKeyVault, body)
			if err != nil {
				return nil, err
			}
			return vaultOut(doc), nil
		},
	})
}

var vaultKind = armKind{typ: vaultType, api: apiKeyVault, out: vaultOut}

// findVault returns the vault's resource path: in the group, or found by
// name in the subscription, as az's keyvault commands do without -g.
func (c *azCall) findVault(rg, name string) (string, error) {
	// az's validator raises a CLIError: exit 1.
	return c.findByName(vaultType, rg, name, &notFoundError{msg: fmt.Sprintf("The Vault '%s' not found within subscription.", name), code: 1})
}

// onVault runs fn on the vault the flags name, found by findVault.
func (c *azCall) onVault(rg, name string, fn func() (any, error)) (any, error) {
	path, err := c.findVault(rg, name)
	if err != nil {
		return nil, err
	}
	c.ids = []string{path}
	return fn()
}

func newKeyVaultShowCmd(g *globals) *cobra.Command {
	var rg, name string
	return newAzCommand(g, azCmd{
		Use:   "show",
		Short: "Show details of a Vault or HSM.",
		Example: `  Show details of a key vault.
    mimic keyvault show --name MyKeyVault
  Get its id, for a role assignment's scope.
    mimic keyvault show -n MyKeyVault --query id -o tsv`,
		Required: []string{"name"},
		Flags: func(f *pflag.FlagSet) {
			groupFlag(f, &rg)
			nameFlag(f, &name, "Name of the Vault.")
		},
		Run: func(c *azCall) (any, error) {
			return c.onVault(rg, name, func() (any, error) { return c.show(vaultKind, "", "", nil) })
		},
	})
}

func newKeyVaultListCmd(g *globals) *cobra.Command {
	var rg, resourceType string
	return newAzCommand(g, azCmd{
		Use:   "list",
		Short: "List Vaults and/or HSMs.",
		Example: `  List the key vaults of a resource group.
    mimic keyvault list -g MyResourceGroup -o table`,
		Flags: func(f *pflag.FlagSet) {
			groupFlag(f, &rg)
			f.StringVar(&resourceType, "resource-type", "vault", "When --resource-type is not present the command will list all Vaults and HSMs. Possible values for --resource-type are vault and hsm.")
		},
		Run: func(c *azCall) (any, error) {
			if strings.EqualFold(resourceType, "hsm") {
				return []any{}, nil
			}
			return c.list(vaultKind, rg)
		},
	})
}

func newKeyVaultDeleteCmd(g *globals) *cobra.Command {
	var rg, name string
	return newAzCommand(g, azCmd{
		Use:   "delete",
		Short: "Delete a Vault or HSM.",
		Long: `Delete a key vault. mimic keeps no deleted vaults: the delete is final and
frees the name.`,
		Example: `  Delete a key vault.
    mimic keyvault delete --name MyKeyVault`,
		Required: []string{"name"},
		NoWait:   true,
		Flags: func(f *pflag.FlagSet) {
			groupFlag(f, &rg)
			nameFlag(f, &name, "Name of the Vault.")
		},
		Run: func(c *azCall) (any, error) {
			return c.onVault(rg, name, func() (any, error) { return c.remove(vaultKind, "", "", nil) })
		},
	})
}

// ---- secrets: the Key Vault data plane ----

// kvRequest calls a vault's data plane as the operator.
func (c *azCall) kvRequest(method, vaultURL, path string, body any) (map[string]any, error) {
	cl, err := c.arm()
	if err != nil {
		return nil, err
	}
	tok, err := cl.token(c.ctx(), "https://vault.azure.net")
	if err != nil {
		return nil, err
	}
	u := strings.TrimSuffix(vaultURL, "/") + path
	if strings.Contains(u, "?") {
		u += "&api-version=" + apiKVData
	} else {
		u += "?api-version=" + apiKVData
	}
	h := http.Header{"Authorization": {"Bearer " + tok}}
	var raw []byte
	if body != nil {
		if raw, err = json.Marshal(body); err != nil {
			return nil, err
		}
		h.Set("Content-Type", "application/json")
	}
	resp, data, err := cl.dataRequest(c.ctx(), method, u, h, raw)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		return nil, kvError(resp.StatusCode, data)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	v, err := decodeJSON(data)
	if err != nil {
		return nil, err
	}
	return obj(v), nil
}

// kvError is a Key Vault error answer as azure-core prints it, with the
// inner error when there is one.
func kvError(status int, data []byte) error {
	var e struct {
		Error struct {
			Code       string          `json:"code"`
			Message    string          `json:"message"`
			InnerError json.RawMessage `json:"innererror"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
		return &APIError{Status: status, Code: http.StatusText(status), Message: strings.TrimSpace(string(data))}
	}
	api := &APIError{Status: status, Code: e.Error.Code, Message: e.Error.Message}
	if len(e.Error.InnerError) > 0 && string(e.Error.InnerError) != "null" {
		var inner any
		if json.Unmarshal(e.Error.InnerError, &inner) == nil {
			b, _ := json.MarshalIndent(inner, "", "    ")
			code := 1
			if status == http.StatusNotFound {
				code = 3
			}
			return &ExitError{Code: code, Err: &innerServiceError{serviceError{api}, string(b)}}
		}
	}
	return api
}

type innerServiceError struct {
	serviceError
	inner string
}

func (e *innerServiceError) Error() string {
	return e.serviceError.Error() + "\nInner error: " + e.inner
}

// vaultURL is --vault-name's data-plane URL, or --id's.
func vaultURL(vault, id string) (string, error) {
	if id != "" {
		u, err := url.Parse(id)
		if err != nil || u.Host == "" {
			return "", cliError("invalid secret id: %s", id)
		}
		return "https://" + u.Host, nil
	}
	return "https://" + strings.ToLower(vault) + vaultSuffix, nil
}

// kvTime prints Key Vault's Unix times as Python's isoformat.
func kvTime(v any) any {
	n, ok := v.(json.Number)
	if !ok {
		return v
	}
	i, err := n.Int64()
	if err != nil {
		return v
	}
	return time.Unix(i, 0).UTC().Format("2006-01-02T15:04:05") + "+00:00"
}

// secretAttributes is az's output of a secret's attributes.
func secretAttributes(a map[string]any) map[string]any {
	out := map[string]any{
		"created": kvTime(a["created"]), "enabled": a["enabled"], "expires": kvTime(a["exp"]), "notBefore": kvTime(a["nbf"]),
		"recoverableDays": a["recoverableDays"], "recoveryLevel": a["recoveryLevel"], "updated": kvTime(a["updated"]),
	}
	return out
}

// secretName is the name in a secret id (https://v/secrets/NAME[/VERSION]).
func secretName(id string) string {
	u, err := url.Parse(id)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) >= 2 {
		return parts[1]
	}
	return ""
}

// secretOut is az's output of a secret bundle.
func secretOut(b map[string]any) map[string]any {
	tags := b["tags"]
	return map[string]any{
		"attributes": secretAttributes(obj(b["attributes"])), "contentType": b["contentType"], "id": b["id"],
		"kid": b["kid"], "managed": b["managed"], "name": secretName(str(b["id"])), "tags": tags, "value": b["value"],
	}
}

// secretFlags name a secret: --vault-name and --name, or --id.
type secretFlags struct{ vault, name, id, version string }

func (s *secretFlags) add(f *pflag.FlagSet, withVersion bool) {
	f.StringVar(&s.vault, "vault-name", "", "Name of the Key Vault.")
	nameFlag(f, &s.name, "Name of the secret.")
	f.StringVar(&s.id, "id", "", "Id of the secret. If specified all other 'Id' arguments should be omitted.")
	if withVersion {
		f.StringVarP(&s.version, "version", "v", "", "The secret version. If omitted, uses the latest version.")
	}
}

// path is the secret's data-plane path.
func (s *secretFlags) resolve() (vault, path string, err error) {
	if s.id != "" {
		u, err := url.Parse(s.id)
		if err != nil || u.Host == "" {
			return "", "", cliError("invalid secret id: %s", s.id)
		}
		return "https://" + u.Host, strings.TrimSuffix(u.Path, "/"), nil
	}
	if s.vault == "" || s.name == "" {
		return "", "", cliError("usage error: --id ID | --vault-name VAULT --name NAME")
	}
	vault, _ = vaultURL(s.vault, "")
	path = "/secrets/" + url.PathEscape(s.name)
	if s.version != "" {
		path += "/" + url.PathEscape(s.version)
	}
	return vault, path, nil
}

func newSecretSetCmd(g *globals) *cobra.Command {
	var vault, name, value, file, encoding, contentType, expires, notBefore, disabled string
	var tags []string
	return newAzCommand(g, azCmd{
		Use:   "set",
		Short: "Create a secret (if one doesn't exist) or update a secret in a KeyVault.",
		Long: `Create a secret (if one doesn't exist) or update a secret in a key vault,
through the Key Vault data plane at https://{vault}.vault.azure.net (mimic's
proxy), as the operator: the vault's RBAC or access policies decide.`,
		Example: `  Create a secret with the value 'secret'.
    mimic keyvault secret set --vault-name MyVault --name MySecret --value secret
  Create a secret from a file.
    mimic keyvault secret set --vault-name MyVault --name MySecret --file /path/to/file`,
		Required: []string{"vault-name", "name"},
		Flags: func(f *pflag.FlagSet) {
			f.StringVar(&vault, "vault-name", "", "Name of the Key Vault.")
			nameFlag(f, &name, "Name of the secret.")
			f.StringVar(&value, "value", "", "Plain text secret value. Cannot be used with '--file' or '--encoding'")
			f.StringVarP(&file, "file", "f", "", "Source file for secret. Use in conjunction with '--encoding'")
			f.StringVarP(&encoding, "encoding", "e", "utf-8", "Source file encoding. The value is saved as a tag (file-encoding=<val>) and used during download to automatically encode the resulting file: utf-8, base64, hex.")
			f.StringVar(&contentType, "description", "", "Description of the secret contents (e.g. password, connection string, etc).")
			f.StringVar(&expires, "expires", "", "Expiration UTC datetime  (Y-m-d'T'H:M:S'Z').")
			f.StringVar(&notBefore, "not-before", "", "Key not usable before the provided UTC datetime  (Y-m-d'T'H:M:S'Z').")
			f.StringVar(&disabled, "disabled", "false", "Create secret in disabled state.")
			tagsFlag(f, &tags)
		},
		Run: func(c *azCall) (any, error) {
			if (value == "") == (file == "") {
				return nil, cliError("usage error: --value VALUE | --file PATH")
			}
			tagMap := parseTags(tags)
			if file != "" {
				b, err := os.ReadFile(file)
				if err != nil {
					return nil, cliError("%s", err.Error())
				}
				switch strings.ToLower(encoding) {
				case "utf-8", "utf8", "ascii":
					value = string(b)
				case "base64":
					value = base64Std(b)
				case "hex":
					value = fmt.Sprintf("%x", b)
				default:
					return nil, usageError("argument --encoding/-e: invalid choice: '" + encoding + "' (choose from 'ascii', 'base64', 'hex', 'utf-16be', 'utf-16le', 'utf-8')")
				}
				tagMap["file-encoding"] = strings.ToLower(encoding)
			}
			attrs := map[string]any{"enabled": disabled != "true"}
			for k, v := range map[string]string{"exp": expires, "nbf": notBefore} {
				if v == "" {
					continue
				}
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					return nil, usageError("argument --" + map[string]string{"exp": "expires", "nbf": "not-before"}[k] + ": invalid datetime_type value: '" + v + "'")
				}
				attrs[k] = t.Unix()
			}
			body := map[string]any{"value": value, "attributes": attrs}
			if len(tagMap) > 0 {
				body["tags"] = tagMap
			}
			if contentType != "" {
				body["contentType"] = contentType
			}
			u, _ := vaultURL(vault, "")
			res, err := c.kvRequest(http.MethodPut, u, "/secrets/"+url.PathEscape(name), body)
			if err != nil {
				return nil, err
			}
			return secretOut(res), nil
		},
	})
}

func newSecretShowCmd(g *globals) *cobra.Command {
	var sf secretFlags
	return newAzCommand(g, azCmd{
		Use:   "show",
		Short: "Get a specified secret from a given key vault.",
		Example: `  Get a secret's value.
    mimic keyvault secret show --vault-name MyVault --name MySecret --query value -o tsv`,
		Flags: func(f *pflag.FlagSet) { sf.add(f, true) },
		Run: func(c *azCall) (any, error) {
			vault, path, err := sf.resolve()
			if err != nil {
				return nil, err
			}
			res, err := c.kvRequest(http.MethodGet, vault, path, nil)
			if err != nil {
				return nil, err
			}
			return secretOut(res), nil
		},
	})
}

func newSecretListCmd(g *globals) *cobra.Command {
	var vault, id string
	var max int
	return newAzCommand(g, azCmd{
		Use:   "list",
		Short: "List secrets in a specified key vault.",
		Example: `  List the secrets of a vault.
    mimic keyvault secret list --vault-name MyVault -o table`,
		Flags: func(f *pflag.FlagSet) {
			f.StringVar(&vault, "vault-name", "", "Name of the Key Vault.")
			f.StringVar(&id, "id", "", "Full URI of the Vault. If specified all other 'Id' arguments should be omitted.")
			f.IntVar(&max, "maxresults", 0, "Maximum number of results to return in a page. If not specified, the service will return up to 25 results.")
		},
		Run: func(c *azCall) (any, error) {
			if vault == "" && id == "" {
				return nil, cliError("usage error: --id ID | --vault-name VAULT")
			}
			u, err := vaultURL(vault, id)
			if err != nil {
				return nil, err
			}
			path := "/secrets"
			if max > 0 {
				path += "?maxresults=" + strconv.Itoa(max)
			}
			out := []any{}
			for path != "" {
				res, err := c.kvRequest(http.MethodGet, u, path, nil)
				if err != nil {
					return nil, err
				}
				for _, it := range asList(res["value"]) {
					s := obj(it)
					out = append(out, map[string]any{
						"attributes": secretAttributes(obj(s["attributes"])), "contentType": s["contentType"], "id": s["id"],
						"managed": s["managed"], "name": secretName(str(s["id"])), "tags": s["tags"],
					})
				}
				path = ""
				if next := str(res["nextLink"]); next != "" && max == 0 {
					if nu, err := url.Parse(next); err == nil {
						q := nu.Query()
						q.Del("api-version")
						nu.RawQuery = q.Encode()
						path = nu.Path + "?" + nu.RawQuery
					}
				}
			}
			return out, nil
		},
	})
}

func newSecretDeleteCmd(g *globals) *cobra.Command {
	var sf secretFlags
	return newAzCommand(g, azCmd{
		Use:   "delete",
		Short: "Delete all versions of a secret.",
		Example: `  Delete a secret.
    mimic keyvault secret delete --vault-name MyVault --name MySecret`,
		Flags: func(f *pflag.FlagSet) { sf.add(f, false) },
		Run: func(c *azCall) (any, error) {
			vault, path, err := sf.resolve()
			if err != nil {
				return nil, err
			}
			res, err := c.kvRequest(http.MethodDelete, vault, path, nil)
			if err != nil {
				return nil, err
			}
			out := secretOut(res)
			out["deletedDate"] = kvTime(res["deletedDate"])
			out["recoveryId"] = res["recoveryId"]
			out["scheduledPurgeDate"] = kvTime(res["scheduledPurgeDate"])
			return out, nil
		},
	})
}
