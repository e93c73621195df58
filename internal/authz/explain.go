package authz

import "strconv"

// verdict is how a role relates to a request's action, from best to worst.
type verdict uint8

const (
	vNone       verdict = iota
	vWrongPlane         // matched only by the other plane's list
	vExcluded           // matched, then excluded by NotActions/NotDataActions
	vBlockCond          // matched, but the permission block's condition failed
	vGranted            // matched and allowed by the role itself
)

type diagnosis struct {
	v       verdict
	by, not *Pattern
	missing string // an attribute a failed condition needed
}

// diagnose is the slow, explanatory twin of compiledRole.allows.
func (cr *compiledRole) diagnose(r *Request) diagnosis {
	var best diagnosis
	for i := range cr.blocks {
		b := &cr.blocks[i]
		pos, neg, other := b.actions, b.notActions, b.dataActions
		if r.DataAction {
			pos, neg, other = b.dataActions, b.notDataActions, b.actions
		}
		d := diagnosis{}
		if m := matchAny(pos, r.Action); m != nil {
			if n := matchAny(neg, r.Action); n != nil {
				d = diagnosis{v: vExcluded, by: m, not: n}
			} else if b.cond != nil {
				var miss string
				if b.cond.eval(r, &miss) != tTrue {
					d = diagnosis{v: vBlockCond, by: m, missing: miss}
				} else {
					d = diagnosis{v: vGranted, by: m}
				}
			} else {
				d = diagnosis{v: vGranted, by: m}
			}
		} else if m := matchAny(other, r.Action); m != nil {
			d = diagnosis{v: vWrongPlane, by: m}
		}
		if d.v > best.v {
			best = d
		}
	}
	return best
}

// explainRefusal explains a request the engine refused for want of a grant:
// by the deny assignment that applies, if one does; otherwise it scans
// again, keeping what the scan for the decision did not (the nearest miss,
// an assignment to an unknown role, the count of assignments that apply),
// and writes the sentence in one concatenation. The engine is immutable, so
// the scan finds what Check's did.
func (e *Engine) explainRefusal(r *Request) (*Assignment, *Role, string) {
	q := e.newQuery(r)
	if d := q.deny(); d != nil {
		// Deny assignments come first, as in Azure: this one would have
		// blocked a grant too.
		return nil, nil, d.denyReason()
	}
	var ex explanation
	if en := q.grant(&ex); en != nil {
		// Unreachable unless the request was modified after Check.
		return &e.record(en).a, &e.roleOf(en).role, "granted now, though refused when decided: the request was modified after Check"
	}
	if ex.best == nil {
		var unknown *Assignment
		if ex.unknown != nil {
			unknown = &e.record(ex.unknown).a
		}
		return nil, nil, q.noGrant(ex.total, unknown)
	}
	cr := e.roleOf(ex.best)
	as := &e.record(ex.best).a
	d := cr.diagnose(r)
	condFailed := false
	if d.v == vGranted {
		// The role grants it, so the assignment's condition must have
		// failed.
		condFailed = true
		if c := e.cond(ex.best); c != nil {
			c.eval(r, &d.missing)
		}
	}
	return as, &cr.role, nearMiss(r, as, &cr.role, d, condFailed)
}

func (e *Engine) countInScope(sp span, scope string) int {
	n := 0
	it := newScopeIter(e.entries[sp.lo:sp.hi], scope)
	for en := it.next(); en != nil; en = it.next() {
		n++
	}
	return n
}

// nearMiss explains a refusal by its nearest miss: assignment as, of role
// role, diagnosed d (condFailed: the role grants, the assignment's
// condition failed).
func nearMiss(r *Request, as *Assignment, role *Role, d diagnosis, condFailed bool) string {
	what := "action"
	if r.DataAction {
		what = "data action"
	}
	name, id, at := role.Name, as.ID, as.Scope
	var by, not string
	if d.by != nil {
		by = d.by.String()
	}
	if d.not != nil {
		not = d.not.String()
	}
	switch {
	case condFailed && d.missing != "":
		return "role assignment " + id + " (role \"" + name + "\" at scope " + at + ") matched but its condition could not be satisfied: the request did not supply " + d.missing
	case condFailed:
		return "role assignment " + id + " (role \"" + name + "\" at scope " + at + ") matched but its condition evaluated false for " + what + " " + r.Action
	case d.v == vBlockCond && d.missing != "":
		return "role \"" + name + "\" (assignment " + id + " at scope " + at + ") grants " + r.Action + " through \"" + by + "\" only under the role's condition, which needs " + d.missing + ", not supplied"
	case d.v == vBlockCond:
		return "role \"" + name + "\" (assignment " + id + " at scope " + at + ") grants " + r.Action + " through \"" + by + "\" only under the role's condition, which evaluated false"
	case d.v == vExcluded && r.DataAction:
		return "role \"" + name + "\" (assignment " + id + " at scope " + at + ") grants " + r.Action + " through \"" + by + "\" but NotDataActions excludes it through \"" + not + "\""
	case d.v == vExcluded:
		return "role \"" + name + "\" (assignment " + id + " at scope " + at + ") grants " + r.Action + " through \"" + by + "\" but NotActions excludes it through \"" + not + "\""
	case d.v == vWrongPlane && r.DataAction:
		return "role \"" + name + "\" (assignment " + id + " at scope " + at + ") matches " + r.Action + " only in Actions (control plane) through \"" + by + "\"; it is a data action and needs DataActions"
	}
	return "role \"" + name + "\" (assignment " + id + " at scope " + at + ") matches " + r.Action + " only in DataActions through \"" + by + "\"; it is a control-plane action and needs Actions"
}

// noGrant explains a refusal with no near miss: an invalid scope, an
// assignment to an unknown role, or how many of the principals' total
// assignments apply at the scope.
func (q *query) noGrant(total int, unknown *Assignment) string {
	r := &q.r
	scope, ok := q.scopeKey()
	if !ok {
		return "invalid scope " + strconv.Quote(r.Scope)
	}
	var g0, g1, g2 string // " (or its N groups)"
	switch n := len(r.Principals) - 1; {
	case n == 1:
		g0 = " (or its 1 group)"
	case n > 1:
		g0, g1, g2 = " (or its ", strconv.Itoa(n), " groups)"
	}
	what := "action "
	if r.DataAction {
		what = "data action "
	}
	var w [7]string // why
	switch {
	case unknown != nil:
		w = [7]string{"; role assignment ", unknown.ID, " at scope ", unknown.Scope, " refers to unknown role definition ", unknown.RoleID, " and grants nothing"}
	case total == 0:
		w[0] = " (it has no role assignments)"
	default:
		applying := 0
		for i := range r.Principals {
			applying += q.e.countInScope(q.principal(i).span, scope)
		}
		if applying == 0 {
			w[0], w[1], w[2] = " (it has ", strconv.Itoa(total), " role assignment(s), none at or above this scope)"
		} else {
			w[0], w[1], w[2] = " (", strconv.Itoa(applying), " role assignment(s) apply at this scope; none of their roles includes it)"
		}
	}
	return "no role assignment for principal " + r.Principals[0] + g0 + g1 + g2 + " at or above scope " + r.Scope + " grants " + what + r.Action +
		w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + w[6]
}
