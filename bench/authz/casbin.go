package authz

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/mimic-emu/mimic/authzkit"
)

// The Casbin encoding is research/peers.md's "casbin-walk", extended to the
// full semantics. Casbin's own domain matching (one Enforce per request,
// AddNamedDomainMatchingFunc with a scope-prefix function) copies every
// ancestor link into every descendant domain: peers.md measured 7.5 s to load
// 10k assignments and no load of 100k within 60 s, so it is not a contender.
//
// Role assignments are g(principal, role, scope) links in Casbin's domain
// role manager. A p line is one role's permission block on one plane, with
// its action patterns and its exclusions ('|'-separated); actMatch is the
// custom matcher function (case-insensitive Azure wildcards, the "/*/"
// segment wildcard, compiled once per distinct list). The caller enforces
// once per ancestor of the request scope that is some assignment's scope
// (Casbin's domains are exact), stopping at the first grant. Deny
// assignments are the p2 lines of a second section (r2/p2/e2/m2), one per
// principal and block, enforced once on the request scope with a custom
// whole-segment containment function; they are consulted only for a
// request some assignment grants. Everything is lower-cased at load and the
// adapter lower-cases the request.
const casbinModel = `
[request_definition]
r = sub, dom, plane, act
r2 = sub, dom, plane, act

[policy_definition]
p = sub, plane, acts, nots
p2 = sub, dom, only, plane, acts, nots, excl

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))
e2 = some(where (p.eft == allow))

[matchers]
m = r.plane == p.plane && g(r.sub, p.sub, r.dom) && actMatch(r.act, p.acts, p.nots)
m2 = (p2.sub == r2.sub || p2.sub == '` + authzkit.Everyone + `') && r2.plane == p2.plane && scopeCovers(p2.dom, p2.only, r2.dom) && !inList(r2.sub, p2.excl) && actMatch(r2.act, p2.acts, p2.nots)
`

// casbinChunk is how many g lines are added between deadline checks.
const casbinChunk = 50_000

func loadCasbin(ds *Dataset, deadline time.Time) ([]Checker, error) {
	m, err := model.NewModelFromString(casbinModel)
	if err != nil {
		return nil, err
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, err
	}
	e.EnableAutoBuildRoleLinks(false)
	var am actMatcher
	e.AddFunction("actMatch", am.govaluate)
	e.AddFunction("scopeCovers", func(args ...any) (any, error) {
		d, only, s := args[0].(string), args[1].(string), args[2].(string)
		if s == d {
			return true, nil
		}
		if only == "true" {
			return false, nil
		}
		return d == "/" || len(s) > len(d) && s[len(d)] == '/' && strings.HasPrefix(s, d), nil
	})
	e.AddFunction("inList", func(args ...any) (any, error) {
		x, list := args[0].(string), args[1].(string)
		for list != "" {
			var item string
			item, list, _ = strings.Cut(list, "|")
			if item == x {
				return true, nil
			}
		}
		return false, nil
	})

	var p [][]string
	for _, r := range ds.Roles {
		for _, b := range casbinBlocks(r.Permissions) {
			p = append(p, append([]string{strings.ToLower(r.ID)}, b...))
		}
	}
	if err := m.AddPolicies("p", "p", p); err != nil {
		return nil, err
	}
	var p2 [][]string
	for _, d := range ds.Denies {
		excl := make([]string, len(d.ExcludePrincipals))
		for i, x := range d.ExcludePrincipals {
			excl[i] = strings.ToLower(x)
		}
		for _, sub := range d.Principals {
			for _, b := range casbinBlocks(d.Permissions) {
				p2 = append(p2, []string{strings.ToLower(sub), strings.ToLower(d.Scope), fmt.Sprint(d.DoNotApplyToChildScopes), b[0], b[1], b[2], strings.Join(excl, "|")})
			}
		}
	}
	if err := m.AddPolicies("p", "p2", p2); err != nil {
		return nil, err
	}

	domains := map[string]bool{}
	for lo := 0; lo < len(ds.Assignments); lo += casbinChunk {
		if time.Now().After(deadline) {
			return nil, ErrLoadTimeout
		}
		chunk := ds.Assignments[lo:min(lo+casbinChunk, len(ds.Assignments))]
		g := make([][]string, len(chunk))
		for i, a := range chunk {
			scope := strings.ToLower(a.Scope)
			domains[scope] = true
			g[i] = []string{strings.ToLower(a.PrincipalID), strings.ToLower(a.RoleID), scope}
		}
		if err := m.AddPolicies("g", "g", g); err != nil {
			return nil, err
		}
	}
	if err := e.BuildRoleLinks(); err != nil {
		return nil, err
	}

	denyCtx := casbin.NewEnforceContext("2")
	return []Checker{{Name: "casbin", Allowed: func(q *Query) bool {
		sub, scope, act, plane := strings.ToLower(q.Principal), strings.ToLower(q.Scope), strings.ToLower(q.Action), q.Plane()
		granted := false
		for a := range ancestors(scope) {
			if !domains[a] {
				continue
			}
			ok, err := e.Enforce(sub, a, plane, act)
			if err != nil {
				panic(fmt.Sprintf("casbin: %v", err))
			}
			if ok {
				granted = true
				break
			}
		}
		if !granted {
			return false
		}
		denied, err := e.Enforce(denyCtx, sub, scope, plane, act)
		if err != nil {
			panic(fmt.Sprintf("casbin: %v", err))
		}
		return !denied
	}}}, nil
}

// casbinBlocks encodes permission blocks as [plane, actions, exclusions]
// triples, one per block and plane that lists something.
func casbinBlocks(perms []authzkit.Permission) [][]string {
	var out [][]string
	low := func(ss []string) string { return strings.ToLower(strings.Join(ss, "|")) }
	for _, p := range perms {
		if len(p.Actions) > 0 {
			out = append(out, []string{"c", low(p.Actions), low(p.NotActions)})
		}
		if len(p.DataActions) > 0 {
			out = append(out, []string{"d", low(p.DataActions), low(p.NotDataActions)})
		}
	}
	return out
}

// ancestors yields "/", every "/"-boundary prefix of scope, and scope.
func ancestors(scope string) func(func(string) bool) {
	return func(yield func(string) bool) {
		if !yield("/") {
			return
		}
		for i := 1; i < len(scope); i++ {
			if scope[i] == '/' && !yield(scope[:i]) {
				return
			}
		}
		if scope != "/" {
			yield(scope)
		}
	}
}

// actMatcher is Casbin's actMatch(action, patterns, exclusions): some
// pattern matches and no exclusion does. A list compiles once into a set of
// literals and one regular expression for the wildcard patterns.
type actMatcher struct {
	mu    sync.Mutex
	lists map[string]*patternList
}

type patternList struct {
	lits map[string]bool
	re   *regexp.Regexp // nil when there are no wildcards
}

func (am *actMatcher) govaluate(args ...any) (any, error) {
	act, acts, nots := args[0].(string), args[1].(string), args[2].(string)
	return am.list(acts).match(act) && !am.list(nots).match(act), nil
}

func (am *actMatcher) list(s string) *patternList {
	am.mu.Lock()
	defer am.mu.Unlock()
	if l, ok := am.lists[s]; ok {
		return l
	}
	if am.lists == nil {
		am.lists = map[string]*patternList{}
	}
	l := &patternList{lits: map[string]bool{}}
	var alts []string
	for _, p := range strings.Split(s, "|") {
		switch {
		case p == "":
		case !strings.Contains(p, "*"):
			l.lits[p] = true
		default:
			alts = append(alts, wildcardRegexp(p))
		}
	}
	if len(alts) > 0 {
		l.re = regexp.MustCompile("^(?:" + strings.Join(alts, "|") + ")$")
	}
	am.lists[s] = l
	return l
}

func (l *patternList) match(act string) bool {
	return l.lits[act] || l.re != nil && l.re.MatchString(act)
}

// wildcardRegexp translates an Azure action pattern: "/*/" may match a
// single '/' (the segment left out), any other '*' any run of characters.
func wildcardRegexp(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch {
		case strings.HasPrefix(p[i:], "/*/"):
			b.WriteString("(?:/.*)?")
			i++ // the '*'; the second '/' is written next
		case p[i] == '*':
			b.WriteString(".*")
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	return b.String()
}
