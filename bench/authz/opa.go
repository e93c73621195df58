package authz

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/authzkit"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// The OPA encoding is the best layout of research/peers.md §3 ("opa-walk":
// 55–110 µs a check, flat in the number of assignments), extended to the
// full semantics. The data document, built as AST values and handed to an
// in-memory store that returns AST values on read (no conversion per
// evaluation), is
//
//	assign:        {principal: {scope: [role id, …]}}
//	roles:         {role id: {"c": [block], "d": [block]}}   control / data plane
//	deny_everyone: [deny]
//	deny_by:       {principal: [deny]}
//	deny:          {"scope", "only" (DoNotApplyToChildScopes), "excl": {principal: true}, "c", "d"}
//	block:         {"acts": set, "nots": set}
//	set:           {"lit": {action: true}, "pre": [prefix], "suf": [suffix],
//	                "ps": [[prefix, suffix, min length]], "glob": [pattern]}
//
// Everything is lower-cased at load, and the adapter lower-cases the
// request. Patterns are sorted by shape so that Rego needs no glob for
// literals (a key lookup) or single-'*' patterns (startswith/endswith); a
// segment wildcard "/*/" is expanded at load into its variants with the
// segment removed. The policy walks the request scope's ancestors itself.
//
//go:embed authz.rego
var regoPolicy string

func loadOPA(ds *Dataset, deadline time.Time) ([]Checker, error) {
	roles := ast.NewObject()
	for _, r := range ds.Roles {
		roles.Insert(ast.StringTerm(strings.ToLower(r.ID)), ast.NewTerm(opaPlanes(r.Permissions)))
	}

	type pset map[string][]*ast.Term // scope -> role ids
	byP := make(map[string]pset, ds.Principals)
	for i, a := range ds.Assignments {
		if i&0xffff == 0 && time.Now().After(deadline) {
			return nil, ErrLoadTimeout
		}
		p := strings.ToLower(a.PrincipalID)
		s := byP[p]
		if s == nil {
			s = pset{}
			byP[p] = s
		}
		scope := strings.ToLower(a.Scope)
		s[scope] = append(s[scope], ast.StringTerm(strings.ToLower(a.RoleID)))
	}
	assign := ast.NewObject()
	for p, s := range byP {
		obj := ast.NewObject()
		for scope, ids := range s {
			obj.Insert(ast.StringTerm(scope), ast.ArrayTerm(ids...))
		}
		assign.Insert(ast.StringTerm(p), ast.NewTerm(obj))
	}
	byP = nil

	var everyone []*ast.Term
	denyBy := map[string][]*ast.Term{}
	for _, d := range ds.Denies {
		excl := ast.NewObject()
		for _, x := range d.ExcludePrincipals {
			excl.Insert(ast.StringTerm(strings.ToLower(x)), ast.BooleanTerm(true))
		}
		obj := opaPlanes(d.Permissions)
		obj.Insert(ast.StringTerm("scope"), ast.StringTerm(strings.ToLower(d.Scope)))
		obj.Insert(ast.StringTerm("only"), ast.BooleanTerm(d.DoNotApplyToChildScopes))
		obj.Insert(ast.StringTerm("excl"), ast.NewTerm(excl))
		t := ast.NewTerm(obj)
		for _, p := range d.Principals {
			if p == authzkit.Everyone {
				everyone = append(everyone, t)
			} else {
				p = strings.ToLower(p)
				denyBy[p] = append(denyBy[p], t)
			}
		}
	}
	denyByObj := ast.NewObject()
	for p, ts := range denyBy {
		denyByObj.Insert(ast.StringTerm(p), ast.ArrayTerm(ts...))
	}

	data := ast.NewObject(
		ast.Item(ast.StringTerm("assign"), ast.NewTerm(assign)),
		ast.Item(ast.StringTerm("roles"), ast.NewTerm(roles)),
		ast.Item(ast.StringTerm("deny_everyone"), ast.ArrayTerm(everyone...)),
		ast.Item(ast.StringTerm("deny_by"), ast.NewTerm(denyByObj)),
	)
	store := inmem.NewFromASTObject(data)
	ctx := context.Background()
	pq, err := rego.New(
		rego.Query("data.mimic.authz.allow"),
		rego.Module("authz.rego", regoPolicy),
		rego.Store(store),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, err
	}
	var (
		kPrincipal = ast.StringTerm("principal")
		kScope     = ast.StringTerm("scope")
		kAction    = ast.StringTerm("action")
		kPlane     = ast.StringTerm("plane")
	)
	return []Checker{{Name: "opa", Allowed: func(q *Query) bool {
		in := ast.NewObject(
			ast.Item(kPrincipal, ast.StringTerm(strings.ToLower(q.Principal))),
			ast.Item(kScope, ast.StringTerm(strings.ToLower(q.Scope))),
			ast.Item(kAction, ast.StringTerm(strings.ToLower(q.Action))),
			ast.Item(kPlane, ast.StringTerm(q.Plane())),
		)
		rs, err := pq.Eval(ctx, rego.EvalParsedInput(in))
		if err != nil {
			panic(fmt.Sprintf("opa: %v", err))
		}
		return len(rs) == 1 && rs[0].Expressions[0].Value == true
	}}}, nil
}

// opaPlanes encodes permission blocks as {"c": [block], "d": [block]},
// leaving out a plane's block when it lists nothing for that plane.
func opaPlanes(perms []authzkit.Permission) ast.Object {
	var c, d []*ast.Term
	for _, p := range perms {
		if len(p.Actions) > 0 {
			c = append(c, opaBlock(p.Actions, p.NotActions))
		}
		if len(p.DataActions) > 0 {
			d = append(d, opaBlock(p.DataActions, p.NotDataActions))
		}
	}
	return ast.NewObject(
		ast.Item(ast.StringTerm("c"), ast.ArrayTerm(c...)),
		ast.Item(ast.StringTerm("d"), ast.ArrayTerm(d...)),
	)
}

func opaBlock(yes, no []string) *ast.Term {
	return ast.ObjectTerm(
		ast.Item(ast.StringTerm("acts"), opaSet(yes)),
		ast.Item(ast.StringTerm("nots"), opaSet(no)),
	)
}

// opaSet sorts patterns by shape; shapes with no members are left out, so
// that Rego's rule for them is undefined and costs nothing.
func opaSet(patterns []string) *ast.Term {
	lit := ast.NewObject()
	var pre, suf, ps, glob []*ast.Term
	for _, p := range patterns {
		for _, v := range expandSegmentWildcards(strings.ToLower(p)) {
			switch n := strings.Count(v, "*"); {
			case n == 0:
				lit.Insert(ast.StringTerm(v), ast.BooleanTerm(true))
			case n == 1 && strings.HasSuffix(v, "*"):
				pre = append(pre, ast.StringTerm(v[:len(v)-1]))
			case n == 1 && strings.HasPrefix(v, "*"):
				suf = append(suf, ast.StringTerm(v[1:]))
			case n == 1:
				i := strings.IndexByte(v, '*')
				ps = append(ps, ast.ArrayTerm(ast.StringTerm(v[:i]), ast.StringTerm(v[i+1:]), ast.IntNumberTerm(len(v)-1)))
			default:
				glob = append(glob, ast.StringTerm(v))
			}
		}
	}
	obj := ast.NewObject()
	if lit.Len() > 0 {
		obj.Insert(ast.StringTerm("lit"), ast.NewTerm(lit))
	}
	for _, kv := range []struct {
		k  string
		ts []*ast.Term
	}{{"pre", pre}, {"suf", suf}, {"ps", ps}, {"glob", glob}} {
		if len(kv.ts) > 0 {
			obj.Insert(ast.StringTerm(kv.k), ast.ArrayTerm(kv.ts...))
		}
	}
	return ast.NewTerm(obj)
}

// expandSegmentWildcards returns p and its variants with any subset of its
// "/*/" segments removed ("a/*/b" also means "a/b"), for encodings whose
// matchers know only plain '*'.
func expandSegmentWildcards(p string) []string {
	i := strings.Index(p, "/*/")
	if i < 0 {
		return []string{p}
	}
	var out []string
	for _, tail := range expandSegmentWildcards(p[i+2:]) { // tail starts with the second '/'
		out = append(out, p[:i+2]+tail, p[:i]+tail) // keep the segment, drop it
	}
	return out
}
