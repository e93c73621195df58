// Package resourceid parses, formats and compares Azure Resource Manager
// resource ids and scopes.
//
// An ARM path is a sequence of key/value segments:
//
//	/subscriptions/{sub}/resourceGroups/{rg}/providers/{Namespace}/{type}/{name}[/{type}/{name}...]
//
// and an extension resource repeats the providers block after a resource:
//
//	{resourceId}/providers/Microsoft.Authorization/roleAssignments/{guid}
//
// Keywords ("subscriptions", "resourceGroups", "providers"), namespaces and
// types compare case-insensitively, as ARM does. Names keep the case they were
// sent in, but compare case-insensitively too, because ARM names are
// case-insensitive and case-preserving. [ID.Key] is the canonical lower-case
// form used for storage and comparison; [ID.String] is the display form.
//
// A path may end in one extra segment that is not a name: a collection type
// (".../userAssignedIdentities") or an action ("/listKeys"). [ParsePath]
// returns it as [Path.Tail]; the ARM router decides what it means.
package resourceid

import (
	"errors"
	"fmt"
	"strings"
)

// Provider is one providers block of an id: a namespace followed by
// alternating type and name segments. Types and Names have equal length
// except in a [Path] whose tail is a type.
type Provider struct {
	Namespace string
	Types     []string
	Names     []string
}

// ID is a parsed resource id or scope. The zero ID is the tenant root "/".
type ID struct {
	Subscription  string
	ResourceGroup string
	Providers     []Provider
}

// Path is a parsed request path: an ID and an optional trailing segment.
type Path struct {
	ID   ID
	Tail string
}

// Error reports an unparsable id.
type Error struct {
	Input  string
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid resource id %q: %s", e.Input, e.Reason)
}

// ErrInvalid matches every *Error with errors.Is.
var ErrInvalid = errors.New("invalid resource id")

// Is lets errors.Is(err, ErrInvalid) match.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// maxLen bounds what we parse; ARM ids are far shorter in practice.
const maxLen = 4096

// Parse parses a complete id or scope: every type segment must have a name.
func Parse(s string) (ID, error) {
	p, err := ParsePath(s)
	if err != nil {
		return ID{}, err
	}
	if p.Tail != "" {
		return ID{}, &Error{s, fmt.Sprintf("segment %q has no name", p.Tail)}
	}
	return p.ID, nil
}

// MustParse is Parse for ids known to be valid; it panics otherwise.
func MustParse(s string) ID {
	id, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return id
}

// ParsePath parses a request path that may end in a collection or action.
func ParsePath(s string) (Path, error) {
	if len(s) > maxLen {
		return Path{}, &Error{truncate(s), "longer than 4096 characters"}
	}
	if !strings.HasPrefix(s, "/") {
		return Path{}, &Error{s, "must start with '/'"}
	}
	trimmed := strings.TrimSuffix(s[1:], "/")
	if trimmed == "" {
		return Path{}, nil
	}
	segs := strings.Split(trimmed, "/")
	for _, seg := range segs {
		if seg == "" {
			return Path{}, &Error{s, "empty segment"}
		}
		if strings.ContainsAny(seg, "\x00\r\n") {
			return Path{}, &Error{s, "control character in segment"}
		}
	}
	var p Path
	i := 0
	next := func() (string, bool) {
		if i >= len(segs) {
			return "", false
		}
		i++
		return segs[i-1], true
	}
	// Optional subscription and resource group.
	if strings.EqualFold(segs[0], "subscriptions") {
		i = 1
		sub, ok := next()
		if !ok {
			p.Tail = segs[0]
			return p, nil
		}
		p.ID.Subscription = sub
		if i < len(segs) && strings.EqualFold(segs[i], "resourceGroups") {
			i++
			rg, ok := next()
			if !ok {
				p.Tail = segs[i-1]
				return p, nil
			}
			p.ID.ResourceGroup = rg
		}
	}
	for i < len(segs) {
		kw := segs[i]
		i++
		if !strings.EqualFold(kw, "providers") {
			if i == len(segs) {
				// A lone trailing segment: an action or collection at this
				// level (e.g. ".../resources", "/listKeys").
				p.Tail = kw
				return p, nil
			}
			return Path{}, &Error{s, fmt.Sprintf("expected 'providers', found %q", kw)}
		}
		ns, ok := next()
		if !ok {
			p.Tail = kw
			return p, nil
		}
		prov := Provider{Namespace: ns}
		for i < len(segs) && !strings.EqualFold(segs[i], "providers") {
			typ := segs[i]
			i++
			if i == len(segs) {
				// A type with no name: a collection, or an action on the
				// resource before it. The router tells which.
				prov.Types = append(prov.Types, typ)
				p.ID.Providers = append(p.ID.Providers, prov)
				p.Tail = typ
				return p, nil
			}
			prov.Types = append(prov.Types, typ)
			prov.Names = append(prov.Names, segs[i])
			i++
		}
		if len(prov.Types) == 0 {
			return Path{}, &Error{s, fmt.Sprintf("provider %q has no resource type", ns)}
		}
		p.ID.Providers = append(p.ID.Providers, prov)
	}
	return p, nil
}

// TailIsType reports whether the path's tail is a resource type directly
// under a provider namespace (as in ".../providers/NS/type"), as opposed to
// a segment after a complete id.
func (p Path) TailIsType() bool {
	if p.Tail == "" || len(p.ID.Providers) == 0 {
		return false
	}
	last := p.ID.Providers[len(p.ID.Providers)-1]
	return len(last.Types) == len(last.Names)+1
}

// Base returns the path without its tail: the resource an action applies
// to, or the scope that holds a collection.
func (p Path) Base() ID {
	if !p.TailIsType() {
		return p.ID
	}
	id := p.ID.clone()
	last := &id.Providers[len(id.Providers)-1]
	last.Types = last.Types[:len(last.Types)-1]
	if len(last.Types) == 0 {
		id.Providers = id.Providers[:len(id.Providers)-1]
	}
	return id
}

// TailType returns the full resource type a tail-typed path would list, such
// as "Microsoft.ManagedIdentity/userAssignedIdentities".
func (p Path) TailType() string {
	if !p.TailIsType() {
		return ""
	}
	last := p.ID.Providers[len(p.ID.Providers)-1]
	return last.Namespace + "/" + strings.Join(last.Types, "/")
}

func (id ID) clone() ID {
	out := ID{Subscription: id.Subscription, ResourceGroup: id.ResourceGroup}
	out.Providers = make([]Provider, len(id.Providers))
	for i, p := range id.Providers {
		out.Providers[i] = Provider{
			Namespace: p.Namespace,
			Types:     append([]string(nil), p.Types...),
			Names:     append([]string(nil), p.Names...),
		}
	}
	return out
}

// IsRoot reports whether id is the tenant root "/".
func (id ID) IsRoot() bool {
	return id.Subscription == "" && id.ResourceGroup == "" && len(id.Providers) == 0
}

// IsSubscription reports whether id is exactly a subscription.
func (id ID) IsSubscription() bool {
	return id.Subscription != "" && id.ResourceGroup == "" && len(id.Providers) == 0
}

// IsResourceGroup reports whether id is exactly a resource group.
func (id ID) IsResourceGroup() bool {
	return id.ResourceGroup != "" && len(id.Providers) == 0
}

// IsResource reports whether id names a provider resource.
func (id ID) IsResource() bool { return len(id.Providers) > 0 }

// Type returns the full resource type, e.g.
// "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
// or the pseudo-types of subscriptions and resource groups.
func (id ID) Type() string {
	switch {
	case len(id.Providers) > 0:
		last := id.Providers[len(id.Providers)-1]
		return last.Namespace + "/" + strings.Join(last.Types, "/")
	case id.ResourceGroup != "":
		return "Microsoft.Resources/resourceGroups"
	case id.Subscription != "":
		return "Microsoft.Resources/subscriptions"
	}
	return ""
}

// Name returns the last name in the id.
func (id ID) Name() string {
	switch {
	case len(id.Providers) > 0:
		last := id.Providers[len(id.Providers)-1]
		if len(last.Names) == 0 {
			return ""
		}
		return last.Names[len(last.Names)-1]
	case id.ResourceGroup != "":
		return id.ResourceGroup
	}
	return id.Subscription
}

// Parent returns the id one level up: a child resource's parent resource, an
// extension resource's target, a top-level resource's group or subscription.
// The root's parent is the root.
func (id ID) Parent() ID {
	switch {
	case len(id.Providers) > 0:
		out := id.clone()
		last := &out.Providers[len(out.Providers)-1]
		last.Types = last.Types[:len(last.Types)-1]
		last.Names = last.Names[:len(last.Names)-1]
		if len(last.Types) == 0 {
			out.Providers = out.Providers[:len(out.Providers)-1]
		}
		return out
	case id.ResourceGroup != "":
		return ID{Subscription: id.Subscription}
	}
	return ID{}
}

// Child returns the id of a child resource of type typ (a single segment)
// named name, within the id's last providers block.
func (id ID) Child(typ, name string) ID {
	out := id.clone()
	last := &out.Providers[len(out.Providers)-1]
	last.Types = append(last.Types, typ)
	last.Names = append(last.Names, name)
	return out
}

// Extension returns the id of an extension resource namespace/typ/name on id.
func (id ID) Extension(namespace, typ, name string) ID {
	out := id.clone()
	out.Providers = append(out.Providers, Provider{Namespace: namespace, Types: []string{typ}, Names: []string{name}})
	return out
}

// Target returns the resource an extension resource is attached to: the id
// without its last providers block. For a non-extension id it returns the
// subscription or resource group that holds it.
func (id ID) Target() ID {
	if len(id.Providers) == 0 {
		return id.Parent()
	}
	out := id.clone()
	out.Providers = out.Providers[:len(out.Providers)-1]
	return out
}

// TopLevel returns the top-level resource of a nested or extension id: the
// id cut after the first type/name pair. Subscriptions and groups are
// returned unchanged.
func (id ID) TopLevel() ID {
	if len(id.Providers) == 0 {
		return id
	}
	p := id.Providers[0]
	return ID{
		Subscription:  id.Subscription,
		ResourceGroup: id.ResourceGroup,
		Providers:     []Provider{{Namespace: p.Namespace, Types: []string{p.Types[0]}, Names: []string{p.Names[0]}}},
	}
}

// String returns the display form, with ARM's keyword casing and every other
// segment as it was sent.
func (id ID) String() string {
	if id.IsRoot() {
		return "/"
	}
	var b strings.Builder
	if id.Subscription != "" {
		b.WriteString("/subscriptions/")
		b.WriteString(id.Subscription)
		if id.ResourceGroup != "" {
			b.WriteString("/resourceGroups/")
			b.WriteString(id.ResourceGroup)
		}
	}
	for _, p := range id.Providers {
		b.WriteString("/providers/")
		b.WriteString(p.Namespace)
		for i, t := range p.Types {
			b.WriteByte('/')
			b.WriteString(t)
			if i < len(p.Names) {
				b.WriteByte('/')
				b.WriteString(p.Names[i])
			}
		}
	}
	return b.String()
}

// Key returns the canonical lower-case form used for storage and comparison.
func (id ID) Key() string { return strings.ToLower(id.String()) }

// Equal reports whether two ids name the same thing.
func (id ID) Equal(other ID) bool { return id.Key() == other.Key() }

// Contains reports whether scope id is other or one of its ancestors, by
// whole segments: "/…/resourceGroups/rg-a" does not contain "…/rg-ab".
func (id ID) Contains(other ID) bool { return KeyContains(id.Key(), other.Key()) }

// KeyContains is Contains on canonical keys.
func KeyContains(scope, key string) bool {
	if scope == "/" || scope == key {
		return true
	}
	return len(key) > len(scope) && key[len(scope)] == '/' && key[:len(scope)] == scope
}

// ResourceGroupID returns the id of the group that holds id, or the zero ID.
func (id ID) ResourceGroupID() ID {
	if id.ResourceGroup == "" {
		return ID{}
	}
	return ID{Subscription: id.Subscription, ResourceGroup: id.ResourceGroup}
}

// SubscriptionID returns the id of the subscription that holds id.
func (id ID) SubscriptionID() ID {
	if id.Subscription == "" {
		return ID{}
	}
	return ID{Subscription: id.Subscription}
}

// TypeKey lower-cases a full resource type for comparison.
func TypeKey(t string) string { return strings.ToLower(t) }

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
