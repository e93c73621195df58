package authz

import (
	"errors"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/authzkit"
)

// Checker is one way of answering queries: an engine, or one of its entry
// points.
type Checker struct {
	Name    string
	Allowed func(q *Query) bool
}

// Engine is a contender: how to build it from a dataset.
type Engine struct {
	Name string
	// Load builds the engine from the dataset, already in memory. Loaders
	// that can stop part-way give up with ErrLoadTimeout once deadline has
	// passed; the others are timed and reported over the box afterwards.
	Load func(ds *Dataset, deadline time.Time) ([]Checker, error)
}

// ErrLoadTimeout is returned by a loader that gave up at its deadline.
var ErrLoadTimeout = errors.New("did not load within the time box")

// Engines are the contenders, in the order they are run: mimic's engine,
// the plain map index it is measured against, OPA and Casbin.
var Engines = []Engine{
	{Name: "mimic", Load: loadMimic},
	{Name: "map", Load: loadMap},
	{Name: "opa", Load: loadOPA},
	{Name: "casbin", Load: loadCasbin},
}

// EngineByName finds a contender.
func EngineByName(name string) (Engine, bool) {
	for _, e := range Engines {
		if e.Name == name {
			return e, true
		}
	}
	return Engine{}, false
}

// loadMimic builds mimic's engine through authzkit. Check is what the
// planes call: the decision, which names the granting (or nearest) role
// assignment and writes its reason on demand; "+Reason" also has the reason
// written, as the access log does. Allowed is the verdict alone, for bulk
// callers.
func loadMimic(ds *Dataset, _ time.Time) ([]Checker, error) {
	e, err := authzkit.New(ds.Roles, ds.Assignments, ds.Denies)
	if err != nil {
		return nil, err
	}
	return []Checker{
		{Name: "mimic Check", Allowed: func(q *Query) bool {
			return e.Check(authzkit.Request{Principals: q.principals, Action: q.Action, DataAction: q.Data, Scope: q.Scope}).Allowed
		}},
		{Name: "mimic Check+Reason", Allowed: func(q *Query) bool {
			d := e.Check(authzkit.Request{Principals: q.principals, Action: q.Action, DataAction: q.Data, Scope: q.Scope})
			return d.Reason() != "" && d.Allowed
		}},
		{Name: "mimic Allowed", Allowed: func(q *Query) bool {
			return e.Allowed(authzkit.Request{Principals: q.principals, Action: q.Action, DataAction: q.Data, Scope: q.Scope})
		}},
	}, nil
}

// mapIndex is the floor: a map from lower-cased principal to its
// assignments, a whole-segment prefix compare of pre-lower-cased scopes, and
// an exact lookup of the action's index in a role × vocabulary table
// computed at load (no pattern matching, no case folding at query time).
// Deny assignments are handled the same way, so that it gives the same
// answers as everyone else.
type mapIndex struct {
	byP     map[string][]mapEntry
	denyBy  map[string][]*mapDeny
	denyAll []*mapDeny
}

type actionTable [32]bool // indexed by Vocabulary position

type mapEntry struct {
	scope string
	allow *actionTable // nil: orphaned
}

type mapDeny struct {
	scope   string
	exact   bool
	exclude []string
	hit     actionTable
}

func vocabTable(perms []authzkit.Permission) *actionTable {
	var t actionTable
	for i, a := range Vocabulary {
		t[i] = refRoleAllows(perms, &Query{Action: a.Name, Data: a.Data})
	}
	return &t
}

func loadMap(ds *Dataset, _ time.Time) ([]Checker, error) {
	if len(Vocabulary) > len(actionTable{}) {
		return nil, errors.New("vocabulary too large for the map index")
	}
	tables := map[string]*actionTable{}
	for _, r := range ds.Roles {
		tables[strings.ToLower(r.ID)] = vocabTable(r.Permissions)
	}
	m := &mapIndex{byP: make(map[string][]mapEntry, ds.Principals), denyBy: map[string][]*mapDeny{}}
	for _, a := range ds.Assignments {
		p := strings.ToLower(a.PrincipalID)
		m.byP[p] = append(m.byP[p], mapEntry{scope: strings.ToLower(a.Scope), allow: tables[strings.ToLower(a.RoleID)]})
	}
	for _, d := range ds.Denies {
		md := &mapDeny{scope: strings.ToLower(d.Scope), exact: d.DoNotApplyToChildScopes, hit: *vocabTable(d.Permissions)}
		for _, x := range d.ExcludePrincipals {
			md.exclude = append(md.exclude, strings.ToLower(x))
		}
		for _, p := range d.Principals {
			if p == authzkit.Everyone {
				m.denyAll = append(m.denyAll, md)
			} else {
				p = strings.ToLower(p)
				m.denyBy[p] = append(m.denyBy[p], md)
			}
		}
	}
	acts := map[string]int{} // plane + lower-cased action -> Vocabulary index
	for i, a := range Vocabulary {
		acts[planeOf(a.Data)+strings.ToLower(a.Name)] = i
	}
	return []Checker{
		{Name: "map", Allowed: m.allowed},
		// The same index fed the caller's spelling, as the engine is: it
		// lower-cases the ids and the action, and looks the action up.
		{Name: "map+lower", Allowed: func(q *Query) bool {
			act, ok := acts[planeOf(q.Data)+strings.ToLower(q.Action)]
			if !ok {
				return false
			}
			return m.allowed(&Query{lp: strings.ToLower(q.Principal), lscope: strings.ToLower(q.Scope), act: act})
		}},
	}, nil
}

func planeOf(data bool) string {
	if data {
		return "d"
	}
	return "c"
}

func keyContains(key, s string) bool {
	return key == "/" || strings.HasPrefix(s, key) && (len(s) == len(key) || s[len(key)] == '/')
}

func (m *mapIndex) allowed(q *Query) bool {
	granted := false
	for _, e := range m.byP[q.lp] {
		if e.allow != nil && e.allow[q.act] && keyContains(e.scope, q.lscope) {
			granted = true
			break
		}
	}
	if !granted {
		return false
	}
	for _, d := range m.denyAll {
		if d.blocks(q) {
			return false
		}
	}
	for _, d := range m.denyBy[q.lp] {
		if d.blocks(q) {
			return false
		}
	}
	return true
}

func (d *mapDeny) blocks(q *Query) bool {
	if !d.hit[q.act] {
		return false
	}
	if d.exact && d.scope != q.lscope || !d.exact && !keyContains(d.scope, q.lscope) {
		return false
	}
	for _, x := range d.exclude {
		if x == q.lp {
			return false
		}
	}
	return true
}
