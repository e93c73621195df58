// Package msgraph is the small part of Microsoft Graph that tools need to
// name principals: service principal look-ups by object id, by app id and
// by service principal name, and directoryObjects/getByIds, which
// `az role assignment create --assignee` and `az role assignment list` call.
// Every service principal in mimic's directory is a managed identity or an
// application (such as the operator); there are no users or groups, so
// those queries answer with empty lists.
//
// Any authenticated principal of the tenant may read the directory, as in
// Entra ID by default. Errors use Graph's JSON:
// {"error":{"code":"Request_ResourceNotFound","message":"…"}}.
package msgraph

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/mimic-emu/mimic/internal/dataplane"
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/tokens"
)

// Audiences are the token audiences Graph accepts.
var Audiences = []string{"https://graph.microsoft.com", "https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000"}

// Server serves Graph.
type Server struct {
	Store    store.Store
	Verifier *tokens.Verifier
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, code, format string, args ...any) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": fmt.Sprintf(format, args...)}})
}

var (
	reSPN     = regexp.MustCompile(`(?i)^servicePrincipalNames/any\(\w+:\w+ eq '([^']*)'\)$`)
	reAppID   = regexp.MustCompile(`(?i)^appId eq '([^']*)'$`)
	reDisplay = regexp.MustCompile(`(?i)^displayName eq '([^']*)'$`)
)

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw := dataplane.BearerToken(r)
	if raw == "" {
		writeError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return
	}
	if _, err := s.Verifier.Verify(raw, Audiences); err != nil {
		writeError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience, issuer or signature.")
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	version, rest, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if version != "v1.0" && version != "beta" {
		writeError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource not found for the segment '%s'.", version)
		return
	}
	switch {
	case r.Method == http.MethodPost && strings.EqualFold(rest, "directoryObjects/getByIds"):
		s.getByIDs(w, r)
	case r.Method == http.MethodGet && strings.EqualFold(rest, "servicePrincipals"):
		s.listServicePrincipals(w, r)
	case r.Method == http.MethodGet && (strings.HasPrefix(strings.ToLower(rest), "serviceprincipals/") || strings.HasPrefix(strings.ToLower(rest), "directoryobjects/")):
		s.getObject(w, r, rest[strings.IndexByte(rest, '/')+1:])
	case r.Method == http.MethodGet && (strings.EqualFold(rest, "users") || strings.EqualFold(rest, "groups") || strings.EqualFold(rest, "applications")):
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#" + rest, "value": []any{}})
	default:
		writeError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource not found for the segment '%s'. mimic's Graph serves servicePrincipals and directoryObjects.", rest)
	}
}

// object renders a principal as Graph's servicePrincipal.
func object(p *store.Principal) map[string]any {
	kind := "Application"
	if p.Kind != store.KindApplication {
		kind = "ManagedIdentity"
	}
	names := []string{p.ClientID}
	if p.ResourceID != "" {
		names = append(names, p.ResourceID)
	}
	return map[string]any{
		"@odata.type":            "#microsoft.graph.servicePrincipal",
		"id":                     p.ObjectID,
		"appId":                  p.ClientID,
		"displayName":            p.DisplayName,
		"servicePrincipalNames":  names,
		"servicePrincipalType":   kind,
		"accountEnabled":         true,
		"alternativeNames":       names[1:],
		"appOwnerOrganizationId": nil,
	}
}

func (s *Server) principals(r *http.Request) ([]*store.Principal, error) {
	var out []*store.Principal
	err := s.Store.View(r.Context(), func(tx store.Tx) error {
		var err error
		out, err = tx.ListPrincipals(r.Context())
		return err
	})
	return out, err
}

func (s *Server) getByIDs(w http.ResponseWriter, r *http.Request) {
	var body struct {
		IDs   []string `json:"ids"`
		Types []string `json:"types"`
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil || json.Unmarshal(b, &body) != nil {
		writeError(w, http.StatusBadRequest, "Request_BadRequest", "The request body must be JSON with an 'ids' array.")
		return
	}
	if len(body.IDs) > 1000 {
		writeError(w, http.StatusBadRequest, "Request_BadRequest", "No more than 1000 ids can be requested at once.")
		return
	}
	wantSP := len(body.Types) == 0
	for _, t := range body.Types {
		wantSP = wantSP || strings.EqualFold(t, "servicePrincipal")
	}
	out := []any{}
	if wantSP {
		err := s.Store.View(r.Context(), func(tx store.Tx) error {
			for _, id := range body.IDs {
				p, err := tx.GetPrincipal(r.Context(), id)
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				out = append(out, object(p))
			}
			return nil
		})
		if err != nil {
			writeError(w, http.StatusInternalServerError, "InternalServerError", "%s", err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", "value": out})
}

func (s *Server) listServicePrincipals(w http.ResponseWriter, r *http.Request) {
	filter := strings.TrimSpace(r.URL.Query().Get("$filter"))
	var match func(*store.Principal) bool
	switch {
	case filter == "":
		match = func(*store.Principal) bool { return true }
	case reSPN.MatchString(filter):
		want := reSPN.FindStringSubmatch(filter)[1]
		match = func(p *store.Principal) bool {
			return strings.EqualFold(p.ClientID, want) || strings.EqualFold(p.ResourceID, want)
		}
	case reAppID.MatchString(filter):
		want := reAppID.FindStringSubmatch(filter)[1]
		match = func(p *store.Principal) bool { return strings.EqualFold(p.ClientID, want) }
	case reDisplay.MatchString(filter):
		want := reDisplay.FindStringSubmatch(filter)[1]
		match = func(p *store.Principal) bool { return p.DisplayName == want }
	default:
		writeError(w, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported query: $filter=%s. mimic supports servicePrincipalNames/any(c:c eq '…'), appId eq '…' and displayName eq '…'.", filter)
		return
	}
	ps, err := s.principals(r)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalServerError", "%s", err.Error())
		return
	}
	out := []any{}
	for _, p := range ps {
		if match(p) {
			out = append(out, object(p))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals", "value": out})
}

func (s *Server) getObject(w http.ResponseWriter, r *http.Request, id string) {
	var p *store.Principal
	err := s.Store.View(r.Context(), func(tx store.Tx) error {
		var err error
		p, err = tx.GetPrincipal(r.Context(), id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalServerError", "%s", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, object(p))
}
