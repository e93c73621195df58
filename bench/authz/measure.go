package authz

import (
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/bench/procstat"
	"github.com/mimic-emu/mimic/bench/tables"
)

// Config bounds a comparison run.
type Config struct {
	Sizes   []int
	Engines []Engine
	// LoadBox is each engine's load time box (see Engine.Load).
	LoadBox time.Duration
	// QueryBox bounds each timed phase (cold pass, warm passes, latency
	// pass) of one checker: a slow checker is measured on the queries that
	// fit, never fewer than the agreement sample, and the result says how
	// many.
	QueryBox time.Duration
	// WarmPasses bounds the warm passes.
	WarmPasses int
	// PairedRounds is the number of rounds of the interleaved comparison
	// of mimic's checkers with the map index (see Paired); 0 skips it.
	PairedRounds int
	Log          io.Writer // progress, if not nil
}

// DefaultConfig is what `make bench-authz` runs: about three minutes on a
// 2-core machine.
func DefaultConfig() Config {
	return Config{
		Sizes:        []int{10_000, 100_000, 1_000_000},
		Engines:      Engines,
		LoadBox:      60 * time.Second,
		QueryBox:     5 * time.Second,
		WarmPasses:   10,
		PairedRounds: 9,
	}
}

// Result is one checker's figures at one size.
type Result struct {
	N       int
	Engine  string // the contender
	Checker string // the entry point measured
	LoadErr error  // nil when it loaded
	Load    time.Duration
	LoadCPU time.Duration // the process's user+system CPU time during the load (GC included)
	HeapMiB float64       // live heap after load minus before, after GC

	Queries  int     // queries in the timed passes (all of them unless the box cut it short)
	ColdNs   float64 // mean over the first pass
	WarmNs   float64 // mean over repeated passes
	P50, P99 time.Duration
}

// SizeReport is everything measured at one size.
type SizeReport struct {
	N       int
	Results []Result
	Paired  *Paired // nil unless both mimic and the map index ran
	// Sample outcomes, from the reference.
	SampleGranted, SampleNoGrant, SampleDenied int
	Disagreements                              []string
}

// Result finds a checker's result.
func (s *SizeReport) Result(checker string) *Result {
	for i := range s.Results {
		if s.Results[i].Checker == checker && s.Results[i].LoadErr == nil {
			return &s.Results[i]
		}
	}
	return nil
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// Agree loads the engines at one size, one after the other, and returns
// each checker's disagreements with the reference on the sample (and the
// sample's outcomes). It measures nothing; tests use it. limit, if it names
// a checker, cuts that checker's sample to its first so many queries.
func Agree(ds *Dataset, engines []Engine, box time.Duration, limit map[string]int) (map[string][]string, [3]int, error) {
	want, outcomes := referenceAnswers(ds, NewReference(ds))
	out := map[string][]string{}
	for _, en := range engines {
		checkers, err := en.Load(ds, time.Now().Add(box))
		if err != nil {
			return nil, outcomes, fmt.Errorf("%s: %w", en.Name, err)
		}
		for _, c := range checkers {
			sub := *ds
			if k, ok := limit[c.Name]; ok && k < len(sub.Sample) {
				sub.Sample = sub.Sample[:k]
			}
			out[c.Name] = disagreements(&sub, c, want[:len(sub.Sample)])
		}
	}
	return out, outcomes, nil
}

func referenceAnswers(ds *Dataset, ref *Reference) ([]bool, [3]int) {
	want := make([]bool, len(ds.Sample))
	var outcomes [3]int
	for i, qi := range ds.Sample {
		o := ref.Decide(&ds.Queries[qi])
		outcomes[o]++
		want[i] = o == Granted
	}
	return want, outcomes
}

// disagreements lists the sample queries on which c differs from want.
func disagreements(ds *Dataset, c Checker, want []bool) []string {
	var bad []string
	for i, qi := range ds.Sample {
		q := &ds.Queries[qi]
		if got := c.Allowed(q); got != want[i] {
			bad = append(bad, fmt.Sprintf("%s: query %d (%s %s on %s, data=%v): got %v, reference %v",
				c.Name, qi, q.Principal, q.Action, q.Scope, q.Data, got, want[i]))
		}
	}
	return bad
}

// Run measures every engine at every size. Engines are loaded one at a
// time and dropped before the next, so that one's heap does not slow
// another's garbage collection; the answers to the agreement sample are
// kept and compared at the end of each size.
func Run(cfg Config) []SizeReport {
	var reports []SizeReport
	for _, n := range cfg.Sizes {
		t0 := time.Now()
		ds := Generate(n)
		cfg.logf("n=%d: dataset in %v (%d roles, %d principals, %d scopes, %d deny assignments)",
			n, time.Since(t0).Round(time.Millisecond), len(ds.Roles), ds.Principals, ds.Scopes, len(ds.Denies))
		want, outcomes := referenceAnswers(ds, NewReference(ds))
		rep := SizeReport{N: n, SampleGranted: outcomes[Granted], SampleNoGrant: outcomes[NoGrant], SampleDenied: outcomes[Denied]}
		for _, en := range cfg.Engines {
			rep.Results = append(rep.Results, measureEngine(&cfg, ds, en, want, &rep)...)
		}
		if rep.Result("mimic Check") != nil && rep.Result("map") != nil && cfg.PairedRounds > 0 {
			p, err := measurePaired(ds, cfg.PairedRounds)
			if err != nil {
				cfg.logf("n=%d paired: %v", n, err)
			}
			rep.Paired = p
		}
		reports = append(reports, rep)
	}
	return reports
}

func measureEngine(cfg *Config, ds *Dataset, en Engine, want []bool, rep *SizeReport) []Result {
	before := procstat.HeapAlloc()
	cpu0 := procstat.CPUTime()
	t0 := time.Now()
	checkers, err := en.Load(ds, t0.Add(cfg.LoadBox))
	load := time.Since(t0)
	loadCPU := procstat.CPUTime() - cpu0
	if err == nil && load > cfg.LoadBox {
		err = fmt.Errorf("%w (loaded in %.1f s)", ErrLoadTimeout, load.Seconds())
	}
	if err != nil {
		cfg.logf("n=%d %s: %v", ds.N, en.Name, err)
		return []Result{{N: ds.N, Engine: en.Name, Checker: en.Name, LoadErr: err, Load: load}}
	}
	heap := float64(int64(procstat.HeapAlloc())-int64(before)) / (1 << 20)
	cfg.logf("n=%d %s: loaded in %v (CPU %v), heap +%.0f MiB", ds.N, en.Name, load.Round(time.Millisecond), loadCPU.Round(time.Millisecond), heap)
	var out []Result
	for _, c := range checkers {
		r := Result{N: ds.N, Engine: en.Name, Checker: c.Name, Load: load, LoadCPU: loadCPU, HeapMiB: heap}
		answers := timeChecker(cfg, ds, c, &r)
		var bad []string
		for i, qi := range ds.Sample {
			if answers[i] != want[i] {
				q := &ds.Queries[qi]
				bad = append(bad, fmt.Sprintf("%s: query %d (%s %s on %s, data=%v): got %v, reference %v",
					c.Name, qi, q.Principal, q.Action, q.Scope, q.Data, answers[i], want[i]))
			}
		}
		rep.Disagreements = append(rep.Disagreements, bad...)
		cfg.logf("n=%d %s: %d queries, cold %.0f ns/op, warm %.0f ns/op, p50 %v, p99 %v, %d disagreements",
			ds.N, c.Name, r.Queries, r.ColdNs, r.WarmNs, r.P50, r.P99, len(bad))
		out = append(out, r)
	}
	return out
}

// timeChecker runs the three timed phases and returns the answers to the
// sample. The cold pass times each query (its mean is ColdNs), sample
// first, and records the answers; it goes on through all the queries, or
// until QueryBox once the sample is done. Warm passes over the same queries
// are timed as a whole (WarmNs), for up to WarmPasses passes or QueryBox/2;
// then up to three passes time each query again (P50, P99), within
// QueryBox.
func timeChecker(cfg *Config, ds *Dataset, c Checker, r *Result) []bool {
	qs := ds.ordered
	answers := make([]bool, len(ds.Sample))
	runtime.GC()
	lat := make([]time.Duration, 0, len(qs))
	stop := time.Now().Add(cfg.QueryBox)
	var total time.Duration
	for i := range qs {
		t := time.Now()
		ok := c.Allowed(&qs[i])
		d := time.Since(t)
		if i < len(answers) {
			answers[i] = ok
		}
		lat = append(lat, d)
		total += d
		if i >= len(answers) && i&15 == 15 && time.Now().After(stop) {
			break
		}
	}
	qs = qs[:len(lat)]
	r.Queries = len(qs)
	r.ColdNs = float64(total.Nanoseconds()) / float64(len(qs))

	stop = time.Now().Add(cfg.QueryBox / 2)
	calls := 0
	t := time.Now()
	for pass := 0; pass < cfg.WarmPasses && (pass == 0 || time.Now().Before(stop)); pass++ {
		for i := range qs {
			c.Allowed(&qs[i])
		}
		calls += len(qs)
	}
	r.WarmNs = float64(time.Since(t).Nanoseconds()) / float64(calls)

	// Up to three latency passes share the box; the one with the median
	// p50 is reported, which keeps a burst of load from the shared host
	// out of the figure.
	type pass struct{ p50, p99 time.Duration }
	var passes []pass
	stop = time.Now().Add(cfg.QueryBox)
	for len(passes) < 3 && (len(passes) == 0 || time.Now().Before(stop)) {
		lat = lat[:0]
		for i := range qs {
			t := time.Now()
			c.Allowed(&qs[i])
			lat = append(lat, time.Since(t))
			if i&15 == 15 && time.Now().After(stop) {
				break
			}
		}
		slices.Sort(lat)
		passes = append(passes, pass{lat[len(lat)/2], lat[len(lat)*99/100]})
	}
	slices.SortFunc(passes, func(x, y pass) int { return int(x.p50 - y.p50) })
	r.P50, r.P99 = passes[len(passes)/2].p50, passes[len(passes)/2].p99
	return answers
}

// Paired is the comparison the p50 target rests on: mimic's checkers and
// the map index loaded side by side, and timed in interleaved rounds (one
// latency pass of each, in an order that rotates from round to round), so
// that every ratio compares passes run within milliseconds of each other.
// The sequential passes of Run are minutes apart on a shared host whose
// load drifts; these are not.
type Paired struct {
	// P50 holds each checker's p50 in every round.
	P50 map[string][]time.Duration
}

// Ratio is the median over the rounds of checker's p50 divided by base's
// in the same round, with the lowest and highest.
func (p *Paired) Ratio(checker, base string) (med, lo, hi float64) {
	a, b := p.P50[checker], p.P50[base]
	if len(a) == 0 || len(a) != len(b) {
		return 0, 0, 0
	}
	rs := make([]float64, len(a))
	for i := range a {
		rs[i] = float64(a[i]) / float64(b[i])
	}
	slices.Sort(rs)
	return rs[len(rs)/2], rs[0], rs[len(rs)-1]
}

func measurePaired(ds *Dataset, rounds int) (*Paired, error) {
	var checkers []Checker
	for _, name := range []string{"mimic", "map"} {
		en, _ := EngineByName(name)
		cs, err := en.Load(ds, time.Now().Add(time.Hour))
		if err != nil {
			return nil, err
		}
		checkers = append(checkers, cs...)
	}
	qs := ds.ordered
	p := &Paired{P50: map[string][]time.Duration{}}
	lat := make([]time.Duration, len(qs))
	for _, c := range checkers { // warm up once, untimed
		for i := range qs {
			c.Allowed(&qs[i])
		}
	}
	runtime.GC()
	for round := range rounds {
		for k := range checkers {
			c := checkers[(k+round)%len(checkers)]
			for i := range qs {
				t := time.Now()
				c.Allowed(&qs[i])
				lat[i] = time.Since(t)
			}
			slices.Sort(lat)
			p.P50[c.Name] = append(p.P50[c.Name], lat[len(lat)/2])
		}
	}
	return p, nil
}

// Table renders the reports as Markdown: one row per checker and size, with
// ratios against mimic's Check, and the targets' verdicts.
func Table(reports []SizeReport) string {
	var b strings.Builder
	b.WriteString("| n | engine | load (CPU) | heap Δ | queries | cold ns/op | warm ns/op | p50 | p99 | p50 ÷ mimic Check p50 | warm ÷ mimic Check warm |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, rep := range reports {
		base := rep.Result("mimic Check")
		for _, r := range rep.Results {
			if r.LoadErr != nil {
				fmt.Fprintf(&b, "| %s | %s | %s | – | – | – | – | – | – | – | – |\n", tables.Count(r.N), r.Engine, loadErrText(r))
				continue
			}
			ratio, wratio := "–", "–"
			if base != nil {
				ratio = fmt.Sprintf("%.2f×", float64(r.P50)/float64(base.P50))
				wratio = fmt.Sprintf("%.2f×", r.WarmNs/base.WarmNs)
			}
			q := fmt.Sprint(r.Queries)
			if r.Queries < QueryCount {
				q += " (boxed)"
			}
			fmt.Fprintf(&b, "| %s | %s | %.3f s (%.2f s) | %.0f MiB | %s | %s | %s | %s | %s | %s | %s |\n",
				tables.Count(r.N), r.Checker, r.Load.Seconds(), r.LoadCPU.Seconds(), r.HeapMiB, q, tables.Thousands(int64(math.Round(r.ColdNs))), tables.Thousands(int64(math.Round(r.WarmNs))), dur(r.P50), dur(r.P99), ratio, wratio)
		}
	}
	b.WriteString("\n")
	for _, rep := range reports {
		fmt.Fprintf(&b, "n=%s: agreement sample %d queries (%d allowed, %d refused for want of a grant, %d granted but blocked by a deny assignment): %d disagreements.\n",
			tables.Count(rep.N), rep.SampleGranted+rep.SampleNoGrant+rep.SampleDenied, rep.SampleGranted, rep.SampleNoGrant, rep.SampleDenied, len(rep.Disagreements))
		tables.WriteList(&b, rep.Disagreements, 10)
	}
	b.WriteString("\n")
	b.WriteString(Targets(reports))
	return b.String()
}

// Targets states issue 4's targets against the figures.
func Targets(reports []SizeReport) string {
	var b strings.Builder
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	for _, rep := range reports {
		m := rep.Result("mimic Check")
		if m == nil {
			continue
		}
		fmt.Fprintf(&b, "n=%s:\n", tables.Count(rep.N))
		for _, base := range []struct{ name, what string }{
			{"map", "the map index on pre-lowered input"},
			{"map+lower", "the map index fed the same input"},
		} {
			if rep.Paired == nil || rep.Paired.P50[base.name] == nil {
				continue
			}
			var parts []string
			for _, c := range []struct{ name, label string }{
				{"mimic Check", "Check"}, {"mimic Allowed", "Allowed"}, {"mimic Check+Reason", "Check with its reason written"},
			} {
				if med, lo, hi := rep.Paired.Ratio(c.name, base.name); med != 0 {
					parts = append(parts, fmt.Sprintf("%s %.2f× (%.2f–%.2f×, %s)", c.label, med, lo, hi, verdict(med <= 2)))
				}
			}
			fmt.Fprintf(&b, "  p50 within 2× %s (median of %d interleaved rounds, lowest–highest): %s\n",
				base.what, len(rep.Paired.P50[base.name]), strings.Join(parts, ", "))
		}
		for _, peer := range []struct {
			name string
			want float64
		}{{"opa", 20}, {"casbin", 100}} {
			p := rep.Result(peer.name)
			if p == nil {
				for _, r := range rep.Results {
					if r.Engine == peer.name && r.LoadErr != nil {
						fmt.Fprintf(&b, "  ≥%.0f× faster than %s: %s did not load (%s)\n", peer.want, peer.name, peer.name, loadErrText(r))
					}
				}
				continue
			}
			x := float64(p.P50) / float64(m.P50)
			y := p.WarmNs / m.WarmNs
			fmt.Fprintf(&b, "  ≥%.0f× faster than %s: p50 %.0f×, warm mean %.0f× (%s)\n", peer.want, peer.name, x, y, verdict(min(x, y) >= peer.want))
		}
		if rep.N == 1_000_000 {
			fmt.Fprintf(&b, "  1M assignments loaded in ≤ 2 s: %.2f s wall, %.2f s CPU (%s)\n", m.Load.Seconds(), m.LoadCPU.Seconds(), verdict(m.Load <= 2*time.Second))
		}
	}
	return b.String()
}

func loadErrText(r Result) string {
	if errors.Is(r.LoadErr, ErrLoadTimeout) {
		return fmt.Sprintf("did not load in %.0f s", r.Load.Seconds())
	}
	return r.LoadErr.Error()
}

func dur(d time.Duration) string {
	switch {
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d >= time.Microsecond:
		return fmt.Sprintf("%.2f µs", float64(d)/1e3)
	}
	return fmt.Sprintf("%d ns", d.Nanoseconds())
}
