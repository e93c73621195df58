package pki

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// LeafValidity is the lifetime of certificates minted by a [Minter].
	// Minting is cheap and happens in-process, so it is kept short.
	LeafValidity = 30 * 24 * time.Hour

	// RenewBefore is how long before expiry a cached certificate is replaced.
	RenewBefore = 24 * time.Hour

	// MaxCachedNames bounds the number of server names a [Minter] caches.
	// When full, an arbitrary entry is evicted, so a flood of bogus SNI names
	// costs CPU (one mint each) but never unbounded memory.
	MaxCachedNames = 4096
)

// Minter mints TLS server certificates on demand for the server name a
// client requests through SNI, signed by a [CA]. Use its GetCertificate
// method as tls.Config.GetCertificate.
//
// Certificates are cached per lower-cased server name and re-minted when
// they come within [RenewBefore] of expiry. Concurrent handshakes for a name
// that is not cached yet wait for a single mint. A Minter is safe for
// concurrent use.
type Minter struct {
	ca           *CA
	now          func() time.Time
	defaultHosts []string
	maxEntries   int

	mu      sync.Mutex
	entries map[string]*mintEntry // keyed by lower-cased server name

	mints atomic.Int64 // certificates minted, for tests and metrics
}

// mintEntry is one cached (or in-flight) certificate. done is closed once
// cert and err are set; they are never written again afterwards.
type mintEntry struct {
	done    chan struct{}
	cert    *tls.Certificate
	err     error
	renewAt time.Time
}

// NewMinter returns a Minter signing with ca.
//
// defaultHosts is what the certificate served to clients that send no SNI
// covers; that is the case for clients dialing an IP address such as
// 127.0.0.1. If it is empty, "localhost", "127.0.0.1" and "::1" are used.
// When such a client reached the server on a local IP address that
// defaultHosts does not list (for example a LAN address of a shared
// instance), the certificate also covers that address.
//
// now supplies the current time; nil means time.Now. NewMinter mints the
// default certificate immediately, so invalid defaultHosts are reported
// here rather than during the first handshake.
func NewMinter(ca *CA, defaultHosts []string, now func() time.Time) (*Minter, error) {
	if ca == nil {
		return nil, errors.New("pki: NewMinter: nil CA")
	}
	if now == nil {
		now = time.Now
	}
	if len(defaultHosts) == 0 {
		defaultHosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	m := &Minter{
		ca:           ca,
		now:          now,
		defaultHosts: make([]string, 0, len(defaultHosts)),
		maxEntries:   MaxCachedNames,
		entries:      make(map[string]*mintEntry),
	}
	for _, h := range defaultHosts {
		name, _, err := normalizeHost(h)
		if err != nil {
			return nil, err
		}
		m.defaultHosts = append(m.defaultHosts, name)
	}
	if _, err := m.certificate(defaultKey, m.defaultHosts); err != nil {
		return nil, err
	}
	return m, nil
}

// defaultKey is the cache key of the no-SNI certificate. It cannot collide
// with a server name because names never contain spaces.
const defaultKey = " default"

// GetCertificate returns a certificate for the server name in hello, minting
// it if needed. It is meant for tls.Config.GetCertificate.
//
// A server name that is not a valid host name (see [ValidHostname]; wildcards
// are refused) yields an error wrapping [ErrInvalidHost], which aborts the
// handshake. Without a server name the default certificate is returned.
func (m *Minter) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(hello.ServerName)
	if name == "" {
		return m.defaultCertificate(hello.Conn)
	}
	// RFC 6066 forbids IP literals in SNI, but some clients send them. Only
	// names that can be IP literals are parsed: a failed parse allocates.
	if last := name[len(name)-1]; '0' <= last && last <= '9' || strings.IndexByte(name, ':') >= 0 {
		if ip := net.ParseIP(name); ip != nil {
			return m.certificate(ip.String(), nil)
		}
	}
	if !ValidHostname(name, false) {
		return nil, fmt.Errorf("%w: SNI %.80q", ErrInvalidHost, hello.ServerName)
	}
	return m.certificate(name, nil)
}

// defaultCertificate returns the certificate for a client that sent no SNI.
func (m *Minter) defaultCertificate(conn net.Conn) (*tls.Certificate, error) {
	if conn != nil {
		if addr, ok := conn.LocalAddr().(*net.TCPAddr); ok && addr.IP != nil && !addr.IP.IsUnspecified() {
			if ip := addr.IP.String(); !slices.Contains(m.defaultHosts, ip) {
				// Local addresses are few, so keying on them cannot flood the cache.
				hosts := append([]string{ip}, m.defaultHosts...)
				return m.certificate(defaultKey+" "+ip, hosts)
			}
		}
	}
	return m.certificate(defaultKey, m.defaultHosts)
}

// Mints reports how many certificates m has minted since it was created,
// including the default certificate.
func (m *Minter) Mints() int64 {
	return m.mints.Load()
}

// certificate returns the cached certificate for key, minting one for hosts
// (nil means just key) when there is none, the cached one is due for
// renewal, or the previous attempt failed.
func (m *Minter) certificate(key string, hosts []string) (*tls.Certificate, error) {
	now := m.now()

	m.mu.Lock()
	if e, ok := m.entries[key]; ok {
		select {
		case <-e.done:
			if e.err == nil && now.Before(e.renewAt) {
				m.mu.Unlock()
				return e.cert, nil
			}
			// Stale or failed: fall through and replace it.
		default:
			// Another handshake is minting this name; wait for it.
			m.mu.Unlock()
			<-e.done
			return e.cert, e.err
		}
	} else if len(m.entries) >= m.maxEntries {
		m.evictLocked()
	}
	e := &mintEntry{done: make(chan struct{})}
	m.entries[key] = e
	m.mu.Unlock()

	if hosts == nil {
		hosts = []string{key}
	}
	e.cert, e.err = m.ca.Issue(hosts, now, LeafValidity)
	if e.err == nil {
		m.mints.Add(1)
		e.renewAt = e.cert.Leaf.NotAfter.Add(-RenewBefore)
		if !e.renewAt.After(now) {
			// The CA expires within RenewBefore, so no fresher certificate
			// can be minted; keep this one until it actually expires.
			e.renewAt = e.cert.Leaf.NotAfter
		}
	}
	close(e.done)
	return e.cert, e.err
}

// evictLocked removes one arbitrary entry other than the default ones, which
// are few. m.mu must be held. Waiters on an evicted in-flight entry still
// receive its result; it is just not cached.
func (m *Minter) evictLocked() {
	for k := range m.entries {
		if !strings.HasPrefix(k, defaultKey) {
			delete(m.entries, k)
			return
		}
	}
}
