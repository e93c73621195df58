package analyzer

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/authz"
)

// generate builds a synthetic estate: computes spread over groups and
// subscriptions, identities attached to several computes each, and role
// assignments at resource, group and subscription scope.
func generate(computes, identities, assignments int, seed uint64) *Estate {
	r := rand.New(rand.NewPCG(seed, 1))
	e := &Estate{}
	subs := max(1, computes/20000)
	groupsPerSub := max(1, computes/subs/50)
	rg := func(i int) string {
		return fmt.Sprintf("/subscriptions/%08d-0000-0000-0000-000000000000/resourceGroups/rg-%d", i%subs, i%(subs*groupsPerSub))
	}
	for i := 0; i < identities; i++ {
		id := fmt.Sprintf("%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-%d", rg(i), i)
		e.Identities = append(e.Identities, &Identity{Key: id, Name: fmt.Sprintf("id-%d", i), Kind: UserAssigned,
			PrincipalID: fmt.Sprintf("00000000-0000-0000-0001-%012d", i), Tags: map[string]string{}})
		e.Resources = append(e.Resources, &Resource{ID: id, Name: fmt.Sprintf("id-%d", i), Type: "Microsoft.ManagedIdentity/userAssignedIdentities"})
	}
	kinds := []ComputeKind{VM, VM, WebApp, FunctionApp}
	types := map[ComputeKind]string{VM: "Microsoft.Compute/virtualMachines", WebApp: "Microsoft.Web/sites", FunctionApp: "Microsoft.Web/sites"}
	for i := 0; i < computes; i++ {
		k := kinds[i%len(kinds)]
		id := fmt.Sprintf("%s/providers/%s/c-%d", rg(i), types[k], i)
		c := &Compute{ID: id, Name: fmt.Sprintf("c-%d", i), Kind: k, Tags: map[string]string{}}
		for j := 0; j < 1+r.IntN(2); j++ {
			c.Identities = append(c.Identities, e.Identities[r.IntN(identities)].Key)
		}
		e.Computes = append(e.Computes, c)
		e.Resources = append(e.Resources, &Resource{ID: id, Name: c.Name, Type: types[k]})
	}
	for i := 0; i < computes/5; i++ {
		id := fmt.Sprintf("%s/providers/Microsoft.KeyVault/vaults/kv-%d", rg(i), i)
		e.Resources = append(e.Resources, &Resource{ID: id, Name: fmt.Sprintf("kv-%d", i), Type: "Microsoft.KeyVault/vaults"})
	}
	roles := []string{"4633458b-17de-408a-b874-0445c86b69e6", "acdd72a7-3385-48ef-bd42-f606fba81ae7", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
		"9980e02c-c2be-4d73-94e8-173b1dc7cf3c", "de139f84-1756-47ae-9be6-808fbbe84772", "b24988ac-6180-42a0-ab88-20f7382dd24c"}
	for i := 0; i < assignments; i++ {
		p := e.Identities[r.IntN(identities)].PrincipalID
		var scope string
		switch x := r.IntN(1000); {
		case x < 2: // rare subscription-wide roles
			scope = fmt.Sprintf("/subscriptions/%08d-0000-0000-0000-000000000000", r.IntN(subs))
		case x < 200:
			scope = rg(r.IntN(computes))
		default:
			scope = e.Resources[r.IntN(len(e.Resources))].ID
		}
		role := roles[r.IntN(3)]
		if r.IntN(50) == 0 {
			role = roles[3+r.IntN(3)]
		}
		e.Assignments = append(e.Assignments, authz.Assignment{ID: fmt.Sprintf("/ra/%d", i), PrincipalID: p, RoleID: role, Scope: scope})
	}
	return e
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
