package kvplane

import (
	"net/http"
	"strings"

	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/dataplane"
)

// decide authorizes an operation of a caller under the vault's permission
// model: Azure RBAC data actions, or the vault's access policies. The two
// are exclusive, as in Azure: a vault in RBAC mode ignores its access
// policies, and one in access-policy mode ignores role assignments.
func (p *Plane) decide(v *vault, c *dataplane.Caller, o *op, scope string) authz.Decision {
	if v.rbac {
		return p.guard.Check(c, o.dataAction, true, scope, nil)
	}
	return policyDecision(v, c, o.permission)
}

// policyDecision decides a secrets permission under a vault's access
// policies. An entry applies to the caller when its tenant is the token's
// tenant and its objectId is the caller's object id; an entry with an
// applicationId (a compound identity) applies only when the token's
// application is that one too. The permission may be granted by name or
// by "all".
func policyDecision(v *vault, c *dataplane.Caller, permission string) authz.Decision {
	tid := ""
	if c.Claims != nil {
		tid = c.Claims.Tid
	}
	var held []string
	matched := false
	for i := range v.policies {
		ap := &v.policies[i]
		if !strings.EqualFold(ap.ObjectID, c.PrincipalID) || !strings.EqualFold(ap.TenantID, tid) {
			continue
		}
		if ap.ApplicationID != "" && !strings.EqualFold(ap.ApplicationID, c.ClientID) {
			continue
		}
		matched = true
		if ap.Allows("secrets", permission) {
			reason := "the access policy of vault " + v.name + " for object " + ap.ObjectID
			if ap.ApplicationID != "" {
				reason += " with application " + ap.ApplicationID
			}
			return authz.Allow(reason + " grants secrets " + permission)
		}
		held = append(held, ap.Permissions["secrets"]...)
	}
	if matched {
		grants := "no secrets permissions"
		if len(held) > 0 {
			grants = "secrets [" + strings.Join(held, " ") + "]"
		}
		return authz.Refuse("the access policy of vault " + v.name + " for object " + c.PrincipalID + " grants " + grants +
			", not secrets " + permission + " (the vault uses access policies, so role assignments do not apply)")
	}
	return authz.Refuse("no access policy of vault " + v.name + " names object " + c.PrincipalID + " (application " + c.ClientID +
		"), so it has no secrets " + permission + " permission (the vault uses access policies, so role assignments do not apply)")
}

// callerString describes the caller as Key Vault's 403 messages do.
func callerString(c *dataplane.Caller) string {
	var b strings.Builder
	b.WriteString("appid=")
	b.WriteString(c.ClientID)
	b.WriteString(";oid=")
	b.WriteString(c.PrincipalID)
	if c.Claims != nil {
		b.WriteString(";iss=")
		b.WriteString(c.Claims.Iss)
		if c.Claims.XmsMirid != "" {
			b.WriteString(";xms_mirid=")
			b.WriteString(c.Claims.XmsMirid)
		}
		if c.Claims.XmsAzRid != "" {
			b.WriteString(";xms_az_rid=")
			b.WriteString(c.Claims.XmsAzRid)
		}
	}
	return b.String()
}

// forbidden is the 403 a denied caller gets: ForbiddenByRbac in RBAC mode,
// AccessDenied in access-policy mode, each with Key Vault's message.
func forbidden(v *vault, c *dataplane.Caller, o *op, scope string, d authz.Decision) *kvError {
	if !v.rbac {
		return newError(http.StatusForbidden, "Forbidden", "AccessDenied",
			"The user, group or application '%s' does not have secrets %s permission on key vault '%s;location=%s'. For help resolving this issue, please see %s",
			callerString(c), o.permission, v.name, v.location, linkAccessDenied)
	}
	deny := "null"
	if dd := d.Denied(); dd != nil {
		deny = dd.ID
	}
	return newError(http.StatusForbidden, "Forbidden", "ForbiddenByRbac",
		"Caller is not authorized to perform action on resource.\r\n"+
			"If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n"+
			"Caller: %s\r\nAction: '%s'\r\nResource: '%s'\r\nAssignment: (not found)\r\nDenyAssignmentId: %s\r\nDecisionReason: null \r\nVault: %s;location=%s\r\n",
		callerString(c), o.dataAction, strings.ToLower(scope), deny, v.name, v.location)
}

// recoveryLevel is the deletion recovery level of a vault's objects, which
// Key Vault reports in every secret's attributes.
func recoveryLevel(softDelete, purgeProtection bool, days int64) string {
	switch {
	case !softDelete:
		return "Purgeable"
	case purgeProtection && days == 90:
		return "Recoverable"
	case purgeProtection:
		return "CustomizedRecoverable"
	case days == 90:
		return "Recoverable+Purgeable"
	default:
		return "CustomizedRecoverable+Purgeable"
	}
}

// errNoPublicAccess is the 403 of a vault whose public network access is
// disabled.
func errNoPublicAccess(v *vault, c *dataplane.Caller) *kvError {
	return newError(http.StatusForbidden, "Forbidden", "ForbiddenByConnection",
		"Public network access is disabled and request is not from a trusted service nor via an approved private link.\r\nCaller: %s\r\nVault: %s;location=%s",
		callerString(c), v.name, v.location)
}
