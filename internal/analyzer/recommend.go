package analyzer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/resourceid"
)

// Recommendations: least privilege from the access log. For each role
// assignment of an identity, what it exercised in the window, and where;
// from that, the removal of assignments never used, a narrower scope (the
// smallest scope holding every use), a smaller built-in role, or a custom
// role with exactly the actions used. Identities held by computes of more
// than one environment get the environment split of the
// cross-environment-identity finding, re-granting each environment only
// what its computes used. Each recommendation carries its evidence, its
// commands, a plan (Plan) that `mimic blast-radius diff` reads, and the
// blast radius change that plan makes.

// Recommendation kinds.
const (
	RecRemoveUnused = "remove-unused-assignment"
	RecNarrowScope  = "narrow-scope"
	RecSmallerRole  = "smaller-role"
	RecCustomRole   = "custom-role"
	RecEnvSplit     = "environment-split"
)

// customRoleFactor: a custom role is proposed when the assignment's role
// is at least this many times broader (by pattern breadth) than the
// actions used; a built-in role within it of the actions used is preferred
// to a custom one.
const customRoleFactor = 5

// Recommendation is one proposed change with its evidence.
type Recommendation struct {
	// ID is stable from one run to the next for the same proposal.
	ID       string       `json:"id"`
	Kind     string       `json:"kind"`
	Identity *IdentityRef `json:"identity"`
	Title    string       `json:"title"`
	Summary  string       `json:"summary"`
	// Group is the role assignment (or, for a split, the identity) the
	// recommendation is about: recommendations of one group are
	// alternatives, and Preferred marks the one the combined plan takes.
	Group     string `json:"group"`
	Preferred bool   `json:"preferred"`
	// Confidence is "full" when the whole window was observed, "partial"
	// when the assignment or the estate is younger than the window, and
	// "none" when the access log is empty.
	Confidence     string                 `json:"confidence"`
	Evidence       RecommendationEvidence `json:"evidence"`
	RoleDefinition *RoleDefinition        `json:"roleDefinition,omitempty"`
	// Commands are az commands to run in order.
	Commands []string `json:"commands"`
	// Plan is the same change as a plan for `mimic blast-radius diff`.
	Plan []Change `json:"plan"`
	// BlastRadius is how the plan changes the blast radii of the identity
	// and its computes.
	BlastRadius *Diff `json:"blastRadiusChange,omitempty"`
}

// RecommendationEvidence is what a recommendation rests on.
type RecommendationEvidence struct {
	Computes    []ComputeRef    `json:"computes,omitempty"`
	Assignment  *AssignmentRef  `json:"assignment,omitempty"`
	Assignments []AssignmentRef `json:"assignments,omitempty"`
	Window      string          `json:"window,omitempty"`
	// ObservedSince is when observation began: the window's start, or
	// the assignment's creation or the estate's start when later.
	ObservedSince time.Time `json:"observedSince,omitzero"`
	FullWindow    bool      `json:"fullWindow"`
	// Requests counts the identity's allowed requests in the window;
	// Granted those the assignment granted.
	Requests  int        `json:"requests"`
	Granted   int        `json:"granted"`
	FirstSeen *time.Time `json:"firstSeen,omitempty"`
	LastSeen  *time.Time `json:"lastSeen,omitempty"`
	Uses      []Use      `json:"uses,omitempty"`
	Notes     []string   `json:"notes,omitempty"`
}

// RecommendReport is the answer of the recommend API and of `mimic
// recommend -o json`.
type RecommendReport struct {
	GeneratedAt time.Time     `json:"generatedAt"`
	Window      string        `json:"window"`
	AccessLog   *UsageSummary `json:"accessLog,omitempty"`
	// Identity is the identity asked about, if one was.
	Identity        string           `json:"identity,omitempty"`
	Summary         map[string]int   `json:"summary"`
	Recommendations []Recommendation `json:"recommendations"`
	// Plan combines the preferred recommendations' plans, in order.
	Plan  Plan     `json:"plan"`
	Notes []string `json:"notes,omitempty"`
}

// RecommendOptions tunes Recommend.
type RecommendOptions struct {
	// Usage is the access log over the window. Without it, only
	// environment splits are proposed.
	Usage *Usage
	// Identity restricts the recommendations to one identity (resource
	// id or principal id).
	Identity string
}

// Recommend proposes least-privilege changes for one identity or all.
func (a *Analysis) Recommend(opts RecommendOptions) (*RecommendReport, error) {
	f := newFindingCtx(a, FindingsOptions{Usage: opts.Usage})
	rep := &RecommendReport{Summary: map[string]int{}, Recommendations: []Recommendation{}, Plan: Plan{Changes: []Change{}}}
	if u := opts.Usage; u != nil {
		rep.GeneratedAt, rep.Window, rep.AccessLog = u.Now, FormatWindow(u.Window), u.Summary()
		if u.Entries == 0 {
			rep.Notes = append(rep.Notes, "the access log holds no allowed request in the window: every assignment looks unused. Run the workloads under mimic (mimic run --as COMPUTE) to record what they use, then ask again.")
		}
	} else {
		rep.Notes = append(rep.Notes, "no access log: only environment splits are proposed")
	}
	var which []int32
	if opts.Identity != "" {
		id := a.E.Identity(opts.Identity)
		if id == nil {
			return nil, fmt.Errorf("no identity %q", opts.Identity)
		}
		rep.Identity = id.Key
		which = []int32{f.g.identityIdx[strings.ToLower(id.Key)]}
	} else {
		for i := range f.g.ids {
			which = append(which, int32(i))
		}
		sort.SliceStable(which, func(i, j int) bool {
			return strings.ToLower(f.g.ids[which[i]].Name) < strings.ToLower(f.g.ids[which[j]].Name)
		})
	}
	for _, ii := range which {
		rep.Recommendations = append(rep.Recommendations, f.recommendFor(ii)...)
	}
	seen := map[string]bool{}
	for i := range rep.Recommendations {
		r := &rep.Recommendations[i]
		r.ID = r.Kind + "/" + shortHash(r.Kind, strings.ToLower(r.Group), strings.ToLower(r.Identity.ID), r.Title)
		rep.Summary[r.Kind]++
		if !r.Preferred {
			continue
		}
		for _, ch := range r.Plan {
			b, _ := json.Marshal(ch)
			if !seen[string(b)] {
				seen[string(b)] = true
				rep.Plan.Changes = append(rep.Plan.Changes, ch)
			}
		}
	}
	if len(rep.Plan.Changes) > 0 {
		if _, err := ApplyPlan(a.E, rep.Plan); err != nil {
			rep.Notes = append(rep.Notes, "the combined plan does not apply as a whole: "+err.Error()+"; apply the recommendations one by one")
		}
	}
	return rep, nil
}

func shortHash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])[:16]
}

// recommendFor proposes the changes of one identity.
func (f *findingCtx) recommendFor(ii int32) []Recommendation {
	id := f.g.ids[ii]
	var out []Recommendation
	if f.usage != nil {
		for _, as := range f.assignmentsOf(id) {
			ops := f.exercised(as)
			if len(ops) == 0 {
				out = append(out, f.unusedRec(ii, as))
			} else {
				out = append(out, f.rightSize(ii, as, ops)...)
			}
		}
	}
	if split := f.splitRec(ii); split != nil {
		// The split retires the identity: changing its assignments first
		// would only be undone; removing unused ones still holds.
		for i := range out {
			if out[i].Kind != RecRemoveUnused {
				out[i].Preferred = false
				out[i].Evidence.Notes = append(out[i].Evidence.Notes, "superseded by the environment split of "+id.Name+": apply it to the per-environment identities instead")
			}
		}
		out = append(out, *split)
	}
	starts := []string{id.Key}
	for _, ci := range f.holders[ii] {
		starts = append(starts, f.g.computes[ci].ID)
	}
	for i := range out {
		r := &out[i]
		rs := starts
		for _, ch := range r.Plan {
			if ch.Op == OpCreateIdentity {
				rs = append(rs, ch.Identity)
			}
		}
		d, err := f.a.Diff(Plan{Changes: r.Plan}, DiffOptions{Starts: rs})
		if err != nil {
			r.Evidence.Notes = append(r.Evidence.Notes, "its plan does not apply: "+err.Error())
			continue
		}
		// The plan is beside it; paths are `mimic blast-radius diff`'s.
		d.Changes = nil
		for j := range d.Radii {
			for _, l := range [][]ReachChange{d.Radii[j].Gained, d.Radii[j].Lost, d.Radii[j].Changed} {
				for k := range l {
					l[k].Path = nil
				}
			}
		}
		r.BlastRadius = d
	}
	return out
}

// baseRec starts a recommendation about one assignment, with the usage
// evidence every kind shares.
func (f *findingCtx) baseRec(ii int32, as *authz.Assignment, kind string, ops []op) Recommendation {
	id := f.g.ids[ii]
	ref := f.assignmentRef(as)
	r := Recommendation{Kind: kind, Identity: f.identityRef(id), Group: as.ID, Preferred: true, Confidence: "full",
		Evidence: RecommendationEvidence{Computes: f.holdersRefs(ii), Assignment: &ref, Window: FormatWindow(f.usage.Window)}}
	ev := &r.Evidence
	ev.ObservedSince, ev.FullWindow = f.usage.observedSince(as.ID)
	if pu := f.usage.principal(id.PrincipalID); pu != nil {
		ev.Requests = pu.requests
	}
	ev.Uses = f.uses(id.PrincipalID, ops)
	for _, u := range ev.Uses {
		ev.Granted += u.Count
		if ev.FirstSeen == nil || u.FirstSeen.Before(*ev.FirstSeen) {
			t := u.FirstSeen
			ev.FirstSeen = &t
		}
		if ev.LastSeen == nil || u.LastSeen.After(*ev.LastSeen) {
			t := u.LastSeen
			ev.LastSeen = &t
		}
	}
	if !ev.FullWindow {
		r.Confidence = "partial"
		ev.Notes = append(ev.Notes, fmt.Sprintf("observed since %s only: the assignment or the estate is younger than the %s window",
			ev.ObservedSince.UTC().Format("2006-01-02 15:04 MST"), ev.Window))
	}
	return r
}

// unusedRec proposes deleting an assignment nothing used in the window.
func (f *findingCtx) unusedRec(ii int32, as *authz.Assignment) Recommendation {
	id, ri := f.g.ids[ii], f.role(as.RoleID)
	r := f.baseRec(ii, as, RecRemoveUnused, nil)
	r.Title = fmt.Sprintf("Delete %s's %s at %s: unused in %s", id.Name, ri.name, f.describeScope(as.Scope), r.Evidence.Window)
	r.Summary = fmt.Sprintf("The access log shows no request by %s that %s at %s granted since %s (%d request(s) of its own in the window).",
		id.Name, ri.name, f.describeScope(as.Scope), r.Evidence.ObservedSince.UTC().Format("2006-01-02"), r.Evidence.Requests)
	r.Commands = []string{cmdDeleteAssignment(as.ID)}
	r.Plan = []Change{{Op: OpRemoveAssignment, Assignment: as.ID}}
	if f.usage.Entries == 0 {
		// An empty log says nothing was observed, not that nothing is used.
		r.Confidence, r.Preferred = "none", false
		r.Evidence.Notes = append(r.Evidence.Notes, "the access log is empty: not in the combined plan")
	}
	return r
}

// usedAction is one distinct action or data action used.
type usedAction struct {
	action string // display casing
	data   bool
}

// rightSize proposes, for a used assignment, a narrower scope, a smaller
// built-in role and a custom role with exactly the actions used, when
// they grant less; one of them is preferred.
func (f *findingCtx) rightSize(ii int32, as *authz.Assignment, ops []op) []Recommendation {
	id, ri := f.g.ids[ii], f.role(as.RoleID)
	if ri.role == nil {
		return nil
	}
	var scopes []string
	var used []usedAction
	seen := map[op]bool{}
	pu := f.usage.principal(id.PrincipalID)
	for _, o := range ops {
		scopes = append(scopes, f.grantScope(o.scope))
		k := op{action: o.action, data: o.data}
		if seen[k] {
			continue
		}
		seen[k] = true
		name := o.action
		if st := pu.stats[o]; st != nil {
			name = st.action
		}
		used = append(used, usedAction{name, o.data})
	}
	sort.Slice(used, func(i, j int) bool {
		if used[i].data != used[j].data {
			return !used[i].data
		}
		return used[i].action < used[j].action
	})
	target := f.displayID(commonScope(scopes))
	narrower := !strings.EqualFold(scopeKey(target), scopeKey(as.Scope)) && resourceid.KeyContains(scopeKey(as.Scope), scopeKey(target))
	if !narrower {
		target = as.Scope
	}
	usedN := len(used)
	roleB := roleBreadth(ri.role)
	var out []Recommendation
	where := f.describeScope(target)
	if narrower {
		r := f.baseRec(ii, as, RecNarrowScope, ops)
		r.Title = fmt.Sprintf("Narrow %s's %s from %s to %s", id.Name, ri.name, f.describeScope(as.Scope), where)
		r.Summary = fmt.Sprintf("Every use of %s by %s in the window was at or under %s: grant it there, then delete the %s assignment.",
			ri.name, id.Name, where, f.describeScope(as.Scope))
		f.replace(&r, id, as, ri.name, target)
		out = append(out, r)
	}
	best := f.smallestRole(ops)
	bestB := 0
	if best != nil && !strings.EqualFold(best.ID, ri.role.ID) {
		if bestB = roleBreadth(best); bestB < roleB {
			r := f.baseRec(ii, as, RecSmallerRole, ops)
			r.Title = fmt.Sprintf("Replace %s's %s at %s with %s at %s", id.Name, ri.name, f.describeScope(as.Scope), best.Name, where)
			r.Summary = fmt.Sprintf("%s grants every action %s used under %s (%s); %s grants much less.", best.Name, id.Name, ri.name, usedList(used), best.Name)
			f.replace(&r, id, as, best.Name, target)
			out = append(out, r)
		} else {
			best = nil
		}
	} else {
		best = nil
	}
	if roleB >= customRoleFactor*usedN {
		r := f.baseRec(ii, as, RecCustomRole, ops)
		def := &RoleDefinition{Name: fmt.Sprintf("%s: %s used on %s", id.Name, ri.name, resourceName(target)), IsCustom: true,
			Description: fmt.Sprintf("Exactly what %s used under %s in the %s before %s (mimic recommend).", id.Name, ri.name, r.Evidence.Window,
				f.usage.Now.UTC().Format("2006-01-02")),
			Actions: []string{}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}, AssignableScopes: []string{target}}
		for _, u := range used {
			if u.data {
				def.DataActions = append(def.DataActions, u.action)
			} else {
				def.Actions = append(def.Actions, u.action)
			}
		}
		r.RoleDefinition = def
		r.Title = fmt.Sprintf("Replace %s's %s at %s with a custom role of the %d action(s) it used, at %s", id.Name, ri.name, f.describeScope(as.Scope), usedN, where)
		r.Summary = fmt.Sprintf("%s grants far more than %s used in the window (%s): a custom role with exactly those, assignable at %s only.", ri.name, id.Name, usedList(used), where)
		b, _ := json.Marshal(def)
		r.Commands = []string{"az role definition create --role-definition " + shq(string(b))}
		r.Plan = []Change{{Op: OpCreateRole, RoleDefinition: def}}
		f.replace(&r, id, as, def.Name, target)
		out = append(out, r)
	}
	// Prefer a built-in role close to what was used, else the custom
	// role, else any smaller built-in role, else the narrower scope.
	pick := map[string]int{}
	for i, r := range out {
		pick[r.Kind] = i
	}
	preferred := len(out) - 1
	for _, kind := range []string{RecNarrowScope, RecSmallerRole, RecCustomRole} {
		if i, ok := pick[kind]; ok {
			preferred = i
		}
	}
	if i, ok := pick[RecSmallerRole]; ok && bestB <= customRoleFactor*usedN {
		preferred = i
	}
	for i := range out {
		out[i].Preferred = i == preferred
	}
	return out
}

// replace appends to a recommendation the grant of role at scope to the
// identity and the deletion of the old assignment.
func (f *findingCtx) replace(r *Recommendation, id *Identity, as *authz.Assignment, role, scope string) {
	r.Commands = append(r.Commands, cmdCreateAssignment(id.PrincipalID, role, scope), cmdDeleteAssignment(as.ID))
	r.Plan = append(r.Plan, Change{Op: OpAddAssignment, Identity: id.Key, Role: role, Scope: scope},
		Change{Op: OpRemoveAssignment, Assignment: as.ID})
}

func usedList(used []usedAction) string {
	names := make([]string, len(used))
	for i, u := range used {
		names[i] = u.action
	}
	if len(names) > 4 {
		names = append(names[:4], fmt.Sprintf("and %d more", len(used)-4))
	}
	return strings.Join(names, ", ")
}

// roleBreadth weighs a role by its unconditional action and data action
// patterns (patternBreadth).
func roleBreadth(r *authz.Role) int {
	n := 0
	for _, p := range r.Permissions {
		if p.Condition != "" {
			continue
		}
		for _, l := range [][]string{p.Actions, p.DataActions} {
			for _, s := range l {
				n += patternBreadth(s)
			}
		}
	}
	return n
}

// commonScope is the smallest scope holding every key.
func commonScope(keys []string) string {
	if len(keys) == 0 {
		return "/"
	}
	lca := keys[0]
	for _, k := range keys[1:] {
		for !resourceid.KeyContains(lca, k) {
			p, err := resourceid.Parse(lca)
			if err != nil || p.IsRoot() {
				return "/"
			}
			lca = p.Parent().Key()
		}
	}
	return lca
}

func resourceName(id string) string {
	if p, err := resourceid.Parse(id); err == nil && p.Name() != "" {
		return p.Name()
	}
	return id
}

// splitRec proposes the environment split of an identity held by computes
// of more than one environment: the cross-environment-identity fix, each
// environment re-granted only what its computes used when the access log
// says so.
func (f *findingCtx) splitRec(ii int32) *Recommendation {
	id := f.g.ids[ii]
	byEnv, unlabeled := f.holdersByEnv(ii)
	if len(byEnv) < 2 {
		return nil
	}
	groups := f.envSplitGroups(id, byEnv)
	r := &Recommendation{Kind: RecEnvSplit, Identity: f.identityRef(id), Group: id.Key, Preferred: true, Confidence: "full",
		Evidence: RecommendationEvidence{Computes: f.holdersRefs(ii), Assignments: f.assignmentsRefs(ii)}}
	ev := &r.Evidence
	know := f.usage != nil && f.usage.Entries > 0
	if know {
		ev.Window = FormatWindow(f.usage.Window)
		ev.ObservedSince, ev.FullWindow = f.usage.observedSince("")
		if !ev.FullWindow {
			r.Confidence = "partial"
		}
		if pu := f.usage.principal(id.PrincipalID); pu != nil {
			ev.Requests = pu.requests
		}
		var ops []op
		for _, as := range f.assignmentsOf(id) {
			ops = append(ops, f.exercised(as)...)
		}
		ev.Uses = f.uses(id.PrincipalID, ops)
	} else {
		r.Confidence = "partial"
		ev.Notes = append(ev.Notes, "without access log entries, each environment is re-granted every role at a scope of its environment or of none")
	}
	for gi := range groups {
		g := &groups[gi]
		kept := g.assignments[:0:0]
		for _, as := range g.assignments {
			ops := f.exercised(as)
			used, attributed := f.usedFrom(id.PrincipalID, ops, g.computes)
			if !know || used || !attributed && len(ops) > 0 {
				kept = append(kept, as)
			} else {
				ev.Notes = append(ev.Notes, fmt.Sprintf("%s: %s at %s is not re-granted: its computes did not use it in the window", g.suffix, f.role(as.RoleID).name, f.describeScope(as.Scope)))
			}
		}
		g.assignments = kept
		// Uses across environments: what the split cuts off.
		if !know {
			continue
		}
		for _, as := range f.assignmentsOf(id) {
			env := f.labelsOf(as.Scope).Env.Value
			if env == "" || env == g.suffix {
				continue
			}
			if used, _ := f.usedFrom(id.PrincipalID, f.exercised(as), g.computes); used {
				ev.Notes = append(ev.Notes, fmt.Sprintf("%s computes used %s at %s (%s): after the split they cannot; give %s resources of its own",
					g.suffix, f.role(as.RoleID).name, f.describeScope(as.Scope), env, g.suffix))
			}
		}
	}
	retire := unlabeled == 0
	r.Title = fmt.Sprintf("Split %s into %s", id.Name, strings.Join(groupNames(id, groups), ", "))
	r.Summary = envSplitSummary(id, groups, unlabeled)
	r.Commands = f.splitPlan(id, groups, retire)
	r.Plan = f.splitChanges(id, groups, retire)
	return r
}

// splitChanges is splitPlan as a plan.
func (f *findingCtx) splitChanges(old *Identity, groups []splitGroup, retire bool) []Change {
	var out []Change
	for _, g := range groups {
		n := f.splitIdentity(g, old)
		out = append(out, Change{Op: OpCreateIdentity, Identity: n.id()})
		for _, as := range g.assignments {
			out = append(out, Change{Op: OpAddAssignment, Identity: n.id(), Role: f.role(as.RoleID).name, Scope: as.Scope})
		}
		for _, c := range g.computes {
			out = append(out, Change{Op: OpAttachIdentity, Identity: n.id(), Compute: c.ID})
			// As cmdDetach: a cluster's kubelet identity is replaced, and a
			// service account lets go of the federated credentials it uses.
			if c.Kind != Cluster && (c.Kind != ServiceAccount || len(f.cmdDetach(c, old)) > 0) {
				out = append(out, Change{Op: OpDetachIdentity, Identity: old.Key, Compute: c.ID})
			}
		}
	}
	if retire {
		for _, as := range f.assignmentsOf(old) {
			out = append(out, Change{Op: OpRemoveAssignment, Assignment: as.ID})
		}
		if old.Kind == UserAssigned {
			out = append(out, Change{Op: OpDeleteIdentity, Identity: old.Key})
		}
	}
	return out
}
