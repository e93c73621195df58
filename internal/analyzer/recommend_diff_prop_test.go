package analyzer_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	. "github.com/mimic-emu/mimic/internal/analyzer"
)

// randomPlan proposes a few changes to a generated estate: attachments,
// detachments, grants, revocations, a new identity and a deletion.
func randomPlan(r *rand.Rand, e *Estate) Plan {
	id := func() string { return e.Identities[r.IntN(len(e.Identities))].Key }
	var p Plan
	for range 1 + r.IntN(4) {
		c := e.Computes[r.IntN(len(e.Computes))]
		switch r.IntN(6) {
		case 0:
			p.Changes = append(p.Changes, Change{Op: OpAttachIdentity, Identity: id(), Compute: c.ID})
		case 1:
			if len(c.Identities) > 0 {
				p.Changes = append(p.Changes, Change{Op: OpDetachIdentity, Identity: c.Identities[0], Compute: c.ID})
			}
		case 2:
			role := []string{"Key Vault Secrets User", "Virtual Machine Contributor", "Contributor", "Website Contributor"}[r.IntN(4)]
			res := e.Resources[r.IntN(len(e.Resources))].ID
			p.Changes = append(p.Changes, Change{Op: OpAddAssignment, Identity: id(), Role: role, Scope: res})
		case 3:
			a := e.Assignments[r.IntN(len(e.Assignments))]
			if !slices.ContainsFunc(p.Changes, func(ch Change) bool { return ch.Assignment == a.ID }) {
				p.Changes = append(p.Changes, Change{Op: OpRemoveAssignment, Assignment: a.ID})
			}
		case 4:
			nid := fmt.Sprintf("%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/new-%d", groupOf(c.ID), len(p.Changes))
			p.Changes = append(p.Changes,
				Change{Op: OpCreateIdentity, Identity: nid},
				Change{Op: OpAddAssignment, Identity: nid, Role: "Contributor", Scope: groupOf(c.ID)},
				Change{Op: OpAttachIdentity, Identity: nid, Compute: c.ID})
			return p // later changes could delete it again
		case 5:
			p.Changes = append(p.Changes, Change{Op: OpDeleteIdentity, Identity: id()})
			return p
		}
	}
	return p
}

func groupOf(id string) string {
	parts := strings.SplitN(id, "/providers/", 2)
	return parts[0]
}

// reachSets sums up a radius: each resource with its sorted actions and
// data actions, and the identities and computes it holds.
func reachSets(r *Radius) (reach map[string]string, held []string) {
	reach = map[string]string{}
	if r == nil {
		return reach, nil
	}
	for _, re := range r.Reach {
		a, d := slices.Clone(re.Actions), slices.Clone(re.DataActions)
		sort.Strings(a)
		sort.Strings(d)
		reach[strings.ToLower(re.Resource)] = strings.ToLower(strings.Join(a, ",") + "|" + strings.Join(d, ","))
	}
	for _, h := range r.Identities {
		held = append(held, "i:"+strings.ToLower(h.ID))
	}
	for _, h := range r.Computes {
		held = append(held, "c:"+strings.ToLower(h.ID))
	}
	sort.Strings(held)
	return reach, held
}

// Diff computes only the radii a plan can change, and shares one diff
// among starts that hold the same; on generated estates and random plans
// it must agree with computing every start's radius before and after.
func TestDiffMatchesEveryRadiusOnRandomEstates(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		e, err := Assemble(Generate(GenerateSize{Computes: 60, Identities: 25, Assignments: 400, Seed: seed}))
		if err != nil {
			t.Fatal(err)
		}
		a := New(e)
		r := rand.New(rand.NewPCG(seed, 99))
		for round := range 4 {
			p := randomPlan(r, e)
			d, err := a.Diff(p, DiffOptions{})
			if err != nil {
				t.Fatalf("seed %d round %d: %v\nplan %+v", seed, round, err, p)
			}
			after, err := ApplyPlan(e, p)
			if err != nil {
				t.Fatal(err)
			}
			b := New(after)
			got := map[string]RadiusDiff{}
			for _, rd := range d.Radii {
				got[strings.ToLower(rd.Start)] = rd
			}
			starts := map[string]bool{}
			for _, est := range []*Estate{e, after} {
				for _, c := range est.Computes {
					starts[strings.ToLower(c.ID)] = true
				}
				for _, id := range est.Identities {
					starts[strings.ToLower(id.Key)] = true
				}
			}
			for k := range starts {
				rb, _ := a.BlastRadiusOf(k)
				ra, _ := b.BlastRadiusOf(k)
				mb, hb := reachSets(rb)
				ma, ha := reachSets(ra)
				var gained, lost, changed []string
				for res, acts := range ma {
					if old, ok := mb[res]; !ok {
						gained = append(gained, res)
					} else if old != acts {
						changed = append(changed, res)
					}
				}
				for res := range mb {
					if _, ok := ma[res]; !ok {
						lost = append(lost, res)
					}
				}
				sort.Strings(gained)
				sort.Strings(lost)
				rd, reported := got[k]
				must := len(gained)+len(lost) > 0 || !slices.Equal(hb, ha) || (rb == nil) != (ra == nil)
				if must && !reported {
					t.Fatalf("seed %d round %d: %s changes (gained %v, lost %v, held %v -> %v) but the diff leaves it out\nplan %+v",
						seed, round, k, gained, lost, hb, ha, p)
				}
				if !reported {
					continue
				}
				if !must && len(changed) == 0 {
					t.Fatalf("seed %d round %d: the diff reports %s, whose radius does not change: %+v", seed, round, k, rd)
				}
				if g := names(rd.Gained); !slices.Equal(g, gained) {
					t.Fatalf("seed %d round %d: %s gains %v, the diff says %v (sameAs %q)", seed, round, k, gained, g, rd.SameAs)
				}
				if l := names(rd.Lost); !slices.Equal(l, lost) {
					t.Fatalf("seed %d round %d: %s loses %v, the diff says %v (sameAs %q)", seed, round, k, lost, l, rd.SameAs)
				}
			}
		}
	}
}

func names(l []ReachChange) []string {
	var out []string
	for _, c := range l {
		out = append(out, strings.ToLower(c.Resource))
	}
	sort.Strings(out)
	return out
}
