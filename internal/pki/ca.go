package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

const (
	// CAValidity is how long a CA created by [NewCA] is valid.
	CAValidity = 10 * 365 * 24 * time.Hour

	// ClockSkew is how far NotBefore is backdated on every certificate this
	// package signs, so that clients whose clocks run slightly behind accept
	// a certificate minted a moment ago.
	ClockSkew = time.Hour
)

// Errors returned by [LoadCA] and [CA.Issue]. They are wrapped with detail;
// test for them with errors.Is.
var (
	// ErrBadPEM means the PEM input is empty, cannot be decoded, or holds
	// something other than the expected certificate or private key.
	ErrBadPEM = errors.New("pki: bad PEM")
	// ErrNotCA means the certificate is not allowed to sign certificates.
	ErrNotCA = errors.New("pki: certificate is not a CA")
	// ErrKeyMismatch means the private key does not belong to the certificate.
	ErrKeyMismatch = errors.New("pki: private key does not match certificate")
	// ErrInvalidHost means a host name is neither a valid DNS name
	// (optionally with a leading "*." wildcard label) nor an IP address.
	ErrInvalidHost = errors.New("pki: invalid host name")
	// ErrCAExpired means the CA is not valid at the requested time, so any
	// certificate it signed would be rejected.
	ErrCAExpired = errors.New("pki: CA certificate is not valid at this time")
)

// CA is a certificate authority able to sign server certificates.
//
// A CA is immutable after construction and safe for concurrent use. Cert and
// Key are exported for callers that need them (for example to build a
// certificate bundle); they must not be modified.
type CA struct {
	// Cert is the parsed CA certificate.
	Cert *x509.Certificate
	// Key is the CA's private key. CAs made by [NewCA] use ECDSA P-256;
	// [LoadCA] also accepts RSA and Ed25519 keys.
	Key crypto.Signer

	certPEM []byte
}

// NewCA creates a self-signed root CA named commonName, valid from one hour
// before now for [CAValidity]. The CA may sign leaf certificates only
// (MaxPathLen 0).
func NewCA(commonName string, now time.Time) (*CA, error) {
	if commonName == "" {
		return nil, errors.New("pki: CA common name is empty")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"mimic"}},
		NotBefore:             now.Add(-ClockSkew).UTC(),
		NotAfter:              now.Add(CAValidity).UTC(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		SubjectKeyId:          ski,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pki: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse CA certificate: %w", err)
	}
	return &CA{
		Cert:    cert,
		Key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}, nil
}

// LoadCA rebuilds a CA from the PEM written by [CA.CertPEM] and [CA.KeyPEM].
//
// certPEM must start with a CERTIFICATE block (any further blocks are
// ignored). keyPEM may hold a "PRIVATE KEY" (PKCS #8), "EC PRIVATE KEY"
// (SEC 1) or "RSA PRIVATE KEY" (PKCS #1) block, so that an operator can
// supply a CA made with openssl. LoadCA returns an error wrapping
// [ErrBadPEM], [ErrNotCA] or [ErrKeyMismatch] when the input is unusable.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	certBlock := firstBlock(certPEM)
	if certBlock == nil {
		return nil, fmt.Errorf("%w: no PEM block in CA certificate", ErrBadPEM)
	}
	if certBlock.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%w: CA certificate PEM block is %q, want CERTIFICATE", ErrBadPEM, certBlock.Type)
	}
	cert, err := x509.ParseCertificate(certBlock.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: parse CA certificate: %v", ErrBadPEM, err)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, fmt.Errorf("%w: %q lacks basicConstraints CA:TRUE", ErrNotCA, cert.Subject.CommonName)
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("%w: %q lacks the keyCertSign key usage", ErrNotCA, cert.Subject.CommonName)
	}

	keyBlock := firstBlock(keyPEM)
	if keyBlock == nil {
		return nil, fmt.Errorf("%w: no PEM block in CA private key", ErrBadPEM)
	}
	key, err := parsePrivateKey(keyBlock)
	if err != nil {
		return nil, err
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%w: key does not sign for %q", ErrKeyMismatch, cert.Subject.CommonName)
	}
	return &CA{
		Cert:    cert,
		Key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
	}, nil
}

// CertPEM returns the CA certificate as a PEM "CERTIFICATE" block: the
// content of the file that clients are told to trust. The caller may modify
// the returned slice.
func (ca *CA) CertPEM() []byte {
	return append([]byte(nil), ca.certPEM...)
}

// KeyPEM returns the CA private key as a PKCS #8 "PRIVATE KEY" PEM block.
// Store it with restrictive permissions (0600).
func (ca *CA) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: marshal CA key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Pool returns a new certificate pool holding only the CA certificate,
// suitable for tls.Config.RootCAs in clients and tests.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

// Issue signs a server certificate for hosts with a fresh ECDSA P-256 key.
//
// Each host is either an IP address (placed in the IPAddresses extension) or
// a DNS name (placed in DNSNames), which may start with a "*." wildcard
// label. Names are lower-cased and a trailing dot is dropped. The first host
// becomes the subject CommonName. The certificate is valid from
// now-[ClockSkew] until now+validity, but never beyond the CA's own NotAfter.
//
// The returned certificate's chain is the leaf followed by the CA
// certificate, and its Leaf field is populated.
func (ca *CA) Issue(hosts []string, now time.Time, validity time.Duration) (*tls.Certificate, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("%w: no hosts", ErrInvalidHost)
	}
	if validity <= 0 {
		return nil, fmt.Errorf("pki: certificate validity %v is not positive", validity)
	}
	if now.Before(ca.Cert.NotBefore) || !now.Before(ca.Cert.NotAfter) {
		return nil, fmt.Errorf("%w: %s is outside [%s, %s)", ErrCAExpired,
			now.UTC().Format(time.RFC3339), ca.Cert.NotBefore.Format(time.RFC3339), ca.Cert.NotAfter.Format(time.RFC3339))
	}

	tmpl := &x509.Certificate{
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		NotBefore:             now.Add(-ClockSkew).UTC(),
		NotAfter:              now.Add(validity).UTC(),
	}
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	for i, h := range hosts {
		name, ip, err := normalizeHost(h)
		if err != nil {
			return nil, err
		}
		if ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, name)
		}
		if i == 0 {
			tmpl.Subject.CommonName = name
		}
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate leaf key: %w", err)
	}
	if tmpl.SerialNumber, err = randomSerial(); err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: sign leaf certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse leaf certificate: %w", err)
	}
	return &tls.Certificate{
		Certificate: [][]byte{der, ca.Cert.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}, nil
}

// normalizeHost lower-cases h, drops one trailing dot, and classifies it.
// It returns the IP for an IP address, or the normalized DNS name.
func normalizeHost(h string) (string, net.IP, error) {
	if ip := net.ParseIP(h); ip != nil {
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		return ip.String(), ip, nil
	}
	name := strings.ToLower(strings.TrimSuffix(h, "."))
	if !ValidHostname(name, true) {
		return "", nil, fmt.Errorf("%w: %q", ErrInvalidHost, h)
	}
	return name, nil, nil
}

// ValidHostname reports whether name is a syntactically valid DNS host name:
// at most 253 bytes, dot-separated labels of 1 to 63 bytes made of ASCII
// letters, digits, '-' and '_', with no label starting or ending in '-'.
// If wildcard is true the first label may be exactly "*". A trailing dot is
// not accepted; strip it first.
func ValidHostname(name string, wildcard bool) bool {
	if len(name) == 0 || len(name) > 253 {
		return false
	}
	if wildcard && strings.HasPrefix(name, "*.") {
		name = name[2:]
	}
	for label := range strings.SplitSeq(name, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
			default:
				return false
			}
		}
	}
	return true
}

// randomSerial returns a random positive 128-bit serial number.
func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("pki: generate serial number: %w", err)
	}
	if serial.Sign() == 0 { // serials must be positive (RFC 5280 §4.1.2.2)
		serial.SetInt64(1)
	}
	return serial, nil
}

// subjectKeyID computes the key identifier of RFC 5280 §4.2.1.2 method 1:
// the SHA-1 of the subjectPublicKey bit string.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("pki: marshal public key: %w", err)
	}
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil, fmt.Errorf("pki: parse public key: %w", err)
	}
	sum := sha1.Sum(info.PublicKey.Bytes)
	return sum[:], nil
}

// firstBlock decodes the first PEM block of data, or returns nil.
func firstBlock(data []byte) *pem.Block {
	block, _ := pem.Decode(data)
	return block
}

// parsePrivateKey decodes a PKCS #8, SEC 1 or PKCS #1 private key block.
func parsePrivateKey(block *pem.Block) (crypto.Signer, error) {
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		var k *rsa.PrivateKey
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		key = k
	default:
		return nil, fmt.Errorf("%w: CA key PEM block is %q, want PRIVATE KEY", ErrBadPEM, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: parse CA private key: %v", ErrBadPEM, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: CA private key of type %T cannot sign", ErrBadPEM, key)
	}
	return signer, nil
}
