package analyzer

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// generate is Generate with positional sizes, as the scale tests call it.
func generate(computes, identities, assignments int, seed uint64) *Estate {
	return Generate(GenerateSize{Computes: computes, Identities: identities, Assignments: assignments, Seed: seed})
}

func TestGeneratedEstateAnalyzes(t *testing.T) {
	e, err := Assemble(generate(2000, 1000, 20000, 7))
	if err != nil {
		t.Fatal(err)
	}
	a := New(e)
	r, err := a.BlastRadiusOf(e.Computes[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Identities) == 0 || len(r.Reach) == 0 {
		t.Fatalf("a generated compute reaches nothing: %d identities, %d resources", len(r.Identities), len(r.Reach))
	}
}

// BenchmarkBuild measures loading a generated estate into the analysis
// (engine index and reachability graph) at three sizes, with memory.
func BenchmarkBuild(b *testing.B) {
	for _, size := range []struct{ computes, identities, assignments int }{
		{1_000, 500, 10_000}, {10_000, 5_000, 100_000}, {100_000, 50_000, 1_000_000},
	} {
		b.Run(fmt.Sprintf("computes=%d/assignments=%d", size.computes, size.assignments), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e := generate(size.computes, size.identities, size.assignments, 7)
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				b.StartTimer()
				start := time.Now()
				if _, err := Assemble(e); err != nil {
					b.Fatal(err)
				}
				a := New(e)
				b.ReportMetric(time.Since(start).Seconds(), "s/build")
				b.StopTimer()
				runtime.GC()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB")
				b.ReportMetric(float64(a.g.nodeCount), "nodes")
				b.ReportMetric(float64(len(a.g.targets)), "edges")
				b.StartTimer()
			}
		})
	}
}

// BenchmarkReachability measures one breadth-first search from a compute on
// the largest graph: the reachability core alone.
func BenchmarkReachability(b *testing.B) {
	e, _ := Assemble(generate(100_000, 50_000, 1_000_000, 7))
	a := New(e)
	starts := []int32{a.g.computeNode(0), a.g.computeNode(int32(len(a.g.computes) / 2)), a.g.computeNode(int32(len(a.g.computes) - 1))}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		parent, _ := a.g.bfs(starts[i%len(starts) : i%len(starts)+1])
		_ = parent
	}
}

// BenchmarkReachable measures Reachable, the search without paths, from a
// start that reaches a handful of nodes and from one that reaches into the
// large component, at 10k computes.
func BenchmarkReachable(b *testing.B) {
	e, _ := Assemble(generate(10_000, 5_000, 100_000, 7))
	a := New(e)
	var narrow, wide int32 = -1, -1
	for i := 0; i < len(a.g.computes) && (narrow < 0 || wide < 0); i++ {
		if n := len(a.Reachable(a.ComputeNode(i))); n*100 >= int(a.g.nodeCount) {
			wide = max(wide, a.ComputeNode(i))
		} else {
			narrow = max(narrow, a.ComputeNode(i))
		}
	}
	for _, s := range []struct {
		name  string
		start int32
	}{{"narrow", narrow}, {"wide", wide}} {
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				a.Reachable(s.start)
			}
		})
	}
}
