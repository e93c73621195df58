package arm

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/store"
)

// Placement says where resources of a type live.
type Placement int

const (
	// InGroup: top-level resources in a resource group.
	InGroup Placement = iota
	// ChildOf: nested under a resource of the type named by Type.Parent.
	ChildOf
	// Extension: attached to any scope (tenant, subscription, group or
	// resource), like role assignments.
	Extension
	// Custom: the type's handlers resolve everything themselves.
	Custom
)

// IdentityMode says which managed identities a type supports.
type IdentityMode int

const (
	NoIdentity IdentityMode = iota
	SystemAndUserIdentity
)

// Type describes a resource type to the generic pipeline.
type Type struct {
	// Name is the full type in canonical casing, e.g.
	// "Microsoft.ManagedIdentity/userAssignedIdentities".
	Name string
	// APIVersions lists the api-versions the type accepts.
	APIVersions []string
	Placement   Placement
	// Parent is the full type of the parent of a ChildOf type.
	Parent string
	// Tracked types have a required location and are listed by
	// subscription and group.
	Tracked bool
	// NoPatch rejects PATCH with 405.
	NoPatch bool
	// Identity enables the managed identity block.
	Identity IdentityMode
	// CreatedStatus is the status of a PUT that creates (default 201).
	// Some providers answer 200, and their SDKs accept nothing else.
	CreatedStatus int
	// DeletedStatus is the status of a DELETE that deleted (default 200).
	DeletedStatus int
	// NameTaken, when set, makes the type's names unique across every
	// subscription and group, as DNS-named resources are (vaults, storage
	// accounts, sites); a create whose name is taken gets its error.
	NameTaken func(name string) error
	// CompactIdentityType spells the combined identity type without the
	// space ("SystemAssigned,UserAssigned"), as some providers do.
	CompactIdentityType bool
	// PermissionBase replaces Name as the prefix of the type's RBAC
	// actions, for types whose actions Azure names differently (resource
	// groups: "Microsoft.Resources/subscriptions/resourceGroups/read").
	PermissionBase string
	// Kinds restricts the "kind" property when non-empty (compared
	// case-insensitively, stored in the listed casing).
	Kinds []string

	// Prepare validates a PUT or PATCH body merged into the stored shape
	// and fills server-side properties. old is nil on create. It runs in
	// the write transaction, after the identity block is applied.
	Prepare func(c *Call, old, doc Doc) error
	// Saved runs after the document is stored, in the same transaction.
	Saved func(c *Call, old, doc Doc) error
	// Deleting runs before a resource of this type is deleted, in the
	// same transaction, including deletes that cascade from a parent or a
	// resource group.
	Deleting func(c *Call, doc Doc) error
	// Present adjusts a stored document for a response (hides secrets,
	// adds computed fields). It must not modify doc.
	Present func(c *Call, doc Doc) Doc
	// Actions are operations on a resource addressed by one extra path
	// segment: ".../{id}/{name}", such as listKeys or runCommand. Keys
	// are lower-case.
	Actions map[string]*Action

	// Operation serves POST on the type's collection path, for provider
	// operations addressed like a collection, such as
	// /subscriptions/{s}/providers/Microsoft.Web/checknameavailability.
	Operation func(c *Call) error

	// Serve replaces the generic pipeline entirely for this type.
	Serve func(c *Call) error
	// List replaces the generic listing of this type's collection.
	List func(c *Call) error
}

// Action is an operation on a resource addressed by one extra path segment.
type Action struct {
	// Permission is the RBAC action the caller needs, e.g.
	// "Microsoft.Storage/storageAccounts/listkeys/action". An empty
	// permission is derived from the type and the action name.
	Permission string
	// Methods lists the allowed HTTP methods; empty means POST.
	Methods []string
	// Handle runs inside a write transaction with the stored resource.
	Handle func(c *Call, doc Doc) error
}

func (a *Action) allows(method string) bool {
	if len(a.Methods) == 0 {
		return method == http.MethodPost
	}
	return slices.Contains(a.Methods, method)
}

// Namespace returns the provider namespace of the type.
func (t *Type) Namespace() string {
	ns, _, _ := strings.Cut(t.Name, "/")
	return ns
}

// Leaf returns the last segment of the type, e.g. "userAssignedIdentities".
func (t *Type) Leaf() string { return t.Name[strings.LastIndexByte(t.Name, '/')+1:] }

// Supports reports whether the type accepts an api-version.
func (t *Type) Supports(version string) bool {
	return slices.Contains(t.APIVersions, strings.ToLower(version))
}

// Permission returns the RBAC action for an operation on the type:
// "read", "write", "delete" or "{action}/action".
func (t *Type) Permission(op string) string {
	if t.PermissionBase != "" {
		return t.PermissionBase + "/" + op
	}
	return t.Name + "/" + op
}

// Registry maps full types to their descriptions.
type Registry struct {
	types      map[string]*Type
	namespaces map[string]string // lower → canonical
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{types: map[string]*Type{}, namespaces: map[string]string{}}
}

// Register adds types; a duplicate name panics, being a programming error.
func (r *Registry) Register(types ...*Type) {
	for _, t := range types {
		k := strings.ToLower(t.Name)
		if _, dup := r.types[k]; dup {
			panic("arm: type registered twice: " + t.Name)
		}
		for i, v := range t.APIVersions {
			t.APIVersions[i] = strings.ToLower(v)
		}
		r.types[k] = t
		r.namespaces[strings.ToLower(t.Namespace())] = t.Namespace()
	}
}

// Lookup finds a type by full name, case-insensitively.
func (r *Registry) Lookup(name string) *Type { return r.types[strings.ToLower(name)] }

// HasNamespace reports whether any type lives in a namespace.
func (r *Registry) HasNamespace(ns string) bool {
	_, ok := r.namespaces[strings.ToLower(ns)]
	return ok
}

// Types returns every registered type.
func (r *Registry) Types() []*Type {
	out := make([]*Type, 0, len(r.types))
	for _, t := range r.types {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *Type) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Canonical rewrites an id with the registry's casing of namespaces and
// types; names keep their case.
func (r *Registry) Canonical(id resourceid.ID) resourceid.ID {
	out := resourceid.ID{Subscription: id.Subscription, ResourceGroup: id.ResourceGroup}
	for _, p := range id.Providers {
		cp := resourceid.Provider{Names: append([]string(nil), p.Names...)}
		full := p.Namespace
		if ns, ok := r.namespaces[strings.ToLower(p.Namespace)]; ok {
			cp.Namespace = ns
			full = ns
		} else {
			cp.Namespace = p.Namespace
		}
		for _, typ := range p.Types {
			full += "/" + typ
			if t := r.Lookup(full); t != nil {
				typ = t.Leaf()
				full = t.Name
			}
			cp.Types = append(cp.Types, typ)
		}
		out.Providers = append(out.Providers, cp)
	}
	return out
}

// Call is one ARM request in flight.
type Call struct {
	Ctx        context.Context
	W          http.ResponseWriter
	R          *http.Request
	S          *Server
	Caller     *Caller
	APIVersion string
	// ID is the resource addressed, or the scope of a collection.
	ID resourceid.ID
	// Type is the resource type addressed or listed.
	Type *Type
	// Tx is the transaction of the operation, once one is open.
	Tx store.Tx
	// Body is the raw request body.
	Body []byte
	// Namespace is the provider namespace of a provider registration
	// request (/subscriptions/{s}/providers/{namespace}).
	Namespace string

	rbacChanged bool
	// decisions are the request's authorization decisions, for the
	// access log.
	decisions []decided
}

// Tenant returns the tenant id.
func (c *Call) Tenant() string { return c.S.Tenant }
