package issuer

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// KeySet is the signing keys of one issuer.
type KeySet struct {
	// Keys are the issuer's public keys by key id.
	Keys map[string]*rsa.PublicKey
	// ComputeID is the resource that runs the issuer, such as an AKS
	// cluster, for issuers mimic runs; the sign-in log names it.
	ComputeID string
}

// KeySource serves the signing keys of issuers that mimic itself runs,
// such as AKS clusters' OIDC issuers.
type KeySource interface {
	// IssuerKeys returns the keys of issuer, or nil when the source does
	// not serve that issuer.
	IssuerKeys(ctx context.Context, issuer string) (*KeySet, error)
}

// Errors of IssuerKeys.Key.
var (
	// ErrKeyNotFound: the issuer publishes no key with the assertion's id.
	ErrKeyNotFound = errors.New("the signing key is not in the issuer's metadata")
	// ErrMetadata: the issuer's discovery document or JWKS could not be
	// fetched or read.
	ErrMetadata = errors.New("the issuer's metadata could not be read")
)

// Limits of fetching an external issuer's metadata.
const (
	metadataTimeout = 10 * time.Second
	metadataMaxSize = 1 << 20
	// DefaultKeysTTL is how long fetched keys are used without refetching.
	DefaultKeysTTL = time.Hour
	// refetchAfter is how soon an unknown key id may trigger a refetch.
	refetchAfter = 30 * time.Second
)

// IssuerKeys finds the signing keys of the issuers that federated
// credentials trust, in this order: issuers mimic runs (Local), JWKS files
// given to `mimic up --oidc-issuer-jwks` (Files, by exact issuer), and for
// any other issuer its keys over HTTPS: {issuer}/.well-known/openid-configuration,
// then its jwks_uri. Fetched keys are kept for TTL and fetched again,
// at most every 30 seconds, when an assertion names a key id they lack.
type IssuerKeys struct {
	Local []KeySource
	Files map[string]map[string]*rsa.PublicKey
	// Client fetches metadata; its roots decide which issuers are trusted.
	Client *http.Client
	TTL    time.Duration
	Now    func() time.Time

	mu     sync.Mutex
	remote map[string]*remoteKeys
}

// remoteKeys are the keys fetched from one issuer.
type remoteKeys struct {
	mu      sync.Mutex // serialises fetches of the issuer
	keys    map[string]*rsa.PublicKey
	fetched time.Time
}

// Key returns the public key of issuer named by kid, and the compute that
// runs the issuer when mimic runs it. Errors wrap ErrKeyNotFound or
// ErrMetadata, or come from a KeySource.
func (k *IssuerKeys) Key(ctx context.Context, issuer, kid string) (*rsa.PublicKey, string, error) {
	for _, src := range k.Local {
		set, err := src.IssuerKeys(ctx, issuer)
		if err != nil {
			return nil, "", err
		}
		if set != nil {
			key, err := pick(set.Keys, kid)
			return key, set.ComputeID, err
		}
	}
	if keys, ok := k.Files[issuer]; ok {
		key, err := pick(keys, kid)
		return key, "", err
	}
	key, err := k.remoteKey(ctx, issuer, kid)
	return key, "", err
}

// pick returns the key kid of keys; a token without a key id may use the
// only key of a set.
func pick(keys map[string]*rsa.PublicKey, kid string) (*rsa.PublicKey, error) {
	if key := keys[kid]; key != nil {
		return key, nil
	}
	if kid == "" && len(keys) == 1 {
		for _, key := range keys {
			return key, nil
		}
	}
	return nil, ErrKeyNotFound
}

func (k *IssuerKeys) remoteKey(ctx context.Context, issuer, kid string) (*rsa.PublicKey, error) {
	k.mu.Lock()
	if k.remote == nil {
		k.remote = map[string]*remoteKeys{}
	}
	rk := k.remote[issuer]
	if rk == nil {
		rk = &remoteKeys{}
		k.remote[issuer] = rk
	}
	k.mu.Unlock()

	rk.mu.Lock()
	defer rk.mu.Unlock()
	now := time.Now()
	if k.Now != nil {
		now = k.Now()
	}
	ttl := k.TTL
	if ttl <= 0 {
		ttl = DefaultKeysTTL
	}
	if rk.keys != nil && now.Sub(rk.fetched) < ttl {
		key, err := pick(rk.keys, kid)
		if err == nil || now.Sub(rk.fetched) < refetchAfter {
			return key, err
		}
	}
	keys, err := k.fetch(ctx, issuer)
	if err != nil {
		return nil, err
	}
	rk.keys, rk.fetched = keys, now
	return pick(keys, kid)
}

// fetch reads an issuer's discovery document and then its JWKS.
func (k *IssuerKeys) fetch(ctx context.Context, issuer string) (map[string]*rsa.PublicKey, error) {
	ctx, cancel := context.WithTimeout(ctx, metadataTimeout)
	defer cancel()
	if u, err := url.Parse(issuer); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%w: the issuer '%s' is not an https URL", ErrMetadata, issuer)
	}
	discovery := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	body, err := k.get(ctx, discovery)
	if err != nil {
		return nil, err
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s is not a discovery document: %v", ErrMetadata, discovery, err)
	}
	if u, err := url.Parse(doc.JWKSURI); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%w: the jwks_uri '%s' of %s is not an https URL", ErrMetadata, doc.JWKSURI, discovery)
	}
	if body, err = k.get(ctx, doc.JWKSURI); err != nil {
		return nil, err
	}
	keys, err := ParseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMetadata, doc.JWKSURI, err)
	}
	return keys, nil
}

// get fetches one metadata document.
func (k *IssuerKeys) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMetadata, err)
	}
	req.Header.Set("Accept", "application/json")
	client := k.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %v", ErrMetadata, u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: GET %s: %s", ErrMetadata, u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, metadataMaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %v", ErrMetadata, u, err)
	}
	if len(body) > metadataMaxSize {
		return nil, fmt.Errorf("%w: GET %s: the document is larger than %d bytes", ErrMetadata, u, metadataMaxSize)
	}
	return body, nil
}

// ParseJWKS reads the RSA signing keys of a JSON Web Key Set by key id
// (or x5t, for keys without one). Keys of other types or for encryption
// are skipped; a set without a usable RSA key is an error.
func ParseJWKS(data []byte) (map[string]*rsa.PublicKey, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Use string `json:"use"`
			Kid string `json:"kid"`
			X5t string `json:"x5t"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %w", err)
	}
	out := map[string]*rsa.PublicKey{}
	for i, jk := range set.Keys {
		if jk.Kty != "RSA" || (jk.Use != "" && jk.Use != "sig") {
			continue
		}
		n, errN := base64.RawURLEncoding.DecodeString(strings.TrimRight(jk.N, "="))
		e, errE := base64.RawURLEncoding.DecodeString(strings.TrimRight(jk.E, "="))
		if errN != nil || errE != nil || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("key %d (kid %q): n and e must be base64url", i, jk.Kid)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 || pub.E < 3 {
			return nil, fmt.Errorf("key %d (kid %q): RSA keys must have at least 2048 bits", i, jk.Kid)
		}
		id := jk.Kid
		if id == "" {
			id = jk.X5t
		}
		out[id] = pub
	}
	if len(out) == 0 {
		return nil, errors.New("the key set holds no RSA signing key")
	}
	return out, nil
}

// LoadJWKSFile reads a JSON Web Key Set file, for --oidc-issuer-jwks.
func LoadJWKSFile(path string) (map[string]*rsa.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	keys, err := ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys, nil
}
