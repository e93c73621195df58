package jwt

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const (
	testIssuer   = "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"
	testAudience = "https://vault.azure.net"
)

// testKeys generates two keys once: RSA key generation is slow.
var testKeys = sync.OnceValues(func() ([2]*Key, error) {
	var keys [2]*Key
	for i := range keys {
		k, err := GenerateKey(testNow.Add(time.Duration(i) * time.Hour))
		if err != nil {
			return keys, err
		}
		keys[i] = k
	}
	return keys, nil
})

// keys returns the old and the new test key.
func keys(t testing.TB) (old, cur *Key) {
	t.Helper()
	k, err := testKeys()
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	return k[0], k[1]
}

// testClaims are managed-identity-like claims valid around testNow.
func testClaims() *Claims {
	return &Claims{
		Aud:      Audience{testAudience},
		Iss:      testIssuer,
		Iat:      testNow.Add(-5 * time.Minute).Unix(),
		Nbf:      testNow.Add(-5 * time.Minute).Unix(),
		Exp:      testNow.Add(24 * time.Hour).Unix(),
		AppID:    "2f1f5b1e-0a0e-4f7b-9d2c-7d7b6c3b5a11",
		AppIDAcr: "2",
		Idtyp:    "app",
		Oid:      "5c3b3c5e-8e43-4d33-a6b2-1c4e2b6f7e90",
		Rh:       "0.AAAA",
		Sub:      "5c3b3c5e-8e43-4d33-a6b2-1c4e2b6f7e90",
		Tid:      "72f988bf-86f1-41af-91ab-2d7cd011db47",
		Uti:      "abc123",
		Ver:      "1.0",
		XmsMirid: "/subscriptions/0000/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app",
	}
}

func testOptions() VerifyOptions {
	return VerifyOptions{Now: testNow, Issuers: []string{testIssuer}, Audiences: []string{testAudience}}
}

func sign(t testing.TB, k *Key, claims any) string {
	t.Helper()
	tok, err := Sign(k, claims)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return tok
}

// b64json encodes v as a base64url JSON segment.
func b64json(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestGenerateKey(t *testing.T) {
	k, _ := keys(t)
	if k.Private.N.BitLen() != KeyBits {
		t.Errorf("key has %d bits", k.Private.N.BitLen())
	}
	if k.Private.Precomputed.Dp == nil {
		t.Error("key not precomputed")
	}
	cert, err := x509.ParseCertificate(k.Cert)
	if err != nil {
		t.Fatalf("parse key certificate: %v", err)
	}
	if cert.Subject.CommonName != "mimic token signing" {
		t.Errorf("CN = %q", cert.Subject.CommonName)
	}
	if !k.Private.PublicKey.Equal(cert.PublicKey) {
		t.Error("certificate is for another key")
	}
	if len(k.ID) != 27 { // base64url of 20 bytes, unpadded
		t.Errorf("ID %q has length %d, want 27", k.ID, len(k.ID))
	}
	if k.ID != thumbprint(k.Cert) {
		t.Error("ID is not the certificate thumbprint")
	}
	if !k.Created.Equal(testNow) {
		t.Errorf("Created = %v", k.Created)
	}
}

func TestSignFormat(t *testing.T) {
	k, _ := keys(t)
	tok := sign(t, k, testClaims())
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"typ":"JWT","alg":"RS256","x5t":%q,"kid":%q}`, k.ID, k.ID)
	if string(hdr) != want {
		t.Errorf("header = %s, want %s", hdr, want)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	if m["aud"] != testAudience {
		t.Errorf("aud = %#v, want a plain string", m["aud"])
	}
	for _, empty := range []string{"azp", "azpacr", "roles", "xms_az_rid"} {
		if _, ok := m[empty]; ok {
			t.Errorf("empty claim %q not omitted", empty)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 256 {
		t.Errorf("signature is %d bytes", len(sig))
	}
}

func TestSignErrors(t *testing.T) {
	k, _ := keys(t)
	tests := []struct {
		name   string
		key    *Key
		claims any
	}{
		{"nil key", nil, testClaims()},
		{"no private key", &Key{ID: "x"}, testClaims()},
		{"no ID", &Key{Private: k.Private}, testClaims()},
		{"not an object", k, []string{"a"}},
		{"unmarshalable", k, map[string]any{"f": func() {}}},
	}
	for _, tt := range tests {
		if _, err := Sign(tt.key, tt.claims); err == nil {
			t.Errorf("%s: Sign succeeded", tt.name)
		}
	}
}

func TestSignEscapesKeyID(t *testing.T) {
	k, _ := keys(t)
	odd := *k
	odd.ID = `a"b\c<`
	tok := sign(t, &odd, testClaims())
	p, err := Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kid != odd.ID || p.X5t != odd.ID {
		t.Errorf("kid %q, x5t %q; want %q", p.Kid, p.X5t, odd.ID)
	}
}

func TestRoundTrip(t *testing.T) {
	k, _ := keys(t)
	ring := NewRing(k)
	want := testClaims()
	want.Roles = []string{"Secrets.Read"}
	tok := sign(t, k, want)
	got, err := ring.Verify(tok, testOptions())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("claims differ:\n got %s\nwant %s", gotJSON, wantJSON)
	}

	// Sign accepts arbitrary JSON objects too.
	tok = sign(t, k, map[string]any{"exp": testNow.Add(time.Hour).Unix(), "custom": true})
	if _, err := ring.Verify(tok, VerifyOptions{Now: testNow}); err != nil {
		t.Errorf("Verify map claims: %v", err)
	}
}

func TestParse(t *testing.T) {
	k, _ := keys(t)
	tok := sign(t, k, testClaims())
	p, err := Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Alg != "RS256" || p.Typ != "JWT" || p.Kid != k.ID || p.X5t != k.ID {
		t.Errorf("header fields: %+v", p)
	}
	if p.SigningInput != tok[:strings.LastIndexByte(tok, '.')] {
		t.Error("wrong signing input")
	}
	if len(p.Signature) != 256 {
		t.Errorf("signature length %d", len(p.Signature))
	}
	var c Claims
	if err := json.Unmarshal(p.RawClaims, &c); err != nil || c.Oid != testClaims().Oid {
		t.Errorf("raw claims %s: %v", p.RawClaims, err)
	}
}

func TestParseMalformed(t *testing.T) {
	k, _ := keys(t)
	valid := sign(t, k, testClaims())
	parts := strings.Split(valid, ".")
	hdr, claims, sig := parts[0], parts[1], parts[2]
	enc := base64.RawURLEncoding.EncodeToString

	tests := []struct {
		name, token, msg string
	}{
		{"empty", "", "empty token"},
		{"too long", hdr + "." + strings.Repeat("A", MaxTokenSize) + "." + sig, "more than"},
		{"one part", hdr, "fewer than three"},
		{"two parts", hdr + "." + claims, "fewer than three"},
		{"four parts", valid + ".x", "more than three"},
		{"empty header", "." + claims + "." + sig, "empty header"},
		{"empty payload", hdr + ".." + sig, "empty payload"},
		{"padding", hdr + "=." + claims + "." + sig, "invalid character"},
		{"std alphabet plus", hdr + "." + claims + ".+" + sig[1:], "invalid character"},
		{"std alphabet slash", hdr + "." + claims + "." + sig[:10] + "/" + sig[11:], "invalid character"},
		{"newline", hdr + "\n." + claims + "." + sig, "invalid character"},
		{"space", " " + valid, "invalid character"},
		{"bad length", hdr + "." + claims + "." + sig + "AAA", "signature is not base64url"},
		{"nonzero trailing bits", hdr + ".e31." + sig, "payload is not base64url"}, // "e30" is {}
		{"header not JSON", enc([]byte("hello")) + "." + claims + "." + sig, "header is not a JSON object"},
		{"header array", enc([]byte(`["alg"]`)) + "." + claims + "." + sig, "header is not a JSON object"},
		{"header null", enc([]byte(`null`)) + "." + claims + "." + sig, "header is not a JSON object"},
		{"header truncated", enc([]byte(`{"alg":"RS256"`)) + "." + claims + "." + sig, "header:"},
		{"header wrong type", enc([]byte(`{"alg":256}`)) + "." + claims + "." + sig, "header:"},
		{"crit", enc([]byte(`{"alg":"RS256","crit":["exp"]}`)) + "." + claims + "." + sig, "crit"},
		{"payload not object", hdr + "." + enc([]byte(`"str"`)) + "." + sig, "payload is not a JSON object"},
		{"payload truncated", hdr + "." + enc([]byte(`{"exp":1`)) + "." + sig, "payload is not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.token)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse error = %v, want ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

// flipChar changes the character at index i of a base64url segment to a
// different character of the alphabet.
func flipChar(seg string, i int) string {
	c := byte('A')
	if seg[i] == 'A' {
		c = 'B'
	}
	return seg[:i] + string(c) + seg[i+1:]
}

func TestVerifyErrors(t *testing.T) {
	k, other := keys(t)
	ring := NewRing(k)
	valid := sign(t, k, testClaims())
	parts := strings.Split(valid, ".")
	enc := base64.RawURLEncoding.EncodeToString

	withClaims := func(mut func(c *Claims)) string {
		c := testClaims()
		mut(c)
		return sign(t, k, c)
	}
	// tamperedClaims re-encodes different claims under the original signature.
	tampered := func() string {
		c := testClaims()
		c.Roles = []string{"Owner"}
		return parts[0] + "." + b64json(t, c) + "." + parts[2]
	}()
	badSig := parts[0] + "." + parts[1] + "." + flipChar(parts[2], 5)
	noneHdr := enc([]byte(`{"typ":"JWT","alg":"none","kid":"` + k.ID + `"}`))
	algNone := noneHdr + "." + parts[1] + "."
	hsHdr := enc([]byte(`{"typ":"JWT","alg":"HS256","kid":"` + k.ID + `"}`))
	mac := hmac.New(sha256.New, pemPublicKey(t, k))
	mac.Write([]byte(hsHdr + "." + parts[1]))
	hs256 := hsHdr + "." + parts[1] + "." + enc(mac.Sum(nil))
	lowerAlg := enc([]byte(`{"alg":"rs256","kid":"`+k.ID+`"}`)) + "." + parts[1] + "." + parts[2]
	unknownKid := sign(t, other, testClaims())
	noKid := enc([]byte(`{"alg":"RS256"}`)) + "." + parts[1] + "." + parts[2]
	noExp := withClaims(func(c *Claims) { c.Exp = 0 })
	badAud := withClaims(func(c *Claims) { c.Aud = nil })
	badAudJSON := func() string {
		return signRaw(t, k, `{"aud":42,"exp":`+fmt.Sprint(testNow.Add(time.Hour).Unix())+`}`)
	}()

	tests := []struct {
		name  string
		token string
		opts  VerifyOptions
		want  error
	}{
		{"malformed", "not.a.jwt!", testOptions(), ErrMalformed},
		{"tampered signature", badSig, testOptions(), ErrSignature},
		{"tampered claims", tampered, testOptions(), ErrSignature},
		{"truncated signature", parts[0] + "." + parts[1] + "." + parts[2][:40], testOptions(), ErrSignature},
		{"unsigned", parts[0] + "." + parts[1] + ".", testOptions(), ErrSignature},
		{"alg none", algNone, testOptions(), ErrAlgorithm},
		{"alg HS256", hs256, testOptions(), ErrAlgorithm},
		{"alg lower case", lowerAlg, testOptions(), ErrAlgorithm},
		{"unknown kid", unknownKid, testOptions(), ErrUnknownKey},
		{"no kid", noKid, testOptions(), ErrUnknownKey},
		{"no exp", noExp, testOptions(), ErrMalformed},
		{"aud wrong type", badAudJSON, VerifyOptions{Now: testNow}, ErrMalformed},
		{"expired", withClaims(func(c *Claims) { c.Exp = testNow.Add(-time.Second).Unix() }), testOptions(), ErrExpired},
		{"expires now", withClaims(func(c *Claims) { c.Exp = testNow.Unix() }), testOptions(), ErrExpired},
		{"nbf in future", withClaims(func(c *Claims) { c.Nbf = testNow.Add(time.Minute).Unix() }), testOptions(), ErrNotYetValid},
		{"wrong issuer", withClaims(func(c *Claims) { c.Iss = "https://evil.example/" }), testOptions(), ErrIssuer},
		{"issuer differs by slash", withClaims(func(c *Claims) { c.Iss = strings.TrimSuffix(testIssuer, "/") }), testOptions(), ErrIssuer},
		{"wrong audience", withClaims(func(c *Claims) { c.Aud = Audience{"https://management.azure.com/"} }), testOptions(), ErrAudience},
		{"audience differs by slash", withClaims(func(c *Claims) { c.Aud = Audience{testAudience + "/"} }), testOptions(), ErrAudience},
		{"no audience", badAud, testOptions(), ErrAudience},
		{"wrong audience array", withClaims(func(c *Claims) { c.Aud = Audience{"a", "b"} }), testOptions(), ErrAudience},
	}
	sentinels := []error{ErrMalformed, ErrAlgorithm, ErrUnknownKey, ErrSignature, ErrExpired, ErrNotYetValid, ErrIssuer, ErrAudience}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ring.Verify(tt.token, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			for _, s := range sentinels {
				if s != tt.want && errors.Is(err, s) {
					t.Errorf("error %v also matches %v", err, s)
				}
			}
		})
	}
}

// pemPublicKey is the PEM of k's public key, the HMAC secret of the classic
// RS256-to-HS256 confusion attack.
func pemPublicKey(t *testing.T, k *Key) []byte {
	der, err := x509.MarshalPKIXPublicKey(&k.Private.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// signRaw signs a raw JSON payload with k.
func signRaw(t *testing.T, k *Key, payload string) string {
	return sign(t, k, json.RawMessage(payload))
}

func TestVerifyPassing(t *testing.T) {
	k, _ := keys(t)
	ring := NewRing(k)
	withClaims := func(mut func(c *Claims)) string {
		c := testClaims()
		mut(c)
		return sign(t, k, c)
	}
	tests := []struct {
		name  string
		token string
		opts  VerifyOptions
	}{
		{"aud array, one matches", withClaims(func(c *Claims) { c.Aud = Audience{"https://other", testAudience} }), testOptions()},
		{"any accepted audience", withClaims(func(c *Claims) { c.Aud = Audience{"api://x"} }),
			VerifyOptions{Now: testNow, Audiences: []string{testAudience, "api://x"}}},
		{"no issuer or audience checks", withClaims(func(c *Claims) { c.Iss, c.Aud = "anything", nil }), VerifyOptions{Now: testNow}},
		{"expired within leeway", withClaims(func(c *Claims) { c.Exp = testNow.Add(-time.Minute).Unix() }),
			VerifyOptions{Now: testNow, Leeway: 2 * time.Minute}},
		{"nbf within leeway", withClaims(func(c *Claims) { c.Nbf = testNow.Add(time.Minute).Unix() }),
			VerifyOptions{Now: testNow, Leeway: 2 * time.Minute}},
		{"no nbf", withClaims(func(c *Claims) { c.Nbf = 0 }), testOptions()},
		{"nbf now", withClaims(func(c *Claims) { c.Nbf = testNow.Unix() }), testOptions()},
		{"kid only in x5t", func() string {
			parts := strings.Split(withClaims(func(*Claims) {}), ".")
			hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","x5t":"` + k.ID + `"}`))
			return resign(t, k, hdr, parts[1])
		}(), testOptions()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ring.Verify(tt.token, tt.opts); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
	// A zero Now means the real clock: a token valid today verifies.
	live := &Claims{Exp: time.Now().Add(time.Hour).Unix()}
	if _, err := ring.Verify(sign(t, k, live), VerifyOptions{}); err != nil {
		t.Errorf("Verify with zero Now: %v", err)
	}
}

// resign signs the given header and payload segments with k.
func resign(t *testing.T, k *Key, hdr, payload string) string {
	t.Helper()
	digest := sha256.Sum256([]byte(hdr + "." + payload))
	sig, err := rsa.SignPKCS1v15(nil, k.Private, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return hdr + "." + payload + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestExpiredError(t *testing.T) {
	k, _ := keys(t)
	ring := NewRing(k)
	c := testClaims()
	c.Exp = testNow.Add(-90 * time.Minute).Unix()
	claims, err := ring.Verify(sign(t, k, c), testOptions())
	var exp *ExpiredError
	if !errors.As(err, &exp) {
		t.Fatalf("error %v is not an *ExpiredError", err)
	}
	if !exp.Exp.Equal(testNow.Add(-90*time.Minute)) || !exp.Now.Equal(testNow) {
		t.Errorf("ExpiredError{Exp: %v, Now: %v}", exp.Exp, exp.Now)
	}
	if !errors.Is(err, ErrExpired) {
		t.Error("ExpiredError does not match ErrExpired")
	}
	if want := "expired at 2025-06-01T10:30:00Z, now 2025-06-01T12:00:00Z"; !strings.Contains(err.Error(), want) {
		t.Errorf("message %q lacks %q", err, want)
	}
	// The claims are authentic, so they come back for logging.
	if claims == nil || claims.Oid != c.Oid {
		t.Errorf("claims with expiry error = %+v", claims)
	}
}

func TestAudienceJSON(t *testing.T) {
	tests := []struct {
		in   string
		want Audience
		out  string // marshalled form of want
	}{
		{`{"aud":"https://vault.azure.net"}`, Audience{"https://vault.azure.net"}, `{"aud":"https://vault.azure.net"}`},
		{`{"aud":["a","b"]}`, Audience{"a", "b"}, `{"aud":["a","b"]}`},
		{`{"aud":["a"]}`, Audience{"a"}, `{"aud":"a"}`},
		{`{"aud":[]}`, Audience{}, `{}`},
		{`{"aud":null}`, nil, `{}`},
		{`{}`, nil, `{}`},
	}
	for _, tt := range tests {
		var c Claims
		if err := json.Unmarshal([]byte(tt.in), &c); err != nil {
			t.Errorf("Unmarshal(%s): %v", tt.in, err)
			continue
		}
		if !equalAud(c.Aud, tt.want) {
			t.Errorf("Unmarshal(%s).Aud = %#v, want %#v", tt.in, c.Aud, tt.want)
		}
		out, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != tt.out {
			t.Errorf("Marshal(%s) = %s, want %s", tt.in, out, tt.out)
		}
	}
	for _, bad := range []string{`{"aud":1}`, `{"aud":{}}`, `{"aud":[1]}`, `{"aud":true}`} {
		var c Claims
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
	if !(Audience{"a", "b"}).Contains("b") || (Audience{"a"}).Contains("A") {
		t.Error("Contains is wrong")
	}
}

func equalAud(a, b Audience) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestClaimsJSONNames(t *testing.T) {
	c := Claims{
		Aud: Audience{"a"}, Iss: "i", Sub: "s", Exp: 3, Nbf: 2, Iat: 1, Oid: "o", Tid: "t",
		AppID: "ap", Azp: "az", AppIDAcr: "2", Azpacr: "1", Idtyp: "app", Ver: "2.0",
		XmsMirid: "m", XmsAzRid: "r", Uti: "u", Rh: "h", Roles: []string{"x"},
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"aud":"a","iss":"i","iat":1,"nbf":2,"exp":3,"appid":"ap","appidacr":"2","azp":"az","azpacr":"1",` +
		`"idtyp":"app","oid":"o","rh":"h","roles":["x"],"sub":"s","tid":"t","uti":"u","ver":"2.0","xms_az_rid":"r","xms_mirid":"m"}`
	if string(b) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", b, want)
	}
	if b, _ := json.Marshal(Claims{}); string(b) != "{}" {
		t.Errorf("empty claims marshal to %s", b)
	}
}

func TestKeyPEMRoundTrip(t *testing.T) {
	k, other := keys(t)
	data, err := k.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	created := testNow.Add(42 * time.Minute)
	got, err := ParseKeyPEM(data, created)
	if err != nil {
		t.Fatalf("ParseKeyPEM: %v", err)
	}
	if got.ID != k.ID || !got.Private.Equal(k.Private) || !bytes.Equal(got.Cert, k.Cert) || !got.Created.Equal(created) {
		t.Error("round trip lost information")
	}
	// A token signed by the reloaded key verifies with the original.
	if _, err := NewRing(k).Verify(sign(t, got, testClaims()), testOptions()); err != nil {
		t.Errorf("verify token of reloaded key: %v", err)
	}

	// Blocks in the other order are accepted.
	blocks := splitPEM(t, data)
	if _, err := ParseKeyPEM(append(blocks[1], blocks[0]...), created); err != nil {
		t.Errorf("certificate first: %v", err)
	}

	otherPEM, err := other.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	otherBlocks := splitPEM(t, otherPEM)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.Private)})
	if _, err := ParseKeyPEM(append(pkcs1, blocks[1]...), created); err != nil {
		t.Errorf("PKCS #1 key: %v", err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallDER, _ := x509.MarshalPKCS8PrivateKey(small)
	smallPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: smallDER})

	bad := []struct {
		name string
		data []byte
		msg  string
	}{
		{"empty", nil, "no PRIVATE KEY"},
		{"key only", blocks[0], "no CERTIFICATE"},
		{"cert only", blocks[1], "no PRIVATE KEY"},
		{"two keys", append(append(bytes.Clone(blocks[0]), blocks[0]...), blocks[1]...), "more than one private key"},
		{"two certs", append(append(bytes.Clone(blocks[0]), blocks[1]...), blocks[1]...), "more than one certificate"},
		{"mismatch", append(bytes.Clone(blocks[0]), otherBlocks[1]...), "does not match"},
		{"small key", append(smallPEM, blocks[1]...), "1024 bits"},
		{"other block", append(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}}), data...), "unexpected PEM block"},
		{"corrupt key", append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), blocks[1]...), "parse private key"},
		{"corrupt cert", append(bytes.Clone(blocks[0]), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})...), "parse key certificate"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKeyPEM(tt.data, created)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("ParseKeyPEM error = %v, want one mentioning %q", err, tt.msg)
			}
		})
	}
	if _, err := (&Key{}).MarshalPEM(); err == nil {
		t.Error("MarshalPEM of an empty key succeeded")
	}
}

// splitPEM returns the PEM blocks of data, each re-encoded on its own.
func splitPEM(t *testing.T, data []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out
		}
		out = append(out, pem.EncodeToMemory(b))
	}
}

func TestJWKS(t *testing.T) {
	old, cur := keys(t)
	ring := NewRing(old, cur)
	var doc struct {
		Keys []struct {
			Kty, Use, Kid, X5t, N, E string
			X5c                      []string
		}
	}
	raw := ring.JWKS()
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("JWKS is not JSON: %v\n%s", err, raw)
	}
	if len(doc.Keys) != 2 {
		t.Fatalf("JWKS has %d keys", len(doc.Keys))
	}
	for i, want := range []*Key{cur, old} { // newest first
		jk := doc.Keys[i]
		if jk.Kty != "RSA" || jk.Use != "sig" || jk.Kid != want.ID || jk.X5t != want.ID {
			t.Errorf("key %d: %+v", i, jk)
		}
		n, err := base64.RawURLEncoding.DecodeString(jk.N)
		if err != nil {
			t.Fatal(err)
		}
		e, err := base64.RawURLEncoding.DecodeString(jk.E)
		if err != nil {
			t.Fatal(err)
		}
		if jk.E != "AQAB" {
			t.Errorf("e = %q, want AQAB", jk.E)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if !pub.Equal(&want.Private.PublicKey) {
			t.Errorf("key %d: n/e do not reconstruct the public key", i)
		}
		if len(jk.X5c) != 1 {
			t.Fatalf("key %d: %d x5c entries", i, len(jk.X5c))
		}
		der, err := base64.StdEncoding.DecodeString(jk.X5c[0])
		if err != nil || !bytes.Equal(der, want.Cert) {
			t.Errorf("key %d: x5c is not the certificate (%v)", i, err)
		}
	}
	// Callers get copies.
	raw[0] = 'X'
	if ring.JWKS()[0] != '{' {
		t.Error("JWKS returned the cached slice")
	}
	// Empty rings serve an empty set.
	var empty Ring
	if got := string(empty.JWKS()); got != `{"keys":[]}` {
		t.Errorf("empty JWKS = %s", got)
	}
}

func TestRingSet(t *testing.T) {
	old, cur := keys(t)
	ring := NewRing(old, nil, cur, &Key{ID: "no-private"})
	if ring.Active() != cur {
		t.Error("Active is not the newest key")
	}
	if got := ring.Keys(); len(got) != 2 || got[0] != cur || got[1] != old {
		t.Errorf("Keys = %v", got)
	}
	if ring.Key(old.ID) != old || ring.Key("nope") != nil {
		t.Error("Key lookup is wrong")
	}

	// Setting an equivalent set (as reloaded from storage) keeps the snapshot.
	snap := ring.snap.Load()
	reloaded := *old
	ring.Set([]*Key{&reloaded, cur})
	if ring.snap.Load() != snap {
		t.Error("equivalent Set rebuilt the snapshot")
	}
	ring.Set([]*Key{cur})
	if ring.snap.Load() == snap || len(ring.Keys()) != 1 {
		t.Error("Set did not replace the keys")
	}

	// Duplicate IDs: the newest wins.
	newer := *old
	newer.Created = testNow.Add(48 * time.Hour)
	ring.Set([]*Key{old, &newer})
	if got := ring.Keys(); len(got) != 1 || got[0] != &newer {
		t.Errorf("duplicate IDs: Keys = %v", got)
	}

	var zero Ring
	if zero.Active() != nil || len(zero.Keys()) != 0 {
		t.Error("zero Ring is not empty")
	}
	if _, err := zero.Verify(sign(t, cur, testClaims()), testOptions()); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("zero Ring Verify: %v", err)
	}
}

func TestRotation(t *testing.T) {
	old, cur := keys(t)
	ring := NewRing(old)
	oldTok := sign(t, ring.Active(), testClaims())

	ring.Set([]*Key{old, cur}) // rotation: a newer key becomes active
	if ring.Active() != cur {
		t.Fatal("newer key is not active")
	}
	newTok := sign(t, ring.Active(), testClaims())
	for name, tok := range map[string]string{"old": oldTok, "new": newTok} {
		if _, err := ring.Verify(tok, testOptions()); err != nil {
			t.Errorf("%s token after rotation: %v", name, err)
		}
	}

	ring.Set([]*Key{cur}) // the old key is retired
	if _, err := ring.Verify(oldTok, testOptions()); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old token after retirement: err = %v, want ErrUnknownKey", err)
	}
	if _, err := ring.Verify(newTok, testOptions()); err != nil {
		t.Errorf("new token after retirement: %v", err)
	}
}

func TestVerifyCache(t *testing.T) {
	old, cur := keys(t)
	ring := NewRing(old, cur)
	cache := NewVerifyCache(ring, 0)
	tok := sign(t, cur, testClaims())

	first, err := cache.Verify(tok, testOptions())
	if err != nil {
		t.Fatalf("miss: %v", err)
	}
	if cache.Len() != 1 {
		t.Errorf("Len = %d after a miss", cache.Len())
	}
	second, err := cache.Verify(tok, testOptions())
	if err != nil {
		t.Fatalf("hit: %v", err)
	}
	if second != first {
		t.Error("hit did not return the cached claims")
	}

	// Audience and issuer are re-checked on a hit.
	o := testOptions()
	o.Audiences = []string{"https://management.azure.com/"}
	if c, err := cache.Verify(tok, o); !errors.Is(err, ErrAudience) || c != first {
		t.Errorf("hit with another audience: %v", err)
	}
	o = testOptions()
	o.Issuers = []string{"https://login.microsoftonline.com/x/v2.0"}
	if _, err := cache.Verify(tok, o); !errors.Is(err, ErrIssuer) {
		t.Errorf("hit with another issuer: %v", err)
	}
	if _, err := cache.Verify(tok, testOptions()); err != nil {
		t.Errorf("hit after refusals: %v", err)
	}

	// Time is re-checked on a hit, and expired entries are dropped.
	o = testOptions()
	o.Now = testNow.Add(-time.Hour)
	if _, err := cache.Verify(tok, o); !errors.Is(err, ErrNotYetValid) {
		t.Errorf("hit before nbf: %v", err)
	}
	o.Now = testNow.Add(25 * time.Hour)
	var exp *ExpiredError
	if _, err := cache.Verify(tok, o); !errors.As(err, &exp) || !exp.Now.Equal(o.Now) {
		t.Errorf("hit after exp: %v", err)
	}
	if cache.Len() != 0 {
		t.Errorf("expired entry kept: Len = %d", cache.Len())
	}
	if _, err := cache.Verify(tok, o); !errors.Is(err, ErrExpired) {
		t.Errorf("expired token after eviction: %v", err)
	}
	if cache.Len() != 0 {
		t.Error("expired token cached")
	}

	// Invalid tokens are not cached, and the cache reports the same errors.
	parts := strings.Split(tok, ".")
	bad := parts[0] + "." + parts[1] + "." + flipChar(parts[2], 10)
	for range 2 {
		if _, err := cache.Verify(bad, testOptions()); !errors.Is(err, ErrSignature) {
			t.Errorf("bad signature: %v", err)
		}
	}
	if _, err := cache.Verify(strings.Repeat("a", MaxTokenSize+1), testOptions()); !errors.Is(err, ErrMalformed) {
		t.Errorf("oversized token: %v", err)
	}
	if cache.Len() != 0 {
		t.Error("invalid token cached")
	}

	// Removing the signing key revokes cached tokens.
	if _, err := cache.Verify(tok, testOptions()); err != nil {
		t.Fatal(err)
	}
	ring.Set([]*Key{old})
	if _, err := cache.Verify(tok, testOptions()); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("cached token after key removal: %v", err)
	}
}

func TestVerifyCacheBounded(t *testing.T) {
	k, _ := keys(t)
	ring := NewRing(k)
	const limit = cacheShards * 4
	cache := NewVerifyCache(ring, limit)
	for i := range 400 {
		c := testClaims()
		c.Uti = fmt.Sprint(i)
		if i%2 == 0 {
			c.Exp = testNow.Add(time.Minute).Unix() // expires first: swept
		}
		if _, err := cache.Verify(sign(t, k, c), testOptions()); err != nil {
			t.Fatal(err)
		}
	}
	if n := cache.Len(); n > limit {
		t.Errorf("cache holds %d entries, limit %d", n, limit)
	}
	o := testOptions()
	o.Now = testNow.Add(2 * time.Minute)
	for i := range 200 {
		c := testClaims()
		c.Uti = fmt.Sprint("late", i)
		if _, err := cache.Verify(sign(t, k, c), o); err != nil {
			t.Fatal(err)
		}
	}
	if n := cache.Len(); n > limit {
		t.Errorf("cache holds %d entries, limit %d", n, limit)
	}
}

func TestVerifyCacheConcurrent(t *testing.T) {
	old, cur := keys(t)
	ring := NewRing(old, cur)
	cache := NewVerifyCache(ring, 64)
	var toks []string
	for i := range 8 {
		c := testClaims()
		c.Uti = fmt.Sprint(i)
		toks = append(toks, sign(t, cur, c))
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				tok := toks[(w+i)%len(toks)]
				if _, err := cache.Verify(tok, testOptions()); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					ring.Set([]*Key{old, cur}) // concurrent no-op Set
				}
			}
		}()
	}
	wg.Wait()
}

// FuzzParse checks that Parse never panics and that whatever it accepts is
// consistent with its input.
func FuzzParse(f *testing.F) {
	k, _ := keys(f)
	valid := sign(f, k, testClaims())
	parts := strings.Split(valid, ".")
	enc := base64.RawURLEncoding.EncodeToString
	for _, seed := range []string{
		valid,
		parts[0] + "." + parts[1] + ".",
		parts[0] + "." + parts[1],
		valid + "=",
		valid + ".x",
		"..",
		"",
		"e30.e30.",
		enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(`{}`)) + ".",
		enc([]byte(`null`)) + "." + enc([]byte(`null`)) + ".AA",
		enc([]byte(`{"alg":"RS256","crit":[]}`)) + "." + parts[1] + "." + parts[2],
		strings.ReplaceAll(valid, "_", "/"),
	} {
		f.Add(seed)
	}
	ring := NewRing(k)
	f.Fuzz(func(t *testing.T, token string) {
		p, err := Parse(token)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse error %v does not wrap ErrMalformed", err)
			}
			if _, verr := ring.Verify(token, VerifyOptions{Now: testNow}); !errors.Is(verr, ErrMalformed) {
				t.Fatalf("Verify accepted what Parse refused: %v", verr)
			}
			return
		}
		if !strings.HasPrefix(token, p.SigningInput+".") {
			t.Fatalf("signing input %q is not a prefix of the token", p.SigningInput)
		}
		if !json.Valid(p.RawClaims) {
			t.Fatalf("accepted invalid claims JSON %q", p.RawClaims)
		}
		// Re-encoding the decoded segments reproduces the token exactly.
		segs := strings.Split(token, ".")
		if enc(p.RawClaims) != segs[1] || enc(p.Signature) != segs[2] {
			t.Fatal("decoded segments do not re-encode to the input")
		}
		_, _ = ring.Verify(token, VerifyOptions{Now: testNow})
	})
}

func BenchmarkSign(b *testing.B) {
	k, _ := keys(b)
	claims := testClaims()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(k, claims); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	k, _ := keys(b)
	ring := NewRing(k)
	tok := sign(b, k, testClaims())
	o := testOptions()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ring.Verify(tok, o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyCached(b *testing.B) {
	k, _ := keys(b)
	cache := NewVerifyCache(NewRing(k), 0)
	tok := sign(b, k, testClaims())
	o := testOptions()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cache.Verify(tok, o); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	k, _ := keys(b)
	tok := sign(b, k, testClaims())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(tok); err != nil {
			b.Fatal(err)
		}
	}
}
