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

// explainAll builds the decision for a request nothing granted (and nothing
// denied) when too many assignments applied for Check to remember them: it
// collects them again.
func (e *Engine) explainAll(r *Request, scope string) Decision {
	var applied []*entry
	total := 0
	for _, p := range r.Principals {
		list := e.principalSpan(p)
		total += len(list)
		it := newScopeIter(list, scope)
		for en := it.next(); en != nil; en = it.next() {
			applied = append(applied, en)
		}
	}
	return explain(r, applied, total)
}

// explain builds the decision for a request nothing granted, from the
// assignments that applied at its scope (and the principals' total count),
// reporting the most telling near miss.
func explain(r *Request, applied []*entry, total int) Decision {
	var (
		best        *entry
		bestD       diagnosis
		bestCond    bool   // best is a granted role whose assignment condition failed
		bestMissing string // attribute that condition needed
		unknown     *entry
	)
	inScope := len(applied)
	for _, en := range applied {
		if en.role == nil {
			if unknown == nil {
				unknown = en
			}
			continue
		}
		d := en.role.diagnose(r)
		if d.v == vNone {
			continue
		}
		isCond := false
		var miss string
		if d.v == vGranted {
			// The role grants it, so the assignment's condition
			// must have failed.
			isCond = true
			if en.cond != nil {
				en.cond.eval(r, &miss)
			}
		}
		if best == nil || d.v > bestD.v {
			best, bestD, bestCond, bestMissing = en, d, isCond, miss
		}
	}

	what := "action"
	if r.DataAction {
		what = "data action"
	}
	if best != nil {
		// Refusals are common, so these concatenate (one allocation each)
		// rather than format.
		dec := Decision{Assignment: &best.rec.a, Role: &best.role.role}
		name, id, at := best.role.role.Name, best.rec.a.ID, best.rec.a.Scope
		var by, not string
		if bestD.by != nil {
			by = bestD.by.String()
		}
		if bestD.not != nil {
			not = bestD.not.String()
		}
		switch {
		case bestCond && bestMissing != "":
			dec.Reason = "role assignment " + id + " (role \"" + name + "\" at scope " + at + ") matched but its condition could not be satisfied: the request did not supply " + bestMissing
		case bestCond:
			dec.Reason = "role assignment " + id + " (role \"" + name + "\" at scope " + at + ") matched but its condition evaluated false for " + what + " " + r.Action
		case bestD.v == vBlockCond && bestD.missing != "":
			dec.Reason = "role \"" + name + "\" (assignment " + id + " at scope " + at + ") grants " + r.Action + " through \"" + by + "\" only under the role's condition, which needs " + bestD.missing + ", not supplied"
		case bestD.v == vBlockCond:
			dec.Reason = "role \"" + name + "\" (assignment " + id + " at scope " + at + ") grants " + r.Action + " through \"" + by + "\" only under the role's condition, which evaluated false"
		case bestD.v == vExcluded && r.DataAction:
			dec.Reason = "role \"" + name + "\" (assignment " + id + " at scope " + at + ") grants " + r.Action + " through \"" + by + "\" but NotDataActions excludes it through \"" + not + "\""
		case bestD.v == vExcluded:
			dec.Reason = "role \"" + name + "\" (assignment " + id + " at scope " + at + ") grants " + r.Action + " through \"" + by + "\" but NotActions excludes it through \"" + not + "\""
		case bestD.v == vWrongPlane && r.DataAction:
			dec.Reason = "role \"" + name + "\" (assignment " + id + " at scope " + at + ") matches " + r.Action + " only in Actions (control plane) through \"" + by + "\"; it is a data action and needs DataActions"
		default:
			dec.Reason = "role \"" + name + "\" (assignment " + id + " at scope " + at + ") matches " + r.Action + " only in DataActions through \"" + by + "\"; it is a control-plane action and needs Actions"
		}
		return dec
	}

	return Decision{Reason: noGrantReason(r, total, inScope, unknown)}
}

// noGrantReason explains a refusal with no near miss. It is on the path of
// every plain refusal, so it is one concatenation: one allocation.
func noGrantReason(r *Request, total, inScope int, unknown *entry) string {
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
		w = [7]string{"; role assignment ", unknown.rec.a.ID, " at scope ", unknown.rec.a.Scope, " refers to unknown role definition ", unknown.rec.a.RoleID, " and grants nothing"}
	case total == 0:
		w[0] = " (it has no role assignments)"
	case inScope == 0:
		w[0], w[1], w[2] = " (it has ", strconv.Itoa(total), " role assignment(s), none at or above this scope)"
	default:
		w[0], w[1], w[2] = " (", strconv.Itoa(inScope), " role assignment(s) apply at this scope; none of their roles includes it)"
	}
	return "no role assignment for principal " + r.Principals[0] + g0 + g1 + g2 + " at or above scope " + r.Scope + " grants " + what + r.Action +
		w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + w[6]
}
