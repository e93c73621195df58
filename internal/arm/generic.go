package arm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/store"
)

// NotFound returns ARM's 404 for a missing resource, group or subscription.
func (c *Call) NotFound(id resourceid.ID) error {
	switch {
	case id.IsSubscription():
		return armerr.SubscriptionNotFound(id.Subscription)
	case id.IsResourceGroup():
		return armerr.ResourceGroupNotFound(id.ResourceGroup)
	}
	typ, name := notFoundParts(c.S.Registry.Canonical(id))
	return armerr.ResourceNotFound(typ, name, id.ResourceGroup)
}

// notFoundParts splits an id the way ARM's ResourceNotFound message names
// it: "Microsoft.X/type/parent/childType" and the last name.
func notFoundParts(id resourceid.ID) (string, string) {
	s := id.String()
	if i := strings.LastIndex(strings.ToLower(s), "/providers/"); i >= 0 {
		s = s[i+len("/providers/"):]
	}
	j := strings.LastIndexByte(s, '/')
	return s[:j], s[j+1:]
}

// Get returns the stored document of id, or nil if there is none.
func (c *Call) Get(id resourceid.ID) (Doc, error) {
	r, err := c.Tx.GetResource(c.Ctx, id.String())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return DecodeDoc(r.Body)
}

// Load returns the stored document of id or ARM's 404.
func (c *Call) Load(id resourceid.ID) (Doc, error) {
	d, err := c.Get(id)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, c.NotFound(id)
	}
	return d, nil
}

// Save stores doc as the resource id of type t.
func (c *Call) Save(t *Type, doc Doc) error {
	body, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return c.Tx.PutResource(c.Ctx, &store.Resource{ID: doc.Str("id"), Type: t.Name, Body: body})
}

// EnsureScope checks that what id lives in exists: its subscription, its
// group, its parent resource or the resource it extends.
func (c *Call) EnsureScope(id resourceid.ID) error {
	if id.Subscription != "" && !id.IsSubscription() {
		sub := id.SubscriptionID()
		if d, err := c.Get(sub); err != nil {
			return err
		} else if d == nil {
			return c.NotFound(sub)
		}
	}
	if id.ResourceGroup != "" && !id.IsResourceGroup() {
		rg := id.ResourceGroupID()
		if d, err := c.Get(rg); err != nil {
			return err
		} else if d == nil {
			return c.NotFound(rg)
		}
	}
	if len(id.Providers) > 0 {
		parent := id.Parent()
		if parent.IsResource() {
			d, err := c.Get(parent)
			if err != nil {
				return err
			}
			if d == nil {
				if len(id.Providers[len(id.Providers)-1].Types) > 1 {
					typ, name := notFoundParts(c.S.Registry.Canonical(parent))
					return armerr.ParentResourceNotFound(typ, name)
				}
				return c.NotFound(parent)
			}
		}
	}
	return nil
}

// CanonicalID returns id as ARM displays it: canonical types, the stored
// casing of the group name, and the names as sent.
func (c *Call) CanonicalID(id resourceid.ID) (resourceid.ID, error) {
	out := c.S.Registry.Canonical(id)
	if id.ResourceGroup != "" && c.Tx != nil {
		rg, err := c.Get(id.ResourceGroupID())
		if err != nil {
			return out, err
		}
		if rg != nil {
			out.ResourceGroup = rg.Str("name")
		}
	}
	return out, nil
}

// Private is the reserved top-level key under which a provider keeps
// server-only state in a stored document (account keys, generated ids).
// Clients can neither set nor see it: Compose drops it from request bodies
// and carries the stored value across updates, and Present removes it.
const Private = "_mimic"

// PrivateState returns the document's server-only state, creating it.
func (d Doc) PrivateState() Doc {
	if p := d.Obj(Private); p != nil {
		d[Private] = p
		return p
	}
	p := Doc{}
	d[Private] = p
	return p
}

// Present applies the type's Present hook and removes private state.
func (c *Call) Present(t *Type, doc Doc) Doc {
	if t.Present != nil {
		doc = t.Present(c, doc)
	}
	if _, ok := doc[Private]; ok {
		out := make(Doc, len(doc))
		for k, v := range doc {
			if k != Private {
				out[k] = v
			}
		}
		doc = out
	}
	if t.CompactIdentityType {
		if ident := doc.Obj("identity"); ident != nil && ident.Str("type") == IdentitySystemAndUser {
			out := make(Doc, len(doc))
			for k, v := range doc {
				out[k] = v
			}
			ni := make(Doc, len(ident))
			for k, v := range ident {
				ni[k] = v
			}
			ni["type"] = "SystemAssigned,UserAssigned"
			out["identity"] = ni
			doc = out
		}
	}
	return doc
}

// FindByName returns every resource of type typ named name, in any
// subscription and group.
func (c *Call) FindByName(typ, name string) ([]Doc, error) { return FindByName(c.Ctx, c.Tx, typ, name) }

// FindOne returns the resource of type typ named name in any subscription
// and group, for types whose names are global, or store.ErrNotFound.
func FindOne(ctx context.Context, tx store.Tx, typ, name string) (Doc, error) {
	docs, err := FindByName(ctx, tx, typ, name)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s named %s: %w", typ, name, store.ErrNotFound)
	}
	return docs[0], nil
}

// FindByName returns every resource of type typ named name, in any
// subscription and group.
func FindByName(ctx context.Context, tx store.Tx, typ, name string) ([]Doc, error) {
	rs, err := tx.ListResources(ctx, store.ResourceFilter{Type: typ, Name: name})
	if err != nil {
		return nil, err
	}
	out := make([]Doc, 0, len(rs))
	for _, r := range rs {
		d, err := DecodeDoc(r.Body)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// JSON writes a JSON response.
func (c *Call) JSON(status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.W.Header().Set("Content-Type", "application/json; charset=utf-8")
	c.W.WriteHeader(status)
	_, err = c.W.Write(body)
	return err
}

// NoContent writes an empty response.
func (c *Call) NoContent(status int) error {
	c.W.WriteHeader(status)
	return nil
}

func (s *Server) get(c *Call) error {
	if err := c.Authorize(c.Type.Permission("read"), c.ID); err != nil {
		return err
	}
	var doc Doc
	err := c.View(func() error {
		if err := c.EnsureScope(c.ID); err != nil {
			return err
		}
		var err error
		doc, err = c.Load(c.ID)
		if err == nil {
			doc = c.Present(c.Type, doc)
		}
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, doc)
}

func (s *Server) head(c *Call) error {
	if err := c.Authorize(c.Type.Permission("read"), c.ID); err != nil {
		return err
	}
	var doc Doc
	err := c.View(func() error {
		var err error
		doc, err = c.Get(c.ID)
		return err
	})
	if err != nil {
		return err
	}
	if doc == nil {
		return c.NoContent(http.StatusNotFound)
	}
	return c.NoContent(http.StatusNoContent)
}

// put serves PUT (replace) and PATCH (merge).
func (s *Server) put(c *Call, patch bool) error {
	t := c.Type
	if err := c.Authorize(t.Permission("write"), c.ID); err != nil {
		return err
	}
	body, err := decodeBody(c.Body)
	if err != nil {
		return err
	}
	var out Doc
	created := false
	err = c.Update(func() error {
		if err := c.EnsureScope(c.ID); err != nil {
			return err
		}
		old, err := c.Get(c.ID)
		if err != nil {
			return err
		}
		doc, err := c.Compose(t, old, body, patch)
		if err != nil {
			return err
		}
		if err := c.Save(t, doc); err != nil {
			return err
		}
		if t.Saved != nil {
			if err := t.Saved(c, old, doc); err != nil {
				return err
			}
		}
		created = old == nil
		out = c.Present(t, doc)
		return nil
	})
	if err != nil {
		return err
	}
	if created {
		return c.JSON(statusOr(t.CreatedStatus, http.StatusCreated), out)
	}
	return c.JSON(http.StatusOK, out)
}

func statusOr(s, def int) int {
	if s != 0 {
		return s
	}
	return def
}

// Compose builds the document to store from the old one (nil on create)
// and a request body, with ARM's generic rules and the type's hooks.
func (c *Call) Compose(t *Type, old, body Doc, patch bool) (Doc, error) {
	if patch && old == nil {
		return nil, c.NotFound(c.ID)
	}
	var doc Doc
	var identityPatch Doc
	if patch {
		doc = old.Clone()
		identityPatch = body.Obj("identity")
		delete(body, "identity")
		Merge(doc, body)
		if identityPatch != nil {
			doc["identity"] = identityPatch
		}
	} else {
		doc = body
	}
	for _, k := range []string{"id", "name", "type", "etag", "systemData", Private} {
		delete(doc, k)
	}
	if old != nil && old[Private] != nil {
		doc[Private] = old.Clone()[Private]
	}
	if old == nil && t.NameTaken != nil {
		same, err := c.FindByName(t.Name, c.ID.Name())
		if err != nil {
			return nil, err
		}
		for _, d := range same {
			if !strings.EqualFold(d.Str("id"), c.ID.String()) {
				return nil, t.NameTaken(c.ID.Name())
			}
		}
	}
	cid, err := c.CanonicalID(c.ID)
	if err != nil {
		return nil, err
	}
	doc["id"], doc["name"], doc["type"] = cid.String(), c.ID.Name(), t.Name
	if old != nil {
		// A resource keeps the name casing it was created with.
		doc["id"], doc["name"] = old["id"], old["name"]
	}
	if t.Tracked {
		if err := c.checkLocation(t, old, doc); err != nil {
			return nil, err
		}
		if err := CheckTags(doc); err != nil {
			return nil, err
		}
	} else if doc["tags"] != nil {
		if err := CheckTags(doc); err != nil {
			return nil, err
		}
	}
	if len(t.Kinds) > 0 {
		if err := checkKind(t, old, doc); err != nil {
			return nil, err
		}
	}
	if t.Identity != NoIdentity {
		if err := c.applyIdentity(old, doc, patch, identityPatch); err != nil {
			return nil, err
		}
	} else if _, ok := doc["identity"]; ok {
		return nil, armerr.BadRequest("InvalidIdentity", "Resources of type '%s' do not support managed identities.", t.Name)
	}
	if t.Prepare != nil {
		if err := t.Prepare(c, old, doc); err != nil {
			return nil, err
		}
	}
	return doc, nil
}

func checkKind(t *Type, old, doc Doc) error {
	kind, _ := doc["kind"].(string)
	if kind == "" && old != nil {
		kind, _ = old["kind"].(string)
	}
	for _, k := range t.Kinds {
		if strings.EqualFold(k, kind) {
			doc["kind"] = k
			return nil
		}
	}
	if kind == "" {
		doc["kind"] = t.Kinds[0]
		return nil
	}
	return armerr.BadRequest("InvalidKind", "The kind '%s' is not valid for resource type '%s'. Valid kinds are '%s'.", kind, t.Name, strings.Join(t.Kinds, "', '"))
}

func (s *Server) delete(c *Call) error {
	if err := c.Authorize(c.Type.Permission("delete"), c.ID); err != nil {
		return err
	}
	found := false
	err := c.Update(func() error {
		doc, err := c.Get(c.ID)
		if err != nil || doc == nil {
			return err
		}
		found = true
		return c.DeleteTree(c.ID)
	})
	if err != nil {
		return err
	}
	if !found {
		return c.NoContent(http.StatusNoContent)
	}
	return c.NoContent(statusOr(c.Type.DeletedStatus, http.StatusOK))
}

// DeleteTree deletes a resource and everything below it: child resources
// and extension resources, running each type's Deleting hook and releasing
// system-assigned identities, deepest first.
func (c *Call) DeleteTree(id resourceid.ID) error {
	below, err := c.Tx.ListResources(c.Ctx, store.ResourceFilter{Scope: id.String()})
	if err != nil {
		return err
	}
	self, err := c.Tx.GetResource(c.Ctx, id.String())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if self != nil {
		below = append(below, self)
	}
	// Deepest first: longer ids sort after their ancestors, so reverse.
	slices.SortFunc(below, func(a, b *store.Resource) int { return len(b.ID) - len(a.ID) })
	for _, r := range below {
		t := c.S.Registry.Lookup(r.Type)
		if t == nil {
			continue
		}
		doc, err := DecodeDoc(r.Body)
		if err != nil {
			return err
		}
		if t.Deleting != nil {
			if err := t.Deleting(c, doc); err != nil {
				return err
			}
		}
		if t.Identity != NoIdentity {
			if err := c.releaseSystemIdentity(doc); err != nil {
				return err
			}
		}
	}
	_, err = c.Tx.DeleteTree(c.Ctx, id.String())
	return err
}

// list serves a collection with the generic rules: tracked types by scope,
// child types by parent.
func (s *Server) list(c *Call) error {
	t := c.Type
	readAll := c.Can(t.Permission("read"), c.ID)
	filter := store.ResourceFilter{Type: t.Name}
	if t.Placement == ChildOf {
		filter.Parent = c.ID.String()
	} else {
		filter.Scope = c.ID.String()
	}
	var items []Doc
	var next string
	err := c.View(func() error {
		if err := c.EnsureScope(c.ID); err != nil {
			return err
		}
		if c.ID.IsResource() || c.ID.IsResourceGroup() || c.ID.IsSubscription() {
			if d, err := c.Get(c.ID); err != nil {
				return err
			} else if d == nil {
				return c.NotFound(c.ID)
			}
		}
		var err error
		items, next, err = c.Page(filter, func(d Doc) bool {
			if readAll {
				return true
			}
			id, err := resourceid.Parse(d.Str("id"))
			return err == nil && c.Can(t.Permission("read"), id)
		})
		if err != nil {
			return err
		}
		for i, d := range items {
			items[i] = c.Present(t, d)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !readAll && len(items) == 0 {
		return c.Authorize(t.Permission("read"), c.ID)
	}
	return c.List(items, next)
}

// Page reads one page of resources matching filter and keep, resuming at
// the request's $skiptoken, and returns the token of the next page.
func (c *Call) Page(filter store.ResourceFilter, keep func(Doc) bool) ([]Doc, string, error) {
	size := c.S.PageSize
	if size <= 0 {
		size = 1000
	}
	if tok := c.R.URL.Query().Get("$skiptoken"); tok != "" {
		after, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return nil, "", armerr.BadRequest("InvalidSkipToken", "The $skiptoken '%s' is invalid.", tok)
		}
		filter.After = string(after)
	}
	var out []Doc
	for {
		filter.Limit = size + 1
		rs, err := c.Tx.ListResources(c.Ctx, filter)
		if err != nil {
			return nil, "", err
		}
		for i, r := range rs {
			if i == size || len(out) == size {
				return out, base64.RawURLEncoding.EncodeToString([]byte(rs[i-1].ID)), nil
			}
			d, err := DecodeDoc(r.Body)
			if err != nil {
				return nil, "", err
			}
			if keep == nil || keep(d) {
				out = append(out, d)
			}
		}
		if len(rs) <= size {
			return out, "", nil
		}
	}
}

// List writes {"value": items, "nextLink": …}.
func (c *Call) List(items []Doc, next string) error {
	if items == nil {
		items = []Doc{}
	}
	body := map[string]any{"value": items}
	if next != "" {
		q := c.R.URL.Query()
		q.Set("$skiptoken", next)
		u := url.URL{Scheme: "https", Host: c.R.Host, Path: c.R.URL.Path, RawQuery: q.Encode()}
		body["nextLink"] = u.String()
	}
	return c.JSON(http.StatusOK, body)
}

// ParseDocID parses a stored document's id.
func ParseDocID(doc Doc) (resourceid.ID, error) { return resourceid.Parse(doc.Str("id")) }
