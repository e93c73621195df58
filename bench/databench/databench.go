// Package databench measures mimic's data planes against their peer, in
// one run on one machine (issue 4): 1 KiB Blob GETs with bearer tokens
// against mimic and against Azurite, and Key Vault GET secret against
// mimic.
//
// Both servers run as separate processes, as users run them: `mimic up`
// (built from this checkout, in a fresh temporary home, on free ports),
// reached at https://{account}.blob.core.windows.net through its
// intercepting proxy with the CA from its profile.json; and Azurite's
// azurite-blob (the version pinned in bench/node, installed with npm ci)
// over HTTPS with a self-signed certificate, --oauth basic, its data in a
// temporary directory. The estate is created through mimic's own ARM and
// data planes, as its operator: a storage account, a container, a blob, a
// vault and a secret, with the operator granted Storage Blob Data
// Contributor and Key Vault Secrets Officer. Azurite gets the same
// container and blob.
//
// The load generator is a bounded Go loop (a fixed duration and a request
// cap): c workers, each with its own keep-alive HTTP/1.1 connection,
// sending the same GET with the same bearer token, checking that every
// answer is a 200 with the expected body. The mimic and Azurite Blob runs
// alternate, round by round, so that the ratio compares figures taken
// under the same machine load. Every server stops when the run ends,
// including on a panic, a timeout or a kill of the harness (Linux: a
// parent-death signal).
package databench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Config is a run's configuration.
type Config struct {
	Limits
	// Rounds is the number of alternated mimic / Azurite Blob runs.
	Rounds int
	// FirstWarmup, if longer than Warmup, is the warm-up of each Blob
	// target's first round (Node's JIT and Azurite's caches take a few
	// seconds to settle).
	FirstWarmup time.Duration
	// Single also measures every target at concurrency 1.
	Single bool
	// MimicSrc is the mimic module's root; "" finds it with go list.
	MimicSrc string
	// MimicBin is a prebuilt mimic; "" builds one from MimicSrc.
	MimicBin string
	// NodeDir holds the package.json pinning Azurite; "" is bench/node.
	NodeDir string
	// AzuriteVariants are the Azurite servers to compare with, each the
	// flags added to azurite-blob's command line; nil is one Azurite with
	// none added (data on disk, access log on the console).
	AzuriteVariants [][]string
	// Dir is the work directory (homes, logs); "" makes a temporary one
	// and removes it.
	Dir string
	// CPUProfile, if set, is where a CPU profile of mimic taken during
	// its first Blob run is written, and with "-kv" before the extension
	// one taken during its Key Vault run (mimic is then built with a pprof
	// listener).
	CPUProfile string
	// Log receives progress; nil discards it.
	Log io.Writer
}

// Probe is one server's answer to a single GET made before the load.
type Probe struct {
	Target string
	Status int
	Body   []byte
	OK     bool // status 200 and the expected body
}

// Report is a run's results.
type Report struct {
	Started                time.Time
	LoadBefore, LoadAfter  string
	GoVersion, NodeVersion string
	AzuriteVersion         string
	AzuriteVariants        [][]string
	Limits                 Limits
	FirstWarmup            time.Duration
	Probes                 []Probe
	// Blob holds, per round, mimic's result and then each Azurite
	// variant's at Limits' concurrency; BlobSingle the same at
	// concurrency 1 (Single).
	Blob       [][]Result
	BlobSingle [][]Result
	// KV holds mimic's GET secret results (concurrency c, then 1).
	KV []Result
	// Token lengths, mimic's and Azurite's.
	MimicToken, AzuriteToken int
	CPUProfiles              []string
}

// BlobSize is the blob's size.
const BlobSize = 1024

// AzuriteFastest are the flags of Azurite's fastest configuration: data
// in memory, no access log on the console (research/peers.md measured
// Azurite so).
var AzuriteFastest = []string{"--inMemoryPersistence", "--silent"}

// azuriteLabel names an Azurite variant in tables.
func azuriteLabel(flags []string) string {
	if len(flags) == 0 {
		return "Azurite"
	}
	return "Azurite " + strings.Join(flags, " ")
}

// Run builds and starts the servers, creates the estate, measures and
// stops everything.
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	log := cfg.Log
	if log == nil {
		log = io.Discard
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 32
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if len(cfg.AzuriteVariants) == 0 {
		cfg.AzuriteVariants = [][]string{nil}
	}
	cfg.Rounds = max(1, cfg.Rounds)
	benchDir, mimicDir, err := moduleDirs(cfg.MimicSrc)
	if err != nil {
		return nil, err
	}
	if cfg.NodeDir == "" {
		cfg.NodeDir = filepath.Join(benchDir, "node")
	}
	// Node first: without it there is nothing to compare.
	mainJS, azVersion, err := ensureAzurite(ctx, cfg.NodeDir, log)
	if err != nil {
		return nil, err
	}
	dir := cfg.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "databench-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	bin := cfg.MimicBin
	if bin == "" || cfg.CPUProfile != "" {
		if bin, err = buildMimic(ctx, mimicDir, dir, cfg.CPUProfile != "", log); err != nil {
			return nil, err
		}
	}

	rep = &Report{Started: time.Now().UTC(), LoadBefore: loadAverage(), GoVersion: runtime.Version(),
		AzuriteVersion: azVersion, AzuriteVariants: cfg.AzuriteVariants, Limits: cfg.Limits, FirstWarmup: cfg.FirstWarmup}
	if out, err := exec.CommandContext(ctx, "node", "--version").Output(); err == nil {
		rep.NodeVersion = strings.TrimSpace(string(out))
	}

	fmt.Fprintln(log, "starting mimic")
	m, err := startMimic(ctx, bin, dir, cfg.CPUProfile != "")
	if err != nil {
		return nil, err
	}
	defer m.stop()
	content := bytes.Repeat([]byte("0123456789abcdef"), BlobSize/16)
	est, err := m.setup(ctx, content)
	if err != nil {
		return nil, fmt.Errorf("set up mimic's estate: %w\nmimic's log:\n%s", err, m.proc.tail())
	}
	azTok, err := azuriteToken(est.tenant, m.prof.Operator.ObjectID, m.prof.Operator.ClientID, time.Now())
	if err != nil {
		return nil, err
	}
	rep.MimicToken, rep.AzuriteToken = len(est.blobToken), len(azTok)

	blobCheck := func(body []byte) error {
		if !bytes.Equal(body, content) {
			return fmt.Errorf("body of %d bytes is not the blob: %.200q", len(body), body)
		}
		return nil
	}
	secretMarker := []byte(`"value":"` + est.secretValue + `"`)
	kvCheck := func(body []byte) error {
		if !bytes.Contains(body, secretMarker) {
			return fmt.Errorf("not the secret: %.300s", body)
		}
		return nil
	}
	blobTargets := []*Target{{Name: "mimic Blob GET 1 KiB", URL: est.blobURL, CA: m.ca, Proxy: m.proxyURL, Check: blobCheck, server: m.proc,
		Header: http.Header{"Authorization": {"Bearer " + est.blobToken}, "X-Ms-Version": {blobVersion}}}}
	var azurites []*azuriteServer
	for i, flags := range cfg.AzuriteVariants {
		fmt.Fprintf(log, "starting %s\n", azuriteLabel(flags))
		azDir := filepath.Join(dir, fmt.Sprintf("azurite-%d", i))
		if err := os.MkdirAll(azDir, 0o700); err != nil {
			return nil, err
		}
		az, err := startAzurite(ctx, mainJS, azDir, flags)
		if err != nil {
			return nil, err
		}
		defer az.stop()
		azurites = append(azurites, az)
		azURL, err := az.setup(ctx, azTok, content)
		if err != nil {
			return nil, fmt.Errorf("%w\nazurite's log:\n%s", err, az.proc.tail())
		}
		blobTargets = append(blobTargets, &Target{Name: azuriteLabel(flags) + " Blob GET 1 KiB", URL: azURL, CA: az.ca, Check: blobCheck, server: az.proc,
			Header: http.Header{"Authorization": {"Bearer " + azTok}, "X-Ms-Version": {blobVersion}}})
	}
	mimicKV := &Target{Name: "mimic Key Vault GET secret", URL: est.secretURL, CA: m.ca, Proxy: m.proxyURL, Check: kvCheck, server: m.proc,
		Header: http.Header{"Authorization": {"Bearer " + est.vaultToken}}}

	for _, t := range append(slices.Clone(blobTargets), mimicKV) {
		status, body, err := t.Fetch(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Name, err)
		}
		p := Probe{Target: t.Name, Status: status, Body: body, OK: status == http.StatusOK && t.Check(body) == nil}
		rep.Probes = append(rep.Probes, p)
		if !p.OK {
			return rep, fmt.Errorf("%s answered %d: %.300s", t.Name, status, body)
		}
	}

	// measure runs one load, with a CPU profile of mimic when profile is
	// a path.
	measure := func(t *Target, lim Limits, profile string) (Result, error) {
		fmt.Fprintf(log, "%s, c=%d, %s\n", t.Name, lim.Concurrency, lim.Duration)
		var prof chan error
		if profile != "" {
			prof = make(chan error, 1)
			go func() { prof <- m.cpuProfile(ctx, lim.Warmup, lim.Duration, profile) }()
		}
		r, err := Load(ctx, t, lim)
		if prof != nil {
			if perr := <-prof; perr != nil && err == nil {
				err = fmt.Errorf("CPU profile: %w", perr)
			}
			rep.CPUProfiles = append(rep.CPUProfiles, profile)
		}
		return r, err
	}
	single := cfg.Limits
	single.Concurrency = 1
	for i := range cfg.Rounds {
		var row []Result
		lim := cfg.Limits
		if i == 0 {
			lim.Warmup = max(lim.Warmup, cfg.FirstWarmup)
		}
		for j, t := range blobTargets {
			profile := ""
			if i == 0 && j == 0 {
				profile = cfg.CPUProfile
			}
			r, err := measure(t, lim, profile)
			if err != nil {
				return rep, err
			}
			row = append(row, r)
		}
		rep.Blob = append(rep.Blob, row)
	}
	if cfg.Single {
		var row []Result
		for _, t := range blobTargets {
			r, err := measure(t, single, "")
			if err != nil {
				return rep, err
			}
			row = append(row, r)
		}
		rep.BlobSingle = append(rep.BlobSingle, row)
	}
	kvProfile := ""
	if cfg.CPUProfile != "" {
		ext := filepath.Ext(cfg.CPUProfile)
		if strings.HasSuffix(cfg.CPUProfile, ".pb.gz") {
			ext = ".pb.gz"
		}
		kvProfile = strings.TrimSuffix(cfg.CPUProfile, ext) + "-kv" + ext
	}
	r, err := measure(mimicKV, cfg.Limits, kvProfile)
	if err != nil {
		return rep, err
	}
	rep.KV = append(rep.KV, r)
	if cfg.Single {
		if r, err = measure(mimicKV, single, ""); err != nil {
			return rep, err
		}
		rep.KV = append(rep.KV, r)
	}
	rep.LoadAfter = loadAverage()
	if m.proc.exited() {
		return rep, errors.New("mimic exited during the run")
	}
	for _, az := range azurites {
		if az.proc.exited() {
			return rep, errors.New("azurite exited during the run")
		}
	}
	return rep, nil
}

// cpuProfile fetches a CPU profile of mimic covering a load run that
// starts now: it skips the warm-up and profiles most of the measurement.
func (m *mimicServer) cpuProfile(ctx context.Context, warmup, d time.Duration, path string) error {
	select {
	case <-time.After(warmup + 200*time.Millisecond):
	case <-ctx.Done():
		return ctx.Err()
	}
	secs := max(1, int((d-500*time.Millisecond)/time.Second))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", m.pprofAddr, secs), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: time.Duration(secs+30) * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof: %d %s", resp.StatusCode, b)
	}
	return os.WriteFile(path, b, 0o644)
}

// moduleDirs finds the bench module's directory and mimic's (the replace
// target), from go list, falling back on this file's location.
func moduleDirs(mimicSrc string) (bench, mimic string, err error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/mimic-emu/mimic/bench", "github.com/mimic-emu/mimic").Output()
	if f := strings.Fields(string(out)); err == nil && len(f) == 2 {
		bench, mimic = f[0], f[1]
	} else if _, file, _, ok := runtime.Caller(0); ok {
		bench = filepath.Dir(filepath.Dir(file))
		mimic = filepath.Dir(bench)
	} else {
		return "", "", errors.New("databench: cannot find the bench module; run from bench/")
	}
	if mimicSrc != "" {
		mimic = mimicSrc
	}
	if _, err := os.Stat(filepath.Join(mimic, "cmd", "mimic")); err != nil {
		return "", "", fmt.Errorf("databench: %s is not mimic's module root: %w", mimic, err)
	}
	return bench, mimic, nil
}

// Markdown renders the report as Markdown tables.
func (r *Report) Markdown() string {
	var b strings.Builder
	lim := r.Limits
	fmt.Fprintf(&b, "Run started %s; %s, Node %s, Azurite %s; %d round(s) of %s per target (after a %s warm-up each, %s before the first), the servers taking turns; host load average %s at the start, %s at the end (%d cores, shared).\n\n",
		r.Started.Format("2006-01-02 15:04 UTC"), r.GoVersion, r.NodeVersion, r.AzuriteVersion, len(r.Blob), lim.Duration, lim.Warmup, max(lim.Warmup, r.FirstWarmup),
		r.LoadBefore, r.LoadAfter, runtime.NumCPU())
	b.WriteString("| target | c | requests | req/s | p50 | p99 | server CPU/req | client CPU/req |\n|---|---|---|---|---|---|---|---|\n")
	row := func(label string, x Result) {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", label, x.Concurrency, thousands(float64(x.Requests)), thousands(x.PerSecond),
			fmtDur(x.P50), fmtDur(x.P99), fmtDur(x.ServerCPU), fmtDur(x.ClientCPU))
	}
	for i, p := range r.Blob {
		for _, x := range p {
			row(fmt.Sprintf("%s (round %d)", x.Target, i+1), x)
		}
	}
	for _, p := range r.BlobSingle {
		for _, x := range p {
			row(x.Target, x)
		}
	}
	for _, x := range r.KV {
		row(x.Target, x)
	}
	if len(r.Blob) > 0 {
		b.WriteString("\n| ratio, Blob GET 1 KiB |")
		for i := range r.Blob {
			fmt.Fprintf(&b, " round %d |", i+1)
		}
		b.WriteString(" median |\n|---|")
		for range r.Blob {
			b.WriteString("---|")
		}
		b.WriteString("---|\n")
		ratioRow := func(label string, f func(p []Result) float64) {
			var xs []float64
			fmt.Fprintf(&b, "| %s |", label)
			for _, p := range r.Blob {
				x := f(p)
				xs = append(xs, x)
				fmt.Fprintf(&b, " %.2f× |", x)
			}
			fmt.Fprintf(&b, " **%.2f×** |\n", median(xs))
		}
		for v, flags := range r.AzuriteVariants {
			j := v + 1
			name := azuriteLabel(flags)
			ratioRow(fmt.Sprintf("mimic / %s req/s, c=%d", name, lim.Concurrency), func(p []Result) float64 { return p[0].PerSecond / p[j].PerSecond })
			if r.Blob[0][0].ServerCPU > 0 && r.Blob[0][j].ServerCPU > 0 {
				ratioRow(name+" / mimic, server CPU per request", func(p []Result) float64 {
					return float64(p[j].ServerCPU) / float64(max(1, p[0].ServerCPU))
				})
			}
			ratioRow(name+" / mimic, p99", func(p []Result) float64 { return float64(p[j].P99) / float64(max(1, p[0].P99)) })
		}
	}
	fmt.Fprintf(&b, "\nBearer tokens: mimic's %d bytes (RS256, verified once, then found in the verifier's cache), Azurite's %d bytes (RS256 by a throwaway key: --oauth basic checks the claims, not the signature).\n",
		r.MimicToken, r.AzuriteToken)
	return b.String()
}

// Ratio is the median over rounds of mimic's Blob req/s over that of
// the fastest Azurite variant in the round.
func (r *Report) Ratio() float64 {
	var xs []float64
	for _, p := range r.Blob {
		best := 0.0
		for _, x := range p[1:] {
			best = max(best, x.PerSecond)
		}
		xs = append(xs, p[0].PerSecond/best)
	}
	return median(xs)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "n/a"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
}

// thousands formats a non-negative number rounded to an integer, with
// thousands separators.
func thousands(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
