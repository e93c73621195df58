package analyzer

import (
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/resourceid"
)

// findingIndex is what the rules read and never change once built: who
// holds what, and the labels, label classes and environments of scopes,
// computes and identities. The shards of a run share it.
type findingIndex struct {
	a     *Analysis
	e     *Estate
	g     *graph
	usage *Usage
	// holders lists, per identity index, the computes that hold it;
	// heldOn, per compute index, the identities it holds.
	holders [][]int32
	heldOn  [][]int32
	// envBit numbers environments; envMask has, per scope, the
	// environments at or under it (bit 63 collects any beyond 63).
	envBit   map[string]uint
	envNames []string // by bit
	envMask  []uint64
	// top marks scopes that are top-level resources; uai those that are
	// user-assigned identities' resources.
	top, uai []bool
	resAt    []*Resource
	// computeAt and identityAt give the compute or identity whose resource
	// a scope is, or -1.
	computeAt, identityAt []int32
	// envOf and teamOf label resource scopes.
	envOf, teamOf []string
	// labels and scope indexes of computes and identities.
	computeLabels, identityLabels []Labels
	computeScope, identityScope   []int32
	// computeKeys and identityKeys are their lowered ids; computeCls and
	// identityCls their label classes.
	computeKeys, identityKeys []string
	computeCls, identityCls   []int32
	// cls is the label class of each scope, interned in classIdx.
	cls      []int32
	classIdx map[string]int32

	// helds caches heldBy, per identity: Findings fills it, each shard
	// its own identities, before the rules run; its grant sets and scope
	// facts are not changed once made. grantSetCount numbers grant sets.
	helds         [][]held
	grantSetCount atomic.Int32
}

// findingCtx is one shard of a findings run: the shared index, and what
// its rules work out lazily, each once. A shard takes every shards-th
// identity, assignment and escalation class (mine).
type findingCtx struct {
	*findingIndex
	shard, shards int

	roles        map[string]*roleInfo
	radii        map[int32]*Radius
	byID         map[string]*authz.Assignment
	grantSets    map[grantKey]*grantSet
	byAssignment map[*authz.Assignment]*grantSet
	assignments  map[string][]*authz.Assignment // by principal id (assignmentsOf)
	perms        map[permKey]permSet
	unders       map[int32][]int32
	scratch      addedScratch
	// crossSeen, startSeen and esc are escalation-path's scratch.
	crossSeen, startSeen marker
	esc                  escSearch
	// Evidence shared by the findings of an identity (clipped: an append
	// copies): its reference, its holders' and its assignments'.
	idRefs     map[*Identity]*IdentityRef
	holderRefs [][]ComputeRef
	heldRefs   [][]AssignmentRef
	// scopes caches what the rules ask of scope strings; idParts and
	// splitNames what fixes ask of ids and of split identities' names.
	scopes     map[string]*scopeFacts
	idParts    map[string]idParts
	splitNames map[[2]string]string
}

// mine reports whether the i-th identity, assignment or class is this
// shard's.
func (f *findingCtx) mine(i int) bool { return f.shards <= 1 || i%f.shards == f.shard }

// scopeFacts are what the rules ask of a scope string, worked out once.
// They do not change once made: the shards of a run read each other's.
type scopeFacts struct {
	idx     int32 // in the graph's scopes
	indexed bool  // idx is valid
	desc    string
	labels  Labels
}

// labelsOf returns the labels of a scope (or any resource id).
func (f *findingCtx) labelsOf(scope string) Labels { return f.scope(scope).labels }

func (f *findingCtx) scope(scope string) *scopeFacts {
	if sf, ok := f.scopes[scope]; ok {
		return sf
	}
	sf := &scopeFacts{labels: f.e.Labels(scope), desc: f.describeScopeUncached(scope)}
	// The graph's own key first: parsing is for odd spellings.
	if sf.idx, sf.indexed = f.g.scopeIdx[scopeKey(scope)]; !sf.indexed {
		sf.idx, sf.indexed = f.a.scopeOf(scope)
	}
	f.scopes[scope] = sf
	return sf
}

// newFindingCtx makes the only shard of a run.
func newFindingCtx(a *Analysis, opts FindingsOptions) *findingCtx {
	return newFindingIndex(a, opts).shard(0, 1)
}

// shard makes shard k of n.
func (x *findingIndex) shard(k, n int) *findingCtx {
	ids := len(x.g.ids)
	return &findingCtx{findingIndex: x, shard: k, shards: n,
		roles: map[string]*roleInfo{}, radii: map[int32]*Radius{},
		grantSets: map[grantKey]*grantSet{}, byAssignment: map[*authz.Assignment]*grantSet{}, assignments: map[string][]*authz.Assignment{}, perms: map[permKey]permSet{}, unders: map[int32][]int32{},
		idRefs: map[*Identity]*IdentityRef{}, holderRefs: make([][]ComputeRef, ids), heldRefs: make([][]AssignmentRef, ids),
		scopes: map[string]*scopeFacts{}, idParts: map[string]idParts{}, splitNames: map[[2]string]string{}}
}

func newFindingIndex(a *Analysis, opts FindingsOptions) *findingIndex {
	g := a.g
	f := &findingIndex{a: a, e: a.E, g: g, usage: opts.Usage, holders: make([][]int32, len(g.ids)), helds: make([][]held, len(g.ids)),
		envBit: map[string]uint{}, classIdx: map[string]int32{}}
	f.classOf("", "")
	f.heldOn = make([][]int32, len(g.computes))
	for ci, c := range g.computes {
		for _, key := range c.Identities {
			if ii, ok := g.identityIdx[strings.ToLower(key)]; ok {
				f.holders[ii] = append(f.holders[ii], int32(ci))
				f.heldOn[ci] = append(f.heldOn[ci], ii)
			}
		}
	}
	f.envMask = make([]uint64, len(g.scopes))
	f.top, f.uai = make([]bool, len(g.scopes)), make([]bool, len(g.scopes))
	f.envOf, f.teamOf = make([]string, len(g.scopes)), make([]string, len(g.scopes))
	f.resAt = make([]*Resource, len(g.scopes))
	f.cls = make([]int32, len(g.scopes))
	for s, key := range g.scopes {
		if res := f.e.resourceByKey[key]; res != nil {
			f.resAt[s] = res
			l := f.e.Labels(res.ID)
			f.envOf[s], f.teamOf[s] = l.Env.Value, l.Team.Value
			f.cls[s] = f.classOf(l.Env.Value, l.Team.Value)
			f.envMask[s] = f.registerEnv(l.Env.Value)
			f.top[s] = topLevel(res.ID)
			f.uai[s] = strings.EqualFold(res.Type, "Microsoft.ManagedIdentity/userAssignedIdentities")
		}
	}
	f.computeLabels, f.computeScope, f.computeKeys = make([]Labels, len(g.computes)), make([]int32, len(g.computes)), make([]string, len(g.computes))
	f.computeAt, f.identityAt = make([]int32, len(g.scopes)), make([]int32, len(g.scopes))
	for s := range g.scopes {
		f.computeAt[s], f.identityAt[s] = -1, -1
	}
	for ci, c := range g.computes {
		f.computeLabels[ci], f.computeScope[ci], f.computeKeys[ci] = f.e.Labels(c.ID), scopeIndex(g, c.ID), strings.ToLower(c.ID)
		f.computeCls = append(f.computeCls, f.classOf(f.computeLabels[ci].Env.Value, f.computeLabels[ci].Team.Value))
		if s := f.computeScope[ci]; s >= 0 {
			f.computeAt[s] = int32(ci)
		}
	}
	f.identityLabels, f.identityScope, f.identityKeys = make([]Labels, len(g.ids)), make([]int32, len(g.ids)), make([]string, len(g.ids))
	for ii, id := range g.ids {
		f.identityLabels[ii], f.identityScope[ii], f.identityKeys[ii] = f.e.Labels(id.Key), scopeIndex(g, id.Key), strings.ToLower(id.Key)
		f.identityCls = append(f.identityCls, f.classOf(f.identityLabels[ii].Env.Value, f.identityLabels[ii].Team.Value))
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
	// Every environment has its bit now: envBitOf only reads from here on.
	for _, l := range f.computeLabels {
		f.registerEnv(l.Env.Value)
	}
	for _, l := range f.identityLabels {
		f.registerEnv(l.Env.Value)
	}
	return f
}

func scopeIndex(g *graph, id string) int32 {
	if s, ok := g.scopeIdx[strings.ToLower(id)]; ok {
		return s
	}
	return -1
}

// registerEnv numbers an environment (while the index is built).
func (f *findingIndex) registerEnv(env string) uint64 {
	if env == "" {
		return 0
	}
	b, ok := f.envBit[env]
	if !ok {
		b = min(uint(len(f.envBit)), 63)
		f.envBit[env] = b
		f.envNames = append(f.envNames, env)
	}
	return 1 << b
}

// envBitOf is an environment's bit; one the index has not numbered (none
// should be) shares bit 63.
func (f *findingIndex) envBitOf(env string) uint64 {
	if env == "" {
		return 0
	}
	if b, ok := f.envBit[env]; ok {
		return 1 << b
	}
	return 1 << 63
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
	// listKeys: lists storage account keys; vaultWrite: writes vaults.
	listKeys, vaultWrite bool
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
		r.listKeys = roleAllows(role, "Microsoft.Storage/storageAccounts/listkeys/action")
		r.vaultWrite = roleAllows(role, "Microsoft.KeyVault/vaults/write")
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
	for _, h := range f.heldBy(ii) {
		if h.sf.indexed {
			mask |= f.envMask[h.sf.idx]
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
	// envs: the environment bits of res (envBitOf).
	envs uint64
	// idx numbers the grant sets of a findings run.
	idx int32
}

func (f *findingCtx) newGrantSet() *grantSet {
	return &grantSet{idx: f.grantSetCount.Add(1) - 1}
}

// grantKey caches grant sets: one per role, scope and whether a
// condition applies.
type grantKey struct {
	role        *roleInfo
	scope       int32
	conditional bool
}

// held is an assignment with its grant set and its scope's facts.
type held struct {
	as *authz.Assignment
	gs *grantSet
	sf *scopeFacts
}

// heldBy lists an identity's assignments (as assignmentsOf) with their
// grant sets, computed once per identity.
func (f *findingCtx) heldBy(ii int32) []held {
	if l := f.helds[ii]; l != nil {
		return l
	}
	as := f.assignmentsOf(f.g.ids[ii])
	l := make([]held, len(as))
	for i, a := range as {
		sf := f.scope(a.Scope)
		l[i] = held{a, f.grantsAt(a, sf), sf}
	}
	f.helds[ii] = l
	return l
}

// grant flags.
const (
	grantData        uint8 = 1 << iota // data actions
	grantListKeys                      // an account's keys: all its blobs
	grantPolicyWrite                   // an access-policy vault's write: its secrets
)

// grants is an assignment's grant set, cached by assignment (heldBy
// caches them by identity, without the map).
func (f *findingCtx) grants(as *authz.Assignment) *grantSet {
	if gs, ok := f.byAssignment[as]; ok {
		return gs
	}
	gs := f.grantsAt(as, f.scope(as.Scope))
	f.byAssignment[as] = gs
	return gs
}

// grantsAt is an assignment's grant set, its scope worked out.
func (f *findingCtx) grantsAt(as *authz.Assignment, sf *scopeFacts) *grantSet {
	gs := f.grantSetOf(as, sf)
	if f.g.denied(as.PrincipalID) {
		gs = f.withoutDenied(gs, as)
	}
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
	out := f.newGrantSet()
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
		out.envs |= f.envBitOf(f.envOf[n])
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

func (f *findingCtx) grantSetOf(as *authz.Assignment, sf *scopeFacts) *grantSet {
	s, ok := sf.idx, sf.indexed
	ri := f.role(as.RoleID)
	key := grantKey{ri, s, as.Condition != ""}
	if !ok {
		key.scope = -1 // outside the scope tree: not the root's (index 0) set
	}
	if gs, ok := f.grantSets[key]; ok {
		return gs
	}
	gs := f.newGrantSet()
	f.grantSets[key] = gs
	if ri.role == nil || !ok {
		return gs
	}
	caps := ri.caps
	if as.Condition != "" {
		caps = [numCaps]bool{} // as the graph: conditional capabilities are not counted
	}
	listKeys, vaultWrite := ri.listKeys, ri.vaultWrite
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
		gs.envs |= f.envBitOf(f.envOf[n])
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

// permKey caches applicable: a role and a resource type as spelt.
type permKey struct {
	role *roleInfo
	typ  string
}

// applicable is the package's applicable, cached by role and type.
func (f *findingCtx) applicable(ri *roleInfo, typ string) permSet {
	key := permKey{ri, typ}
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
		add.addIdx(n, gs.flags[i] != 0)
	}
	for _, ci := range gs.computes {
		add.computeNode(ci)
		for _, ii := range f.heldOn[ci] {
			add.identityNode(ii)
		}
	}
	for _, ii := range gs.idents {
		add.identityNode(ii)
	}
}

// --- references ---

func labelRef(l Label) *Label {
	if l.Value == "" {
		return nil
	}
	return &l
}

// identityRef is an identity's reference, shared by its findings.
func (f *findingCtx) identityRef(id *Identity) *IdentityRef {
	if r, ok := f.idRefs[id]; ok {
		return r
	}
	l := f.e.Labels(id.Key)
	r := &IdentityRef{ID: id.Key, Name: id.Name, Kind: string(id.Kind), PrincipalID: id.PrincipalID, ClientID: id.ClientID,
		Environment: labelRef(l.Env), Team: labelRef(l.Team)}
	f.idRefs[id] = r
	return r
}

// holdersRefs references an identity's holders (computeRefs), once.
func (f *findingCtx) holdersRefs(ii int32) []ComputeRef {
	if l := f.holderRefs[ii]; l != nil {
		return l
	}
	l := slices.Clip(f.computeRefs(f.holders[ii]))
	f.holderRefs[ii] = l
	return l
}

// assignmentsRefs references all of an identity's assignments, once.
func (f *findingCtx) assignmentsRefs(ii int32) []AssignmentRef {
	if l := f.heldRefs[ii]; l != nil {
		return l
	}
	hs := f.heldBy(ii)
	l := make([]AssignmentRef, len(hs))
	for i, h := range hs {
		l[i] = f.assignmentRefAt(h.as, h.sf)
	}
	f.heldRefs[ii] = l
	return l
}

func (f *findingCtx) computeRef(ci int32) ComputeRef {
	c, l := f.g.computes[ci], f.computeLabels[ci]
	return ComputeRef{ID: c.ID, Name: c.Name, Kind: string(c.Kind), Environment: labelRef(l.Env), Team: labelRef(l.Team)}
}

func (f *findingCtx) computeRefs(cis []int32) []ComputeRef {
	out := make([]ComputeRef, 0, min(len(cis), maxListed))
	for _, ci := range cis {
		if len(out) == maxListed {
			break
		}
		out = append(out, f.computeRef(ci))
	}
	return out
}

func (f *findingCtx) assignmentRef(as *authz.Assignment) AssignmentRef {
	return f.assignmentRefAt(as, f.scope(as.Scope))
}

func (f *findingCtx) assignmentRefAt(as *authz.Assignment, sf *scopeFacts) AssignmentRef {
	l := sf.labels
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

// set is a small ordered set of labels, case-insensitive for teams. It
// searches its few entries in order, and indexes them once it grows.
type set struct {
	fold       bool
	keys, vals []string
	index      map[string]int
}

// setIndexFrom is the size from which a set keeps an index.
const setIndexFrom = 8

func newSet(fold bool) *set { return &set{fold: fold} }

func (s *set) add(v string) {
	if v == "" {
		return
	}
	k := v
	if s.fold {
		k = strings.ToLower(v)
	}
	s.addKey(k, v)
}

// addKey adds v under its key, folded already for a folding set.
func (s *set) addKey(k, v string) {
	if s.hasKey(k) {
		return
	}
	s.keys, s.vals = append(s.keys, k), append(s.vals, v)
	switch {
	case len(s.keys) == setIndexFrom:
		s.index = make(map[string]int, 2*setIndexFrom)
		for i, k := range s.keys {
			s.index[k] = i
		}
	case len(s.keys) > setIndexFrom:
		s.index[k] = len(s.keys) - 1
	}
}

func (s *set) hasKey(k string) bool {
	if s.index != nil {
		_, ok := s.index[k]
		return ok
	}
	return slices.Contains(s.keys, k)
}

func (s *set) has(v string) bool {
	k := v
	if s.fold {
		k = strings.ToLower(v)
	}
	return s.hasKey(k)
}

func (s *set) len() int { return len(s.keys) }

// list returns the values, ordered: by folded key, or environments from
// least to most protected.
func (s *set) list() []string {
	out := make([]string, len(s.vals))
	copy(out, s.vals)
	if s.fold {
		sortByKeys(out, s.keys)
		return out
	}
	return sortEnvs(out)
}

// --- paths ---

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
	if strings.Count(strings.TrimSuffix(scope, "/"), "/") > 4 {
		return false // deeper than /providers/Microsoft.Management/managementGroups/NAME
	}
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
func (f *findingCtx) describeScope(scope string) string { return f.scope(scope).desc }

func (f *findingCtx) describeScopeUncached(scope string) string {
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

// sortByKeys sorts a list by its elements' keys, stably.
func sortByKeys[T any](l []T, keys []string) {
	idx := make([]int, len(l))
	for i := range l {
		idx[i] = i
	}
	sort.SliceStable(idx, func(x, y int) bool { return keys[idx[x]] < keys[idx[y]] })
	sorted := make([]T, len(l))
	for i, j := range idx {
		sorted[i] = l[j]
	}
	copy(l, sorted)
}

// grow returns l with length n, reusing its array when it is big enough
// (the contents are not cleared).
func grow[T any](l []T, n int) []T {
	if cap(l) < n {
		return make([]T, n)
	}
	return l[:n]
}
