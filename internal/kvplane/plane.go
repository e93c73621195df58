// Package kvplane is the Key Vault data plane for secrets: it answers
// https://{vault}.vault.azure.net, reached through mimic's intercepting
// proxy, for the vaults that exist in ARM (package arm/keyvault), so that
// the real Key Vault SDKs for Go, Python and Node work unchanged.
//
// What it honours, and how:
//
//   - The challenge flow the SDKs depend on (research/clients.md §5). A
//     request without a token gets 401 with
//     WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/{tenant}", resource="https://vault.azure.net"
//     and Key Vault's body {"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token."}}.
//     Tokens must come from mimic's issuer with the audience
//     https://vault.azure.net (with or without a trailing slash, or Key
//     Vault's application id); otherwise 401 Unauthorized with the same
//     challenge: AKV10022 (audience), "[TokenExpired] …" (expiry), AKV10046
//     (a signature mimic cannot verify).
//   - Any api-version is accepted (the SDKs send 7.3, 2025-07-01 and
//     2026-04-01; Node spells the key api%2Dversion); one is required
//     (400 BadParameter).
//   - Secrets: set, get (latest and by version), list (paged by
//     maxresults, 1-25, and nextLink/$skiptoken), list versions, update
//     attributes, delete with soft delete, get and list deleted, recover,
//     purge, backup and restore, with Key Vault's JSON shapes (attribute
//     times are Unix seconds; every bundle carries its id
//     https://{vault}.vault.azure.net/secrets/{name}/{version}). Names are
//     1-127 letters, digits and hyphens, compared case-insensitively;
//     versions are 32 hex digits (mimic's sort by creation time). A
//     disabled secret's value is refused (403 Forbidden, SecretDisabled); a
//     name in the deleted state cannot be set (409 Conflict,
//     ObjectIsDeletedButRecoverable); a vault with purge protection refuses
//     purges (403). Deleted secrets are purged lazily once their scheduled
//     purge date passes. A vault without soft delete purges at once.
//   - Authorization follows the vault's permission model. With
//     enableRbacAuthorization, the RBAC engine decides the data action
//     (secrets/getSecret/action, setSecret/action, update/action,
//     readMetadata/action for listings and deleted secrets, delete,
//     recover/action, purge/action, backup/action, restore/action) at the
//     secret's scope {vaultId}/secrets/{name}, or the vault's for listings
//     and restore; a refusal is 403 Forbidden with innererror
//     ForbiddenByRbac and Azure's message. Otherwise the vault's access
//     policies decide (get, list, set, delete, recover, purge, backup,
//     restore), and a refusal is 403 Forbidden with innererror
//     AccessDenied. Role assignments such as Owner grant no data access in
//     either mode. Authorization comes before existence, as in Azure: a
//     caller who may not read gets 403, not 404.
//   - A vault whose publicNetworkAccess is Disabled refuses every request
//     with 403 Forbidden, innererror ForbiddenByConnection, as Azure does
//     for callers outside its private endpoints: mimic has none.
//   - Every decision is written to the access log with the status
//     answered; access-policy decisions carry a reason naming the policy.
//   - An unknown vault host gets 404 VaultNotFound (in Azure its name
//     would not resolve).
//
// This is an emulator: secret values are stored as given, in clear, in
// mimic's store, and backups are mimic's own (unencrypted) format.
//
// Secrets are keyed by the vault's resource id and creation time, so a
// vault deleted and re-created with the same name does not see the old
// secrets. Vault lookups are cached per ARM generation, so a GET of a
// secret costs one read transaction.
package kvplane

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/keyvault"
	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/dataplane"
	"github.com/mimic-emu/mimic/internal/jwt"
	"github.com/mimic-emu/mimic/internal/store"
)

// Resource is the audience of Key Vault tokens and the challenge's
// resource.
const Resource = "https://vault.azure.net"

// appID is Key Vault's application id, which Entra also accepts as the
// audience of Key Vault tokens.
const appID = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"

var audiences = []string{Resource, Resource + "/", appID}

// Plane serves the Key Vault data plane.
type Plane struct {
	store      store.Store
	guard      *dataplane.Guard
	generation func() int64
	// Now is the clock; time.Now by default.
	Now func() time.Time

	challenge []string
	cache     atomic.Pointer[vaultCache]
}

// New returns the plane. generation advances whenever ARM state changes
// (arm.Server.Generation); vault lookups are cached until it does.
func New(s store.Store, guard *dataplane.Guard, tenant string, generation func() int64) *Plane {
	p := &Plane{store: s, guard: guard, generation: generation, Now: time.Now}
	p.challenge = []string{`Bearer authorization="https://login.microsoftonline.com/` + tenant + `", resource="` + Resource + `"`}
	return p
}

// vault is what the plane knows of a vault resource.
type vault struct {
	// name is the vault's name as created; host is its data-plane host.
	name, host string
	id         string
	// key identifies the vault in the store: its id and creation time.
	key      string
	location string
	region   []string // the x-ms-keyvault-region header
	rbac     bool
	policies []keyvault.AccessPolicy
	// public is false when publicNetworkAccess is Disabled: mimic has no
	// private links, so every request is refused.
	public bool

	softDelete      bool
	purgeProtection bool
	retentionDays   int64
	recoveryLevel   string
}

func (v *vault) purgeable() bool { return strings.Contains(v.recoveryLevel, "Purgeable") }

// vaultCache caches vault lookups for one ARM generation.
type vaultCache struct {
	gen     int64
	m       sync.Map // lower-case name → *vault (nil: no such vault)
	misses  atomic.Int64
	maxMiss int64
}

// maxNegative bounds the cached "no such vault" answers per generation.
const maxNegative = 4096

// lookup finds a vault by name, from the cache or the store.
func (p *Plane) lookup(ctx context.Context, name string) (*vault, error) {
	gen := p.generation()
	c := p.cache.Load()
	if c == nil || c.gen != gen {
		fresh := &vaultCache{gen: gen, maxMiss: maxNegative}
		if p.cache.CompareAndSwap(c, fresh) {
			c = fresh
		} else if c = p.cache.Load(); c == nil || c.gen != gen {
			c = fresh // another generation raced in; use a private cache
		}
	}
	if e, ok := c.m.Load(name); ok {
		return e.(*vault), nil
	}
	var v *vault
	err := p.store.View(ctx, func(tx store.Tx) error {
		rs, err := tx.ListResources(ctx, store.ResourceFilter{Type: keyvault.VaultType, Name: name})
		if err != nil || len(rs) == 0 {
			return err
		}
		doc, err := arm.DecodeDoc(rs[0].Body)
		if err != nil {
			return err
		}
		v = vaultOf(rs[0], doc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if v != nil || c.misses.Add(1) <= c.maxMiss {
		c.m.Store(name, v)
	}
	return v, nil
}

// vaultOf reads what the plane needs from a vault resource.
func vaultOf(r *store.Resource, doc arm.Doc) *vault {
	name := doc.Str("name")
	access := keyvault.ReadAccess(doc)
	p := doc.Obj("properties")
	soft, set := p.Bool("enableSoftDelete")
	if !set {
		soft = true
	}
	purge, _ := p.Bool("enablePurgeProtection")
	days := int64(90)
	if n, ok := p["softDeleteRetentionInDays"].(interface{ Int64() (int64, error) }); ok {
		if d, err := n.Int64(); err == nil && d > 0 {
			days = d
		}
	}
	loc := doc.Str("location")
	return &vault{
		name: name, host: strings.ToLower(name) + keyvault.DNSSuffix, id: doc.Str("id"),
		key:      store.SecretVault(r),
		location: loc, region: []string{loc},
		rbac: access.RBAC, policies: access.Policies, public: !strings.EqualFold(p.Str("publicNetworkAccess"), "Disabled"),
		softDelete: soft, purgeProtection: purge, retentionDays: days,
		recoveryLevel: recoveryLevel(soft, purge, days),
	}
}

// vaultName returns the vault name a request's host names, or "".
func vaultName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	name, ok := strings.CutSuffix(host, keyvault.DNSSuffix)
	if !ok || name == "" || strings.Contains(name, ".") {
		return ""
	}
	return name
}

// Shared header values, assigned without copying.
var (
	hdrJSON    = []string{"application/json; charset=utf-8"}
	hdrNoCache = []string{"no-cache"}
)

// call is one request in progress.
type call struct {
	p      *Plane
	w      http.ResponseWriter
	r      *http.Request
	v      *vault
	caller *dataplane.Caller
	q      query
	rt     route
}

// ServeHTTP implements http.Handler.
func (p *Plane) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Cache-Control"] = hdrNoCache
	name := vaultName(r.Host)
	if name == "" {
		writeError(w, errVaultNotFound(r.Host))
		return
	}
	v, err := p.lookup(r.Context(), name)
	if err != nil {
		slog.Error("key vault: vault lookup", "vault", name, "err", err)
		writeError(w, errInternal)
		return
	}
	if v == nil {
		writeError(w, errVaultNotFound(name+keyvault.DNSSuffix))
		return
	}
	h["X-Ms-Keyvault-Region"] = v.region
	caller, err := p.guard.Authenticate(r, audiences)
	if err != nil {
		p.unauthorized(w, r, err)
		return
	}
	c := &call{p: p, w: w, r: r, v: v, caller: caller, q: parseQuery(r.URL.RawQuery)}
	rt, kerr := parseRoute(r.Method, r.URL.Path)
	if kerr == nil && c.q.apiVersion == "" {
		kerr = errMissingAPIVersion()
	}
	if kerr == nil && rt.name != "" && !validName(rt.name) {
		kerr = errBadName(rt.name)
	}
	if kerr != nil {
		writeError(w, kerr)
		return
	}
	c.rt = rt
	scope := v.id
	if !rt.op.vaultScope {
		scope = v.id + "/secrets/" + rt.name
	}
	var d authz.Decision
	if v.public {
		d = p.decide(v, caller, rt.op, scope)
	} else {
		d = authz.Refuse("the vault's publicNetworkAccess is Disabled, and mimic has no private endpoints or trusted services")
	}
	status := http.StatusForbidden
	switch {
	case !v.public:
		writeError(w, errNoPublicAccess(v, caller))
	case d.Allowed:
		status = rt.op.run(c)
	default:
		writeError(w, forbidden(v, caller, rt.op, scope, d))
	}
	p.guard.Log(r, caller, rt.op.dataAction, true, scope, d, status)
}

// unauthorized answers a request whose token is missing or refused.
func (p *Plane) unauthorized(w http.ResponseWriter, r *http.Request, err error) {
	msg := msgNoToken
	switch {
	case errors.Is(err, dataplane.ErrNoToken):
	case errors.Is(err, jwt.ErrExpired):
		msg = msgExpired
	case errors.Is(err, dataplane.ErrAudience):
		found := "(none)"
		if claims, _ := p.guard.Verifier.Verify(dataplane.BearerToken(r), nil); claims != nil && len(claims.Aud) > 0 {
			found = strings.Join(claims.Aud, ", ")
		}
		msg = "AKV10022: Invalid audience. Expected " + Resource + ", found: " + found + "."
	case errors.Is(err, jwt.ErrNotYetValid):
		msg = "[TokenNotYetValid] Error validating token: the token is not valid yet."
	case errors.Is(err, jwt.ErrIssuer):
		msg = "AKV10032: Invalid issuer."
	default:
		header, _, _ := strings.Cut(dataplane.BearerToken(r), ".")
		if len(header) > 512 {
			header = header[:512]
		}
		msg = "AKV10046: Unable to resolve the key used for signature validation. EncodedJwtHeader: '" + header + "'."
		if errors.Is(err, jwt.ErrMalformed) {
			msg = "AKV10005: The access token is malformed."
		}
	}
	w.Header()["Www-Authenticate"] = p.challenge
	writeError(w, newError(http.StatusUnauthorized, "Unauthorized", "", "%s", msg))
}

// writeError writes a Key Vault error body.
func writeError(w http.ResponseWriter, e *kvError) {
	j := getBuf()
	defer putBuf(j)
	j.raw(`{"error":{"code":`)
	j.str(e.code)
	j.raw(`,"message":`)
	j.str(e.message)
	if e.inner != "" {
		j.raw(`,"innererror":{"code":`)
		j.str(e.inner)
		j.byte('}')
	}
	j.raw("}}")
	writeBody(w, e.status, j.b)
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = hdrJSON
	w.WriteHeader(status)
	w.Write(body)
}
