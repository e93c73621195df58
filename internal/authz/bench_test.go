package authz

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/roles"
)

// The synthetic data set follows the peers' RBAC benchmark (research/peers.md
// §3): 50 subscriptions × 20 groups × 20 resources, assignments spread 1 % at
// the root, 9 % on subscriptions, 25 % on groups and 65 % on resources, one
// principal per 10 assignments, and 10k queries, half aimed at an existing
// assignment's subtree and half random, with display-cased scopes. Roles are
// the 433 built-in ones plus 40 custom wildcard roles; half the assignments
// use one of the common roles below.

type benchSet struct {
	roles       []Role
	assignments []Assignment
	queries     []Request
}

var benchActions = []struct {
	action string
	data   bool
}{
	{"Microsoft.KeyVault/vaults/secrets/getSecret/action", true},
	{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", true},
	{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", true},
	{"Microsoft.Compute/virtualMachines/read", false},
	{"Microsoft.Compute/virtualMachines/write", false},
	{"Microsoft.Storage/storageAccounts/listKeys/action", false},
	{"Microsoft.Authorization/roleAssignments/write", false},
	{"Microsoft.Web/sites/write", false},
}

var commonRoles = []string{
	roles.Owner, roles.Contributor, roles.Reader, roles.KeyVaultSecretsUser, roles.StorageBlobDataReader,
	roles.StorageBlobDataContributor, roles.VirtualMachineContributor, roles.WebsiteContributor, roles.ManagedIdentityOperator,
}

var benchSets sync.Map // int -> *benchSet

func guid(rng *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff)
}

func makeBenchSet(n int) *benchSet {
	if v, ok := benchSets.Load(n); ok {
		return v.(*benchSet)
	}
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	s := &benchSet{roles: BuiltinRoles()}
	for i := range 40 {
		ns := []string{"Microsoft.Compute", "Microsoft.Storage", "Microsoft.KeyVault", "Microsoft.Web"}[i%4]
		s.roles = append(s.roles, Role{ID: guid(rng), Name: fmt.Sprintf("custom-%d", i), Permissions: []Permission{{
			Actions:        []string{ns + "/*/read", ns + "/*/write", "Microsoft.Resources/subscriptions/resourceGroups/read"},
			NotActions:     []string{ns + "/*/delete"},
			DataActions:    []string{ns + "/*"},
			NotDataActions: []string{"*/delete"},
		}}})
	}

	type resource struct{ sub, rg, id string }
	types := []string{"Microsoft.KeyVault/vaults/kv", "Microsoft.Storage/storageAccounts/st", "Microsoft.Compute/virtualMachines/vm", "Microsoft.Web/sites/app", "Microsoft.ManagedIdentity/userAssignedIdentities/id"}
	var subs, rgs []string
	var res []resource
	rgRes := map[string][]string{}
	subRes := map[string][]string{}
	for si := range 50 {
		sub := "/subscriptions/" + guid(rng)
		subs = append(subs, sub)
		for gi := range 20 {
			rg := fmt.Sprintf("%s/resourceGroups/RG-%02d", sub, gi)
			rgs = append(rgs, rg)
			for ri := range 20 {
				t := types[(si+gi+ri)%len(types)]
				id := fmt.Sprintf("%s/providers/%s%04d", rg, t, ri)
				res = append(res, resource{sub, rg, id})
				rgRes[rg] = append(rgRes[rg], id)
				subRes[sub] = append(subRes[sub], id)
			}
		}
	}
	principals := make([]string, max(n/10, 100))
	for i := range principals {
		principals[i] = guid(rng)
	}
	s.assignments = make([]Assignment, n)
	for i := range s.assignments {
		var scope string
		switch x := rng.IntN(100); {
		case x < 1:
			scope = "/"
		case x < 10:
			scope = subs[rng.IntN(len(subs))]
		case x < 35:
			scope = rgs[rng.IntN(len(rgs))]
		default:
			scope = res[rng.IntN(len(res))].id
		}
		role := commonRoles[rng.IntN(len(commonRoles))]
		if rng.IntN(2) == 0 {
			role = s.roles[rng.IntN(len(s.roles))].ID
		}
		s.assignments[i] = Assignment{ID: guid(rng), PrincipalID: principals[rng.IntN(len(principals))], RoleID: role, Scope: scope}
	}

	qrng := rand.New(rand.NewPCG(2, uint64(n)))
	s.queries = make([]Request, 10000)
	for i := range s.queries {
		var p, scope string
		if i%2 == 0 {
			a := s.assignments[qrng.IntN(len(s.assignments))]
			p = a.PrincipalID
			switch {
			case a.Scope == "/":
				scope = res[qrng.IntN(len(res))].id
			case strings.Contains(a.Scope, "/providers/"):
				scope = a.Scope
			case strings.Contains(a.Scope, "/resourceGroups/"):
				l := rgRes[a.Scope]
				scope = l[qrng.IntN(len(l))]
			default:
				l := subRes[a.Scope]
				scope = l[qrng.IntN(len(l))]
			}
		} else {
			p = principals[qrng.IntN(len(principals))]
			scope = res[qrng.IntN(len(res))].id
		}
		if qrng.IntN(4) == 0 {
			scope += "/secrets/s1" // a child resource
		}
		act := benchActions[qrng.IntN(len(benchActions))]
		s.queries[i] = Request{Principals: []string{p}, Action: act.action, DataAction: act.data, Scope: scope}
	}
	benchSets.Store(n, s)
	return s
}

var benchEngines sync.Map // int -> *Engine

func benchEngine(b *testing.B, n int) (*Engine, *benchSet) {
	s := makeBenchSet(n)
	if v, ok := benchEngines.Load(n); ok {
		return v.(*Engine), s
	}
	e, err := New(s.roles, s.assignments, nil)
	if err != nil {
		b.Fatal(err)
	}
	benchEngines.Store(n, e)
	return e, s
}

var benchSizes = []int{10_000, 100_000, 1_000_000}

func BenchmarkCheck(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			e, s := benchEngine(b, n)
			qs := s.queries
			for _, q := range qs { // warm the reason cache, as a running server would be
				e.Check(q)
			}
			b.ReportAllocs()
			allowed := 0
			i := 0
			for b.Loop() {
				if e.Check(qs[i%len(qs)]).Allowed {
					allowed++
				}
				i++
			}
			b.ReportMetric(100*float64(allowed)/float64(i), "%allowed")
			reportLatency(b, func(q int) { e.Check(qs[q]) }, len(qs))
		})
	}
}

// BenchmarkAllowed is BenchmarkCheck without the explanations.
func BenchmarkAllowed(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			e, s := benchEngine(b, n)
			qs := s.queries
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				e.Allowed(qs[i%len(qs)])
				i++
			}
			reportLatency(b, func(q int) { e.Allowed(qs[q]) }, len(qs))
		})
	}
}

// BenchmarkCheckAllow and BenchmarkCheckRefuse split the query set by
// outcome, to show the allow path's allocations apart from the refusals'
// (which format an explanation).
func BenchmarkCheckAllow(b *testing.B)  { benchOutcome(b, true) }
func BenchmarkCheckRefuse(b *testing.B) { benchOutcome(b, false) }

func benchOutcome(b *testing.B, allowed bool) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			e, s := benchEngine(b, n)
			var qs []Request
			for _, q := range s.queries {
				if e.Check(q).Allowed == allowed {
					qs = append(qs, q)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				e.Check(qs[i%len(qs)])
				i++
			}
		})
	}
}

// BenchmarkBaselineMap is the floor the engine is measured against: a plain
// map from lower-cased principal to its assignments, a whole-segment scope
// compare on pre-lower-cased ids, and a precomputed role × action table in
// place of pattern matching.
func BenchmarkBaselineMap(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			s := makeBenchSet(n)
			e, _ := benchEngine(b, n)
			type base struct {
				scope string
				role  int
			}
			roleIdx := map[string]int{}
			grants := make([][]bool, len(s.roles))
			for i, r := range s.roles {
				roleIdx[roleKey(r.ID)] = i
				grants[i] = make([]bool, len(benchActions))
				for j, a := range benchActions {
					grants[i][j] = e.roles[roleKey(r.ID)].allows(&Request{Action: a.action, DataAction: a.data})
				}
			}
			m := map[string][]base{}
			for _, a := range s.assignments {
				p := strings.ToLower(a.PrincipalID)
				m[p] = append(m[p], base{strings.ToLower(a.Scope), roleIdx[roleKey(a.RoleID)]})
			}
			type q struct {
				p, scope string
				act      int
			}
			qs := make([]q, len(s.queries))
			for i, r := range s.queries {
				act := slices.IndexFunc(benchActions, func(x struct {
					action string
					data   bool
				}) bool {
					return x.action == r.Action
				})
				qs[i] = q{strings.ToLower(r.Principals[0]), strings.ToLower(r.Scope), act}
			}
			check := func(x q) bool {
				for _, a := range m[x.p] {
					if resourceid.KeyContains(a.scope, x.scope) && grants[a.role][x.act] {
						return true
					}
				}
				return false
			}
			// The baseline must agree with the engine.
			for i, x := range qs {
				if check(x) != e.Check(s.queries[i]).Allowed {
					b.Fatalf("baseline and engine disagree on query %d", i)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				check(qs[i%len(qs)])
				i++
			}
			reportLatency(b, func(i int) { check(qs[i]) }, len(qs))
		})
	}
}

// reportLatency times each query of one pass individually and reports the
// median and 99th percentile.
func reportLatency(b *testing.B, f func(int), n int) {
	lat := make([]time.Duration, n)
	for i := range n {
		t0 := time.Now()
		f(i)
		lat[i] = time.Since(t0)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[n/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[n*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkNew1M builds the engine from one million assignments (over 100k
// principals and 473 roles) already in memory.
func BenchmarkNew1M(b *testing.B) {
	s := makeBenchSet(1_000_000)
	var heap uint64
	for b.Loop() {
		var before, after runtime.MemStats
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		e, err := New(s.roles, s.assignments, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.StartTimer()
		heap = after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(e)
	}
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
}
