// Command authzbench measures mimic's authorization engine against a plain
// map index, OPA and Casbin at several sizes, in one process, and prints a
// Markdown table, the agreement check and issue 4's targets. It exits 1 if
// any checker disagrees with the brute-force reference on the sample.
//
//	go run ./cmd/authzbench [-sizes 10000,100000,1000000] [-engines mimic,map,opa,casbin]
//	                        [-loadbox 60s] [-querybox 8s]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/bench/authz"
	"github.com/mimic-emu/mimic/bench/procstat"
	"github.com/mimic-emu/mimic/bench/tables"
)

func main() {
	cfg := authz.DefaultConfig()
	sizes := flag.String("sizes", "10000,100000,1000000", "comma-separated numbers of role assignments")
	engines := flag.String("engines", "mimic,map,opa,casbin", "comma-separated contenders")
	flag.DurationVar(&cfg.LoadBox, "loadbox", cfg.LoadBox, "time box for each engine's load")
	flag.DurationVar(&cfg.QueryBox, "querybox", cfg.QueryBox, "time box for each timed phase of each checker")
	quiet := flag.Bool("q", false, "no progress on stderr")
	flag.Parse()

	var err error
	if cfg.Sizes, err = tables.ParseSizes(*sizes, 1); err != nil {
		fmt.Fprintf(os.Stderr, "authzbench: -sizes: %v\n", err)
		os.Exit(2)
	}
	cfg.Engines = nil
	for _, f := range strings.Split(*engines, ",") {
		e, ok := authz.EngineByName(strings.TrimSpace(f))
		if !ok {
			fmt.Fprintf(os.Stderr, "authzbench: unknown engine %q\n", f)
			os.Exit(2)
		}
		cfg.Engines = append(cfg.Engines, e)
	}
	if !*quiet {
		cfg.Log = os.Stderr
	}

	t0 := time.Now()
	loadBefore := procstat.LoadAvg()
	reports := authz.Run(cfg)
	fmt.Printf("%s\n\n", procstat.Describe(loadBefore))
	fmt.Print(authz.Table(reports))
	fmt.Printf("\ntotal %v\n", time.Since(t0).Round(time.Second))
	for _, r := range reports {
		if len(r.Disagreements) > 0 {
			os.Exit(1)
		}
	}
}
