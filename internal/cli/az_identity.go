package cli

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/pflag"
)

// The managed identity arguments that vm, webapp, functionapp, aks,
// storage and sql commands share: --assign-identity and --identities take
// user-assigned identity ids or names and "[system]" for the
// system-assigned identity.

// msiLocalID is az's spelling of the system-assigned identity.
const msiLocalID = "[system]"

// identityFlags are --assign-identity (or --identities) with --role and
// --scope, which give a new system-assigned identity a role.
func identityFlags(f *pflag.FlagSet, name string, ids *[]string, role, scope *string) {
	help := "Accept system or user assigned identities separated by spaces. Use '[system]' to refer system assigned identity, or a resource id to refer user assigned identity."
	if name == "identities" {
		help = "Space-separated identities to assign. Use '[system]' to refer to the system assigned identity. Default: '[system]'."
	}
	multiOptional(f, name, ids, msiLocalID, help)
	f.StringVar(role, "role", "Contributor", "Role name or id the system assigned identity will have.")
	f.StringVar(scope, "scope", "", "Scope that the system assigned identity can access.")
}

// identityIDs turns identity names into resource ids in the group rg.
func identityIDs(cl *azClient, rg string, names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		switch {
		case n == "" || strings.EqualFold(n, msiLocalID):
			out = append(out, msiLocalID)
		case strings.HasPrefix(n, "/"):
			out = append(out, n)
		default:
			out = append(out, cl.resourcePath(rg, identityType, n))
		}
	}
	return out
}

// identityBlock is az's _build_identities_info: no value or [system]
// means the system-assigned identity, ids the user-assigned ones.
func identityBlock(ids []string) (block map[string]any, system bool, external []string) {
	if len(ids) == 0 {
		system = true
	}
	for _, id := range ids {
		if id == msiLocalID {
			system = true
		} else {
			external = append(external, id)
		}
	}
	var types []string
	if system {
		types = append(types, "SystemAssigned")
	}
	if len(external) > 0 {
		types = append(types, "UserAssigned")
	}
	block = map[string]any{"type": strings.Join(types, ",")}
	if len(external) > 0 {
		uais := map[string]any{}
		for _, e := range external {
			uais[e] = map[string]any{}
		}
		block["userAssignedIdentities"] = uais
	}
	return block, system, external
}

// assignedIdentity adds identities to a resource's identity block, as
// az's assign commands do: the system-assigned identity stays, user
// identities are added.
func assignedIdentity(current map[string]any, ids []string) map[string]any {
	_, system, external := identityBlock(ids)
	typ := strings.ReplaceAll(strings.ToLower(str(current["type"])), " ", "")
	hasSystem := strings.Contains(typ, "systemassigned")
	hasUser := strings.Contains(typ, "userassigned")
	wantSystem := hasSystem || system
	wantUser := hasUser || len(external) > 0
	block := map[string]any{"type": identityTypeName(wantSystem, wantUser)}
	if len(external) > 0 {
		uais := map[string]any{}
		for _, e := range external {
			uais[e] = map[string]any{}
		}
		block["userAssignedIdentities"] = uais
	}
	return block
}

func identityTypeName(system, user bool) string {
	switch {
	case system && user:
		return "SystemAssigned, UserAssigned"
	case system:
		return "SystemAssigned"
	case user:
		return "UserAssigned"
	}
	return "None"
}

// removedIdentity is az's _remove_identities: the identity block that
// drops the given identities, or an error naming those not attached.
func removedIdentity(current map[string]any, ids []string, resourceName string) (map[string]any, error) {
	removeSystem := false
	var emsis []string
	for _, id := range ids {
		if id == msiLocalID {
			removeSystem = true
		} else {
			emsis = append(emsis, strings.ToLower(id))
		}
	}
	typ := strings.ReplaceAll(strings.ToLower(str(current["type"])), " ", "")
	system := strings.Contains(typ, "systemassigned")
	user := strings.Contains(typ, "userassigned")
	existing := map[string]bool{}
	for k := range obj(current["userAssignedIdentities"]) {
		existing[strings.ToLower(k)] = true
	}
	var missing []string
	for _, e := range emsis {
		if !existing[e] {
			missing = append(missing, e)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, cliError("'%s' are not associated with '%s'", strings.Join(missing, ","), resourceName)
	}
	if len(emsis) > 0 {
		left := 0
		for k := range existing {
			if !contains(emsis, k) {
				left++
			}
		}
		if left == 0 {
			user = false
		}
	}
	if removeSystem {
		system = false
	}
	block := map[string]any{"type": identityTypeName(system, user)}
	if user && len(emsis) > 0 {
		uais := map[string]any{}
		for _, e := range emsis {
			uais[e] = nil
		}
		block["userAssignedIdentities"] = uais
	}
	return block, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// identityInfo is az's _construct_identity_info, the output of vm
// identity assign and vm create --assign-identity.
func identityInfo(identity map[string]any, scope, role string) map[string]any {
	info := map[string]any{}
	if scope != "" {
		info["scope"] = scope
		info["role"] = role
	}
	uais := obj(azValue("userAssignedIdentities", identity["userAssignedIdentities"]))
	if uais == nil {
		info["userAssignedIdentities"] = map[string]any{}
	} else {
		info["userAssignedIdentities"] = uais
	}
	info["systemAssignedIdentity"] = str(identity["principalId"])
	return info
}

// grantIdentityRole gives a new system-assigned identity a role at a scope,
// as az's --scope/--role with --assign-identity do.
func grantIdentityRole(ctx context.Context, cl *azClient, principalID, role, scope string) error {
	if scope == "" || principalID == "" {
		return nil
	}
	roleID, err := resolveRoleID(ctx, cl, role, scope)
	if err != nil {
		return err
	}
	path := strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + url.PathEscape(uuid.NewString())
	_, err = cl.send(ctx, http.MethodPut, path, apiRoleAssignments, map[string]any{"properties": map[string]any{
		"roleDefinitionId": roleID, "principalId": principalID, "principalType": "ServicePrincipal"}})
	return err
}

// managedIdentityShape is az's ManagedServiceIdentity of sites, clusters,
// storage accounts and servers.
func managedIdentityShape(identity any) any {
	m := obj(identity)
	if m == nil {
		return nil
	}
	out := obj(azValue("identity", m))
	return withNulls(out, "principalId", "tenantId", "type", "userAssignedIdentities")
}
