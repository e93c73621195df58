// Package msi is the Microsoft.ManagedIdentity provider:
// user-assigned identities (each backed by a service principal with its own
// client id and principal id), their federated identity credentials with
// Azure's limits and validation, and the read-only view of a resource's
// system-assigned identity at {resourceId}/providers/Microsoft.ManagedIdentity/identities/default.
//
// Deleting an identity detaches it from every resource, deletes its
// principal and its federated credentials, and leaves its role assignments
// in place, orphaned, as Azure does.
package msi

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/store"
)

// APIVersions of Microsoft.ManagedIdentity: armmsi sends 2024-11-30 and
// az 2.45 2022-01-31-preview.
var APIVersions = []string{
	"2015-08-31-preview", "2018-11-30", "2021-09-30-preview", "2022-01-31-preview",
	"2023-01-31", "2023-07-31-preview", "2024-11-30", "2025-01-31-preview",
}

// Type names.
const (
	IdentityType  = "Microsoft.ManagedIdentity/userAssignedIdentities"
	FederatedType = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"
	SystemType    = "Microsoft.ManagedIdentity/identities"
)

// Limits from Azure's documentation.
const (
	MaxFederatedCredentials = 20
	maxFederatedFieldLength = 600
	// DefaultAudience is the audience Entra expects in federated tokens.
	DefaultAudience = "api://AzureADTokenExchange"
)

var (
	identityName  = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$`)
	federatedName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$`)
)

func versions() []string { return append([]string(nil), APIVersions...) }

// Register adds the Microsoft.ManagedIdentity types.
func Register(r *arm.Registry) {
	r.Register(
		&arm.Type{
			Name: IdentityType, APIVersions: versions(), Placement: arm.InGroup, Tracked: true,
			Prepare: prepareIdentity, Deleting: deletingIdentity,
		},
		&arm.Type{
			Name: FederatedType, APIVersions: versions(), Placement: arm.ChildOf, Parent: IdentityType,
			NoPatch: true, Prepare: prepareFederated,
		},
		&arm.Type{Name: SystemType, APIVersions: versions(), Placement: arm.Extension, Serve: serveSystemIdentity},
	)
}

func prepareIdentity(c *arm.Call, old, doc arm.Doc) error {
	if old == nil && !identityName.MatchString(doc.Str("name")) {
		return armerr.BadRequest("InvalidResourceName",
			"Resource name '%s' is invalid. The name can contain only letters, numbers, underscores and hyphens. The name must start with a letter or number, and must be between 3 and 128 characters long.", doc.Str("name"))
	}
	in := doc.Obj("properties")
	props := arm.Doc{}
	if old != nil {
		for k, v := range old.Obj("properties") {
			props[k] = v
		}
	} else {
		p := &store.Principal{
			ObjectID:    arm.NewGUID(),
			ClientID:    arm.NewGUID(),
			Kind:        store.KindUserAssigned,
			DisplayName: doc.Str("name"),
			ResourceID:  doc.Str("id"),
		}
		if err := c.Tx.CreatePrincipal(c.Ctx, p); err != nil {
			return err
		}
		props["tenantId"], props["principalId"], props["clientId"] = c.Tenant(), p.ObjectID, p.ClientID
	}
	if scope := in.Str("isolationScope"); scope != "" {
		switch strings.ToLower(scope) {
		case "none":
			props["isolationScope"] = "None"
		case "regional":
			props["isolationScope"] = "Regional"
		default:
			return armerr.BadRequest("InvalidIsolationScope", "The isolation scope '%s' is invalid; use 'None' or 'Regional'.", scope)
		}
	}
	doc["properties"] = props
	return nil
}

func deletingIdentity(c *arm.Call, doc arm.Doc) error {
	id, err := arm.ParseDocID(doc)
	if err != nil {
		return err
	}
	if err := c.DetachIdentity(id); err != nil {
		return err
	}
	p, err := c.Tx.PrincipalByResource(c.Ctx, doc.Str("id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return c.Tx.DeletePrincipal(c.Ctx, p.ObjectID)
}

func prepareFederated(c *arm.Call, old, doc arm.Doc) error {
	name := doc.Str("name")
	if !federatedName.MatchString(name) {
		return armerr.BadRequest("BadRequest",
			"Invalid federated identity credential name '%s'. The name must be 3-120 characters long, start with a letter or number, and contain only letters, numbers, hyphens and underscores.", name)
	}
	in := doc.Obj("properties")
	issuer, subject := in.Str("issuer"), in.Str("subject")
	switch {
	case issuer == "":
		return armerr.BadRequest("BadRequest", "The federated identity credential property 'issuer' is required.")
	case subject == "":
		return armerr.BadRequest("BadRequest", "The federated identity credential property 'subject' is required.")
	case len(issuer) > maxFederatedFieldLength:
		return armerr.BadRequest("BadRequest", "The federated identity credential 'issuer' exceeds the maximum length of %d characters.", maxFederatedFieldLength)
	case len(subject) > maxFederatedFieldLength:
		return armerr.BadRequest("BadRequest", "The federated identity credential 'subject' exceeds the maximum length of %d characters.", maxFederatedFieldLength)
	}
	if u, err := url.Parse(issuer); err != nil || u.Scheme != "https" || u.Host == "" {
		return armerr.BadRequest("BadRequest", "The federated identity credential issuer '%s' is not a valid URL: it must be an absolute https URL.", issuer)
	}
	audiences, ok := in.StrSlice("audiences")
	if _, present := in["audiences"]; !present {
		audiences, ok = []string{DefaultAudience}, true
	}
	if !ok || len(audiences) != 1 || audiences[0] == "" {
		return armerr.BadRequest("BadRequest", "The federated identity credential property 'audiences' must hold exactly one non-empty audience, usually '%s'.", DefaultAudience)
	}
	if len(audiences[0]) > maxFederatedFieldLength {
		return armerr.BadRequest("BadRequest", "The federated identity credential audience exceeds the maximum length of %d characters.", maxFederatedFieldLength)
	}
	id, err := arm.ParseDocID(doc)
	if err != nil {
		return err
	}
	siblings, err := c.Tx.ListResources(c.Ctx, store.ResourceFilter{Type: FederatedType, Parent: id.Parent().String()})
	if err != nil {
		return err
	}
	count := 0
	for _, r := range siblings {
		if strings.EqualFold(r.ID, id.String()) {
			continue
		}
		count++
		sib, err := arm.DecodeDoc(r.Body)
		if err != nil {
			return err
		}
		sp := sib.Obj("properties")
		if sp.Str("issuer") == issuer && sp.Str("subject") == subject {
			return armerr.Conflict("Conflict",
				"A federated identity credential with issuer '%s' and subject '%s' already exists on this identity as '%s'.", issuer, subject, sib.Str("name"))
		}
	}
	if old == nil && count >= MaxFederatedCredentials {
		return armerr.BadRequest("BadRequest",
			"The maximum number of federated identity credentials (%d) has been reached for identity '%s'.", MaxFederatedCredentials, id.Parent().Name())
	}
	props := arm.Doc{"issuer": issuer, "subject": subject, "audiences": []string{audiences[0]}}
	doc["properties"] = props
	for k := range doc {
		switch k {
		case "id", "name", "type", "properties":
		default:
			delete(doc, k)
		}
	}
	return nil
}

// serveSystemIdentity serves GET {resourceId}/providers/Microsoft.ManagedIdentity/identities/default.
func serveSystemIdentity(c *arm.Call) error {
	if c.R.Method != http.MethodGet {
		return armerr.MethodNotAllowed(c.R.Method, SystemType)
	}
	if !strings.EqualFold(c.ID.Name(), "default") {
		return c.NotFound(c.ID)
	}
	target := c.ID.Target()
	if err := c.Authorize(SystemType+"/read", target); err != nil {
		return err
	}
	var out arm.Doc
	err := c.View(func() error {
		doc, err := c.Load(target)
		if err != nil {
			return err
		}
		system, _ := arm.IdentityIDs(doc)
		if !system {
			return c.NotFound(c.ID)
		}
		p, err := c.Tx.PrincipalByResource(c.Ctx, doc.Str("id"))
		if err != nil {
			return err
		}
		out = arm.Doc{
			"id":       doc.Str("id") + "/providers/Microsoft.ManagedIdentity/identities/default",
			"name":     "default",
			"type":     SystemType,
			"location": doc["location"],
			"tags":     doc["tags"],
			"properties": arm.Doc{
				"tenantId":        c.Tenant(),
				"principalId":     p.ObjectID,
				"clientId":        p.ClientID,
				"clientSecretUrl": "https://control-" + doc.Str("location") + ".identity.azure.net" + doc.Str("id") + "/credentials?tid=" + c.Tenant() + "&oid=" + p.ObjectID + "&aid=" + p.ClientID,
			},
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
