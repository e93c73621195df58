// Package tokens mints and verifies mimic's access tokens and keeps the
// signing keys that back them.
//
// Tokens look like Entra ID's (DESIGN §2): RS256 JWTs with a kid, v1 claims
// (iss https://sts.windows.net/{tid}/, appid, appidacr, ver 1.0) for Azure's
// own resources, and v2 claims (iss https://login.microsoftonline.com/{tid}/v2.0,
// azp, azpacr, ver 2.0) for applications addressed as api://…, which is the
// split Entra itself makes: the token version follows the resource, not the
// endpoint that issued it.
//
// Keys live in the store so that restarts and replicas share them. The
// newest key signs; a key that has been replaced keeps verifying until every
// token it could have signed has expired, and only then is it deleted.
package tokens

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/jwt"
	"github.com/mimic-emu/mimic/internal/store"
)

// V1Issuer is the issuer of v1 tokens.
func V1Issuer(tenant string) string { return "https://sts.windows.net/" + tenant + "/" }

// V2Issuer is the issuer of v2 tokens.
func V2Issuer(tenant string) string { return "https://login.microsoftonline.com/" + tenant + "/v2.0" }

// ResourceFromScope turns a client-credentials scope ("https://vault.azure.net/.default")
// into the resource it names ("https://vault.azure.net"). It reports false
// for a scope without the "/.default" suffix, which client credentials
// flows do not allow.
func ResourceFromScope(scope string) (string, bool) {
	r, ok := strings.CutSuffix(scope, "/.default")
	if !ok || r == "" {
		return "", false
	}
	return r, true
}

// UsesV2 reports whether tokens for a resource are v2 tokens: those for
// applications registered under api://. Azure's resources (ARM, Key
// Vault, Storage, Graph…) accept v1 tokens.
func UsesV2(resource string) bool { return strings.HasPrefix(strings.ToLower(resource), "api://") }

// Subject is who a token is for.
type Subject struct {
	ObjectID string
	ClientID string
	Kind     store.PrincipalKind
	// IdentityResourceID becomes xms_mirid: the identity's resource id, or
	// for a system-assigned identity the resource that owns it.
	IdentityResourceID string
	// ComputeResourceID becomes xms_az_rid: the compute that used a
	// user-assigned identity.
	ComputeResourceID string
}

// Token is a minted access token.
type Token struct {
	Raw       string
	Resource  string
	IssuedAt  time.Time
	NotBefore time.Time
	ExpiresOn time.Time
}

// ExpiresIn is the token's remaining lifetime in whole seconds at now.
func (t Token) ExpiresIn(now time.Time) int64 { return int64(t.ExpiresOn.Sub(now) / time.Second) }

// Minter signs tokens with the ring's active key.
type Minter struct {
	Ring   *jwt.Ring
	Tenant string
	Now    func() time.Time
}

// Mint signs a token for subject and resource, valid for lifetime.
func (m *Minter) Mint(s Subject, resource string, lifetime time.Duration) (Token, error) {
	key := m.Ring.Active()
	if key == nil {
		return Token{}, errors.New("no signing key")
	}
	now := m.Now().UTC().Truncate(time.Second)
	nbf := now.Add(-5 * time.Minute) // Entra backdates nbf for clock skew
	exp := now.Add(lifetime)
	c := jwt.Claims{
		Aud:   []string{resource},
		Iat:   nbf.Unix(),
		Nbf:   nbf.Unix(),
		Exp:   exp.Unix(),
		Idtyp: "app",
		Oid:   s.ObjectID,
		Sub:   s.ObjectID,
		Tid:   m.Tenant,
		Uti:   randomID(16),
		Rh:    "0." + randomID(24) + ".",
	}
	acr := "1" // client secret
	if s.Kind == store.KindUserAssigned || s.Kind == store.KindSystemAssigned {
		acr = "2" // managed identities authenticate with a certificate
		c.XmsMirid = s.IdentityResourceID
		if s.Kind == store.KindUserAssigned {
			c.XmsAzRid = s.ComputeResourceID
		}
	}
	if UsesV2(resource) {
		c.Iss, c.Ver, c.Azp, c.Azpacr = V2Issuer(m.Tenant), "2.0", s.ClientID, acr
	} else {
		c.Iss, c.Ver, c.AppID, c.AppIDAcr = V1Issuer(m.Tenant), "1.0", s.ClientID, acr
	}
	raw, err := jwt.Sign(key, &c)
	if err != nil {
		return Token{}, fmt.Errorf("sign token: %w", err)
	}
	return Token{Raw: raw, Resource: resource, IssuedAt: nbf, NotBefore: nbf, ExpiresOn: exp}, nil
}

func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Verifier checks incoming bearer tokens: signature through the ring, the
// tenant's issuers, the expected audiences, expiry and not-before.
type Verifier struct {
	Ring   *jwt.Ring
	Cache  *jwt.VerifyCache
	Tenant string
	Now    func() time.Time
	Leeway time.Duration
}

// Verify verifies raw for one of audiences and returns its claims.
func (v *Verifier) Verify(raw string, audiences []string) (*jwt.Claims, error) {
	opts := jwt.VerifyOptions{
		Now:       v.Now(),
		Leeway:    v.Leeway,
		Issuers:   []string{V1Issuer(v.Tenant), V2Issuer(v.Tenant)},
		Audiences: audiences,
	}
	if v.Cache != nil {
		return v.Cache.Verify(raw, opts)
	}
	return v.Ring.Verify(raw, opts)
}
