package analyzer

import (
	"fmt"
	"testing"
	"time"
)

// labelGenerated gives a generated estate's groups environments and teams,
// so that the label-driven rules have work to do.
func labelGenerated(e *Estate) {
	envs := []string{"dev", "test", "prod"}
	seen := map[string]bool{}
	for _, c := range e.Computes {
		rg := rgID(c.ID)
		if seen[rg] {
			continue
		}
		seen[rg] = true
		n := len(seen)
		e.Resources = append(e.Resources, &Resource{ID: rg, Name: lastOf(rg), Type: "Microsoft.Resources/resourceGroups",
			Tags: map[string]string{"env": envs[n%len(envs)], "team": fmt.Sprintf("team-%d", n%7)}})
	}
}

func lastOf(id string) string {
	for i := len(id) - 1; i >= 0; i-- {
		if id[i] == '/' {
			return id[i+1:]
		}
	}
	return id
}

// scaleComputes sizes TestFindingsScale: computes, half as many
// identities, ten times as many role assignments. (At 10_000 all rules
// take about 11 s of CPU on the 2-core machines: the generated estate is
// one giant component, every class escalates into every other.)
var scaleComputes = 2_000

// TestFindingsScale runs every rule on a generated estate, with labels
// (its speed is BenchmarkFindings's and reachbench's business).
func TestFindingsScale(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	e := generate(scaleComputes, scaleComputes/2, scaleComputes*10, 7)
	labelGenerated(e)
	if _, err := Assemble(e); err != nil {
		t.Fatal(err)
	}
	a := New(e)
	start := time.Now()
	fs := a.Findings(FindingsOptions{Usage: NewUsage(DefaultWindow, time.Now())})
	took := time.Since(start)
	counts := map[string]int{}
	for _, f := range fs {
		counts[f.Rule]++
	}
	t.Logf("%d findings in %v: %v", len(fs), took, counts)
	// Every identity is attached at random across labelled groups: the
	// label-driven and grant-driven rules must all fire.
	for _, rule := range []string{"cross-environment-identity", "cross-team-identity", "escalation-path", "privileged-role",
		"subscription-scope-assignment", "unused-permission", "mixed-permission-sets"} {
		if counts[rule] == 0 {
			t.Errorf("no %s finding on the generated estate: %v", rule, counts)
		}
	}
}

// BenchmarkFindings measures all rules on generated estates.
func BenchmarkFindings(b *testing.B) {
	for _, size := range []struct{ computes, identities, assignments int }{{1_000, 500, 10_000}, {10_000, 5_000, 100_000}} {
		b.Run(fmt.Sprintf("computes=%d", size.computes), func(b *testing.B) {
			e := generate(size.computes, size.identities, size.assignments, 7)
			labelGenerated(e)
			Assemble(e)
			a := New(e)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				a.Findings(FindingsOptions{Usage: NewUsage(DefaultWindow, time.Now())})
			}
		})
	}
}
