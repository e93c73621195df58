package analyzer

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"runtime"
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

// largeFindings adds the 100k-compute estates to BenchmarkFindings
// (about a minute each to generate, index and analyze).
var largeFindings = flag.Bool("findings.large", false, "BenchmarkFindings: also the 100k-compute estates")

// BenchmarkFindings measures all rules on generated estates of two
// designs: "shared", every attachment and assignment drawn from the whole
// estate (every identity spans environments and teams: the worst case),
// and "local", 98 % of them within the identity's own resource group.
// It reports the findings and the heap they and the analysis hold.
func BenchmarkFindings(b *testing.B) {
	sizes := []int{1_000, 10_000}
	if *largeFindings {
		sizes = append(sizes, 100_000)
	}
	for _, n := range sizes {
		for _, design := range []struct {
			name  string
			local float64
		}{{"shared", 0}, {"local", 0.98}} {
			b.Run(fmt.Sprintf("computes=%d/%s", n, design.name), func(b *testing.B) {
				e := Generate(GenerateSize{Computes: n, Identities: n / 2, Assignments: n * 10, Seed: 7, Local: design.local})
				labelGenerated(e)
				if _, err := Assemble(e); err != nil {
					b.Fatal(err)
				}
				a := New(e)
				b.ResetTimer()
				var fs []Finding
				for b.Loop() {
					fs = a.Findings(FindingsOptions{Usage: NewUsage(DefaultWindow, time.Now())})
				}
				b.StopTimer()
				var ms runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(len(fs)), "findings")
				b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MiB")
			})
		}
	}
}

// TestShardedFindingsMatchOneShard runs the rules in one shard and in
// three over the same estates (local and shared designs) and wants the
// same findings, byte for byte.
func TestShardedFindingsMatchOneShard(t *testing.T) {
	defer func(from, most int) { shardFrom, maxShards = from, most }(shardFrom, maxShards)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, local := range []float64{0, 0.9} {
		e := Generate(GenerateSize{Computes: 400, Identities: 200, Assignments: 4000, Seed: 3, Local: local})
		labelGenerated(e)
		if _, err := Assemble(e); err != nil {
			t.Fatal(err)
		}
		a := New(e)
		run := func(from, most int) []byte {
			shardFrom, maxShards = from, most
			fs := a.Findings(FindingsOptions{Usage: NewUsage(DefaultWindow, now)})
			b, err := json.Marshal(fs)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		one, three := run(1<<30, 1), run(0, 3)
		if !bytes.Equal(one, three) {
			t.Errorf("local %.1f: three shards found %d bytes of findings, one shard %d", local, len(three), len(one))
		}
		if len(one) < 1000 {
			t.Errorf("local %.1f: only %d bytes of findings: the estate exercises nothing", local, len(one))
		}
	}
}
