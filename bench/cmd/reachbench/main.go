// Command reachbench measures mimic's analyzer at three sizes: estate
// generation, the analysis build (time, CPU, heap, resident set), and the
// reachability core beside OPA's graph.reachable on the same graph, from
// the same sampled starts. It prints Markdown tables and exits 1 if OPA and
// mimic reach different node sets from any start.
//
//	go run ./cmd/reachbench [-sizes 1000,10000,100000] [-starts 4] [-repeats 5]
//	                        [-opa=true] [-loadbox 120s] [-querybox 300s]
//
// A size is a number of computes; the estate has half as many identities
// and ten role assignments per compute.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/mimic-emu/mimic/analyzerkit"
	"github.com/mimic-emu/mimic/bench/procstat"
	"github.com/mimic-emu/mimic/bench/reach"
	"github.com/mimic-emu/mimic/bench/tables"
)

func main() {
	cfg := reach.DefaultConfig()
	sizes := flag.String("sizes", "1000,10000,100000", "comma-separated numbers of computes (identities: half; role assignments: ten times)")
	flag.IntVar(&cfg.Starts, "starts", cfg.Starts, "sampled start nodes of each class (narrow, wide) per size")
	flag.IntVar(&cfg.Repeats, "repeats", cfg.Repeats, "timed searches per start")
	flag.BoolVar(&cfg.OPA, "opa", cfg.OPA, "run OPA's graph.reachable beside mimic")
	flag.DurationVar(&cfg.LoadBox, "loadbox", cfg.LoadBox, "time box for OPA's load at each size")
	flag.DurationVar(&cfg.QueryBox, "querybox", cfg.QueryBox, "time box for OPA's queries at each size")
	quiet := flag.Bool("q", false, "no progress on stderr")
	flag.Parse()

	ns, err := tables.ParseSizes(*sizes, 2)
	if err != nil {
		fmt.Fprintf(os.Stderr, "reachbench: -sizes: %v\n", err)
		os.Exit(2)
	}
	cfg.Sizes = nil
	for _, n := range ns {
		cfg.Sizes = append(cfg.Sizes, analyzerkit.Size{Computes: n, Identities: n / 2, Assignments: 10 * n, Seed: 7})
	}
	if !*quiet {
		cfg.Log = os.Stderr
	}

	t0 := time.Now()
	loadBefore := procstat.LoadAvg()
	reports := reach.Run(cfg)
	fmt.Printf("%s\n\n", procstat.Describe(loadBefore))
	fmt.Print(reach.Table(reports, cfg))
	fmt.Printf("\ntotal %v\n", time.Since(t0).Round(time.Second))
	if reach.Failed(reports) {
		os.Exit(1)
	}
}
