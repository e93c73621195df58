package importer

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/authorization"
	"github.com/mimic-emu/mimic/internal/arm/containerservice"
	"github.com/mimic-emu/mimic/internal/arm/msi"
	"github.com/mimic-emu/mimic/internal/arm/resources"
	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/roles"
)

// Item is one document to import: an element of an export, normalized to
// the document ARM returns on GET.
type Item struct {
	Kind Kind `json:"kind"`
	// Source and Index say where it came from, for messages.
	Source string  `json:"source,omitempty"`
	Index  int     `json:"index"`
	Doc    arm.Doc `json:"doc"`
	// PrincipalName is az's principalName of a role assignment, when the
	// export has the field: az sets it to "" when Microsoft Graph has no
	// such principal, which is what makes an assignment orphaned.
	PrincipalName *string `json:"principalName,omitempty"`
	// Flat says the element had its properties at the top level, as az
	// prints them, so that the server's messages name fields as the file
	// spells them.
	Flat bool `json:"flat,omitempty"`
}

// field spells a path of the normalized document as the element's file
// does: without "properties." for az's flattened elements.
func (it *Item) field(path string) string {
	if it.Flat {
		return strings.TrimPrefix(path, "properties.")
	}
	return path
}

// Note is a remark on one element: a warning, or the reason it is skipped.
type Note struct {
	Field string
	// Code groups notes: "builtinRole", "unsupportedCondition"…
	Code string
	Msg  string
	// Skip says the element is not imported.
	Skip bool
}

// Note codes.
const (
	CodeBuiltinRole          = "builtinRole"
	CodeUnsupportedCondition = "unsupportedCondition"
	CodeNoPrincipal          = "noPrincipalId"
	CodeManagementGroup      = "managementGroupScope"
	CodeOrphaned             = "orphanedAssignment"
	CodeMissingIdentity      = "missingIdentity"
	CodeIdentityCreated      = "identityCreated"
	CodeKubeletCreated       = "kubeletIdentityCreated"
	CodePrincipalConflict    = "principalConflict"
	CodeDirectoryPrincipals  = "directoryPrincipals"
	CodePartialExport        = "partialExport"
	CodeRoleMoved            = "roleDefinitionMerged"
)

// Normalize turns one exported element into the document to store. kind is
// what the element is; "" lets the element say (Classify). It returns nil
// and a note with Skip for elements that are not imported, such as
// built-in role definitions. Errors are *FieldError (without the index).
func Normalize(kind Kind, v any) (*Item, []Note, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil, &FieldError{Msg: "not a JSON object but " + describe(v)}
	}
	own := Classify(m)
	switch {
	case kind == "":
		kind = own
	case own != "" && own != kind:
		if t, _ := m["type"].(string); t != "" {
			return nil, nil, &FieldError{Field: "type", Msg: fmt.Sprintf("%q is %s, not %s", t, own.Singular(), kind.Singular())}
		}
		return nil, nil, &FieldError{Msg: fmt.Sprintf("this looks like %s, not %s", own.Singular(), kind.Singular())}
	}
	if kind == "" {
		return nil, nil, &FieldError{Msg: "cannot tell what this document is: it has no \"type\", and none of the fields that mark a role assignment (roleDefinitionId, principalId), a role definition (roleName, permissions), a federated credential (issuer, subject) or a subscription (cloudName); name the file's kind with --kind"}
	}
	if !kind.valid() {
		return nil, nil, &FieldError{Msg: fmt.Sprintf("unknown kind %q", kind)}
	}
	delete(m, arm.Private) // server-only state is never imported
	var (
		doc   arm.Doc
		notes []Note
		err   error
		item  = &Item{Kind: kind}
	)
	switch kind {
	case Subscription:
		doc, err = normalizeSubscription(m)
	case Group:
		doc, err = normalizeGroup(m)
	case RoleDefinition:
		doc, notes, err = normalizeDefinition(m)
	case RoleAssignment:
		doc, notes, err = normalizeAssignment(m)
		if err == nil && doc != nil {
			e := newEl(m)
			if v, present := e.props["principalName"]; present {
				s, _ := v.(string)
				item.PrincipalName = &s
			} else if v, present := m["principalName"]; present {
				s, _ := v.(string)
				item.PrincipalName = &s
			}
		}
	case DenyAssignment:
		doc, err = normalizeDeny(m)
	case FederatedCredential:
		doc, err = normalizeFederated(m)
	default:
		doc, notes, err = normalizeResource(kind, m)
	}
	if err != nil {
		return nil, notes, err
	}
	if doc == nil {
		return nil, notes, nil
	}
	item.Doc = doc
	if _, nested := m["properties"].(map[string]any); !nested && kind != Subscription && kind != Group && kind != DenyAssignment {
		item.Flat = true
	}
	return item, notes, nil
}

// el reads an element that may be in ARM's shape (with "properties") or
// az's flattened one.
type el struct {
	m     map[string]any
	props map[string]any
	flat  bool
}

func newEl(m map[string]any) el {
	if p, ok := m["properties"].(map[string]any); ok {
		return el{m: m, props: p}
	}
	return el{m: m, props: m, flat: true}
}

// path is a property's field path as the file spells it.
func (e el) path(key string) string {
	if e.flat {
		return key
	}
	return "properties." + key
}

// str reads a string property: "" if absent or null, an error if it is
// something else.
func (e el) str(key string) (string, error) {
	return strField(e.props, key, e.path(key))
}

func strField(m map[string]any, key, path string) (string, error) {
	switch v := m[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", &FieldError{Field: path, Msg: "not a string but " + describe(v)}
	}
}

// strSlice reads an array of strings; absent or null is nil.
func strSlice(m map[string]any, key, path string) ([]string, error) {
	switch v := m[key].(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]string, 0, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, &FieldError{Field: fmt.Sprintf("%s[%d]", path, i), Msg: "not a string but " + describe(e)}
			}
			out = append(out, s)
		}
		return out, nil
	case []string:
		return v, nil
	default:
		return nil, &FieldError{Field: path, Msg: "not an array but " + describe(v)}
	}
}

// idAndName reads an element's id and name, either of which may be absent.
func idAndName(m map[string]any) (string, string, error) {
	id, err := strField(m, "id", "id")
	if err != nil {
		return "", "", err
	}
	name, err := strField(m, "name", "name")
	return id, name, err
}

func missing(path string) error { return &FieldError{Field: path, Msg: "missing"} }

func requireGUID(e el, key string) (string, error) {
	s, err := e.str(key)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", missing(e.path(key))
	}
	if !authorization.IsGUID(s) {
		return "", &FieldError{Field: e.path(key), Msg: fmt.Sprintf("%q is not a GUID", s)}
	}
	return s, nil
}

// parseID reads and parses the element's id.
func parseID(m map[string]any) (string, resourceid.ID, error) {
	id, err := strField(m, "id", "id")
	if err != nil {
		return "", resourceid.ID{}, err
	}
	if id == "" {
		return "", resourceid.ID{}, missing("id")
	}
	rid, err := resourceid.Parse(id)
	if err != nil {
		return "", rid, &FieldError{Field: "id", Msg: fmt.Sprintf("%q is not a resource id: %s", id, reason(err))}
	}
	return id, rid, nil
}

func reason(err error) string {
	if re, ok := err.(*resourceid.Error); ok {
		return re.Reason
	}
	return err.Error()
}

// canonicalType returns the type of a resource id in mimic's casing for the
// types it serves, and in the id's casing otherwise (Resource Graph prints
// types in lower case; ids keep their case).
func canonicalType(rid resourceid.ID) string {
	t := rid.Type()
	if c, ok := canonicalTypes[strings.ToLower(t)]; ok {
		return c
	}
	return t
}

// envelope are the top-level keys of ARM documents; everything else a
// flattened az document has at the top level is a property.
var envelope = map[string]bool{
	"id": true, "name": true, "type": true, "location": true, "tags": true, "identity": true, "kind": true,
	"sku": true, "plan": true, "zones": true, "managedBy": true, "etag": true, "extendedLocation": true,
	"resources": true, "properties": true,
}

// derived are the top-level keys exports add that ARM documents do not
// have: az derives resourceGroup from the id, Resource Graph adds
// subscriptionId and tenantId, `az resource list` the listing's times.
var derived = map[string]bool{
	"resourceGroup": true, "subscriptionId": true, "changedTime": true, "createdTime": true, "systemData": true,
}

// unflatten builds an ARM document's envelope and properties from an
// element in either shape; nulls are dropped.
func unflatten(m map[string]any) arm.Doc {
	out := arm.Doc{}
	props := arm.Doc{}
	nested, isNested := m["properties"].(map[string]any)
	for k, v := range m {
		switch {
		case v == nil || k == "properties" || derived[k]:
		case envelope[k]:
			out[k] = v
		case !isNested:
			props[k] = v
		}
	}
	for k, v := range nested {
		if v != nil {
			props[k] = v
		}
	}
	if len(props) > 0 {
		dropNulls(props)
		out["properties"] = props
	}
	// Empty strings where ARM has nothing (Resource Graph prints "" for
	// unset kind and managedBy).
	for _, k := range []string{"kind", "managedBy"} {
		if s, ok := out[k].(string); ok && s == "" {
			delete(out, k)
		}
	}
	return out
}

// dropNulls removes null members of objects at every depth: az prints
// every attribute its models have, ARM only those that are set.
func dropNulls(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
			} else {
				dropNulls(e)
			}
		}
	case arm.Doc:
		dropNulls(map[string]any(x))
	case []any:
		for _, e := range x {
			dropNulls(e)
		}
	}
}

// normalizeResource normalizes a tracked resource: identities, compute and
// everything else.
func normalizeResource(kind Kind, m map[string]any) (arm.Doc, []Note, error) {
	id, rid, err := parseID(m)
	if err != nil {
		return nil, nil, err
	}
	if !rid.IsResource() {
		return nil, nil, &FieldError{Field: "id", Msg: fmt.Sprintf("%q is not the id of a resource", id)}
	}
	typ := canonicalType(rid)
	if t, err := strField(m, "type", "type"); err != nil {
		return nil, nil, err
	} else if t != "" && !strings.EqualFold(t, typ) {
		return nil, nil, &FieldError{Field: "type", Msg: fmt.Sprintf("%q does not match the id, which names a %s", t, typ)}
	}
	if kindOfType(typ) != kind {
		return nil, nil, &FieldError{Field: "id", Msg: fmt.Sprintf("%q is %s, not %s", id, kindOfType(typ).Singular(), kind.Singular())}
	}
	doc := unflatten(m)
	doc["id"], doc["type"] = id, typ
	if n, err := strField(m, "name", "name"); err != nil {
		return nil, nil, err
	} else if n == "" {
		doc["name"] = rid.Name()
	}
	if _, err := strField(m, "location", "location"); err != nil {
		return nil, nil, err
	}
	if err := checkTags(m); err != nil {
		return nil, nil, err
	}
	var notes []Note
	if v, ok := m["identity"]; ok && v != nil {
		ident, n, err := normalizeIdentityBlock(v)
		if err != nil {
			return nil, nil, err
		}
		notes = append(notes, n...)
		if ident == nil {
			delete(doc, "identity")
		} else {
			doc["identity"] = ident
		}
	}
	e := newEl(m)
	switch kind {
	case Identity:
		// `az resource list` shows identities without their ids; the
		// server warns if no export gives them.
		for _, k := range []string{"principalId", "clientId"} {
			if s, err := e.str(k); err != nil {
				return nil, nil, err
			} else if s != "" && !authorization.IsGUID(s) {
				return nil, nil, &FieldError{Field: e.path(k), Msg: fmt.Sprintf("%q is not a GUID", s)}
			}
		}
		if _, err := e.str("tenantId"); err != nil {
			return nil, nil, err
		}
	case Cluster:
		if err := normalizeCluster(e, doc); err != nil {
			return nil, nil, err
		}
	}
	return doc, notes, nil
}

func checkTags(m map[string]any) error {
	switch t := m["tags"].(type) {
	case nil:
		return nil
	case map[string]any:
		for k, v := range t {
			if _, ok := v.(string); !ok && v != nil {
				return &FieldError{Field: "tags." + k, Msg: "not a string but " + describe(v)}
			}
		}
		return nil
	default:
		return &FieldError{Field: "tags", Msg: "not an object but " + describe(t)}
	}
}

// normalizeIdentityBlock checks a resource's "identity" and returns it in
// ARM's shape, or nil for "None".
func normalizeIdentityBlock(v any) (arm.Doc, []Note, error) {
	in, ok := v.(map[string]any)
	if !ok {
		return nil, nil, &FieldError{Field: "identity", Msg: "not an object but " + describe(v)}
	}
	typ, err := strField(in, "type", "identity.type")
	if err != nil {
		return nil, nil, err
	}
	system, user, perr := arm.ParseIdentityType(typ)
	if perr != nil {
		return nil, nil, &FieldError{Field: "identity.type", Msg: fmt.Sprintf("%q is not an identity type: use SystemAssigned, UserAssigned, \"SystemAssigned, UserAssigned\" or None", typ)}
	}
	if !system && !user {
		return nil, nil, nil
	}
	out := arm.Doc{"type": typ}
	var notes []Note
	for _, k := range []string{"principalId", "tenantId"} {
		s, err := strField(in, k, "identity."+k)
		if err != nil {
			return nil, nil, err
		}
		if s != "" {
			out[k] = s
		}
	}
	if system {
		if p := out.Str("principalId"); p == "" {
			notes = append(notes, Note{Field: "identity.principalId", Code: CodeNoPrincipal,
				Msg: "missing: the system-assigned identity cannot be imported without its principal id"})
		} else if !authorization.IsGUID(p) {
			return nil, nil, &FieldError{Field: "identity.principalId", Msg: fmt.Sprintf("%q is not a GUID", p)}
		}
	}
	switch uais := in["userAssignedIdentities"].(type) {
	case nil:
		if user {
			notes = append(notes, Note{Field: "identity.userAssignedIdentities", Code: CodeMissingIdentity,
				Msg: fmt.Sprintf("missing, though the identity type is %q: no user-assigned identity is imported for it", typ)})
		}
	case map[string]any:
		keys := make([]string, 0, len(uais))
		for k := range uais {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ua := arm.Doc{}
		for _, k := range keys {
			field := fmt.Sprintf("identity.userAssignedIdentities[%q]", k)
			rid, err := resourceid.Parse(k)
			if err != nil || !strings.EqualFold(rid.Type(), msi.IdentityType) {
				return nil, nil, &FieldError{Field: field, Msg: "not the id of a user-assigned identity"}
			}
			entry := arm.Doc{}
			switch e := uais[k].(type) {
			case nil:
			case map[string]any:
				for _, f := range []string{"principalId", "clientId"} {
					s, err := strField(e, f, field+"."+f)
					if err != nil {
						return nil, nil, err
					}
					if s != "" && !authorization.IsGUID(s) {
						return nil, nil, &FieldError{Field: field + "." + f, Msg: fmt.Sprintf("%q is not a GUID", s)}
					}
					if s != "" {
						entry[f] = s
					}
				}
			default:
				return nil, nil, &FieldError{Field: field, Msg: "not an object but " + describe(e)}
			}
			ua[k] = entry
		}
		if len(ua) > 0 {
			out["userAssignedIdentities"] = ua
		}
	default:
		return nil, nil, &FieldError{Field: "identity.userAssignedIdentities", Msg: "not an object but " + describe(uais)}
	}
	return out, notes, nil
}

// clusterRenames are the AKS properties az spells differently from ARM
// (its snake_case attribute names camel-cased): lower-case az name → ARM
// name, at each path.
var clusterRenames = []struct {
	parent []string
	from   []string
	to     string
}{
	{parent: []string{"oidcIssuerProfile"}, from: []string{"issuerurl", "issueruri"}, to: "issuerURL"},
	{parent: nil, from: []string{"enablerbac"}, to: "enableRBAC"},
	{parent: nil, from: []string{"azureportalfqdn"}, to: "azurePortalFQDN"},
	{parent: []string{"aadProfile"}, from: []string{"enableazurerbac"}, to: "enableAzureRBAC"},
}

// normalizeCluster renames az's spellings and checks the kubelet identity.
func normalizeCluster(e el, doc arm.Doc) error {
	p := doc.Obj("properties")
	if p == nil {
		return nil
	}
	for _, r := range clusterRenames {
		obj := p
		for _, k := range r.parent {
			obj = obj.Obj(k)
		}
		if obj == nil {
			continue
		}
		for k, v := range obj {
			for _, f := range r.from {
				if strings.ToLower(k) == f && k != r.to {
					delete(obj, k)
					obj[r.to] = v
				}
			}
		}
	}
	if ip, ok := p["identityProfile"]; ok && ip != nil {
		ipm, ok := ip.(map[string]any)
		if !ok {
			return &FieldError{Field: e.path("identityProfile"), Msg: "not an object but " + describe(ip)}
		}
		if k, ok := ipm[containerservice.KubeletIdentityKey]; ok && k != nil {
			field := e.path("identityProfile." + containerservice.KubeletIdentityKey)
			km, ok := k.(map[string]any)
			if !ok {
				return &FieldError{Field: field, Msg: "not an object but " + describe(k)}
			}
			rid, _ := strField(km, "resourceId", "")
			if id, err := resourceid.Parse(rid); rid != "" && (err != nil || !strings.EqualFold(id.Type(), msi.IdentityType)) {
				return &FieldError{Field: field + ".resourceId", Msg: fmt.Sprintf("%q is not the id of a user-assigned identity", rid)}
			}
			for _, f := range []string{"clientId", "objectId"} {
				if s, _ := km[f].(string); s != "" && !authorization.IsGUID(s) {
					return &FieldError{Field: field + "." + f, Msg: fmt.Sprintf("%q is not a GUID", s)}
				}
			}
		}
	}
	return nil
}

// normalizeFederated normalizes a federated identity credential: az
// prints issuer, subject and audiences at the top level.
func normalizeFederated(m map[string]any) (arm.Doc, error) {
	id, rid, err := parseID(m)
	if err != nil {
		if fe, ok := err.(*FieldError); ok && fe.Msg == "missing" {
			fe.Msg = "missing: a federated credential's id names its identity (`az identity federated-credential list` prints it)"
		}
		return nil, err
	}
	if !strings.EqualFold(rid.Type(), msi.FederatedType) {
		return nil, &FieldError{Field: "id", Msg: fmt.Sprintf("%q is not the id of a federated identity credential (…/userAssignedIdentities/{identity}/federatedIdentityCredentials/{name})", id)}
	}
	e := newEl(m)
	issuer, err := e.str("issuer")
	if err != nil {
		return nil, err
	}
	subject, err := e.str("subject")
	if err != nil {
		return nil, err
	}
	if issuer == "" {
		return nil, missing(e.path("issuer"))
	}
	if subject == "" {
		return nil, missing(e.path("subject"))
	}
	aud, err := strSlice(e.props, "audiences", e.path("audiences"))
	if err != nil {
		return nil, err
	}
	if len(aud) == 0 {
		aud = []string{msi.DefaultAudience}
	}
	return arm.Doc{
		"id": id, "name": rid.Name(), "type": msi.FederatedType,
		"properties": arm.Doc{"issuer": issuer, "subject": subject, "audiences": aud},
	}, nil
}

// assignmentProps are the properties of a role assignment document.
var assignmentProps = []string{
	"roleDefinitionId", "principalId", "principalType", "scope", "condition", "conditionVersion", "description",
	"createdOn", "updatedOn", "createdBy", "updatedBy", "delegatedManagedIdentityResourceId",
}

// principalTypes are the principal types ARM shows, in its casing.
var principalTypes = append([]string{authorization.OrphanedType}, authorization.PrincipalTypes...)

// normalizeAssignment normalizes a role assignment: az ≥ 2.30 prints its
// properties flattened, with principalName and roleDefinitionName added;
// ARM, Resource Graph and older az nest them in "properties".
func normalizeAssignment(m map[string]any) (arm.Doc, []Note, error) {
	e := newEl(m)
	roleDef, err := e.str("roleDefinitionId")
	if err != nil {
		return nil, nil, err
	}
	if roleDef == "" {
		return nil, nil, missing(e.path("roleDefinitionId"))
	}
	if !authorization.IsGUID(authorization.RoleGUID(roleDef)) {
		return nil, nil, &FieldError{Field: e.path("roleDefinitionId"), Msg: fmt.Sprintf("%q does not end in a role definition GUID", roleDef)}
	}
	if _, err := requireGUID(e, "principalId"); err != nil {
		return nil, nil, err
	}
	scopeStr, err := e.str("scope")
	if err != nil {
		return nil, nil, err
	}
	id, name, err := idAndName(m)
	if err != nil {
		return nil, nil, err
	}
	const marker = "/providers/microsoft.authorization/roleassignments/"
	var scope resourceid.ID
	switch {
	case scopeStr != "":
		if scope, err = resourceid.Parse(scopeStr); err != nil {
			return nil, nil, &FieldError{Field: e.path("scope"), Msg: fmt.Sprintf("%q is not a scope: %s", scopeStr, reason(err))}
		}
	case id != "":
		i := strings.LastIndex(strings.ToLower(id), marker)
		if i < 0 {
			return nil, nil, missing(e.path("scope"))
		}
		scopeStr = id[:i]
		if scopeStr == "" {
			scopeStr = "/"
		}
		if scope, err = resourceid.Parse(scopeStr); err != nil {
			return nil, nil, &FieldError{Field: "id", Msg: fmt.Sprintf("%q is not a role assignment id: %s", id, reason(err))}
		}
	default:
		return nil, nil, missing(e.path("scope"))
	}
	switch {
	case id == "" && name == "":
		return nil, nil, missing("id")
	case id == "":
		if !authorization.IsGUID(name) {
			return nil, nil, &FieldError{Field: "name", Msg: fmt.Sprintf("%q is not a GUID", name)}
		}
		id = scope.Extension("Microsoft.Authorization", "roleAssignments", name).String()
	}
	rid, err := resourceid.Parse(id)
	if err != nil {
		return nil, nil, &FieldError{Field: "id", Msg: fmt.Sprintf("%q is not a resource id: %s", id, reason(err))}
	}
	if !strings.EqualFold(rid.Type(), authorization.AssignmentType) || !authorization.IsGUID(rid.Name()) {
		return nil, nil, &FieldError{Field: "id", Msg: fmt.Sprintf("%q is not a role assignment id ({scope}/providers/Microsoft.Authorization/roleAssignments/{guid})", id)}
	}
	if !rid.Target().Equal(scope) {
		return nil, nil, &FieldError{Field: e.path("scope"), Msg: fmt.Sprintf("%q, but the id %q is at %q", scopeStr, id, rid.Target().String())}
	}
	props := arm.Doc{}
	for _, k := range assignmentProps {
		v, err := e.str(k)
		if err != nil {
			return nil, nil, err
		}
		if v != "" {
			props[k] = v
		}
	}
	props["scope"] = scopeStr
	if pt := props.Str("principalType"); pt != "" {
		for _, t := range principalTypes {
			if strings.EqualFold(t, pt) {
				props["principalType"] = t
			}
		}
	}
	doc := arm.Doc{"id": id, "name": rid.Name(), "type": authorization.AssignmentType, "properties": props}
	var notes []Note
	if cond := props.Str("condition"); cond != "" {
		if _, err := authz.ParseCondition(cond, props.Str("conditionVersion")); err != nil {
			return nil, []Note{{Field: e.path("condition"), Code: CodeUnsupportedCondition, Skip: true,
				Msg: fmt.Sprintf("mimic cannot evaluate this condition (%s), so the assignment is not imported", err)}}, nil
		}
	} else if props.Str("conditionVersion") != "" {
		delete(props, "conditionVersion")
	}
	if len(scope.Providers) > 0 && scope.Subscription == "" && strings.EqualFold(scope.Providers[0].Namespace, "Microsoft.Management") {
		notes = append(notes, Note{Field: e.path("scope"), Code: CodeManagementGroup,
			Msg: fmt.Sprintf("%q is a management group: mimic has no management group hierarchy, so the assignment is kept but grants nothing below it", scopeStr)})
	}
	return doc, notes, nil
}

// normalizeDefinition normalizes a role definition; built-in roles are
// skipped (mimic embeds Azure's catalogue). az prints roleName, roleType
// and permissions at the top level; ARM has them in "properties", with the
// role's type as "type".
func normalizeDefinition(m map[string]any) (arm.Doc, []Note, error) {
	e := newEl(m)
	roleName, err := e.str("roleName")
	if err != nil {
		return nil, nil, err
	}
	roleType := ""
	if e.flat {
		roleType, err = e.str("roleType")
	} else {
		roleType, err = e.str("type")
	}
	if err != nil {
		return nil, nil, err
	}
	id, name, err := idAndName(m)
	if err != nil {
		return nil, nil, err
	}
	guid := name
	if id != "" {
		rid, err := resourceid.Parse(id)
		if err != nil || !strings.EqualFold(rid.Type(), authorization.DefinitionType) || !authorization.IsGUID(rid.Name()) {
			return nil, nil, &FieldError{Field: "id", Msg: fmt.Sprintf("%q is not a role definition id ({scope}/providers/Microsoft.Authorization/roleDefinitions/{guid})", id)}
		}
		guid = rid.Name()
	}
	if guid == "" {
		return nil, nil, missing("id")
	}
	if !authorization.IsGUID(guid) {
		return nil, nil, &FieldError{Field: "name", Msg: fmt.Sprintf("%q is not a GUID", guid)}
	}
	guid = strings.ToLower(guid)
	if _, builtin := roles.ByID(guid); builtin || strings.EqualFold(roleType, "BuiltInRole") {
		return nil, []Note{{Code: CodeBuiltinRole, Skip: true, Msg: fmt.Sprintf("built-in role %q: mimic has Azure's built-in roles already", roleName)}}, nil
	}
	if roleName == "" {
		return nil, nil, missing(e.path("roleName"))
	}
	if id == "" {
		id = "/providers/" + authorization.DefinitionType + "/" + guid
	}
	scopes, err := strSlice(e.props, "assignableScopes", e.path("assignableScopes"))
	if err != nil {
		return nil, nil, err
	}
	if len(scopes) == 0 {
		return nil, nil, missing(e.path("assignableScopes"))
	}
	for i, s := range scopes {
		if _, err := resourceid.Parse(s); err != nil {
			return nil, nil, &FieldError{Field: fmt.Sprintf("%s[%d]", e.path("assignableScopes"), i), Msg: fmt.Sprintf("%q is not a scope: %s", s, reason(err))}
		}
	}
	rawPerms, ok := e.props["permissions"].([]any)
	if !ok {
		if e.props["permissions"] == nil {
			return nil, nil, missing(e.path("permissions"))
		}
		return nil, nil, &FieldError{Field: e.path("permissions"), Msg: "not an array but " + describe(e.props["permissions"])}
	}
	perms := make([]any, 0, len(rawPerms))
	for i, rp := range rawPerms {
		field := fmt.Sprintf("%s[%d]", e.path("permissions"), i)
		pm, ok := rp.(map[string]any)
		if !ok {
			return nil, nil, &FieldError{Field: field, Msg: "not an object but " + describe(rp)}
		}
		p := arm.Doc{}
		for _, k := range []string{"actions", "notActions", "dataActions", "notDataActions"} {
			list, err := strSlice(pm, k, field+"."+k)
			if err != nil {
				return nil, nil, err
			}
			if list == nil {
				list = []string{}
			}
			p[k] = list
		}
		cond, err := strField(pm, "condition", field+".condition")
		if err != nil {
			return nil, nil, err
		}
		if cond != "" {
			ver, _ := pm["conditionVersion"].(string)
			if _, err := authz.ParseCondition(cond, ver); err != nil {
				return nil, []Note{{Field: field + ".condition", Code: CodeUnsupportedCondition, Skip: true,
					Msg: fmt.Sprintf("mimic cannot evaluate this condition (%s), so the role %q is not imported", err, roleName)}}, nil
			}
			p["condition"], p["conditionVersion"] = cond, ver
		}
		perms = append(perms, p)
	}
	props := arm.Doc{
		"roleName": roleName, "type": "CustomRole", "assignableScopes": scopes, "permissions": perms,
	}
	for _, k := range []string{"description", "createdOn", "updatedOn", "createdBy", "updatedBy"} {
		if s, _ := e.props[k].(string); s != "" {
			props[k] = s
		}
	}
	return arm.Doc{"id": id, "name": guid, "type": authorization.DefinitionType, "properties": props}, nil, nil
}

// normalizeDeny checks a deny assignment (ARM's shape; Azure has no az
// command for them) as authorization.LoadDenyAssignments will.
func normalizeDeny(m map[string]any) (arm.Doc, error) {
	name, err := strField(m, "name", "name")
	if err != nil {
		return nil, err
	}
	p, ok := m["properties"].(map[string]any)
	if !ok {
		return nil, missing("properties")
	}
	id, _ := m["id"].(string)
	if name == "" && id != "" {
		if rid, err := resourceid.Parse(id); err == nil {
			name = rid.Name()
		}
	}
	if !authorization.IsGUID(name) {
		return nil, &FieldError{Field: "name", Msg: fmt.Sprintf("%q is not a GUID", name)}
	}
	scope, err := strField(p, "scope", "properties.scope")
	if err != nil {
		return nil, err
	}
	if scope == "" {
		return nil, missing("properties.scope")
	}
	if _, err := resourceid.Parse(scope); err != nil {
		return nil, &FieldError{Field: "properties.scope", Msg: fmt.Sprintf("%q is not a scope: %s", scope, reason(err))}
	}
	for _, key := range []string{"principals", "excludePrincipals"} {
		list, isList := p[key].([]any)
		if p[key] != nil && !isList {
			return nil, &FieldError{Field: "properties." + key, Msg: "not an array but " + describe(p[key])}
		}
		if key == "principals" && len(list) == 0 {
			return nil, &FieldError{Field: "properties.principals", Msg: "missing: a deny assignment needs at least one principal (" + authorization.Everyone + " is everyone)"}
		}
		for j, e := range list {
			em, _ := e.(map[string]any)
			if s, _ := em["id"].(string); !authorization.IsGUID(s) {
				return nil, &FieldError{Field: fmt.Sprintf("properties.%s[%d].id", key, j), Msg: "not a GUID"}
			}
		}
	}
	perms, _ := p["permissions"].([]any)
	if len(perms) == 0 {
		return nil, &FieldError{Field: "properties.permissions", Msg: "missing: a deny assignment needs at least one permission block"}
	}
	if _, ok := p["condition"]; ok {
		return nil, &FieldError{Field: "properties.condition", Msg: "conditions on deny assignments are not supported"}
	}
	doc := arm.Doc{"name": strings.ToLower(name), "type": authorization.DenyType, "properties": p}
	if id != "" {
		doc["id"] = id
	}
	return doc, nil
}

// normalizeSubscription reads a subscription: `az account list` prints
// {id: guid, name: display name, tenantId, state}; ARM {id:
// /subscriptions/guid, subscriptionId, displayName}; Resource Graph's
// resourcecontainers {id, name: display name, subscriptionId, properties}.
func normalizeSubscription(m map[string]any) (arm.Doc, error) {
	id, err := strField(m, "id", "id")
	if err != nil {
		return nil, err
	}
	sub, err := strField(m, "subscriptionId", "subscriptionId")
	if err != nil {
		return nil, err
	}
	switch {
	case authorization.IsGUID(id):
		sub = id
	case id != "":
		rid, err := resourceid.Parse(id)
		if err != nil || !rid.IsSubscription() {
			return nil, &FieldError{Field: "id", Msg: fmt.Sprintf("%q is not a subscription id", id)}
		}
		sub = rid.Subscription
	case sub == "":
		return nil, missing("id")
	}
	if !authorization.IsGUID(sub) {
		return nil, &FieldError{Field: "subscriptionId", Msg: fmt.Sprintf("%q is not a GUID", sub)}
	}
	display, err := strField(m, "displayName", "displayName")
	if err != nil {
		return nil, err
	}
	if display == "" {
		if n, _ := m["name"].(string); n != "" && !strings.EqualFold(n, sub) {
			display = n
		}
	}
	tenant, _ := m["tenantId"].(string)
	doc := resources.SubscriptionDoc(sub, tenant, display)
	state, _ := m["state"].(string)
	if state == "" {
		if p, ok := m["properties"].(map[string]any); ok {
			state, _ = p["state"].(string)
		}
	}
	if state != "" {
		doc["state"] = state
	}
	if err := checkTags(m); err != nil {
		return nil, err
	}
	if t, ok := m["tags"].(map[string]any); ok {
		doc["tags"] = t
	}
	return doc, nil
}

// normalizeGroup reads a resource group (`az group list`, ARM, Resource
// Graph's resourcecontainers).
func normalizeGroup(m map[string]any) (arm.Doc, error) {
	id, rid, err := parseID(m)
	if err != nil {
		return nil, err
	}
	if !rid.IsResourceGroup() {
		return nil, &FieldError{Field: "id", Msg: fmt.Sprintf("%q is not a resource group id", id)}
	}
	loc, err := strField(m, "location", "location")
	if err != nil {
		return nil, err
	}
	if err := checkTags(m); err != nil {
		return nil, err
	}
	doc := arm.Doc{"id": id, "name": rid.ResourceGroup, "type": groupType, "properties": arm.Doc{"provisioningState": "Succeeded"}}
	if loc != "" {
		doc["location"] = loc
	}
	if t, ok := m["tags"].(map[string]any); ok {
		doc["tags"] = t
	}
	if mb, _ := m["managedBy"].(string); mb != "" {
		doc["managedBy"] = mb
	}
	return doc, nil
}

// marshal encodes a document.
func marshal(d arm.Doc) ([]byte, error) { return json.Marshal(d) }
