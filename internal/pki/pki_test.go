package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newTestCA(t testing.TB) *CA {
	t.Helper()
	ca, err := NewCA("mimic test CA", testNow)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func TestNewCA(t *testing.T) {
	ca := newTestCA(t)
	c := ca.Cert
	if !c.IsCA || !c.BasicConstraintsValid {
		t.Error("CA certificate is not marked as a CA")
	}
	if c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("MaxPathLen = %d, MaxPathLenZero = %v; want 0, true", c.MaxPathLen, c.MaxPathLenZero)
	}
	if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign; c.KeyUsage != want {
		t.Errorf("KeyUsage = %v, want %v", c.KeyUsage, want)
	}
	if len(c.SubjectKeyId) == 0 {
		t.Error("SubjectKeyId is empty")
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
		t.Errorf("serial %v is not a positive 128-bit number", c.SerialNumber)
	}
	if got, want := c.NotAfter.Sub(testNow), CAValidity; got != want {
		t.Errorf("validity after now = %v, want %v", got, want)
	}
	if !c.NotBefore.Equal(testNow.Add(-ClockSkew)) {
		t.Errorf("NotBefore = %v, want %v", c.NotBefore, testNow.Add(-ClockSkew))
	}
	if c.Subject.CommonName != "mimic test CA" {
		t.Errorf("CommonName = %q", c.Subject.CommonName)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("CA is not self-signed: %v", err)
	}
	if _, err := NewCA("", testNow); err == nil {
		t.Error("NewCA with empty common name succeeded")
	}
	block, _ := pem.Decode(ca.CertPEM())
	if block == nil || block.Type != "CERTIFICATE" || !bytes.Equal(block.Bytes, c.Raw) {
		t.Error("CertPEM does not hold the CA certificate")
	}
}

func TestIssueVerifies(t *testing.T) {
	ca := newTestCA(t)
	tests := []struct {
		name     string
		hosts    []string
		verify   string // name passed to Verify as DNSName
		wantDNS  []string
		wantIPs  []string
		wantCN   string
		mismatch []string // names the certificate must not cover
	}{
		{
			name: "dns", hosts: []string{"management.azure.com"}, verify: "management.azure.com",
			wantDNS: []string{"management.azure.com"}, wantCN: "management.azure.com",
			mismatch: []string{"login.microsoftonline.com", "x.management.azure.com"},
		},
		{
			name: "wildcard", hosts: []string{"*.vault.azure.net"}, verify: "myvault.vault.azure.net",
			wantDNS: []string{"*.vault.azure.net"}, wantCN: "*.vault.azure.net",
			mismatch: []string{"vault.azure.net", "a.b.vault.azure.net", "myvault.blob.core.windows.net"},
		},
		{
			name: "ipv4", hosts: []string{"127.0.0.1"}, verify: "127.0.0.1",
			wantIPs: []string{"127.0.0.1"}, wantCN: "127.0.0.1",
			mismatch: []string{"127.0.0.2", "localhost"},
		},
		{
			name: "ipv6", hosts: []string{"::1"}, verify: "::1",
			wantIPs: []string{"::1"}, wantCN: "::1",
		},
		{
			name: "mixed and normalized", hosts: []string{"LocalHost.", "127.0.0.1", "::1", "*.Blob.Core.Windows.Net"}, verify: "acct.blob.core.windows.net",
			wantDNS: []string{"localhost", "*.blob.core.windows.net"}, wantIPs: []string{"127.0.0.1", "::1"}, wantCN: "localhost",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := ca.Issue(tt.hosts, testNow, 48*time.Hour)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			leaf := cert.Leaf
			if leaf == nil {
				t.Fatal("Leaf not populated")
			}
			if len(cert.Certificate) != 2 || !bytes.Equal(cert.Certificate[1], ca.Cert.Raw) {
				t.Error("chain does not end with the CA certificate")
			}
			if !bytes.Equal(cert.Certificate[0], leaf.Raw) {
				t.Error("Leaf does not match Certificate[0]")
			}
			if !equalStrings(leaf.DNSNames, tt.wantDNS) {
				t.Errorf("DNSNames = %q, want %q", leaf.DNSNames, tt.wantDNS)
			}
			var ips []string
			for _, ip := range leaf.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !equalStrings(ips, tt.wantIPs) {
				t.Errorf("IPAddresses = %q, want %q", ips, tt.wantIPs)
			}
			if leaf.Subject.CommonName != tt.wantCN {
				t.Errorf("CommonName = %q, want %q", leaf.Subject.CommonName, tt.wantCN)
			}
			if leaf.IsCA {
				t.Error("leaf is a CA")
			}
			if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
				t.Errorf("ExtKeyUsage = %v", leaf.ExtKeyUsage)
			}
			if _, ok := cert.PrivateKey.(*ecdsa.PrivateKey); !ok {
				t.Errorf("private key is %T, want *ecdsa.PrivateKey", cert.PrivateKey)
			}
			opts := x509.VerifyOptions{Roots: ca.Pool(), DNSName: tt.verify, CurrentTime: testNow}
			if _, err := leaf.Verify(opts); err != nil {
				t.Errorf("Verify(%q): %v", tt.verify, err)
			}
			for _, name := range tt.mismatch {
				opts.DNSName = name
				if _, err := leaf.Verify(opts); err == nil {
					t.Errorf("Verify(%q) succeeded, want hostname mismatch", name)
				}
			}
		})
	}
}

func TestIssueValidity(t *testing.T) {
	ca := newTestCA(t)
	cert, err := ca.Issue([]string{"a.example"}, testNow, 72*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.Leaf.NotBefore.Equal(testNow.Add(-ClockSkew)) {
		t.Errorf("NotBefore = %v, want now-1h", cert.Leaf.NotBefore)
	}
	if !cert.Leaf.NotAfter.Equal(testNow.Add(72 * time.Hour)) {
		t.Errorf("NotAfter = %v, want now+72h", cert.Leaf.NotAfter)
	}
	// Backdating lets a client whose clock is 30 minutes slow accept it.
	_, err = cert.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "a.example", CurrentTime: testNow.Add(-30 * time.Minute)})
	if err != nil {
		t.Errorf("verify with slow client clock: %v", err)
	}

	// Validity is capped at the CA's expiry.
	late := ca.Cert.NotAfter.Add(-time.Hour)
	cert, err = ca.Issue([]string{"a.example"}, late, LeafValidity)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.Leaf.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("NotAfter = %v, want capped at CA NotAfter %v", cert.Leaf.NotAfter, ca.Cert.NotAfter)
	}
}

func TestIssueErrors(t *testing.T) {
	ca := newTestCA(t)
	tests := []struct {
		name     string
		hosts    []string
		now      time.Time
		validity time.Duration
		want     error
	}{
		{"no hosts", nil, testNow, time.Hour, ErrInvalidHost},
		{"empty host", []string{""}, testNow, time.Hour, ErrInvalidHost},
		{"space", []string{"bad host"}, testNow, time.Hour, ErrInvalidHost},
		{"wildcard in middle", []string{"a.*.example"}, testNow, time.Hour, ErrInvalidHost},
		{"empty label", []string{"a..example"}, testNow, time.Hour, ErrInvalidHost},
		{"leading hyphen", []string{"-a.example"}, testNow, time.Hour, ErrInvalidHost},
		{"long label", []string{strings.Repeat("a", 64) + ".example"}, testNow, time.Hour, ErrInvalidHost},
		{"too long", []string{strings.Repeat("a.", 127) + "ab"}, testNow, time.Hour, ErrInvalidHost},
		{"ip with port", []string{"127.0.0.1:443"}, testNow, time.Hour, ErrInvalidHost},
		{"zero validity", []string{"a.example"}, testNow, 0, nil},
		{"CA expired", []string{"a.example"}, ca.Cert.NotAfter, time.Hour, ErrCAExpired},
		{"CA not yet valid", []string{"a.example"}, ca.Cert.NotBefore.Add(-time.Second), time.Hour, ErrCAExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ca.Issue(tt.hosts, tt.now, tt.validity)
			if err == nil {
				t.Fatal("Issue succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestValidHostname(t *testing.T) {
	tests := []struct {
		name     string
		wildcard bool
		want     bool
	}{
		{"myvault.vault.azure.net", false, true},
		{"localhost", false, true},
		{"under_score.example", false, true},
		{"xn--bcher-kva.example", false, true},
		{strings.Repeat("a", 63) + ".example", false, true},
		{strings.Repeat("a.", 126) + "a", false, true}, // 253 bytes
		{strings.Repeat("a.", 126) + "ab", false, false},
		{"*.vault.azure.net", true, true},
		{"*.vault.azure.net", false, false},
		{"*", true, false},
		{"a.*.b", true, false},
		{"", false, false},
		{"trailing.", false, false},
		{".leading", false, false},
		{"a-.example", false, false},
		{"bad\x00name", false, false},
		{"bad/name", false, false},
		{"bücher.example", false, false},
	}
	for _, tt := range tests {
		if got := ValidHostname(tt.name, tt.wildcard); got != tt.want {
			t.Errorf("ValidHostname(%.40q, %v) = %v, want %v", tt.name, tt.wildcard, got, tt.want)
		}
	}
}

func TestLoadCARoundTrip(t *testing.T) {
	ca := newTestCA(t)
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := pem.Decode(keyPEM); block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("KeyPEM is not a PKCS #8 PRIVATE KEY block")
	}
	loaded, err := LoadCA(ca.CertPEM(), keyPEM)
	if err != nil {
		t.Fatalf("LoadCA: %v", err)
	}
	if !loaded.Cert.Equal(ca.Cert) {
		t.Error("loaded certificate differs")
	}
	if !bytes.Equal(loaded.CertPEM(), ca.CertPEM()) {
		t.Error("loaded CertPEM differs")
	}
	// A leaf issued by the reloaded CA verifies against the original pool.
	cert, err := loaded.Issue([]string{"login.microsoftonline.com"}, testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "login.microsoftonline.com", CurrentTime: testNow}); err != nil {
		t.Errorf("verify leaf from reloaded CA: %v", err)
	}

	// SEC 1 keys (openssl ecparam -genkey) are accepted too.
	sec1, err := x509.MarshalECPrivateKey(ca.Key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCA(ca.CertPEM(), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})); err != nil {
		t.Errorf("LoadCA with SEC 1 key: %v", err)
	}
}

func TestLoadCAErrors(t *testing.T) {
	ca := newTestCA(t)
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	other := newTestCA(t)
	otherKey, err := other.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue([]string{"leaf.example"}, testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]})
	leafKeyDER, err := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	leafKeyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: leafKeyDER})
	noCertSign := selfSigned(t, x509.KeyUsageDigitalSignature)

	tests := []struct {
		name    string
		cert    []byte
		key     []byte
		want    error
		wantMsg string
	}{
		{"empty cert", nil, keyPEM, ErrBadPEM, "no PEM block"},
		{"garbage cert", []byte("not pem"), keyPEM, ErrBadPEM, "no PEM block"},
		{"key as cert", keyPEM, keyPEM, ErrBadPEM, "want CERTIFICATE"},
		{"corrupt cert", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}), keyPEM, ErrBadPEM, "parse CA certificate"},
		{"empty key", ca.CertPEM(), nil, ErrBadPEM, "no PEM block"},
		{"cert as key", ca.CertPEM(), ca.CertPEM(), ErrBadPEM, "want PRIVATE KEY"},
		{"corrupt key", ca.CertPEM(), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), ErrBadPEM, "parse CA private key"},
		{"leaf cert", leafPEM, leafKeyPEM, ErrNotCA, "CA:TRUE"},
		{"no certSign usage", noCertSign.cert, noCertSign.key, ErrNotCA, "keyCertSign"},
		{"mismatched key", ca.CertPEM(), otherKey, ErrKeyMismatch, "does not sign"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadCA(tt.cert, tt.key)
			if !errors.Is(err, tt.want) {
				t.Fatalf("LoadCA error = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
		})
	}
}

type pemPair struct{ cert, key []byte }

// selfSigned makes a self-signed CA:TRUE certificate with the given usage.
func selfSigned(t *testing.T, usage x509.KeyUsage) pemPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(7),
		Subject:               pkix.Name{CommonName: "odd CA"},
		NotBefore:             testNow.Add(-time.Hour),
		NotAfter:              testNow.Add(time.Hour),
		KeyUsage:              usage,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemPair{
		cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
