package arm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/mimic-emu/mimic/internal/accesslog"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/jwt"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/tokens"
	"github.com/mimic-emu/mimic/internal/workload"
)

// Authorizer decides control-plane actions. The rbac package implements it
// over the authorization engine.
type Authorizer interface {
	// Decide answers one authorization request.
	Decide(ctx context.Context, r authz.Request) (authz.Decision, error)
	// Visible reports whether the principal holds any role assignment at,
	// above or below scope: what ARM requires to list a subscription.
	Visible(ctx context.Context, principalID string, scope resourceid.ID) bool
	// Permissions lists the permission blocks of the roles the principal
	// holds at or above scope.
	Permissions(ctx context.Context, principalID string, scope resourceid.ID) ([]authz.Permission, error)
	// Changed is called after a transaction that changed role
	// definitions, role assignments or principals has committed.
	Changed()
}

// Caller is the authenticated principal of a request.
type Caller struct {
	ObjectID string
	ClientID string
	Claims   *jwt.Claims
}

// Audiences are the token audiences ARM accepts.
var Audiences = []string{
	"https://management.core.windows.net/",
	"https://management.core.windows.net",
	"https://management.azure.com/",
	"https://management.azure.com",
}

// Server serves ARM requests.
type Server struct {
	Store    store.Store
	Tenant   string
	Registry *Registry
	Verifier *tokens.Verifier
	Authz    Authorizer
	Now      func() time.Time
	// StrictRevocation refuses tokens whose principal no longer exists.
	// By default, as in Azure, such tokens keep working until they expire.
	StrictRevocation bool
	// PageSize bounds list responses; the rest follows through nextLink.
	PageSize int
	// Minter mints managed identity tokens for operations that reveal
	// them, such as a virtual machine's runCommand.
	Minter *tokens.Minter
	// MITokenLifetime is the lifetime of managed identity tokens.
	MITokenLifetime time.Duration
	// Access records every authorization decision; nil records nothing.
	Access *accesslog.Log
	// Generation counts committed ARM writes in this process; caches of
	// derived state (which identity a VM's IMDS hands out) compare it.
	// Writes by other replicas advance it through WatchRevision.
	Generation atomic.Int64
}

// RevisionTopic is the store revision every ARM write bumps.
const RevisionTopic = "arm"

// WatchRevision advances Generation when another replica writes, polling
// the store's revision until ctx ends.
func (s *Server) WatchRevision(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var last int64 = -1
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rev, err := s.Store.Revision(ctx, RevisionTopic)
			if err == nil && rev != last {
				if last != -1 {
					s.Generation.Add(1)
				}
				last = rev
			}
		}
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := uuid.NewString()
	corr := r.Header.Get("x-ms-correlation-request-id")
	if corr == "" {
		corr = reqID
	}
	h := w.Header()
	h.Set("x-ms-request-id", reqID)
	h.Set("x-ms-correlation-request-id", corr)
	h.Set("Cache-Control", "no-cache")
	if crid := r.Header.Get("x-ms-client-request-id"); crid != "" {
		h.Set("x-ms-client-request-id", crid)
	}
	sw := &statusWriter{ResponseWriter: w}
	c := &Call{Ctx: r.Context(), W: sw, R: r, S: s}
	if err := s.serve(c); err != nil {
		armerr.Write(sw, r, err)
	}
	s.logDecisions(c, sw.status)
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logDecisions records the request's authorization decisions in the access
// log, with the status it was answered with.
func (s *Server) logDecisions(c *Call, status int) {
	if s.Access == nil || c.Caller == nil {
		return
	}
	compute := c.Caller.Claims.XmsAzRid
	if run := workload.RunFrom(c.R.Context()); run != nil {
		compute = run.ComputeID
	}
	for _, d := range c.decisions {
		e := store.Access{Plane: accesslog.ARM, Method: c.R.Method, PrincipalID: c.Caller.ObjectID, ClientID: c.Caller.ClientID,
			IdentityID: c.Caller.Claims.XmsMirid, ComputeID: compute, Action: d.action, Scope: d.scope, Status: status}
		s.Access.Record(e, d.Decision)
	}
}

// decided is one authorization decision of a request.
type decided struct {
	authz.Decision
	action, scope string
}

func (s *Server) serve(c *Call) error {
	r := c.R
	caller, err := s.Authenticate(r)
	if err != nil {
		return err
	}
	c.Caller = caller
	c.APIVersion = apiVersion(r)
	if c.APIVersion == "" {
		return armerr.MissingAPIVersion()
	}
	urlPath := collapseSlashes(r.URL.Path)
	if sub, ns, ok := providerPath(urlPath); ok {
		// Resource provider registrations: what az's generic resource
		// commands read to pick an api-version.
		c.Namespace = ns
		return s.typed(c, ProvidersType, resourceid.ID{Subscription: sub}, ns == "")
	}
	path, err := resourceid.ParsePath(urlPath)
	if err != nil {
		return armerr.New(http.StatusBadRequest, "InvalidResourceId", "%s", err.Error())
	}
	if r.Method == http.MethodPut || r.Method == http.MethodPatch || r.Method == http.MethodPost {
		body, err := io.ReadAll(http.MaxBytesReader(c.W, r.Body, maxBody))
		if err != nil {
			return armerr.New(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body exceeds the limit of %d bytes.", maxBody)
		}
		c.Body = body
	}
	return s.route(c, path)
}

// collapseSlashes drops empty path segments, as ARM's front door does:
// azure-mgmt-resource's generic resource operations put an empty parent
// path between the namespace and the type
// (".../providers/Microsoft.Compute//virtualMachines/vm1"), which is how
// `az resource create|show|delete -g RG -n NAME --resource-type T` reach ARM.
func collapseSlashes(p string) string {
	if !strings.Contains(p, "//") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// ProvidersType is the pseudo-type of resource provider registrations,
// /subscriptions/{s}/providers[/{namespace}].
const ProvidersType = "Microsoft.Resources/providers"

// providerPath recognises /subscriptions/{s}/providers and
// /subscriptions/{s}/providers/{namespace}.
func providerPath(p string) (sub, ns string, ok bool) {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	if len(segs) < 3 || len(segs) > 4 || !strings.EqualFold(segs[0], "subscriptions") || !strings.EqualFold(segs[2], "providers") {
		return "", "", false
	}
	if len(segs) == 4 {
		ns = segs[3]
	}
	return segs[1], ns, true
}

// apiVersion reads api-version, also when the client percent-encoded the
// key ("api%2Dversion"), which url.Values decodes for us.
func apiVersion(r *http.Request) string {
	return r.URL.Query().Get("api-version")
}

func (s *Server) authority() string { return "https://login.microsoftonline.com/" + s.Tenant }

// Authenticate verifies the bearer token and maps failures to ARM's 401s.
// mimic's own API authenticates its callers with it too.
func (s *Server) Authenticate(r *http.Request) (*Caller, error) {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return nil, armerr.Unauthenticated("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.", s.authority())
	}
	scheme, raw, ok := strings.Cut(authz, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return nil, armerr.Unauthenticated("AuthenticationFailedInvalidHeader", "Authentication failed. The 'Authorization' header is provided in an invalid format.", s.authority())
	}
	claims, err := s.Verifier.Verify(strings.TrimSpace(raw), Audiences)
	if err != nil {
		var exp *jwt.ExpiredError
		switch {
		case errors.As(err, &exp):
			return nil, armerr.Unauthenticated("ExpiredAuthenticationToken",
				fmt.Sprintf("The access token expiry UTC time '%s' is earlier than current UTC time '%s'.", armTime(exp.Exp), armTime(exp.Now)), s.authority())
		case errors.Is(err, jwt.ErrAudience):
			return nil, armerr.Unauthenticated("InvalidAuthenticationTokenAudience",
				"The access token has been obtained for wrong audience or resource. It should exactly match with one of the allowed audiences '"+strings.Join(Audiences, "','")+"'.", s.authority())
		case errors.Is(err, jwt.ErrIssuer):
			return nil, armerr.Unauthenticated("InvalidAuthenticationTokenTenant",
				"The access token is from the wrong issuer. It must match the tenant '"+s.authority()+"' associated with this subscription. Please use the authority (URL) '"+s.authority()+"' to get the token.", s.authority())
		case errors.Is(err, jwt.ErrNotYetValid):
			return nil, armerr.Unauthenticated("InvalidAuthenticationToken", "The access token is not yet valid.", s.authority())
		default:
			return nil, armerr.Unauthenticated("InvalidAuthenticationToken", "The access token is invalid.", s.authority())
		}
	}
	if claims.Oid == "" {
		return nil, armerr.Unauthenticated("InvalidAuthenticationToken", "The access token is invalid: it has no 'oid' claim.", s.authority())
	}
	c := &Caller{ObjectID: claims.Oid, ClientID: claims.AppID, Claims: claims}
	if c.ClientID == "" {
		c.ClientID = claims.Azp
	}
	if s.StrictRevocation {
		err := s.Store.View(r.Context(), func(tx store.Tx) error {
			_, err := tx.GetPrincipal(r.Context(), c.ObjectID)
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			return nil, armerr.Unauthenticated("InvalidAuthenticationToken", "The access token is invalid: its principal '"+c.ObjectID+"' no longer exists.", s.authority())
		}
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

func armTime(t time.Time) string { return t.UTC().Format("01/02/2006 15:04:05") }

// Authorize returns 403 AuthorizationFailed unless the caller may perform
// action at scope.
func (c *Call) Authorize(action string, scope resourceid.ID) error {
	return c.AuthorizeWith(action, scope, nil)
}

// AuthorizeWith is Authorize with condition attributes, such as those of a
// role assignment being written.
func (c *Call) AuthorizeWith(action string, scope resourceid.ID, attrs map[string]string) error {
	d, err := c.decide(action, scope, attrs)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return armerr.AuthorizationFailed(c.Caller.ClientID, c.Caller.ObjectID, action, scope.String())
	}
	return nil
}

// Authorize returns ARM's 403 unless caller may perform action at scope.
func (s *Server) Authorize(ctx context.Context, caller *Caller, action string, scope resourceid.ID) error {
	c := &Call{Ctx: ctx, S: s, Caller: caller}
	return c.Authorize(action, scope)
}

func (c *Call) decide(action string, scope resourceid.ID, attrs map[string]string) (authz.Decision, error) {
	d, err := c.S.Authz.Decide(c.Ctx, authz.Request{
		Principals: []string{c.Caller.ObjectID},
		Action:     action,
		Scope:      scope.String(),
		Attributes: attrs,
	})
	if err == nil {
		c.decisions = append(c.decisions, decided{Decision: d, action: action, scope: scope.String()})
	}
	return d, err
}

// Can reports whether the caller may perform action at scope.
func (c *Call) Can(action string, scope resourceid.ID) bool {
	d, err := c.decide(action, scope, nil)
	return err == nil && d.Allowed
}

// route resolves a parsed path to a handler.
func (s *Server) route(c *Call, p resourceid.Path) error {
	id := p.ID
	tail := strings.ToLower(p.Tail)
	switch {
	case id.IsRoot() && tail == "subscriptions":
		return s.typed(c, "Microsoft.Resources/subscriptions", id, true)
	case id.IsRoot() && tail == "tenants":
		return s.typed(c, "Microsoft.Resources/tenants", id, true)
	case id.IsSubscription() && tail == "":
		return s.typed(c, "Microsoft.Resources/subscriptions", id, false)
	case id.IsSubscription() && tail == "resourcegroups":
		return s.typed(c, "Microsoft.Resources/resourceGroups", id, true)
	case (id.IsSubscription() || id.IsResourceGroup()) && tail == "resources":
		return s.typed(c, "Microsoft.Resources/resources", id, true)
	case (id.IsSubscription() || id.IsResourceGroup()) && tail == "tagnames":
		return armerr.New(http.StatusNotFound, "NotFound", "Tag names are not supported by mimic; read tags from resources.")
	case id.IsResourceGroup() && tail == "":
		return s.typed(c, "Microsoft.Resources/resourceGroups", id, false)
	case tail == "" && id.IsResource():
		return s.resource(c, id)
	case p.TailIsType():
		if t := s.Registry.Lookup(p.TailType()); t != nil {
			c.Type, c.ID = t, p.Base()
			return s.collection(c)
		}
		base := p.Base()
		if base.IsResource() {
			if bt := s.Registry.Lookup(base.Type()); bt != nil {
				if a := bt.Actions[tail]; a != nil {
					return s.action(c, bt, base, tail, a)
				}
			}
		}
		return s.unknownType(c, p.ID)
	}
	return armerr.New(http.StatusNotFound, "NotFound", "No HTTP resource was found that matches the request URI '%s'.", c.R.URL.Path)
}

// typed dispatches to a pseudo-type of Microsoft.Resources.
func (s *Server) typed(c *Call, name string, id resourceid.ID, list bool) error {
	t := s.Registry.Lookup(name)
	if t == nil {
		return armerr.New(http.StatusNotFound, "NotFound", "No HTTP resource was found that matches the request URI '%s'.", c.R.URL.Path)
	}
	c.Type, c.ID = t, id
	if err := s.checkVersion(c); err != nil {
		return err
	}
	if id.Subscription != "" && !isGUID(id.Subscription) {
		return armerr.InvalidSubscriptionID(id.Subscription)
	}
	if list {
		if t.List == nil {
			return armerr.MethodNotAllowed(c.R.Method, t.Name)
		}
		if c.R.Method != http.MethodGet {
			return armerr.MethodNotAllowed(c.R.Method, t.Name)
		}
		return t.List(c)
	}
	return t.Serve(c)
}

func (s *Server) checkVersion(c *Call) error {
	if !c.Type.Supports(c.APIVersion) {
		return armerr.UnsupportedAPIVersion(c.Type.Name, c.APIVersion, c.Type.APIVersions)
	}
	return nil
}

func (s *Server) unknownType(c *Call, id resourceid.ID) error {
	ns := ""
	if len(id.Providers) > 0 {
		ns = id.Providers[len(id.Providers)-1].Namespace
	}
	if !s.Registry.HasNamespace(ns) {
		return armerr.InvalidNamespace(ns)
	}
	typ := id.Type()
	if i := strings.IndexByte(typ, '/'); i >= 0 {
		typ = typ[i+1:]
	}
	return armerr.New(http.StatusNotFound, "InvalidResourceType", "The resource type '%s' could not be found in the namespace '%s' for api version '%s'.", typ, ns, c.APIVersion)
}

// resource serves an operation on one resource.
func (s *Server) resource(c *Call, id resourceid.ID) error {
	t := s.Registry.Lookup(id.Type())
	if t == nil {
		return s.unknownType(c, id)
	}
	c.Type, c.ID = t, id
	if err := s.checkVersion(c); err != nil {
		return err
	}
	if err := checkPlacement(t, id); err != nil {
		return err
	}
	if t.Serve != nil {
		return t.Serve(c)
	}
	return s.Generic(c)
}

// Generic serves GET, HEAD, PUT, PATCH and DELETE on c.ID with the generic
// pipeline; types with their own Serve call it for what they do not change.
func (s *Server) Generic(c *Call) error {
	switch c.R.Method {
	case http.MethodGet:
		return s.get(c)
	case http.MethodHead:
		return s.head(c)
	case http.MethodPut:
		return s.put(c, false)
	case http.MethodPatch:
		if c.Type.NoPatch {
			return armerr.MethodNotAllowed(c.R.Method, c.Type.Name)
		}
		return s.put(c, true)
	case http.MethodDelete:
		return s.delete(c)
	}
	return armerr.MethodNotAllowed(c.R.Method, c.Type.Name)
}

// checkPlacement rejects ids that put a type where it cannot live, such as
// a virtual machine directly under a subscription.
func checkPlacement(t *Type, id resourceid.ID) error {
	switch t.Placement {
	case InGroup:
		if id.ResourceGroup == "" || len(id.Providers) != 1 {
			return armerr.BadRequest("InvalidResourceId", "Resources of type '%s' live in a resource group: '%s' is not a valid id for one.", t.Name, id)
		}
	case ChildOf:
		if id.Parent().Type() == "" || !strings.EqualFold(id.Parent().Type(), t.Parent) {
			return armerr.BadRequest("InvalidResourceId", "'%s' is not a valid id for a resource of type '%s'.", id, t.Name)
		}
	}
	if id.Subscription != "" && !isGUID(id.Subscription) {
		return armerr.InvalidSubscriptionID(id.Subscription)
	}
	return nil
}

func isGUID(s string) bool { _, err := uuid.Parse(s); return err == nil && len(s) == 36 }

// collection serves a list of c.Type under c.ID.
func (s *Server) collection(c *Call) error {
	if err := s.checkVersion(c); err != nil {
		return err
	}
	if c.R.Method == http.MethodPost && c.Type.Operation != nil {
		if c.ID.Subscription != "" && !isGUID(c.ID.Subscription) {
			return armerr.InvalidSubscriptionID(c.ID.Subscription)
		}
		return c.Type.Operation(c)
	}
	if c.R.Method != http.MethodGet {
		return armerr.MethodNotAllowed(c.R.Method, c.Type.Name)
	}
	if c.ID.Subscription != "" && !isGUID(c.ID.Subscription) {
		return armerr.InvalidSubscriptionID(c.ID.Subscription)
	}
	if c.Type.List != nil {
		return c.Type.List(c)
	}
	return s.list(c)
}

// action serves ".../{id}/{name}".
func (s *Server) action(c *Call, t *Type, id resourceid.ID, name string, a *Action) error {
	c.Type, c.ID = t, id
	if err := s.checkVersion(c); err != nil {
		return err
	}
	if !a.allows(c.R.Method) {
		return armerr.MethodNotAllowed(c.R.Method, t.Name+"/"+name)
	}
	perm := a.Permission
	if perm == "" {
		perm = t.Permission(name + "/action")
	}
	if err := c.Authorize(perm, id); err != nil {
		return err
	}
	return c.Update(func() error {
		doc, err := c.Load(id)
		if err != nil {
			return err
		}
		return a.Handle(c, doc)
	})
}

// Update runs fn in a write transaction bound to c.Tx, then tells the
// authorizer when RBAC data changed.
func (c *Call) Update(fn func() error) error {
	c.rbacChanged = false
	err := c.S.Store.Update(c.Ctx, func(tx store.Tx) error {
		c.Tx = tx
		defer func() { c.Tx = nil }()
		if err := fn(); err != nil {
			return err
		}
		_, err := tx.Bump(c.Ctx, RevisionTopic)
		return err
	})
	if err == nil {
		c.S.Generation.Add(1)
	}
	if err == nil && c.rbacChanged {
		c.S.Authz.Changed()
	}
	c.rbacChanged = false
	return err
}

// View runs fn in a read transaction bound to c.Tx.
func (c *Call) View(fn func() error) error {
	return c.S.Store.View(c.Ctx, func(tx store.Tx) error {
		c.Tx = tx
		defer func() { c.Tx = nil }()
		return fn()
	})
}

// RBACChanged marks the transaction as changing role data, so that the
// authorizer reloads after commit. It bumps the store's "rbac" revision for
// other replicas.
func (c *Call) RBACChanged() error {
	c.rbacChanged = true
	_, err := c.Tx.Bump(c.Ctx, "rbac")
	return err
}
