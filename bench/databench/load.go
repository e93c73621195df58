package databench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Target is what a load run sends: GETs of one URL with fixed headers,
// over HTTPS (HTTP/1.1 with keep-alive, as wrk drives a server), directly
// or through a proxy.
type Target struct {
	Name   string
	URL    string
	Header http.Header
	CA     *x509.CertPool
	Proxy  *url.URL // nil: direct
	// Check accepts a 200 answer's body.
	Check func(body []byte) error
	// Server is the process whose CPU time the run reports; nil for none.
	server *process
}

// Result is one measured load run.
type Result struct {
	Target      string
	Concurrency int
	Requests    int
	Elapsed     time.Duration
	PerSecond   float64
	P50, P99    time.Duration
	Max         time.Duration
	// ServerCPU is the server process's CPU time per request (0 when not
	// known), ClientCPU the harness's own (the load generator's).
	ServerCPU, ClientCPU time.Duration
}

// Limits bound a load run: it stops at Duration or at MaxRequests
// requests, whichever comes first (and when ctx ends).
type Limits struct {
	Concurrency int
	Warmup      time.Duration
	Duration    time.Duration
	MaxRequests int
}

// errStop ends a run's workers after a failed request.
var errStop = errors.New("stop")

// transport is a fresh client transport for a run: exactly concurrency
// keep-alive connections, HTTP/1.1 only, no compression.
func (t *Target) transport(concurrency int) *http.Transport {
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: t.CA, NextProtos: []string{"http/1.1"}},
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConns:        concurrency,
		MaxIdleConnsPerHost: concurrency,
		MaxConnsPerHost:     concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	if t.Proxy != nil {
		tr.Proxy = http.ProxyURL(t.Proxy)
	}
	return tr
}

// Fetch sends one GET and returns the status and body.
func (t *Target) Fetch(ctx context.Context) (int, []byte, error) {
	tr := t.transport(1)
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header = t.Header.Clone()
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// Load warms the target up, then measures it under lim. Every answer must
// be a 200 that Check accepts: the first that is not ends the run with an
// error.
func Load(ctx context.Context, t *Target, lim Limits) (Result, error) {
	c := max(1, lim.Concurrency)
	tr := t.transport(c)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	if lim.Warmup > 0 {
		if _, _, err := run(ctx, hc, t, c, lim.Warmup, lim.MaxRequests, false); err != nil {
			return Result{}, fmt.Errorf("%s: warm-up: %w", t.Name, err)
		}
	}
	var srv0 time.Duration
	srvOK := false
	if t.server != nil {
		srv0, srvOK = t.server.cpuTime()
	}
	cli0, cliOK := selfCPUTime()
	lat, elapsed, err := run(ctx, hc, t, c, lim.Duration, lim.MaxRequests, true)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", t.Name, err)
	}
	res := Result{Target: t.Name, Concurrency: c, Requests: len(lat), Elapsed: elapsed}
	if len(lat) == 0 {
		return res, fmt.Errorf("%s: no request completed", t.Name)
	}
	if srvOK {
		if srv1, ok := t.server.cpuTime(); ok {
			res.ServerCPU = (srv1 - srv0) / time.Duration(len(lat))
		}
	}
	if cliOK {
		if cli1, ok := selfCPUTime(); ok {
			res.ClientCPU = (cli1 - cli0) / time.Duration(len(lat))
		}
	}
	slices.Sort(lat)
	res.PerSecond = float64(len(lat)) / elapsed.Seconds()
	res.P50 = lat[len(lat)/2]
	res.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	res.Max = lat[len(lat)-1]
	return res, nil
}

// run sends requests from c workers until d has passed or maxRequests
// have been sent, and returns each request's latency when record.
func run(ctx context.Context, hc *http.Client, t *Target, c int, d time.Duration, maxRequests int, record bool) ([]time.Duration, time.Duration, error) {
	if maxRequests <= 0 {
		maxRequests = 10_000_000
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		sent    atomic.Int64
		wg      sync.WaitGroup
		mu      sync.Mutex
		all     []time.Duration
		failure error
	)
	fail := func(err error) {
		mu.Lock()
		if failure == nil {
			failure = err
		}
		mu.Unlock()
		cancel(errStop)
	}
	start := time.Now()
	deadline := start.Add(d)
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
			if err != nil {
				fail(err)
				return
			}
			req.Header = t.Header.Clone()
			var lat []time.Duration
			if record {
				lat = make([]time.Duration, 0, 4096)
			}
			var body bytes.Buffer
			for ctx.Err() == nil && sent.Add(1) <= int64(maxRequests) {
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				resp, err := hc.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						fail(err)
					}
					break
				}
				body.Reset()
				_, err = body.ReadFrom(resp.Body)
				resp.Body.Close()
				el := time.Since(t0)
				if err != nil {
					fail(err)
					break
				}
				if resp.StatusCode != http.StatusOK {
					fail(fmt.Errorf("status %d: %.300s", resp.StatusCode, body.Bytes()))
					break
				}
				if err := t.Check(body.Bytes()); err != nil {
					fail(err)
					break
				}
				if record {
					lat = append(lat, el)
				}
			}
			if record {
				mu.Lock()
				all = append(all, lat...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if failure != nil {
		return nil, 0, failure
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	return all, elapsed, nil
}
