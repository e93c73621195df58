// Command databench measures mimic's data planes beside their peer in one
// run: 1 KiB Blob GETs with bearer tokens against mimic (through its
// proxy) and Azurite (--oauth basic, HTTPS), taking turns round by round,
// and Key Vault GET secret against mimic. Azurite runs as issue 4 asks
// (data on disk) and, unless -azurite-memory=false, a second time in its
// fastest configuration (in memory, no console log). It prints Markdown
// tables on standard output and progress on standard error. See package
// databench and bench/README.md.
//
//	cd bench && go run ./cmd/databench            # ~4 min
//	go run ./cmd/databench -rounds 1 -duration 3s # quick look
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mimic-emu/mimic/bench/databench"
)

func main() {
	var cfg databench.Config
	var azArgs string
	var azMemory bool
	var minRatio float64
	flag.IntVar(&cfg.Concurrency, "c", 32, "concurrent connections")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured time per target and round")
	flag.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "warm-up before each measurement")
	flag.DurationVar(&cfg.FirstWarmup, "first-warmup", 10*time.Second, "warm-up of each Blob target before its first round")
	flag.IntVar(&cfg.MaxRequests, "max-requests", 2_000_000, "request cap per measurement")
	flag.IntVar(&cfg.Rounds, "rounds", 3, "alternated mimic / Azurite Blob rounds")
	flag.BoolVar(&cfg.Single, "single", true, "also measure at concurrency 1")
	flag.StringVar(&cfg.MimicBin, "mimic", "", "a prebuilt mimic binary (default: build ../cmd/mimic)")
	flag.StringVar(&cfg.MimicSrc, "mimic-src", "", "mimic's module root (default: the bench module's replace target)")
	flag.StringVar(&cfg.NodeDir, "node-dir", "", "directory of the package.json pinning Azurite (default: bench/node)")
	flag.StringVar(&azArgs, "azurite-args", "", "extra flags for Azurite, space-separated (default none: data on disk, access log on the console)")
	flag.BoolVar(&azMemory, "azurite-memory", true, "also compare with a second Azurite run with "+strings.Join(databench.AzuriteFastest, " ")+" (its fastest configuration)")
	flag.StringVar(&cfg.Dir, "dir", "", "work directory, kept (default: a temporary one, removed)")
	flag.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of mimic during its first Blob run, and one (NAME-kv.EXT) during its Key Vault run (builds mimic with a pprof listener)")
	flag.Float64Var(&minRatio, "min-ratio", 0, "exit 1 if mimic's median Blob req/s is below this multiple of the fastest Azurite's")
	flag.Parse()
	cfg.AzuriteVariants = [][]string{strings.Fields(azArgs)}
	if azMemory {
		cfg.AzuriteVariants = append(cfg.AzuriteVariants, databench.AzuriteFastest)
	}
	cfg.Log = os.Stderr

	// SIGINT and SIGTERM end the run; its deferred calls stop the servers.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := databench.Run(ctx, cfg)
	if rep != nil && len(rep.Probes) > 0 {
		fmt.Print(rep.Markdown())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "databench:", err)
		os.Exit(1)
	}
	if minRatio > 0 && rep.Ratio() < minRatio {
		fmt.Fprintf(os.Stderr, "databench: mimic reached %.2f× Azurite, below %.2f×\n", rep.Ratio(), minRatio)
		os.Exit(1)
	}
}
