package authz

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/bench/procstat"
)

// TestAgreement: at 10k assignments, every checker answers the 2,000-query
// sample exactly as the reference does, and the sample mixes all three
// outcomes. Casbin, at some 7 ms a query, answers the first 500 (all 2,000
// with AUTHZ_FULL=1; the benchmarks always check all of them).
func TestAgreement(t *testing.T) {
	ds := Generate(10_000)
	limit := map[string]int{"casbin": 500}
	if os.Getenv("AUTHZ_FULL") != "" {
		limit = nil
	}
	bad, outcomes, err := Agree(ds, Engines, time.Minute, limit)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sample: %d allowed, %d without a grant, %d blocked by a deny assignment", outcomes[Granted], outcomes[NoGrant], outcomes[Denied])
	if outcomes[Granted] < len(ds.Sample)/10 || outcomes[NoGrant] < len(ds.Sample)/10 || outcomes[Denied] == 0 {
		t.Errorf("the sample does not mix outcomes: %v", outcomes)
	}
	// mimic Check, Check+Reason and Allowed; map and map+lower; opa; casbin.
	if len(bad) != 7 {
		t.Errorf("checkers: %d, want 7", len(bad))
	}
	for name, b := range bad {
		if len(b) > 0 {
			t.Errorf("%s: %d disagreements, first: %s", name, len(b), b[0])
		}
	}
}

// TestPairedRatio: the interleaved comparison divides within each round,
// then takes the median.
func TestPairedRatio(t *testing.T) {
	p := &Paired{P50: map[string][]time.Duration{
		"a": {300, 100, 500},
		"b": {100, 100, 100},
	}}
	med, lo, hi := p.Ratio("a", "b")
	if med != 3 || lo != 1 || hi != 5 {
		t.Errorf("Ratio = %v (%v–%v), want 3 (1–5)", med, lo, hi)
	}
	if med, _, _ := p.Ratio("a", "missing"); med != 0 {
		t.Errorf("Ratio against a missing checker = %v, want 0", med)
	}
}

// TestPatterns: the encodings' pattern machinery agrees with the reference
// glob on the shapes Azure uses.
func TestPatterns(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "a/b", true},
		{"a/*", "a/b/c", true},
		{"a/*", "a", false},
		{"*/read", "a/b/read", true},
		{"*/read", "a/b/reads", false},
		{"a/*/b", "a/b", true},
		{"a/*/b", "a/x/y/b", true},
		{"a/*/b", "ab", false},
		{"a/*/*/b", "a/b", true},
		{"a/*/*/b", "a/x/b", true},
		{"ab*ba", "aba", false},
		{"ab*ba", "abba", true},
		{"x.y/{op}/read", "x.y/{op}/read", true},
		{"x.y/{op}/read", "xzy/{op}/read", false},
	}
	for _, c := range cases {
		if got := refGlob(c.p, c.s); got != c.want {
			t.Errorf("refGlob(%q, %q) = %v", c.p, c.s, got)
		}
		re := regexp.MustCompile("^" + wildcardRegexp(c.p) + "$")
		if got := re.MatchString(c.s); got != c.want {
			t.Errorf("wildcardRegexp(%q) on %q = %v", c.p, c.s, got)
		}
		got := false
		for _, v := range expandSegmentWildcards(c.p) {
			got = got || plainGlob(v, c.s)
		}
		if got != c.want {
			t.Errorf("expandSegmentWildcards(%q) on %q = %v", c.p, c.s, got)
		}
	}
	if got := expandSegmentWildcards("a/*/*/b"); !slices.Contains(got, "a/b") || !slices.Contains(got, "a/*/b") || len(got) != 4 {
		t.Errorf("expandSegmentWildcards(a/*/*/b) = %q", got)
	}
}

// plainGlob is '*'-only globbing, as OPA's glob.match with no delimiters.
func plainGlob(p, s string) bool {
	if p == "" {
		return s == ""
	}
	if p[0] == '*' {
		for i := 0; i <= len(s); i++ {
			if plainGlob(p[1:], s[i:]) {
				return true
			}
		}
		return false
	}
	return s != "" && s[0] == p[0] && plainGlob(p[1:], s[1:])
}

// Benchmarks. Sizes default to 10k, 100k and 1M; AUTHZ_SIZES (e.g.
// "10000,100000") and AUTHZ_ENGINES (e.g. "mimic,map,opa") narrow them.
// Each sub-benchmark is checker × size: ns/op over the query set
// round-robin, and p50/p99 over one individually timed pass. A checker
// that disagrees with the reference on the sample fails the benchmark.

func benchSizes() []int {
	s := os.Getenv("AUTHZ_SIZES")
	if s == "" {
		return []int{10_000, 100_000, 1_000_000}
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			panic("AUTHZ_SIZES: " + err.Error())
		}
		out = append(out, n)
	}
	return out
}

func benchEngines() []Engine {
	s := os.Getenv("AUTHZ_ENGINES")
	if s == "" {
		return Engines
	}
	var out []Engine
	for _, f := range strings.Split(s, ",") {
		e, ok := EngineByName(strings.TrimSpace(f))
		if !ok {
			panic("AUTHZ_ENGINES: unknown engine " + f)
		}
		out = append(out, e)
	}
	return out
}

type loaded struct {
	checkers []Checker
	load     time.Duration
	heapMiB  float64
	err      error
}

var (
	loadedMu sync.Mutex
	loadedBy = map[string]*loaded{} // "engine/n"
	refBy    = map[int][]bool{}
)

// load builds an engine once per size and process, and checks its
// agreement with the reference before anything is timed.
func load(b *testing.B, en Engine, n int) *loaded {
	loadedMu.Lock()
	defer loadedMu.Unlock()
	key := fmt.Sprintf("%s/%d", en.Name, n)
	if l, ok := loadedBy[key]; ok {
		return l
	}
	ds := Generate(n)
	want, ok := refBy[n]
	if !ok {
		want, _ = referenceAnswers(ds, NewReference(ds))
		refBy[n] = want
	}
	before := procstat.HeapAlloc()
	t0 := time.Now()
	checkers, err := en.Load(ds, t0.Add(DefaultConfig().LoadBox))
	l := &loaded{checkers: checkers, load: time.Since(t0), err: err}
	l.heapMiB = float64(int64(procstat.HeapAlloc())-int64(before)) / (1 << 20)
	if err == nil {
		for _, c := range checkers {
			if bad := disagreements(ds, c, want); len(bad) > 0 {
				l.err = fmt.Errorf("%d disagreements with the reference, first: %s", len(bad), bad[0])
			}
		}
	}
	loadedBy[key] = l
	return l
}

// BenchmarkLoad reports each engine's load time and heap (the load happens
// once; ns/op is meaningless here).
func BenchmarkLoad(b *testing.B) {
	for _, n := range benchSizes() {
		for _, en := range benchEngines() {
			b.Run(fmt.Sprintf("n=%d/%s", n, en.Name), func(b *testing.B) {
				l := load(b, en, n)
				if l.err != nil {
					b.Fatal(l.err)
				}
				for b.Loop() {
				}
				b.ReportMetric(l.load.Seconds(), "load-s")
				b.ReportMetric(l.heapMiB, "heap-MiB")
			})
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	for _, n := range benchSizes() {
		for _, en := range benchEngines() {
			l := load(b, en, n)
			if l.err != nil {
				b.Run(fmt.Sprintf("n=%d/%s", n, en.Name), func(b *testing.B) { b.Fatal(l.err) })
				continue
			}
			for _, c := range l.checkers {
				b.Run(fmt.Sprintf("n=%d/%s", n, strings.ReplaceAll(c.Name, " ", "-")), func(b *testing.B) {
					qs := Generate(n).Queries
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						c.Allowed(&qs[i%len(qs)])
						i++
					}
					b.StopTimer()
					lat := make([]time.Duration, 0, len(qs))
					stop := time.Now().Add(5 * time.Second)
					for i := range qs {
						t := time.Now()
						c.Allowed(&qs[i])
						lat = append(lat, time.Since(t))
						if time.Now().After(stop) {
							break
						}
					}
					slices.Sort(lat)
					b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
					b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
				})
			}
		}
	}
}
