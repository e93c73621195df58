package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock for Minter tests.
type fakeClock struct{ t atomic.Pointer[time.Time] }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.set(t)
	return c
}
func (c *fakeClock) now() time.Time      { return *c.t.Load() }
func (c *fakeClock) set(t time.Time)     { c.t.Store(&t) }
func (c *fakeClock) add(d time.Duration) { c.set(c.now().Add(d)) }

func newTestMinter(t *testing.T) (*CA, *Minter, *fakeClock) {
	t.Helper()
	ca := newTestCA(t)
	clock := newFakeClock(testNow)
	m, err := NewMinter(ca, []string{"localhost", "127.0.0.1", "::1"}, clock.now)
	if err != nil {
		t.Fatalf("NewMinter: %v", err)
	}
	return ca, m, clock
}

// handshake runs a TLS handshake between a server using m and a client
// trusting ca, over a loopback TCP connection on an ephemeral port. The
// client sends serverName as SNI (none if empty) and verifies the server's
// certificate against verifyName. It returns the leaf the client saw.
func handshake(t *testing.T, ca *CA, m *Minter, clock *fakeClock, serverName, verifyName string) (*tls.ConnectionState, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()

	serverErr := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer conn.Close()
		srv := tls.Server(conn, &tls.Config{GetCertificate: m.GetCertificate, MinVersion: tls.VersionTLS12})
		srv.SetDeadline(time.Now().Add(10 * time.Second))
		serverErr <- srv.Handshake()
	}()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: serverName, Time: clock.now, MinVersion: tls.VersionTLS12}
	if serverName == "" {
		// crypto/tls sends no SNI for IP addresses, which is what we want to
		// exercise, but verifies against ServerName: set it to the IP.
		cfg.ServerName = verifyName
	}
	cli := tls.Client(conn, cfg)
	cli.SetDeadline(time.Now().Add(10 * time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clientErr := cli.HandshakeContext(ctx)
	if clientErr != nil {
		conn.Close()
		<-serverErr
		return nil, clientErr
	}
	if err := <-serverErr; err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	state := cli.ConnectionState()
	return &state, nil
}

func TestMinterSNI(t *testing.T) {
	ca, m, clock := newTestMinter(t)
	state, err := handshake(t, ca, m, clock, "myvault.vault.azure.net", "")
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	leaf := state.PeerCertificates[0]
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "myvault.vault.azure.net" {
		t.Errorf("DNSNames = %q", leaf.DNSNames)
	}
	if len(state.PeerCertificates) != 2 || !state.PeerCertificates[1].Equal(ca.Cert) {
		t.Error("server did not send the CA certificate in its chain")
	}
}

func TestMinterNoSNI(t *testing.T) {
	ca, m, clock := newTestMinter(t)
	state, err := handshake(t, ca, m, clock, "", "127.0.0.1")
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	leaf := state.PeerCertificates[0]
	if leaf.Subject.CommonName != "localhost" {
		t.Errorf("CommonName = %q, want localhost", leaf.Subject.CommonName)
	}
	if len(leaf.IPAddresses) != 2 || !leaf.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) {
		t.Errorf("IPAddresses = %v", leaf.IPAddresses)
	}
	if got := m.Mints(); got != 1 {
		t.Errorf("Mints = %d, want 1 (the default certificate minted by NewMinter)", got)
	}
}

func TestMinterNoSNIUnlistedLocalIP(t *testing.T) {
	ca := newTestCA(t)
	clock := newFakeClock(testNow)
	m, err := NewMinter(ca, []string{"mimic.internal"}, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	// 127.0.0.1 is not among the default hosts, but the client reached it.
	state, err := handshake(t, ca, m, clock, "", "127.0.0.1")
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	leaf := state.PeerCertificates[0]
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "mimic.internal" {
		t.Errorf("DNSNames = %q, want the default hosts", leaf.DNSNames)
	}
}

func TestMinterDefaultHosts(t *testing.T) {
	ca := newTestCA(t)
	m, err := NewMinter(ca, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := m.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cert.Leaf.DNSNames; len(got) != 1 || got[0] != "localhost" {
		t.Errorf("DNSNames = %q, want [localhost]", got)
	}
	if got := len(cert.Leaf.IPAddresses); got != 2 {
		t.Errorf("%d IP addresses, want 2", got)
	}
	if _, err := NewMinter(ca, []string{"bad host"}, nil); !errors.Is(err, ErrInvalidHost) {
		t.Errorf("NewMinter with invalid default host: err = %v, want ErrInvalidHost", err)
	}
	if _, err := NewMinter(nil, nil, nil); err == nil {
		t.Error("NewMinter(nil CA) succeeded")
	}
}

func TestMinterCache(t *testing.T) {
	_, m, _ := newTestMinter(t)
	first, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "management.azure.com"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []string{"management.azure.com", "Management.Azure.COM"}
	for _, name := range tests {
		got, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
		if err != nil {
			t.Fatal(err)
		}
		if got != first {
			t.Errorf("GetCertificate(%q) returned a new certificate, want the cached pointer", name)
		}
	}
	other, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "login.microsoftonline.com"})
	if err != nil {
		t.Fatal(err)
	}
	if other == first {
		t.Error("different names share a certificate")
	}
	if got := m.Mints(); got != 3 {
		t.Errorf("Mints = %d, want 3", got)
	}
}

func TestMinterIPSNI(t *testing.T) {
	_, m, _ := newTestMinter(t)
	cert, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "10.1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Leaf.IPAddresses) != 1 || cert.Leaf.IPAddresses[0].String() != "10.1.2.3" || len(cert.Leaf.DNSNames) != 0 {
		t.Errorf("IPs %v, DNS %q; want only 10.1.2.3", cert.Leaf.IPAddresses, cert.Leaf.DNSNames)
	}
}

func TestMinterRenewal(t *testing.T) {
	_, m, clock := newTestMinter(t)
	hello := &tls.ClientHelloInfo{ServerName: "acct.blob.core.windows.net"}
	first, err := m.GetCertificate(hello)
	if err != nil {
		t.Fatal(err)
	}
	clock.add(LeafValidity - RenewBefore - time.Minute)
	if got, _ := m.GetCertificate(hello); got != first {
		t.Error("certificate re-minted before the renewal window")
	}
	clock.add(2 * time.Minute)
	renewed, err := m.GetCertificate(hello)
	if err != nil {
		t.Fatal(err)
	}
	if renewed == first {
		t.Fatal("certificate not re-minted within RenewBefore of expiry")
	}
	if !renewed.Leaf.NotAfter.After(first.Leaf.NotAfter) {
		t.Errorf("renewed NotAfter %v is not later than %v", renewed.Leaf.NotAfter, first.Leaf.NotAfter)
	}
	if got, _ := m.GetCertificate(hello); got != renewed {
		t.Error("renewed certificate not cached")
	}
}

func TestMinterNearCAExpiry(t *testing.T) {
	ca, m, clock := newTestMinter(t)
	clock.set(ca.Cert.NotAfter.Add(-time.Hour))
	hello := &tls.ClientHelloInfo{ServerName: "late.example"}
	first, err := m.GetCertificate(hello)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing fresher can be minted, so the certificate is kept, not
	// re-minted on every handshake.
	if got, _ := m.GetCertificate(hello); got != first {
		t.Error("certificate re-minted although the CA expires first")
	}
	clock.set(ca.Cert.NotAfter)
	if _, err := m.GetCertificate(hello); !errors.Is(err, ErrCAExpired) {
		t.Errorf("after CA expiry: err = %v, want ErrCAExpired", err)
	}
}

func TestMinterInvalidSNI(t *testing.T) {
	ca, m, clock := newTestMinter(t)
	tests := []string{
		"*.vault.azure.net",
		"bad name",
		"bad\x00name",
		"a..b",
		"-a.example",
		strings.Repeat("a", 64) + ".example",
		strings.Repeat("a.", 127) + "ab",
		"exa/mple.com",
	}
	for _, name := range tests {
		if _, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: name}); !errors.Is(err, ErrInvalidHost) {
			t.Errorf("GetCertificate(%.40q): err = %v, want ErrInvalidHost", name, err)
		}
	}
	// Over the wire, the handshake is refused.
	if _, err := handshake(t, ca, m, clock, "under_score-.example", ""); err == nil {
		t.Error("handshake with an invalid SNI succeeded")
	}
	if got := m.Mints(); got != 1 {
		t.Errorf("Mints = %d, want 1: invalid names must not be minted", got)
	}
}

func TestMinterConcurrentFirstRequest(t *testing.T) {
	_, m, _ := newTestMinter(t)
	const workers = 64
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		certs = make([]*tls.Certificate, workers)
		errs  = make([]error, workers)
	)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			certs[i], errs[i] = m.GetCertificate(&tls.ClientHelloInfo{ServerName: "concurrent.vault.azure.net"})
		}()
	}
	close(start)
	wg.Wait()
	for i := range workers {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		if certs[i] != certs[0] {
			t.Fatalf("worker %d got a different certificate", i)
		}
	}
	if got := m.Mints(); got != 2 {
		t.Errorf("Mints = %d, want 2 (default + one for the name)", got)
	}
}

func TestMinterBoundedCache(t *testing.T) {
	_, m, _ := newTestMinter(t)
	m.maxEntries = 8
	for i := range 50 {
		if _, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: fmt.Sprintf("flood%d.example", i)}); err != nil {
			t.Fatal(err)
		}
	}
	m.mu.Lock()
	n := len(m.entries)
	_, hasDefault := m.entries[defaultKey]
	m.mu.Unlock()
	if n > 8 {
		t.Errorf("cache holds %d entries, want at most 8", n)
	}
	if !hasDefault {
		t.Error("default certificate was evicted")
	}
}

func BenchmarkMinterCached(b *testing.B) {
	ca, err := NewCA("bench", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	m, err := NewMinter(ca, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	hello := &tls.ClientHelloInfo{ServerName: "myvault.vault.azure.net"}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.GetCertificate(hello); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkIssue(b *testing.B) {
	ca, err := NewCA("bench", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	hosts := []string{"myvault.vault.azure.net"}
	now := time.Now()
	for b.Loop() {
		if _, err := ca.Issue(hosts, now, LeafValidity); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzGetCertificate checks that GetCertificate never panics on hostile SNI
// and that any name it accepts is covered by the certificate it returns.
func FuzzGetCertificate(f *testing.F) {
	for _, seed := range []string{"myvault.vault.azure.net", "127.0.0.1", "::1", "*.x", "a..b", "UPPER.Example", "x_y.z", ""} {
		f.Add(seed)
	}
	ca, err := NewCA("fuzz CA", testNow)
	if err != nil {
		f.Fatal(err)
	}
	m, err := NewMinter(ca, nil, func() time.Time { return testNow })
	if err != nil {
		f.Fatal(err)
	}
	pool := ca.Pool()
	f.Fuzz(func(t *testing.T, name string) {
		cert, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
		if err != nil {
			if !errors.Is(err, ErrInvalidHost) {
				t.Fatalf("GetCertificate(%q): unexpected error %v", name, err)
			}
			return
		}
		if name == "" {
			return
		}
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name, CurrentTime: testNow}); err != nil {
			t.Fatalf("certificate for accepted name %q does not verify: %v", name, err)
		}
	})
}
