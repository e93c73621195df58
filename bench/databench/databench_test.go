package databench

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestHarness runs the whole harness at a tiny scale (a few hundred
// milliseconds of load per target, four connections), so that it cannot
// rot: both servers must answer the probe with 200 and the 1 KiB blob,
// and every request of every load run must have been a 200 with the
// right body (Load fails otherwise). It builds mimic and, the first time,
// installs Azurite with npm ci. Without node it skips, unless MIMIC_STRICT
// is set, when it fails.
func TestHarness(t *testing.T) {
	if err := CheckNode(); err != nil {
		if os.Getenv("MIMIC_STRICT") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{
		Limits: Limits{Concurrency: 4, Warmup: 100 * time.Millisecond, Duration: 300 * time.Millisecond, MaxRequests: 2000},
		Rounds: 1, Single: true, Log: testLog{t}, AzuriteVariants: [][]string{nil, AzuriteFastest},
	})
	if errors.Is(err, ErrNoNode) && os.Getenv("MIMIC_STRICT") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("0123456789abcdef"), BlobSize/16)
	servers := map[string]bool{}
	for _, p := range rep.Probes {
		if !p.OK || p.Status != http.StatusOK {
			t.Errorf("%s: probe answered %d %.200q", p.Target, p.Status, p.Body)
		}
		if strings.Contains(p.Target, "Blob") {
			if !bytes.Equal(p.Body, want) {
				t.Errorf("%s: body of %d bytes, want the 1 KiB blob", p.Target, len(p.Body))
			}
			servers[strings.Fields(p.Target)[0]] = true
		}
	}
	if len(servers) != 2 || !servers["mimic"] || !servers["Azurite"] {
		t.Errorf("blob probes of %v, want mimic and Azurite", servers)
	}
	if len(rep.Blob) != 1 || len(rep.Blob[0]) != 3 || len(rep.BlobSingle) != 1 || len(rep.BlobSingle[0]) != 3 || len(rep.KV) != 2 {
		t.Fatalf("results: %d blob rounds, %d single, %d KV", len(rep.Blob), len(rep.BlobSingle), len(rep.KV))
	}
	all := slices.Concat(rep.Blob[0], rep.BlobSingle[0], rep.KV)
	for _, r := range all {
		if r.Requests == 0 || r.PerSecond <= 0 || r.P50 <= 0 || r.P99 < r.P50 {
			t.Errorf("%s c=%d: %+v", r.Target, r.Concurrency, r)
		}
		if r.Requests > 2000 {
			t.Errorf("%s: %d requests, beyond the cap of 2000", r.Target, r.Requests)
		}
	}
	md := rep.Markdown()
	for _, s := range []string{"| mimic Blob GET 1 KiB (round 1) | 4 |", "| Azurite Blob GET 1 KiB (round 1) | 4 |", "mimic / Azurite req/s, c=4", "mimic / Azurite --inMemoryPersistence --silent req/s, c=4", "| mimic Key Vault GET secret | 1 |"} {
		if !strings.Contains(md, s) {
			t.Errorf("Markdown lacks %q:\n%s", s, md)
		}
	}
	t.Log("\n" + md)
}

// testLog sends the harness's progress to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestAzuriteToken(t *testing.T) {
	tok, err := azuriteToken("tid", "oid", "cid", time.Unix(1_800_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	for _, c := range []string{`"aud":"https://storage.azure.com"`, `"iss":"https://sts.windows.net/tid/"`, `"exp":1800007200`, `"nbf":1799999700`, `"iat":1799999700`} {
		if !strings.Contains(decodeSeg(t, parts[1]), c) {
			t.Errorf("claims lack %s: %s", c, decodeSeg(t, parts[1]))
		}
	}
}

func decodeSeg(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFormatting(t *testing.T) {
	for _, c := range []struct {
		x    float64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {1234567.4, "1,234,567"}} {
		if got := thousands(c.x); got != c.want {
			t.Errorf("thousands(%v) = %q, want %q", c.x, got, c.want)
		}
	}
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median = %v", got)
	}
	if got := fmtDur(1500 * time.Microsecond); got != "1.50 ms" {
		t.Errorf("fmtDur = %q", got)
	}
}
