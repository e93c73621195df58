// Package attack replays a blast radius against a running mimic: it walks
// the analyzer's paths from a compute as an attacker with code execution
// there would, through the real endpoints, and reports every identity it
// obtained and every resource and action it actually exercised.
//
// The only operator act is the foothold: starting a run as the compute (the
// attacker's code is there). Everything after uses the tokens the attacker
// obtains: the compute's token endpoint (IMDS through the proxy, the App
// Service endpoint, a pod's federated exchange), run-command with an
// identity's ARM token, runs started with an identity's token (which
// mimic authorizes exactly like the escalation: write on a site,
// run-command or write on a VM, cluster-admin credentials), role
// assignments written with an identity's token, and the Key Vault and Blob
// data planes. Changes the replay makes (role assignments it grants itself,
// identities it attaches, access policies it adds) are undone at the end
// with the operator's credentials.
//
// A federated credential write trusts the identity to an issuer the
// replay stands up for the attacker (federate.go).
package attack

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/analyzer"
)

// Env is how the replay reaches mimic.
type Env struct {
	ARMURL, AuthorityURL, Proxy string
	Tenant                      string
	// OperatorToken returns an operator token for a resource: the
	// foothold and the clean-up use it, nothing else.
	OperatorToken func(ctx context.Context, resource string) (string, error)
	CA            *x509.CertPool
}

// Obtained is an identity the replay got tokens for.
type Obtained struct {
	Identity string `json:"identity"`
	How      string `json:"how"`
	OK       bool   `json:"ok"`
	Error    string `json:"error,omitempty"`
}

// Exercise is one action the replay tried on a resource.
type Exercise struct {
	Resource   string `json:"resource"`
	Action     string `json:"action"`
	DataAction bool   `json:"dataAction"`
	Identity   string `json:"identity"`
	OK         bool   `json:"ok"`
	Status     int    `json:"status,omitempty"`
	Detail     string `json:"detail,omitempty"`
}

// Report is what a replay did.
type Report struct {
	From       string     `json:"from"`
	Identities []Obtained `json:"identities"`
	Exercised  []Exercise `json:"exercised"`
	// NotReplayed lists path steps the replay could not exercise.
	NotReplayed []string `json:"notReplayed,omitempty"`
	// Beyond are the probes outside the analysis' radius that succeeded:
	// each one is reach the analysis missed.
	Beyond []Exercise `json:"beyond"`
	// Probed counts the probes tried outside the radius.
	Probed int `json:"probed"`
}

// Options tune a replay.
type Options struct {
	// Probe are data resources (vaults, storage accounts) outside the
	// radius to try with every identity the replay obtained; a success is
	// reported in Beyond.
	Probe []string
}

// Resources used in tokens.
const (
	armResource     = "https://management.azure.com/"
	vaultResource   = "https://vault.azure.net"
	storageResource = "https://storage.azure.com"
)

// replay is one replay in progress.
type replay struct {
	env    Env
	direct *http.Client
	proxy  *http.Client
	report *Report
	// sources get tokens for each obtained identity (by key, lower-case).
	sources map[string]tokenSource
	// held are the obtained identities' ids, in the order obtained.
	held []string
	// computes are the computes the replay controls (by id, lower-case).
	computes map[string]*foothold
	cleanup  []func(ctx context.Context)
	// radius is what the replay follows.
	radius *analyzer.Radius
	// clients are closed when the replay ends.
	clients []*http.Client
	// attacker is the issuer federated credential writes trust, once made.
	attacker *attackerIssuer
}

// tokenSource gets a token of an identity for a resource.
type tokenSource func(ctx context.Context, resource string) (string, error)

// Run replays the blast radius r (from the analyzer) of compute from.
func Run(ctx context.Context, env Env, r *analyzer.Radius, opts Options) (*Report, error) {
	if r.StartKind != "compute" {
		return nil, errors.New("attack: a replay starts from a compute")
	}
	proxyURL, err := url.Parse(env.Proxy)
	if err != nil {
		return nil, err
	}
	tlsConf := &tls.Config{RootCAs: env.CA}
	p := &replay{
		env:      env,
		direct:   &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf}},
		proxy:    &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf, Proxy: http.ProxyURL(proxyURL)}},
		report:   &Report{From: r.Start},
		radius:   r,
		sources:  map[string]tokenSource{},
		computes: map[string]*foothold{},
	}
	p.clients = append(p.clients, p.direct, p.proxy)
	defer func() {
		p.undo()
		for _, c := range p.clients {
			c.CloseIdleConnections()
		}
	}()
	// The foothold: the attacker's code runs on the start compute.
	opToken, err := env.OperatorToken(ctx, armResource)
	if err != nil {
		return nil, err
	}
	if _, err := p.startRun(ctx, r.Start, opToken, "foothold"); err != nil {
		return nil, fmt.Errorf("attack: foothold on %s: %w", r.Start, err)
	}
	// Identities and computes, in the order the search reached them: each
	// one's last step is taken with what earlier steps obtained.
	type item struct {
		held     analyzer.Held
		identity bool
	}
	var items []item
	for _, c := range r.Computes {
		items = append(items, item{c, false})
	}
	for _, id := range r.Identities {
		items = append(items, item{id, true})
	}
	sortByPathLength(items, func(i item) int { return len(i.held.Path) })
	for _, it := range items {
		if it.identity {
			p.obtainIdentity(ctx, it.held)
		} else {
			p.controlCompute(ctx, it.held)
		}
	}
	for _, reach := range r.Reach {
		p.exercise(ctx, reach)
	}
	for _, id := range opts.Probe {
		p.probe(ctx, id)
	}
	return p.report, nil
}

func sortByPathLength[T any](items []T, length func(T) int) {
	for i := 1; i < len(items); i++ {
		for j := i; j > 0 && length(items[j]) < length(items[j-1]); j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
}

// undo reverts the replay's changes, newest first, as the operator.
func (p *replay) undo() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := len(p.cleanup) - 1; i >= 0; i-- {
		p.cleanup[i](ctx)
	}
}

// lastStep returns a path's last step.
func lastStep(path []analyzer.Step) analyzer.Step {
	if len(path) == 0 {
		return analyzer.Step{}
	}
	return path[len(path)-1]
}

// do sends a request and returns the status and body.
func (p *replay) do(ctx context.Context, hc *http.Client, method, u, token string, body any, header map[string]string) (int, []byte, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(raw)
		if header == nil {
			header = map[string]string{}
		}
		header["Content-Type"] = "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return p.send(hc, req)
}

// send sends a request and returns the status and body.
func (p *replay) send(hc *http.Client, req *http.Request) (int, []byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, raw, err
}

// arm calls ARM with a token; api is the api-version.
func (p *replay) arm(ctx context.Context, method, path, api, token string, body any) (int, []byte, error) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return p.do(ctx, p.direct, method, strings.TrimSuffix(p.env.ARMURL, "/")+path+sep+"api-version="+api, token, body, nil)
}

// token gets a token of an obtained identity.
func (p *replay) token(ctx context.Context, identity, resource string) (string, error) {
	src := p.sources[strings.ToLower(identity)]
	if src == nil {
		return "", fmt.Errorf("no token source for %s", identity)
	}
	return src(ctx, resource)
}

func (p *replay) note(format string, args ...any) {
	p.report.NotReplayed = append(p.report.NotReplayed, fmt.Sprintf(format, args...))
}

// Disagreements names every difference between the replay and the
// analysis it followed: an identity the analysis says is obtainable but
// the replay could not obtain, an action it says is allowed but the
// replay was refused, and a probe outside the radius that succeeded.
func (r *Report) Disagreements() []string {
	var out []string
	for _, o := range r.Identities {
		if !o.OK {
			out = append(out, fmt.Sprintf("identity %s (%s) was not obtained: %s", o.Identity, o.How, o.Error))
		}
	}
	for _, e := range r.Exercised {
		if !e.OK {
			out = append(out, fmt.Sprintf("%s on %s as %s was refused: %s", e.Action, e.Resource, e.Identity, e.Detail))
		}
	}
	for _, e := range r.Beyond {
		out = append(out, fmt.Sprintf("%s on %s as %s succeeded outside the radius: %s", e.Action, e.Resource, e.Identity, e.Detail))
	}
	return out
}
