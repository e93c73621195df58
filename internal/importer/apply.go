package importer

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/authorization"
	"github.com/mimic-emu/mimic/internal/arm/containerservice"
	"github.com/mimic-emu/mimic/internal/arm/keyvault"
	"github.com/mimic-emu/mimic/internal/arm/msi"
	"github.com/mimic-emu/mimic/internal/arm/resources"
	"github.com/mimic-emu/mimic/internal/arm/storage"
	"github.com/mimic-emu/mimic/internal/arm/web"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/roles"
	"github.com/mimic-emu/mimic/internal/store"
)

// Options are the server's side of an import.
type Options struct {
	// Tenant is mimic's tenant: exported tenant ids become it.
	Tenant string
	// Owner is the importer's object id, granted Owner on every
	// subscription the import creates; "" grants nothing.
	Owner string
}

// Warning is a remark on an imported element.
type Warning struct {
	Source string `json:"source,omitempty"`
	Index  int    `json:"index"`
	Field  string `json:"field,omitempty"`
	Code   string `json:"code"`
	// Subject is what repeated warnings are about (the principal of
	// orphaned assignments, the identity computes miss), to count them.
	Subject string `json:"subject,omitempty"`
	Message string `json:"message"`
	// Count is how many elements the warning stands for (≥ 1).
	Count int `json:"count,omitempty"`
}

func (w Warning) String() string {
	var parts []string
	if w.Source != "" {
		parts = append(parts, w.Source)
	}
	if w.Index >= 0 {
		loc := fmt.Sprintf("[%d]", w.Index)
		if w.Field != "" {
			loc += "." + w.Field
		}
		parts = append(parts, loc)
	}
	s := strings.Join(append(parts, w.Message), ": ")
	if w.Count > 1 {
		s += fmt.Sprintf(" (%s elements)", Thousands(w.Count))
	}
	return s
}

// Result is what one Apply wrote.
type Result struct {
	Imported int          `json:"imported"`
	Counts   map[Kind]int `json:"counts"`
	// Skipped counts elements not imported, by note code.
	Skipped map[string]int `json:"skipped,omitempty"`
	// Principals counts principals created: identities' and, in
	// Directory, those of users, groups and applications.
	Principals int `json:"principals"`
	Directory  int `json:"directory"`
	// Orphaned counts role assignments whose principal no export holds.
	Orphaned int `json:"orphaned"`
	// Subscriptions are the subscriptions created, Groups counts groups.
	Subscriptions []string  `json:"newSubscriptions,omitempty"`
	Groups        int       `json:"newGroups"`
	Warnings      []Warning `json:"warnings,omitempty"`
	// RBAC says role data changed: the authorizer must reload.
	RBAC bool `json:"-"`
	// Denies are the deny assignments, which the caller stores with
	// authorization.LoadDenyAssignments.
	Denies []*Item `json:"-"`
}

// Add accumulates another result's counts and warnings.
func (r *Result) Add(o *Result) {
	if r.Counts == nil {
		r.Counts = map[Kind]int{}
	}
	if r.Skipped == nil {
		r.Skipped = map[string]int{}
	}
	r.Imported += o.Imported
	for k, n := range o.Counts {
		r.Counts[k] += n
	}
	for k, n := range o.Skipped {
		r.Skipped[k] += n
	}
	r.Principals += o.Principals
	r.Directory += o.Directory
	r.Orphaned += o.Orphaned
	r.Groups += o.Groups
	r.Subscriptions = append(r.Subscriptions, o.Subscriptions...)
	r.Warnings = MergeWarnings(r.Warnings, o.Warnings)
}

// MergeWarnings appends warnings, folding those with the same code and
// subject into one with a count.
func MergeWarnings(into, more []Warning) []Warning {
	for _, w := range more {
		if w.Count == 0 {
			w.Count = 1
		}
		merged := false
		if w.Subject != "" {
			for i := range into {
				if into[i].Code == w.Code && strings.EqualFold(into[i].Subject, w.Subject) {
					into[i].Count += w.Count
					merged = true
					break
				}
			}
		}
		if !merged {
			into = append(into, w)
		}
	}
	return into
}

// ItemError is an element the server refuses.
type ItemError struct {
	Source string
	Err    *FieldError
}

func (e *ItemError) Error() string {
	if e.Source == "" {
		return e.Err.Error()
	}
	return e.Source + ": " + e.Err.Error()
}

// BatchError lists a batch's refused elements.
type BatchError struct{ Errors []*ItemError }

func (e *BatchError) Error() string {
	lines := make([]string, len(e.Errors))
	for i, ie := range e.Errors {
		lines[i] = ie.Error()
	}
	return strings.Join(lines, "\n")
}

// namespace derives the ids no export shows (system-assigned identities'
// client ids, directory principals' client ids, the importer's grants),
// so that a re-import finds the same ones.
var namespace = uuid.MustParse("8f1c0a52-6d3e-4c8e-9a57-2b7d4c1e9f30")

func derivedGUID(parts ...string) string {
	return uuid.NewSHA1(namespace, []byte(strings.ToLower(strings.Join(parts, "\x00")))).String()
}

// SystemClientID is the client id given to an imported system-assigned
// identity, which exports do not show.
func SystemClientID(principalID string) string { return derivedGUID("system-client", principalID) }

// GrantID is the name of the Owner assignment an import gives its importer
// on a subscription it creates.
func GrantID(subscription, owner string) string { return derivedGUID("owner", subscription, owner) }

// GrantAssignmentID is that assignment's id.
func GrantAssignmentID(subscription, owner string) string {
	return resourceid.ID{Subscription: subscription}.Extension("Microsoft.Authorization", "roleAssignments", GrantID(subscription, owner)).String()
}

// applier writes one batch.
type applier struct {
	ctx  context.Context
	tx   store.Tx
	opts Options
	res  *Result
	// known caches the existence of resources (lower-case ids) and
	// principals (lower-case object ids) within the batch.
	known      map[string]bool
	principals map[string]bool
	warned     map[string]int
}

// Apply writes a batch of items in tx, re-validating each. Items are
// written in kind order. It returns the batch's result, or a *BatchError
// naming the refused elements (nothing should then be committed).
func Apply(ctx context.Context, tx store.Tx, items []Item, opts Options) (*Result, error) {
	a := &applier{ctx: ctx, tx: tx, opts: opts, known: map[string]bool{}, principals: map[string]bool{}, warned: map[string]int{},
		res: &Result{Counts: map[Kind]int{}, Skipped: map[string]int{}}}
	sorted := make([]*Item, len(items))
	for i := range items {
		sorted[i] = &items[i]
	}
	// By kind, and within a kind by id: the store's indexes are then
	// written in key order, which is much faster than at random.
	keys := make(map[*Item]string, len(items))
	for _, it := range sorted {
		keys[it] = strings.ToLower(it.Doc.Str("id"))
	}
	sort.SliceStable(sorted, func(i, j int) bool {
		pi, pj := sorted[i].Kind.phase(), sorted[j].Kind.phase()
		if pi != pj {
			return pi < pj
		}
		return keys[sorted[i]] < keys[sorted[j]]
	})
	var bad []*ItemError
	for _, it := range sorted {
		doc := it.Doc
		if it.Kind != RoleAssignment && doc != nil {
			// Writing rewrites parts of a document in place; a store that
			// retries the transaction must find the request unchanged.
			// (Role assignments are only read, and the most numerous.)
			doc = doc.Clone()
		}
		norm, notes, err := Normalize(it.Kind, map[string]any(doc))
		if err != nil {
			fe, ok := err.(*FieldError)
			if !ok {
				fe = &FieldError{Msg: err.Error()}
			}
			fe.Index = it.Index
			if len(bad) < 50 {
				bad = append(bad, &ItemError{Source: it.Source, Err: fe})
			}
			continue
		}
		skip := false
		for _, n := range notes {
			if n.Skip {
				skip = true
				a.res.Skipped[n.Code]++
				if n.Code == CodeBuiltinRole {
					continue
				}
			}
			a.warn(it, it.field(n.Field), n.Code, "", n.Msg)
		}
		if skip || norm == nil || len(bad) > 0 {
			continue
		}
		norm.Source, norm.Index, norm.Flat = it.Source, it.Index, it.Flat
		if norm.PrincipalName == nil {
			norm.PrincipalName = it.PrincipalName
		}
		if err := a.apply(norm); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				fe.Index = it.Index
				bad = append(bad, &ItemError{Source: it.Source, Err: fe})
				continue
			}
			return nil, fmt.Errorf("%s: [%d]: %w", it.Source, it.Index, err)
		}
		a.res.Imported++
		a.res.Counts[norm.Kind]++
	}
	if len(bad) > 0 {
		return nil, &BatchError{Errors: bad}
	}
	return a.res, nil
}

// warn records a warning, folding repeats about the same subject.
func (a *applier) warn(it *Item, field, code, subject, msg string) {
	k := code + "\x00" + strings.ToLower(subject)
	if subject != "" {
		if i, ok := a.warned[k]; ok {
			a.res.Warnings[i].Count++
			return
		}
		a.warned[k] = len(a.res.Warnings)
	}
	a.res.Warnings = append(a.res.Warnings, Warning{Source: it.Source, Index: it.Index, Field: field, Code: code, Subject: subject, Message: msg, Count: 1})
}

func (a *applier) apply(it *Item) error {
	switch it.Kind {
	case Subscription:
		return a.subscription(it)
	case Group:
		return a.group(it)
	case RoleDefinition:
		return a.definition(it)
	case RoleAssignment:
		return a.assignment(it)
	case DenyAssignment:
		a.res.Denies = append(a.res.Denies, it)
		a.res.RBAC = true
		return nil
	case FederatedCredential:
		return a.federated(it)
	case Identity:
		return a.identity(it)
	case VM, Site, Cluster:
		return a.compute(it)
	}
	return a.resource(it)
}

// ---- storage helpers ----

func (a *applier) get(id string) (arm.Doc, error) {
	r, err := a.tx.GetResource(a.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return arm.DecodeDoc(r.Body)
}

func (a *applier) exists(id string) (bool, error) {
	k := strings.ToLower(id)
	if v, ok := a.known[k]; ok {
		return v, nil
	}
	_, err := a.tx.GetResource(a.ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		a.known[k] = false
		return false, nil
	case err != nil:
		return false, err
	}
	a.known[k] = true
	return true, nil
}

func (a *applier) put(typ string, d arm.Doc) error {
	body, err := marshal(d)
	if err != nil {
		return err
	}
	if err := a.tx.PutResource(a.ctx, &store.Resource{ID: d.Str("id"), Type: typ, Body: body}); err != nil {
		return err
	}
	a.known[strings.ToLower(d.Str("id"))] = true
	return nil
}

// mergePut stores d over what the store holds: properties merge
// recursively, server-only state key by key, and every other top-level
// value d has replaces the old one; what d lacks is kept.
func (a *applier) mergePut(typ string, d arm.Doc, old arm.Doc) error {
	if old == nil {
		return a.put(typ, d)
	}
	for k, v := range d {
		switch k {
		case "properties":
			op := old.Obj("properties")
			np := d.Obj("properties")
			if op == nil || np == nil {
				old[k] = v
				continue
			}
			arm.Merge(op, np)
			old[k] = op
		case arm.Private:
			op := old.Obj(arm.Private)
			if op == nil {
				op = arm.Doc{}
			}
			for pk, pv := range d.Obj(arm.Private) {
				op[pk] = pv
			}
			old[k] = op
		default:
			old[k] = v
		}
	}
	return a.put(typ, old)
}

// ---- scopes ----

// ensureScopes creates the subscription and resource group id lives in,
// if they do not exist.
func (a *applier) ensureScopes(id resourceid.ID, location string) error {
	if id.Subscription == "" {
		return nil
	}
	if err := a.ensureSubscription(id.Subscription); err != nil {
		return err
	}
	if id.ResourceGroup == "" || id.IsResourceGroup() {
		return nil
	}
	return a.ensureGroup(id.Subscription, id.ResourceGroup, location, "")
}

func (a *applier) ensureSubscription(sub string) error {
	id := "/subscriptions/" + sub
	ok, err := a.exists(id)
	if err != nil || ok {
		return err
	}
	return a.createSubscription(resources.SubscriptionDoc(sub, a.opts.Tenant, sub))
}

func (a *applier) createSubscription(d arm.Doc) error {
	sub := d.Str("subscriptionId")
	if err := a.put(subscriptionType, d); err != nil {
		return err
	}
	a.res.Subscriptions = append(a.res.Subscriptions, sub)
	if a.opts.Owner == "" {
		return nil
	}
	grant := authorization.NewAssignmentDoc(resourceid.ID{Subscription: sub}, GrantID(sub, a.opts.Owner), roles.Owner, a.opts.Owner, "ServicePrincipal", a.opts.Owner)
	grant.Obj("properties")["description"] = "mimic import: the importer owns the subscriptions it imports"
	a.res.RBAC = true
	return a.put(authorization.AssignmentType, grant)
}

func (a *applier) ensureGroup(sub, rg, location, managedBy string) error {
	id := resourceid.ID{Subscription: sub, ResourceGroup: rg}
	ok, err := a.exists(id.String())
	if err != nil || ok {
		return err
	}
	if err := a.ensureSubscription(sub); err != nil {
		return err
	}
	if location == "" {
		location = "eastus"
	}
	d := arm.Doc{"id": id.String(), "name": rg, "type": groupType, "location": location, "tags": arm.Doc{},
		"properties": arm.Doc{"provisioningState": "Succeeded"}}
	if managedBy != "" {
		d["managedBy"] = managedBy
	}
	a.res.Groups++
	return a.put(groupType, d)
}

// ---- kinds ----

func (a *applier) subscription(it *Item) error {
	d := it.Doc
	sub := d.Str("subscriptionId")
	d["tenantId"] = a.opts.Tenant
	old, err := a.get("/subscriptions/" + sub)
	if err != nil {
		return err
	}
	if old == nil {
		if d.Str("displayName") == "" {
			d["displayName"] = sub
		}
		return a.createSubscription(d)
	}
	if n := d.Str("displayName"); n != "" {
		old["displayName"] = n
	}
	if s := d.Str("state"); s != "" {
		old["state"] = s
	}
	if t := d.Obj("tags"); len(t) > 0 {
		old["tags"] = t
	}
	return a.put(subscriptionType, old)
}

func (a *applier) group(it *Item) error {
	d := it.Doc
	rid, err := arm.ParseDocID(d)
	if err != nil {
		return err
	}
	if err := a.ensureSubscription(rid.Subscription); err != nil {
		return err
	}
	old, err := a.get(rid.String())
	if err != nil {
		return err
	}
	if old == nil {
		if d.Str("location") == "" {
			d["location"] = "eastus"
		}
		if d.Obj("tags") == nil {
			d["tags"] = arm.Doc{}
		}
		a.res.Groups++
		return a.put(groupType, d)
	}
	if loc := old.Str("location"); loc != "" {
		d["location"] = loc // a group's location never changes
	}
	return a.mergePut(groupType, d, old)
}

func (a *applier) definition(it *Item) error {
	d := it.Doc
	guid := d.Str("name")
	rid, err := arm.ParseDocID(d)
	if err != nil {
		return err
	}
	if err := a.ensureScopes(rid, ""); err != nil {
		return err
	}
	// A custom role is one tenant-wide role whichever subscription lists
	// it: keep one document per GUID.
	same, err := a.tx.ListResources(a.ctx, store.ResourceFilter{Type: authorization.DefinitionType, Name: guid})
	if err != nil {
		return err
	}
	for _, r := range same {
		if !strings.EqualFold(r.ID, d.Str("id")) {
			d["id"] = r.ID
		}
	}
	a.res.RBAC = true
	return a.put(authorization.DefinitionType, d)
}

// begin parses a tracked document's id, creates the subscription and group
// it lives in, and reads what the store holds for it.
func (a *applier) begin(d arm.Doc) (resourceid.ID, arm.Doc, error) {
	rid, err := arm.ParseDocID(d)
	if err != nil {
		return rid, nil, err
	}
	if err := a.ensureScopes(rid, d.Str("location")); err != nil {
		return rid, nil, err
	}
	old, err := a.get(d.Str("id"))
	return rid, old, err
}

func (a *applier) identity(it *Item) error {
	d := it.Doc
	_, old, err := a.begin(d)
	if err != nil {
		return err
	}
	p := d.Props()
	p["tenantId"] = a.opts.Tenant
	pid, cid := p.Str("principalId"), p.Str("clientId")
	if pid == "" || cid == "" {
		// A row of `az resource list`: the ids come from another export.
		op := old.Obj("properties")
		if pid, cid = op.Str("principalId"), op.Str("clientId"); pid == "" || cid == "" {
			a.warn(it, it.field("properties.principalId"), CodeNoPrincipal, d.Str("id"), fmt.Sprintf("the identity %s has no principalId and clientId in any export (`az resource list` does not show them): it is imported without its principal, so role assignments cannot name it; import `az identity list` too", d.Str("id")))
			return a.mergePut(msi.IdentityType, d, old)
		}
	}
	if err := a.ensurePrincipal(it, &store.Principal{
		ObjectID: pid, ClientID: cid, Kind: store.KindUserAssigned, DisplayName: d.Str("name"), ResourceID: d.Str("id"),
	}); err != nil {
		return err
	}
	return a.mergePut(msi.IdentityType, d, old)
}

func (a *applier) resource(it *Item) error {
	d := it.Doc
	_, old, err := a.begin(d)
	if err != nil {
		return err
	}
	typ := d.Str("type")
	if err := a.identityBlock(it, d); err != nil {
		return err
	}
	switch {
	case strings.EqualFold(typ, keyvault.VaultType):
		if p := d.Obj("properties"); p != nil {
			// A vault belongs to its subscription's tenant: mimic's.
			if p.Str("tenantId") != "" {
				p["tenantId"] = a.opts.Tenant
			}
			if pols, ok := p["accessPolicies"].([]any); ok {
				for _, e := range pols {
					if m, ok := e.(map[string]any); ok && m["tenantId"] != nil {
						m["tenantId"] = a.opts.Tenant
					}
				}
			}
		}
	case strings.EqualFold(typ, storage.AccountType):
		// Account keys are never exported; draw them, so that listKeys
		// (an escalation the analyzer counts) has something to yield.
		if keys, _ := old.Obj(arm.Private)["keys"].([]any); len(keys) == 0 {
			d[arm.Private] = arm.Doc{"keys": []any{newStorageKey("key1"), newStorageKey("key2")}}
		}
	}
	return a.mergePut(typ, d, old)
}

// newStorageKey draws an account key in the storage provider's format.
func newStorageKey(name string) arm.Doc {
	b := make([]byte, 64)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return arm.Doc{"keyName": name, "value": base64.StdEncoding.EncodeToString(b), "permissions": "FULL", "creationTime": arm.Now()}
}

// compute writes a VM, site or cluster with its identities.
func (a *applier) compute(it *Item) error {
	d := it.Doc
	rid, old, err := a.begin(d)
	if err != nil {
		return err
	}
	if err := a.identityBlock(it, d); err != nil {
		return err
	}
	switch it.Kind {
	case Site:
		if err := a.siteConfig(d, rid); err != nil {
			return err
		}
	case Cluster:
		if err := a.cluster(it, d, old); err != nil {
			return err
		}
	}
	return a.mergePut(d.Str("type"), d, old)
}

// identityBlock creates the principal of a resource's system-assigned
// identity and checks its user-assigned ones, recreating those no export
// holds from what the block shows.
func (a *applier) identityBlock(it *Item, d arm.Doc) error {
	ident := d.Obj("identity")
	if ident == nil {
		return nil
	}
	if ident.Str("tenantId") != "" {
		ident["tenantId"] = a.opts.Tenant
	}
	system, _, _ := arm.ParseIdentityType(ident.Str("type"))
	if pid := ident.Str("principalId"); system && pid != "" {
		if err := a.ensurePrincipal(it, &store.Principal{
			ObjectID: pid, ClientID: SystemClientID(pid), Kind: store.KindSystemAssigned,
			DisplayName: d.Str("name"), ResourceID: d.Str("id"),
		}); err != nil {
			return err
		}
	}
	uais := ident.Obj("userAssignedIdentities")
	keys := make([]string, 0, len(uais))
	for k := range uais {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		entry := uais.Obj(k)
		field := fmt.Sprintf("identity.userAssignedIdentities[%q]", k)
		if err := a.ensureUserIdentity(it, field, k, entry.Str("principalId"), entry.Str("clientId"), d.Str("location"), CodeIdentityCreated, ""); err != nil {
			return err
		}
	}
	return nil
}

// ensureUserIdentity makes sure a user-assigned identity a compute refers
// to exists: if no export held it, it is recreated from the principal and
// client ids the compute shows, or the dangling reference is reported.
func (a *applier) ensureUserIdentity(it *Item, field, id, principalID, clientID, location, code, managedBy string) error {
	ok, err := a.exists(id)
	if err != nil || ok {
		return err
	}
	rid, err := resourceid.Parse(id)
	if err != nil {
		return &FieldError{Field: field, Msg: "not a resource id"}
	}
	what := strings.TrimPrefix(it.Kind.Singular(), "a ")
	what = strings.TrimPrefix(what, "an ")
	if principalID == "" || clientID == "" {
		a.warn(it, field, CodeMissingIdentity, id, fmt.Sprintf("the identity %s is in no export, and the %s does not show its principalId and clientId: the reference is kept, but mimic cannot issue tokens for it", id, what))
		return nil
	}
	if rid.ResourceGroup != "" {
		if err := a.ensureSubscription(rid.Subscription); err != nil {
			return err
		}
		if err := a.ensureGroup(rid.Subscription, rid.ResourceGroup, location, managedBy); err != nil {
			return err
		}
	}
	if location == "" {
		location = "eastus"
	}
	doc := arm.Doc{
		"id": id, "name": rid.Name(), "type": msi.IdentityType, "location": location, "tags": arm.Doc{},
		"properties": arm.Doc{"tenantId": a.opts.Tenant, "principalId": principalID, "clientId": clientID},
	}
	if err := a.ensurePrincipal(it, &store.Principal{
		ObjectID: principalID, ClientID: clientID, Kind: store.KindUserAssigned, DisplayName: rid.Name(), ResourceID: id,
	}); err != nil {
		return err
	}
	a.res.Counts[Identity]++
	a.warn(it, field, code, id, fmt.Sprintf("the identity %s is in no export: recreated it from the principalId and clientId the %s shows (export `az identity list` for its tags)", id, what))
	return a.put(msi.IdentityType, doc)
}

// siteConfig gives a site the config resources every site has, moving app
// settings and connection strings out of siteConfig as App Service does.
func (a *applier) siteConfig(d arm.Doc, rid resourceid.ID) error {
	p := d.Obj("properties")
	sc := p.Obj("siteConfig")
	configs := map[string]arm.Doc{web.ConfigAppSettings: {}, web.ConfigConnectionStrings: {}, web.ConfigMetadata: {}, web.ConfigWeb: {}}
	given := map[string]bool{}
	if sc != nil {
		if list, ok := sc["appSettings"].([]any); ok {
			for _, e := range list {
				m, _ := e.(map[string]any)
				if n, _ := m["name"].(string); n != "" {
					configs[web.ConfigAppSettings][n], _ = m["value"].(string)
				}
			}
			given[web.ConfigAppSettings] = true
		}
		if list, ok := sc["connectionStrings"].([]any); ok {
			for _, e := range list {
				m, _ := e.(map[string]any)
				if n, _ := m["name"].(string); n != "" {
					configs[web.ConfigConnectionStrings][n] = arm.Doc{"value": m["connectionString"], "type": m["type"]}
				}
			}
			given[web.ConfigConnectionStrings] = true
		}
		webCfg := arm.Doc{}
		for k, v := range sc {
			switch k {
			case "appSettings", "connectionStrings", "metadata", "azureStorageAccounts":
			default:
				if v != nil {
					webCfg[k] = v
				}
			}
		}
		delete(sc, "appSettings")
		delete(sc, "connectionStrings")
		configs[web.ConfigWeb] = webCfg
		given[web.ConfigWeb] = true
	}
	for _, name := range []string{web.ConfigAppSettings, web.ConfigConnectionStrings, web.ConfigMetadata, web.ConfigWeb} {
		id := rid.Child("config", name).String()
		ok, err := a.exists(id)
		if err != nil {
			return err
		}
		if ok && !given[name] {
			continue
		}
		doc := arm.Doc{"id": id, "name": name, "type": web.ConfigType, "location": d.Str("location"), "properties": configs[name]}
		if err := a.put(web.ConfigType, doc); err != nil {
			return err
		}
	}
	return nil
}

// aksIssuer matches an AKS OIDC issuer URL; its second group is the tenant.
var aksIssuer = regexp.MustCompile(`(?i)^(https://[a-z0-9-]+\.oic\.prod-aks\.azure\.com/)([0-9a-f-]{36})(/[^/]+/?)$`)

// rewriteIssuer puts mimic's tenant into an AKS issuer URL, whose
// discovery document mimic serves under its own tenant.
func (a *applier) rewriteIssuer(u string) string {
	return aksIssuer.ReplaceAllString(u, "${1}"+a.opts.Tenant+"${3}")
}

// cluster keeps an AKS cluster's OIDC issuer exactly as exported (with
// mimic's tenant) in the provider's server-only state, and its kubelet
// identity.
func (a *applier) cluster(it *Item, d, old arm.Doc) error {
	p := d.Props()
	priv := arm.Doc{}
	for k, v := range old.Obj(arm.Private) {
		priv[k] = v
	}
	oidc := p.Obj("oidcIssuerProfile")
	if u := oidc.Str("issuerURL"); u != "" {
		u = a.rewriteIssuer(u)
		oidc["issuerURL"] = u
		if _, set := oidc.Bool("enabled"); !set {
			oidc["enabled"] = true
		}
		priv["issuerURL"] = u
		parts := strings.Split(strings.TrimSuffix(u, "/"), "/")
		priv["issuerId"] = parts[len(parts)-1]
	} else if priv.Str("issuerId") == "" {
		priv["issuerId"] = derivedGUID("issuer", d.Str("id"))
		priv["issuerURL"] = containerservice.IssuerURLFor(d.Str("location"), a.opts.Tenant, priv.Str("issuerId"))
	}
	// What AKS draws at create, derived from the id when the export does
	// not show it, so that importing again finds the same values.
	hexOf := func(what string, n int) string {
		return strings.ReplaceAll(derivedGUID(what, d.Str("id")), "-", "")[:2*n]
	}
	if priv.Str("fqdnHash") == "" {
		priv["fqdnHash"] = hexOf("fqdn", 4)
		if fqdn := p.Str("fqdn"); fqdn != "" {
			label := strings.SplitN(fqdn, ".", 2)[0]
			if i := strings.LastIndexByte(label, '-'); i >= 0 && len(label)-i-1 == 8 {
				if _, err := hex.DecodeString(label[i+1:]); err == nil {
					priv["fqdnHash"] = label[i+1:]
				}
			}
		}
	}
	if priv.Str("resourceUID") == "" {
		if uid := p.Str("resourceUID"); uid != "" {
			priv["resourceUID"] = uid
		} else {
			priv["resourceUID"] = hexOf("uid", 12)
		}
	}
	d[arm.Private] = priv
	if k := p.Obj("identityProfile").Obj(containerservice.KubeletIdentityKey); k != nil && k.Str("resourceId") != "" {
		field := it.field("properties.identityProfile." + containerservice.KubeletIdentityKey)
		managedBy := ""
		if nrg := p.Str("nodeResourceGroup"); nrg != "" {
			if kid, err := resourceid.Parse(k.Str("resourceId")); err == nil && strings.EqualFold(kid.ResourceGroup, nrg) {
				managedBy = d.Str("id")
			}
		}
		if err := a.ensureUserIdentity(it, field, k.Str("resourceId"), k.Str("objectId"), k.Str("clientId"), d.Str("location"), CodeKubeletCreated, managedBy); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) federated(it *Item) error {
	d := it.Doc
	rid, err := arm.ParseDocID(d)
	if err != nil {
		return err
	}
	if err := a.ensureScopes(rid, ""); err != nil {
		return err
	}
	p := d.Obj("properties")
	p["issuer"] = a.rewriteIssuer(p.Str("issuer"))
	parent := rid.Parent().String()
	ok, err := a.exists(parent)
	if err != nil {
		return err
	}
	if !ok {
		a.warn(it, "id", CodeMissingIdentity, parent, fmt.Sprintf("the identity %s is in no export: the federated credential is kept, but no token can be had through it until the identity is imported", parent))
	}
	return a.put(msi.FederatedType, d)
}

// assignment writes a role assignment, entering its principal in the
// directory or reporting it orphaned.
func (a *applier) assignment(it *Item) error {
	d := it.Doc
	p := d.Obj("properties")
	scope, err := resourceid.Parse(p.Str("scope"))
	if err != nil {
		return err
	}
	if err := a.ensureScopes(scope, ""); err != nil {
		return err
	}
	if scope.IsResourceGroup() {
		if err := a.ensureGroup(scope.Subscription, scope.ResourceGroup, "", ""); err != nil {
			return err
		}
	}
	if err := a.assignee(it, p); err != nil {
		return err
	}
	a.res.RBAC = true
	return a.put(authorization.AssignmentType, d)
}

// assignee resolves an assignment's principal. A managed identity of the
// export (or the store) is found; a principal az resolved in Microsoft
// Graph (principalName set), or a user or group in an export without names,
// is entered in the directory; anything else is orphaned, as Azure keeps
// assignments of deleted principals.
func (a *applier) assignee(it *Item, p arm.Doc) error {
	pid := strings.ToLower(p.Str("principalId"))
	if known, ok := a.principals[pid]; ok {
		if !known {
			a.res.Orphaned++
			a.warn(it, it.field("properties.principalId"), CodeOrphaned, pid, "")
		}
		return nil
	}
	_, err := a.tx.GetPrincipal(a.ctx, pid)
	if err == nil {
		a.principals[pid] = true
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	pt := p.Str("principalType")
	name := ""
	named := it.PrincipalName != nil
	if named {
		name = *it.PrincipalName
	}
	var kind store.PrincipalKind
	switch {
	case strings.EqualFold(pt, authorization.OrphanedType):
	case named && name == "":
	case strings.EqualFold(pt, "User"):
		kind = store.KindUser
	case strings.EqualFold(pt, "Group"), strings.EqualFold(pt, "ForeignGroup"):
		kind = store.KindGroup
	case strings.EqualFold(pt, "Device"):
		kind = store.KindDevice
	case named && (pt == "" || strings.EqualFold(pt, "ServicePrincipal")):
		kind = store.KindApplication
	}
	if kind == "" {
		a.principals[pid] = false
		a.res.Orphaned++
		why := "no export holds it"
		switch {
		case named:
			why = "az found no such principal in Microsoft Graph (principalName is empty)"
		case strings.EqualFold(pt, authorization.OrphanedType):
			why = "its principal type is Unknown"
		case pt != "":
			why = "no export holds this " + pt + " (export the identities, or role assignments with az, which names principals)"
		}
		a.warn(it, it.field("properties.principalId"), CodeOrphaned, pid, fmt.Sprintf("principal %s: %s; its role assignments are kept, orphaned, as Azure keeps them, and grant nothing", pid, why))
		return nil
	}
	clientID := derivedGUID("directory-client", pid)
	if kind == store.KindApplication && authorization.IsGUID(name) {
		if _, err := a.tx.PrincipalByClientID(a.ctx, name); errors.Is(err, store.ErrNotFound) {
			clientID = name // az names a service principal by its appId
		}
	}
	if err := a.tx.CreatePrincipal(a.ctx, &store.Principal{ObjectID: pid, ClientID: clientID, Kind: kind, DisplayName: name}); err != nil {
		return err
	}
	a.principals[pid] = true
	a.res.Directory++
	return nil
}

// ensurePrincipal creates an identity's principal with the exported ids.
// One that exists for the same resource is kept; one that belonged to
// another imported resource moves; a clash with anything else is reported
// and the principal is not created.
func (a *applier) ensurePrincipal(it *Item, p *store.Principal) error {
	oid := strings.ToLower(p.ObjectID)
	old, err := a.tx.GetPrincipal(a.ctx, oid)
	switch {
	case err == nil:
		if old.Kind == p.Kind && sameID(old.ResourceID, p.ResourceID) {
			a.principals[oid] = true
			return nil
		}
		if old.Kind == store.KindApplication && old.SecretHash != "" {
			a.warn(it, "", CodePrincipalConflict, oid, fmt.Sprintf("principal id %s belongs to the application %q in mimic's directory: the identity of %s is not entered", oid, old.DisplayName, p.ResourceID))
			return nil
		}
		if err := a.tx.DeletePrincipal(a.ctx, oid); err != nil {
			return err
		}
		if old.ResourceID != "" {
			a.warn(it, "", CodePrincipalConflict, oid, fmt.Sprintf("principal %s was the identity of %s; it is now that of %s", oid, old.ResourceID, p.ResourceID))
		}
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	if other, err := a.tx.PrincipalByClientID(a.ctx, p.ClientID); err == nil {
		a.warn(it, "", CodePrincipalConflict, p.ClientID, fmt.Sprintf("client id %s already belongs to principal %s (%s): the identity of %s is not entered", p.ClientID, other.ObjectID, other.DisplayName, p.ResourceID))
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := a.tx.CreatePrincipal(a.ctx, p); err != nil {
		return err
	}
	a.principals[oid] = true
	a.res.Principals++
	return nil
}

func sameID(x, y string) bool {
	ix, err1 := resourceid.Parse(x)
	iy, err2 := resourceid.Parse(y)
	if err1 != nil || err2 != nil {
		return strings.EqualFold(x, y)
	}
	return ix.Equal(iy)
}
