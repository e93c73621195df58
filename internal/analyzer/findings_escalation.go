package analyzer

import (
	"fmt"
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

// crossing is one target another class reaches.
type crossing struct {
	target, typ string
	labels      Labels
	data        bool
	node        int32 // the node whose path explains it
	scope       int32 // the target's scope index
	last        *Step // the step from that node to the target, if any
	culprit     string
}

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
	for _, k := range keys {
		out = append(out, f.classEscalations(classes[k])...)
	}
	return out
}

func isEscalationEdge(k edgeKind) bool {
	return k == edgeCapTarget || k == edgeImplies || k == edgeDirect || k == edgeNodeAccess
}

// classEscalations searches from one class and groups its crossings.
// Each target is attributed once per class, to the culprit of the first
// node (in node order) that reaches it, and each cached grant set is read
// once per class: the work is linear in the graph and the grants.
func (f *findingCtx) classEscalations(cl *escClass) []Finding {
	g := f.g
	parent, _ := g.bfs(cl.starts)
	// escalated[n]: 0 unknown, 1 no, 2 yes (an escalation edge on its path).
	escalated := make([]int8, g.nodeCount)
	isEsc := func(n int32) bool {
		var stack []int32
		for escalated[n] == 0 {
			if parent[n] < 0 {
				escalated[n] = 1
				break
			}
			stack = append(stack, n)
			n = g.source(parent[n])
		}
		v := escalated[n]
		for i := len(stack) - 1; i >= 0; i-- {
			m := stack[i]
			if v == 1 && isEscalationEdge(g.kinds[parent[m]]) {
				v = 2
			}
			escalated[m] = v
		}
		return v == 2
	}
	// culprit names the grant behind the first escalation step on the
	// path to an escalated node, memoized.
	culprits := map[int32]string{}
	var culprit func(n int32) string
	culprit = func(n int32) string {
		if c, ok := culprits[n]; ok {
			return c
		}
		e := parent[n]
		from := g.source(e)
		var c string
		switch {
		case isEsc(from):
			c = culprit(from)
		case g.kinds[e] == edgeNodeAccess:
			c = "cluster:" + g.computes[from].ID
		case g.kinds[e] == edgeDirect:
			_, ii := g.kindOf(from)
			c = "identity:" + g.ids[ii].Key
		default: // a capability edge: the role edge that granted it
			for m := from; parent[m] >= 0; m = g.source(parent[m]) {
				if g.kinds[parent[m]] == edgeRole {
					c = g.assignments[g.vias[parent[m]]].ID
					break
				}
			}
		}
		culprits[n] = c
		return c
	}
	var crossings []crossing
	seen := make(map[int32]bool)
	cross := func(s int32, c crossing) {
		c.scope = s
		if s >= 0 && seen[s] {
			return
		}
		if s >= 0 {
			seen[s] = true
		}
		crossings = append(crossings, c)
	}
	// visited grant sets: 1 read for keys only, 2 read as escalated.
	visited := map[*grantSet]int8{}
	for n := int32(0); n < g.nodeCount; n++ {
		if parent[n] == -2 {
			continue
		}
		kind, idx := g.kindOf(n)
		switch kind {
		case "compute":
			c := g.computes[idx]
			if l := f.computeLabels[idx]; isEsc(n) && cl.differs(l) {
				cross(f.computeScope[idx], crossing{target: c.ID, typ: computeType(c), labels: l, node: n, culprit: culprit(n)})
			}
		case "identity":
			id := g.ids[idx]
			esc := isEsc(n)
			who := ""
			if esc {
				who = culprit(n)
			}
			if l := f.identityLabels[idx]; esc && cl.differs(l) && id.Kind == UserAssigned {
				cross(f.identityScope[idx], crossing{target: id.Key, typ: "Microsoft.ManagedIdentity/userAssignedIdentities", labels: l, node: n, culprit: who})
			}
			for _, as := range f.assignmentsOf(id) {
				gs := f.grants(as)
				want := int8(1)
				if esc {
					want = 2
				}
				if visited[gs] >= want || (!esc && !gs.keys) {
					continue // held directly: only control-to-data escalations count
				}
				visited[gs] = want
				via := "" // made on the first crossing: most grant sets cross nothing
				for i, m := range gs.res {
					if seen[m] {
						continue
					}
					l := f.scopeLabels(m)
					if !cl.differs(l) {
						continue
					}
					res := f.resourceOf(m)
					switch fl := gs.flags[i]; {
					case esc:
						if via == "" {
							via = fmt.Sprintf("%s (%s)", f.role(as.RoleID).name, as.ID)
						}
						cross(m, crossing{target: res.ID, typ: res.Type, labels: l, data: fl != 0, node: n,
							last: &Step{Kind: "grants", From: id.Key, To: res.ID, Via: via}, culprit: who})
					case fl&grantListKeys != 0:
						cross(m, crossing{target: res.ID, typ: res.Type, labels: l, data: true, node: n,
							last: &Step{Kind: "listKeys", From: id.Key, To: res.ID, Via: "the account keys bypass RBAC"}, culprit: as.ID})
					case fl&grantPolicyWrite != 0:
						cross(m, crossing{target: res.ID, typ: res.Type, labels: l, data: true, node: n,
							last: &Step{Kind: "accessPolicyWrite", From: id.Key, To: res.ID, Via: "add an access policy for itself"}, culprit: as.ID})
					}
				}
			}
		case "capability":
			s := idx / int32(numCaps)
			if capability(idx%int32(numCaps)) != capRoleAssign || g.kinds[parent[n]] != edgeRole {
				continue
			}
			who := g.assignments[g.vias[parent[n]]].ID
			if isEsc(n) {
				who = culprit(n)
			}
			for _, m := range f.under(s) {
				if l := f.scopeLabels(m); !seen[m] && cl.differs(l) {
					res := f.resourceOf(m)
					cross(m, crossing{target: res.ID, typ: res.Type, labels: l, data: true, node: n,
						last: &Step{Kind: "roleAssignmentWrite", From: g.scopes[s], To: res.ID, Via: "grant itself any role"}, culprit: who})
				}
			}
		}
	}
	byCulprit := map[string][]crossing{}
	var names []string
	for _, c := range crossings {
		if _, ok := byCulprit[c.culprit]; !ok {
			names = append(names, c.culprit)
		}
		byCulprit[c.culprit] = append(byCulprit[c.culprit], c)
	}
	sort.Strings(names)
	var out []Finding
	for _, who := range names {
		out = append(out, f.escalationFinding(cl, who, byCulprit[who], parent))
	}
	return out
}

func computeType(c *Compute) string {
	switch c.Kind {
	case VM:
		return "Microsoft.Compute/virtualMachines"
	case WebApp, FunctionApp:
		return "Microsoft.Web/sites"
	case Cluster:
		return "Microsoft.ContainerService/managedClusters"
	}
	return "Microsoft.ContainerService/managedClusters/serviceAccounts"
}

// escalationFinding reports one class's crossings through one culprit.
func (f *findingCtx) escalationFinding(cl *escClass, who string, cs []crossing, parent []int32) Finding {
	g := f.g
	keys := make([]string, len(cs))
	for i := range cs {
		keys[i] = strings.ToLower(cs[i].target)
	}
	sort.Sort(byKey{keys, cs})
	var home []string
	if cl.env != "" {
		home = []string{cl.env}
	}
	var homeTeams []string
	if cl.team != "" {
		homeTeams = []string{cl.team}
	}
	add := newAdded(home, homeTeams)
	envs, teams := newSet(false), newSet(true)
	envs.add(cl.env)
	teams.add(cl.team)
	ev := Evidence{}
	starts := map[int32]bool{}
	prod := false
	for _, c := range cs {
		switch {
		case strings.EqualFold(c.typ, "Microsoft.ManagedIdentity/userAssignedIdentities"):
			add.node(true, c.target, c.labels)
		case c.last == nil:
			add.node(false, c.target, c.labels)
		default:
			add.addIdx(c.scope, f.resourceOf(c.scope), c.labels.Env.Value, c.labels.Team.Value, c.data)
		}
		envs.add(c.labels.Env.Value)
		teams.add(c.labels.Team.Value)
		prod = prod || c.labels.Env.Value == "prod"
		ev.PathsTotal++
		root := c.node
		for parent[root] >= 0 {
			root = g.source(parent[root])
		}
		starts[root] = true
		if len(ev.Paths) < maxListed {
			steps := f.a.path(parent, c.node)
			if c.last != nil {
				steps = append(steps, *c.last)
			}
			from := ""
			if len(steps) > 0 {
				from = steps[0].From
			}
			ev.Paths = append(ev.Paths, PathRef{From: from, To: c.target, Environment: c.labels.Env.Value, Team: c.labels.Team.Value, Steps: steps})
		}
	}
	if ev.PathsTotal <= len(ev.Paths) {
		ev.PathsTotal = 0
	}
	var startComputes []int32
	for n := range starts {
		if kind, i := g.kindOf(n); kind == "compute" {
			startComputes = append(startComputes, i)
		}
	}
	sort.Slice(startComputes, func(i, j int) bool { return startComputes[i] < startComputes[j] })
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
	case strings.HasPrefix(who, "cluster:"):
		cluster := f.e.computeByKey[strings.ToLower(strings.TrimPrefix(who, "cluster:"))]
		fd.Resource = cluster.ID
		fd.Title = fmt.Sprintf("%s reaches %s through the nodes of %s", cl.label(), beyond, cluster.Name)
		fd.Message = fmt.Sprintf("Code on the nodes of %s (%s) runs pods as any of its service accounts, whose federated identities reach %d target(s) of %s.", cluster.Name, cl.label(), n, beyond)
		fd.Fix = f.clusterFix(cluster, cs)
	case strings.HasPrefix(who, "identity:"):
		id := f.e.Identity(strings.TrimPrefix(who, "identity:"))
		fd.Resource = id.Key
		fd.Evidence.Identity = f.identityRef(id)
		fd.Title = fmt.Sprintf("%s reaches %s through %s", cl.label(), beyond, id.Name)
		fd.Message = fmt.Sprintf("%s's roles (decided with deny assignments) yield computes or identities that reach %d target(s) of %s.", id.Name, n, beyond)
		fd.Fix = Fix{Summary: fmt.Sprintf("Inspect and narrow %s's role assignments.", id.Name),
			Commands: []string{"mimic blast-radius --identity " + shq(id.Key)}}
	default:
		as := f.assignmentByID(who)
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
		if !cl.differs(f.e.Labels(s)) && resourceContains(as.Scope, s) {
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
		irg, iname := rgOf(id.Key)
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

// byKey sorts crossings by precomputed keys.
type byKey struct {
	keys []string
	cs   []crossing
}

func (b byKey) Len() int           { return len(b.keys) }
func (b byKey) Less(i, j int) bool { return b.keys[i] < b.keys[j] }
func (b byKey) Swap(i, j int) {
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
	b.cs[i], b.cs[j] = b.cs[j], b.cs[i]
}
