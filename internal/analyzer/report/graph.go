// Package report renders the analyzer's answers: a blast radius as a
// table, JSON, a Mermaid flowchart or a Graphviz digraph, and findings as a
// table, JSON, SARIF 2.1.0, Markdown or a BloodHound OpenGraph.
//
// Output is deterministic: the same answer renders to the same bytes.
package report

import (
	"sort"
	"strings"

	"github.com/mimic-emu/mimic/internal/analyzer"
)

// The drawn graph: computes, identities and resources (scopes) as the
// steps of paths name them, each step an edge.

type role int

const (
	roleCompute role = iota
	roleIdentity
	roleResource
	roleIssuer
	roleFinding
	rolePrincipal
)

type gnode struct {
	key   string // stable id: see nodeKey
	id    string // the resource id in its display casing
	roles map[role]bool
	name  string
	kind  string // compute kind, identity kind or resource type
	env   string
	team  string
	start bool
	props map[string]any
}

type gedge struct {
	from, to string // node keys
	kind     string // the step kind
	label    string
	props    map[string]any
}

type pgraph struct {
	nodes map[string]*gnode
	edges map[string]*gedge
	// computes and identities known by id (lower case), to place the ends
	// of steps whose role is ambiguous.
	computes, identities map[string]bool
}

func newGraph() *pgraph {
	return &pgraph{nodes: map[string]*gnode{}, edges: map[string]*gedge{}, computes: map[string]bool{}, identities: map[string]bool{}}
}

// nodeKey names a node: resource ids in lower case; a system-assigned
// identity (whose key is its compute's id) gets a suffix so that it is
// not its compute.
func nodeKey(r role, id string) string {
	k := strings.ToLower(id)
	switch r {
	case roleIdentity:
		if !strings.Contains(k, "/providers/microsoft.managedidentity/userassignedidentities/") {
			return k + "#systemassigned"
		}
	case roleIssuer:
		return "issuer:" + k
	case roleFinding:
		return "finding:" + k
	case rolePrincipal:
		return "principal:" + k
	}
	return k
}

// lastSegment is an id's own name.
func lastSegment(id string) string {
	id = strings.TrimSuffix(id, "/")
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}

// typeOf derives a resource type from an id: the last provider namespace
// and its types.
func typeOf(id string) string {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	ns := -1
	for i, p := range parts {
		if strings.EqualFold(p, "providers") && i+1 < len(parts) {
			ns = i + 1
		}
	}
	if ns < 0 {
		switch {
		case len(parts) >= 4 && strings.EqualFold(parts[2], "resourceGroups"):
			return "Microsoft.Resources/resourceGroups"
		case len(parts) >= 2 && strings.EqualFold(parts[0], "subscriptions"):
			return "Microsoft.Resources/subscriptions"
		}
		return ""
	}
	t := parts[ns]
	for i := ns + 1; i < len(parts); i += 2 {
		t += "/" + parts[i]
	}
	return t
}

// node adds or finds a node, keeping the display casing that has capitals.
func (g *pgraph) node(r role, id string) *gnode {
	if r == roleResource {
		// A resource that is a compute is drawn as the compute.
		if g.computes[strings.ToLower(id)] {
			r = roleCompute
		} else if g.identities[strings.ToLower(id)] && strings.Contains(strings.ToLower(id), "/userassignedidentities/") {
			r = roleIdentity
		}
	}
	key := nodeKey(r, id)
	n := g.nodes[key]
	if n == nil {
		n = &gnode{key: key, id: id, roles: map[role]bool{}, name: lastSegment(id), props: map[string]any{}}
		if r == roleIdentity && strings.HasSuffix(key, "#systemassigned") {
			n.name += " (system-assigned)"
			n.kind = "systemAssigned"
		}
		if r == roleResource || r == roleCompute {
			n.kind = typeOf(id)
		}
		if r == roleIdentity && n.kind == "" {
			n.kind = "userAssigned"
		}
		g.nodes[key] = n
	} else if n.id == strings.ToLower(n.id) && id != n.id {
		n.id = id
		if !strings.HasSuffix(key, "#systemassigned") {
			n.name = lastSegment(id)
		}
	}
	n.roles[r] = true
	return n
}

func (g *pgraph) edge(from, to *gnode, kind, label string) *gedge {
	if from.key == to.key {
		return nil
	}
	k := from.key + "\x00" + to.key + "\x00" + kind + "\x00" + label
	e := g.edges[k]
	if e == nil {
		e = &gedge{from: from.key, to: to.key, kind: kind, label: label, props: map[string]any{}}
		g.edges[k] = e
	}
	return e
}

// stepRoles says what a step's ends are.
func (g *pgraph) stepRoles(s analyzer.Step) (role, role) {
	switch s.Kind {
	case "token", "federated":
		return roleCompute, roleIdentity
	case "holds":
		return roleIdentity, roleResource
	case "runCommand", "write", "clusterAdmin":
		return roleResource, roleCompute
	case "assign", "federatedCredentialWrite":
		return roleResource, roleIdentity
	case "roleAssignmentWrite":
		return roleResource, roleResource
	case "nodeAccess":
		return roleCompute, roleCompute
	case "control":
		if g.computes[strings.ToLower(s.To)] {
			return roleIdentity, roleCompute
		}
		return roleIdentity, roleIdentity
	}
	return roleIdentity, roleResource // grants, listKeys, accessPolicyWrite
}

// viaRole extracts the role name of a "Role (assignment id)" via.
func viaRole(via string) (roleName, assignment string) {
	i := strings.LastIndex(via, " (")
	if i < 0 || !strings.HasSuffix(via, ")") {
		return via, ""
	}
	return via[:i], via[i+2 : len(via)-1]
}

// capabilityStep marks the steps that leave a scope's capability.
var capabilityStep = map[string]bool{"runCommand": true, "write": true, "clusterAdmin": true, "assign": true,
	"federatedCredentialWrite": true, "roleAssignmentWrite": true}

// stepLabel is an edge's caption.
func stepLabel(s analyzer.Step) string {
	switch s.Kind {
	case "holds", "grants":
		r, _ := viaRole(s.Via)
		return s.Kind + ": " + r
	case "token", "federated":
		if s.Via != "" && !strings.HasPrefix(s.Via, "service account token") {
			return s.Kind + " (" + s.Via + ")"
		}
	}
	return s.Kind
}

// addPath adds a path's steps.
func (g *pgraph) addPath(steps []analyzer.Step) {
	var prev *gnode
	for _, s := range steps {
		fr, tr := g.stepRoles(s)
		from := g.node(fr, s.From)
		if prev != nil && fr == roleResource && capabilityStep[s.Kind] {
			// A capability flows down the scope tree in steps a path
			// does not show: draw it from where the path stood.
			from = prev
		}
		to := g.node(tr, s.To)
		prev = to
		e := g.edge(from, to, s.Kind, stepLabel(s))
		if e != nil && s.Via != "" {
			e.props["via"] = s.Via
			if r, a := viaRole(s.Via); a != "" {
				e.props["role"], e.props["roleassignmentid"] = r, a
			}
		}
	}
}

// radiusGraph draws a blast radius: every path of it.
func radiusGraph(r *analyzer.Radius) *pgraph {
	g := newGraph()
	for _, h := range r.Computes {
		g.computes[strings.ToLower(h.ID)] = true
	}
	for _, h := range r.Identities {
		g.identities[strings.ToLower(h.ID)] = true
	}
	startRole := roleCompute
	if r.StartKind == "identity" {
		startRole = roleIdentity
		g.identities[strings.ToLower(r.Start)] = true
	} else {
		g.computes[strings.ToLower(r.Start)] = true
	}
	start := g.node(startRole, r.Start)
	start.start, start.env = true, r.Environment
	for _, h := range r.Computes {
		n := g.node(roleCompute, h.ID)
		n.name, n.kind, n.env = h.Name, h.Kind, h.Environment
		g.addPath(h.Path)
	}
	for _, h := range r.Identities {
		n := g.node(roleIdentity, h.ID)
		n.name, n.kind, n.env = h.Name, h.Kind, h.Environment
		g.addPath(h.Path)
	}
	for _, re := range r.Reach {
		g.addPath(re.Path)
		n := g.node(roleResource, re.Resource)
		if !n.roles[roleCompute] && !n.roles[roleIdentity] {
			n.kind = re.Type
		}
		n.env, n.team = re.Environment, re.Team
	}
	return g
}

// sortedNodes orders nodes: the start, computes, identities, resources,
// then by id.
func (g *pgraph) sortedNodes() []*gnode {
	out := make([]*gnode, 0, len(g.nodes))
	for _, n := range g.nodes {
		out = append(out, n)
	}
	rank := func(n *gnode) int {
		switch {
		case n.start:
			return 0
		case n.roles[roleFinding]:
			return 1
		case n.roles[roleIssuer]:
			return 2
		case n.roles[roleCompute]:
			return 3
		case n.roles[roleIdentity]:
			return 4
		case n.roles[rolePrincipal]:
			return 5
		}
		return 6
	}
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := rank(out[i]), rank(out[j]); ri != rj {
			return ri < rj
		}
		return out[i].key < out[j].key
	})
	return out
}

func (g *pgraph) sortedEdges() []*gedge {
	out := make([]*gedge, 0, len(g.edges))
	for _, e := range g.edges {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.from != b.from {
			return a.from < b.from
		}
		if a.to != b.to {
			return a.to < b.to
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return a.label < b.label
	})
	return out
}

// primaryRole is the role a node is drawn as.
func (n *gnode) primaryRole() role {
	for _, r := range []role{roleFinding, roleIssuer, roleCompute, roleIdentity, rolePrincipal} {
		if n.roles[r] {
			return r
		}
	}
	return roleResource
}

// caption is a node's second line: its kind and labels.
func (n *gnode) caption() string {
	parts := []string{}
	if n.kind != "" {
		parts = append(parts, n.kind)
	}
	if n.env != "" {
		parts = append(parts, "env "+n.env)
	}
	if n.team != "" {
		parts = append(parts, "team "+n.team)
	}
	return strings.Join(parts, " · ")
}
