package authz

import (
	"strings"

	"github.com/mimic-emu/mimic/authzkit"
)

// Reference is the brute-force oracle: the semantics written out as plainly
// as possible, sharing no code with the engine or the peers' encodings. Its
// only index is a map from lower-cased principal to that principal's
// assignments; every scope is compared segment by segment with
// strings.EqualFold and every pattern is matched by a recursive glob.
type Reference struct {
	roles  map[string]authzkit.Role // by lower-cased id
	byP    map[string][]*authzkit.Assignment
	denies []authzkit.DenyAssignment
}

// Outcome says why the reference decided as it did.
type Outcome uint8

const (
	NoGrant Outcome = iota // no assignment grants
	Granted                // an assignment grants, no deny applies
	Denied                 // an assignment grants, but a deny assignment blocks it
)

// NewReference indexes the dataset for the oracle.
func NewReference(ds *Dataset) *Reference {
	r := &Reference{roles: map[string]authzkit.Role{}, byP: map[string][]*authzkit.Assignment{}, denies: ds.Denies}
	for _, ro := range ds.Roles {
		r.roles[strings.ToLower(ro.ID)] = ro
	}
	for i := range ds.Assignments {
		a := &ds.Assignments[i]
		p := strings.ToLower(a.PrincipalID)
		r.byP[p] = append(r.byP[p], a)
	}
	return r
}

// Decide answers q and says why.
func (r *Reference) Decide(q *Query) Outcome {
	granted := false
	for _, a := range r.byP[strings.ToLower(q.Principal)] {
		role, ok := r.roles[strings.ToLower(a.RoleID)]
		if ok && refScopeCovers(a.Scope, q.Scope, false) && refRoleAllows(role.Permissions, q) {
			granted = true
			break
		}
	}
	if !granted {
		return NoGrant
	}
	for _, d := range r.denies {
		if refDenyApplies(&d, q) {
			return Denied
		}
	}
	return Granted
}

// Allowed is Decide's verdict.
func (r *Reference) Allowed(q *Query) bool { return r.Decide(q) == Granted }

func refDenyApplies(d *authzkit.DenyAssignment, q *Query) bool {
	listed := false
	for _, p := range d.Principals {
		if p == authzkit.Everyone || strings.EqualFold(p, q.Principal) {
			listed = true
		}
	}
	for _, p := range d.ExcludePrincipals {
		if strings.EqualFold(p, q.Principal) {
			return false
		}
	}
	return listed && refScopeCovers(d.Scope, q.Scope, d.DoNotApplyToChildScopes) && refRoleAllows(d.Permissions, q)
}

// refScopeCovers reports whether scope (an assignment's) covers target: its
// segments are a prefix of target's, or all of them when exact.
func refScopeCovers(scope, target string, exact bool) bool {
	a := segments(scope)
	b := segments(target)
	if len(a) > len(b) || exact && len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

func segments(s string) []string {
	var out []string
	for _, x := range strings.Split(s, "/") {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

// refRoleAllows: some block lists the action on the request's plane and
// does not exclude it.
func refRoleAllows(perms []authzkit.Permission, q *Query) bool {
	for _, p := range perms {
		yes, no := p.Actions, p.NotActions
		if q.Data {
			yes, no = p.DataActions, p.NotDataActions
		}
		if refAny(yes, q.Action) && !refAny(no, q.Action) {
			return true
		}
	}
	return false
}

func refAny(patterns []string, action string) bool {
	a := strings.ToLower(action)
	for _, p := range patterns {
		if refGlob(strings.ToLower(p), a) {
			return true
		}
	}
	return false
}

// refGlob matches Azure's action wildcard: '*' matches any run of
// characters, '/' included, and a '*' that is a whole middle segment ("/*/")
// may also stand for no segment at all.
func refGlob(p, s string) bool {
	if strings.HasPrefix(p, "/*/") && refGlob(p[2:], s) {
		return true
	}
	if p == "" {
		return s == ""
	}
	if p[0] == '*' {
		for i := 0; i <= len(s); i++ {
			if refGlob(p[1:], s[i:]) {
				return true
			}
		}
		return false
	}
	return s != "" && s[0] == p[0] && refGlob(p[1:], s[1:])
}
