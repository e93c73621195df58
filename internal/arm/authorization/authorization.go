// Package authorization is the Microsoft.Authorization provider: role
// definitions (Azure's built-in catalogue, served from embedded data, plus
// custom roles), role assignments at any scope with the $filter forms the
// SDKs and az send, deny assignments (read-only, as in Azure), and the
// caller's permissions listing.
//
// Role assignments are immutable extension resources. Creating one checks
// the role (it must exist and be assignable at the scope), the principal
// (it must exist unless principalType is given, which is Azure's escape
// hatch for replication delays), duplicates (409 RoleAssignmentExists) and
// the condition, which must parse and be evaluable (package authz) or the
// assignment is refused. An assignment whose principal no longer exists is
// orphaned: it stays, grants nothing to new tokens, and is listed with
// principalType "Unknown".
package authorization

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/roles"
	"github.com/mimic-emu/mimic/internal/store"
)

// Type names.
const (
	AssignmentType  = "Microsoft.Authorization/roleAssignments"
	DefinitionType  = "Microsoft.Authorization/roleDefinitions"
	DenyType        = "Microsoft.Authorization/denyAssignments"
	PermissionsType = "Microsoft.Authorization/permissions"
	namespace       = "Microsoft.Authorization"
)

// APIVersions of Microsoft.Authorization: armauthorization/v2 sends
// 2022-04-01 (and 2020-10-01 for PIM); az 2.45 sends 2020-04-01-preview for
// assignments and 2018-01-01-preview for definitions.
var APIVersions = []string{
	"2014-07-01-preview", "2015-06-01", "2015-07-01", "2017-05-01", "2017-10-01-preview", "2018-01-01-preview",
	"2018-07-01-preview", "2018-09-01-preview", "2019-08-01-preview", "2020-03-01-preview", "2020-04-01-preview",
	"2020-08-01-preview", "2020-10-01", "2020-10-01-preview", "2021-03-01-preview", "2022-01-01-preview",
	"2022-04-01", "2022-05-01-preview", "2022-08-01-preview",
}

func versions() []string { return append([]string(nil), APIVersions...) }

// Register adds the Microsoft.Authorization types.
func Register(r *arm.Registry) {
	r.Register(
		&arm.Type{Name: AssignmentType, APIVersions: versions(), Placement: arm.Extension, Serve: serveAssignment, List: listAssignments},
		&arm.Type{Name: DefinitionType, APIVersions: versions(), Placement: arm.Extension, Serve: serveDefinition, List: listDefinitions},
		&arm.Type{Name: DenyType, APIVersions: versions(), Placement: arm.Extension, Serve: serveDeny, List: listDenies},
		&arm.Type{Name: PermissionsType, APIVersions: versions(), Placement: arm.Extension, List: listPermissions},
	)
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsGUID reports whether s is a GUID.
func IsGUID(s string) bool { return guidRE.MatchString(s) }

// DefinitionID returns the id under which a role definition appears at a
// scope: subscription-level inside a subscription, tenant-level otherwise.
func DefinitionID(scope resourceid.ID, guid string) string {
	if scope.Subscription != "" {
		return "/subscriptions/" + scope.Subscription + "/providers/" + DefinitionType + "/" + guid
	}
	return "/providers/" + DefinitionType + "/" + guid
}

// RoleGUID extracts the GUID from a role definition id or GUID.
func RoleGUID(roleDefinitionID string) string {
	return strings.ToLower(roleDefinitionID[strings.LastIndexByte(roleDefinitionID, '/')+1:])
}

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z") }

// --- role definitions ---

// BuiltinDoc renders a built-in role as ARM returns it at scope.
func BuiltinDoc(d *roles.Definition, scope resourceid.ID) arm.Doc {
	perms := make([]any, 0, len(d.Permissions))
	for _, p := range d.Permissions {
		perms = append(perms, permissionDoc(p))
	}
	return arm.Doc{
		"id":   DefinitionID(scope, d.ID),
		"name": d.ID,
		"type": DefinitionType,
		"properties": arm.Doc{
			"roleName":         d.RoleName,
			"type":             "BuiltInRole",
			"description":      d.Description,
			"assignableScopes": []string{"/"},
			"permissions":      perms,
			"createdOn":        "2015-02-02T21:55:09.8806423Z",
			"updatedOn":        "2024-04-25T00:00:00.0000000Z",
			"createdBy":        nil,
			"updatedBy":        nil,
		},
	}
}

func permissionDoc(p roles.Permission) arm.Doc {
	d := arm.Doc{
		"actions":        nonNil(p.Actions),
		"notActions":     nonNil(p.NotActions),
		"dataActions":    nonNil(p.DataActions),
		"notDataActions": nonNil(p.NotDataActions),
	}
	if p.Condition != "" {
		d["condition"], d["conditionVersion"] = p.Condition, p.ConditionVersion
	}
	return d
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// CustomDefinitions returns every custom role definition document.
func CustomDefinitions(c *arm.Call) ([]arm.Doc, error) {
	rs, err := c.Tx.ListResources(c.Ctx, store.ResourceFilter{Type: DefinitionType})
	if err != nil {
		return nil, err
	}
	out := make([]arm.Doc, 0, len(rs))
	for _, r := range rs {
		d, err := arm.DecodeDoc(r.Body)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// findDefinition finds a role definition by GUID: built-in or custom.
func findDefinition(c *arm.Call, guid string, scope resourceid.ID) (arm.Doc, bool, error) {
	if d, ok := roles.ByID(guid); ok {
		return BuiltinDoc(d, scope), true, nil
	}
	custom, err := CustomDefinitions(c)
	if err != nil {
		return nil, false, err
	}
	for _, d := range custom {
		if strings.EqualFold(d.Str("name"), guid) {
			return d, false, nil
		}
	}
	return nil, false, nil
}

func definitionNotFound(guid string) error {
	return armerr.New(http.StatusNotFound, "RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", guid)
}

func serveDefinition(c *arm.Call) error {
	guid := c.ID.Name()
	scope := c.ID.Target()
	switch c.R.Method {
	case http.MethodGet:
		if err := c.Authorize(DefinitionType+"/read", scope); err != nil {
			return err
		}
		var doc arm.Doc
		err := c.View(func() error {
			var err error
			doc, _, err = findDefinition(c, guid, scope)
			return err
		})
		if err != nil {
			return err
		}
		if doc == nil {
			return definitionNotFound(guid)
		}
		return c.JSON(http.StatusOK, doc)
	case http.MethodPut:
		return putDefinition(c, guid, scope)
	case http.MethodDelete:
		return deleteDefinition(c, guid, scope)
	}
	return armerr.MethodNotAllowed(c.R.Method, DefinitionType)
}

func putDefinition(c *arm.Call, guid string, scope resourceid.ID) error {
	if !IsGUID(guid) {
		return armerr.BadRequest("InvalidRoleDefinitionId", "The role definition ID '%s' is not valid. The role definition ID must be a GUID.", guid)
	}
	if _, builtin := roles.ByID(guid); builtin {
		return armerr.BadRequest("RoleDefinitionUpdateNotAllowed", "The role definition '%s' is a built-in role and cannot be changed.", guid)
	}
	body, err := arm.DecodeDoc(c.Body)
	if err != nil {
		return armerr.InvalidRequestContent(err.Error())
	}
	in := body.Obj("properties")
	name := strings.TrimSpace(in.Str("roleName"))
	if name == "" {
		return armerr.BadRequest("InvalidRoleDefinition", "The role definition must have a 'roleName'.")
	}
	scopes, ok := in.StrSlice("assignableScopes")
	if !ok || len(scopes) == 0 {
		return armerr.BadRequest("InvalidRoleDefinition", "The role definition must have at least one assignable scope in 'assignableScopes'.")
	}
	var scopeIDs []resourceid.ID
	for _, s := range scopes {
		id, err := resourceid.Parse(s)
		if err != nil || id.IsResource() && !id.IsResourceGroup() && id.Subscription == "" {
			return armerr.BadRequest("InvalidAssignableScope", "The assignable scope '%s' is not a valid scope.", s)
		}
		scopeIDs = append(scopeIDs, id)
	}
	perms, err := parsePermissions(in)
	if err != nil {
		return err
	}
	for _, s := range scopeIDs {
		if err := c.Authorize(DefinitionType+"/write", s); err != nil {
			return err
		}
	}
	if _, dup := roles.ByName(name); dup {
		return armerr.Conflict("RoleDefinitionWithSameNameExists", "A role definition cannot be updated with a name that already exists.")
	}
	var out arm.Doc
	created := false
	err = c.Update(func() error {
		for _, s := range scopeIDs {
			if err := c.EnsureScope(s.Extension(namespace, "roleDefinitions", guid)); err != nil {
				return err
			}
		}
		custom, err := CustomDefinitions(c)
		if err != nil {
			return err
		}
		var old arm.Doc
		for _, d := range custom {
			if strings.EqualFold(d.Str("name"), guid) {
				old = d
			} else if strings.EqualFold(d.Obj("properties").Str("roleName"), name) {
				return armerr.Conflict("RoleDefinitionWithSameNameExists", "A role definition cannot be updated with a name that already exists.")
			}
		}
		id := c.ID.String()
		createdOn := now()
		if old != nil {
			id, createdOn = old.Str("id"), old.Obj("properties").Str("createdOn")
		}
		out = arm.Doc{
			"id": id, "name": strings.ToLower(guid), "type": DefinitionType,
			"properties": arm.Doc{
				"roleName": name, "type": "CustomRole", "description": in.Str("description"),
				"assignableScopes": scopes, "permissions": perms,
				"createdOn": createdOn, "updatedOn": now(),
				"createdBy": c.Caller.ObjectID, "updatedBy": c.Caller.ObjectID,
			},
		}
		if old == nil {
			out.Obj("properties")["createdBy"] = c.Caller.ObjectID
		} else {
			out.Obj("properties")["createdBy"] = old.Obj("properties")["createdBy"]
		}
		created = old == nil
		if err := c.Save(c.Type, out); err != nil {
			return err
		}
		return c.RBACChanged()
	})
	if err != nil {
		return err
	}
	if created {
		return c.JSON(http.StatusCreated, out)
	}
	return c.JSON(http.StatusOK, out)
}

func parsePermissions(in arm.Doc) ([]any, error) {
	raw, ok := in["permissions"].([]any)
	if !ok || len(raw) == 0 {
		return nil, armerr.BadRequest("InvalidRoleDefinition", "The role definition must have at least one entry in 'permissions'.")
	}
	out := make([]any, 0, len(raw))
	for i, r := range raw {
		p, ok := r.(map[string]any)
		if !ok {
			return nil, armerr.InvalidRequestContent(fmt.Sprintf("permissions[%d] must be an object", i))
		}
		pd := arm.Doc(p)
		perm := roles.Permission{}
		for key, dst := range map[string]*[]string{"actions": &perm.Actions, "notActions": &perm.NotActions, "dataActions": &perm.DataActions, "notDataActions": &perm.NotDataActions} {
			if _, present := pd[key]; !present || pd[key] == nil {
				continue
			}
			v, ok := pd.StrSlice(key)
			if !ok {
				return nil, armerr.InvalidRequestContent(fmt.Sprintf("permissions[%d].%s must be an array of strings", i, key))
			}
			for _, a := range v {
				if err := checkActionPattern(a); err != nil {
					return nil, err
				}
			}
			*dst = v
		}
		if len(perm.Actions)+len(perm.DataActions) == 0 {
			return nil, armerr.BadRequest("InvalidRoleDefinition", "permissions[%d] grants nothing: it needs 'actions' or 'dataActions'.", i)
		}
		out = append(out, permissionDoc(perm))
	}
	return out, nil
}

func checkActionPattern(a string) error {
	if a == "" || strings.ContainsAny(a, " \t\r\n") {
		return armerr.BadRequest("InvalidActionOrNotAction", "'%s' is not a valid action or notAction.", a)
	}
	return nil
}

func deleteDefinition(c *arm.Call, guid string, scope resourceid.ID) error {
	if _, builtin := roles.ByID(guid); builtin {
		return armerr.BadRequest("RoleDefinitionUpdateNotAllowed", "The role definition '%s' is a built-in role and cannot be deleted.", guid)
	}
	if err := c.Authorize(DefinitionType+"/delete", scope); err != nil {
		return err
	}
	var deleted arm.Doc
	err := c.Update(func() error {
		doc, _, err := findDefinition(c, guid, scope)
		if err != nil || doc == nil {
			return err
		}
		assignments, err := c.Tx.ListResources(c.Ctx, store.ResourceFilter{Type: AssignmentType})
		if err != nil {
			return err
		}
		for _, r := range assignments {
			a, err := arm.DecodeDoc(r.Body)
			if err != nil {
				return err
			}
			if RoleGUID(a.Obj("properties").Str("roleDefinitionId")) == strings.ToLower(guid) {
				return armerr.Conflict("RoleDefinitionHasAssignments", "There are existing role assignments referencing role '%s'; delete them first.", guid)
			}
		}
		if err := c.Tx.DeleteResource(c.Ctx, doc.Str("id")); err != nil {
			return err
		}
		deleted = doc
		return c.RBACChanged()
	})
	if err != nil {
		return err
	}
	if deleted == nil {
		return c.NoContent(http.StatusNoContent)
	}
	return c.JSON(http.StatusOK, deleted)
}

func listDefinitions(c *arm.Call) error {
	if err := c.Authorize(DefinitionType+"/read", c.ID); err != nil {
		return err
	}
	filter := strings.TrimSpace(c.R.URL.Query().Get("$filter"))
	var wantName, wantType string
	if filter != "" {
		field, value, ok := parseEq(filter)
		switch {
		case ok && strings.EqualFold(field, "roleName"):
			wantName = value
		case ok && strings.EqualFold(field, "type"):
			wantType = value
		default:
			return armerr.BadRequest("UnsupportedQuery", "The filter '%s' is not supported. Supported filters are \"roleName eq '{name}'\" and \"type eq 'BuiltInRole|CustomRole'\".", filter)
		}
	}
	var out []arm.Doc
	err := c.View(func() error {
		if !c.ID.IsRoot() {
			if err := c.EnsureScope(c.ID.Extension(namespace, "roleDefinitions", "x")); err != nil {
				return err
			}
		}
		keep := func(d arm.Doc) bool {
			p := d.Obj("properties")
			return (wantName == "" || strings.EqualFold(p.Str("roleName"), wantName)) &&
				(wantType == "" || strings.EqualFold(p.Str("type"), wantType))
		}
		for _, d := range roles.Builtin() {
			if doc := BuiltinDoc(d, c.ID); keep(doc) {
				out = append(out, doc)
			}
		}
		custom, err := CustomDefinitions(c)
		if err != nil {
			return err
		}
		for _, d := range custom {
			scopes, _ := d.Obj("properties").StrSlice("assignableScopes")
			if keep(d) && visibleAt(scopes, c.ID) {
				out = append(out, d)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.List(out, "")
}

// visibleAt reports whether a custom role with these assignable scopes is
// listed at scope: one of them contains the scope or lies below it.
func visibleAt(scopes []string, scope resourceid.ID) bool {
	for _, s := range scopes {
		id, err := resourceid.Parse(s)
		if err == nil && (id.Contains(scope) || scope.Contains(id)) {
			return true
		}
	}
	return false
}

// parseEq parses "field eq 'value'".
func parseEq(clause string) (field, value string, ok bool) {
	parts := strings.SplitN(strings.TrimSpace(clause), " ", 3)
	if len(parts) != 3 || !strings.EqualFold(parts[1], "eq") {
		return "", "", false
	}
	v := strings.TrimSpace(parts[2])
	if len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
		return "", "", false
	}
	return parts[0], strings.ReplaceAll(v[1:len(v)-1], "''", "'"), true
}

// CustomRole converts a custom role definition document for the engine.
func CustomRole(d arm.Doc) authz.Role {
	p := d.Obj("properties")
	return authz.Role{ID: strings.ToLower(d.Str("name")), Name: p.Str("roleName"), Permissions: permissionsFrom(p["permissions"])}
}

// permissionsFrom reads a "permissions" array of a stored document.
func permissionsFrom(v any) []authz.Permission {
	list, _ := v.([]any)
	out := make([]authz.Permission, 0, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		pd := arm.Doc(m)
		var perm authz.Permission
		perm.Actions, _ = pd.StrSlice("actions")
		perm.NotActions, _ = pd.StrSlice("notActions")
		perm.DataActions, _ = pd.StrSlice("dataActions")
		perm.NotDataActions, _ = pd.StrSlice("notDataActions")
		perm.Condition, perm.ConditionVersion = pd.Str("condition"), pd.Str("conditionVersion")
		out = append(out, perm)
	}
	return out
}
