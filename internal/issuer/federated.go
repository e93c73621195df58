package issuer

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/arm/msi"
	"github.com/mimic-emu/mimic/internal/jwt"
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/tokens"
)

// jwtBearer is the only client_assertion_type Entra accepts.
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLeeway is the clock skew allowed on an assertion's exp and nbf.
const assertionLeeway = 5 * time.Minute

// federationDocs ends Entra's federation error texts.
const federationDocs = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"

// The errors of the federated exchange, with Entra's texts and codes.

func errAssertionType() *Error {
	return oauthErr(http.StatusBadRequest, "invalid_request", 90011, "Unexpected client assertion type.")
}

func errMalformedJWT() *Error {
	return oauthErr(http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed.")
}

func errNoFederatedRecord(c *assertionClaims) *Error {
	return oauthErr(http.StatusUnauthorized, "invalid_client", 70021,
		"No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'. %s",
		c.Iss, c.Sub, strings.Join(c.Aud, ","), federationDocs)
}

func errFederatedMismatch(code int, claim, value string) *Error {
	return oauthErr(http.StatusUnauthorized, "invalid_client", code,
		"No matching federated identity record found for presented assertion %s '%s'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. %s",
		claim, value, federationDocs)
}

func errSigningKey(kid, issuer string, detail error) *Error {
	e := oauthErr(http.StatusUnauthorized, "invalid_client", 7000272,
		"The certificate with identifier %s used to sign the federated credential could not be found in the metadata of identity provider %s. Please validate that your Identity Provider's metadata exposes the key used to sign the incoming token.",
		kid, issuer)
	if errors.Is(detail, ErrMetadata) {
		e.Description += " The metadata could not be read: " + detail.Error() + "."
	}
	return e
}

func errSignature(kid string) *Error {
	return oauthErr(http.StatusUnauthorized, "invalid_client", 700027,
		"Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '%s']", kid)
}

func errAssertionTime(now time.Time, c *assertionClaims) *Error {
	const f = "2006-01-02T15:04:05.0000000Z"
	return oauthErr(http.StatusUnauthorized, "invalid_client", 700024,
		"Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
		now.UTC().Format(f), time.Unix(c.Nbf, 0).UTC().Format(f), time.Unix(c.Exp, 0).UTC().Format(f))
}

// assertionClaims are the claims of a client assertion that the exchange
// reads.
type assertionClaims struct {
	Iss string       `json:"iss"`
	Sub string       `json:"sub"`
	Aud jwt.Audience `json:"aud"`
	Exp int64        `json:"exp"`
	Nbf int64        `json:"nbf"`
}

// federatedCredential is one federated identity credential of an identity.
type federatedCredential struct {
	id, issuer, subject, audience string
}

// clientAssertion serves client credentials with a federated client
// assertion (workload identity federation), as Entra checks it: the
// assertion parses; the identity has federated credentials; one trusts
// the assertion's issuer (exactly: no case folding, no trailing-slash
// normalisation); the issuer's key signed it; it is within its valid time;
// and one credential of that issuer names its subject and one of its
// audiences.
func (i *Issuer) clientAssertion(ctx context.Context, req *tokenRequest, p *store.Principal, resource string, rec *store.SignIn) (tokens.Token, *Error) {
	switch t := req.form.Get("client_assertion_type"); {
	case t == "":
		return tokens.Token{}, errMissingParam("client_assertion_type")
	case t != jwtBearer:
		return tokens.Token{}, errAssertionType()
	}
	tok, err := jwt.Parse(req.form.Get("client_assertion"))
	if err != nil {
		return tokens.Token{}, errMalformedJWT()
	}
	c := new(assertionClaims)
	if json.Unmarshal(tok.RawClaims, c) != nil || c.Exp == 0 {
		return tokens.Token{}, errMalformedJWT()
	}
	creds, err := i.federatedCredentials(ctx, p)
	if err != nil {
		slog.Error("token: federated credentials", "err", err)
		return tokens.Token{}, errTransient()
	}
	if len(creds) == 0 {
		return tokens.Token{}, errNoFederatedRecord(c)
	}
	creds = filterCredentials(creds, func(f federatedCredential) bool { return f.issuer == c.Iss })
	if len(creds) == 0 {
		return tokens.Token{}, errFederatedMismatch(700211, "issuer", c.Iss)
	}
	computeID, oerr := i.verifyAssertion(ctx, tok, c.Iss)
	if oerr != nil {
		return tokens.Token{}, oerr
	}
	rec.ComputeID = computeID
	now := i.Minter.Now()
	if !now.Before(time.Unix(c.Exp, 0).Add(assertionLeeway)) || now.Add(assertionLeeway).Before(time.Unix(c.Nbf, 0)) {
		return tokens.Token{}, errAssertionTime(now, c)
	}
	creds = filterCredentials(creds, func(f federatedCredential) bool { return f.subject == c.Sub })
	if len(creds) == 0 {
		return tokens.Token{}, errFederatedMismatch(700213, "subject", c.Sub)
	}
	creds = filterCredentials(creds, func(f federatedCredential) bool { return c.Aud.Contains(f.audience) })
	if len(creds) == 0 {
		return tokens.Token{}, errFederatedMismatch(700212, "audience", strings.Join(c.Aud, ","))
	}
	rec.Credential = creds[0].id
	t, err := i.Minter.Mint(tokens.Subject{ObjectID: p.ObjectID, ClientID: p.ClientID, Kind: p.Kind, IdentityResourceID: p.ResourceID},
		resource, i.ClientTokenLifetime)
	if err != nil {
		slog.Error("token: mint", "err", err)
		return tokens.Token{}, errTransient()
	}
	return t, nil
}

// federatedCredentials lists the federated credentials of a principal:
// only user-assigned identities have them.
func (i *Issuer) federatedCredentials(ctx context.Context, p *store.Principal) ([]federatedCredential, error) {
	if p.Kind != store.KindUserAssigned {
		return nil, nil
	}
	var out []federatedCredential
	err := i.Store.View(ctx, func(tx store.Tx) error {
		creds, err := msi.FederatedCredentials(ctx, tx, p.ResourceID)
		for _, f := range creds {
			for _, a := range f.Audiences {
				out = append(out, federatedCredential{id: f.ID, issuer: f.Issuer, subject: f.Subject, audience: a})
			}
		}
		return err
	})
	return out, err
}

func filterCredentials(in []federatedCredential, keep func(federatedCredential) bool) []federatedCredential {
	var out []federatedCredential
	for _, f := range in {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}

// verifyAssertion checks the assertion's RS256 signature with its issuer's
// key, and returns the compute that runs the issuer, if mimic runs it.
func (i *Issuer) verifyAssertion(ctx context.Context, tok *jwt.Token, issuer string) (string, *Error) {
	kid := tok.Kid
	if kid == "" {
		kid = tok.X5t
	}
	if tok.Alg != "RS256" {
		return "", errMalformedJWT()
	}
	var (
		key       *rsa.PublicKey
		computeID string
	)
	err := ErrKeyNotFound
	if i.Keys != nil {
		key, computeID, err = i.Keys.Key(ctx, issuer, kid)
	}
	if err != nil {
		if !errors.Is(err, ErrKeyNotFound) && !errors.Is(err, ErrMetadata) {
			slog.Error("token: issuer keys", "issuer", issuer, "err", err)
			return "", errTransient()
		}
		return "", errSigningKey(kid, issuer, err)
	}
	digest := sha256.Sum256([]byte(tok.SigningInput))
	if rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], tok.Signature) != nil {
		return "", errSignature(kid)
	}
	return computeID, nil
}

func errTransient() *Error {
	return oauthErr(http.StatusInternalServerError, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
}
