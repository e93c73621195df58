package issuer

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/jwt"
)

// jwksOf renders keys as a JSON Web Key Set.
func jwksOf(keys ...*jwt.Key) []byte {
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	for _, k := range keys {
		pub := k.Private.PublicKey
		set.Keys = append(set.Keys, map[string]string{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.ID,
			"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())})
	}
	b, _ := json.Marshal(set)
	return b
}

// testIDP is an OIDC issuer over TLS whose key set can change.
type testIDP struct {
	srv     *httptest.Server
	jwks    atomic.Value // []byte
	fetches atomic.Int32
}

func newTestIDP(t *testing.T) *testIDP {
	idp := &testIDP{}
	idp.jwks.Store([]byte(`{"keys":[]}`))
	idp.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oidc/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{"issuer": idp.issuer(), "jwks_uri": idp.srv.URL + "/keys"})
		case "/keys":
			idp.fetches.Add(1)
			w.Write(idp.jwks.Load().([]byte))
		case "/big/.well-known/openid-configuration":
			w.Write([]byte(`{"jwks_uri":"` + idp.srv.URL + `/huge"}`))
		case "/huge":
			w.Write([]byte(`{"keys":[` + strings.Repeat(" ", metadataMaxSize) + `]}`))
		case "/plain/.well-known/openid-configuration":
			w.Write([]byte(`{"jwks_uri":"http://example.com/keys"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(idp.srv.Close)
	return idp
}

func (idp *testIDP) issuer() string { return idp.srv.URL + "/oidc" }

func TestIssuerKeysFetch(t *testing.T) {
	ctx := context.Background()
	idp := newTestIDP(t)
	k1, _ := jwt.GenerateKey(time.Now())
	k2, _ := jwt.GenerateKey(time.Now())
	idp.jwks.Store(jwksOf(k1))
	now := time.Now()
	keys := &IssuerKeys{Client: idp.srv.Client(), Now: func() time.Time { return now }}

	got, _, err := keys.Key(ctx, idp.issuer(), k1.ID)
	if err != nil || !got.Equal(&k1.Private.PublicKey) {
		t.Fatalf("key: %v", err)
	}
	keys.Key(ctx, idp.issuer(), k1.ID)
	if idp.fetches.Load() != 1 {
		t.Fatalf("%d fetches, want 1 (cached)", idp.fetches.Load())
	}

	// A new key appears: an unknown kid refetches, but not more often than
	// every 30 seconds.
	idp.jwks.Store(jwksOf(k1, k2))
	if _, _, err := keys.Key(ctx, idp.issuer(), k2.ID); !errors.Is(err, ErrKeyNotFound) || idp.fetches.Load() != 1 {
		t.Fatalf("immediate refetch: %v, %d fetches", err, idp.fetches.Load())
	}
	now = now.Add(time.Minute)
	if got, _, err := keys.Key(ctx, idp.issuer(), k2.ID); err != nil || !got.Equal(&k2.Private.PublicKey) || idp.fetches.Load() != 2 {
		t.Fatalf("refetch on unknown kid: %v, %d fetches", err, idp.fetches.Load())
	}
	// After the TTL the keys are fetched again.
	now = now.Add(DefaultKeysTTL)
	keys.Key(ctx, idp.issuer(), k1.ID)
	if idp.fetches.Load() != 3 {
		t.Fatalf("%d fetches after the TTL", idp.fetches.Load())
	}

	for name, iss := range map[string]string{
		"no discovery": idp.srv.URL + "/none",
		"too large":    idp.srv.URL + "/big",
		"http jwks":    idp.srv.URL + "/plain",
		"http issuer":  "http://example.com",
	} {
		if _, _, err := keys.Key(ctx, iss, k1.ID); !errors.Is(err, ErrMetadata) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Without the issuer's CA, TLS fails.
	untrusted := &IssuerKeys{Client: &http.Client{}}
	if _, _, err := untrusted.Key(ctx, idp.issuer(), k1.ID); !errors.Is(err, ErrMetadata) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted issuer: %v", err)
	}
}

type fakeSource struct{}

func (fakeSource) IssuerKeys(_ context.Context, issuer string) (*KeySet, error) {
	if !strings.HasPrefix(issuer, "https://local/") {
		return nil, nil
	}
	return &KeySet{Keys: map[string]*rsa.PublicKey{}, ComputeID: "/cluster"}, nil
}

func TestIssuerKeysSources(t *testing.T) {
	k, _ := jwt.GenerateKey(time.Now())
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, jwksOf(k), 0o600); err != nil {
		t.Fatal(err)
	}
	fileKeys, err := LoadJWKSFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := &IssuerKeys{Local: []KeySource{fakeSource{}}, Files: map[string]map[string]*rsa.PublicKey{"https://ci.example": fileKeys}}
	ctx := context.Background()
	if got, _, err := keys.Key(ctx, "https://ci.example", k.ID); err != nil || !got.Equal(&k.Private.PublicKey) {
		t.Fatalf("file key: %v", err)
	}
	if got, _, err := keys.Key(ctx, "https://ci.example", ""); err != nil || got == nil {
		t.Fatalf("the only key, for a token without kid: %v", err)
	}
	if _, compute, err := keys.Key(ctx, "https://local/x", k.ID); !errors.Is(err, ErrKeyNotFound) || compute != "/cluster" {
		t.Fatalf("local source: %v %q", err, compute)
	}
	for name, doc := range map[string]string{
		"not json":  `{`,
		"empty":     `{"keys":[]}`,
		"only EC":   `{"keys":[{"kty":"EC","kid":"a"}]}`,
		"short key": `{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]}`,
		"bad n":     `{"keys":[{"kty":"RSA","kid":"a","n":"!!","e":"AQAB"}]}`,
	} {
		if _, err := ParseJWKS([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := LoadJWKSFile(path + "x"); err == nil {
		t.Error("missing file accepted")
	}
}
