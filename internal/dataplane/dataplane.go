// Package dataplane is the request pipeline the data planes (Key Vault,
// Blob) share: bearer token authentication for the plane's audiences,
// authorization of data actions through the RBAC engine, and the access
// log. Each plane renders the outcomes in its own wire format.
//
// Verified tokens are cached (jwt.VerifyCache), so a plane answering
// thousands of requests a second does not verify an RSA signature for each.
package dataplane

import (
	"errors"
	"net/http"
	"strings"

	"github.com/mimic-emu/mimic/internal/accesslog"
	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/jwt"
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/tokens"
	"github.com/mimic-emu/mimic/internal/workload"
)

// Decider answers authorization requests; rbac.Authorizer implements it.
type Decider interface {
	Engine() *authz.Engine
}

// Guard authenticates and authorizes a plane's requests.
type Guard struct {
	Plane    string
	Verifier *tokens.Verifier
	Authz    Decider
	Access   *accesslog.Log
}

// Caller is an authenticated data-plane caller.
type Caller struct {
	PrincipalID string
	ClientID    string
	// IdentityID is the managed identity resource the token names.
	IdentityID string
	// ComputeID is the compute the request came from.
	ComputeID string
	Claims    *jwt.Claims
}

// Authentication failures, for the planes to render.
var (
	// ErrNoToken: no Authorization header, or not a bearer token.
	ErrNoToken = errors.New("no bearer token")
	// ErrBadToken: the token did not verify (signature, issuer, expiry).
	ErrBadToken = errors.New("invalid token")
	// ErrAudience: a valid token for another resource.
	ErrAudience = errors.New("token audience")
)

// BearerToken returns the request's bearer token, or "".
func BearerToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// Authenticate verifies the request's bearer token for audiences.
func (g *Guard) Authenticate(r *http.Request, audiences []string) (*Caller, error) {
	raw := BearerToken(r)
	if raw == "" {
		return nil, ErrNoToken
	}
	claims, err := g.Verifier.Verify(raw, audiences)
	if errors.Is(err, jwt.ErrAudience) {
		return nil, errors.Join(ErrAudience, err)
	}
	if err != nil {
		return nil, errors.Join(ErrBadToken, err)
	}
	c := &Caller{PrincipalID: claims.Oid, ClientID: claims.AppID, IdentityID: claims.XmsMirid, ComputeID: claims.XmsAzRid, Claims: claims}
	if c.ClientID == "" {
		c.ClientID = claims.Azp
	}
	if run := workload.RunFrom(r.Context()); run != nil {
		c.ComputeID = run.ComputeID
	}
	return c, nil
}

// Check decides a data action (or, with dataAction false, a control-plane
// action) of the caller at scope.
func (g *Guard) Check(c *Caller, action string, dataAction bool, scope string, attrs map[string]string) authz.Decision {
	return g.Authz.Engine().Check(authz.Request{
		Principals: []string{c.PrincipalID},
		Action:     action,
		DataAction: dataAction,
		Scope:      scope,
		Attributes: attrs,
	})
}

// Log records a decision and the status the request got.
func (g *Guard) Log(r *http.Request, c *Caller, action string, dataAction bool, scope string, d authz.Decision, status int) {
	e := store.Access{Plane: g.Plane, Method: r.Method, Action: action, DataAction: dataAction, Scope: scope, Status: status}
	if c != nil {
		e.PrincipalID, e.ClientID, e.IdentityID, e.ComputeID = c.PrincipalID, c.ClientID, c.IdentityID, c.ComputeID
	}
	g.Access.Record(e, d)
}
