package reach

import (
	"testing"
	"time"

	"github.com/mimic-emu/mimic/analyzerkit"
)

// TestAgreement: on small generated estates, OPA's graph.reachable and
// mimic's search reach exactly the same nodes from every sampled start,
// narrow and wide. It takes a few seconds.
func TestAgreement(t *testing.T) {
	cfg := Config{
		Sizes: []analyzerkit.Size{
			{Computes: 1_000, Identities: 500, Assignments: 10_000, Seed: 7},
			{Computes: 2_000, Identities: 1_000, Assignments: 20_000, Seed: 11},
		},
		Starts: 4, Repeats: 1, OPA: true, LoadBox: time.Minute, QueryBox: time.Minute,
	}
	for _, r := range Run(cfg) {
		if r.OPALoadErr != nil || r.OPASkipped != "" || r.OPAUnfinished {
			t.Fatalf("%d computes: opa did not run through: %v %q", r.Size.Computes, r.OPALoadErr, r.OPASkipped)
		}
		if len(class(r.Starts, false)) != cfg.Starts || len(class(r.Starts, true)) != cfg.Starts {
			t.Errorf("%d computes: %d narrow and %d wide starts, want %d of each", r.Size.Computes, len(class(r.Starts, false)), len(class(r.Starts, true)), cfg.Starts)
		}
		if r.OPAAnswered != len(r.Starts) {
			t.Errorf("%d computes: opa answered %d of %d starts", r.Size.Computes, r.OPAAnswered, len(r.Starts))
		}
		for _, d := range r.Disagreements {
			t.Errorf("%d computes: %s", r.Size.Computes, d)
		}
		for _, s := range r.Starts {
			if s.Reached < 1 || s.Mimic <= 0 || s.OPA <= 0 {
				t.Errorf("%d computes: start %d: reached %d, mimic %v, opa %v", r.Size.Computes, s.Node, s.Reached, s.Mimic, s.OPA)
			}
		}
	}
}

// TestDiff: a difference in the reached sets is caught and described.
func TestDiff(t *testing.T) {
	if d := diff([]int32{1, 2, 3}, []int32{1, 2, 3}); d != "" {
		t.Errorf("equal sets: %s", d)
	}
	for _, c := range []struct{ mimic, opa []int32 }{
		{[]int32{1, 2, 3}, []int32{1, 3}},
		{[]int32{1, 3}, []int32{1, 2, 3}},
		{[]int32{1, 2}, []int32{1, 2, 4}},
		{nil, []int32{0}},
	} {
		if diff(c.mimic, c.opa) == "" {
			t.Errorf("%v and %v: no difference found", c.mimic, c.opa)
		}
	}
}
