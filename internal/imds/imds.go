// Package imds is the Azure Instance Metadata Service of mimic's virtual
// machines, at http://169.254.169.254 through the proxy:
//
//	GET /metadata/identity/oauth2/token?api-version=…&resource=…[&client_id=|&object_id=|&msi_res_id=]
//	GET /metadata/instance?api-version=…
//
// It behaves as Azure's does (DESIGN §2): the Metadata: true header is
// required and X-Forwarded-For refused; the identity is chosen by package
// mitoken's IMDS rules; tokens are cached per identity and resource and live
// about a day; each VM is limited (by default 20 requests a second and 5 at
// once) with 429 beyond. Client mistakes are 400s, never 404 or 5xx, which
// the SDKs would retry for many seconds. The SDKs' availability probes
// (no query, or no Metadata header) get a 400, which they take as "IMDS is
// here".
//
// The calling VM is the run the request came from (package workload). An
// AKS pod's run reaches its node's IMDS, which answers with the cluster's
// kubelet identity, as real nodes do; sites have no IMDS.
package imds

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/compute"
	"github.com/mimic-emu/mimic/internal/arm/containerservice"
	"github.com/mimic-emu/mimic/internal/mitoken"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/signin"
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/tokens"
	"github.com/mimic-emu/mimic/internal/workload"
)

// Server is the IMDS plane.
type Server struct {
	Store   store.Store
	Minter  *tokens.Minter
	Signins *signin.Log
	Now     func() time.Time
	// Lifetime is the lifetime of a fresh token.
	Lifetime time.Duration
	// RatePerSecond and Concurrency are the per-VM limits.
	RatePerSecond float64
	Concurrency   int

	// Generation advances whenever ARM state changes; decisions cached
	// under an older generation are not reused.
	Generation func() int64

	cache         tokenCache
	decisions     sync.Map // decisionKey → decision
	decisionCount atomic.Int64
	limits        sync.Map // compute key → *limiter
}

// decisionKey names a cached answer: the run's compute, the selector and
// the resource.
type decisionKey struct {
	compute  string
	sel      mitoken.Selector
	resource string
}

// decision is a cached answer: the identity chosen and its token, valid
// while ARM state is unchanged.
type decision struct {
	gen   int64
	vmID  string
	ident *mitoken.Identity
	tok   tokens.Token
}

// refreshBefore is how close to expiry a cached token is replaced.
const refreshBefore = 5 * time.Minute

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(strings.ToLower(r.URL.Path), "/")
	switch path {
	case "/metadata/identity/oauth2/token":
		if s.cached(w, r) {
			return
		}
		s.limited(w, r, s.token)
	case "/metadata/instance", "/metadata/instance/compute":
		s.limited(w, r, s.instance)
	default:
		writeError(w, badRequest("invalid_request", "Invalid request path '"+r.URL.Path+"'. mimic's IMDS serves /metadata/identity/oauth2/token and /metadata/instance."))
	}
}

func badRequest(code, desc string) *mitoken.Error {
	return &mitoken.Error{Status: http.StatusBadRequest, Code: code, Description: desc}
}

func writeError(w http.ResponseWriter, e *mitoken.Error) {
	writeJSON(w, e.Status, mitoken.ErrorBody(e))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Server", "IMDS/150.870.65.1854")
	w.WriteHeader(status)
	w.Write(b)
}

// vm resolves the request's compute: its document, and the id IMDS speaks
// for. Problems are 400s that say what to do.
type vm struct {
	id  string
	doc arm.Doc
	// kubelet is set for an AKS node: the identity the node has.
	kubelet string
}

// preflight applies the header rules and finds the calling VM.
func (s *Server) preflight(r *http.Request) (*vm, *mitoken.Error) {
	if r.Header.Get("X-Forwarded-For") != "" {
		return nil, badRequest("invalid_request", "Request contains X-Forwarded-For header. IMDS refuses requests that came through a proxy.")
	}
	if !strings.EqualFold(r.Header.Get("Metadata"), "true") {
		return nil, badRequest("invalid_request", "Required metadata header not specified")
	}
	run := workload.RunFrom(r.Context())
	if run == nil {
		return nil, badRequest("invalid_request",
			"This client is not a compute resource: it reached IMDS without run credentials. Start the program with 'mimic run --as <vm>' to get a VM's tokens.")
	}
	id, err := resourceid.Parse(run.ComputeID)
	if err != nil {
		return nil, badRequest("invalid_request", "The run names an invalid compute id.")
	}
	var doc arm.Doc
	err = s.Store.View(r.Context(), func(tx store.Tx) error {
		res, err := tx.GetResource(r.Context(), id.String())
		if err != nil {
			return err
		}
		doc, err = arm.DecodeDoc(res.Body)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, badRequest("invalid_request", "The compute resource "+run.ComputeID+" of this run no longer exists.")
	}
	if err != nil {
		return nil, &mitoken.Error{Status: http.StatusInternalServerError, Code: "internal_error", Description: err.Error()}
	}
	switch {
	case strings.EqualFold(id.Type(), compute.VMType):
		return &vm{id: doc.Str("id"), doc: doc}, nil
	case strings.EqualFold(id.Type(), containerservice.ClusterType):
		kid := containerservice.KubeletIdentity(doc).Str("resourceId")
		return &vm{id: doc.Str("id"), doc: doc, kubelet: kid}, nil
	}
	return nil, badRequest("invalid_request",
		"IMDS is not reachable from "+id.Type()+" "+id.Name()+"; App Service and Functions get tokens from IDENTITY_ENDPOINT.")
}

// identityDoc is the document whose identity block IMDS chooses from: the
// VM itself, or for an AKS node the kubelet identity alone.
func (v *vm) identityDoc() arm.Doc {
	if v.kubelet == "" {
		return v.doc
	}
	return arm.Doc{"id": v.doc.Str("id"), "identity": arm.Doc{
		"type":                   arm.IdentityUser,
		"userAssignedIdentities": arm.Doc{v.kubelet: arm.Doc{}},
	}}
}

// query is a token request's parameters.
func query(r *http.Request) (apiVersion, resource string, sel mitoken.Selector) {
	q := r.URL.Query()
	sel = mitoken.Selector{ClientID: q.Get("client_id"), ObjectID: q.Get("object_id"), ResourceID: q.Get("msi_res_id")}
	if sel.ResourceID == "" {
		sel.ResourceID = q.Get("mi_res_id")
	}
	return q.Get("api-version"), q.Get("resource"), sel
}

// cached answers a token request from a decision made under the current
// ARM generation, without touching the store. It reports false when the
// request needs the full path.
func (s *Server) cached(w http.ResponseWriter, r *http.Request) bool {
	run := workload.RunFrom(r.Context())
	if run == nil || r.Header.Get("X-Forwarded-For") != "" || !strings.EqualFold(r.Header.Get("Metadata"), "true") {
		return false
	}
	apiVersion, resource, sel := query(r)
	if apiVersion == "" || resource == "" {
		return false
	}
	v, ok := s.decisions.Load(decisionKey{compute: strings.ToLower(run.ComputeID), sel: sel, resource: resource})
	if !ok {
		return false
	}
	d := v.(decision)
	now := s.Now()
	if d.gen != s.Generation() || d.tok.ExpiresOn.Sub(now) < refreshBefore {
		return false
	}
	release, ok := s.limiter(d.vmID).acquire(now)
	if !ok {
		tooMany(w)
		return true
	}
	defer release()
	writeJSON(w, http.StatusOK, mitoken.Response(d.tok, d.ident.Principal.ClientID, now))
	return true
}

func (s *Server) token(w http.ResponseWriter, r *http.Request, v *vm) {
	gen := s.Generation()
	apiVersion, resource, sel := query(r)
	if apiVersion == "" {
		s.refuse(w, v, "", badRequest("invalid_request", "Required query variable 'api-version' is missing"))
		return
	}
	if e := mitoken.ValidateResource(resource); e != nil {
		s.refuse(w, v, resource, e)
		return
	}
	var ident *mitoken.Identity
	err := s.Store.View(r.Context(), func(tx store.Tx) error {
		var err error
		ident, err = mitoken.Select(r.Context(), tx, v.identityDoc(), sel, mitoken.IMDS)
		return err
	})
	var mierr *mitoken.Error
	if errors.As(err, &mierr) {
		s.refuse(w, v, resource, mierr)
		return
	}
	if err != nil {
		writeError(w, &mitoken.Error{Status: http.StatusInternalServerError, Code: "internal_error", Description: err.Error()})
		return
	}
	now := s.Now()
	key := cacheKey{principal: ident.Principal.ObjectID, compute: strings.ToLower(v.id), resource: resource}
	tok, ok := s.cache.get(key, now)
	if !ok {
		tok, err = s.Minter.Mint(ident.Subject(v.id), resource, s.Lifetime)
		if err != nil {
			writeError(w, &mitoken.Error{Status: http.StatusInternalServerError, Code: "internal_error", Description: err.Error()})
			return
		}
		s.cache.put(key, tok)
		s.Signins.Record(store.SignIn{
			Endpoint: signin.IMDS, Result: signin.Success, PrincipalID: ident.Principal.ObjectID, ClientID: ident.Principal.ClientID,
			IdentityID: ident.ResourceID, ComputeID: v.id, Audience: resource,
		})
	}
	if run := workload.RunFrom(r.Context()); run != nil {
		s.remember(decisionKey{compute: strings.ToLower(run.ComputeID), sel: sel, resource: resource}, decision{gen: gen, vmID: v.id, ident: ident, tok: tok})
	}
	writeJSON(w, http.StatusOK, mitoken.Response(tok, ident.Principal.ClientID, now))
}

func (s *Server) refuse(w http.ResponseWriter, v *vm, resource string, e *mitoken.Error) {
	s.Signins.Record(store.SignIn{Endpoint: signin.IMDS, Result: signin.Failure, ErrorCode: e.Code, Message: e.Description, ComputeID: v.id, Audience: resource})
	writeError(w, e)
}

// instance answers /metadata/instance with what Azure's IMDS says of the VM.
func (s *Server) instance(w http.ResponseWriter, r *http.Request, v *vm) {
	if r.URL.Query().Get("api-version") == "" {
		writeError(w, badRequest("invalid_request", "Required query variable 'api-version' is missing"))
		return
	}
	id, _ := resourceid.Parse(v.id)
	p := v.doc.Obj("properties")
	var tagsList []map[string]string
	var tagPairs []string
	for k, val := range v.doc.Obj("tags") {
		sv, _ := val.(string)
		tagsList = append(tagsList, map[string]string{"name": k, "value": sv})
		tagPairs = append(tagPairs, k+":"+sv)
	}
	compute := map[string]any{
		"azEnvironment":     "AzurePublicCloud",
		"location":          v.doc.Str("location"),
		"name":              v.doc.Str("name"),
		"resourceGroupName": id.ResourceGroup,
		"subscriptionId":    id.Subscription,
		"resourceId":        v.id,
		"vmId":              p.Str("vmId"),
		"vmSize":            p.Obj("hardwareProfile").Str("vmSize"),
		"osType":            osType(p),
		"tags":              strings.Join(tagPairs, ";"),
		"tagsList":          tagsList,
	}
	if strings.HasSuffix(strings.ToLower(r.URL.Path), "/compute") {
		writeJSON(w, http.StatusOK, compute)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"compute": compute, "network": map[string]any{"interface": []any{}}})
}

func osType(p arm.Doc) string {
	if p.Obj("osProfile").Obj("windowsConfiguration") != nil {
		return "Windows"
	}
	return "Linux"
}

// limited applies the per-VM limits around a handler.
func (s *Server) limited(w http.ResponseWriter, r *http.Request, h func(http.ResponseWriter, *http.Request, *vm)) {
	v, e := s.preflight(r)
	if e != nil {
		if v == nil && workload.RunFrom(r.Context()) != nil {
			s.Signins.Record(store.SignIn{Endpoint: signin.IMDS, Result: signin.Failure, ErrorCode: e.Code, Message: e.Description,
				ComputeID: workload.RunFrom(r.Context()).ComputeID})
		}
		writeError(w, e)
		return
	}
	l := s.limiter(v.id)
	release, ok := l.acquire(s.Now())
	if !ok {
		tooMany(w)
		return
	}
	defer release()
	h(w, r, v)
}

func tooMany(w http.ResponseWriter) {
	writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "too_many_requests",
		"error_description": "Too many requests: IMDS allows this VM a limited number of requests per second and at once."})
}

// remember caches a decision; the cache is bounded like the token cache.
func (s *Server) remember(k decisionKey, d decision) {
	if s.decisionCount.Add(1) > maxCached {
		s.decisions.Clear()
		s.decisionCount.Store(1)
	}
	s.decisions.Store(k, d)
}

func (s *Server) limiter(computeID string) *limiter {
	key := strings.ToLower(computeID)
	if l, ok := s.limits.Load(key); ok {
		return l.(*limiter)
	}
	l, _ := s.limits.LoadOrStore(key, newLimiter(s.RatePerSecond, s.Concurrency, s.Now()))
	return l.(*limiter)
}
