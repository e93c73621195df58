package jwt

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"sync/atomic"
	"time"
)

// Ring is the set of trusted signing keys. The newest key signs; every key
// verifies, so a token signed before a rotation stays valid as long as its
// key remains in the ring.
//
// A Ring is safe for concurrent use. Reads (Active, Keys, JWKS, Verify) take
// no lock: they load an immutable snapshot that Set replaces atomically. The
// zero Ring is an empty ring.
type Ring struct {
	snap atomic.Pointer[ringSnapshot]
}

// ringSnapshot is an immutable view of the ring.
type ringSnapshot struct {
	keys []*Key          // newest first
	byID map[string]*Key // by Key.ID
	jwks []byte          // JSON Web Key Set of keys
}

// emptySnapshot is what a zero Ring reads.
var emptySnapshot = newSnapshot(nil)

// NewRing returns a ring holding keys; see [Ring.Set].
func NewRing(keys ...*Key) *Ring {
	r := &Ring{}
	r.Set(keys)
	return r
}

// Set replaces the ring's keys. Nil keys and keys without a private key are
// ignored; of several keys with the same ID, the newest is kept.
//
// If the resulting set has the same key IDs and creation times as the
// current one, the ring is left untouched, so callers may Set the keys they
// reload from storage as often as they like: the JWKS document is rebuilt
// only when the set changes.
func (r *Ring) Set(keys []*Key) {
	list := make([]*Key, 0, len(keys))
	for _, k := range keys {
		if k != nil && k.Private != nil {
			list = append(list, k)
		}
	}
	// Newest first; among equal times keep the given order.
	slices.SortStableFunc(list, func(a, b *Key) int { return b.Created.Compare(a.Created) })
	seen := make(map[string]bool, len(list))
	list = slices.DeleteFunc(list, func(k *Key) bool {
		dup := seen[k.ID]
		seen[k.ID] = true
		return dup
	})

	if cur := r.snapshot(); slices.EqualFunc(cur.keys, list, func(a, b *Key) bool {
		return a.ID == b.ID && a.Created.Equal(b.Created)
	}) {
		return
	}
	r.snap.Store(newSnapshot(list))
}

// snapshot returns the current snapshot, never nil.
func (r *Ring) snapshot() *ringSnapshot {
	if s := r.snap.Load(); s != nil {
		return s
	}
	return emptySnapshot
}

// Active returns the newest key, which signs new tokens, or nil if the ring
// is empty.
func (r *Ring) Active() *Key {
	if keys := r.snapshot().keys; len(keys) > 0 {
		return keys[0]
	}
	return nil
}

// Keys returns the ring's keys, newest first. The slice is the caller's;
// the keys must not be modified.
func (r *Ring) Keys() []*Key {
	return slices.Clone(r.snapshot().keys)
}

// Key returns the key with the given ID, or nil.
func (r *Ring) Key(id string) *Key {
	return r.snapshot().byID[id]
}

// JWKS returns the ring's public keys as a JSON Web Key Set, newest first:
//
//	{"keys":[{"kty":"RSA","use":"sig","kid":…,"x5t":…,"n":…,"e":…,"x5c":[…]}]}
//
// The document is built when the key set changes; each call returns a copy.
func (r *Ring) JWKS() []byte {
	return slices.Clone(r.snapshot().jwks)
}

// jwk is one entry of a JSON Web Key Set.
type jwk struct {
	Kty string   `json:"kty"`
	Use string   `json:"use"`
	Kid string   `json:"kid"`
	X5t string   `json:"x5t,omitempty"`
	N   string   `json:"n"`
	E   string   `json:"e"`
	X5c []string `json:"x5c,omitempty"`
}

// newSnapshot builds the immutable view of keys, which must be sorted and
// free of duplicates.
func newSnapshot(keys []*Key) *ringSnapshot {
	s := &ringSnapshot{keys: keys, byID: make(map[string]*Key, len(keys))}
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	for _, k := range keys {
		s.byID[k.ID] = k
		pub := &k.Private.PublicKey
		entry := jwk{
			Kty: "RSA",
			Use: "sig",
			Kid: k.ID,
			N:   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			E:   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		}
		if len(k.Cert) > 0 {
			entry.X5t = thumbprint(k.Cert)
			entry.X5c = []string{base64.StdEncoding.EncodeToString(k.Cert)}
		}
		set.Keys = append(set.Keys, entry)
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		// Only strings and slices of strings: this cannot happen.
		panic("jwt: marshal JWKS: " + err.Error())
	}
	s.jwks = jwks
	return s
}

// VerifyOptions are the checks [Ring.Verify] applies after the signature.
type VerifyOptions struct {
	// Now is the time to check exp and nbf against; zero means time.Now().
	Now time.Time
	// Leeway is the clock skew tolerated on exp and nbf.
	Leeway time.Duration
	// Issuers, if not empty, lists the accepted iss values (exact match).
	Issuers []string
	// Audiences, if not empty, lists the accepted audiences; one of the
	// token's aud values must equal one of them exactly.
	Audiences []string
}

// ExpiredError is the error for an expired token. It matches [ErrExpired]
// with errors.Is; use errors.As to get the times, which ARM's error message
// quotes.
type ExpiredError struct {
	// Exp is the token's expiry (its exp claim).
	Exp time.Time
	// Now is the time the token was checked at.
	Now time.Time
}

// Error describes the expiry in UTC.
func (e *ExpiredError) Error() string {
	return fmt.Sprintf("%v: expired at %s, now %s", ErrExpired,
		e.Exp.UTC().Format(time.RFC3339), e.Now.UTC().Format(time.RFC3339))
}

// Unwrap returns ErrExpired.
func (e *ExpiredError) Unwrap() error { return ErrExpired }

// Verify checks token and returns its claims.
//
// The checks, in order: the token parses ([ErrMalformed]); its alg is RS256
// ([ErrAlgorithm]); its kid (or, lacking one, its x5t) names a key in the
// ring ([ErrUnknownKey]); the RSASSA-PKCS1-v1_5 SHA-256 signature verifies
// ([ErrSignature]); the claims decode and include exp ([ErrMalformed]); the
// token has not expired ([*ExpiredError]) and nbf, if present, has passed
// ([ErrNotYetValid]), both within o.Leeway; iss is accepted ([ErrIssuer]);
// an aud is accepted ([ErrAudience]).
//
// When the signature is valid but a time, issuer or audience check fails,
// the authentic claims are returned together with the error, so that the
// caller can log whose token was refused. Callers must check the error.
func (r *Ring) Verify(token string, o VerifyOptions) (*Claims, error) {
	snap := r.snapshot()
	claims, _, err := snap.verifySignature(token)
	if err != nil {
		return nil, err
	}
	if err := o.check(claims); err != nil {
		return claims, err
	}
	return claims, nil
}

// verifySignature parses token, checks its algorithm, key and signature,
// and decodes its claims. It returns the ID of the key that signed it.
func (s *ringSnapshot) verifySignature(token string) (*Claims, string, error) {
	t, err := Parse(token)
	if err != nil {
		return nil, "", err
	}
	if t.Alg != "RS256" {
		return nil, "", fmt.Errorf("%w: %.32q", ErrAlgorithm, t.Alg)
	}
	kid := t.keyID()
	key := s.byID[kid]
	if key == nil {
		return nil, "", fmt.Errorf("%w: kid %.64q", ErrUnknownKey, kid)
	}
	digest := sumString(t.SigningInput)
	if err := rsa.VerifyPKCS1v15(&key.Private.PublicKey, crypto.SHA256, digest[:], t.Signature); err != nil {
		return nil, "", fmt.Errorf("%w: kid %s", ErrSignature, kid)
	}
	claims := new(Claims)
	if err := json.Unmarshal(t.RawClaims, claims); err != nil {
		return nil, "", malformed("claims: %v", err)
	}
	if claims.Exp == 0 {
		return nil, "", malformed("no exp claim")
	}
	return claims, kid, nil
}

// check applies the time, issuer and audience checks to verified claims.
func (o *VerifyOptions) check(c *Claims) error {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	if exp := time.Unix(c.Exp, 0); !now.Before(exp.Add(o.Leeway)) {
		return &ExpiredError{Exp: exp, Now: now}
	}
	if c.Nbf != 0 {
		if nbf := time.Unix(c.Nbf, 0); now.Add(o.Leeway).Before(nbf) {
			return fmt.Errorf("%w: valid from %s, now %s", ErrNotYetValid,
				nbf.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	if len(o.Issuers) > 0 && !contains(o.Issuers, c.Iss) {
		return fmt.Errorf("%w: %.256q is not one of %s", ErrIssuer, c.Iss, quoteList(o.Issuers))
	}
	if len(o.Audiences) > 0 && !slices.ContainsFunc(c.Aud, func(a string) bool { return contains(o.Audiences, a) }) {
		return fmt.Errorf("%w: %s is not one of %s", ErrAudience, quoteList(c.Aud), quoteList(o.Audiences))
	}
	return nil
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	return slices.Contains(list, s)
}
