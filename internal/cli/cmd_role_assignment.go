package cli

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mimic-emu/mimic/internal/azout"
)

// roleAssignmentShape is az's RoleAssignment (2020-04-01-preview).
var roleAssignmentShape = modelShape{flatten: true, only: true, attrs: []string{
	"canDelegate", "condition", "conditionVersion", "createdBy", "createdOn", "delegatedManagedIdentityResourceId",
	"description", "id", "name", "principalId", "principalType", "roleDefinitionId", "scope", "type", "updatedBy", "updatedOn"}}

// orphanedType is the principal type ARM lists for an assignment whose
// principal no longer exists.
const orphanedType = "Unknown"

// principalTypes are the values of --assignee-principal-type.
var principalTypes = []string{"User", "Group", "ServicePrincipal", "ForeignGroup", "Device"}

func newRoleAssignmentCmd(g *globals) *cobra.Command {
	return azGroup("assignment", "Manage role assignments.",
		newRoleAssignmentCreateCmd(g), newRoleAssignmentListCmd(g), newRoleAssignmentDeleteCmd(g))
}

func newRoleAssignmentCreateCmd(g *globals) *cobra.Command {
	var role, assignee, objectID, principalType, rg, scope, description, condition, conditionVersion, name string
	return newAzCommand(g, azCmd{
		Use:   "create",
		Short: "Create a new role assignment for a user, group, or service principal.",
		Long: `Create a new role assignment for a user, group, or service principal.

--assignee takes an object id, a client id or, since mimic has no Microsoft
Graph, the name of a user-assigned identity of the subscription.
--assignee-object-id with --assignee-principal-type needs no lookup at all,
as in az. --role takes a role name or a role definition id or GUID.`,
		Example: `  Grant an identity read access to a vault's secrets.
    mimic role assignment create --assignee-object-id "$(mimic identity show -g rg -n app-id --query principalId -o tsv)" \
      --assignee-principal-type ServicePrincipal --role "Key Vault Secrets User" \
      --scope "$(mimic keyvault show -n kv1 --query id -o tsv)"
  Create using a client id (or an identity's name) as the assignee.
    mimic role assignment create --assignee app-id --role Reader --scope /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg`,
		Required: []string{"role"},
		Flags: func(f *pflag.FlagSet) {
			f.StringVar(&role, "role", "", "Role name or id.")
			f.StringVar(&assignee, "assignee", "", "Represent a user, group, or service principal. Supported format: object id, client id, or a user-assigned identity's name.")
			f.StringVar(&objectID, "assignee-object-id", "", "Use this parameter instead of '--assignee' to bypass Graph API invocation in case of insufficient privileges. This parameter only works with object ids for users, groups, service principals, and managed identities.")
			f.StringVar(&principalType, "assignee-principal-type", "", "Use with --assignee-object-id to avoid errors caused by propagation latency in AAD Graph. Allowed values: "+strings.Join(principalTypes, ", ")+".")
			groupFlag(f, &rg)
			f.StringVar(&scope, "scope", "", "Scope at which the role assignment or definition applies to, e.g., /subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333, /subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/myGroup, or /subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/myGroup/providers/Microsoft.Compute/virtualMachines/myVM")
			f.StringVar(&description, "description", "", "Description of role assignment.")
			f.StringVar(&condition, "condition", "", "Condition under which the user can be granted permission.")
			f.StringVar(&conditionVersion, "condition-version", "", "Version of the condition syntax. If --condition is specified without --condition-version, default to 2.0.")
			f.StringVar(&name, "name", "", "A GUID for the role assignment. It must be unique and different for each role assignment. If omitted, a new GUID is generated.")
		},
		Run: func(c *azCall) (any, error) {
			if principalType != "" && !containsFold(principalTypes, principalType) {
				return nil, usageError("argument --assignee-principal-type: invalid choice: '" + principalType + "' (choose from '" + strings.Join(principalTypes, "', '") + "')")
			}
			if scope == "" && rg == "" {
				return nil, usageError("the following arguments are required: --scope")
			}
			if (assignee == "") == (objectID == "") {
				return nil, cliError("usage error: --assignee STRING | --assignee-object-id GUID")
			}
			if principalType != "" && objectID == "" {
				return nil, cliError("usage error: --assignee-object-id GUID --assignee-principal-type TYPE")
			}
			if condition != "" && conditionVersion == "" {
				conditionVersion = "2.0"
			}
			if conditionVersion != "" && condition == "" {
				return nil, cliError("usage error: When --condition-version is set, --condition must be set as well.")
			}
			cl, err := c.arm()
			if err != nil {
				return nil, err
			}
			principalID := strings.ToLower(objectID)
			if assignee != "" {
				id, known, err := c.resolveAssignee(assignee)
				if err != nil {
					return nil, err
				}
				principalID = id
				if known {
					principalType = "ServicePrincipal"
				}
			} else if principalType == "" {
				c.warn("RBAC service might reject creating role assignment without --assignee-principal-type in the future. Better to specify --assignee-principal-type manually.")
				if _, known, err := c.resolveAssignee(objectID); err == nil && known {
					principalType = "ServicePrincipal"
				}
			}
			sc, err := roleScope(cl, rg, scope)
			if err != nil {
				return nil, err
			}
			roleID, err := resolveRoleID(c.ctx(), cl, role, sc)
			if err != nil {
				return nil, err
			}
			if name == "" {
				name = uuid.NewString()
			}
			props := map[string]any{"roleDefinitionId": roleID, "principalId": principalID}
			for k, v := range map[string]string{"principalType": principalType, "description": description, "condition": condition, "conditionVersion": conditionVersion} {
				if v != "" {
					props[k] = v
				}
			}
			path := strings.TrimSuffix(sc, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + url.PathEscape(name)
			doc, err := cl.send(c.ctx(), http.MethodPut, path, apiRoleAssignments, map[string]any{"properties": props})
			var api *APIError
			if errors.As(err, &api) && api.Code == "RoleAssignmentExists" {
				// az answers with the existing assignment, as listed.
				found, lerr := c.searchAssignments(sc, principalID, roleID, false)
				if lerr == nil && len(found) > 0 {
					listed, lerr := c.describeAssignments(found, sc)
					if lerr == nil && len(listed) > 0 {
						return listed[0], nil
					}
				}
				return nil, err
			}
			if err != nil {
				return nil, err
			}
			return roleAssignmentShape.shape(doc), nil
		},
	})
}

func containsFold(list []string, s string) bool {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return true
		}
	}
	return false
}

// searchAssignments is az's _search_role_assignments: at scope (the
// assignments at it, or also those it inherits) or, without a scope, the
// whole subscription; filtered by principal and role.
func (c *azCall) searchAssignments(scope, principalID, roleID string, inherited bool) ([]map[string]any, error) {
	cl, err := c.arm()
	if err != nil {
		return nil, err
	}
	var path string
	switch {
	case scope != "":
		path = strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/roleAssignments?$filter=" + url.QueryEscape("atScope()")
	case principalID != "":
		path = cl.subPath() + "/providers/Microsoft.Authorization/roleAssignments?$filter=" + url.QueryEscape("principalId eq '"+principalID+"'")
	default:
		path = cl.subPath() + "/providers/Microsoft.Authorization/roleAssignments"
	}
	items, err := cl.list(c.ctx(), path, apiRoleAssignments)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, it := range items {
		a := obj(it)
		p := obj(a["properties"])
		at := str(p["scope"])
		if scope != "" && !strings.EqualFold(at, scope) && !(inherited && scopeInherits(at, scope)) {
			continue
		}
		if roleID != "" && !strings.EqualFold(str(p["roleDefinitionId"]), roleID) {
			continue
		}
		if principalID != "" && !strings.EqualFold(str(p["principalId"]), principalID) {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// findAssignments resolves --assignee and --role (at scope, or the
// subscription when none) and searches.
func (c *azCall) findAssignments(scope, assignee, role string, inherited bool) ([]map[string]any, error) {
	cl, err := c.arm()
	if err != nil {
		return nil, err
	}
	var principalID, roleID string
	if assignee != "" {
		if principalID, _, err = c.resolveAssignee(assignee); err != nil {
			return nil, err
		}
	}
	if role != "" {
		rs := scope
		if rs == "" {
			rs = cl.subPath()
		}
		if roleID, err = resolveRoleID(c.ctx(), cl, role, rs); err != nil {
			return nil, err
		}
	}
	return c.searchAssignments(scope, principalID, roleID, inherited)
}

// scopeInherits is az's re.match(assignment scope, scope, re.I): the
// assignment's scope is a prefix of the scope.
func scopeInherits(assignmentScope, scope string) bool {
	re, err := regexp.Compile("(?i)^" + assignmentScope)
	if err != nil {
		return strings.HasPrefix(strings.ToLower(scope), strings.ToLower(assignmentScope))
	}
	return re.MatchString(scope)
}

// describeAssignments is the tail of az's list_role_assignments: each
// assignment as the SDK model, with roleDefinitionName and principalName.
func (c *azCall) describeAssignments(assignments []map[string]any, scope string) ([]any, error) {
	out := []any{}
	if len(assignments) == 0 {
		return out, nil
	}
	cl, err := c.arm()
	if err != nil {
		return nil, err
	}
	if scope == "" {
		scope = cl.subPath()
	}
	defs, err := roleDefinitions(c.ctx(), cl, scope, "")
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, d := range defs {
		names[strings.ToLower(str(d["id"]))] = str(dig(d, "properties", "roleName"))
	}
	for _, a := range assignments {
		s := roleAssignmentShape.shape(a)
		if n, ok := names[strings.ToLower(str(s["roleDefinitionId"]))]; ok {
			s["roleDefinitionName"] = n
		} else {
			s["roleDefinitionName"] = nil
		}
		pn, err := c.displayName(str(s["principalId"]))
		if err != nil {
			return nil, err
		}
		s["principalName"] = pn
		out = append(out, s)
	}
	return out, nil
}

func newRoleAssignmentListCmd(g *globals) *cobra.Command {
	var assignee, role, rg, scope string
	var inherited, all, groups, classic bool
	return newAzCommand(g, azCmd{
		Use:   "list",
		Short: "List role assignments.",
		Long: `List role assignments. By default, only assignments scoped to the
subscription are listed; --all lists those at and below it, and --scope or
-g those at a scope (with --include-inherited, those above it too).

An assignment whose principal no longer exists (its identity was deleted)
is orphaned: ARM lists it with principalType Unknown, its principalName is
"", and the table marks it "(orphaned) <principal id>". Delete orphaned
assignments with 'mimic role assignment delete --ids'.`,
		Example: `  List the role assignments of an identity in the subscription.
    mimic role assignment list --assignee app-id --all -o table
  List the assignments at a vault's scope and above.
    mimic role assignment list --scope "$(mimic keyvault show -n kv1 --query id -o tsv)" --include-inherited
  List orphaned assignments and delete them.
    mimic role assignment delete --ids $(mimic role assignment list --all --query "[?principalType=='Unknown'].id" -o tsv)`,
		Flags: func(f *pflag.FlagSet) {
			f.StringVar(&assignee, "assignee", "", "Represent a user, group, or service principal. Supported format: object id, client id, or a user-assigned identity's name.")
			f.StringVar(&role, "role", "", "Role name or id.")
			groupFlag(f, &rg)
			f.StringVar(&scope, "scope", "", "Scope at which the role assignment or definition applies to.")
			f.BoolVar(&inherited, "include-inherited", false, "Include assignments applied on parent scopes.")
			f.BoolVar(&all, "all", false, "Show all assignments under the current subscription.")
			f.BoolVar(&groups, "include-groups", false, "Include extra assignments to the groups of which the user is a member (transitively).")
			f.BoolVar(&classic, "include-classic-administrators", false, "List default role assignments for subscription classic administrators, aka co-admins.")
		},
		Table: roleAssignmentTable,
		Run: func(c *azCall) (any, error) {
			cl, err := c.arm()
			if err != nil {
				return nil, err
			}
			sc := ""
			if all {
				if rg != "" || scope != "" {
					return nil, cliError("group or scope are not required when --all is used")
				}
			} else if sc, err = roleScope(cl, rg, scope); err != nil {
				return nil, err
			}
			found, err := c.findAssignments(sc, assignee, role, inherited)
			if err != nil {
				return nil, err
			}
			return c.describeAssignments(found, sc)
		},
	})
}

// roleAssignmentTable is az's transform_assignment_list, with orphaned
// assignments marked in the Principal column.
func roleAssignmentTable(v any) any {
	return tableRows(v, func(r map[string]any) azout.Ordered {
		principalCell := r["principalName"]
		if str(r["principalType"]) == orphanedType {
			principalCell = "(orphaned) " + str(r["principalId"])
		}
		return azout.Row("Principal", principalCell, "Role", r["roleDefinitionName"], "Scope", r["scope"])
	})
}

func newRoleAssignmentDeleteCmd(g *globals) *cobra.Command {
	var ids []string
	var assignee, role, rg, scope string
	var inherited, yes bool
	return newAzCommand(g, azCmd{
		Use:   "delete",
		Short: "Delete role assignments.",
		Example: `  Delete the assignments of an identity at a scope.
    mimic role assignment delete --assignee app-id --scope /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg
  Delete orphaned assignments.
    mimic role assignment delete --ids $(mimic role assignment list --all --query "[?principalType=='Unknown'].id" -o tsv)`,
		Flags: func(f *pflag.FlagSet) {
			multi(f, "ids", "", &ids, "Space-separated role assignment ids.")
			f.StringVar(&assignee, "assignee", "", "Represent a user, group, or service principal. Supported format: object id, client id, or a user-assigned identity's name.")
			f.StringVar(&role, "role", "", "Role name or id.")
			groupFlag(f, &rg)
			f.StringVar(&scope, "scope", "", "Scope at which the role assignment or definition applies to.")
			f.BoolVar(&inherited, "include-inherited", false, "Include assignments applied on parent scopes.")
			f.BoolVarP(&yes, "yes", "y", false, "Currently only for noninteractive mode: delete all role assignments under the subscription without a prompt.")
		},
		Run: func(c *azCall) (any, error) {
			cl, err := c.arm()
			if err != nil {
				return nil, err
			}
			if len(ids) > 0 {
				for _, opt := range []string{"assignee", "role", "resource-group", "scope", "include-inherited"} {
					if c.changed(opt) {
						c.warn("option '--%s' will be ignored due to use of '--ids'.", opt)
					}
				}
				for _, id := range ids {
					if _, err := cl.call(c.ctx(), http.MethodDelete, id, apiRoleAssignments, nil); err != nil {
						return nil, err
					}
				}
				return nil, nil
			}
			if assignee == "" && role == "" && rg == "" && scope == "" && !yes {
				if !isTerminal(c.cmd.InOrStdin()) {
					return nil, cliError("Unable to prompt for confirmation as no tty available. Use --yes.")
				}
				if err := confirm(c.g, "This will delete all role assignments under the subscription. Are you sure?"); err != nil {
					return nil, nil
				}
			}
			sc, err := roleScope(cl, rg, scope)
			if err != nil {
				return nil, err
			}
			found, err := c.findAssignments(sc, assignee, role, inherited)
			if err != nil {
				return nil, err
			}
			if len(found) == 0 {
				return nil, cliError("No matched assignments were found to delete")
			}
			for _, a := range found {
				if _, err := cl.call(c.ctx(), http.MethodDelete, str(a["id"]), apiRoleAssignments, nil); err != nil {
					return nil, err
				}
			}
			return nil, nil
		},
	})
}
