package analyzer

import (
	"sort"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/store"
)

// opStats is when, and from which computes, one exercised action was seen:
// the evidence a recommendation cites.
type opStats struct {
	action      string // as logged, for display
	first, last time.Time
	computes    map[string]int // lower-case compute id → requests
}

// note adds an access log entry to an op's statistics.
func (pu *principalUsage) note(o op, e *store.Access) {
	if pu.stats == nil {
		pu.stats = map[op]*opStats{}
	}
	s := pu.stats[o]
	if s == nil {
		s = &opStats{action: e.Action, first: e.At, last: e.At, computes: map[string]int{}}
		pu.stats[o] = s
	}
	if e.At.Before(s.first) {
		s.first = e.At
	}
	if e.At.After(s.last) {
		s.last = e.At
	}
	if e.ComputeID != "" {
		s.computes[strings.ToLower(e.ComputeID)]++
	}
}

// Use is one action or data action a principal exercised at one scope in
// the window.
type Use struct {
	Action     string    `json:"action"`
	DataAction bool      `json:"dataAction,omitempty"`
	Scope      string    `json:"scope"`
	Count      int       `json:"count"`
	FirstSeen  time.Time `json:"firstSeen"`
	LastSeen   time.Time `json:"lastSeen"`
	// Computes are the computes the requests came from, when logged.
	Computes []string `json:"computes,omitempty"`
}

// uses aggregates ops (of one principal) by action and scope, with counts,
// first and last seen, and the computes they came from.
func (f *findingCtx) uses(principal string, ops []op) []Use {
	pu := f.usage.principal(principal)
	if pu == nil {
		return nil
	}
	type key struct {
		action string
		data   bool
		scope  string
	}
	byKey := map[key]*Use{}
	var order []key
	computes := map[key]*set{}
	for _, o := range ops {
		st := pu.stats[o]
		if st == nil {
			continue
		}
		k := key{o.action, o.data, o.scope}
		u := byKey[k]
		if u == nil {
			u = &Use{Action: st.action, DataAction: o.data, Scope: f.displayID(o.scope), FirstSeen: st.first, LastSeen: st.last}
			byKey[k], computes[k] = u, newSet(true)
			order = append(order, k)
		}
		u.Count += pu.ops[o]
		if st.first.Before(u.FirstSeen) {
			u.FirstSeen = st.first
		}
		if st.last.After(u.LastSeen) {
			u.LastSeen = st.last
		}
		for c := range st.computes {
			computes[k].add(f.displayID(c))
		}
	}
	out := make([]Use, 0, len(order))
	for _, k := range order {
		u := byKey[k]
		u.Computes = computes[k].list()
		out = append(out, *u)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Scope != out[j].Scope {
			return strings.ToLower(out[i].Scope) < strings.ToLower(out[j].Scope)
		}
		return out[i].Action < out[j].Action
	})
	return out
}

// usedFrom reports whether any of ops came from one of the computes, and
// whether any op of the principal names its compute at all.
func (f *findingCtx) usedFrom(principal string, ops []op, computes []*Compute) (used, attributed bool) {
	pu := f.usage.principal(principal)
	if pu == nil {
		return false, false
	}
	for _, st := range pu.stats {
		if len(st.computes) > 0 {
			attributed = true
			break
		}
	}
	for _, o := range ops {
		st := pu.stats[o]
		if st == nil {
			continue
		}
		for _, c := range computes {
			if st.computes[strings.ToLower(c.ID)] > 0 {
				return true, attributed
			}
		}
	}
	return false, attributed
}
