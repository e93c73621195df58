package analyzer

import (
	"math/bits"
	"slices"
	"strings"

	"github.com/mimic-emu/mimic/internal/resourceid"
)

// The blast radius a finding adds beyond a home (environments and teams).
//
// At scale one subscription-wide grant puts every resource of the
// subscription into the radius of each finding about its identity, so
// adding a resource must cost a few array reads: a builder marks what it
// has added in arrays the findings context owns (by epoch: one builder at
// a time), and decides "beyond the home" once per label class, an
// interned (environment, team) pair, rather than per resource.

// marker marks indexes, and forgets them all at once by moving to a new
// epoch.
type marker struct {
	epoch uint32
	mark  []uint32
}

// reset forgets every mark and makes room for n indexes.
func (m *marker) reset(n int) {
	if len(m.mark) < n {
		m.mark = append(m.mark, make([]uint32, n-len(m.mark))...)
	}
	m.epoch++
	if m.epoch == 0 { // wrapped: forget the old epochs too
		clear(m.mark)
		m.epoch = 1
	}
}

func (m *marker) has(i int32) bool { return m.mark[i] == m.epoch }

// set marks i and reports whether it was unmarked.
func (m *marker) set(i int32) bool {
	if m.mark[i] == m.epoch {
		return false
	}
	m.mark[i] = m.epoch
	return true
}

// addedScratch is the findings context's scratch for the builders: the
// scopes, identities and computes the current builder added, and its view
// of each class (clsState, valid where cls is marked).
type addedScratch struct {
	res, idents, comps, cls marker
	clsState                []uint8
}

// Class states.
const (
	clsBeyond   uint8 = 1 << iota // outside the home
	clsLabelled                   // its labels are in envs and teams
)

// classOf interns a label class, an (environment, team) pair with teams
// compared folded (while the index is built).
func (f *findingIndex) classOf(env, team string) int32 {
	k := env + "\x00" + strings.ToLower(team)
	c, ok := f.classIdx[k]
	if !ok {
		c = int32(len(f.classIdx))
		f.classIdx[k] = c
	}
	return c
}

// addEnvsOf adds the environments of a grant set's resources to a set.
func (f *findingCtx) addEnvsOf(s *set, gs *grantSet) {
	if len(f.envNames) > 63 { // bit 63 is shared: read the resources
		for _, n := range gs.res {
			s.add(f.envOf[n])
		}
		return
	}
	for m := gs.envs; m != 0; m &= m - 1 {
		s.add(f.envNames[bits.TrailingZeros64(m)])
	}
}

// firstKeys keeps the k smallest keys it is given, with their values,
// and counts them all.
type firstKeys struct {
	keys, vals []string
	n          int
}

func (t *firstKeys) add(key, val string) {
	t.n++
	if len(t.keys) == maxListed && key >= t.keys[maxListed-1] {
		return
	}
	at, _ := slices.BinarySearch(t.keys, key)
	if len(t.keys) < maxListed {
		t.keys, t.vals = append(t.keys, ""), append(t.vals, "")
	}
	copy(t.keys[at+1:], t.keys[at:len(t.keys)-1])
	copy(t.vals[at+1:], t.vals[at:len(t.vals)-1])
	t.keys[at], t.vals[at] = key, val
}

// addedBuilder collects the resources a finding adds beyond a home.
type addedBuilder struct {
	f                 *findingCtx
	epoch             uint32
	homeEnv, homeTeam *set
	// all counts every resource, labeled or not (a home of nothing).
	all         bool
	envs, teams *set
	out         Added
	keys        []string // of out.Resources, lowered
	// idents and comps are the identities and computes the radius yields,
	// by lowered id; other holds those the graph does not index.
	idents, comps firstKeys
	other         map[string]bool
}

// newAdded starts a builder; the previous one must be done with.
func (f *findingCtx) newAdded(homeEnvs, homeTeams []string) *addedBuilder {
	sc := &f.scratch
	sc.res.reset(len(f.g.scopes))
	sc.idents.reset(len(f.g.ids))
	sc.comps.reset(len(f.g.computes))
	sc.cls.reset(len(f.classIdx))
	if len(sc.clsState) < len(f.classIdx) {
		sc.clsState = append(sc.clsState, make([]uint8, len(f.classIdx)-len(sc.clsState))...)
	}
	b := &addedBuilder{f: f, epoch: sc.res.epoch, homeEnv: newSet(false), homeTeam: newSet(true), envs: newSet(false), teams: newSet(true)}
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

// beyondClass is beyond for a label class, decided once per builder; it
// notes the labels the first time they are beyond.
func (b *addedBuilder) beyondClass(c int32, env, team string) bool {
	sc := &b.f.scratch
	if sc.res.epoch != b.epoch {
		panic("analyzer: added-radius builders interleaved")
	}
	if sc.cls.set(c) {
		sc.clsState[c] = 0
		if b.beyond(env, team) {
			sc.clsState[c] = clsBeyond
		}
	}
	st := sc.clsState[c]
	if st&clsBeyond == 0 {
		return false
	}
	if st&clsLabelled == 0 {
		sc.clsState[c] |= clsLabelled
		b.label(env, team)
	}
	return true
}

// addIdx counts a top-level resource, known by its scope index, and
// reports whether it is new to the radius and beyond the home.
func (b *addedBuilder) addIdx(n int32, data bool) bool {
	f := b.f
	if f.scratch.res.has(n) || !b.beyondClass(f.cls[n], f.envOf[n], f.teamOf[n]) {
		return false
	}
	f.scratch.res.set(n)
	b.out.Total++
	if len(b.out.Resources) < maxListed {
		if b.out.Resources == nil {
			b.out.Resources, b.keys = make([]AddedResource, 0, maxListed), make([]string, 0, maxListed)
		}
		res := f.resAt[n]
		b.out.Resources = append(b.out.Resources, AddedResource{Resource: res.ID, Type: res.Type, Environment: f.envOf[n], Team: f.teamOf[n], Data: data})
		b.keys = append(b.keys, f.g.scopes[n])
	}
	return true
}

// addReach counts a reach entry of a radius. Only top-level resources
// count: subscriptions and groups are containers, and child resources (a
// site's config, a vault's secrets) go with their parent.
func (b *addedBuilder) addReach(r Reach) {
	if n, ok := b.f.g.scopeIdx[strings.ToLower(r.Resource)]; ok && b.f.top[n] {
		b.addIdx(n, len(r.DataActions) > 0)
	}
}

// label notes the environment and team of something added, when they lie
// beyond the home.
func (b *addedBuilder) label(env, team string) {
	if b.all || b.homeEnv.len() == 0 || !b.homeEnv.has(env) {
		b.envs.add(env)
	}
	if b.all || b.homeTeam.len() == 0 || !b.homeTeam.has(team) {
		b.teams.add(team)
	}
}

// computeNode and identityNode add a compute or identity the finding's
// radius yields.
func (b *addedBuilder) computeNode(ci int32) {
	f := b.f
	b.indexedNode(&f.scratch.comps, &b.comps, ci, f.computeKeys[ci], f.g.computes[ci].ID, f.computeCls[ci], f.computeLabels[ci])
}

func (b *addedBuilder) identityNode(ii int32) {
	f := b.f
	b.indexedNode(&f.scratch.idents, &b.idents, ii, f.identityKeys[ii], f.g.ids[ii].Key, f.identityCls[ii], f.identityLabels[ii])
}

// indexedNode adds the compute or identity i (marked in seen, listed in
// list under its lowered key) and notes its labels.
func (b *addedBuilder) indexedNode(seen *marker, list *firstKeys, i int32, key, id string, cls int32, l Labels) {
	if seen.set(i) {
		list.add(key, id)
	}
	b.beyondClass(cls, l.Env.Value, l.Team.Value)
}

// node adds an identity or compute by id: by its index when the graph
// has one.
func (b *addedBuilder) node(identity bool, id string) {
	f, key := b.f, strings.ToLower(id)
	if identity {
		if ii, ok := f.g.identityIdx[key]; ok {
			b.identityNode(ii)
			return
		}
	} else if ci, ok := f.g.computeIdx[key]; ok {
		b.computeNode(ci)
		return
	}
	if b.other == nil {
		b.other = map[string]bool{}
	}
	if !b.other[key] {
		b.other[key] = true
		if identity {
			b.idents.add(key, id)
		} else {
			b.comps.add(key, id)
		}
	}
	if l := f.e.Labels(id); b.beyond(l.Env.Value, l.Team.Value) {
		b.label(l.Env.Value, l.Team.Value)
	}
}

func (b *addedBuilder) done() *Added {
	if b.out.Total == 0 && b.idents.n == 0 && b.comps.n == 0 {
		return nil
	}
	b.out.HomeEnvironments = b.homeEnv.list()
	b.out.HomeTeams = b.homeTeam.list()
	b.out.Environments = b.envs.list()
	b.out.Teams = b.teams.list()
	b.out.Identities = b.idents.vals
	b.out.Computes = b.comps.vals
	if b.out.Resources == nil {
		b.out.Resources = []AddedResource{}
	}
	sortByKeys(b.out.Resources, b.keys)
	return &b.out
}

func topLevel(id string) bool {
	p, err := resourceid.Parse(id)
	return err == nil && len(p.Providers) == 1 && len(p.Providers[0].Types) == 1
}
