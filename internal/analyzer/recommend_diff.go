package analyzer

import (
	"slices"
	"sort"
	"strings"

	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/resourceid"
)

// Diff is how a plan changes blast radii: for every compute and identity
// whose blast radius changes, what it gains and loses.
//
// Only starts that reach something the plan touches (an identity whose
// grants, federation or existence change, or a compute whose identities
// change), before or after it, can change; they are found with one
// reverse search per analysis, and only their radii are computed.
type Diff struct {
	Changes []Change `json:"changes,omitempty"`
	// Affected counts the starts that reach something the plan touches;
	// Radii lists those whose blast radius changed.
	Affected int          `json:"affected"`
	Radii    []RadiusDiff `json:"radii"`
	Summary  DiffSummary  `json:"summary"`
}

// DiffSummary totals a diff.
type DiffSummary struct {
	Changed         int `json:"startsChanged"`
	ResourcesGained int `json:"resourcesGained"`
	ResourcesLost   int `json:"resourcesLost"`
	ReachChanged    int `json:"reachChanged"`
}

// RadiusDiff is how one start's blast radius changes.
type RadiusDiff struct {
	Start       string `json:"start"`
	Name        string `json:"name"`
	StartKind   string `json:"startKind"`
	Environment string `json:"environment,omitempty"`
	// Status is "created" for an identity the plan creates, "deleted"
	// for one it deletes, else empty.
	Status string `json:"status,omitempty"`
	// SameAs names the start whose changes these are: both hold the same
	// identities, computes and role assignment writes before and after.
	// The paths are then left out.
	SameAs string `json:"sameAs,omitempty"`
	// EnvironmentsGained and EnvironmentsLost are environments the start
	// reaches only after, or only before, the change.
	EnvironmentsGained []string      `json:"environmentsGained,omitempty"`
	EnvironmentsLost   []string      `json:"environmentsLost,omitempty"`
	Gained             []ReachChange `json:"gained,omitempty"`
	Lost               []ReachChange `json:"lost,omitempty"`
	Changed            []ReachChange `json:"changed,omitempty"`
	IdentitiesGained   []Held        `json:"identitiesGained,omitempty"`
	IdentitiesLost     []Held        `json:"identitiesLost,omitempty"`
	ComputesGained     []Held        `json:"computesGained,omitempty"`
	ComputesLost       []Held        `json:"computesLost,omitempty"`
}

// ReachChange is one resource a start gains, loses, or reaches with other
// actions.
type ReachChange struct {
	Resource    string `json:"resource"`
	Type        string `json:"type"`
	Environment string `json:"environment,omitempty"`
	Team        string `json:"team,omitempty"`
	// For a gained or lost resource, its actions and data actions; for a
	// changed one, those added and removed.
	ActionsAdded       []string `json:"actionsAdded,omitempty"`
	ActionsRemoved     []string `json:"actionsRemoved,omitempty"`
	DataActionsAdded   []string `json:"dataActionsAdded,omitempty"`
	DataActionsRemoved []string `json:"dataActionsRemoved,omitempty"`
	// Path explains the reach: after the change for a gain, before it for
	// a loss.
	Path []Step `json:"path,omitempty"`
}

// empty reports a diff of nothing.
func (d *RadiusDiff) empty() bool {
	return d.Status == "" && len(d.Gained)+len(d.Lost)+len(d.Changed)+len(d.IdentitiesGained)+len(d.IdentitiesLost)+
		len(d.ComputesGained)+len(d.ComputesLost) == 0
}

// DiffOptions tunes Diff.
type DiffOptions struct {
	// Starts restricts the diff to these computes and identities (ids);
	// empty means every start the plan can affect.
	Starts []string
}

// Diff applies a plan to a copy of the estate and compares the blast
// radius of every affected compute and identity before and after.
func (a *Analysis) Diff(p Plan, opts DiffOptions) (*Diff, error) {
	e, t, err := applyPlan(a.E, p)
	if err != nil {
		return nil, err
	}
	return a.diff(New(e), t, p, opts), nil
}

func (a *Analysis) diff(b *Analysis, t touched, p Plan, opts DiffOptions) *Diff {
	// A created or deleted resource is gained or lost by every identity
	// granted at or above it, so those identities' grants change too.
	for _, an := range []*Analysis{a, b} {
		for _, id := range an.grantedOver(t.resources) {
			t.grant(id)
		}
	}
	starts := map[string]bool{}
	for _, an := range []*Analysis{a, b} {
		for _, k := range an.affectedStarts(t) {
			starts[k] = true
		}
	}
	keys := make([]string, 0, len(starts))
	if len(opts.Starts) > 0 {
		for _, s := range opts.Starts {
			if k := strings.ToLower(s); starts[k] && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	} else {
		for k := range starts {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	d := &Diff{Changes: p.Changes, Affected: len(keys), Radii: []RadiusDiff{}}
	wa, wb := newWalker(a.g, t), newWalker(b.g, t)
	// Starts holding the same before and after share one diff: their
	// radii are made of the same identities' grants.
	type pair struct{ before, after string }
	shared := map[pair]*RadiusDiff{}
	for _, k := range keys {
		hb, okb := wa.holdings(k)
		ha, oka := wb.holdings(k)
		if okb && oka && hb == ha {
			continue // the same holdings, none of whose grants change
		}
		var rd RadiusDiff
		if first := shared[pair{hb, ha}]; hb != "" && ha != "" && first != nil {
			rd = first.like(b, k)
		} else {
			before, _ := a.BlastRadiusOf(k)
			after, _ := b.BlastRadiusOf(k)
			rd = diffRadius(a, b, before, after)
			if hb != "" && ha != "" {
				shared[pair{hb, ha}] = &rd
			}
		}
		if rd.empty() {
			continue
		}
		d.Summary.Changed++
		d.Summary.ResourcesGained += len(rd.Gained)
		d.Summary.ResourcesLost += len(rd.Lost)
		d.Summary.ReachChanged += len(rd.Changed)
		d.Radii = append(d.Radii, rd)
	}
	sort.SliceStable(d.Radii, func(i, j int) bool {
		x, y := d.Radii[i], d.Radii[j]
		if x.StartKind != y.StartKind {
			return x.StartKind < y.StartKind // computes first
		}
		return strings.ToLower(x.Start) < strings.ToLower(y.Start)
	})
	return d
}

// like copies a start's diff for another start with the same holdings,
// without the paths, which would explain the first start's reach.
func (rd *RadiusDiff) like(b *Analysis, key string) RadiusDiff {
	out := *rd
	out.Start, out.StartKind, out.Name = key, "identity", key
	if c := b.E.Compute(key); c != nil {
		out.Start, out.StartKind, out.Name = c.ID, "compute", c.Name
	} else if id := b.E.Identity(key); id != nil {
		out.Start, out.Name = id.Key, id.Name
	}
	out.Environment = b.E.Labels(out.Start).Env.Value
	out.SameAs = rd.Start
	out.Gained, out.Lost, out.Changed = withoutPaths(rd.Gained), withoutPaths(rd.Lost), withoutPaths(rd.Changed)
	out.IdentitiesGained, out.IdentitiesLost = withoutPaths(rd.IdentitiesGained), withoutPaths(rd.IdentitiesLost)
	out.ComputesGained, out.ComputesLost = withoutPaths(rd.ComputesGained), withoutPaths(rd.ComputesLost)
	return out
}

// withoutPaths copies a list of gains or losses without their paths.
func withoutPaths[T ReachChange | Held](l []T) []T {
	l = slices.Clone(l)
	for i := range l {
		switch v := any(&l[i]).(type) {
		case *ReachChange:
			v.Path = nil
		case *Held:
			v.Path = nil
		}
	}
	return l
}

// grantedOver lists the identities holding a role assignment at or above
// one of these resources (lower-case ids).
func (a *Analysis) grantedOver(resources map[string]bool) []*Identity {
	if len(resources) == 0 {
		return nil
	}
	var out []*Identity
	for _, as := range a.g.assignments {
		ii, ok := a.g.identityIdx[as.PrincipalID]
		if !ok {
			continue
		}
		scope := strings.ToLower(as.Scope)
		for r := range resources {
			if resourceid.KeyContains(scope, r) {
				out = append(out, a.g.ids[ii])
				break
			}
		}
	}
	return out
}

// walker runs searches of one graph, reusing its buffers.
type walker struct {
	g     *graph
	t     touched
	seen  []uint32
	stamp uint32
	queue []int32
}

func newWalker(g *graph, t touched) *walker {
	return &walker{g: g, t: t, seen: make([]uint32, g.nodeCount)}
}

// holdings sums up what a start holds: the identities and computes it
// reaches and the scopes where it holds role assignment writes, which
// with those identities' grants make its radius. ok is false when it
// holds an identity whose grants the plan changes; "" when the start does
// not exist.
func (w *walker) holdings(key string) (sum string, ok bool) {
	g := w.g
	var start int32
	if ci, found := g.computeIdx[key]; found {
		start = g.computeNode(ci)
	} else if ii, found := g.identityIdx[key]; found {
		start = g.identityNode(ii)
	} else {
		return "", false
	}
	w.stamp++
	w.seen[start] = w.stamp
	w.queue = append(w.queue[:0], start)
	for head := 0; head < len(w.queue); head++ {
		n := w.queue[head]
		for e := g.offsets[n]; e < g.offsets[n+1]; e++ {
			if m := g.targets[e]; w.seen[m] != w.stamp {
				w.seen[m] = w.stamp
				w.queue = append(w.queue, m)
			}
		}
	}
	ok = true
	var parts []string
	for _, n := range w.queue {
		switch kind, i := g.kindOf(n); kind {
		case "compute":
			parts = append(parts, strings.ToLower(g.computes[i].ID))
		case "identity":
			key := strings.ToLower(g.ids[i].Key)
			ok = ok && !w.t.grants[key]
			parts = append(parts, key)
			for e := g.offsets[n]; e < g.offsets[n+1]; e++ {
				if tk, ti := g.kindOf(g.targets[e]); g.kinds[e] == edgeRole && tk == "capability" && capability(ti%int32(numCaps)) == capRoleAssign {
					parts = append(parts, "roleAssignmentWrite "+g.scopes[ti/int32(numCaps)])
				}
			}
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n"), ok
}

// affectedStarts lists the computes and identities (lower-case ids) that
// reach a touched node of this analysis, by one search of the reversed
// graph.
func (a *Analysis) affectedStarts(t touched) []string {
	g := a.g
	var seeds []int32
	for i, c := range g.computes {
		if t.computes[strings.ToLower(c.ID)] {
			seeds = append(seeds, g.computeNode(int32(i)))
		}
	}
	for i, id := range g.ids {
		if t.identities[strings.ToLower(id.Key)] {
			seeds = append(seeds, g.identityNode(int32(i)))
		}
	}
	if len(seeds) == 0 {
		return nil
	}
	// Reverse CSR.
	offsets := make([]int32, g.nodeCount+1)
	for _, to := range g.targets {
		offsets[to+1]++
	}
	for i := int32(1); i <= g.nodeCount; i++ {
		offsets[i] += offsets[i-1]
	}
	sources := make([]int32, len(g.targets))
	next := slices.Clone(offsets[:g.nodeCount])
	for n := int32(0); n < g.nodeCount; n++ {
		for e := g.offsets[n]; e < g.offsets[n+1]; e++ {
			to := g.targets[e]
			sources[next[to]] = n
			next[to]++
		}
	}
	seen := make([]bool, g.nodeCount)
	queue := make([]int32, 0, len(seeds))
	for _, s := range seeds {
		if !seen[s] {
			seen[s] = true
			queue = append(queue, s)
		}
	}
	for head := 0; head < len(queue); head++ {
		n := queue[head]
		for _, m := range sources[offsets[n]:offsets[n+1]] {
			if !seen[m] {
				seen[m] = true
				queue = append(queue, m)
			}
		}
	}
	var out []string
	for i, c := range g.computes {
		if seen[g.computeNode(int32(i))] {
			out = append(out, strings.ToLower(c.ID))
		}
	}
	for i, id := range g.ids {
		if seen[g.identityNode(int32(i))] {
			out = append(out, strings.ToLower(id.Key))
		}
	}
	return out
}

// diffRadius compares one start's radii; either may be nil (the start
// does not exist on that side).
func diffRadius(a, b *Analysis, before, after *Radius) RadiusDiff {
	var rd RadiusDiff
	switch {
	case before == nil && after == nil:
		return rd
	case before == nil:
		rd.Status, before = "created", &Radius{}
		rd.Start, rd.StartKind, rd.Environment, rd.Name = after.Start, after.StartKind, after.Environment, startName(b, after)
	case after == nil:
		rd.Status, after = "deleted", &Radius{}
		rd.Start, rd.StartKind, rd.Environment, rd.Name = before.Start, before.StartKind, before.Environment, startName(a, before)
	default:
		rd.Start, rd.StartKind, rd.Environment, rd.Name = after.Start, after.StartKind, after.Environment, startName(b, after)
	}
	rd.IdentitiesGained, rd.IdentitiesLost = diffHeld(before.Identities, after.Identities)
	// A created or deleted identity holds itself: that is its status.
	self := func(h Held) bool { return strings.EqualFold(h.ID, rd.Start) }
	rd.IdentitiesGained, rd.IdentitiesLost = slices.DeleteFunc(rd.IdentitiesGained, self), slices.DeleteFunc(rd.IdentitiesLost, self)
	rd.ComputesGained, rd.ComputesLost = diffHeld(before.Computes, after.Computes)
	was := map[string]*Reach{}
	for i := range before.Reach {
		was[strings.ToLower(before.Reach[i].Resource)] = &before.Reach[i]
	}
	is := map[string]bool{}
	for _, r := range after.Reach {
		k := strings.ToLower(r.Resource)
		is[k] = true
		old := was[k]
		if old == nil {
			rd.Gained = append(rd.Gained, ReachChange{Resource: r.Resource, Type: r.Type, Environment: r.Environment, Team: r.Team,
				ActionsAdded: r.Actions, DataActionsAdded: r.DataActions, Path: r.Path})
			continue
		}
		ch := ReachChange{Resource: r.Resource, Type: r.Type, Environment: r.Environment, Team: r.Team}
		ch.ActionsAdded, ch.ActionsRemoved = effectiveDiff(old.Actions, r.Actions)
		ch.DataActionsAdded, ch.DataActionsRemoved = effectiveDiff(old.DataActions, r.DataActions)
		if len(ch.ActionsAdded)+len(ch.ActionsRemoved)+len(ch.DataActionsAdded)+len(ch.DataActionsRemoved) > 0 {
			ch.Path = r.Path
			rd.Changed = append(rd.Changed, ch)
		}
	}
	for _, r := range before.Reach {
		if !is[strings.ToLower(r.Resource)] {
			rd.Lost = append(rd.Lost, ReachChange{Resource: r.Resource, Type: r.Type, Environment: r.Environment, Team: r.Team,
				ActionsRemoved: r.Actions, DataActionsRemoved: r.DataActions, Path: r.Path})
		}
	}
	rd.EnvironmentsGained, rd.EnvironmentsLost = setDiff(reachEnvs(before), reachEnvs(after))
	sortEnvs(rd.EnvironmentsGained)
	sortEnvs(rd.EnvironmentsLost)
	return rd
}

// startName is a start's display name.
func startName(an *Analysis, r *Radius) string {
	if c := an.E.Compute(r.Start); c != nil {
		return c.Name
	}
	if id := an.E.Identity(r.Start); id != nil {
		return id.Name
	}
	return r.Start
}

func reachEnvs(r *Radius) []string {
	s := newSet(false)
	for _, re := range r.Reach {
		s.add(re.Environment)
	}
	return s.list()
}

// diffHeld compares held identities or computes by id.
func diffHeld(before, after []Held) (gained, lost []Held) {
	has := func(l []Held, id string) bool {
		return slices.ContainsFunc(l, func(h Held) bool { return strings.EqualFold(h.ID, id) })
	}
	for _, h := range after {
		if !has(before, h.ID) {
			gained = append(gained, h)
		}
	}
	for _, h := range before {
		if !has(after, h.ID) {
			lost = append(lost, h)
		}
	}
	return gained, lost
}

// effectiveDiff is setDiff without the patterns the other side still
// covers: losing "Microsoft.Web/sites/*" beside a remaining "*" changes
// nothing.
func effectiveDiff(before, after []string) (added, removed []string) {
	added, removed = setDiff(before, after)
	covered := func(l []string, p string) bool {
		return slices.ContainsFunc(l, func(q string) bool { return authz.Match(q, p) })
	}
	added = slices.DeleteFunc(added, func(p string) bool { return covered(before, p) })
	removed = slices.DeleteFunc(removed, func(p string) bool { return covered(after, p) })
	return added, removed
}

// setDiff compares two pattern lists, case-insensitively: what is only in
// after (added) and only in before (removed).
func setDiff(before, after []string) (added, removed []string) {
	in := func(l []string, s string) bool {
		return slices.ContainsFunc(l, func(t string) bool { return strings.EqualFold(s, t) })
	}
	for _, s := range after {
		if !in(before, s) {
			added = append(added, s)
		}
	}
	for _, s := range before {
		if !in(after, s) {
			removed = append(removed, s)
		}
	}
	return added, removed
}
