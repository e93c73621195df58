package analyzer

import (
	"sort"
	"strings"
	"sync"

	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/resourceid"
)

// Capability classes: what an identity's role lets it do at a scope that
// yields more identities (DESIGN §3).
type capability uint8

const (
	capRunCommand   capability = iota // run-command on VMs → their identities
	capWriteVM                        // write on VMs → their identities
	capWriteSite                      // write on web and function apps → their identities
	capClusterAdmin                   // cluster-admin credentials → kubelet and service accounts
	capAssign                         // assign a user-assigned identity (its holder must write some compute)
	capFederate                       // write an identity's federated credentials
	capRoleAssign                     // write role assignments → anything under the scope
	numCaps
)

var capNames = [numCaps]string{"runCommand", "write", "write", "clusterAdmin", "assign", "federatedCredentialWrite", "roleAssignmentWrite"}

// capActions are the actions that grant each capability, for the types it
// applies to.
var capActions = [numCaps][]string{
	capRunCommand:   {"Microsoft.Compute/virtualMachines/runCommand/action"},
	capWriteVM:      {"Microsoft.Compute/virtualMachines/write"},
	capWriteSite:    {"Microsoft.Web/sites/write"},
	capClusterAdmin: {"Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action"},
	capAssign:       {"Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"},
	capFederate:     {"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write"},
	capRoleAssign:   {"Microsoft.Authorization/roleAssignments/write"},
}

// Edge kinds, as paths name their steps.
type edgeKind uint8

const (
	edgeToken      edgeKind = iota // compute → identity: code there gets its tokens
	edgeRole                       // identity → capability at a scope: a role assignment
	edgeContains                   // capability at a scope → the same at a child scope
	edgeCapTarget                  // capability at a target → the compute or identity it yields
	edgeImplies                    // roleAssignmentWrite → every other capability at the scope
	edgeNodeAccess                 // cluster → its service accounts' pods
	edgeDirect                     // identity → target, decided one by one (deny assignments)
)

// node layout: computes, then identities, then scopes × capabilities.
type graph struct {
	e         *Estate
	computes  []*Compute
	ids       []*Identity
	scopes    []string // canonical keys of every scope (resources and their ancestors)
	scopeIdx  map[string]int32
	parentOf  []int32 // scope → parent scope, -1 for the root
	nodeCount int32

	// CSR adjacency.
	offsets []int32
	targets []int32
	kinds   []edgeKind
	vias    []int32 // assignment index for role edges, capability for cap edges, else -1

	assignments []authz.Assignment // by index, for vias
	computeIdx  map[string]int32
	identityIdx map[string]int32
	// vmBelow and siteBelow mark the scopes at or under which a VM, or a
	// web or function app, lives.
	vmBelow, siteBelow []bool
	// deniedWrites are, for identities a deny assignment may touch, the
	// role assignments (indexes) that let them write role assignments:
	// decided one by one, deny assignments applied (addDirectEdges, and
	// radius for what lies under their scopes).
	deniedWrites map[int32][]int32
	// denied reports whether a deny assignment may apply to a principal.
	denied func(string) bool
	// trees pools the scratch space of searches.
	trees sync.Pool
}

func (g *graph) computeNode(i int32) int32  { return i }
func (g *graph) identityNode(i int32) int32 { return int32(len(g.computes)) + i }
func (g *graph) capNode(scope int32, c capability) int32 {
	return int32(len(g.computes)+len(g.ids)) + scope*int32(numCaps) + int32(c)
}

// kindOf says what a node is.
func (g *graph) kindOf(n int32) (string, int32) {
	switch {
	case n < int32(len(g.computes)):
		return "compute", n
	case n < int32(len(g.computes)+len(g.ids)):
		return "identity", n - int32(len(g.computes))
	}
	rel := n - int32(len(g.computes)+len(g.ids))
	return "capability", rel
}

type rawEdge struct {
	from, to int32
	kind     edgeKind
	via      int32
}

// buildGraph builds the reachability graph of an estate.
func buildGraph(e *Estate) *graph {
	g := &graph{e: e, computes: e.Computes, ids: e.Identities, scopeIdx: map[string]int32{},
		computeIdx: map[string]int32{}, identityIdx: map[string]int32{}, assignments: e.Assignments}
	for i, c := range g.computes {
		g.computeIdx[strings.ToLower(c.ID)] = int32(i)
	}
	for i, id := range g.ids {
		g.identityIdx[strings.ToLower(id.Key)] = int32(i)
		g.identityIdx[id.PrincipalID] = int32(i)
	}
	// The scope tree: every resource and its ancestors, and the root.
	var addScope func(id resourceid.ID) int32
	addScope = func(id resourceid.ID) int32 {
		key := id.Key()
		if i, ok := g.scopeIdx[key]; ok {
			return i
		}
		parent := int32(-1)
		if !id.IsRoot() {
			parent = addScope(id.Parent())
		}
		i := int32(len(g.scopes))
		g.scopes = append(g.scopes, key)
		g.scopeIdx[key] = i
		g.parentOf = append(g.parentOf, parent)
		return i
	}
	addScope(resourceid.ID{})
	for _, r := range e.Resources {
		if id, err := resourceid.Parse(r.ID); err == nil {
			addScope(id)
		}
	}
	for _, c := range e.Computes {
		if id, err := resourceid.Parse(c.ID); err == nil {
			addScope(id)
		}
	}
	g.nodeCount = int32(len(g.computes)+len(g.ids)) + int32(len(g.scopes))*int32(numCaps)
	g.vmBelow, g.siteBelow = make([]bool, len(g.scopes)), make([]bool, len(g.scopes))
	for _, c := range g.computes {
		below := g.vmBelow
		switch c.Kind {
		case VM:
		case WebApp, FunctionApp:
			below = g.siteBelow
		default:
			continue
		}
		for s, ok := g.scopeIdx[strings.ToLower(c.ID)]; ok && s >= 0 && !below[s]; s = g.parentOf[s] {
			below[s] = true
		}
	}

	var edges []rawEdge
	add := func(from, to int32, k edgeKind, via int32) { edges = append(edges, rawEdge{from, to, k, via}) }

	// compute → identity, and cluster → its service accounts.
	for ci, c := range g.computes {
		for _, key := range c.Identities {
			if ii, ok := g.identityIdx[strings.ToLower(key)]; ok {
				add(g.computeNode(int32(ci)), g.identityNode(ii), edgeToken, -1)
			}
		}
		if c.Kind == ServiceAccount {
			if cl, ok := g.computeIdx[strings.ToLower(c.Cluster)]; ok {
				add(g.computeNode(cl), g.computeNode(int32(ci)), edgeNodeAccess, -1)
			}
		}
	}
	// capability tree edges, and capability → target edges.
	for si, key := range g.scopes {
		s := int32(si)
		if p := g.parentOf[si]; p >= 0 {
			for c := capability(0); c < numCaps; c++ {
				add(g.capNode(p, c), g.capNode(s, c), edgeContains, int32(c))
			}
		}
		for c := capRunCommand; c < capRoleAssign; c++ {
			// Writing role assignments yields assign only where it can
			// also grant write on a compute to attach the identity to.
			if c != capAssign || g.vmBelow[s] || g.siteBelow[s] {
				add(g.capNode(s, capRoleAssign), g.capNode(s, c), edgeImplies, int32(c))
			}
		}
		if ci, ok := g.computeIdx[key]; ok {
			switch g.computes[ci].Kind {
			case VM:
				add(g.capNode(s, capRunCommand), g.computeNode(ci), edgeCapTarget, int32(capRunCommand))
				add(g.capNode(s, capWriteVM), g.computeNode(ci), edgeCapTarget, int32(capWriteVM))
			case WebApp, FunctionApp:
				add(g.capNode(s, capWriteSite), g.computeNode(ci), edgeCapTarget, int32(capWriteSite))
			case Cluster:
				add(g.capNode(s, capClusterAdmin), g.computeNode(ci), edgeCapTarget, int32(capClusterAdmin))
			}
		}
		if ii, ok := g.identityIdx[key]; ok && g.ids[ii].Kind == UserAssigned {
			add(g.capNode(s, capAssign), g.identityNode(ii), edgeCapTarget, int32(capAssign))
			add(g.capNode(s, capFederate), g.identityNode(ii), edgeCapTarget, int32(capFederate))
		}
	}
	// identity → capability at the scope of each assignment whose role
	// grants it; identities that a deny assignment may touch get their
	// edges decided target by target instead. Attaching an identity is
	// one write of a compute by a caller that may also assign the
	// identity, so assign edges leave only identities that can write some
	// compute themselves.
	roleGrants := map[string][numCaps]bool{}
	g.denied = deniedPrincipals(e.Denies)
	type grant struct {
		ii, si, ai int32
		caps       [numCaps]bool
	}
	var grants []grant
	writes := make([]bool, len(g.ids))
	for ai, a := range e.Assignments {
		ii, ok := g.identityIdx[a.PrincipalID]
		if !ok || a.Condition != "" {
			// A conditional grant of these control-plane actions cannot be
			// decided without the request; count it as not granting.
			continue
		}
		si, ok := g.scopeIdx[scopeKey(a.Scope)]
		if !ok {
			continue
		}
		caps, seen := roleGrants[a.RoleID]
		if !seen {
			caps = roleCapabilities(e.engine, a.RoleID)
			roleGrants[a.RoleID] = caps
		}
		if g.denied(a.PrincipalID) {
			// Its computes and identities are decided one by one, and so
			// is what a role assignment write still yields it.
			if caps[capRoleAssign] && e.engine.Allowed(authz.Request{Principals: []string{a.PrincipalID}, Action: capActions[capRoleAssign][0], Scope: a.Scope}) {
				if g.deniedWrites == nil {
					g.deniedWrites = map[int32][]int32{}
				}
				g.deniedWrites[ii] = append(g.deniedWrites[ii], int32(ai))
			}
			continue
		}
		grants = append(grants, grant{ii, si, int32(ai), caps})
		if caps[capWriteVM] && g.vmBelow[si] || caps[capWriteSite] && g.siteBelow[si] || caps[capRoleAssign] && (g.vmBelow[si] || g.siteBelow[si]) {
			writes[ii] = true
		}
	}
	for _, gr := range grants {
		for c := capability(0); c < numCaps; c++ {
			if gr.caps[c] && (c != capAssign || writes[gr.ii]) {
				add(g.identityNode(gr.ii), g.capNode(gr.si, c), edgeRole, gr.ai)
			}
		}
		if gr.caps[capRoleAssign] && !gr.caps[capAssign] && writes[gr.ii] && !g.vmBelow[gr.si] && !g.siteBelow[gr.si] {
			// It may grant itself assign here and write a compute elsewhere.
			add(g.identityNode(gr.ii), g.capNode(gr.si, capAssign), edgeRole, gr.ai)
		}
	}
	g.addDirectEdges(&edges)
	g.freeze(edges)
	return g
}

// scopeKey is a scope's canonical key without parsing it, as the scope tree
// keys it ("/" for the root).
func scopeKey(scope string) string {
	if scope == "/" {
		return "/"
	}
	return lowerASCII(strings.TrimSuffix(scope, "/"))
}

// lowerASCII lower-cases ASCII letters, allocating only when needed.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

// roleCapabilities says which capabilities a role grants.
func roleCapabilities(en *authz.Engine, roleID string) [numCaps]bool {
	var out [numCaps]bool
	r, ok := en.Role(roleID)
	if !ok {
		return out
	}
	for c := capability(0); c < numCaps; c++ {
		for _, action := range capActions[c] {
			if roleAllows(r, action) {
				out[c] = true
			}
		}
	}
	return out
}

// roleAllows reports whether a role's permission blocks grant a
// control-plane action (ignoring role conditions, which built-in roles put
// only on data actions and role assignment writes).
func roleAllows(r *authz.Role, action string) bool {
	for _, p := range r.Permissions {
		if p.Condition != "" {
			continue
		}
		if authz.MatchAny(p.Actions, action) && !authz.MatchAny(p.NotActions, action) {
			return true
		}
	}
	return false
}

// deniedPrincipals returns a predicate: may a deny assignment apply to
// this principal?
func deniedPrincipals(denies []authz.DenyAssignment) func(string) bool {
	everyone := false
	named := map[string]bool{}
	for _, d := range denies {
		for _, p := range d.Principals {
			if p == authz.Everyone {
				everyone = true
			}
			named[strings.ToLower(p)] = true
		}
	}
	return func(p string) bool { return everyone || named[strings.ToLower(p)] }
}

// addDirectEdges decides, target by target with the engine, the
// capabilities of identities a deny assignment may touch.
func (g *graph) addDirectEdges(edges *[]rawEdge) {
	en := g.e.engine
	for ii, id := range g.ids {
		if !g.denied(id.PrincipalID) || len(en.AssignmentsFor(id.PrincipalID)) == 0 {
			continue
		}
		from := g.identityNode(int32(ii))
		allowed := func(action, scope string) bool {
			return en.Allowed(authz.Request{Principals: []string{id.PrincipalID}, Action: action, Scope: scope})
		}
		// What it could grant itself: under a scope where it writes role
		// assignments, whatever no deny assignment refuses it.
		grantable := func(action, scope string) bool {
			key := strings.ToLower(scope)
			for _, ai := range g.deniedWrites[int32(ii)] {
				if resourceid.KeyContains(scopeKey(g.assignments[ai].Scope), key) {
					return en.Check(authz.Request{Principals: []string{id.PrincipalID}, Action: action, Scope: scope}).Denied() == nil
				}
			}
			return false
		}
		// Assigning an identity is one write of a compute: it yields the
		// identity only to a caller that can write some VM or site.
		writes := false
		for ci, c := range g.computes {
			cp, ok := yieldsCompute(allowed, c)
			if ok {
				*edges = append(*edges, rawEdge{from, g.computeNode(int32(ci)), edgeDirect, int32(cp)})
			} else if gcp, gok := yieldsCompute(grantable, c); gok {
				*edges = append(*edges, rawEdge{from, g.computeNode(int32(ci)), edgeDirect, int32(gcp) | afterRoleWrite})
			}
			// Whether it writes a VM or site: yieldsCompute has asked,
			// unless run-command was enough (a refusal asked write too).
			if !writes && ok {
				writes = cp == capWriteVM || cp == capWriteSite ||
					cp == capRunCommand && allowed(capActions[capWriteVM][0], c.ID)
			}
		}
		for ti, t := range g.ids {
			if t.Kind != UserAssigned {
				continue
			}
			if cp, ok := yieldsIdentity(allowed, t, writes); ok {
				*edges = append(*edges, rawEdge{from, g.identityNode(int32(ti)), edgeDirect, int32(cp)})
			} else if grantable(capActions[capFederate][0], t.Key) {
				// It grants itself the right to add a federated credential.
				*edges = append(*edges, rawEdge{from, g.identityNode(int32(ti)), edgeDirect, int32(capFederate) | afterRoleWrite})
			}
		}
	}
}

// afterRoleWrite marks a direct edge's capability as one the identity
// first grants itself with a role assignment write.
const afterRoleWrite = 1 << 8

// yieldsCompute decides, with an authorization function, whether a caller
// can take over a compute, and how: run-command or write on a VM, write on
// a site, cluster-admin credentials on a cluster.
func yieldsCompute(allowed func(action, scope string) bool, c *Compute) (capability, bool) {
	var try []capability
	switch c.Kind {
	case VM:
		try = []capability{capRunCommand, capWriteVM}
	case WebApp, FunctionApp:
		try = []capability{capWriteSite}
	case Cluster:
		try = []capability{capClusterAdmin}
	}
	for _, cp := range try {
		if allowed(capActions[cp][0], c.ID) {
			return cp, true
		}
	}
	return 0, false
}

// yieldsIdentity decides whether a caller can take a user-assigned
// identity, and how: assign it, when it can write some compute (writes),
// or write its federated credentials.
func yieldsIdentity(allowed func(action, scope string) bool, id *Identity, writes bool) (capability, bool) {
	switch {
	case writes && allowed(capActions[capAssign][0], id.Key):
		return capAssign, true
	case allowed(capActions[capFederate][0], id.Key):
		return capFederate, true
	}
	return 0, false
}

// ControlCapability names the capability behind a "control" step (one
// decided with deny assignments applied): runCommand, write, clusterAdmin,
// assign or federatedCredentialWrite, as the steps of other paths are
// named.
func ControlCapability(s Step) string {
	name, _, _ := strings.Cut(s.Via, " ")
	return name
}

// ControlAfterRoleWrite reports whether a "control" step's identity first
// grants itself the capability with a role assignment write on the target.
func ControlAfterRoleWrite(s Step) bool {
	return strings.Contains(s.Via, " "+afterRoleWriteVia+" ")
}

const afterRoleWriteVia = "after granting itself a role (roleAssignmentWrite)"

// controlVia describes a direct edge's capability (ControlCapability and
// ControlAfterRoleWrite read it).
func controlVia(via int32) string {
	c := capability(via &^ afterRoleWrite)
	how := ""
	if via&afterRoleWrite != 0 {
		how = " " + afterRoleWriteVia + " "
	}
	return capNames[c] + how + " (" + strings.Join(capActions[c], " or ") + "), decided with deny assignments applied"
}

// freeze packs edges into CSR arrays with a counting sort by source, which
// keeps each node's edges in the order they were added.
func (g *graph) freeze(edges []rawEdge) {
	g.offsets = make([]int32, g.nodeCount+1)
	for _, e := range edges {
		g.offsets[e.from+1]++
	}
	for i := int32(1); i <= g.nodeCount; i++ {
		g.offsets[i] += g.offsets[i-1]
	}
	g.targets = make([]int32, len(edges))
	g.kinds = make([]edgeKind, len(edges))
	g.vias = make([]int32, len(edges))
	next := append([]int32(nil), g.offsets[:g.nodeCount]...)
	for _, e := range edges {
		i := next[e.from]
		next[e.from]++
		g.targets[i], g.kinds[i], g.vias[i] = e.to, e.kind, e.via
	}
}

// tree is a breadth-first search from one start: the nodes it reached, in
// order, and for each its parent edge (-1 for the start) and depth. parent
// and depth are read only at reached nodes: the arrays are pooled scratch
// space the size of the graph, valid where mark[n] == epoch, so that a
// search costs what it reaches, not the size of the graph.
type tree struct {
	order         []int32
	parent, depth []int32
	mark          []uint32
	epoch         uint32
	pool          *sync.Pool
}

// release hands the scratch space back; t must not be used after.
func (t *tree) release() { t.pool.Put(t) }

// search runs a breadth-first search from start.
func (g *graph) search(start int32) *tree {
	t, _ := g.trees.Get().(*tree)
	if t == nil || len(t.mark) < int(g.nodeCount) {
		t = &tree{parent: make([]int32, g.nodeCount), depth: make([]int32, g.nodeCount), mark: make([]uint32, g.nodeCount), pool: &g.trees}
	}
	t.epoch++
	if t.epoch == 0 { // wrapped: old marks could collide
		clear(t.mark)
		t.epoch = 1
	}
	t.order = append(t.order[:0], start)
	t.mark[start], t.parent[start], t.depth[start] = t.epoch, -1, 0
	for head := 0; head < len(t.order); head++ {
		n := t.order[head]
		for e := g.offsets[n]; e < g.offsets[n+1]; e++ {
			if m := g.targets[e]; t.mark[m] != t.epoch {
				t.mark[m], t.parent[m], t.depth[m] = t.epoch, e, t.depth[n]+1
				t.order = append(t.order, m)
			}
		}
	}
	return t
}

// bfs walks the graph from start nodes. It returns each reached node's
// parent edge index (-1 for starts, -2 for unreached) and the node that
// edge leaves (from[n], for reached nodes that are not starts).
func (g *graph) bfs(starts []int32) (parent []int32, from []int32) {
	return g.bfsInto(starts, nil, nil)
}

// bfsInto is bfs into the given arrays, grown to the graph's size.
func (g *graph) bfsInto(starts, parent, from []int32) ([]int32, []int32) {
	parent, from = grow(parent, int(g.nodeCount)), grow(from, int(g.nodeCount))
	for i := range parent {
		parent[i] = -2
	}
	queue := make([]int32, 0, 1024)
	for _, s := range starts {
		if parent[s] == -2 {
			parent[s] = -1
			queue = append(queue, s)
		}
	}
	for head := 0; head < len(queue); head++ {
		n := queue[head]
		for e := g.offsets[n]; e < g.offsets[n+1]; e++ {
			if m := g.targets[e]; parent[m] == -2 {
				parent[m] = e
				from[m] = n
				queue = append(queue, m)
			}
		}
	}
	return parent, from
}

// source returns the node an edge leaves, by binary search in offsets.
func (g *graph) source(edge int32) int32 {
	i := sort.Search(len(g.offsets), func(i int) bool { return g.offsets[i] > edge })
	return int32(i - 1)
}
