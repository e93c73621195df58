package authorization

import (
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/store"
)

// PrincipalTypes are the principal types ARM accepts.
var PrincipalTypes = []string{"User", "Group", "ServicePrincipal", "ForeignGroup", "Device"}

// OrphanedType is the principal type listings show for an assignment whose
// principal no longer exists.
const OrphanedType = "Unknown"

// Assignment is the part of a role assignment document the engine needs.
func Assignment(d arm.Doc) authz.Assignment {
	p := d.Obj("properties")
	return authz.Assignment{
		ID:               d.Str("id"),
		PrincipalID:      strings.ToLower(p.Str("principalId")),
		RoleID:           RoleGUID(p.Str("roleDefinitionId")),
		Scope:            p.Str("scope"),
		Condition:        p.Str("condition"),
		ConditionVersion: p.Str("conditionVersion"),
	}
}

func serveAssignment(c *arm.Call) error {
	scope := c.ID.Target()
	switch c.R.Method {
	case http.MethodGet:
		if err := c.Authorize(AssignmentType+"/read", scope); err != nil {
			return err
		}
		var doc arm.Doc
		err := c.View(func() error {
			var err error
			if doc, err = c.Load(c.ID); err != nil {
				return err
			}
			return markOrphan(c, doc)
		})
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, doc)
	case http.MethodPut:
		return putAssignment(c, scope)
	case http.MethodDelete:
		return deleteAssignment(c, scope)
	}
	return armerr.MethodNotAllowed(c.R.Method, AssignmentType)
}

// markOrphan sets principalType "Unknown" on an assignment whose principal
// is gone.
func markOrphan(c *arm.Call, doc arm.Doc) error {
	p := doc.Obj("properties")
	_, err := c.Tx.GetPrincipal(c.Ctx, p.Str("principalId"))
	if errors.Is(err, store.ErrNotFound) {
		p["principalType"] = OrphanedType
		return nil
	}
	return err
}

func putAssignment(c *arm.Call, scope resourceid.ID) error {
	name := c.ID.Name()
	if !IsGUID(name) {
		return armerr.BadRequest("InvalidRoleAssignmentId", "The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", name)
	}
	body, err := arm.DecodeDoc(c.Body)
	if err != nil {
		return armerr.InvalidRequestContent(err.Error())
	}
	in := body.Obj("properties")
	roleDefID, principalID := in.Str("roleDefinitionId"), strings.ToLower(in.Str("principalId"))
	switch {
	case roleDefID == "":
		return armerr.BadRequest("InvalidRoleAssignmentRequest", "The role assignment must have a 'roleDefinitionId'.")
	case principalID == "":
		return armerr.BadRequest("InvalidRoleAssignmentRequest", "The role assignment must have a 'principalId'.")
	case !IsGUID(principalID):
		return armerr.BadRequest("InvalidPrincipalId", "A valid principal ID must be provided for role assignment.")
	}
	roleGUID := RoleGUID(roleDefID)
	principalType := in.Str("principalType")
	if principalType != "" {
		canonical := ""
		for _, t := range PrincipalTypes {
			if strings.EqualFold(t, principalType) {
				canonical = t
			}
		}
		if canonical == "" {
			return armerr.BadRequest("InvalidPrincipalType", "The principal type '%s' is not valid. Valid types are '%s'.", principalType, strings.Join(PrincipalTypes, "', '"))
		}
		principalType = canonical
	}
	condition, condVersion := in.Str("condition"), in.Str("conditionVersion")
	if condition != "" {
		if condVersion == "" {
			condVersion = "2.0"
		}
		if _, err := authz.ParseCondition(condition, condVersion); err != nil {
			return armerr.BadRequest("InvalidConditionExpression", "The condition of the role assignment is not valid: %s", err.Error())
		}
	} else if condVersion != "" {
		return armerr.BadRequest("InvalidConditionVersion", "A conditionVersion was given without a condition.")
	}
	attrs := map[string]string{
		authz.AttrRequestRoleDefinitionID: roleGUID,
		authz.AttrRequestPrincipalID:      principalID,
		authz.AttrRequestPrincipalType:    principalType,
	}
	if err := c.AuthorizeWith(AssignmentType+"/write", scope, attrs); err != nil {
		return err
	}
	var out arm.Doc
	created := false
	err = c.Update(func() error {
		if err := c.EnsureScope(c.ID); err != nil {
			return err
		}
		if !scope.IsRoot() {
			if d, err := c.Get(scope); err != nil {
				return err
			} else if d == nil {
				return c.NotFound(scope)
			}
		}
		role, _, err := findDefinition(c, roleGUID, scope)
		if err != nil {
			return err
		}
		if role == nil {
			return armerr.BadRequest("RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", roleGUID)
		}
		if assignable, _ := role.Obj("properties").StrSlice("assignableScopes"); !assignableAt(assignable, scope) {
			return armerr.BadRequest("RoleAssignmentScopeNotAssignableToRoleDefinition",
				"The role definition '%s' is not assignable at scope '%s'.", role.Obj("properties").Str("roleName"), scope)
		}
		p, err := c.Tx.GetPrincipal(c.Ctx, principalID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if principalType == "" {
				return armerr.BadRequest("PrincipalNotFound",
					"Principal %s does not exist in the directory %s. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
					strings.ReplaceAll(principalID, "-", ""), c.Tenant())
			}
		case err != nil:
			return err
		case principalType == "":
			principalType = "ServicePrincipal"
		case principalType != "ServicePrincipal":
			return armerr.BadRequest("UnmatchedPrincipalType",
				"The PrincipalId '%s' has type 'ServicePrincipal', which is different from specified PrincipalType '%s'.", strings.ReplaceAll(p.ObjectID, "-", ""), principalType)
		}
		canonScope, err := c.CanonicalID(scope)
		if err != nil {
			return err
		}
		old, err := c.Get(c.ID)
		if err != nil {
			return err
		}
		if old != nil {
			op := old.Obj("properties")
			if RoleGUID(op.Str("roleDefinitionId")) != roleGUID || !strings.EqualFold(op.Str("principalId"), principalID) || op.Str("condition") != condition {
				return armerr.BadRequest("RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
			}
			out = old
			return markOrphan(c, out)
		}
		siblings, err := c.Tx.ListResources(c.Ctx, store.ResourceFilter{Type: AssignmentType, Parent: scope.String()})
		if err != nil {
			return err
		}
		for _, r := range siblings {
			s, err := arm.DecodeDoc(r.Body)
			if err != nil {
				return err
			}
			sp := s.Obj("properties")
			if RoleGUID(sp.Str("roleDefinitionId")) == roleGUID && strings.EqualFold(sp.Str("principalId"), principalID) && sp.Str("condition") == condition {
				return armerr.Conflict("RoleAssignmentExists", "The role assignment already exists.")
			}
		}
		out = NewAssignmentDoc(canonScope, name, roleGUID, principalID, principalType, c.Caller.ObjectID)
		props := out.Obj("properties")
		if condition != "" {
			props["condition"], props["conditionVersion"] = condition, condVersion
		}
		if d := in.Str("description"); d != "" {
			props["description"] = d
		}
		if d := in.Str("delegatedManagedIdentityResourceId"); d != "" {
			props["delegatedManagedIdentityResourceId"] = d
		}
		created = true
		if err := c.Save(c.Type, out); err != nil {
			return err
		}
		if err := c.RBACChanged(); err != nil {
			return err
		}
		return markOrphan(c, out)
	})
	if err != nil {
		return err
	}
	if created {
		return c.JSON(http.StatusCreated, out)
	}
	return c.JSON(http.StatusOK, out)
}

// NewAssignmentDoc builds a role assignment document.
func NewAssignmentDoc(scope resourceid.ID, name, roleGUID, principalID, principalType, createdBy string) arm.Doc {
	name = strings.ToLower(name)
	return arm.Doc{
		"id":   scope.Extension(namespace, "roleAssignments", name).String(),
		"name": name,
		"type": AssignmentType,
		"properties": arm.Doc{
			"roleDefinitionId": DefinitionID(scope, roleGUID),
			"principalId":      principalID,
			"principalType":    principalType,
			"scope":            scope.String(),
			"createdOn":        now(),
			"updatedOn":        now(),
			"createdBy":        createdBy,
			"updatedBy":        createdBy,
		},
	}
}

func assignableAt(scopes []string, scope resourceid.ID) bool {
	for _, s := range scopes {
		id, err := resourceid.Parse(s)
		if err == nil && id.Contains(scope) {
			return true
		}
	}
	return false
}

func deleteAssignment(c *arm.Call, scope resourceid.ID) error {
	if err := c.Authorize(AssignmentType+"/delete", scope); err != nil {
		return err
	}
	var deleted arm.Doc
	err := c.Update(func() error {
		doc, err := c.Get(c.ID)
		if err != nil || doc == nil {
			return err
		}
		if err := markOrphan(c, doc); err != nil {
			return err
		}
		if err := c.Tx.DeleteResource(c.Ctx, c.ID.String()); err != nil {
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

// assignmentFilter is a parsed $filter of a role assignment listing.
type assignmentFilter struct {
	atScope   bool
	principal string
}

var (
	reAtScope    = regexp.MustCompile(`(?i)^atScope\(\)$`)
	rePrincipal  = regexp.MustCompile(`(?i)^principalId\s+eq\s+'([^']+)'$`)
	reAssignedTo = regexp.MustCompile(`(?i)^assignedTo\('([^']+)'\)$`)
)

func parseAssignmentFilter(f string) (assignmentFilter, error) {
	var af assignmentFilter
	f = strings.TrimSpace(f)
	if f == "" {
		return af, nil
	}
	for _, clause := range regexp.MustCompile(`(?i)\s+and\s+`).Split(f, -1) {
		clause = strings.TrimSpace(clause)
		switch {
		case reAtScope.MatchString(clause):
			af.atScope = true
		case rePrincipal.MatchString(clause):
			af.principal = strings.ToLower(rePrincipal.FindStringSubmatch(clause)[1])
		case reAssignedTo.MatchString(clause):
			af.principal = strings.ToLower(reAssignedTo.FindStringSubmatch(clause)[1])
		default:
			return af, armerr.BadRequest("UnsupportedQuery",
				"The filter '%s' is not supported. Supported filters are atScope(), \"principalId eq '{id}'\", assignedTo('{id}') and their combination with atScope().", f)
		}
	}
	return af, nil
}

// listAssignments serves {scope}/providers/Microsoft.Authorization/roleAssignments:
// assignments at, above and below the scope; with atScope(), at and above
// only; with a principal filter, that principal's only.
func listAssignments(c *arm.Call) error {
	f, err := parseAssignmentFilter(c.R.URL.Query().Get("$filter"))
	if err != nil {
		return err
	}
	if err := c.Authorize(AssignmentType+"/read", c.ID); err != nil {
		return err
	}
	var out []arm.Doc
	err = c.View(func() error {
		if !c.ID.IsRoot() {
			if d, err := c.Get(c.ID); err != nil {
				return err
			} else if d == nil {
				return c.NotFound(c.ID)
			}
		}
		rs, err := c.Tx.ListResources(c.Ctx, store.ResourceFilter{Type: AssignmentType})
		if err != nil {
			return err
		}
		for _, r := range rs {
			d, err := arm.DecodeDoc(r.Body)
			if err != nil {
				return err
			}
			p := d.Obj("properties")
			at, err := resourceid.Parse(p.Str("scope"))
			if err != nil {
				continue
			}
			above := at.Contains(c.ID)
			if !above && (f.atScope || !c.ID.Contains(at)) {
				continue
			}
			if f.principal != "" && !strings.EqualFold(p.Str("principalId"), f.principal) {
				continue
			}
			if err := markOrphan(c, d); err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.List(out, "")
}

// --- deny assignments ---

// Deny is the part of a deny assignment document the engine needs.
func Deny(d arm.Doc) authz.DenyAssignment {
	p := d.Obj("properties")
	out := authz.DenyAssignment{ID: d.Str("id"), Name: p.Str("denyAssignmentName"), Scope: p.Str("scope")}
	out.DoNotApplyToChildScopes, _ = p.Bool("doNotApplyToChildScopes")
	for _, key := range []string{"principals", "excludePrincipals"} {
		list, _ := p[key].([]any)
		for _, e := range list {
			m, _ := e.(map[string]any)
			if id, _ := m["id"].(string); id != "" {
				if key == "principals" {
					out.Principals = append(out.Principals, strings.ToLower(id))
				} else {
					out.ExcludePrincipals = append(out.ExcludePrincipals, strings.ToLower(id))
				}
			}
		}
	}
	out.Permissions = permissionsFrom(p["permissions"])
	return out
}

func serveDeny(c *arm.Call) error {
	if c.R.Method != http.MethodGet {
		return armerr.New(http.StatusMethodNotAllowed, "MethodNotAllowed",
			"Deny assignments cannot be written through the API; load them with 'mimic import' or the server configuration.")
	}
	if err := c.Authorize(DenyType+"/read", c.ID.Target()); err != nil {
		return err
	}
	var doc arm.Doc
	if err := c.View(func() error { var err error; doc, err = c.Load(c.ID); return err }); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, doc)
}

func listDenies(c *arm.Call) error {
	if err := c.Authorize(DenyType+"/read", c.ID); err != nil {
		return err
	}
	atScope := strings.EqualFold(strings.TrimSpace(c.R.URL.Query().Get("$filter")), "atScope()")
	var out []arm.Doc
	err := c.View(func() error {
		rs, err := c.Tx.ListResources(c.Ctx, store.ResourceFilter{Type: DenyType})
		if err != nil {
			return err
		}
		for _, r := range rs {
			d, err := arm.DecodeDoc(r.Body)
			if err != nil {
				return err
			}
			at, err := resourceid.Parse(d.Obj("properties").Str("scope"))
			if err != nil {
				continue
			}
			if at.Contains(c.ID) || (!atScope && c.ID.Contains(at)) {
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

// listPermissions serves {scope}/providers/Microsoft.Authorization/permissions:
// the caller's own permission blocks at the scope.
func listPermissions(c *arm.Call) error {
	perms, err := c.S.Authz.Permissions(c.Ctx, c.Caller.ObjectID, c.ID)
	if err != nil {
		return err
	}
	out := make([]arm.Doc, 0, len(perms))
	for _, p := range perms {
		out = append(out, permissionDoc(p))
	}
	return c.List(out, "")
}
