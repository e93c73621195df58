// Package server wires mimic's planes together and runs them: it opens the
// store, creates the tenant on first start, keeps the signing keys and the
// authorization engine current, serves every plane over one TLS listener,
// and writes the profile clients use to find it.
//
// One HTTPS listener serves all planes. Requests are routed by host first:
// Azure's own hostnames (login.microsoftonline.com, management.azure.com…)
// reach their plane, as they do through the intercepting proxy. Requests
// to loopback addresses are routed by path: ARM paths (/subscriptions,
// /providers, /tenants) go to ARM, /mimic/ to mimic's own endpoints, and
// everything else to the token issuer (/{tenant}/oauth2/…).
package server

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/accesslog"
	"github.com/mimic-emu/mimic/internal/aks"
	"github.com/mimic-emu/mimic/internal/appservice"
	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/authorization"
	"github.com/mimic-emu/mimic/internal/arm/compute"
	"github.com/mimic-emu/mimic/internal/arm/containerservice"
	"github.com/mimic-emu/mimic/internal/arm/keyvault"
	"github.com/mimic-emu/mimic/internal/arm/msi"
	"github.com/mimic-emu/mimic/internal/arm/resources"
	"github.com/mimic-emu/mimic/internal/arm/sql"
	"github.com/mimic-emu/mimic/internal/arm/storage"
	"github.com/mimic-emu/mimic/internal/arm/web"
	"github.com/mimic-emu/mimic/internal/directory"
	"github.com/mimic-emu/mimic/internal/home"
	"github.com/mimic-emu/mimic/internal/imds"
	"github.com/mimic-emu/mimic/internal/issuer"
	"github.com/mimic-emu/mimic/internal/jwt"
	"github.com/mimic-emu/mimic/internal/mimicapi"
	"github.com/mimic-emu/mimic/internal/msgraph"
	"github.com/mimic-emu/mimic/internal/pki"
	"github.com/mimic-emu/mimic/internal/proxy"
	"github.com/mimic-emu/mimic/internal/rbac"
	"github.com/mimic-emu/mimic/internal/signin"
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/store/sqlstore"
	"github.com/mimic-emu/mimic/internal/tokens"
	"github.com/mimic-emu/mimic/internal/workload"
)

// Config is what `mimic up` is given.
type Config struct {
	// Home is the MIMIC_HOME directory.
	Home string
	// Store is a postgres:// URL, a SQLite path, or "" for Home/mimic.db.
	Store string
	// Listen is the address to bind; loopback by default.
	Listen string
	// Port is the HTTPS port; 0 picks a free one.
	Port int
	// ProxyPort is the intercepting proxy's port, which also serves the
	// App Service identity endpoint; 0 picks a free one.
	ProxyPort int
	// IMDSRate and IMDSConcurrency are each VM's IMDS limits; zero means
	// no limit (`mimic up` defaults to Azure's 20 per second and 5 at once).
	IMDSRate        float64
	IMDSConcurrency int
	// RunTTL bounds the life of a `mimic run`.
	RunTTL time.Duration
	// ClientTokenLifetime is the lifetime of client-credentials tokens.
	ClientTokenLifetime time.Duration
	// MITokenLifetime is the lifetime of managed identity tokens.
	MITokenLifetime time.Duration
	// KeyRotation is how long a signing key signs before rotation.
	KeyRotation time.Duration
	// StrictRevocation refuses tokens of deleted principals at once.
	StrictRevocation bool
	// PropagationDelay delays the effect of RBAC writes.
	PropagationDelay time.Duration
	// DenyAssignments are files of deny assignments loaded at start.
	DenyAssignments []string
	// LogRetention is how long sign-in and access log entries are kept;
	// zero keeps them forever.
	LogRetention time.Duration
	// TokenLeeway is the clock skew allowed when checking token expiry.
	TokenLeeway time.Duration
	// OIDCIssuerJWKS maps external OIDC issuers to JWKS files that hold
	// their keys, instead of fetching them (--oidc-issuer-jwks).
	OIDCIssuerJWKS map[string]string
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1"
	}
	if c.ClientTokenLifetime == 0 {
		c.ClientTokenLifetime = 3599 * time.Second
	}
	if c.MITokenLifetime == 0 {
		c.MITokenLifetime = 24 * time.Hour
	}
	if c.KeyRotation == 0 {
		c.KeyRotation = 7 * 24 * time.Hour
	}
	if c.RunTTL == 0 {
		c.RunTTL = 7 * 24 * time.Hour
	}
}

// Server is a running mimic.
type Server struct {
	Config  Config
	Tenant  *Tenant
	Store   store.Store
	Profile *home.Profile
	// Created reports whether this start created the tenant.
	Created bool
	// Signins is the sign-in log.
	Signins *signin.Log
	// Access is the access log.
	Access *accesslog.Log

	ring     *jwt.Ring
	keys     *tokens.Keys
	authz    *rbac.Authorizer
	arm      *arm.Server
	aks      *aks.Plane
	issuer   *http.ServeMux
	http     *http.Server
	listener net.Listener
	instance string

	mimicMux      *http.ServeMux
	keyVault      http.Handler
	graph         http.Handler
	blob          http.Handler
	proxy         *proxy.Proxy
	proxyHTTP     *http.Server
	proxyListener net.Listener
}

// Open prepares a server: store, tenant, keys, engine and listener. It does
// not serve until Serve.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	cfg.Defaults()
	if err := os.MkdirAll(cfg.Home, 0o700); err != nil {
		return nil, fmt.Errorf("create home %s: %w", cfg.Home, err)
	}
	dsn := cfg.Store
	if dsn == "" {
		dsn = home.DatabasePath(cfg.Home)
	}
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := &Server{Config: cfg, Store: st, instance: directory.NewGUID()}
	if err := s.init(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) init(ctx context.Context) error {
	now := time.Now
	t, created, err := bootstrap(ctx, s.Store, now())
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	s.Tenant, s.Created = t, created

	s.ring = jwt.NewRing()
	s.keys = &tokens.Keys{Store: s.Store, Ring: s.ring, Now: now, RotateEvery: s.Config.KeyRotation,
		MaxTokenLifetime: max(s.Config.MITokenLifetime, s.Config.ClientTokenLifetime)}
	if err := s.keys.Sync(ctx); err != nil {
		return err
	}
	s.Signins = signin.New(s.Store, now)
	s.Access = accesslog.New(s.Store, now)
	for _, path := range s.Config.DenyAssignments {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("deny assignments: %w", err)
		}
		n, err := authorization.LoadDenyAssignments(ctx, s.Store, path, data)
		if err != nil {
			return fmt.Errorf("deny assignments: %w", err)
		}
		slog.Info("loaded deny assignments", "file", path, "count", n)
	}
	s.authz = rbac.New(s.Store)
	s.authz.Delay = s.Config.PropagationDelay
	if err := s.authz.Load(ctx); err != nil {
		return fmt.Errorf("load role assignments: %w", err)
	}
	minter := &tokens.Minter{Ring: s.ring, Tenant: t.ID, Now: now}
	verifier := &tokens.Verifier{Ring: s.ring, Cache: jwt.NewVerifyCache(s.ring, jwt.DefaultCacheSize), Tenant: t.ID, Now: now, Leeway: s.Config.TokenLeeway}

	reg := arm.NewRegistry()
	resources.Register(reg)
	msi.Register(reg)
	authorization.Register(reg)
	compute.Register(reg)
	web.Register(reg)
	containerservice.Register(reg)
	keyvault.Register(reg)
	storage.Register(reg)
	sql.Register(reg)
	s.aks = &aks.Plane{Store: s.Store, Tenant: t.ID, Now: now}
	s.aks.Register(reg)
	s.arm = &arm.Server{
		Store: s.Store, Tenant: t.ID, Registry: reg, Verifier: verifier, Authz: s.authz, Now: now,
		StrictRevocation: s.Config.StrictRevocation, Minter: minter, MITokenLifetime: s.Config.MITokenLifetime, Access: s.Access,
	}
	s.issuer = http.NewServeMux()
	issuerKeys, err := s.issuerKeys()
	if err != nil {
		return err
	}
	(&issuer.Issuer{Store: s.Store, Tenant: t.ID, Minter: minter, Ring: s.ring, ClientTokenLifetime: s.Config.ClientTokenLifetime,
		Keys: issuerKeys, Signins: s.Signins, Generation: s.arm.Generation.Load}).Mount(s.issuer)

	minterTLS, err := pki.NewMinter(t.CA, nil, now)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.Config.Listen, strconv.Itoa(s.Config.Port)))
	if err != nil {
		return fmt.Errorf("listen on %s port %d: %w", s.Config.Listen, s.Config.Port, err)
	}
	pl, err := net.Listen("tcp", net.JoinHostPort(s.Config.Listen, strconv.Itoa(s.Config.ProxyPort)))
	if err != nil {
		ln.Close()
		return fmt.Errorf("listen on %s port %d for the proxy: %w", s.Config.Listen, s.Config.ProxyPort, err)
	}
	s.proxyListener = pl
	s.initWorkloads(minter, minterTLS)
	s.graph = &msgraph.Server{Store: s.Store, Verifier: verifier}
	if err := s.initDataPlanes(verifier); err != nil {
		ln.Close()
		pl.Close()
		return err
	}
	s.listener = tls.NewListener(ln, &tls.Config{GetCertificate: minterTLS.GetCertificate, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}})
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug),
	}
	return s.writeProfile()
}

// initWorkloads builds the workload planes: IMDS, the App Service identity
// endpoint, the proxy in front of them, and the runs API.
func (s *Server) initWorkloads(minter *tokens.Minter, certs *pki.Minter) {
	now := time.Now
	runs := &workload.Runs{Store: s.Store, Now: now}
	metadata := &imds.Server{Store: s.Store, Minter: minter, Signins: s.Signins, Now: now, Lifetime: s.Config.MITokenLifetime,
		RatePerSecond: s.Config.IMDSRate, Concurrency: s.Config.IMDSConcurrency, Generation: s.arm.Generation.Load}
	site := &appservice.Server{Store: s.Store, Runs: runs, Minter: minter, Signins: s.Signins, Now: now, Lifetime: s.Config.MITokenLifetime}
	plain := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.URL.Hostname()
		if host == "" {
			host, _, _ = net.SplitHostPort(r.Host)
		}
		switch {
		case host == proxy.IMDSHost:
			metadata.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, appservice.Path):
			site.ServeHTTP(w, r)
		default:
			http.Error(w, "mimic: this is the intercepting proxy and the App Service identity endpoint ("+appservice.Path+")", http.StatusNotFound)
		}
	})
	s.proxy = &proxy.Proxy{Runs: runs, GetCertificate: certs.GetCertificate, Planes: s, Plain: plain, Self: s.isProxyAddr}
	s.proxyHTTP = &http.Server{Handler: s.proxy, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug)}
	s.mimicMux = http.NewServeMux()
	s.mimicMux.HandleFunc("GET /mimic/health", s.serveHealth)
	(&mimicapi.API{Access: s.Access, Authz: s.authz,
		ARM: s.arm, Store: s.Store, Runs: runs, Signins: s.Signins, AKS: s.aks, RunTTL: s.Config.RunTTL, SubscriptionID: s.Tenant.SubscriptionID,
		ProxyURL:         s.ProxyURL,
		IdentityEndpoint: func() string { return s.ProxyURL() + appservice.Path },
	}).Mount(s.mimicMux)
}

// issuerKeys finds the keys of federated credentials' issuers: AKS
// clusters' own, the --oidc-issuer-jwks files, and any other issuer's over
// HTTPS, trusting the system's roots and mimic's CA (so that test issuers
// with certificates from mimic's CA work).
func (s *Server) issuerKeys() (*issuer.IssuerKeys, error) {
	files := map[string]map[string]*rsa.PublicKey{}
	for iss, path := range s.Config.OIDCIssuerJWKS {
		keys, err := issuer.LoadJWKSFile(path)
		if err != nil {
			return nil, fmt.Errorf("--oidc-issuer-jwks %s: %w", iss, err)
		}
		files[iss] = keys
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	roots.AddCert(s.Tenant.CA.Cert)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &issuer.IssuerKeys{Local: []issuer.KeySource{s.aks}, Files: files, Now: time.Now,
		Client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}, nil
}

// URL is the server's HTTPS base URL, with a trailing slash.
func (s *Server) URL() string {
	return "https://" + net.JoinHostPort(s.host(), strconv.Itoa(s.listener.Addr().(*net.TCPAddr).Port)) + "/"
}

// ProxyURL is the proxy's URL, without a trailing slash.
func (s *Server) ProxyURL() string {
	return "http://" + net.JoinHostPort(s.host(), strconv.Itoa(s.proxyListener.Addr().(*net.TCPAddr).Port))
}

func (s *Server) host() string {
	host := s.Config.Listen
	if host == "0.0.0.0" || host == "::" || host == "" {
		host = "127.0.0.1"
	}
	return host
}

// isProxyAddr reports whether host:port is the proxy's own address.
func (s *Server) isProxyAddr(hostport string) bool {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || port != strconv.Itoa(s.proxyListener.Addr().(*net.TCPAddr).Port) {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.Equal(s.proxyListener.Addr().(*net.TCPAddr).IP))
}

func (s *Server) writeProfile() error {
	caFile := home.CAPath(s.Config.Home)
	if err := home.WriteFileAtomic(caFile, s.Tenant.CA.CertPEM(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", caFile, err)
	}
	s.Profile = &home.Profile{
		TenantID:       s.Tenant.ID,
		SubscriptionID: s.Tenant.SubscriptionID,
		Operator:       home.Operator{ClientID: s.Tenant.OperatorClient, ClientSecret: s.Tenant.OperatorSecret, ObjectID: s.Tenant.OperatorObject},
		Endpoints: home.Endpoints{
			ResourceManager:         s.URL(),
			ResourceManagerAudience: "https://management.azure.com/",
			ActiveDirectory:         s.URL(),
			Proxy:                   s.ProxyURL(),
		},
		CAFile:     caFile,
		PID:        os.Getpid(),
		InstanceID: s.instance,
	}
	return home.WriteProfile(s.Config.Home, s.Profile)
}

// Serve serves until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context) error {
	bg, stop := context.WithCancel(ctx)
	defer stop()
	go s.keys.Run(bg, time.Minute)
	go s.authz.Run(bg, 2*time.Second)
	go s.arm.WatchRevision(bg, 2*time.Second)
	if s.Config.LogRetention > 0 {
		go s.retain(bg, time.Hour)
	}

	errc := make(chan error, 2)
	go func() { errc <- s.http.Serve(s.listener) }()
	go func() { errc <- s.proxyHTTP.Serve(s.proxyListener) }()
	select {
	case err := <-errc:
		s.http.Close()
		s.proxyHTTP.Close()
		s.Signins.Close()
		s.Access.Close()
		s.Store.Close()
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.http.Shutdown(shutdown)
	if perr := s.proxyHTTP.Shutdown(shutdown); err == nil {
		err = perr
	}
	s.proxy.Close()
	if aerr := s.Access.Close(); err == nil {
		err = aerr
	}
	if lerr := s.Signins.Close(); err == nil {
		err = lerr
	}
	if cerr := s.Store.Close(); err == nil {
		err = cerr
	}
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close releases the server without serving (for errors after Open).
func (s *Server) Close() error {
	s.listener.Close()
	s.proxyListener.Close()
	s.Signins.Close()
	s.Access.Close()
	return s.Store.Close()
}

// Hosts that reach the issuer and ARM by name, as through the proxy.
var (
	loginHosts = map[string]bool{"login.microsoftonline.com": true, "login.windows.net": true, "login.microsoft.com": true, "sts.windows.net": true}
	armHosts   = map[string]bool{"management.azure.com": true, "management.core.windows.net": true}
)

// ServeHTTP routes a request to its plane.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	switch {
	case loginHosts[host]:
		s.issuer.ServeHTTP(w, r)
		return
	case armHosts[host]:
		s.arm.ServeHTTP(w, r)
		return
	case strings.HasSuffix(host, aks.IssuerHostSuffix):
		s.aks.ServeHTTP(w, r)
		return
	case host == "graph.microsoft.com":
		s.graph.ServeHTTP(w, r)
		return
	}
	if plane := s.dataPlane(host); plane != nil {
		plane.ServeHTTP(w, r)
		return
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch strings.ToLower(first) {
	case "subscriptions", "providers", "tenants":
		s.arm.ServeHTTP(w, r)
	case "mimic":
		s.mimicMux.ServeHTTP(w, r)
	default:
		s.issuer.ServeHTTP(w, r)
	}
}

// retain deletes log entries older than the retention, now and then every
// interval, until ctx ends.
func (s *Server) retain(ctx context.Context, every time.Duration) {
	for {
		cutoff := time.Now().Add(-s.Config.LogRetention)
		err := s.Store.Update(ctx, func(tx store.Tx) error {
			if _, err := tx.DeleteSignInsBefore(ctx, cutoff); err != nil {
				return err
			}
			_, err := tx.DeleteAccessBefore(ctx, cutoff)
			return err
		})
		if err != nil && ctx.Err() == nil {
			slog.Error("log retention failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// serveHealth answers `mimic status`.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{
		"status":     "ok",
		"instanceId": s.instance,
		"tenantId":   s.Tenant.ID,
		"home":       filepath.Clean(s.Config.Home),
		"store":      s.Store.Backend(),
	})
}
