package analyzer

import (
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/resourceid"
)

// findingCtx holds what several rules share, computed once per run.
type findingCtx struct {
	a     *Analysis
	e     *Estate
	g     *graph
	usage *Usage
	// holders lists, per identity index, the computes that hold it.
	holders [][]int32
	roles   map[string]*roleInfo
	// envBit numbers environments; envMask has, per scope, the
	// environments at or under it (bit 63 collects any beyond 63).
	envBit  map[string]uint
	envMask []uint64
	radii   map[int32]*Radius
	byID    map[string]*authz.Assignment
	// top marks scopes that are top-level resources.
	top          []bool
	grantSets    map[string]*grantSet
	byAssignment map[*authz.Assignment]*grantSet
	assignments  map[string][]*authz.Assignment // by principal id (assignmentsOf)
	resAt        []*Resource
	// computeAt and identityAt give the compute or identity whose resource
	// a scope is, or -1.
	computeAt, identityAt []int32
	perms                 map[string]permSet
	unders                map[int32][]int32
	// envOf and teamOf label resource scopes.
	envOf, teamOf []string
	// labels and scope indexes of computes and identities.
	computeLabels, identityLabels []Labels
	computeScope, identityScope   []int32
}

func newFindingCtx(a *Analysis, opts FindingsOptions) *findingCtx {
	g := a.g
	f := &findingCtx{a: a, e: a.E, g: g, usage: opts.Usage, holders: make([][]int32, len(g.ids)),
		roles: map[string]*roleInfo{}, envBit: map[string]uint{}, radii: map[int32]*Radius{},
		grantSets: map[string]*grantSet{}, byAssignment: map[*authz.Assignment]*grantSet{}, assignments: map[string][]*authz.Assignment{}, perms: map[string]permSet{}, unders: map[int32][]int32{}}
	for ci, c := range g.computes {
		for _, key := range c.Identities {
			if ii, ok := g.identityIdx[strings.ToLower(key)]; ok {
				f.holders[ii] = append(f.holders[ii], int32(ci))
			}
		}
	}
	f.envMask = make([]uint64, len(g.scopes))
	f.top = make([]bool, len(g.scopes))
	f.envOf, f.teamOf = make([]string, len(g.scopes)), make([]string, len(g.scopes))
	f.resAt = make([]*Resource, len(g.scopes))
	for s, key := range g.scopes {
		if res := f.e.resourceByKey[key]; res != nil {
			f.resAt[s] = res
			l := f.e.Labels(res.ID)
			f.envOf[s], f.teamOf[s] = l.Env.Value, l.Team.Value
			f.envMask[s] = f.envBitOf(l.Env.Value)
			f.top[s] = topLevel(res.ID)
		}
	}
	f.computeLabels, f.computeScope = make([]Labels, len(g.computes)), make([]int32, len(g.computes))
	f.computeAt, f.identityAt = make([]int32, len(g.scopes)), make([]int32, len(g.scopes))
	for s := range g.scopes {
		f.computeAt[s], f.identityAt[s] = -1, -1
	}
	for ci, c := range g.computes {
		f.computeLabels[ci], f.computeScope[ci] = f.e.Labels(c.ID), scopeIndex(g, c.ID)
		if s := f.computeScope[ci]; s >= 0 {
			f.computeAt[s] = int32(ci)
		}
	}
	f.identityLabels, f.identityScope = make([]Labels, len(g.ids)), make([]int32, len(g.ids))
	for ii, id := range g.ids {
		f.identityLabels[ii], f.identityScope[ii] = f.e.Labels(id.Key), scopeIndex(g, id.Key)
		if s := f.identityScope[ii]; s >= 0 {
			f.identityAt[s] = int32(ii)
		}
		if id.Kind == SystemAssigned {
			f.identityScope[ii] = -1 // its key is its compute's
		}
	}
	// Parents come before their children in g.scopes.
	for s := len(g.scopes) - 1; s > 0; s-- {
		if p := g.parentOf[s]; p >= 0 {
			f.envMask[p] |= f.envMask[s]
		}
	}
	return f
}

func scopeIndex(g *graph, id string) int32 {
	if s, ok := g.scopeIdx[strings.ToLower(id)]; ok {
		return s
	}
	return -1
}

func (f *findingCtx) envBitOf(env string) uint64 {
	if env == "" {
		return 0
	}
	b, ok := f.envBit[env]
	if !ok {
		b = min(uint(len(f.envBit)), 63)
		f.envBit[env] = b
	}
	return 1 << b
}

// roleInfo is what the rules need to know of a role.
type roleInfo struct {
	role *authz.Role
	name string
	caps [numCaps]bool
	// writeAll: actions '*'. admin: writes role assignments. data: has
	// data actions. write: some action beyond reads. computes: yields
	// computes or identities (run-command, write, cluster admin, assign,
	// federated credentials).
	writeAll, admin, data, write, computes bool
}

// privileged reports a write-everything or role-assigning role.
func (r *roleInfo) privileged() bool { return r.writeAll || r.admin }

// escalates reports a role that yields other identities or everything.
func (r *roleInfo) escalates() bool { return r.privileged() || r.computes }

func (f *findingCtx) role(id string) *roleInfo {
	if r, ok := f.roles[id]; ok { // as spelt before: no folding
		return r
	}
	key := strings.ToLower(id)
	if r, ok := f.roles[key]; ok {
		f.roles[id] = r
		return r
	}
	r := &roleInfo{name: id}
	if role, ok := f.e.engine.Role(id); ok {
		r.role, r.name = role, role.Name
		r.caps = roleCapabilities(f.e.engine, id)
		r.admin = r.caps[capRoleAssign]
		r.computes = r.caps[capRunCommand] || r.caps[capWriteVM] || r.caps[capWriteSite] || r.caps[capClusterAdmin] || r.caps[capAssign] || r.caps[capFederate]
		for _, p := range role.Permissions {
			if len(p.DataActions) > 0 {
				r.data = true
			}
			if p.Condition != "" {
				continue
			}
			for _, a := range p.Actions {
				if a == "*" {
					r.writeAll = true
				}
				if !strings.HasSuffix(strings.ToLower(a), "/read") {
					r.write = true
				}
			}
		}
	}
	f.roles[key], f.roles[id] = r, r
	return r
}

// radius is an identity's blast radius, computed once.
func (f *findingCtx) radius(ii int32) *Radius {
	if r, ok := f.radii[ii]; ok {
		return r
	}
	id := f.g.ids[ii]
	r := &Radius{Start: id.Key, StartKind: "identity", Environment: f.e.Labels(id.Key).Env.Value}
	r = f.a.radiusFrom(r, f.g.identityNode(ii))
	f.radii[ii] = r
	return r
}

// holds reports whether a compute (by id) holds an identity.
func (f *findingCtx) holds(computeID string, ii int32) bool {
	for _, ci := range f.holders[ii] {
		if strings.EqualFold(f.g.computes[ci].ID, computeID) {
			return true
		}
	}
	return false
}

// assignmentsOf lists an identity's role assignments, ordered by scope,
// computed once per identity. Callers must not change the list.
func (f *findingCtx) assignmentsOf(id *Identity) []*authz.Assignment {
	if l, ok := f.assignments[id.PrincipalID]; ok {
		return l
	}
	l := slices.Clip(f.e.engine.AssignmentsFor(id.PrincipalID))
	f.assignments[id.PrincipalID] = l
	return l
}

// envsUnder returns the number of environments under an identity's
// assignments and its holders, from the scope masks.
func (f *findingCtx) envCount(ii int32) int {
	var mask uint64
	for _, ci := range f.holders[ii] {
		mask |= f.envBitOf(f.computeLabels[ci].Env.Value)
	}
	for _, as := range f.assignmentsOf(f.g.ids[ii]) {
		if s, ok := f.a.scopeOf(as.Scope); ok {
			mask |= f.envMask[s]
		}
	}
	return bits.OnesCount64(mask)
}

// grantSet is what one role grants under one scope, one hop deep: the
// top-level resources it acts on (scope indexes, with flags), the computes
// its capabilities yield, and the user-assigned identities it can assign
// or federate. Grant sets are cached by (role, scope): assignments of the
// same role at the same scope share one.
type grantSet struct {
	res      []int32
	flags    []uint8
	computes []int32
	idents   []int32
	// keys: some resource's flags have listKeys or policy write.
	keys bool
}

// grant flags.
const (
	grantData        uint8 = 1 << iota // data actions
	grantListKeys                      // an account's keys: all its blobs
	grantPolicyWrite                   // an access-policy vault's write: its secrets
)

func (f *findingCtx) grants(as *authz.Assignment) *grantSet {
	if gs, ok := f.byAssignment[as]; ok {
		return gs
	}
	gs := f.grantSetOf(as)
	if f.g.denied(as.PrincipalID) {
		gs = f.withoutDenied(gs, as)
	}
	f.byAssignment[as] = gs
	return gs
}

// withoutDenied narrows a grant set to what deny assignments leave its
// principal: resources keep only the actions they still grant, and the
// computes, identities, keys and policy writes it yields are decided by
// the engine, deny assignments applied.
func (f *findingCtx) withoutDenied(gs *grantSet, as *authz.Assignment) *grantSet {
	ri := f.role(as.RoleID)
	if ri.role == nil {
		return gs
	}
	en := f.e.engine
	allowed := func(action, scope string) bool {
		return en.Allowed(authz.Request{Principals: []string{as.PrincipalID}, Action: action, Scope: scope})
	}
	out := &grantSet{}
	for i, n := range gs.res {
		res := f.resAt[n]
		perms := f.a.withoutDenied(f.applicable(ri, res.Type), as.PrincipalID, res.ID)
		fl := gs.flags[i] &^ grantData
		if len(perms.dataActions) > 0 {
			fl |= grantData
		}
		if fl&grantListKeys != 0 && !allowed("Microsoft.Storage/storageAccounts/listkeys/action", res.ID) {
			fl &^= grantListKeys
		}
		if fl&grantPolicyWrite != 0 && !allowed("Microsoft.KeyVault/vaults/write", res.ID) {
			fl &^= grantPolicyWrite
		}
		if perms.empty() && fl == 0 {
			continue
		}
		out.res, out.flags = append(out.res, n), append(out.flags, fl)
		out.keys = out.keys || fl&(grantListKeys|grantPolicyWrite) != 0
	}
	for _, ci := range gs.computes {
		if _, ok := yieldsCompute(allowed, f.g.computes[ci]); ok {
			out.computes = append(out.computes, ci)
		}
	}
	for _, ii := range gs.idents {
		if _, ok := yieldsIdentity(allowed, f.g.ids[ii], true); ok { // as grantSetOf: writes are not asked here
			out.idents = append(out.idents, ii)
		}
	}
	return out
}

func (f *findingCtx) grantSetOf(as *authz.Assignment) *grantSet {
	s, ok := f.a.scopeOf(as.Scope)
	key := strings.ToLower(as.RoleID) + "\x00" + strconv.Itoa(int(s))
	if as.Condition != "" {
		key += "\x00c"
	}
	if gs, ok := f.grantSets[key]; ok {
		return gs
	}
	gs := &grantSet{}
	f.grantSets[key] = gs
	ri := f.role(as.RoleID)
	if ri.role == nil || !ok {
		return gs
	}
	caps := ri.caps
	if as.Condition != "" {
		caps = [numCaps]bool{} // as the graph: conditional capabilities are not counted
	}
	listKeys := roleAllows(ri.role, "Microsoft.Storage/storageAccounts/listkeys/action")
	vaultWrite := roleAllows(ri.role, "Microsoft.KeyVault/vaults/write")
	g := f.g
	f.a.walk(s, func(n int32) {
		if ci := f.computeAt[n]; ci >= 0 {
			switch c := g.computes[ci]; {
			case c.Kind == VM && (caps[capRunCommand] || caps[capWriteVM]),
				(c.Kind == WebApp || c.Kind == FunctionApp) && caps[capWriteSite],
				c.Kind == Cluster && caps[capClusterAdmin]:
				gs.computes = append(gs.computes, ci)
			}
		}
		if ii := f.identityAt[n]; ii >= 0 && g.ids[ii].Kind == UserAssigned && (caps[capAssign] || caps[capFederate]) {
			gs.idents = append(gs.idents, ii)
		}
		res := f.resAt[n]
		if res == nil || !f.top[n] {
			return
		}
		perms := f.applicable(ri, res.Type)
		if perms.empty() {
			return
		}
		var fl uint8
		if len(perms.dataActions) > 0 {
			fl |= grantData
		}
		if listKeys && strings.EqualFold(res.Type, "Microsoft.Storage/storageAccounts") {
			fl |= grantListKeys
		}
		if vaultWrite && res.VaultAccessPolicies && strings.EqualFold(res.Type, "Microsoft.KeyVault/vaults") {
			fl |= grantPolicyWrite
		}
		gs.res = append(gs.res, n)
		gs.flags = append(gs.flags, fl)
		gs.keys = gs.keys || fl&(grantListKeys|grantPolicyWrite) != 0
	})
	return gs
}

// under lists the top-level resources at or under a scope, cached.
func (f *findingCtx) under(s int32) []int32 {
	if l, ok := f.unders[s]; ok {
		return l
	}
	var l []int32
	f.a.walk(s, func(n int32) {
		if f.top[n] {
			l = append(l, n)
		}
	})
	f.unders[s] = l
	return l
}

// applicable is the package's applicable, cached by role and type.
func (f *findingCtx) applicable(ri *roleInfo, typ string) permSet {
	key := strings.ToLower(ri.role.ID) + "\x00" + strings.ToLower(typ)
	if p, ok := f.perms[key]; ok {
		return p
	}
	p := applicable(ri.role.Permissions, typ)
	f.perms[key] = p
	return p
}

// scopeLabels returns the labels of a scope index (of a resource).
func (f *findingCtx) scopeLabels(n int32) Labels {
	return Labels{Env: Label{Value: f.envOf[n]}, Team: Label{Value: f.teamOf[n]}}
}

// resourceOf returns the resource of a scope index.
func (f *findingCtx) resourceOf(n int32) *Resource { return f.resAt[n] }

// addGrants adds a grant set's resources, computes and identities to a
// finding's added blast radius.
func (f *findingCtx) addGrants(add *addedBuilder, gs *grantSet) {
	for i, n := range gs.res {
		add.addIdx(n, f.resourceOf(n), f.envOf[n], f.teamOf[n], gs.flags[i] != 0)
	}
	for _, ci := range gs.computes {
		c := f.g.computes[ci]
		add.node(false, c.ID, f.computeLabels[ci])
		for _, key := range c.Identities {
			if ii, ok := f.g.identityIdx[strings.ToLower(key)]; ok {
				add.node(true, f.g.ids[ii].Key, f.identityLabels[ii])
			}
		}
	}
	for _, ii := range gs.idents {
		add.node(true, f.g.ids[ii].Key, f.identityLabels[ii])
	}
}

// --- references ---

func labelRef(l Label) *Label {
	if l.Value == "" {
		return nil
	}
	return &l
}

func (f *findingCtx) identityRef(id *Identity) *IdentityRef {
	l := f.e.Labels(id.Key)
	return &IdentityRef{ID: id.Key, Name: id.Name, Kind: string(id.Kind), PrincipalID: id.PrincipalID, ClientID: id.ClientID,
		Environment: labelRef(l.Env), Team: labelRef(l.Team)}
}

func (f *findingCtx) computeRef(c *Compute) ComputeRef {
	l := f.e.Labels(c.ID)
	return ComputeRef{ID: c.ID, Name: c.Name, Kind: string(c.Kind), Environment: labelRef(l.Env), Team: labelRef(l.Team)}
}

func (f *findingCtx) computeRefs(cis []int32) []ComputeRef {
	out := make([]ComputeRef, 0, min(len(cis), maxListed))
	for _, ci := range cis {
		if len(out) == maxListed {
			break
		}
		out = append(out, f.computeRef(f.g.computes[ci]))
	}
	return out
}

func (f *findingCtx) assignmentRef(as *authz.Assignment) AssignmentRef {
	l := f.e.Labels(as.Scope)
	ref := AssignmentRef{ID: as.ID, Role: f.role(as.RoleID).name, RoleID: as.RoleID, Scope: as.Scope, PrincipalID: as.PrincipalID,
		Environment: labelRef(l.Env), Team: labelRef(l.Team)}
	if t, ok := f.usage.Created(as.ID); ok {
		ref.Created = &t
	}
	return ref
}

func (f *findingCtx) assignmentRefs(as []*authz.Assignment) []AssignmentRef {
	out := make([]AssignmentRef, 0, len(as))
	for _, a := range as {
		out = append(out, f.assignmentRef(a))
	}
	return out
}

// --- labels ---

var envRank = map[string]int{"dev": 1, "test": 2, "qa": 3, "uat": 4, "stage": 5, "prod": 6}

// joinAnd joins words as a sentence does: "a, b and c".
func joinAnd(l []string) string {
	if len(l) < 2 {
		return strings.Join(l, "")
	}
	return strings.Join(l[:len(l)-1], ", ") + " and " + l[len(l)-1]
}

// sortEnvs orders environments from least to most protected (unknown
// names first, by name).
func sortEnvs(envs []string) []string {
	sort.Slice(envs, func(i, j int) bool {
		if ri, rj := envRank[envs[i]], envRank[envs[j]]; ri != rj {
			return ri < rj
		}
		return envs[i] < envs[j]
	})
	return envs
}

// set is a small ordered set of labels, case-insensitive for teams.
type set struct {
	fold bool
	m    map[string]string
}

func newSet(fold bool) *set { return &set{fold: fold, m: map[string]string{}} }

func (s *set) add(v string) {
	if v == "" {
		return
	}
	k := v
	if s.fold {
		k = strings.ToLower(v)
	}
	if _, ok := s.m[k]; !ok {
		s.m[k] = v
	}
}

func (s *set) has(v string) bool {
	k := v
	if s.fold {
		k = strings.ToLower(v)
	}
	_, ok := s.m[k]
	return ok
}

func (s *set) len() int { return len(s.m) }

func (s *set) list() []string {
	out := make([]string, 0, len(s.m))
	for _, v := range s.m {
		out = append(out, v)
	}
	if s.fold {
		keys := make([]string, 0, len(s.m))
		for k := range s.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			out[i] = s.m[k]
		}
		return out
	}
	return sortEnvs(out)
}

// --- added blast radius ---

// addedBuilder collects the resources a finding adds beyond a home.
type addedBuilder struct {
	homeEnv, homeTeam *set
	// all counts every resource, labeled or not (a home of nothing).
	all          bool
	envs, teams  *set
	seen         map[string]bool
	seenIdx      map[int32]bool
	out          Added
	idents, comp *set
	// The labels label last noted: the sets already hold them.
	labelled          bool
	lastEnv, lastTeam string
}

func newAdded(homeEnvs, homeTeams []string) *addedBuilder {
	b := &addedBuilder{homeEnv: newSet(false), homeTeam: newSet(true), envs: newSet(false), teams: newSet(true),
		seen: map[string]bool{}, seenIdx: map[int32]bool{}, idents: newSet(true), comp: newSet(true)}
	for _, e := range homeEnvs {
		b.homeEnv.add(e)
	}
	for _, t := range homeTeams {
		b.homeTeam.add(t)
	}
	b.all = b.homeEnv.len() == 0 && b.homeTeam.len() == 0
	return b
}

// beyond reports whether labels lie outside the home.
func (b *addedBuilder) beyond(env, team string) bool {
	if b.all {
		return true
	}
	return (env != "" && b.homeEnv.len() > 0 && !b.homeEnv.has(env)) || (team != "" && b.homeTeam.len() > 0 && !b.homeTeam.has(team))
}

// add counts a resource of the radius. Only top-level resources count:
// subscriptions and groups are containers, and child resources (a site's
// config, a vault's secrets) go with their parent.
func (b *addedBuilder) add(resource, typ, env, team string, data bool) {
	if !b.beyond(env, team) || b.seen[strings.ToLower(resource)] || !topLevel(resource) {
		return
	}
	b.seen[strings.ToLower(resource)] = true
	b.label(env, team)
	b.out.Total++
	if len(b.out.Resources) < maxListed {
		b.out.Resources = append(b.out.Resources, AddedResource{Resource: resource, Type: typ, Environment: env, Team: team, Data: data})
	}
}

// addIdx is add for a top-level resource known by its scope index.
func (b *addedBuilder) addIdx(n int32, res *Resource, env, team string, data bool) {
	if b.seenIdx[n] || !b.beyond(env, team) {
		return
	}
	b.seenIdx[n] = true
	b.label(env, team)
	b.out.Total++
	if len(b.out.Resources) < maxListed {
		b.out.Resources = append(b.out.Resources, AddedResource{Resource: res.ID, Type: res.Type, Environment: env, Team: team, Data: data})
	}
}

// label notes the environment and team of something added, when they lie
// beyond the home.
func (b *addedBuilder) label(env, team string) {
	if b.labelled && env == b.lastEnv && team == b.lastTeam {
		return // resources come in runs of the same labels
	}
	b.labelled, b.lastEnv, b.lastTeam = true, env, team
	if b.all || b.homeEnv.len() == 0 || !b.homeEnv.has(env) {
		b.envs.add(env)
	}
	if b.all || b.homeTeam.len() == 0 || !b.homeTeam.has(team) {
		b.teams.add(team)
	}
}

// node adds an identity or compute the finding's radius yields.
func (b *addedBuilder) node(identity bool, id string, l Labels) {
	if identity {
		b.idents.add(id)
	} else {
		b.comp.add(id)
	}
	if b.beyond(l.Env.Value, l.Team.Value) {
		b.label(l.Env.Value, l.Team.Value)
	}
}

func topLevel(id string) bool {
	p, err := resourceid.Parse(id)
	return err == nil && len(p.Providers) == 1 && len(p.Providers[0].Types) == 1
}

func (b *addedBuilder) addReach(r Reach) {
	b.add(r.Resource, r.Type, r.Environment, r.Team, len(r.DataActions) > 0)
}

func (b *addedBuilder) done() *Added {
	if b.out.Total == 0 && b.idents.len() == 0 && b.comp.len() == 0 {
		return nil
	}
	b.out.HomeEnvironments = b.homeEnv.list()
	b.out.HomeTeams = b.homeTeam.list()
	b.out.Environments = b.envs.list()
	b.out.Teams = b.teams.list()
	b.out.Identities = capList(b.idents.list())
	b.out.Computes = capList(b.comp.list())
	if b.out.Resources == nil {
		b.out.Resources = []AddedResource{}
	}
	sortByKey(b.out.Resources, func(r AddedResource) string { return strings.ToLower(r.Resource) })
	return &b.out
}

func capList(l []string) []string {
	if len(l) > maxListed {
		return l[:maxListed]
	}
	return l
}

// --- paths ---

// stepKinds that move to another compute or identity: a path with none of
// them is the identity's own grant.
var hopKinds = map[string]bool{"token": true, "federated": true, "runCommand": true, "write": true, "clusterAdmin": true,
	"assign": true, "federatedCredentialWrite": true, "nodeAccess": true, "control": true}

// escalationKinds are the escalation steps of DESIGN §3.
var escalationKinds = map[string]bool{"runCommand": true, "write": true, "clusterAdmin": true, "assign": true,
	"federatedCredentialWrite": true, "roleAssignmentWrite": true, "listKeys": true, "accessPolicyWrite": true,
	"nodeAccess": true, "control": true}

// direct reports whether a reach entry of an identity's radius comes from
// its own role assignments.
func direct(r Reach) bool {
	for _, s := range r.Path {
		if hopKinds[s.Kind] {
			return false
		}
	}
	return true
}

// usesAssignment reports whether a path goes through an assignment.
func usesAssignment(path []Step, assignmentID string) bool {
	for _, s := range path {
		if (s.Kind == "holds" || s.Kind == "grants") && strings.Contains(strings.ToLower(s.Via), strings.ToLower(assignmentID)) {
			return true
		}
	}
	return false
}

// tokenStep is the step from a compute to an identity it holds.
func (f *findingCtx) tokenStep(c *Compute, id *Identity) Step {
	switch c.Kind {
	case VM:
		return Step{Kind: "token", From: c.ID, To: id.Key, Via: "IMDS"}
	case WebApp, FunctionApp:
		return Step{Kind: "token", From: c.ID, To: id.Key, Via: "IDENTITY_ENDPOINT"}
	case ServiceAccount:
		if cl := f.e.computeByKey[strings.ToLower(c.Cluster)]; cl == nil || !strings.EqualFold(cl.Kubelet, id.Key) {
			return Step{Kind: "federated", From: c.ID, To: id.Key, Via: "service account token " + c.Subject}
		}
	}
	return Step{Kind: "token", From: c.ID, To: id.Key, Via: "the node's IMDS (kubelet identity)"}
}

// --- ids ---

// rgOf returns the resource group and name of a resource id.
func rgOf(id string) (rg, name string) {
	p, err := resourceid.Parse(id)
	if err != nil {
		return "", ""
	}
	return p.ResourceGroup, p.Name()
}

// rgID returns the id of the resource group holding id ("" if none).
func rgID(id string) string {
	p, err := resourceid.Parse(id)
	if err != nil || p.ResourceGroup == "" {
		return ""
	}
	return p.ResourceGroupID().String()
}

// wideScope reports a subscription, management group or root scope.
func wideScope(scope string) bool {
	p, err := resourceid.Parse(scope)
	if err != nil {
		return false
	}
	if p.IsRoot() || p.IsSubscription() {
		return true
	}
	return p.Subscription == "" && p.ResourceGroup == "" && len(p.Providers) > 0 && strings.EqualFold(p.Providers[0].Namespace, "Microsoft.Management")
}

// describeScope names a scope for messages.
func (f *findingCtx) describeScope(scope string) string {
	if p, err := resourceid.Parse(scope); err == nil && p.IsSubscription() {
		if n := f.e.SubscriptionNames[strings.ToLower(p.Subscription)]; n != "" {
			return "subscription '" + n + "'"
		}
	}
	return describeScope(scope)
}

func describeScope(scope string) string {
	p, err := resourceid.Parse(scope)
	if err != nil {
		return scope
	}
	switch {
	case p.IsRoot():
		return "the tenant root"
	case p.IsSubscription():
		return "subscription " + p.Subscription
	case p.IsResourceGroup():
		return "resource group " + p.ResourceGroup
	case p.Subscription == "" && p.ResourceGroup == "":
		return "management group " + p.Name()
	}
	return p.Name()
}

// sortByKey sorts a list by a key computed once per element, stably.
func sortByKey[T any](l []T, key func(T) string) {
	keys := make([]string, len(l))
	idx := make([]int, len(l))
	for i := range l {
		keys[i], idx[i] = key(l[i]), i
	}
	sort.SliceStable(idx, func(x, y int) bool { return keys[idx[x]] < keys[idx[y]] })
	sorted := make([]T, len(l))
	for i, j := range idx {
		sorted[i] = l[j]
	}
	copy(l, sorted)
}
