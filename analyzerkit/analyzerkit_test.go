package analyzerkit_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/mimic-emu/mimic/analyzerkit"
)

func Example() {
	e := analyzerkit.Generate(analyzerkit.Size{Computes: 100, Identities: 50, Assignments: 1000, Seed: 7})
	a, err := analyzerkit.Build(e)
	if err != nil {
		panic(err)
	}
	reached := a.Reachable(a.ComputeNode(0))
	fmt.Println(a.Nodes() > e.Computes()+e.Identities(), reached[0] == a.ComputeNode(0))
	// Output: true true
}

// TestReachableMatchesAdjacency checks Reachable against a plain
// breadth-first search over the exported adjacency.
func TestReachableMatchesAdjacency(t *testing.T) {
	e := analyzerkit.Generate(analyzerkit.Size{Computes: 500, Identities: 250, Assignments: 5000, Seed: 3})
	a, err := analyzerkit.Build(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := analyzerkit.Build(e); err == nil {
		t.Error("an estate built twice")
	}
	g := a.Adjacency()
	if g.Nodes() != a.Nodes() || len(g.Targets) != a.Edges() {
		t.Fatalf("adjacency %d nodes %d edges, analysis %d and %d", g.Nodes(), len(g.Targets), a.Nodes(), a.Edges())
	}
	starts := []int32{a.ComputeNode(0), a.ComputeNode(e.Computes() - 1), a.IdentityNode(0), a.IdentityNode(e.Identities() / 2)}
	for _, s := range starts {
		seen := make([]bool, g.Nodes())
		seen[s] = true
		queue := []int32{s}
		for head := 0; head < len(queue); head++ {
			for _, m := range g.Out(queue[head]) {
				if !seen[m] {
					seen[m] = true
					queue = append(queue, m)
				}
			}
		}
		got := a.Reachable(s)
		if len(got) == 0 || got[0] != s {
			t.Errorf("from %d: Reachable does not start with the start: %v", s, got[:min(len(got), 3)])
		}
		slices.Sort(got)
		slices.Sort(queue)
		if !slices.Equal(got, queue) {
			t.Errorf("from %d: Reachable %d nodes, search over the adjacency %d", s, len(got), len(queue))
		}
		if n := a.RadiusSearch(s); n != len(queue) {
			t.Errorf("from %d: RadiusSearch %d nodes, search over the adjacency %d", s, n, len(queue))
		}
	}
}

// TestReachableConcurrent: searches from several goroutines at once (they
// share pooled scratch space) give the answers of sequential ones.
func TestReachableConcurrent(t *testing.T) {
	e := analyzerkit.Generate(analyzerkit.Size{Computes: 300, Identities: 150, Assignments: 3000, Seed: 5})
	a, err := analyzerkit.Build(e)
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]int32, e.Computes())
	for i := range want {
		want[i] = a.Reachable(a.ComputeNode(i))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 3 * e.Computes() {
				i := (k*7 + w) % e.Computes()
				if got := a.Reachable(a.ComputeNode(i)); !slices.Equal(got, want[i]) {
					errs <- fmt.Sprintf("compute %d: %d nodes, sequentially %d", i, len(got), len(want[i]))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
