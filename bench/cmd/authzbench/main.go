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
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/bench/authz"

	"github.com/mimic-emu/mimic/bench/procstat"
)

func main() {
	cfg := authz.DefaultConfig()
	sizes := flag.String("sizes", "10000,100000,1000000", "comma-separated numbers of role assignments")
	engines := flag.String("engines", "mimic,map,opa,casbin", "comma-separated contenders")
	flag.DurationVar(&cfg.LoadBox, "loadbox", cfg.LoadBox, "time box for each engine's load")
	flag.DurationVar(&cfg.QueryBox, "querybox", cfg.QueryBox, "time box for each timed phase of each checker")
	quiet := flag.Bool("q", false, "no progress on stderr")
	flag.Parse()

	cfg.Sizes = nil
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "authzbench: bad size %q\n", f)
			os.Exit(2)
		}
		cfg.Sizes = append(cfg.Sizes, n)
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
	fmt.Printf("%s, %s/%s, GOMAXPROCS=%d, %s; load average %s before, %s after (other jobs share the host: compare ratios)\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), time.Now().UTC().Format("2006-01-02 15:04 MST"), loadBefore, procstat.LoadAvg())
	fmt.Print(authz.Table(reports))
	fmt.Printf("\ntotal %v\n", time.Since(t0).Round(time.Second))
	for _, r := range reports {
		if len(r.Disagreements) > 0 {
			os.Exit(1)
		}
	}
}
