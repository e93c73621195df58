package analyzer

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/resourceid"
)

// Step is one step of a path that explains a reach.
type Step struct {
	// Kind is what the step does: "token" (code on a compute gets an
	// identity's tokens), "federated", "holds" (an identity's role at a
	// scope), a capability ("runCommand", "write", "clusterAdmin",
	// "assign", "federatedCredentialWrite", "roleAssignmentWrite"),
	// "nodeAccess", "listKeys", "accessPolicyWrite" or "grants".
	Kind string `json:"kind"`
	From string `json:"from"`
	To   string `json:"to"`
	Via  string `json:"via,omitempty"`
}

// Held is an identity or compute within reach, with the path to it.
type Held struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Environment string `json:"environment,omitempty"`
	Path        []Step `json:"path"`
}

// Reach is what the blast radius holds of one resource.
type Reach struct {
	Resource       string   `json:"resource"`
	Type           string   `json:"type"`
	Environment    string   `json:"environment,omitempty"`
	Team           string   `json:"team,omitempty"`
	Actions        []string `json:"actions,omitempty"`
	NotActions     []string `json:"notActions,omitempty"`
	DataActions    []string `json:"dataActions,omitempty"`
	NotDataActions []string `json:"notDataActions,omitempty"`
	Path           []Step   `json:"path"`
}

// Radius is the blast radius of a compute or an identity: everything an
// attacker with code execution there, or holding that identity, can reach.
type Radius struct {
	Start       string  `json:"start"`
	StartKind   string  `json:"startKind"`
	Environment string  `json:"environment,omitempty"`
	Computes    []Held  `json:"computes"`
	Identities  []Held  `json:"identities"`
	Reach       []Reach `json:"reach"`
}

// Analysis is an estate with its graph, ready for questions.
type Analysis struct {
	E *Estate
	g *graph
	// children is the scope tree, for subtree enumeration.
	children [][]int32
}

// New builds the analysis of an estate.
func New(e *Estate) *Analysis {
	a := &Analysis{E: e, g: buildGraph(e)}
	a.children = make([][]int32, len(a.g.scopes))
	for s, p := range a.g.parentOf {
		if p >= 0 {
			a.children[p] = append(a.children[p], int32(s))
		}
	}
	return a
}

// BlastRadiusOf computes the blast radius of a compute or identity, named
// by id (or, for an identity, principal id).
func (a *Analysis) BlastRadiusOf(id string) (*Radius, error) {
	key := strings.ToLower(id)
	g := a.g
	r := &Radius{Start: id}
	var start int32
	if ci, ok := g.computeIdx[key]; ok {
		start, r.StartKind, r.Start = g.computeNode(ci), "compute", g.computes[ci].ID
	} else if ii, ok := g.identityIdx[key]; ok {
		start, r.StartKind, r.Start = g.identityNode(ii), "identity", g.ids[ii].Key
	} else {
		return nil, fmt.Errorf("no compute resource or identity %q", id)
	}
	r.Environment = a.E.Labels(r.Start).Env.Value
	return a.radiusFrom(r, start), nil
}

// radiusFrom searches from a start node and turns the search into its
// blast radius.
func (a *Analysis) radiusFrom(r *Radius, start int32) *Radius {
	t := a.g.search(start)
	defer t.release()
	return a.radius(r, t)
}

// radius turns a search into the blast radius. Its work is proportional
// to what the search reached: computes, identities and role assignment
// writes are taken from the reached nodes, in node order.
func (a *Analysis) radius(r *Radius, t *tree) *Radius {
	g := a.g
	parent := t.parent
	type heldIdentity struct {
		i     int32
		depth int32
		path  []Step
	}
	var held []heldIdentity
	var computes, identities, roleWrites []int32 // reached nodes of each kind
	for _, n := range t.order {
		switch kind, i := g.kindOf(n); {
		case kind == "compute":
			computes = append(computes, n)
		case kind == "identity":
			identities = append(identities, n)
		case capability(i%int32(numCaps)) == capRoleAssign && parent[n] >= 0 && g.kinds[parent[n]] == edgeRole:
			roleWrites = append(roleWrites, n)
		}
	}
	slices.Sort(computes)
	slices.Sort(identities)
	slices.Sort(roleWrites)
	for _, n := range computes {
		c := g.computes[n]
		r.Computes = append(r.Computes, Held{ID: c.ID, Name: c.Name, Kind: string(c.Kind), Environment: a.E.Labels(c.ID).Env.Value, Path: a.path(parent, n)})
	}
	for _, n := range identities {
		_, ii := g.kindOf(n)
		id := g.ids[ii]
		p := a.path(parent, n)
		held = append(held, heldIdentity{ii, t.depth[n], p})
		r.Identities = append(r.Identities, Held{ID: id.Key, Name: id.Name, Kind: string(id.Kind), Environment: a.E.Labels(id.Key).Env.Value, Path: p})
	}
	sort.SliceStable(held, func(i, j int) bool { return held[i].depth < held[j].depth })
	reach := map[int32]*Reach{} // scope index → entry
	var order []int32
	entry := func(s int32, path []Step) *Reach {
		if e, ok := reach[s]; ok {
			return e
		}
		res := a.E.resourceByKey[g.scopes[s]]
		if res == nil {
			return nil
		}
		l := a.E.Labels(res.ID)
		e := &Reach{Resource: res.ID, Type: res.Type, Environment: l.Env.Value, Team: l.Team.Value, Path: path}
		reach[s] = e
		order = append(order, s)
		return e
	}
	en := a.E.engine
	for _, h := range held {
		id := g.ids[h.i]
		for _, as := range en.AssignmentsFor(id.PrincipalID) {
			role, ok := en.Role(as.RoleID)
			if !ok {
				continue
			}
			scope, ok := a.scopeOf(as.Scope)
			if !ok {
				continue
			}
			via := fmt.Sprintf("%s (%s)", role.Name, as.ID)
			a.walk(scope, func(s int32) {
				res := a.E.resourceByKey[g.scopes[s]]
				if res == nil {
					return
				}
				perms := a.withoutDenied(applicable(role.Permissions, res.Type), id.PrincipalID, res.ID)
				if perms.empty() {
					return
				}
				e := entry(s, append(append([]Step(nil), h.path...), Step{Kind: "grants", From: id.Key, To: res.ID, Via: via}))
				if e != nil {
					e.merge(perms)
				}
				a.escalateData(entry, h.path, id, res, s)
			})
		}
	}
	// Role assignment writes reached: everything under the scope, data too.
	// The writer grants itself any role under the scope: deny assignments
	// still bind it.
	roleWriteReach := func(si int32, p []Step, principal string) {
		a.walk(si, func(s int32) {
			res := a.E.resourceByKey[g.scopes[s]]
			if res == nil {
				return
			}
			perms := a.withoutDenied(permSet{actions: []string{"*"}, dataActions: []string{"*"}}, principal, res.ID)
			if perms.empty() {
				return
			}
			if e := entry(s, append(append([]Step(nil), p...), Step{Kind: "roleAssignmentWrite", From: g.scopes[si], To: g.scopes[s], Via: "grant itself any role"})); e != nil {
				e.merge(perms)
			}
		})
	}
	for _, n := range roleWrites {
		_, rel := g.kindOf(n)
		_, writer := g.kindOf(g.source(parent[n]))
		roleWriteReach(rel/int32(numCaps), a.path(parent, n), g.ids[writer].PrincipalID)
	}
	// Identities a deny assignment may touch write role assignments
	// without capability nodes (graph.deniedWrites).
	for _, h := range held {
		id := g.ids[h.i]
		for _, ai := range g.deniedWrites[h.i] {
			as := g.assignments[ai]
			si, ok := a.scopeOf(as.Scope)
			if !ok {
				continue
			}
			holds := a.holdsStep(id.Key, g.scopes[si], as)
			roleWriteReach(si, append(append([]Step(nil), h.path...), holds), id.PrincipalID)
		}
	}
	for _, s := range order {
		e := reach[s]
		sort.Strings(e.Actions)
		sort.Strings(e.DataActions)
		r.Reach = append(r.Reach, *e)
	}
	sort.Slice(r.Reach, func(i, j int) bool { return r.Reach[i].Resource < r.Reach[j].Resource })
	return r
}

// escalateData adds what an identity's control-plane rights yield in data:
// an account's keys yield its blobs, and write on an access-policy vault
// yields its secrets (the writer adds itself a policy).
func (a *Analysis) escalateData(entry func(int32, []Step) *Reach, path []Step, id *Identity, res *Resource, s int32) {
	en := a.E.engine
	allowed := func(action string) bool {
		return en.Allowed(authz.Request{Principals: []string{id.PrincipalID}, Action: action, Scope: res.ID})
	}
	switch {
	case strings.EqualFold(res.Type, "Microsoft.Storage/storageAccounts") && allowed("Microsoft.Storage/storageAccounts/listkeys/action"):
		if e := entry(s, append(append([]Step(nil), path...), Step{Kind: "listKeys", From: id.Key, To: res.ID, Via: "the account keys bypass RBAC"})); e != nil {
			e.merge(permSet{dataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"}})
		}
	case strings.EqualFold(res.Type, "Microsoft.KeyVault/vaults") && res.VaultAccessPolicies && allowed("Microsoft.KeyVault/vaults/write"):
		if e := entry(s, append(append([]Step(nil), path...), Step{Kind: "accessPolicyWrite", From: id.Key, To: res.ID, Via: "add an access policy for itself"})); e != nil {
			e.merge(permSet{dataActions: []string{"Microsoft.KeyVault/vaults/secrets/*"}})
		}
	}
}

// scopeOf finds an assignment scope in the tree.
func (a *Analysis) scopeOf(scope string) (int32, bool) {
	id, err := resourceid.Parse(scope)
	if err != nil {
		return 0, false
	}
	s, ok := a.g.scopeIdx[id.Key()]
	return s, ok
}

// walk visits a scope and everything under it.
func (a *Analysis) walk(s int32, fn func(int32)) {
	stack := []int32{s}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		fn(n)
		stack = append(stack, a.children[n]...)
	}
}

// path explains how a search reached n.
func (a *Analysis) path(parent []int32, n int32) []Step {
	g := a.g
	var steps []Step
	for parent[n] >= 0 {
		e := parent[n]
		from := g.source(e)
		if st, ok := a.step(from, n, e); ok {
			steps = append(steps, st)
		}
		n = from
	}
	for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
		steps[i], steps[j] = steps[j], steps[i]
	}
	return steps
}

// holdsStep is the step of an identity holding a role assignment at a
// scope.
func (a *Analysis) holdsStep(identity, scope string, as authz.Assignment) Step {
	roleName := as.RoleID
	if r, ok := a.E.engine.Role(as.RoleID); ok {
		roleName = r.Name
	}
	return Step{Kind: "holds", From: identity, To: scope, Via: fmt.Sprintf("%s (%s)", roleName, as.ID)}
}

// step describes one edge, or reports false for an edge a path need not
// show (a capability flowing down the scope tree).
func (a *Analysis) step(from, to, e int32) (Step, bool) {
	g := a.g
	name := func(n int32) string {
		kind, i := g.kindOf(n)
		switch kind {
		case "compute":
			return g.computes[i].ID
		case "identity":
			return g.ids[i].Key
		}
		return g.scopes[i/int32(numCaps)]
	}
	switch g.kinds[e] {
	case edgeToken:
		c := g.computes[from]
		kind, via := "token", map[ComputeKind]string{VM: "IMDS", WebApp: "IDENTITY_ENDPOINT", FunctionApp: "IDENTITY_ENDPOINT", Cluster: "the node's IMDS (kubelet identity)"}[c.Kind]
		if c.Kind == ServiceAccount {
			kind, via = "federated", "service account token "+c.Subject
			if cl := a.E.computeByKey[strings.ToLower(c.Cluster)]; cl != nil && strings.EqualFold(g.ids[to-int32(len(g.computes))].Key, cl.Kubelet) {
				kind, via = "token", "the node's IMDS (kubelet identity)"
			}
		}
		return Step{Kind: kind, From: c.ID, To: name(to), Via: via}, true
	case edgeRole:
		return a.holdsStep(name(from), name(to), g.assignments[g.vias[e]]), true
	case edgeCapTarget:
		c := capability(g.vias[e])
		return Step{Kind: capNames[c], From: name(from), To: name(to), Via: strings.Join(capActions[c], " or ")}, true
	case edgeImplies:
		return Step{Kind: "roleAssignmentWrite", From: name(from), To: name(to), Via: "grant itself " + capNames[capability(g.vias[e])]}, true
	case edgeNodeAccess:
		return Step{Kind: "nodeAccess", From: name(from), To: name(to), Via: "code on the nodes runs pods as any service account"}, true
	case edgeDirect:
		return Step{Kind: "control", From: name(from), To: name(to), Via: controlVia(g.vias[e])}, true
	}
	return Step{}, false
}

// permSet is a set of action patterns.
type permSet struct {
	actions, notActions, dataActions, notDataActions []string
}

func (p permSet) empty() bool { return len(p.actions)+len(p.dataActions) == 0 }

// applicable keeps the patterns of permission blocks that can apply to a
// resource type: "*", "*/read", and patterns under the type's namespace and
// type.
func applicable(perms []authz.Permission, typ string) permSet {
	var out permSet
	t := typ + "/"
	prefixFold := func(s, pre string) bool { return len(s) >= len(pre) && strings.EqualFold(s[:len(pre)], pre) }
	keep := func(list []string) []string {
		var kept []string
		for _, p := range list {
			pre := p
			if i := strings.IndexByte(pre, '*'); i >= 0 {
				pre = pre[:i]
			}
			if prefixFold(t, pre) || prefixFold(pre, t) {
				kept = append(kept, p)
			}
		}
		return kept
	}
	for _, p := range perms {
		if p.Condition != "" && len(p.DataActions) == 0 {
			continue
		}
		out.actions = append(out.actions, keep(p.Actions)...)
		out.notActions = append(out.notActions, keep(p.NotActions)...)
		out.dataActions = append(out.dataActions, keep(p.DataActions)...)
		out.notDataActions = append(out.notDataActions, keep(p.NotDataActions)...)
	}
	return out
}

// withoutDenied takes out of what a principal's roles grant on a resource
// what the deny assignments there refuse it. A granted pattern that a deny
// pattern covers goes (unless one of the deny's exceptions overlaps it); a
// denied pattern inside a granted wildcard is kept as a NotAction or
// NotDataAction of the reach, as a role's own exclusions are.
func (a *Analysis) withoutDenied(p permSet, principal, resource string) permSet {
	if !a.g.denied(principal) {
		return p
	}
	for _, d := range a.E.engine.DenyAssignmentsAt([]string{principal}, resource) {
		for _, b := range d.Permissions {
			p.actions, p.notActions = denyPatterns(p.actions, p.notActions, b.Actions, b.NotActions)
			p.dataActions, p.notDataActions = denyPatterns(p.dataActions, p.notDataActions, b.DataActions, b.NotDataActions)
		}
	}
	return p
}

// denyPatterns applies one deny block (denied patterns, except its
// exceptions) to granted patterns and their exclusions.
func denyPatterns(granted, not, denied, except []string) (kept, notOut []string) {
	overlapsExcept := func(g string) bool {
		return slices.ContainsFunc(except, func(x string) bool { return authz.Match(x, g) || authz.Match(g, x) })
	}
	for _, g := range granted {
		if !authz.MatchAny(denied, g) || overlapsExcept(g) {
			kept = append(kept, g)
		}
	}
	notOut = not
	for _, d := range denied {
		if authz.MatchAny(kept, d) && !overlapsExcept(d) && !authz.MatchAny(notOut, d) {
			notOut = append(notOut, d)
		}
	}
	return kept, notOut
}

// merge adds patterns to an entry, once each.
func (r *Reach) merge(p permSet) {
	r.Actions = union(r.Actions, p.actions)
	r.NotActions = union(r.NotActions, p.notActions)
	r.DataActions = union(r.DataActions, p.dataActions)
	r.NotDataActions = union(r.NotDataActions, p.notDataActions)
}

func union(a, b []string) []string {
	for _, s := range b {
		found := false
		for _, t := range a {
			if strings.EqualFold(s, t) {
				found = true
				break
			}
		}
		if !found {
			a = append(a, s)
		}
	}
	return a
}
