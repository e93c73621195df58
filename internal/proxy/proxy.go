// Package proxy is mimic's intercepting HTTP proxy, the route by which
// unmodified programs reach mimic at Azure's real hostnames.
//
// It is an ordinary forward proxy (absolute-form requests and CONNECT
// tunnels) with one difference: for Azure's hostnames (login.microsoftonline.com,
// management.azure.com, *.vault.azure.net, …) it terminates TLS itself,
// with a certificate mimic's CA mints on the fly, and serves mimic's planes.
// Plain-HTTP requests for http://169.254.169.254 reach the IMDS plane. Every
// other destination is tunnelled or forwarded untouched.
//
// Proxy credentials say who is calling. `mimic run --as` gives its program
// credentials that carry the run's secret, and every request of that
// program, tunnelled or not, carries the run in its context (package
// workload). A client without credentials is an operator shell: it reaches
// ARM and the token issuer with its own credentials, but no platform token
// endpoint answers it. Wrong credentials get 407.
package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/workload"
)

// IMDSHost is the instance metadata service's address.
const IMDSHost = "169.254.169.254"

// interceptSuffixes and interceptHosts name the hosts mimic serves itself.
var (
	interceptHosts = map[string]bool{
		"login.microsoftonline.com": true, "login.windows.net": true, "login.microsoft.com": true, "sts.windows.net": true,
		"management.azure.com": true, "management.core.windows.net": true,
		"graph.microsoft.com": true, "graph.windows.net": true,
		IMDSHost: true,
	}
	interceptSuffixes = []string{".vault.azure.net", ".blob.core.windows.net", ".oic.prod-aks.azure.com"}
)

// Intercepted reports whether mimic serves host (no port) itself.
func Intercepted(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if interceptHosts[host] {
		return true
	}
	for _, s := range interceptSuffixes {
		if strings.HasSuffix(host, s) && len(host) > len(s) {
			return true
		}
	}
	return false
}

// Proxy is the proxy's handler.
type Proxy struct {
	Runs *workload.Runs
	// GetCertificate mints certificates for intercepted hosts.
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// Planes serves intercepted HTTPS hosts; requests carry the run.
	Planes http.Handler
	// Plain serves plain-HTTP requests for intercepted hosts (IMDS) and
	// origin-form requests to the proxy's own port (the App Service
	// identity endpoint).
	Plain http.Handler
	// Self reports whether a host:port is the proxy's own address.
	Self func(hostport string) bool
	// Dial opens tunnels and forwarded connections; nil uses net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	once      sync.Once
	tlsConns  *connListener
	tlsServer *http.Server
	runs      sync.Map // net.Conn → *store.Run
	transport *http.Transport
}

func (p *Proxy) init() {
	p.once.Do(func() {
		p.tlsConns = newConnListener()
		p.tlsServer = &http.Server{
			Handler:           p.Planes,
			ReadHeaderTimeout: 30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ConnContext: func(ctx context.Context, c net.Conn) context.Context {
				if run, ok := p.runs.Load(c); ok {
					return workload.WithRun(ctx, run.(*store.Run))
				}
				return ctx
			},
			ConnState: func(c net.Conn, s http.ConnState) {
				if s == http.StateClosed || s == http.StateHijacked {
					p.runs.Delete(c)
				}
			},
			ErrorLog: slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug),
		}
		go p.tlsServer.Serve(p.tlsConns)
		p.transport = &http.Transport{
			Proxy:                 nil,
			DialContext:           p.dial,
			ForceAttemptHTTP2:     false,
			MaxIdleConns:          64,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
		}
	})
}

// Close stops the intercepting server.
func (p *Proxy) Close() error {
	p.init()
	p.tlsConns.Close()
	return p.tlsServer.Close()
}

func (p *Proxy) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if p.Dial != nil {
		return p.Dial(ctx, network, addr)
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	return d.DialContext(ctx, network, addr)
}

// errBadCredentials answers 407.
var errBadCredentials = errors.New("bad proxy credentials")

// caller authenticates the proxy credentials: none is an operator shell,
// a run's secret is that run.
func (p *Proxy) caller(r *http.Request) (*store.Run, error) {
	h := r.Header.Get("Proxy-Authorization")
	if h == "" {
		return nil, nil
	}
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return nil, errBadCredentials
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return nil, errBadCredentials
	}
	_, secret, ok := strings.Cut(string(raw), ":")
	if !ok || secret == "" {
		return nil, errBadCredentials
	}
	run, err := p.Runs.Lookup(r.Context(), secret)
	if errors.Is(err, workload.ErrUnknownRun) {
		return nil, errBadCredentials
	}
	return run, err
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.init()
	run, err := p.caller(r)
	if err != nil {
		w.Header().Set("Proxy-Authenticate", `Basic realm="mimic"`)
		status := http.StatusProxyAuthRequired
		msg := "mimic proxy: the proxy credentials name no running 'mimic run'; drop them for an operator shell, or start the program with 'mimic run --as <compute>'"
		if !errors.Is(err, errBadCredentials) {
			status, msg = http.StatusBadGateway, "mimic proxy: "+err.Error()
		}
		http.Error(w, msg, status)
		return
	}
	r.Header.Del("Proxy-Authorization")
	ctx := workload.WithRun(r.Context(), run)
	r = r.WithContext(ctx)
	switch {
	case r.Method == http.MethodConnect:
		p.connect(w, r, run)
	case r.URL.IsAbs():
		host := r.URL.Hostname()
		switch {
		case p.Self != nil && p.Self(r.URL.Host):
			r.URL.Scheme, r.URL.Host = "", ""
			p.Plain.ServeHTTP(w, r)
		case Intercepted(host):
			if r.URL.Scheme == "https" {
				p.Planes.ServeHTTP(w, r)
			} else {
				p.Plain.ServeHTTP(w, r)
			}
		default:
			p.forward(w, r)
		}
	default:
		p.Plain.ServeHTTP(w, r)
	}
}

// connect serves CONNECT: intercepted hosts are served here, over TLS (or
// plain HTTP for IMDS), and everything else is tunnelled.
func (p *Proxy) connect(w http.ResponseWriter, r *http.Request, run *store.Run) {
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, port = r.Host, "443"
	}
	intercept := Intercepted(host)
	var upstream net.Conn
	if !intercept {
		upstream, err = p.dial(r.Context(), "tcp", net.JoinHostPort(host, port))
		if err != nil {
			http.Error(w, "mimic proxy: cannot reach "+r.Host+": "+err.Error(), http.StatusBadGateway)
			return
		}
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "mimic proxy: CONNECT needs HTTP/1.1", http.StatusHTTPVersionNotSupported)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		if upstream != nil {
			upstream.Close()
		}
		return
	}
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		conn.Close()
		return
	}
	client := bufferedConn{Conn: conn, r: buf.Reader}
	if !intercept {
		tunnel(client, upstream)
		return
	}
	if host == IMDSHost || port == "80" {
		p.servePlain(client, run)
		return
	}
	tc := tls.Server(client, &tls.Config{
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if hello.ServerName == "" {
				hello.ServerName = host
			}
			return p.GetCertificate(hello)
		},
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
	})
	if run != nil {
		p.runs.Store(tc, run)
	}
	if !p.tlsConns.push(tc) {
		tc.Close()
	}
}

// servePlain serves plain HTTP on a tunnel (a CONNECT to IMDS's port 80).
func (p *Proxy) servePlain(c net.Conn, run *store.Run) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(2 * time.Minute))
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		req = req.WithContext(workload.WithRun(context.Background(), run))
		rw := newResponseWriter(c)
		p.Plain.ServeHTTP(rw, req)
		if err := rw.finish(req); err != nil || req.Close {
			return
		}
	}
}

// forward relays an absolute-form request to a host mimic does not serve.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	for _, h := range []string{"Proxy-Connection", "Proxy-Authorization", "Connection", "Keep-Alive", "Te", "Trailer", "Upgrade"} {
		out.Header.Del(h)
	}
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		http.Error(w, "mimic proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func tunnel(a, b net.Conn) {
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		io.Copy(dst, src)
		if tc, ok := dst.(interface{ CloseWrite() error }); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(a, b)
	go cp(b, a)
	<-done
	<-done
	a.Close()
	b.Close()
}

// bufferedConn is a hijacked connection whose reader may hold bytes the
// client sent right after CONNECT (a TLS ClientHello, typically).
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
