// Package armerr is the one place that turns errors into Azure Resource
// Manager's wire format:
//
//	{"error":{"code":"ResourceNotFound","message":"…","target":"…","details":[…]}}
//
// Handlers return *Error values built by the constructors below, which carry
// ARM's status codes, codes and message texts. Write renders any error: an
// *Error as itself, anything else as a generic 500 whose detail goes only to
// the log.
package armerr

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// Error is an ARM error response.
type Error struct {
	Status  int      `json:"-"`
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Target  string   `json:"target,omitempty"`
	Details []*Error `json:"details,omitempty"`
	// Header holds extra response headers (WWW-Authenticate on 401s).
	Header http.Header `json:"-"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New returns an error with a status, code and formatted message.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Write renders err as an ARM error response.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		slog.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = New(http.StatusInternalServerError, "InternalServerError", "The server encountered an internal error. Please retry the request.")
	}
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	body, _ := json.Marshal(struct {
		Error *Error `json:"error"`
	}{e})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("x-ms-failure-cause", failureCause(e))
	w.WriteHeader(e.Status)
	w.Write(body)
}

func failureCause(e *Error) string {
	if e.Status >= 500 {
		return "service"
	}
	return "gateway"
}

// The constructors below reproduce ARM's own texts.

// MissingAPIVersion is ARM's answer to a request without ?api-version=.
func MissingAPIVersion() *Error {
	return New(http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
}

// UnsupportedAPIVersion is ARM's answer to an api-version the type lacks.
func UnsupportedAPIVersion(typ, version string, supported []string) *Error {
	return New(http.StatusBadRequest, "NoRegisteredProviderFound",
		"No registered resource provider found for location 'global' and API version '%s' for type '%s'. The supported api-versions are '%s'. The supported locations are ''.",
		version, typeName(typ), strings.Join(supported, ", "))
}

func typeName(typ string) string {
	if i := strings.IndexByte(typ, '/'); i >= 0 {
		return typ[i+1:]
	}
	return typ
}

// InvalidNamespace is ARM's answer to an unknown provider namespace.
func InvalidNamespace(ns string) *Error {
	return New(http.StatusNotFound, "InvalidResourceNamespace", "The resource namespace '%s' is invalid.", ns)
}

// InvalidResourceType is ARM's answer to an unknown type in a known namespace.
func InvalidResourceType(ns, typ, version string) *Error {
	return New(http.StatusBadRequest, "InvalidResourceType", "The resource type '%s' could not be found in the namespace '%s' for api version '%s'.", typ, ns, version)
}

// SubscriptionNotFound is ARM's answer for an unknown subscription.
func SubscriptionNotFound(sub string) *Error {
	return New(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", sub)
}

// InvalidSubscriptionID is ARM's answer for a subscription id that is no GUID.
func InvalidSubscriptionID(sub string) *Error {
	return New(http.StatusBadRequest, "InvalidSubscriptionId", "The provided subscription identifier '%s' is malformed or invalid.", sub)
}

// ResourceGroupNotFound is ARM's answer for a missing group.
func ResourceGroupNotFound(rg string) *Error {
	return New(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", rg)
}

// ResourceNotFound is ARM's answer for a missing resource.
func ResourceNotFound(typ, name, rg string) *Error {
	if rg == "" {
		return New(http.StatusNotFound, "ResourceNotFound", "The Resource '%s/%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", typ, name)
	}
	return New(http.StatusNotFound, "ResourceNotFound", "The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", typ, name, rg)
}

// ParentResourceNotFound is ARM's answer when a child's parent is missing.
func ParentResourceNotFound(parentType, parentName string) *Error {
	return New(http.StatusNotFound, "ParentResourceNotFound",
		"Can not perform requested operation on nested resource. Parent resource '%s' not found.", parentName)
}

// InvalidRequestContent is ARM's answer to an undecodable body.
func InvalidRequestContent(detail string) *Error {
	return New(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: '%s'.", detail)
}

// BadRequest is a 400 with a resource provider's own code.
func BadRequest(code, format string, args ...any) *Error {
	return New(http.StatusBadRequest, code, format, args...)
}

// Conflict is a 409 with a resource provider's own code.
func Conflict(code, format string, args ...any) *Error {
	return New(http.StatusConflict, code, format, args...)
}

// MethodNotAllowed answers a verb the resource type does not support.
func MethodNotAllowed(method, typ string) *Error {
	return New(http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method '%s' is not allowed for resource type '%s'.", method, typ)
}

// AuthorizationFailed is ARM's 403 for a caller without the action.
func AuthorizationFailed(clientID, objectID, action, scope string) *Error {
	return New(http.StatusForbidden, "AuthorizationFailed",
		"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		clientID, objectID, action, scope)
}

// LinkedAuthorizationFailed is ARM's 403 when the caller may write the
// resource but not an identity or other resource it links to.
func LinkedAuthorizationFailed(clientID, objectID, action, scope, linkedAction, linkedScope string) *Error {
	return New(http.StatusForbidden, "LinkedAuthorizationFailed",
		"The client '%s' with object id '%s' has permission to perform action '%s' on scope '%s'; however, it does not have permission to perform action(s) '%s' on the linked scope(s) '%s' (respectively) or the linked scope(s) are invalid.",
		clientID, objectID, action, scope, linkedAction, linkedScope)
}

// Unauthenticated builds ARM's 401s; the WWW-Authenticate challenge names
// the tenant's authority so that clients can fetch a fresh token.
func Unauthenticated(code, message, authority string) *Error {
	e := New(http.StatusUnauthorized, code, "%s", message)
	e.Header = http.Header{}
	e.Header.Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization_uri="%s", error="invalid_token", error_description="%s"`, authority, strings.ReplaceAll(message, `"`, "'")))
	return e
}
