// Package mitoken decides which managed identity a compute resource's token
// request gets, as each Azure platform decides, and renders the managed
// identity token response the SDKs parse.
//
// IMDS (virtual machines) and App Service differ on one point: with no
// selector, IMDS picks the system-assigned identity, or the only
// user-assigned one, and refuses to guess between several; App Service
// picks the system-assigned identity and otherwise refuses. Errors are
// 400s, never 404 or 5xx, because the SDKs retry those for many seconds.
package mitoken

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/tokens"
)

// Platform is the token endpoint's protocol.
type Platform int

const (
	// IMDS is a virtual machine's instance metadata service.
	IMDS Platform = iota
	// AppService is the IDENTITY_ENDPOINT of App Service and Functions.
	AppService
)

// Selector names an identity in a token request; at most one field is set.
type Selector struct {
	ClientID   string
	ObjectID   string
	ResourceID string
}

// Empty reports whether no selector was given.
func (s Selector) Empty() bool { return s.ClientID == "" && s.ObjectID == "" && s.ResourceID == "" }

// Error is a refused token request, in the endpoint's JSON error form.
type Error struct {
	Status      int
	Code        string
	Description string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// Identity is a selected identity.
type Identity struct {
	Principal *store.Principal
	// ResourceID is the identity's resource id (xms_mirid): the
	// user-assigned identity, or the compute for a system-assigned one.
	ResourceID string
}

// Errors with Azure's texts.
var (
	errNotFound = &Error{Status: http.StatusBadRequest, Code: "invalid_request", Description: "Identity not found"}
	errMultiple = &Error{Status: http.StatusBadRequest, Code: "invalid_request",
		Description: "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request"}
)

// Select picks the identity of compute (a stored resource document) that a
// request with sel gets on platform.
func Select(ctx context.Context, tx store.Tx, compute arm.Doc, sel Selector, platform Platform) (*Identity, error) {
	system, user := arm.IdentityIDs(compute)
	var sys *Identity
	if system {
		p, err := tx.PrincipalByResource(ctx, compute.Str("id"))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if p != nil {
			sys = &Identity{Principal: p, ResourceID: compute.Str("id")}
		}
	}
	var users []*Identity
	for _, id := range user {
		p, err := tx.PrincipalByResource(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		users = append(users, &Identity{Principal: p, ResourceID: id})
	}
	if sel.Empty() {
		switch {
		case sys != nil:
			return sys, nil
		case platform == IMDS && len(users) == 1:
			return users[0], nil
		case platform == IMDS && len(users) > 1:
			return nil, errMultiple
		case platform == AppService && len(users) > 0:
			return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_request",
				Description: "No system assigned managed identity is configured for this resource; specify the client_id, object_id or mi_res_id of a user assigned identity."}
		}
		return nil, errNotFound
	}
	all := users
	if sys != nil {
		all = append(all, sys)
	}
	for _, cand := range all {
		switch {
		case sel.ClientID != "" && strings.EqualFold(cand.Principal.ClientID, sel.ClientID),
			sel.ObjectID != "" && strings.EqualFold(cand.Principal.ObjectID, sel.ObjectID),
			sel.ResourceID != "" && sameID(cand.ResourceID, sel.ResourceID) && cand != sys:
			return cand, nil
		}
	}
	return nil, errNotFound
}

func sameID(a, b string) bool {
	ia, err1 := resourceid.Parse(a)
	ib, err2 := resourceid.Parse(b)
	return err1 == nil && err2 == nil && ia.Equal(ib)
}

// Subject is the token subject for an identity used by compute.
func (id *Identity) Subject(computeID string) tokens.Subject {
	return tokens.Subject{
		ObjectID:           id.Principal.ObjectID,
		ClientID:           id.Principal.ClientID,
		Kind:               id.Principal.Kind,
		IdentityResourceID: id.ResourceID,
		ComputeResourceID:  computeID,
	}
}

// Response is the managed identity token response: numbers as strings,
// expires_on in epoch seconds, and resource, which Python requires.
func Response(tok tokens.Token, clientID string, now time.Time) map[string]string {
	in := strconv.FormatInt(tok.ExpiresIn(now), 10)
	return map[string]string{
		"access_token":   tok.Raw,
		"client_id":      clientID,
		"expires_in":     in,
		"expires_on":     strconv.FormatInt(tok.ExpiresOn.Unix(), 10),
		"ext_expires_in": in,
		"not_before":     strconv.FormatInt(tok.NotBefore.Unix(), 10),
		"resource":       tok.Resource,
		"token_type":     "Bearer",
	}
}

// ErrorBody is an Error's JSON body.
func ErrorBody(e *Error) map[string]string {
	return map[string]string{"error": e.Code, "error_description": e.Description}
}

// ValidateResource checks a resource parameter.
func ValidateResource(resource string) *Error {
	if resource == "" {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Description: "Required query variable 'resource' is missing"}
	}
	if len(resource) > 2048 {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_resource", Description: fmt.Sprintf("The resource '%.64s…' is too long", resource)}
	}
	return nil
}
