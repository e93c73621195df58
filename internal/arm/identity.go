package arm

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/store"
)

// Identity types, as ARM spells them.
const (
	IdentityNone           = "None"
	IdentitySystem         = "SystemAssigned"
	IdentityUser           = "UserAssigned"
	IdentitySystemAndUser  = "SystemAssigned, UserAssigned"
	UserAssignedIdentities = "Microsoft.ManagedIdentity/userAssignedIdentities"
)

// ParseIdentityType normalises an identity type: case-insensitive, with or
// without the space after the comma.
func ParseIdentityType(s string) (system, user bool, err error) {
	norm := strings.ToLower(strings.ReplaceAll(s, " ", ""))
	switch norm {
	case "none", "":
		return false, false, nil
	case "systemassigned":
		return true, false, nil
	case "userassigned":
		return false, true, nil
	case "systemassigned,userassigned", "userassigned,systemassigned":
		return true, true, nil
	}
	return false, false, armerr.BadRequest("InvalidIdentityType",
		"The identity type '%s' is not valid. The supported types are 'SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned' and 'None'.", s)
}

// IdentityTypeString is the inverse of ParseIdentityType.
func IdentityTypeString(system, user bool) string {
	switch {
	case system && user:
		return IdentitySystemAndUser
	case system:
		return IdentitySystem
	case user:
		return IdentityUser
	}
	return IdentityNone
}

// applyIdentity turns the identity block of a PUT or PATCH into the stored
// block: it validates the type, resolves user-assigned identities (which
// must exist, and which the caller must be allowed to assign), and creates
// or releases the system-assigned identity.
func (c *Call) applyIdentity(old, doc Doc, patch bool, identityPatch Doc) error {
	var oldIdent Doc
	if old != nil {
		oldIdent = old.Obj("identity")
	}
	oldSystem, oldUser, _ := ParseIdentityType(oldIdent.Str("type"))
	oldUAIs := map[string]Doc{}    // lower id → entry
	oldKeys := map[string]string{} // lower id → id as stored
	if oldUser {
		for k, v := range oldIdent.Obj("userAssignedIdentities") {
			e, _ := asDoc(v)
			oldUAIs[strings.ToLower(k)] = e
			oldKeys[strings.ToLower(k)] = k
		}
	}

	req := doc.Obj("identity")
	if patch && identityPatch == nil {
		// PATCH without an identity block keeps the identities.
		if oldIdent != nil {
			doc["identity"] = oldIdent
		}
		return nil
	}
	if _, present := doc["identity"]; present && req == nil && doc["identity"] != nil {
		return armerr.InvalidRequestContent("'identity' must be an object")
	}
	typ := req.Str("type")
	if req != nil && typ == "" {
		if _, ok := req["type"]; !ok && len(req.Obj("userAssignedIdentities")) > 0 {
			return armerr.BadRequest("InvalidIdentityType", "The identity type is required when user assigned identities are given.")
		}
	}
	system, user, err := ParseIdentityType(typ)
	if err != nil {
		return err
	}

	// The requested user-assigned set.
	requested := map[string]string{} // lower id → id as sent
	if patch && user {
		for k := range oldUAIs {
			requested[k] = oldKeys[k]
		}
	}
	for k, v := range req.Obj("userAssignedIdentities") {
		if v == nil {
			delete(requested, strings.ToLower(k))
			continue
		}
		if _, ok := asDoc(v); !ok {
			return armerr.InvalidRequestContent(fmt.Sprintf("the value of user assigned identity '%s' must be an object", k))
		}
		requested[strings.ToLower(k)] = k
	}
	if !user && len(requested) > 0 && (!patch || len(req.Obj("userAssignedIdentities")) > 0) {
		return armerr.BadRequest("InvalidIdentityType",
			"The identity type '%s' does not allow user assigned identities; use 'UserAssigned' or 'SystemAssigned, UserAssigned'.", IdentityTypeString(system, user))
	}
	if !user {
		requested = map[string]string{}
	}
	if user && len(requested) == 0 {
		return armerr.BadRequest("InvalidIdentityType",
			"The identity type '%s' requires at least one user assigned identity in 'userAssignedIdentities'.", IdentityTypeString(system, user))
	}

	// Resolve each user-assigned identity.
	keys := make([]string, 0, len(requested))
	for k := range requested {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	uais := Doc{}
	for _, k := range keys {
		sent := requested[k]
		id, err := resourceid.Parse(sent)
		if err != nil || !strings.EqualFold(id.Type(), UserAssignedIdentities) {
			return armerr.BadRequest("InvalidUserAssignedIdentity",
				"The user assigned identity '%s' is not a valid resource id of type '%s'.", sent, UserAssignedIdentities)
		}
		ident, err := c.Get(id)
		if err != nil {
			return err
		}
		if ident == nil {
			return armerr.BadRequest("FailedIdentityOperation",
				"Identity operation for resource '%s' failed with error 'Failed to perform resource identity operation. Status: 'NotFound'. Response: '{\"error\":{\"code\":\"NotFound\",\"message\":\"Resource '%s' does not exist or one of its queried reference-property objects are not present.\"}}'.'",
				doc.Str("id"), sent)
		}
		if _, had := oldUAIs[k]; !had {
			const assign = UserAssignedIdentities + "/assign/action"
			if !c.Can(assign, id) {
				return armerr.LinkedAuthorizationFailed(c.Caller.ClientID, c.Caller.ObjectID,
					c.Type.Permission("write"), doc.Str("id"), assign, id.String())
			}
		}
		props := ident.Obj("properties")
		uais[ident.Str("id")] = Doc{"principalId": props.Str("principalId"), "clientId": props.Str("clientId")}
	}

	out := Doc{"type": IdentityTypeString(system, user)}
	switch {
	case system && oldSystem:
		out["principalId"], out["tenantId"] = oldIdent.Str("principalId"), oldIdent.Str("tenantId")
	case system:
		p := &store.Principal{
			ObjectID:    newGUID(),
			ClientID:    newGUID(),
			Kind:        store.KindSystemAssigned,
			DisplayName: doc.Str("name"),
			ResourceID:  doc.Str("id"),
		}
		if err := c.Tx.CreatePrincipal(c.Ctx, p); err != nil {
			return err
		}
		out["principalId"], out["tenantId"] = p.ObjectID, c.Tenant()
	case oldSystem:
		if err := c.releaseSystemIdentity(old); err != nil {
			return err
		}
	}
	if user {
		out["userAssignedIdentities"] = uais
	}
	if !system && !user {
		delete(doc, "identity")
		return nil
	}
	doc["identity"] = out
	return nil
}

// releaseSystemIdentity deletes the system-assigned identity of a resource
// document, if it has one. Its role assignments stay, orphaned, as in Azure.
func (c *Call) releaseSystemIdentity(doc Doc) error {
	system, _, _ := ParseIdentityType(doc.Obj("identity").Str("type"))
	if !system {
		return nil
	}
	p, err := c.Tx.PrincipalByResource(c.Ctx, doc.Str("id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if p.Kind != store.KindSystemAssigned {
		return nil
	}
	return c.Tx.DeletePrincipal(c.Ctx, p.ObjectID)
}

// DetachIdentity removes a user-assigned identity from every resource in its
// subscription that has it attached, as Azure does when the identity is
// deleted.
func (c *Call) DetachIdentity(identityID resourceid.ID) error {
	key := strings.ToLower(identityID.String())
	for _, t := range c.S.Registry.Types() {
		if t.Identity == NoIdentity {
			continue
		}
		rs, err := c.Tx.ListResources(c.Ctx, store.ResourceFilter{Type: t.Name, Scope: identityID.SubscriptionID().String()})
		if err != nil {
			return err
		}
		for _, r := range rs {
			if !strings.Contains(strings.ToLower(string(r.Body)), key) {
				continue
			}
			doc, err := DecodeDoc(r.Body)
			if err != nil {
				return err
			}
			ident := doc.Obj("identity")
			uais := ident.Obj("userAssignedIdentities")
			k, _, ok := lookupFold(uais, identityID.String())
			if !ok {
				continue
			}
			delete(uais, k)
			system, _, _ := ParseIdentityType(ident.Str("type"))
			if len(uais) == 0 {
				delete(ident, "userAssignedIdentities")
				ident["type"] = IdentityTypeString(system, false)
				if !system {
					delete(doc, "identity")
				}
			}
			body, err := jsonMarshal(doc)
			if err != nil {
				return err
			}
			r.Body, r.Version = body, 0
			if err := c.Tx.PutResource(c.Ctx, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// IdentityIDs returns the user-assigned identity ids attached to a document
// and whether it has a system-assigned identity.
func IdentityIDs(doc Doc) (system bool, user []string) {
	ident := doc.Obj("identity")
	system, _, _ = ParseIdentityType(ident.Str("type"))
	for k := range ident.Obj("userAssignedIdentities") {
		user = append(user, k)
	}
	sort.Strings(user)
	return system, user
}
