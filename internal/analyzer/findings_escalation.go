package analyzer

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/mimic-emu/mimic/internal/authz"
)

// escalation-path: one multi-source search per (environment, team) class
// of starts. Starts are computes, and identities no compute holds (used
// from outside: federated pipelines, or whoever holds their secret). A
// class is searched only if one of its starts can escalate at all: it
// holds an identity with a capability role (or deny-checked control), or
// it is an AKS cluster (its nodes run any service account). Everything
// reached through at least one escalation edge whose labels differ from
// the class's (both known) crosses; so do the grants of identities
// reached that way, role assignment writes held (everything under their
// scope), and listKeys or access-policy writes on another class's storage
// and vaults. Crossings are grouped by their culprit: the role assignment
// that grants the first escalation step (or the cluster, for node access).

type escClass struct {
	env, team string
	starts    []int32
	escalates bool
}

func (c *escClass) label() string {
	switch {
	case c.env != "" && c.team != "":
		return c.env + "/" + c.team
	case c.env != "":
		return c.env
	}
	return c.team
}

// differs reports whether target labels lie in another environment or
// team than the class (both sides known).
func (c *escClass) differs(l Labels) bool {
	return (c.env != "" && l.Env.Value != "" && c.env != l.Env.Value) ||
		(c.team != "" && l.Team.Value != "" && !strings.EqualFold(c.team, l.Team.Value))
}

// crossing is one target another class reaches: a compute, an identity
// (both by index), or a resource (by scope index).
type crossing struct {
	src  crossSource
	last lastStep
	data bool
	idx  int32 // the compute or identity
	node int32 // the node whose path explains it
	// scope is the target's scope index (-1 for a compute or identity the
	// scope tree lacks).
	scope int32
	// last is the step from node to the target, if any: made only for the
	// paths a finding lists, from as (a grants step) or from (the scope of
	// a role assignment write).
	from    int32
	culprit int32 // in escSearch.culprits
	as      *authz.Assignment
}

type crossSource uint8

const (
	fromResource crossSource = iota
	fromCompute
	fromIdentity
)

// target returns a crossing's target: its id, lowered key and labels.
func (f *findingCtx) target(c *crossing) (id, key string, env, team string) {
	switch c.src {
	case fromCompute:
		l := f.computeLabels[c.idx]
		return f.g.computes[c.idx].ID, f.computeKeys[c.idx], l.Env.Value, l.Team.Value
	case fromIdentity:
		l := f.identityLabels[c.idx]
		return f.g.ids[c.idx].Key, f.identityKeys[c.idx], l.Env.Value, l.Team.Value
	}
	return f.resAt[c.scope].ID, f.g.scopes[c.scope], f.envOf[c.scope], f.teamOf[c.scope]
}

func (f *findingCtx) targetKey(c *crossing) string {
	_, key, _, _ := f.target(c)
	return key
}

type lastStep uint8

const (
	lastNone lastStep = iota
	lastGrants
	lastListKeys
	lastPolicyWrite
	lastRoleWrite
)

func (f *findingCtx) escalationPaths() []Finding {
	g := f.g
	classes := map[string]*escClass{}
	classOf := func(l Labels) *escClass {
		k := l.Env.Value + "\x00" + strings.ToLower(l.Team.Value)
		c := classes[k]
		if c == nil {
			c = &escClass{env: l.Env.Value, team: l.Team.Value}
			classes[k] = c
		}
		return c
	}
	canEscalate := func(n int32) bool {
		for e := g.offsets[n]; e < g.offsets[n+1]; e++ {
			switch g.kinds[e] {
			case edgeRole, edgeDirect, edgeNodeAccess:
				return true
			}
		}
		return false
	}
	for ci, c := range g.computes {
		l := f.e.Labels(c.ID)
		cl := classOf(l)
		n := g.computeNode(int32(ci))
		if c.Kind == ServiceAccount {
			// A pod is reached through its cluster's nodes when the
			// cluster is of the same class: that is the escalation.
			if cluster := f.e.computeByKey[strings.ToLower(c.Cluster)]; cluster != nil && f.e.Labels(cluster.ID) == l {
				continue
			}
		}
		cl.starts = append(cl.starts, n)
		if canEscalate(n) {
			cl.escalates = true
		}
		for e := g.offsets[n]; e < g.offsets[n+1] && !cl.escalates; e++ {
			if g.kinds[e] == edgeToken && canEscalate(g.targets[e]) {
				cl.escalates = true
			}
		}
	}
	for ii, id := range g.ids {
		if len(f.holders[ii]) > 0 {
			continue
		}
		cl := classOf(f.e.Labels(id.Key))
		n := g.identityNode(int32(ii))
		cl.starts = append(cl.starts, n)
		cl.escalates = cl.escalates || canEscalate(n)
	}
	keys := make([]string, 0, len(classes))
	for k, c := range classes {
		if c.escalates && (c.env != "" || c.team != "") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []Finding
	for i, k := range keys {
		if f.mine(i) {
			out = append(out, f.classEscalations(classes[k])...)
		}
	}
	return out
}

func isEscalationEdge(k edgeKind) bool {
	return k == edgeCapTarget || k == edgeImplies || k == edgeDirect || k == edgeNodeAccess
}

// culprit is the grant behind a crossing's first escalation step: a role
// assignment (by id), a cluster's nodes, or an identity's deny-checked
// control.
type culprit struct {
	assignment string
	cluster    int32 // compute index, or -1
	identity   int32 // identity index, or -1
}

// escSearch is one class's search: parent edges and nodes, and what is
// memoized along them.
type escSearch struct {
	f            *findingCtx
	parent, from []int32
	// escalated[n]: 0 unknown, 1 no, 2 yes (an escalation edge on its path).
	escalated []int8
	// culpritOf[n]: an index in culprits plus one, 0 unknown.
	culpritOf, rootOf []int32
	culprits          []culprit
	index             map[culprit]int32
	// assignments are the culprits' assignments, by culprit index.
	assignments []*authz.Assignment
	// crossings and grouped keep their arrays from class to class.
	crossings, grouped []crossing
}

func (s *escSearch) isEsc(n int32) bool {
	g := s.f.g
	var stack []int32
	for s.escalated[n] == 0 {
		if s.parent[n] < 0 {
			s.escalated[n] = 1
			break
		}
		stack = append(stack, n)
		n = s.from[n]
	}
	v := s.escalated[n]
	for i := len(stack) - 1; i >= 0; i-- {
		m := stack[i]
		if v == 1 && isEscalationEdge(g.kinds[s.parent[m]]) {
			v = 2
		}
		s.escalated[m] = v
	}
	return v == 2
}

// root returns the start a node was reached from, memoized (rootOf
// holds a root plus one, 0 unknown).
func (s *escSearch) root(n int32) int32 {
	r := n
	for s.parent[r] >= 0 && s.rootOf[r] == 0 {
		r = s.from[r]
	}
	if s.rootOf[r] > 0 {
		r = s.rootOf[r] - 1
	}
	for m := n; m != r && s.rootOf[m] == 0; m = s.from[m] {
		s.rootOf[m] = r + 1
	}
	return r
}

func (s *escSearch) intern(c culprit, as *authz.Assignment) int32 {
	i, ok := s.index[c]
	if !ok {
		i = int32(len(s.culprits))
		s.index[c] = i
		s.culprits = append(s.culprits, c)
		s.assignments = append(s.assignments, as)
	}
	return i
}

// assignmentCulprit interns an assignment as a culprit.
func (s *escSearch) assignmentCulprit(as *authz.Assignment) int32 {
	return s.intern(culprit{assignment: as.ID, cluster: -1, identity: -1}, as)
}

// culprit names the grant behind the first escalation step on the path
// to an escalated node, memoized.
func (s *escSearch) culprit(n int32) int32 {
	if c := s.culpritOf[n]; c > 0 {
		return c - 1
	}
	g := s.f.g
	e := s.parent[n]
	from := s.from[n]
	var c int32
	switch {
	case s.isEsc(from):
		c = s.culprit(from)
	case g.kinds[e] == edgeNodeAccess:
		c = s.intern(culprit{cluster: from, identity: -1}, nil)
	case g.kinds[e] == edgeDirect:
		_, ii := g.kindOf(from)
		c = s.intern(culprit{cluster: -1, identity: ii}, nil)
	default: // a capability edge: the role edge that granted it
		var as *authz.Assignment
		for m := from; s.parent[m] >= 0; m = s.from[m] {
			if g.kinds[s.parent[m]] == edgeRole {
				as = &g.assignments[g.vias[s.parent[m]]]
				break
			}
		}
		c = s.assignmentCulprit(as)
	}
	s.culpritOf[n] = c + 1
	return c
}

// classEscalations searches from one class and groups its crossings.
// Each target is attributed once per class, to the culprit of the first
// node (in node order) that reaches it, and each grant set is read once
// per class: the work is linear in the graph and the grants.
func (f *findingCtx) classEscalations(cl *escClass) []Finding {
	g := f.g
	s := &f.esc
	s.f = f
	s.parent, s.from = g.bfsInto(cl.starts, s.parent, s.from)
	parent := s.parent
	s.escalated, s.culpritOf, s.rootOf = grow(s.escalated, int(g.nodeCount)), grow(s.culpritOf, int(g.nodeCount)), grow(s.rootOf, int(g.nodeCount))
	clear(s.escalated)
	clear(s.culpritOf)
	clear(s.rootOf)
	s.culprits, s.assignments, s.index = s.culprits[:0], s.assignments[:0], map[culprit]int32{}
	crossings := s.crossings[:0]
	seen := &f.crossSeen
	seen.reset(len(g.scopes))
	cross := func(sc int32, c crossing) {
		c.scope = sc
		if sc >= 0 && !seen.set(sc) {
			return
		}
		crossings = append(crossings, c)
	}
	// visited grant sets: 1 read for keys only, 2 read as escalated.
	visited := make([]int8, f.grantSetCount.Load())
	for n := int32(0); n < g.nodeCount; n++ {
		if parent[n] == -2 {
			continue
		}
		kind, idx := g.kindOf(n)
		switch kind {
		case "compute":
			if l := f.computeLabels[idx]; s.isEsc(n) && cl.differs(l) {
				cross(f.computeScope[idx], crossing{src: fromCompute, idx: idx, node: n, culprit: s.culprit(n)})
			}
		case "identity":
			id := g.ids[idx]
			esc := s.isEsc(n)
			var who int32 = -1
			if esc {
				who = s.culprit(n)
			}
			if l := f.identityLabels[idx]; esc && cl.differs(l) && id.Kind == UserAssigned {
				cross(f.identityScope[idx], crossing{src: fromIdentity, idx: idx, node: n, culprit: who})
			}
			want := int8(1)
			if esc {
				want = 2
			}
			for _, h := range f.heldBy(idx) {
				gs := h.gs
				if int(gs.idx) >= len(visited) {
					visited = append(visited, make([]int8, int(f.grantSetCount.Load())-len(visited))...)
				}
				if visited[gs.idx] >= want || (!esc && !gs.keys) {
					continue // held directly: only control-to-data escalations count
				}
				visited[gs.idx] = want
				for i, m := range gs.res {
					if seen.has(m) || !cl.differs(f.scopeLabels(m)) {
						continue
					}
					c := crossing{src: fromResource, data: true, node: n, as: h.as}
					switch fl := gs.flags[i]; {
					case esc:
						c.last, c.data, c.culprit = lastGrants, fl != 0, who
					case fl&grantListKeys != 0:
						c.last, c.culprit = lastListKeys, s.assignmentCulprit(h.as)
					case fl&grantPolicyWrite != 0:
						c.last, c.culprit = lastPolicyWrite, s.assignmentCulprit(h.as)
					default:
						continue
					}
					cross(m, c)
				}
			}
		case "capability":
			sc := idx / int32(numCaps)
			if capability(idx%int32(numCaps)) != capRoleAssign || g.kinds[parent[n]] != edgeRole {
				continue
			}
			who := s.assignmentCulprit(&g.assignments[g.vias[parent[n]]])
			if s.isEsc(n) {
				who = s.culprit(n)
			}
			for _, m := range f.under(sc) {
				if !seen.has(m) && cl.differs(f.scopeLabels(m)) {
					cross(m, crossing{src: fromResource, data: true, node: n, last: lastRoleWrite, from: sc, culprit: who})
				}
			}
		}
	}
	// Group by culprit: count, then place (the crossings keep their order).
	starts := make([]int, len(s.culprits)+1)
	for _, c := range crossings {
		starts[c.culprit+1]++
	}
	for i := 1; i < len(starts); i++ {
		starts[i] += starts[i-1]
	}
	s.crossings = crossings
	grouped := grow(s.grouped, len(crossings))
	s.grouped = grouped
	next := append([]int(nil), starts[:len(s.culprits)]...)
	for _, c := range crossings {
		grouped[next[c.culprit]] = c
		next[c.culprit]++
	}
	var out []Finding
	for ci, who := range s.culprits {
		if cs := grouped[starts[ci]:starts[ci+1]]; len(cs) > 0 {
			out = append(out, f.escalationFinding(cl, who, s.assignments[ci], cs, s))
		}
	}
	return out
}

// lastStepOf makes a crossing's last step.
func (f *findingCtx) lastStepOf(c *crossing) (Step, bool) {
	to, _, _, _ := f.target(c)
	from := ""
	if kind, ii := f.g.kindOf(c.node); kind == "identity" {
		from = f.g.ids[ii].Key
	}
	switch c.last {
	case lastGrants:
		return Step{Kind: "grants", From: from, To: to, Via: fmt.Sprintf("%s (%s)", f.role(c.as.RoleID).name, c.as.ID)}, true
	case lastListKeys:
		return Step{Kind: "listKeys", From: from, To: to, Via: "the account keys bypass RBAC"}, true
	case lastPolicyWrite:
		return Step{Kind: "accessPolicyWrite", From: from, To: to, Via: "add an access policy for itself"}, true
	case lastRoleWrite:
		return Step{Kind: "roleAssignmentWrite", From: f.g.scopes[c.from], To: to, Via: "grant itself any role"}, true
	}
	return Step{}, false
}

// firstByKey returns the indexes of the (at most) k crossings with the
// smallest keys among those keep accepts (all when keep is nil), in key
// order: what a finding lists, without sorting everything it counts.
func (f *findingCtx) firstByKey(cs []crossing, k int, keep func(*crossing) bool) []int {
	var first []int
	less := func(i, j int) bool {
		if ki, kj := f.targetKey(&cs[i]), f.targetKey(&cs[j]); ki != kj {
			return ki < kj
		}
		return i < j
	}
	for i := range cs {
		if keep != nil && !keep(&cs[i]) {
			continue
		}
		if len(first) == k && !less(i, first[k-1]) {
			continue
		}
		at := sort.Search(len(first), func(j int) bool { return less(i, first[j]) })
		if len(first) < k {
			first = append(first, 0)
		}
		copy(first[at+1:], first[at:len(first)-1])
		first[at] = i
	}
	return first
}

// escalationFinding reports one class's crossings through one culprit.
func (f *findingCtx) escalationFinding(cl *escClass, who culprit, as *authz.Assignment, cs []crossing, s *escSearch) Finding {
	g := f.g
	var home []string
	if cl.env != "" {
		home = []string{cl.env}
	}
	var homeTeams []string
	if cl.team != "" {
		homeTeams = []string{cl.team}
	}
	add := f.newAdded(home, homeTeams)
	envs, teams := newSet(false), newSet(true)
	envs.add(cl.env)
	teams.add(cl.team)
	ev := Evidence{}
	// The resources listed are the first by key: add them first.
	// An identity's resource counts as an identity.
	isIdentity := func(c *crossing) bool { return c.src == fromIdentity || c.src == fromResource && f.uai[c.scope] }
	for _, i := range f.firstByKey(cs, maxListed, func(c *crossing) bool { return c.src == fromResource && !isIdentity(c) }) {
		add.addIdx(cs[i].scope, cs[i].data)
	}
	starts := &f.startSeen
	starts.reset(int(g.nodeCount))
	var startComputes []int32
	prod := false
	for i := range cs {
		c := &cs[i]
		switch {
		case c.src == fromIdentity:
			add.identityNode(c.idx)
		case c.src == fromCompute:
			add.computeNode(c.idx)
		case isIdentity(c):
			if ii := f.identityAt[c.scope]; ii >= 0 {
				add.identityNode(ii)
			} else {
				add.node(true, f.resAt[c.scope].ID)
			}
		default:
			add.addIdx(c.scope, c.data)
		}
		_, _, env, team := f.target(c)
		envs.add(env)
		teams.add(team)
		prod = prod || env == "prod"
		if root := s.root(c.node); starts.set(root) {
			if kind, ci := g.kindOf(root); kind == "compute" {
				startComputes = append(startComputes, ci)
			}
		}
	}
	for _, i := range f.firstByKey(cs, maxListed, nil) {
		c := &cs[i]
		steps := f.a.path(s.parent, c.node)
		if st, ok := f.lastStepOf(c); ok {
			steps = append(steps, st)
		}
		from := ""
		if len(steps) > 0 {
			from = steps[0].From
		}
		to, _, env, team := f.target(c)
		ev.Paths = append(ev.Paths, PathRef{From: from, To: to, Environment: env, Team: team, Steps: steps})
	}
	if len(cs) > len(ev.Paths) {
		ev.PathsTotal = len(cs)
	}
	slices.Sort(startComputes)
	ev.Computes = f.computeRefs(startComputes)
	ev.Environments, ev.Teams = envs.list(), teams.list()
	sev := High
	if prod && cl.env != "prod" {
		sev = Critical
	}
	added := add.done()
	beyond := func() string {
		var parts []string
		if added != nil && len(added.Environments) > 0 {
			parts = append(parts, plural("environment", len(added.Environments))+" "+joinAnd(added.Environments))
		}
		if added != nil && len(added.Teams) > 0 {
			parts = append(parts, plural("team", len(added.Teams))+" "+joinAnd(added.Teams))
		}
		if len(parts) == 0 {
			return "other environments and teams"
		}
		return strings.Join(parts, " and ")
	}()
	fd := Finding{Rule: RuleEscalationPath, Severity: sev, Evidence: ev, Adds: added}
	n := len(cs)
	switch {
	case who.cluster >= 0:
		cluster := g.computes[who.cluster]
		fd.Resource = cluster.ID
		fd.Title = fmt.Sprintf("%s reaches %s through the nodes of %s", cl.label(), beyond, cluster.Name)
		fd.Message = fmt.Sprintf("Code on the nodes of %s (%s) runs pods as any of its service accounts, whose federated identities reach %d target(s) of %s.", cluster.Name, cl.label(), n, beyond)
		fd.Fix = f.clusterFix(cluster, cs)
	case who.identity >= 0:
		id := g.ids[who.identity]
		fd.Resource = id.Key
		fd.Evidence.Identity = f.identityRef(id)
		fd.Title = fmt.Sprintf("%s reaches %s through %s", cl.label(), beyond, id.Name)
		fd.Message = fmt.Sprintf("%s's roles (decided with deny assignments) yield computes or identities that reach %d target(s) of %s.", id.Name, n, beyond)
		fd.Fix = Fix{Summary: fmt.Sprintf("Inspect and narrow %s's role assignments.", id.Name),
			Commands: []string{"mimic blast-radius --identity " + shq(id.Key)}}
	default:
		id := f.e.Identity(as.PrincipalID)
		ri := f.role(as.RoleID)
		fd.Resource = as.ID
		fd.Evidence.Identity = f.identityRef(id)
		fd.Evidence.Assignments = []AssignmentRef{f.assignmentRef(as)}
		fd.Title = fmt.Sprintf("%s reaches %s through %s's %s at %s", cl.label(), beyond, id.Name, ri.name, f.describeScope(as.Scope))
		fd.Message = fmt.Sprintf("From %s, %s's %s at %s is an escalation step: it yields %d target(s) of %s.", cl.label(), id.Name, ri.name, f.describeScope(as.Scope), n, beyond)
		fd.Fix = f.escalationFix(cl, id, as)
	}
	return fd
}

func plural(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// escalationFix narrows the culprit assignment to the class's own
// resources: what it used there (from the access log), else the resource
// groups of the class's computes that hold it.
func (f *findingCtx) escalationFix(cl *escClass, id *Identity, as *authz.Assignment) Fix {
	ri := f.role(as.RoleID)
	if cmds, n := f.leastPrivilege(as); n > 0 {
		return Fix{Summary: fmt.Sprintf("Replace %s at %s with the smallest roles covering what %s exercised (%d actions), then delete it.", ri.name, f.describeScope(as.Scope), id.Name, n),
			Commands: append(cmds, cmdDeleteAssignment(as.ID))}
	}
	ii := f.g.identityIdx[id.PrincipalID]
	var cmds, scopes []string
	for _, s := range f.narrowScopes(ii, as) {
		if !cl.differs(f.labelsOf(s)) && resourceContains(as.Scope, s) {
			scopes = append(scopes, s)
			cmds = append(cmds, cmdCreateAssignment(id.PrincipalID, ri.name, s))
		}
	}
	cmds = append(cmds, cmdDeleteAssignment(as.ID))
	summary := fmt.Sprintf("Remove %s's %s at %s", id.Name, ri.name, f.describeScope(as.Scope))
	if len(scopes) > 0 {
		summary += fmt.Sprintf(", granting it at %s (%s's own) instead", strings.Join(scopes, ", "), cl.label())
	}
	return Fix{Summary: summary + ".", Commands: cmds}
}

// clusterFix removes the federation of a cluster's service accounts with
// identities of other classes: they belong on a cluster of their own.
func (f *findingCtx) clusterFix(cluster *Compute, cs []crossing) Fix {
	var cmds []string
	done := map[string]bool{}
	for _, c := range cs {
		kind, i := f.g.kindOf(c.node)
		if kind != "identity" {
			continue
		}
		id := f.g.ids[i]
		ip := f.parts(id.Key)
		irg, iname := ip.rg, ip.name
		for _, fc := range id.Federated {
			if fc.Issuer == cluster.IssuerURL && !done[fc.ID] {
				done[fc.ID] = true
				cmds = append(cmds, "az identity federated-credential delete -g "+shq(irg)+" --identity-name "+shq(iname)+" -n "+shq(fc.Name)+" --yes")
			}
		}
	}
	return Fix{Summary: fmt.Sprintf("Run workloads of other environments and teams on clusters of their own: remove the federation of their identities with %s, and federate them with their own cluster.", cluster.Name),
		Commands: cmds}
}
