package cli

import (
	"context"
	"net/url"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mimic-emu/mimic/internal/azout"
)

// api-versions of Microsoft.Authorization that az 2.45 sends.
const (
	apiRoleDefinitions = "2018-01-01-preview"
	apiRoleAssignments = "2020-04-01-preview"
)

// roleDefinitionShape is az's RoleDefinition (2018-01-01-preview):
// flattened, properties.type as roleType, and no created/updated fields.
var roleDefinitionShape = modelShape{flatten: true, only: true, rename: map[string]string{"type": "roleType"},
	attrs: []string{"assignableScopes", "description", "id", "name", "permissions", "roleName", "roleType", "type"}}

func newRoleDefinitionCmd(g *globals) *cobra.Command {
	return azGroup("definition", "Manage role definitions.", newRoleDefinitionListCmd(g))
}

// roleScope is az's _build_role_scope: --scope, or the group, or the
// subscription.
func roleScope(cl *azClient, rg, scope string) (string, error) {
	if scope != "" {
		if rg != "" {
			return "", cliError("Resource group \"%s\" is redundant because scope is supplied", rg)
		}
		if strings.HasPrefix(scope, "/subscriptions/") && !validResourceID(scope) {
			return "", cliError("Invalid scope. Please use --help to view the valid format.")
		}
		return scope, nil
	}
	if rg != "" {
		return cl.groupPath(rg), nil
	}
	return cl.subPath(), nil
}

var resourceIDPattern = regexp.MustCompile(`(?i)^/subscriptions/[^/]+(/resourceGroups/[^/]+(/providers/[^/]+/[^/]+/[^/]+(/[^/]+/[^/]+)*)?)?$`)

// validResourceID is azure-mgmt-core's is_valid_resource_id for ids
// under a subscription.
func validResourceID(s string) bool {
	return resourceIDPattern.MatchString(strings.TrimSuffix(s, "/")) || regexp.MustCompile(`(?i)^/subscriptions/[^/]+/providers/[^/]+/[^/]+/[^/]+`).MatchString(s)
}

// roleDefinitions lists the role definitions visible at scope, as ARM
// returns them.
func roleDefinitions(ctx context.Context, cl *azClient, scope, filter string) ([]map[string]any, error) {
	path := strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/roleDefinitions"
	if filter != "" {
		path += "?$filter=" + url.QueryEscape(filter)
	}
	items, err := cl.list(ctx, path, apiRoleDefinitions)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		out = append(out, obj(it))
	}
	return out, nil
}

// resolveRoleID is az's _resolve_role_id: a role definition id as is, a
// GUID as the subscription's definition id, a name looked up at scope.
func resolveRoleID(ctx context.Context, cl *azClient, role, scope string) (string, error) {
	if regexp.MustCompile(`(?i)^/subscriptions/.+/providers/Microsoft.Authorization/roleDefinitions/`).MatchString(role) {
		return role, nil
	}
	if isGUID(role) {
		return cl.subPath() + "/providers/Microsoft.Authorization/roleDefinitions/" + role, nil
	}
	defs, err := roleDefinitions(ctx, cl, scope, "roleName eq '"+strings.ReplaceAll(role, "'", "''")+"'")
	if err != nil {
		return "", err
	}
	switch len(defs) {
	case 0:
		return "", cliError("Role '%s' doesn't exist.", role)
	case 1:
		return str(defs[0]["id"]), nil
	}
	ids := make([]string, len(defs))
	for i, d := range defs {
		ids[i] = "'" + str(d["id"]) + "'"
	}
	return "", cliError("More than one role matches the given name '%s'. Please pick a value from '[%s]'", role, strings.Join(ids, ", "))
}

func newRoleDefinitionListCmd(g *globals) *cobra.Command {
	var name, rg, scope string
	var customOnly bool
	return newAzCommand(g, azCmd{
		Use:   "list",
		Short: "List role definitions.",
		Long: `List role definitions: Azure's built-in roles (with their real GUIDs) and
the custom roles assignable at the scope.`,
		Example: `  List all the built-in roles' names and descriptions.
    mimic role definition list --query "[].{roleName:roleName, description:description}"
  Show the definition of a role.
    mimic role definition list --name "Key Vault Secrets User"
  List the custom roles.
    mimic role definition list --custom-role-only -o table`,
		Flags: func(f *pflag.FlagSet) {
			nameFlag(f, &name, "A role's name or its GUID.")
			f.BoolVar(&customOnly, "custom-role-only", false, "Custom roles only (vs. built-in ones).")
			groupFlag(f, &rg)
			f.StringVar(&scope, "scope", "", "Scope at which the role definitions apply, e.g. /subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/myGroup.")
		},
		Table: roleDefinitionTable,
		Run: func(c *azCall) (any, error) {
			cl, err := c.arm()
			if err != nil {
				return nil, err
			}
			sc, err := roleScope(cl, rg, scope)
			if err != nil {
				return nil, err
			}
			defs, err := roleDefinitions(c.ctx(), cl, sc, "")
			if err != nil {
				return nil, err
			}
			out := []any{}
			for _, d := range defs {
				p := obj(d["properties"])
				if name != "" && str(d["name"]) != name && str(p["roleName"]) != name {
					continue
				}
				if customOnly && str(p["type"]) != "CustomRole" {
					continue
				}
				s := roleDefinitionShape.shape(d)
				if perms, ok := s["permissions"].([]any); ok {
					for i, pe := range perms {
						m := obj(pe)
						perms[i] = withNulls(map[string]any{"actions": m["actions"], "notActions": m["notActions"],
							"dataActions": m["dataActions"], "notDataActions": m["notDataActions"]})
					}
				}
				out = append(out, s)
			}
			return out, nil
		},
	})
}

// roleDefinitionTable is az's transform_definition_list.
func roleDefinitionTable(v any) any {
	return tableRows(v, func(r map[string]any) azout.Ordered {
		return azout.Row("Name", r["roleName"], "Type", r["type"], "Description", r["description"])
	})
}
