package reach

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/analyzerkit"
	"github.com/mimic-emu/mimic/bench/procstat"
	"github.com/mimic-emu/mimic/bench/tables"
)

// Config bounds a run.
type Config struct {
	Sizes []analyzerkit.Size
	// Starts is the number of sampled start nodes of each class at each
	// size (see sampleStarts).
	Starts int
	// Repeats is the number of timed batches per start and contender; a
	// batch repeats the search until it has run for a millisecond.
	Repeats int
	// OPA turns the OPA side off when false.
	OPA bool
	// LoadBox bounds OPA's load at each size; QueryBox bounds its queries
	// at each size.
	LoadBox, QueryBox time.Duration
	Log               io.Writer // progress, if not nil
}

// Sizes are the three sizes of issue 6: 1k, 10k and 100k computes, half as
// many identities, ten role assignments per compute.
var Sizes = []analyzerkit.Size{
	{Computes: 1_000, Identities: 500, Assignments: 10_000, Seed: 7},
	{Computes: 10_000, Identities: 5_000, Assignments: 100_000, Seed: 7},
	{Computes: 100_000, Identities: 50_000, Assignments: 1_000_000, Seed: 7},
}

// DefaultConfig is what `make bench-reach` runs.
func DefaultConfig() Config {
	return Config{Sizes: Sizes, Starts: 4, Repeats: 5, OPA: true, LoadBox: 120 * time.Second, QueryBox: 300 * time.Second}
}

// Start is one sampled start and its figures.
type Start struct {
	Node    int32
	Kind    string        // "compute" or "identity"
	Wide    bool          // reaches at least 1 % of the graph
	Reached int           // nodes reached, the start included
	Mimic   time.Duration // Analysis.Reachable, median per search
	Radius  time.Duration // Analysis.RadiusSearch, median per search
	// OPA is graph.reachable's median per query, 0 when it did not answer;
	// MimicPaired is Reachable's median over batches each timed right
	// before one of OPA's, which the ratio uses, so that both see the same
	// load of the shared host; RadiusPaired the same for RadiusSearch.
	OPA, MimicPaired, RadiusPaired time.Duration
	OPAFirst                       time.Duration // the first query, whose answer is checked
}

// Report is what was measured at one size.
type Report struct {
	Size                      analyzerkit.Size
	Resources, Nodes, Edges   int
	Generate, Build, BuildCPU time.Duration
	// EstateMiB is the live heap the generated estate takes; AnalysisMiB
	// what building it added (the authorization index, the graph and what
	// indexing adds to the estate). RSSMiB is the process's resident set
	// after the build, PeakRSSMiB its peak from the start of the size to
	// the end of the build (0 when the kernel cannot reset the peak).
	EstateMiB, AnalysisMiB, RSSMiB, PeakRSSMiB float64

	Starts []Start

	Export time.Duration // Analysis.Adjacency
	// OPA's load: building the data document, the store and the prepared
	// query; the heap it added and the process's resident set after it.
	OPALoad, OPALoadCPU time.Duration
	OPAHeapMiB, OPARSS  float64
	OPALoadErr          error
	OPASkipped          string        // why OPA did not run at this size, if it did not
	OPAAnswered         int           // starts OPA answered, each checked against mimic
	OPAUnfinished       bool          // a query was still running at the query box
	OPAUnfinishedAfter  time.Duration // how long that query ran in the end (0: not even within one more box)
	Disagreements       []string
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// Run measures every size in turn, smallest first. Once OPA misses a box,
// it is not run at the larger sizes.
func Run(cfg Config) []Report {
	var out []Report
	skipOPA := ""
	if !cfg.OPA {
		skipOPA = "not run"
	}
	for _, size := range cfg.Sizes {
		r := measure(&cfg, size, skipOPA)
		if r.OPALoadErr != nil || r.OPAUnfinished {
			skipOPA = fmt.Sprintf("not run: did not finish at %s computes", tables.Count(r.Size.Computes))
		}
		out = append(out, r)
	}
	return out
}

func measure(cfg *Config, size analyzerkit.Size, skipOPA string) Report {
	r := Report{Size: size}
	debug.FreeOSMemory()
	peakOK := procstat.ResetPeakRSS()
	heap0 := procstat.HeapAlloc()

	t0 := time.Now()
	e := analyzerkit.Generate(size)
	r.Generate = time.Since(t0)
	r.Resources = e.Resources()
	heap1 := procstat.HeapAlloc()
	r.EstateMiB = mib(heap1 - heap0)

	cpu0 := procstat.CPUTime()
	t0 = time.Now()
	a, err := analyzerkit.Build(e)
	r.Build, r.BuildCPU = time.Since(t0), procstat.CPUTime()-cpu0
	if err != nil {
		panic(fmt.Sprintf("reach: build: %v", err)) // a generated estate always builds
	}
	r.RSSMiB = procstat.RSSMiB("VmRSS")
	if peakOK {
		r.PeakRSSMiB = procstat.RSSMiB("VmHWM")
	}
	r.AnalysisMiB = mib(procstat.HeapAlloc() - heap1)
	r.Nodes, r.Edges = a.Nodes(), a.Edges()
	cfg.logf("%s computes: generated in %v (%d resources, %.0f MiB), built in %v (CPU %v, +%.0f MiB; RSS %.0f MiB, peak %.0f MiB): %d nodes, %d edges",
		tables.Count(size.Computes), r.Generate.Round(time.Millisecond), r.Resources, r.EstateMiB, r.Build.Round(time.Millisecond), r.BuildCPU.Round(time.Millisecond),
		r.AnalysisMiB, r.RSSMiB, r.PeakRSSMiB, r.Nodes, r.Edges)

	var want [][]int32
	r.Starts, want = sampleStarts(a, e, cfg.Starts)
	for i := range r.Starts {
		st := &r.Starts[i]
		runtime.GC()
		st.Mimic = timeIt(func() { a.Reachable(st.Node) }, cfg.Repeats, time.Time{})
		st.Radius = timeIt(func() { a.RadiusSearch(st.Node) }, cfg.Repeats, time.Time{})
	}
	for _, wide := range []bool{false, true} {
		ss := class(r.Starts, wide)
		cfg.logf("%s computes, %s: mimic Reachable median %v, RadiusSearch median %v over %d starts (reached median %d nodes)",
			tables.Count(size.Computes), className(wide), median(field(ss, func(s Start) time.Duration { return s.Mimic })),
			median(field(ss, func(s Start) time.Duration { return s.Radius })), len(ss), median(field(ss, func(s Start) int { return s.Reached })))
	}

	if skipOPA != "" {
		r.OPASkipped = skipOPA
		return r
	}
	measureOPA(cfg, &r, a, want)
	// The analysis stays live through OPA's measurements, so that their
	// heap figures do not net its collection.
	runtime.KeepAlive(a)
	return r
}

// timeIt times f: batches of as many calls as take a millisecond
// (calibrated by doubling, which warms f up), repeats of them, and the
// median time per call. With a deadline, it stops starting batches once the
// deadline has passed (having timed at least one).
func timeIt(f func(), repeats int, deadline time.Time) time.Duration {
	n := 1
	var per []time.Duration
	for {
		t := time.Now()
		for range n {
			f()
		}
		d := time.Since(t)
		if d >= time.Millisecond || n >= 1<<20 {
			per = append(per, d/time.Duration(n))
			break
		}
		n *= 2
	}
	for len(per) < max(1, repeats) && (deadline.IsZero() || time.Now().Before(deadline)) {
		t := time.Now()
		for range n {
			f()
		}
		per = append(per, time.Since(t)/time.Duration(n))
	}
	return median(per)
}

func measureOPA(cfg *Config, r *Report, a *analyzerkit.Analysis, want [][]int32) {
	heap0 := procstat.HeapAlloc()
	t0 := time.Now()
	g := a.Adjacency()
	r.Export = time.Since(t0)
	cpu0 := procstat.CPUTime()
	t0 = time.Now()
	og, err := loadOPA(g, t0.Add(cfg.LoadBox))
	r.OPALoad, r.OPALoadCPU = time.Since(t0), procstat.CPUTime()-cpu0
	g = nil
	if err == nil && r.OPALoad > cfg.LoadBox {
		err = fmt.Errorf("%w (loaded in %.1f s)", ErrLoadTimeout, r.OPALoad.Seconds())
	}
	if err != nil {
		r.OPALoadErr = err
		cfg.logf("%s computes: opa: %v", tables.Count(r.Size.Computes), err)
		return
	}
	r.OPAHeapMiB = mib(procstat.HeapAlloc() - heap0)
	r.OPARSS = procstat.RSSMiB("VmRSS")
	cfg.logf("%s computes: opa loaded in %v (CPU %v, +%.0f MiB, RSS %.0f MiB)",
		tables.Count(r.Size.Computes), r.OPALoad.Round(time.Millisecond), r.OPALoadCPU.Round(time.Millisecond), r.OPAHeapMiB, r.OPARSS)

	type answer struct {
		nodes []int32
		took  time.Duration
		err   error
	}
	deadline := time.Now().Add(cfg.QueryBox)
	opaTimes := make([][]time.Duration, len(r.Starts))
	mimicTimes := make([][]time.Duration, len(r.Starts))
	radiusTimes := make([][]time.Duration, len(r.Starts))
	// First pass: every start once, in the background so that a query
	// still running at the box can be left; each answer is checked against
	// mimic's.
	for i := range r.Starts {
		st := &r.Starts[i]
		if time.Now().After(deadline) {
			break
		}
		runtime.GC()
		mimicTimes[i] = append(mimicTimes[i], timeIt(func() { a.Reachable(st.Node) }, 1, time.Time{}))
		radiusTimes[i] = append(radiusTimes[i], timeIt(func() { a.RadiusSearch(st.Node) }, 1, time.Time{}))
		ch := make(chan answer, 1)
		go func() {
			t := time.Now()
			set, err := og.reachable(st.Node)
			took := time.Since(t)
			var nodes []int32
			if err == nil {
				nodes, err = setNodes(set)
			}
			ch <- answer{nodes, took, err}
		}()
		var ans answer
		select {
		case ans = <-ch:
		case <-time.After(time.Until(deadline)):
			r.OPAUnfinished = true
			cfg.logf("%s computes: opa did not finish within %v; waiting up to %v more", tables.Count(r.Size.Computes), cfg.QueryBox, cfg.QueryBox)
			select {
			case late := <-ch:
				r.OPAUnfinishedAfter = late.took
			case <-time.After(cfg.QueryBox):
			}
		}
		if r.OPAUnfinished {
			break
		}
		r.OPAAnswered++
		if ans.err != nil {
			r.Disagreements = append(r.Disagreements, fmt.Sprintf("start %d: opa: %v", st.Node, ans.err))
			continue
		}
		st.OPAFirst = ans.took
		opaTimes[i] = append(opaTimes[i], ans.took)
		cfg.logf("%s computes: opa from %s %d (%d nodes reached): %v", tables.Count(r.Size.Computes), st.Kind, st.Node, st.Reached, ans.took.Round(time.Microsecond))
		if d := diff(want[i], ans.nodes); d != "" {
			r.Disagreements = append(r.Disagreements, fmt.Sprintf("start %d (%s): %s", st.Node, st.Kind, d))
		}
	}
	// Timed passes over the starts, each a batch of mimic's searches then
	// a batch of OPA's queries, as long as OPA's should end within the box.
	for pass := 1; pass < cfg.Repeats && !r.OPAUnfinished; pass++ {
		for i := range r.Starts {
			st := &r.Starts[i]
			if st.OPAFirst == 0 || time.Now().Add(2*st.OPAFirst).After(deadline) {
				continue
			}
			runtime.GC()
			mimicTimes[i] = append(mimicTimes[i], timeIt(func() { a.Reachable(st.Node) }, 1, time.Time{}))
			radiusTimes[i] = append(radiusTimes[i], timeIt(func() { a.RadiusSearch(st.Node) }, 1, time.Time{}))
			opaTimes[i] = append(opaTimes[i], timeIt(func() { og.reachable(st.Node) }, 1, time.Time{}))
		}
	}
	for i := range r.Starts {
		if len(opaTimes[i]) > 1 {
			// The first query ran cold and alone; the batches are warm.
			opaTimes[i] = opaTimes[i][1:]
		}
		if len(opaTimes[i]) > 0 {
			r.Starts[i].OPA, r.Starts[i].MimicPaired, r.Starts[i].RadiusPaired = median(opaTimes[i]), median(mimicTimes[i]), median(radiusTimes[i])
		}
	}
	for _, wide := range []bool{false, true} {
		ss := class(r.Starts, wide)
		cfg.logf("%s computes, %s: opa graph.reachable median %v",
			tables.Count(r.Size.Computes), className(wide), median(field(ss, func(s Start) time.Duration { return s.OPA })))
	}
	cfg.logf("%s computes: opa answered %d of %d starts, %d disagreements", tables.Count(r.Size.Computes), r.OPAAnswered, len(r.Starts), len(r.Disagreements))
}

// sampleStarts picks up to n narrow and n wide starts (wide: reaching at
// least 1 % of the graph). In the generated estates reach is bimodal: most
// computes and identities reach a handful of nodes, about one in ten
// reaches into the one large component that the escalating roles join.
// Candidates alternate between computes and identities, spread evenly
// over each; the first n of each class are taken. It returns the starts
// and what each reaches, ascending.
func sampleStarts(a *analyzerkit.Analysis, e *analyzerkit.Estate, n int) ([]Start, [][]int32) {
	n = max(1, n)
	const candidates = 1000
	var starts []Start
	var reached [][]int32
	var narrow, wide int
	for k := 0; k < candidates && (narrow < n || wide < n); k++ {
		for _, c := range []struct {
			kind string
			node int32
		}{
			{"compute", a.ComputeNode(k * e.Computes() / candidates % e.Computes())},
			{"identity", a.IdentityNode(k * e.Identities() / candidates % e.Identities())},
		} {
			nodes := a.Reachable(c.node)
			isWide := len(nodes)*100 >= a.Nodes()
			if isWide && wide >= n || !isWide && narrow >= n || slices.ContainsFunc(starts, func(s Start) bool { return s.Node == c.node }) {
				continue
			}
			if isWide {
				wide++
			} else {
				narrow++
			}
			slices.Sort(nodes)
			starts = append(starts, Start{Node: c.node, Kind: c.kind, Wide: isWide, Reached: len(nodes)})
			reached = append(reached, nodes)
		}
	}
	return starts, reached
}

func class(starts []Start, wide bool) []Start {
	var out []Start
	for _, s := range starts {
		if s.Wide == wide {
			out = append(out, s)
		}
	}
	return out
}

func className(wide bool) string {
	if wide {
		return "wide"
	}
	return "narrow"
}

func field[T any](ss []Start, f func(Start) T) []T {
	out := make([]T, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

// diff describes how two ascending node lists differ, or returns "".
func diff(mimic, opa []int32) string {
	if slices.Equal(mimic, opa) {
		return ""
	}
	i, j := 0, 0
	for i < len(mimic) && j < len(opa) && mimic[i] == opa[j] {
		i, j = i+1, j+1
	}
	first := ""
	switch {
	case i < len(mimic) && (j >= len(opa) || mimic[i] < opa[j]):
		first = fmt.Sprintf("node %d reached by mimic only", mimic[i])
	case j < len(opa):
		first = fmt.Sprintf("node %d reached by opa only", opa[j])
	}
	return fmt.Sprintf("mimic reached %d nodes, opa %d; first difference: %s", len(mimic), len(opa), first)
}

// Failed reports whether OPA and mimic disagreed anywhere (or an OPA
// query failed).
func Failed(reports []Report) bool {
	for _, r := range reports {
		if len(r.Disagreements) > 0 {
			return true
		}
	}
	return false
}

// Table renders the reports as Markdown: the scale table, OPA's load, the
// reachability table, the agreement and the targets.
func Table(reports []Report, cfg Config) string {
	var b strings.Builder
	b.WriteString("| computes | identities | assignments | graph nodes | graph edges | generate | build (CPU) | heap: estate | heap: analysis | RSS after build (peak) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range reports {
		peak := "?"
		if r.PeakRSSMiB > 0 {
			peak = fmt.Sprintf("%.0f", r.PeakRSSMiB)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s (%s) | %.0f MiB | %.0f MiB | %.0f MiB (%s MiB) |\n",
			tables.Count(r.Size.Computes), tables.Count(r.Size.Identities), tables.Count(r.Size.Assignments), tables.Thousands(int64(r.Nodes)), tables.Thousands(int64(r.Edges)),
			secs(r.Generate), secs(r.Build), secs(r.BuildCPU), r.EstateMiB, r.AnalysisMiB, r.RSSMiB, peak)
	}

	b.WriteString("\n| computes | export adjacency | OPA data load (CPU) | OPA heap | RSS after |\n|---|---|---|---|---|\n")
	for _, r := range reports {
		switch {
		case r.OPASkipped != "":
			fmt.Fprintf(&b, "| %s | – | %s | – | – |\n", tables.Count(r.Size.Computes), r.OPASkipped)
		case r.OPALoadErr != nil:
			fmt.Fprintf(&b, "| %s | %s | did not load in %.0f s | – | – |\n", tables.Count(r.Size.Computes), secs(r.Export), r.OPALoad.Seconds())
		default:
			fmt.Fprintf(&b, "| %s | %s | %s (%s) | %.0f MiB | %.0f MiB |\n", tables.Count(r.Size.Computes), secs(r.Export), secs(r.OPALoad), secs(r.OPALoadCPU), r.OPAHeapMiB, r.OPARSS)
		}
	}

	b.WriteString("\n| computes | starts | nodes reached, median | mimic Reachable, median (min–max) | blast-radius search, median | OPA graph.reachable, median (min–max) | OPA ÷ Reachable, median (min) | OPA ÷ blast-radius search, median (min) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range reports {
		for _, wide := range []bool{false, true} {
			ss := class(r.Starts, wide)
			if len(ss) == 0 {
				continue
			}
			mt := field(ss, func(s Start) time.Duration { return s.Mimic })
			rt := field(ss, func(s Start) time.Duration { return s.Radius })
			opa, r1, r2 := "–", "–", "–"
			var ot []time.Duration
			var q1, q2 []float64
			for _, s := range ss {
				if s.OPA > 0 {
					ot = append(ot, s.OPA)
					q1 = append(q1, float64(s.OPA)/float64(s.MimicPaired))
					q2 = append(q2, float64(s.OPA)/float64(s.RadiusPaired))
				}
			}
			switch {
			case r.OPASkipped != "":
				opa = r.OPASkipped
			case r.OPALoadErr != nil:
				opa = "did not load"
			case len(ot) > 0:
				opa = fmt.Sprintf("%s (%s–%s)", dur(median(ot)), dur(slices.Min(ot)), dur(slices.Max(ot)))
				r1 = fmt.Sprintf("%s× (%s×)", ratio(median(q1)), ratio(slices.Min(q1)))
				r2 = fmt.Sprintf("%s× (%s×)", ratio(median(q2)), ratio(slices.Min(q2)))
			}
			if r.OPASkipped == "" && r.OPALoadErr == nil && len(ot) < len(ss) {
				opa += fmt.Sprintf("; %d of %d answered", len(ot), len(ss))
				if r.OPAUnfinished {
					opa += fmt.Sprintf(", a query did not finish in %.0f s", cfg.QueryBox.Seconds())
					if r.OPAUnfinishedAfter > 0 {
						opa += fmt.Sprintf(" (it took %s)", secs(r.OPAUnfinishedAfter))
					}
				}
			}
			fmt.Fprintf(&b, "| %s | %d %s | %s | %s (%s–%s) | %s | %s | %s | %s |\n", tables.Count(r.Size.Computes), len(ss), className(wide),
				tables.Thousands(int64(median(field(ss, func(s Start) int { return s.Reached })))), dur(median(mt)), dur(slices.Min(mt)), dur(slices.Max(mt)), dur(median(rt)), opa, r1, r2)
		}
	}
	b.WriteString("\n")
	for _, r := range reports {
		if r.OPASkipped != "" || r.OPALoadErr != nil {
			continue
		}
		fmt.Fprintf(&b, "%s computes: OPA answered %d of %d starts; %d disagreements with mimic on the reached sets.\n",
			tables.Count(r.Size.Computes), r.OPAAnswered, len(r.Starts), len(r.Disagreements))
		tables.WriteList(&b, r.Disagreements, 10)
	}
	b.WriteString("\n")
	for _, r := range reports {
		fmt.Fprintf(&b, "%s computes: built in %s (%s CPU)", tables.Count(r.Size.Computes), secs(r.Build), secs(r.BuildCPU))
		if rs := ratios(r); len(rs) > 0 {
			v := "met"
			if slices.Min(rs) < 50 {
				v = "NOT met"
			}
			fmt.Fprintf(&b, "; ≥ 50× faster than OPA graph.reachable (Reachable, every start OPA answered: %d of %d): %s× median, %s× at worst (%s)",
				len(rs), len(r.Starts), ratio(median(rs)), ratio(slices.Min(rs)), v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// ratios is OPA's time over Reachable's (paired), per start OPA answered.
func ratios(r Report) []float64 {
	var out []float64
	for _, s := range r.Starts {
		if s.OPA > 0 && s.MimicPaired > 0 {
			out = append(out, float64(s.OPA)/float64(s.MimicPaired))
		}
	}
	return out
}

func ratio(x float64) string {
	if x < 10 {
		return fmt.Sprintf("%.1f", x)
	}
	return tables.Thousands(int64(int(x + 0.5)))
}

func median[T int | float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func mib(b uint64) float64 { return float64(int64(b)) / (1 << 20) }

func secs(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d >= time.Microsecond:
		return fmt.Sprintf("%.1f µs", float64(d)/1e3)
	}
	return fmt.Sprintf("%d ns", d.Nanoseconds())
}
