package issuer

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// Error is an OAuth 2.0 error in Entra's JSON form, with its AADSTS code.
// It is the only error type the token endpoints return, and writeError the
// only place that renders it.
type Error struct {
	Status int
	// Type is the RFC 6749 error: invalid_request, invalid_client…
	Type string
	// Code is the AADSTS number.
	Code        int
	Description string
}

func (e *Error) Error() string { return fmt.Sprintf("AADSTS%d: %s", e.Code, e.Description) }

func oauthErr(status int, typ string, code int, format string, args ...any) *Error {
	return &Error{Status: status, Type: typ, Code: code, Description: fmt.Sprintf(format, args...)}
}

// The errors of the token endpoints, with Entra's texts.

func errTenantNotFound(tenant string) *Error {
	return oauthErr(http.StatusBadRequest, "invalid_request", 90002,
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant)
}

func errClientNotFound(clientID, tenant string) *Error {
	return oauthErr(http.StatusBadRequest, "unauthorized_client", 700016,
		"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant)
}

func errInvalidSecret(clientID string) *Error {
	return oauthErr(http.StatusUnauthorized, "invalid_client", 7000215,
		"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID)
}

func errNoCredential() *Error {
	return oauthErr(http.StatusUnauthorized, "invalid_client", 7000218,
		"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
}

func errUnsupportedGrant(grant string) *Error {
	return oauthErr(http.StatusBadRequest, "unsupported_grant_type", 70003,
		"The app requested an unsupported grant type '%s'.", grant)
}

func errMissingParam(name string) *Error {
	return oauthErr(http.StatusBadRequest, "invalid_request", 900144,
		"The request body must contain the following parameter: '%s'.", name)
}

func errMalformed(detail string) *Error {
	return oauthErr(http.StatusBadRequest, "invalid_request", 900144, "%s", detail)
}

func errInvalidScope(scope string) *Error {
	return oauthErr(http.StatusBadRequest, "invalid_scope", 1002012,
		"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)
}

func errInvalidResource(resource string) *Error {
	return oauthErr(http.StatusBadRequest, "invalid_resource", 500011,
		"The resource principal named %s was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", resource)
}

func errManagedIdentitySecret(clientID string) *Error {
	return oauthErr(http.StatusUnauthorized, "invalid_client", 7000215,
		"Invalid client secret provided. Application '%s' is a managed identity, which has no client secrets; managed identities get tokens from their platform's token endpoint.", clientID)
}

// writeError renders e as Entra does, with trace and correlation ids.
func writeError(w http.ResponseWriter, r *http.Request, e *Error) {
	now := time.Now().UTC()
	trace := uuid.NewString()
	corr := r.Header.Get("client-request-id")
	if corr == "" {
		corr = uuid.NewString()
	}
	desc := fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
		e.Code, e.Description, trace, corr, now.Format("2006-01-02 15:04:05Z"))
	body, _ := json.Marshal(map[string]any{
		"error":             e.Type,
		"error_description": desc,
		"error_codes":       []int{e.Code},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", e.Code),
	})
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("x-ms-request-id", trace)
	w.WriteHeader(e.Status)
	w.Write(body)
}
