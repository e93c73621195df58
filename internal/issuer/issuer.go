// Package issuer serves the Entra ID endpoints mimic emulates:
//
//	GET  /{tenant}/v2.0/.well-known/openid-configuration   OIDC discovery (v2)
//	GET  /{tenant}/.well-known/openid-configuration        OIDC discovery (v1)
//	GET  /{tenant}/discovery/instance                      instance discovery (MSAL asks /common/…)
//	GET  /{tenant}/discovery/v2.0/keys, /discovery/keys    JWKS
//	POST /{tenant}/oauth2/v2.0/token                       token endpoint (scope=…/.default)
//	POST /{tenant}/oauth2/token                            token endpoint, v1 (resource=…)
//
// The client credentials grant takes a client secret or a federated client
// assertion (workload identity federation, federated.go); issuers' keys come
// from IssuerKeys (issuerkeys.go).
//
// Documents name the host the request came to, so the same handlers serve
// https://login.microsoftonline.com through the intercepting proxy and
// https://127.0.0.1:PORT directly. Issuers are always Azure's own strings,
// which MSAL trusts wherever they are served from.
//
// Each grant is one function returning a token or an *Error; writeError is
// the only place errors are rendered, in Entra's JSON with AADSTS codes.
package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mimic-emu/mimic/internal/directory"
	"github.com/mimic-emu/mimic/internal/jwt"
	"github.com/mimic-emu/mimic/internal/signin"
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/tokens"
)

// Issuer serves the Entra endpoints of one tenant.
type Issuer struct {
	Store  store.Store
	Tenant string
	Minter *tokens.Minter
	Ring   *jwt.Ring
	// ClientTokenLifetime is the lifetime of client-credentials tokens.
	ClientTokenLifetime time.Duration
	// Keys finds the signing keys of federated credentials' issuers; nil
	// refuses every client assertion.
	Keys *IssuerKeys
	// Signins records every issuance and refusal; nil records nothing.
	Signins *signin.Log
	// Generation advances when ARM state (and so the directory) changes;
	// principals looked up under the current generation are reused. Nil
	// looks every principal up.
	Generation func() int64

	principals sync.Map // lower client id → cachedPrincipal
}

type cachedPrincipal struct {
	gen int64
	p   *store.Principal
}

// principal finds a principal by client id, from the cache when the
// directory has not changed since it was read.
func (i *Issuer) principal(ctx context.Context, clientID string) (*store.Principal, error) {
	key := strings.ToLower(clientID)
	var gen int64
	if i.Generation != nil {
		gen = i.Generation()
		if v, ok := i.principals.Load(key); ok && v.(cachedPrincipal).gen == gen {
			return v.(cachedPrincipal).p, nil
		}
	}
	var p *store.Principal
	err := i.Store.View(ctx, func(tx store.Tx) error {
		var err error
		p, err = tx.PrincipalByClientID(ctx, clientID)
		return err
	})
	if err == nil && i.Generation != nil {
		// Bounded: client ids come from requests, but only ids that exist
		// are cached.
		i.principals.Store(key, cachedPrincipal{gen: gen, p: p})
	}
	return p, err
}

// maxForm bounds a token request body.
const maxForm = 64 << 10

// Mount registers the endpoints on mux.
func (i *Issuer) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", i.discovery(true))
	mux.HandleFunc("GET /{tenant}/.well-known/openid-configuration", i.discovery(false))
	mux.HandleFunc("GET /{tenant}/discovery/instance", i.instanceDiscovery)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", i.jwks)
	mux.HandleFunc("GET /{tenant}/discovery/keys", i.jwks)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", i.token(true))
	mux.HandleFunc("POST /{tenant}/oauth2/token", i.token(false))
}

func baseURL(r *http.Request) string { return "https://" + r.Host }

// knownTenant resolves a tenant path segment: the tenant id, or the
// multi-tenant aliases, which discovery accepts.
func (i *Issuer) knownTenant(t string, aliases bool) bool {
	if strings.EqualFold(t, i.Tenant) {
		return true
	}
	if aliases {
		switch strings.ToLower(t) {
		case "common", "organizations":
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
}

func (i *Issuer) discovery(v2 bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t := r.PathValue("tenant")
		if !i.knownTenant(t, true) {
			writeError(w, r, errTenantNotFound(t))
			return
		}
		pathTenant := t
		issTenant := i.Tenant
		if !strings.EqualFold(t, i.Tenant) {
			issTenant = "{tenantid}"
		}
		base := baseURL(r) + "/" + pathTenant
		doc := map[string]any{
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			"response_modes_supported":              []string{"query", "fragment", "form_post"},
			"subject_types_supported":               []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"code", "id_token", "code id_token", "token id_token", "token"},
			"scopes_supported":                      []string{"openid"},
			"request_uri_parameter_supported":       false,
			"http_logout_supported":                 true,
			"frontchannel_logout_supported":         true,
			"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver", "oid", "appid", "azp"},
			"tenant_region_scope":                   "NA",
			"cloud_instance_name":                   "microsoftonline.com",
			"cloud_graph_host_name":                 "graph.windows.net",
			"msgraph_host":                          "graph.microsoft.com",
			"rbac_url":                              "https://pas.windows.net",
		}
		if v2 {
			doc["issuer"] = "https://login.microsoftonline.com/" + issTenant + "/v2.0"
			doc["token_endpoint"] = base + "/oauth2/v2.0/token"
			doc["authorization_endpoint"] = base + "/oauth2/v2.0/authorize"
			doc["device_authorization_endpoint"] = base + "/oauth2/v2.0/devicecode"
			doc["end_session_endpoint"] = base + "/oauth2/v2.0/logout"
			doc["jwks_uri"] = base + "/discovery/v2.0/keys"
			doc["scopes_supported"] = []string{"openid", "profile", "email", "offline_access"}
		} else {
			doc["issuer"] = "https://sts.windows.net/" + issTenant + "/"
			doc["token_endpoint"] = base + "/oauth2/token"
			doc["authorization_endpoint"] = base + "/oauth2/authorize"
			doc["device_authorization_endpoint"] = base + "/oauth2/devicecode"
			doc["end_session_endpoint"] = base + "/oauth2/logout"
			doc["jwks_uri"] = baseURL(r) + "/common/discovery/keys"
		}
		w.Header().Set("Cache-Control", "max-age=86400, private")
		writeJSON(w, http.StatusOK, doc)
	}
}

// instanceDiscovery answers MSAL's
// GET /common/discovery/instance?api-version=1.1&authorization_endpoint=https://host/{tenant}/oauth2/v2.0/authorize
// pointing it back at this host, whatever host the client asked about.
func (i *Issuer) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	tenant := i.Tenant
	if ae := r.URL.Query().Get("authorization_endpoint"); ae != "" {
		if u, err := url.Parse(ae); err == nil {
			if seg := strings.Split(strings.Trim(u.Path, "/"), "/"); len(seg) > 0 && seg[0] != "" {
				tenant = seg[0]
			}
		}
	}
	host := r.Host
	aliases := []string{host}
	if strings.EqualFold(host, "login.microsoftonline.com") {
		aliases = []string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": baseURL(r) + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": host,
			"preferred_cache":   host,
			"aliases":           aliases,
		}},
	})
}

func (i *Issuer) jwks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=3600, private")
	w.Write(i.Ring.JWKS())
}

// tokenRequest is a parsed token request.
type tokenRequest struct {
	tenant string
	v2     bool
	form   url.Values
	// clientID and secret come from the form or from HTTP Basic auth.
	clientID string
	secret   string
}

func (i *Issuer) token(v2 bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, oerr := parseTokenRequest(r, v2)
		if oerr == nil && !i.knownTenant(req.tenant, false) {
			oerr = errTenantNotFound(req.tenant)
		}
		var tok tokens.Token
		rec := &store.SignIn{}
		if oerr == nil {
			switch grant := req.form.Get("grant_type"); grant {
			case "":
				oerr = errMissingParam("grant_type")
			case "client_credentials":
				tok, oerr = i.clientCredentials(r.Context(), req, rec)
			default:
				oerr = errUnsupportedGrant(grant)
			}
		}
		i.record(rec, oerr)
		if oerr != nil {
			writeError(w, r, oerr)
			return
		}
		w.Header().Set("Cache-Control", "no-store, no-cache")
		writeJSON(w, http.StatusOK, tokenResponse(tok, v2, time.Now()))
	}
}

func parseTokenRequest(r *http.Request, v2 bool) (*tokenRequest, *Error) {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/x-www-form-urlencoded" {
		return nil, errMalformed("The request body must be application/x-www-form-urlencoded and contain the parameter 'grant_type'.")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errMalformed("The request body is too large.")
		}
		return nil, errMalformed("The request body could not be parsed: " + err.Error())
	}
	req := &tokenRequest{tenant: r.PathValue("tenant"), v2: v2, form: r.PostForm}
	req.clientID = req.form.Get("client_id")
	req.secret = req.form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		// client_secret_basic: RFC 6749 §2.3.1 form-encodes both parts.
		if cu, err := url.QueryUnescape(u); err == nil {
			u = cu
		}
		if cp, err := url.QueryUnescape(p); err == nil {
			p = cp
		}
		if req.clientID == "" {
			req.clientID = u
		}
		if req.secret == "" {
			req.secret = p
		}
	}
	return req, nil
}

// resource extracts the requested resource: from scope on v2, from
// resource on v1.
func (req *tokenRequest) resource() (string, *Error) {
	if !req.v2 {
		res := req.form.Get("resource")
		if res == "" {
			// The v1 endpoint also accepts a v2-style scope.
			if scope := req.form.Get("scope"); scope != "" {
				return scopeResource(scope)
			}
			return "", errMissingParam("resource")
		}
		return res, nil
	}
	scope := req.form.Get("scope")
	if scope == "" {
		return "", errMissingParam("scope")
	}
	return scopeResource(scope)
}

func scopeResource(scope string) (string, *Error) {
	var resource string
	for _, s := range strings.Fields(scope) {
		switch strings.ToLower(s) {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		if resource != "" {
			return "", errInvalidScope(scope)
		}
		res, ok := tokens.ResourceFromScope(s)
		if !ok {
			return "", errInvalidScope(s)
		}
		resource = res
	}
	if resource == "" {
		return "", errInvalidScope(scope)
	}
	if u, err := url.Parse(resource); err != nil || (u.Scheme == "" && !directory.IsGUID(resource)) {
		return "", errInvalidResource(resource)
	}
	return resource, nil
}

// clientCredentials serves the client credentials grant, with a client
// secret or a federated client assertion, and fills rec for the sign-in log.
func (i *Issuer) clientCredentials(ctx context.Context, req *tokenRequest, rec *store.SignIn) (tokens.Token, *Error) {
	if req.clientID == "" {
		return tokens.Token{}, errMissingParam("client_id")
	}
	rec.ClientID = req.clientID
	switch {
	case req.secret != "":
		rec.Endpoint = signin.ClientSecret
	case req.form.Get("client_assertion") != "":
		rec.Endpoint = signin.Federated
	}
	resource, oerr := req.resource()
	if oerr != nil {
		return tokens.Token{}, oerr
	}
	rec.Audience = resource
	if rec.Endpoint == "" {
		return tokens.Token{}, errNoCredential()
	}
	p, err := i.principal(ctx, req.clientID)
	if errors.Is(err, store.ErrNotFound) {
		return tokens.Token{}, errClientNotFound(req.clientID, i.Tenant)
	}
	if err != nil {
		slog.Error("token: principal lookup", "err", err)
		return tokens.Token{}, errTransient()
	}
	rec.PrincipalID = p.ObjectID
	if p.Kind != store.KindApplication {
		rec.IdentityID = p.ResourceID
	}
	if req.secret == "" {
		return i.clientAssertion(ctx, req, p, resource, rec)
	}
	if p.Kind != store.KindApplication {
		return tokens.Token{}, errManagedIdentitySecret(req.clientID)
	}
	if !directory.CheckSecret(p.SecretHash, req.secret) {
		return tokens.Token{}, errInvalidSecret(req.clientID)
	}
	tok, err := i.Minter.Mint(tokens.Subject{ObjectID: p.ObjectID, ClientID: p.ClientID, Kind: p.Kind}, resource, i.ClientTokenLifetime)
	if err != nil {
		slog.Error("token: mint", "err", err)
		return tokens.Token{}, errTransient()
	}
	return tok, nil
}

// record writes a client-credentials request to the sign-in log, once it
// is known whether it came with a secret or an assertion.
func (i *Issuer) record(rec *store.SignIn, oerr *Error) {
	if i.Signins == nil || rec.Endpoint == "" {
		return
	}
	rec.Result = signin.Success
	if oerr != nil {
		rec.Result, rec.ErrorCode, rec.Message = signin.Failure, "AADSTS"+strconv.Itoa(oerr.Code), oerr.Description
	}
	i.Signins.Record(*rec)
}

// tokenResponse renders a token as the v2 endpoint (numbers) or the v1
// endpoint (strings, with expires_on and resource) does.
func tokenResponse(tok tokens.Token, v2 bool, now time.Time) map[string]any {
	in := tok.ExpiresIn(now)
	if v2 {
		return map[string]any{
			"token_type":     "Bearer",
			"expires_in":     in,
			"ext_expires_in": in,
			"access_token":   tok.Raw,
		}
	}
	return map[string]any{
		"token_type":     "Bearer",
		"expires_in":     strconv.FormatInt(in, 10),
		"ext_expires_in": strconv.FormatInt(in, 10),
		"expires_on":     strconv.FormatInt(tok.ExpiresOn.Unix(), 10),
		"not_before":     strconv.FormatInt(tok.NotBefore.Unix(), 10),
		"resource":       tok.Resource,
		"access_token":   tok.Raw,
	}
}
