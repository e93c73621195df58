// Package servertest runs a whole mimic server in-process for tests: a
// fresh home, free ports, and a stop when the test ends. Its operator
// client drives ARM and the data planes as an operator would.
package servertest

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/demo"
	"github.com/mimic-emu/mimic/internal/server"
)

// Server is a running server.
type Server struct {
	*server.Server
	// HTTP trusts the server's CA.
	HTTP *http.Client
	// Operator is the operator's client: ARM, Key Vault and Blob.
	Operator *demo.HTTPClient
}

// Start runs a server until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	// IMDS limits as mimic up's defaults: clients must live with them.
	srv, err := server.Open(ctx, server.Config{Home: t.TempDir(), IMDSRate: 20, IMDSConcurrency: 5})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	pool := srv.Tenant.CA.Pool()
	return &Server{
		Server: srv,
		HTTP:   &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
		Operator: &demo.HTTPClient{
			ARMURL: srv.URL(), AuthorityURL: srv.URL(), Proxy: srv.ProxyURL(), Tenant: srv.Tenant.ID,
			ClientID: srv.Tenant.OperatorClient, Secret: srv.Tenant.OperatorSecret, CA: pool,
		},
	}
}

// StartDemo runs a server holding the demo estate.
func StartDemo(t testing.TB) *Server {
	t.Helper()
	s := Start(t)
	if _, err := s.LoadDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// Token returns an operator token for a resource.
func (s *Server) Token(t testing.TB, resource string) string {
	t.Helper()
	tok, err := s.Operator.Token(context.Background(), resource)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
