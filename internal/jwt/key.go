package jwt

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

const (
	// KeyBits is the size of keys made by [GenerateKey], as used by Entra ID.
	KeyBits = 2048

	// KeyCertValidity is the validity of the self-signed certificate that
	// [GenerateKey] creates for a key. Token verifiers do not check it; it
	// exists because Entra publishes an x5c certificate for every key.
	KeyCertValidity = 5 * 365 * 24 * time.Hour

	// keyCertCommonName is the subject of key certificates.
	keyCertCommonName = "mimic token signing"
)

// Key is one RS256 signing key.
//
// A Key must not be modified once it is in use (signing, or in a [Ring]).
type Key struct {
	// ID is the key identifier placed in the kid and x5t headers: the
	// base64url (unpadded) SHA-1 thumbprint of Cert, as Entra forms it.
	ID string
	// Private is the RSA private key, with Precompute already called.
	Private *rsa.PrivateKey
	// Created is when the key was made. The newest key of a [Ring] signs.
	Created time.Time
	// Cert is the DER of a self-signed certificate for the key, published
	// as x5c in the JWKS. It may be nil for keys made by other means, in
	// which case the JWKS omits x5c and x5t.
	Cert []byte
}

// GenerateKey creates a 2048-bit RSA key with a self-signed certificate
// (CN "mimic token signing") valid from an hour before now for
// [KeyCertValidity], and derives its ID from the certificate.
func GenerateKey(now time.Time) (*Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, fmt.Errorf("jwt: generate RSA key: %w", err)
	}
	priv.Precompute()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("jwt: generate serial number: %w", err)
	}
	serial.Add(serial, big.NewInt(1)) // serials must be positive
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: keyCertCommonName},
		NotBefore:             now.Add(-time.Hour).UTC(),
		NotAfter:              now.Add(KeyCertValidity).UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, fmt.Errorf("jwt: create key certificate: %w", err)
	}
	return &Key{ID: thumbprint(der), Private: priv, Created: now, Cert: der}, nil
}

// thumbprint returns the base64url (unpadded) SHA-1 of a certificate's DER:
// the form of Entra's kid and x5t.
func thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// MarshalPEM encodes the key as a PKCS #8 "PRIVATE KEY" block followed by
// its "CERTIFICATE" block, for storage. [ParseKeyPEM] reverses it. The ID is
// not stored: it is derived from the certificate, and Created is stored by
// the caller.
func (k *Key) MarshalPEM() ([]byte, error) {
	if k.Private == nil {
		return nil, errors.New("jwt: MarshalPEM: key has no private key")
	}
	if len(k.Cert) == 0 {
		return nil, errors.New("jwt: MarshalPEM: key has no certificate")
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, fmt.Errorf("jwt: marshal private key: %w", err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Cert})...), nil
}

// ParseKeyPEM decodes a key written by [Key.MarshalPEM]: exactly one
// "PRIVATE KEY" (PKCS #8) or "RSA PRIVATE KEY" (PKCS #1) block and exactly one
// "CERTIFICATE" block, in either order. The key must be RSA of at least 2048
// bits and match the certificate. The ID is recomputed from the certificate;
// created becomes the key's Created time.
func ParseKeyPEM(data []byte, created time.Time) (*Key, error) {
	var (
		priv *rsa.PrivateKey
		cert *x509.Certificate
	)
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case "PRIVATE KEY", "RSA PRIVATE KEY":
			if priv != nil {
				return nil, errors.New("jwt: key PEM holds more than one private key")
			}
			k, err := parseRSAPrivateKey(block)
			if err != nil {
				return nil, err
			}
			priv = k
		case "CERTIFICATE":
			if cert != nil {
				return nil, errors.New("jwt: key PEM holds more than one certificate")
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("jwt: parse key certificate: %w", err)
			}
			cert = c
		default:
			return nil, fmt.Errorf("jwt: unexpected PEM block %q in key", block.Type)
		}
	}
	switch {
	case priv == nil:
		return nil, errors.New("jwt: key PEM holds no PRIVATE KEY block")
	case cert == nil:
		return nil, errors.New("jwt: key PEM holds no CERTIFICATE block")
	case priv.N.BitLen() < KeyBits:
		return nil, fmt.Errorf("jwt: RSA key has %d bits, want at least %d", priv.N.BitLen(), KeyBits)
	case !priv.PublicKey.Equal(cert.PublicKey):
		return nil, errors.New("jwt: private key does not match the certificate")
	}
	priv.Precompute()
	return &Key{ID: thumbprint(cert.Raw), Private: priv, Created: created, Cert: cert.Raw}, nil
}

// parseRSAPrivateKey decodes a PKCS #8 or PKCS #1 RSA private key block.
func parseRSAPrivateKey(block *pem.Block) (*rsa.PrivateKey, error) {
	if block.Type == "RSA PRIVATE KEY" {
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("jwt: parse private key: %w", err)
		}
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("jwt: parse private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("jwt: private key is %T, want RSA", k)
	}
	return rk, nil
}
