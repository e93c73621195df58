// Package appservice is the managed identity endpoint of App Service and
// Azure Functions: the IDENTITY_ENDPOINT a site's code calls, in both of
// Azure's protocols:
//
//	GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=…[&client_id=|&principal_id=|&object_id=|&mi_res_id=]
//	    X-IDENTITY-HEADER: {IDENTITY_HEADER}
//	GET {MSI_ENDPOINT}?api-version=2017-09-01&resource=…[&clientid=]
//	    secret: {MSI_SECRET}
//
// The header is the secret of the run that `mimic run --as <site>` started,
// so it names the site: one site's header gets nothing for another. With
// no selector the system-assigned identity wins even when user-assigned ones
// exist, as on App Service (package mitoken).
package appservice

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/web"
	"github.com/mimic-emu/mimic/internal/mitoken"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/signin"
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/tokens"
	"github.com/mimic-emu/mimic/internal/workload"
)

// Path is where the endpoint is served.
const Path = "/msi/token"

// Server is the App Service identity endpoint.
type Server struct {
	Store    store.Store
	Runs     *workload.Runs
	Minter   *tokens.Minter
	Signins  *signin.Log
	Now      func() time.Time
	Lifetime time.Duration
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

func fail(status int, code, desc string) *mitoken.Error {
	return &mitoken.Error{Status: status, Code: code, Description: desc}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	site, e := s.site(r)
	if e != nil {
		s.refuse(w, "", "", e)
		return
	}
	q := r.URL.Query()
	resource := q.Get("resource")
	if e := mitoken.ValidateResource(resource); e != nil {
		s.refuse(w, site.Str("id"), resource, e)
		return
	}
	var sel mitoken.Selector
	switch q.Get("api-version") {
	case "2019-08-01":
		sel = mitoken.Selector{ClientID: q.Get("client_id"), ObjectID: firstOf(q.Get("principal_id"), q.Get("object_id")), ResourceID: q.Get("mi_res_id")}
	case "2017-09-01":
		sel = mitoken.Selector{ClientID: firstOf(q.Get("clientid"), q.Get("client_id"))}
	case "":
		s.refuse(w, site.Str("id"), resource, fail(http.StatusBadRequest, "invalid_request", "Required query variable 'api-version' is missing"))
		return
	default:
		s.refuse(w, site.Str("id"), resource, fail(http.StatusBadRequest, "invalid_request",
			"The api-version '"+q.Get("api-version")+"' is not supported; use 2019-08-01 or 2017-09-01."))
		return
	}
	var ident *mitoken.Identity
	err := s.Store.View(r.Context(), func(tx store.Tx) error {
		var err error
		ident, err = mitoken.Select(r.Context(), tx, site, sel, mitoken.AppService)
		return err
	})
	var mierr *mitoken.Error
	if errors.As(err, &mierr) {
		s.refuse(w, site.Str("id"), resource, mierr)
		return
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal_error", "error_description": err.Error()})
		return
	}
	tok, err := s.Minter.Mint(ident.Subject(site.Str("id")), resource, s.Lifetime)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal_error", "error_description": err.Error()})
		return
	}
	s.Signins.Record(store.SignIn{Endpoint: signin.AppService, Result: signin.Success, PrincipalID: ident.Principal.ObjectID,
		ClientID: ident.Principal.ClientID, IdentityID: ident.ResourceID, ComputeID: site.Str("id"), Audience: resource})
	resp := mitoken.Response(tok, ident.Principal.ClientID, s.Now())
	// App Service's shape: no expires_in or not_before.
	delete(resp, "ext_expires_in")
	writeJSON(w, http.StatusOK, resp)
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// site finds the site whose run secret the request's header carries.
func (s *Server) site(r *http.Request) (arm.Doc, *mitoken.Error) {
	secret := r.Header.Get("X-IDENTITY-HEADER")
	if secret == "" {
		secret = r.Header.Get("secret")
	}
	if secret == "" {
		return nil, fail(http.StatusUnauthorized, "unauthorized_client",
			"The request has no X-IDENTITY-HEADER (or secret) header. Start the program with 'mimic run --as <site>', which sets IDENTITY_ENDPOINT and IDENTITY_HEADER.")
	}
	run, err := s.Runs.Lookup(r.Context(), secret)
	if err != nil {
		return nil, fail(http.StatusUnauthorized, "unauthorized_client", "The identity header matches no running site.")
	}
	// A run's proxy credentials, when present, must name the same run.
	if pr := workload.RunFrom(r.Context()); pr != nil && pr.ID != run.ID {
		return nil, fail(http.StatusUnauthorized, "unauthorized_client", "The identity header belongs to another run.")
	}
	id, err := resourceid.Parse(run.ComputeID)
	if err != nil || !strings.EqualFold(id.Type(), web.SiteType) {
		return nil, fail(http.StatusBadRequest, "invalid_request",
			"The run is not a web app or function app; VMs get tokens from IMDS, AKS pods by federation.")
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
		return nil, fail(http.StatusBadRequest, "invalid_request", "The site "+run.ComputeID+" no longer exists.")
	}
	if err != nil {
		return nil, fail(http.StatusInternalServerError, "internal_error", err.Error())
	}
	return doc, nil
}

func (s *Server) refuse(w http.ResponseWriter, siteID, resource string, e *mitoken.Error) {
	if siteID != "" {
		s.Signins.Record(store.SignIn{Endpoint: signin.AppService, Result: signin.Failure, ErrorCode: e.Code, Message: e.Description, ComputeID: siteID, Audience: resource})
	}
	writeJSON(w, e.Status, mitoken.ErrorBody(e))
}
