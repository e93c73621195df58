package blobplane

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/dataplane"
	"github.com/mimic-emu/mimic/internal/jwt"
	"github.com/mimic-emu/mimic/internal/sharedkey"
)

// RBAC actions of the Blob service's operations, as Azure's table
// "Permissions for Blob service operations" names them.
const (
	ActionContainersRead   = "Microsoft.Storage/storageAccounts/blobServices/containers/read"
	ActionContainersWrite  = "Microsoft.Storage/storageAccounts/blobServices/containers/write"
	ActionContainersDelete = "Microsoft.Storage/storageAccounts/blobServices/containers/delete"
	ActionBlobsRead        = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
	ActionBlobsWrite       = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
	ActionBlobsAdd         = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"
	ActionBlobsDelete      = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete"
)

// SubOperationList is the sub-operation of List Blobs.
const SubOperationList = "Blob.List"

// Reasons logged for requests the RBAC engine did not decide.
const (
	reasonSharedKey = "authorized by the storage account's key (SharedKey), which bypasses RBAC"
	reasonAnonymous = "no Authorization header: anonymous access is refused (mimic has no public containers)"
)

// sharedKeySkew is how far a SharedKey request's date may be from now.
const sharedKeySkew = 15 * time.Minute

// authenticate authenticates the request and, for a bearer token,
// authorizes the operation.
func (rq *request) authenticate(o *op) error {
	rq.op = o
	auth := rq.r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(auth, " ")
	switch {
	case auth == "":
		rq.decision = authz.Refuse(reasonAnonymous)
		if rq.has("sig") || rq.has("sv") {
			return errAuthFailed("mimic does not accept shared access signatures; use a bearer token or the account key (SharedKey).")
		}
		if rq.version >= challengeMin {
			e := newError(http.StatusUnauthorized, "NoAuthenticationInformation", msgAuthChallenge)
			e.challenge = true
			return e
		}
		// Before 2019-12-12 Storage hides private resources from
		// anonymous callers.
		return newError(http.StatusNotFound, "ResourceNotFound", msgResourceNotFound)
	case strings.EqualFold(scheme, "Bearer"):
		return rq.bearer()
	case strings.EqualFold(scheme, "SharedKey"):
		return rq.sharedKeyAuth(strings.TrimSpace(cred))
	default:
		rq.decision = authz.Refuse("unsupported Authorization scheme " + scheme)
		return newError(http.StatusBadRequest, "InvalidAuthenticationInfo",
			"Authentication information is not given in the correct format. Check the value of Authorization header.")
	}
}

// bearer authenticates a bearer token and authorizes the operation.
func (rq *request) bearer() error {
	if rq.version == "" || rq.version < bearerMin {
		rq.decision = authz.Refuse("bearer token with an x-ms-version before " + bearerMin)
		return errAuthFailed("Authentication scheme Bearer is not supported in this version.")
	}
	g := rq.p.cfg.Guard
	caller, err := g.Authenticate(rq.r, rq.acct.audiences)
	if err != nil {
		rq.decision = authz.Refuse("token refused: " + err.Error())
		e := newError(http.StatusUnauthorized, "InvalidAuthenticationInfo", msgAuthChallenge, "AuthenticationErrorDetail", tokenErrorDetail(err))
		e.challenge = true
		return e
	}
	rq.caller = caller
	o := rq.op
	req := authz.Request{
		Principals:   []string{caller.PrincipalID},
		Action:       o.action,
		DataAction:   o.dataAction,
		Scope:        o.scope,
		SubOperation: o.subOp,
		Attributes:   o.attrs,
	}
	engine := g.Authz.Engine()
	d := engine.Check(req)
	if !d.Allowed && o.alt != "" {
		req.Action = o.alt
		if d2 := engine.Check(req); d2.Allowed {
			d = d2
			rq.createOnly = true
			rq.loggedAction = o.alt
		}
	}
	rq.decision = d
	if !d.Allowed {
		return newError(http.StatusForbidden, "AuthorizationPermissionMismatch", msgPermissionMismatch)
	}
	return nil
}

// tokenErrorDetail is Storage's AuthenticationErrorDetail for a refused
// token.
func tokenErrorDetail(err error) string {
	switch {
	case errors.Is(err, dataplane.ErrNoToken):
		return "Bearer token is missing."
	case errors.Is(err, dataplane.ErrAudience):
		return "Audience validation failed. Audience did not match."
	case errors.Is(err, jwt.ErrExpired):
		return "Lifetime validation failed. The token is expired."
	case errors.Is(err, jwt.ErrNotYetValid):
		return "Lifetime validation failed. The token is not yet valid."
	case errors.Is(err, jwt.ErrIssuer):
		return "Issuer validation failed. Issuer did not match."
	case errors.Is(err, jwt.ErrSignature), errors.Is(err, jwt.ErrUnknownKey):
		return "Signature validation failed. Signature is invalid."
	}
	return "Token validation failed: the token is malformed."
}

// sharedKeyAuth verifies "SharedKey account:signature".
func (rq *request) sharedKeyAuth(cred string) error {
	a := rq.acct
	if !a.sharedKey {
		rq.decision = authz.Refuse("SharedKey refused: the account has allowSharedKeyAccess false")
		return newError(http.StatusForbidden, "KeyBasedAuthenticationNotPermitted", msgKeyAuthNotPermitted)
	}
	name, sig, ok := strings.Cut(cred, ":")
	if !ok || sig == "" {
		rq.decision = authz.Refuse("SharedKey refused: malformed Authorization header")
		return newError(http.StatusBadRequest, "InvalidAuthenticationInfo",
			"Authentication information is not given in the correct format. Check the value of Authorization header.")
	}
	if name != a.name {
		rq.decision = authz.Refuse("SharedKey refused: the header names account " + name)
		return errAuthFailed("The account being accessed does not match the account in the Authorization header.")
	}
	date := rq.r.Header.Get("x-ms-date")
	if date == "" {
		date = rq.r.Header.Get("Date")
	}
	t, err := http.ParseTime(date)
	if err != nil {
		rq.decision = authz.Refuse("SharedKey refused: no valid x-ms-date or Date")
		return errAuthFailed("Request date header not specified or invalid.")
	}
	if now := rq.p.now(); t.Before(now.Add(-sharedKeySkew)) || t.After(now.Add(sharedKeySkew)) {
		rq.decision = authz.Refuse("SharedKey refused: the request date is more than 15 minutes from now")
		return errAuthFailed("Request date header too old: '" + date + "'")
	}
	ok, sts := sharedkey.Verify(rq.r, a.name, a.keys, sig)
	if !ok {
		rq.decision = authz.Refuse("SharedKey refused: the signature does not match")
		return errAuthFailed("The MAC signature found in the HTTP request '" + sig +
			"' is not the same as any computed signature. Server used following string to sign: '" + sts + "'.")
	}
	rq.sharedKey = true
	rq.decision = authz.Allow(reasonSharedKey)
	return nil
}
