package authz

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/mimic-emu/mimic/internal/roles"
)

// Permission is one permission block of a role (or deny assignment); the same
// type as the role catalogue's, so built-in definitions need no conversion.
type Permission = roles.Permission

// Role is a role definition as the engine sees it.
type Role struct {
	ID          string // GUID; a full role definition id is accepted too
	Name        string
	Permissions []Permission
}

// RoleFromDefinition converts a catalogue definition. The permission slices
// are shared, not copied.
func RoleFromDefinition(d *roles.Definition) Role {
	return Role{ID: d.ID, Name: d.RoleName, Permissions: d.Permissions}
}

// BuiltinRoles returns Azure's built-in roles, converted.
func BuiltinRoles() []Role {
	defs := roles.Builtin()
	out := make([]Role, len(defs))
	for i, d := range defs {
		out[i] = RoleFromDefinition(d)
	}
	return out
}

// Assignment is a role assignment.
type Assignment struct {
	ID          string
	PrincipalID string
	RoleID      string // GUID of the role definition (a full id is accepted)
	Scope       string // display id, e.g. /subscriptions/s/resourceGroups/rg
	// Condition, if set, must hold for the assignment to grant.
	Condition        string
	ConditionVersion string
}

// Everyone is the principal id that makes a deny assignment apply to all
// principals.
const Everyone = "00000000-0000-0000-0000-000000000000"

// DenyAssignment blocks actions for principals at a scope, whatever their
// role assignments grant.
type DenyAssignment struct {
	ID                      string
	Name                    string
	Scope                   string
	Principals              []string // object ids; Everyone means all
	ExcludePrincipals       []string // exempt, if the caller or any of its groups is listed
	Permissions             []Permission
	DoNotApplyToChildScopes bool
}

// Request is one authorization question.
type Request struct {
	// Principals are the caller's object id followed by the ids of the
	// groups it belongs to. The first one names the caller in reasons.
	Principals []string
	// Action is a control-plane action ("Microsoft.KeyVault/vaults/read")
	// or, with DataAction set, a data action
	// ("Microsoft.KeyVault/vaults/secrets/getSecret/action").
	Action     string
	DataAction bool
	// Scope is the id of the resource acted on, or of its parent scope
	// when the resource is not itself a scope (a blob's container).
	Scope string
	// SubOperation is the sub-operation conditions can test, such as
	// "Blob.List" for a listing under containers/blobs/read.
	SubOperation string
	// Attributes are the condition attributes the caller can supply; see
	// the Attr* constants. Keys match case-insensitively.
	Attributes map[string]string
}

// Decision is the answer to a Request, with its explanation.
//
// When Allowed, Assignment and Role name the grant. When a deny assignment
// blocked the request, Deny names it. Otherwise Assignment and Role, when
// set, name the closest miss (an assignment whose condition failed, or whose
// role's NotActions excluded the action). Reason is always set. The pointers
// refer to the engine's read-only copies.
type Decision struct {
	Allowed    bool
	Assignment *Assignment
	Role       *Role
	Deny       *DenyAssignment
	Reason     string
}

// Engine answers RBAC questions over a fixed set of roles, role assignments
// and deny assignments. It is immutable and safe for concurrent use; build a
// new one when the data changes.
type Engine struct {
	roles       map[string]*compiledRole
	entries     []entry // grouped by principal, each group sorted by scope key
	records     []record
	byPrincipal map[string]span

	denies       []compiledDeny
	denyEveryone []*compiledDeny
	denyBy       map[string][]*compiledDeny
}

type span struct{ lo, hi int32 }

// entry is the hot part of an indexed assignment: what a scan reads. The
// assignment itself lives in a parallel slab of records, touched only by a
// decision that names it, so a scan walks 48-byte entries.
type entry struct {
	scope string // lower-case scope key, no trailing '/'
	role  *compiledRole
	cond  *Condition
	rec   *record
	last  byte // scope[len(scope)-1], to reject most scopes without reading them
}

type record struct {
	a      Assignment
	reason atomic.Pointer[string] // the allow reason, built on first use
}

type block struct {
	actions, notActions, dataActions, notDataActions []Pattern
	cond                                             *Condition
}

type compiledRole struct {
	role    Role
	blocks  []block
	hasCtl  bool // some block has Actions
	hasData bool // some block has DataActions
}

type compiledDeny struct {
	d       DenyAssignment
	scope   string
	exclude []string // lower-case
	blocks  []block
	reason  atomic.Pointer[string]
}

// linearMax is the largest per-principal assignment list scanned linearly;
// longer lists are searched by the request scope's ancestors.
const linearMax = 24

// New builds an engine. It copies the assignments and deny assignments (their
// strings and slices are shared). Roles must have distinct ids (GUIDs, or
// full role definition ids, of which the last segment counts). An assignment
// whose role is not among roles is kept but grants nothing, and Check's
// reason says so. It is an error if ParseCondition rejects a condition, on an
// assignment or in a role; if a scope does not start with '/'; if an
// assignment has no principal; and if a deny assignment has no principals or
// carries a condition.
func New(roleList []Role, assignments []Assignment, denies []DenyAssignment) (*Engine, error) {
	e := &Engine{roles: make(map[string]*compiledRole, len(roleList))}
	conds := map[[2]string]*Condition{}
	parse := func(expr, version string) (*Condition, error) {
		if expr == "" {
			return nil, nil
		}
		k := [2]string{expr, version}
		if c, ok := conds[k]; ok {
			return c, nil
		}
		c, err := ParseCondition(expr, version)
		if err != nil {
			return nil, err
		}
		conds[k] = c
		return c, nil
	}
	for _, r := range roleList {
		id := roleKey(r.ID)
		if id == "" {
			return nil, fmt.Errorf("role %q has no id", r.Name)
		}
		if _, dup := e.roles[id]; dup {
			return nil, fmt.Errorf("duplicate role id %s", id)
		}
		cr := &compiledRole{role: r}
		for _, p := range r.Permissions {
			b := compileBlock(p)
			c, err := parse(p.Condition, p.ConditionVersion)
			if err != nil {
				return nil, fmt.Errorf("role %s (%s): %w", r.Name, id, err)
			}
			b.cond = c
			cr.hasCtl = cr.hasCtl || len(b.actions) > 0
			cr.hasData = cr.hasData || len(b.dataActions) > 0
			cr.blocks = append(cr.blocks, b)
		}
		e.roles[id] = cr
	}

	if err := e.indexAssignments(assignments, parse); err != nil {
		return nil, err
	}

	e.denies = make([]compiledDeny, len(denies))
	e.denyBy = map[string][]*compiledDeny{}
	for i, d := range denies {
		cd := &e.denies[i]
		cd.d = d
		key, ok := scopeKey(d.Scope)
		if !ok {
			return nil, fmt.Errorf("deny assignment %s: invalid scope %q", d.ID, d.Scope)
		}
		cd.scope = key
		for _, p := range d.Permissions {
			if p.Condition != "" {
				return nil, fmt.Errorf("deny assignment %s: conditions on deny assignments are not supported", d.ID)
			}
			cd.blocks = append(cd.blocks, compileBlock(p))
		}
		for _, x := range d.ExcludePrincipals {
			cd.exclude = append(cd.exclude, strings.ToLower(x))
		}
		if len(d.Principals) == 0 {
			return nil, fmt.Errorf("deny assignment %s: no principals", d.ID)
		}
		for _, p := range d.Principals {
			p = strings.ToLower(p)
			if p == Everyone {
				e.denyEveryone = append(e.denyEveryone, cd)
			} else {
				e.denyBy[p] = append(e.denyBy[p], cd)
			}
		}
	}
	return e, nil
}

func compileBlock(p Permission) block {
	return block{
		actions:        compileAll(p.Actions),
		notActions:     compileAll(p.NotActions),
		dataActions:    compileAll(p.DataActions),
		notDataActions: compileAll(p.NotDataActions),
	}
}

// indexAssignments groups assignments by lower-cased principal id in one
// slab: count, place, sort the long runs' indexes by scope key, then fill,
// so that a million assignments cost a few large allocations.
func (e *Engine) indexAssignments(as []Assignment, parse func(string, string) (*Condition, error)) error {
	n := len(as)
	if n > 1<<31-1 {
		return errors.New("too many role assignments")
	}
	group := make([]int32, n)
	keys := make([]string, n)
	groupOf := make(map[string]int32, n/8+1)
	var names []string
	var counts []int32
	intern := map[string]string{}
	for i := range as {
		a := &as[i]
		p := strings.ToLower(a.PrincipalID)
		if p == "" {
			return fmt.Errorf("role assignment %s: no principal id", a.ID)
		}
		g, ok := groupOf[p]
		if !ok {
			g = int32(len(names))
			groupOf[p] = g
			names = append(names, p)
			counts = append(counts, 0)
		}
		group[i] = g
		counts[g]++
		k, ok := intern[a.Scope]
		if !ok {
			if k, ok = scopeKey(a.Scope); !ok {
				return fmt.Errorf("role assignment %s: invalid scope %q", a.ID, a.Scope)
			}
			intern[a.Scope] = k
		}
		keys[i] = k
	}
	intern = nil

	starts := make([]int32, len(names)+1)
	for g, c := range counts {
		starts[g+1] = starts[g] + c
	}
	order := make([]int32, n)
	fill := slices.Clone(starts[:len(names)])
	for i, g := range group {
		order[fill[g]] = int32(i)
		fill[g]++
	}
	group, fill = nil, nil
	for g := range names {
		// Only runs long enough to be binary-searched need sorting; short
		// ones keep the input order, which is what Check tries first.
		run := order[starts[g]:starts[g+1]]
		if len(run) > linearMax {
			slices.SortStableFunc(run, func(x, y int32) int { return strings.Compare(keys[x], keys[y]) })
		}
	}

	e.entries = make([]entry, n)
	e.records = make([]record, n)
	roleOf := map[string]*compiledRole{} // by RoleID as given, to normalise each spelling once
	for pos, i := range order {
		a := &as[i]
		en := &e.entries[pos]
		en.rec = &e.records[pos]
		en.rec.a = *a
		en.scope = keys[i]
		en.last = en.scope[len(en.scope)-1]
		cr, ok := roleOf[a.RoleID]
		if !ok {
			cr = e.roles[roleKey(a.RoleID)]
			roleOf[a.RoleID] = cr
		}
		en.role = cr
		c, err := parse(a.Condition, a.ConditionVersion)
		if err != nil {
			return fmt.Errorf("role assignment %s: %w", a.ID, err)
		}
		en.cond = c
	}
	e.byPrincipal = make(map[string]span, len(names))
	for g, name := range names {
		e.byPrincipal[name] = span{starts[g], starts[g+1]}
	}
	return nil
}

// roleKey normalises a role id: the last path segment, lower-cased.
func roleKey(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:]
	}
	return strings.ToLower(id)
}

// scopeKey is the lower-case comparison key of a scope, without a trailing '/'.
func scopeKey(s string) (string, bool) {
	if s == "" || s[0] != '/' {
		return "", false
	}
	for len(s) > 1 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return strings.ToLower(s), true
}

// requestScope prepares a request scope for containsFold: trailing '/'
// trimmed, and lower-cased up front only when it has non-ASCII bytes (ASCII
// is folded during comparison, without allocating).
func requestScope(s string) (string, bool) {
	if s == "" || s[0] != '/' {
		return "", false
	}
	for len(s) > 1 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	if !isASCII(s) {
		s = strings.ToLower(s)
	}
	return s, true
}

// containsFold reports whether the scope with lower-case key contains scope s
// by whole segments: resourceid.KeyContains(key, lower(s)).
func containsFold(key, s string) bool {
	if key == "/" {
		return true
	}
	n := len(key)
	// Cheap rejections first: s must have a segment boundary right after
	// the key, and most keys that fail differ in their last byte (the end of
	// a name) or soon after the subscription id.
	if len(s) < n || len(s) > n && s[n] != '/' || lowerByte(s[n-1]) != key[n-1] {
		return false
	}
	return hasPrefixFold(s[:n-1], key[:n-1])
}

// contains is containsFold(en.scope, s), in two steps: rejects decides most
// scopes from the key's length and last byte, stored in the entry, and
// inlines; containsRest compares the rest of the key.
func (en *entry) contains(s string) bool { return !en.rejects(s) && en.containsRest(s) }

func (en *entry) rejects(s string) bool {
	n := len(en.scope)
	// Only the root key is one byte long, and it contains everything.
	return n > 1 && (len(s) < n || len(s) > n && s[n] != '/' || lowerByte(s[n-1]) != en.last)
}

func (en *entry) containsRest(s string) bool {
	n := len(en.scope)
	return n == 1 || hasPrefixFold(s[:n-1], en.scope[:n-1])
}

// grants reports whether the entry's assignment grants the request: a known
// role that allows the action, and the assignment's condition, if any, holds.
func (en *entry) grants(r *Request) bool {
	return en.role != nil && en.role.allows(r) && (en.cond == nil || en.cond.eval(r, nil) == tTrue)
}

// principalSpan finds a principal's assignments, lower-casing the id in a
// stack buffer so that the lookup does not allocate.
func (e *Engine) principalSpan(p string) []entry {
	var sp span
	var ok bool
	if len(p) <= 64 && isASCII(p) {
		var buf [64]byte
		for i := 0; i < len(p); i++ {
			buf[i] = lowerByte(p[i])
		}
		sp, ok = e.byPrincipal[string(buf[:len(p)])]
	} else {
		sp, ok = e.byPrincipal[strings.ToLower(p)]
	}
	if !ok {
		return nil
	}
	return e.entries[sp.lo:sp.hi]
}

func (e *Engine) principalDenies(p string) []*compiledDeny {
	if len(p) <= 64 && isASCII(p) {
		var buf [64]byte
		for i := 0; i < len(p); i++ {
			buf[i] = lowerByte(p[i])
		}
		return e.denyBy[string(buf[:len(p)])]
	}
	return e.denyBy[strings.ToLower(p)]
}

// scopeIter yields the entries of one principal whose scope contains the
// request scope. Short lists are scanned; long ones are binary-searched once
// per ancestor of the request scope ("/", then every '/' boundary, then the
// scope itself).
type scopeIter struct {
	list   []entry
	scope  string
	i      int  // linear: next index; search: next index within [i, hi)
	hi     int  // search: end of the current equal-key run
	cut    int  // search: end of the next ancestor prefix to look up, or -1 when done
	search bool // binary-search mode
}

func newScopeIter(list []entry, scope string) scopeIter {
	it := scopeIter{list: list, scope: scope}
	if len(list) > linearMax {
		it.search = true
		it.cut = 0 // the root first
	}
	return it
}

func (it *scopeIter) next() *entry {
	if !it.search {
		for it.i < len(it.list) {
			en := &it.list[it.i]
			it.i++
			if en.contains(it.scope) {
				return en
			}
		}
		return nil
	}
	for {
		if it.i < it.hi {
			en := &it.list[it.i]
			it.i++
			return en
		}
		if it.cut < 0 {
			return nil
		}
		var prefix string
		if it.cut == 0 {
			prefix = "/"
		} else {
			prefix = it.scope[:it.cut]
		}
		// Advance cut to the next '/' boundary, or to the whole scope, or
		// finish.
		switch {
		case it.cut >= len(it.scope):
			it.cut = -1
		default:
			j := strings.IndexByte(it.scope[it.cut+1:], '/')
			if j < 0 {
				it.cut = len(it.scope)
			} else {
				it.cut += 1 + j
			}
		}
		if prefix == "/" && it.scope == "/" {
			it.cut = -1
		}
		lo := it.lowerBound(prefix)
		hi := lo
		for hi < len(it.list) && compareFold(it.list[hi].scope, prefix) == 0 {
			hi++
		}
		it.i, it.hi = lo, hi
	}
}

func (it *scopeIter) lowerBound(prefix string) int {
	lo, hi := 0, len(it.list)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if compareFold(it.list[m].scope, prefix) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// allows reports whether some block of the role allows the request's action
// and its condition, if any, holds.
func (cr *compiledRole) allows(r *Request) bool {
	if r.DataAction && !cr.hasData || !r.DataAction && !cr.hasCtl {
		return false
	}
	for i := range cr.blocks {
		b := &cr.blocks[i]
		if b.matches(r) && (b.cond == nil || b.cond.eval(r, nil) == tTrue) {
			return true
		}
	}
	return false
}

func (b *block) matches(r *Request) bool {
	if r.DataAction {
		return matchAny(b.dataActions, r.Action) != nil && matchAny(b.notDataActions, r.Action) == nil
	}
	return matchAny(b.actions, r.Action) != nil && matchAny(b.notActions, r.Action) == nil
}

func (d *compiledDeny) applies(r *Request, scope string) bool {
	if !d.reaches(r.Principals, scope) {
		return false
	}
	for i := range d.blocks {
		if d.blocks[i].matches(r) {
			return true
		}
	}
	return false
}

// reaches reports whether the deny assignment covers a scope (prepared by
// requestScope) for a caller, whatever the action: its scope holds the
// scope (or is it, for DoNotApplyToChildScopes) and it excludes none of the
// caller's principals. Whether it names the caller is the index's business.
func (d *compiledDeny) reaches(principals []string, scope string) bool {
	if d.d.DoNotApplyToChildScopes {
		if len(scope) != len(d.scope) || !hasPrefixFold(scope, d.scope) {
			return false
		}
	} else if !containsFold(d.scope, scope) {
		return false
	}
	for _, x := range d.exclude {
		for _, p := range principals {
			if len(p) == len(x) && hasPrefixFold(p, x) || p == x {
				return false
			}
		}
	}
	return true
}

// DenyAssignmentsAt lists the deny assignments that apply to a caller (its
// object id, then its groups') at a scope, whatever the action: those for
// Everyone or naming one of the principals, excluding none of them, whose
// scope covers the scope. The analyzer uses them to take denied actions
// out of what an identity reaches.
func (e *Engine) DenyAssignmentsAt(principals []string, scope string) []DenyAssignment {
	s, ok := requestScope(scope)
	if !ok || len(e.denies) == 0 {
		return nil
	}
	var out []DenyAssignment
	var seen []*compiledDeny // few: a list, not a map
	add := func(d *compiledDeny) {
		if !slices.Contains(seen, d) && d.reaches(principals, s) {
			seen = append(seen, d)
			out = append(out, d.d)
		}
	}
	for _, d := range e.denyEveryone {
		add(d)
	}
	for _, p := range principals {
		for _, d := range e.principalDenies(p) {
			add(d)
		}
	}
	return out
}

func (e *Engine) findDeny(r *Request, scope string) *compiledDeny {
	for _, d := range e.denyEveryone {
		if d.applies(r, scope) {
			return d
		}
	}
	if len(e.denyBy) == 0 {
		return nil
	}
	for _, p := range r.Principals {
		for _, d := range e.principalDenies(p) {
			if d.applies(r, scope) {
				return d
			}
		}
	}
	return nil
}

// Check decides a request. Deny assignments are evaluated first and override
// every grant; then the caller's and its groups' role assignments at or above
// the scope are tried, principals in the order given and, for each, its
// assignments in input order (broader scopes first for principals with more
// than 24); the first that grants is reported.
// The allow path does not allocate once an assignment's reason is cached; a
// refusal allocates its explanation.
func (e *Engine) Check(r Request) Decision {
	if len(r.Principals) == 0 {
		return Decision{Reason: "the request names no principal"}
	}
	scope, ok := requestScope(r.Scope)
	if !ok {
		return Decision{Reason: fmt.Sprintf("invalid scope %q", r.Scope)}
	}
	if len(e.denies) > 0 {
		if d := e.findDeny(&r, scope); d != nil {
			return Decision{Deny: &d.d, Reason: d.denyReason()}
		}
	}
	// Remember the assignments that applied but did not grant, so that a
	// refusal can explain itself without scanning again.
	var missed [8]*entry
	en, total, inScope := e.scan(&r, scope, &missed)
	switch {
	case en != nil:
		return Decision{Allowed: true, Assignment: &en.rec.a, Role: &en.role.role, Reason: en.allowReason()}
	case inScope <= len(missed):
		return explain(&r, missed[:inScope], total)
	}
	return e.explainAll(&r, scope)
}

// Allowed is Check without the explanation, for bulk callers (the
// analyzer) that only need the verdict. It never allocates for ASCII ids.
func (e *Engine) Allowed(r Request) bool {
	if len(r.Principals) == 0 {
		return false
	}
	scope, ok := requestScope(r.Scope)
	if !ok {
		return false
	}
	if len(e.denies) > 0 && e.findDeny(&r, scope) != nil {
		return false
	}
	en, _, _ := e.scan(&r, scope, nil)
	return en != nil
}

// scan looks for an assignment that grants r at scope. It counts the
// principals' assignments (total) and those that applied without granting
// (inScope), recording the first of the latter in missed if it is not nil.
func (e *Engine) scan(r *Request, scope string, missed *[8]*entry) (grant *entry, total, inScope int) {
	for _, p := range r.Principals {
		list := e.principalSpan(p)
		total += len(list)
		if len(list) <= linearMax {
			// The common case, written out so that the per-entry test
			// inlines.
			for i := range list {
				en := &list[i]
				if en.rejects(scope) || !en.containsRest(scope) {
					continue
				}
				if en.grants(r) {
					return en, total, inScope
				}
				if missed != nil && inScope < len(missed) {
					missed[inScope] = en
				}
				inScope++
			}
			continue
		}
		it := newScopeIter(list, scope)
		for en := it.next(); en != nil; en = it.next() {
			if en.grants(r) {
				return en, total, inScope
			}
			if missed != nil && inScope < len(missed) {
				missed[inScope] = en
			}
			inScope++
		}
	}
	return nil, total, inScope
}

func (en *entry) allowReason() string {
	if s := en.rec.reason.Load(); s != nil {
		return *s
	}
	s := fmt.Sprintf("granted by role assignment %s: role %q (%s) assigned to %s at scope %s",
		en.rec.a.ID, en.role.role.Name, roleKey(en.role.role.ID), en.rec.a.PrincipalID, en.rec.a.Scope)
	if en.cond != nil {
		s += ", with its condition satisfied"
	}
	en.rec.reason.Store(&s)
	return s
}

func (d *compiledDeny) denyReason() string {
	if s := d.reason.Load(); s != nil {
		return *s
	}
	s := fmt.Sprintf("blocked by deny assignment %s (%q) at scope %s", d.d.ID, d.d.Name, d.d.Scope)
	if d.d.DoNotApplyToChildScopes {
		s += " (this scope only)"
	}
	d.reason.Store(&s)
	return s
}

// Permissions returns the permission blocks of every role assigned to the
// principals at or above scope, once per (role, assignment condition). A
// block of a conditional assignment carries the assignment's condition (ANDed
// with the block's own, if any). Deny assignments are not reflected, as in
// ARM's permissions listing. The string slices are shared: do not modify.
func (e *Engine) Permissions(principals []string, scope string) []Permission {
	s, ok := requestScope(scope)
	out := []Permission{}
	if !ok {
		return out
	}
	type key struct {
		role *compiledRole
		cond *Condition
	}
	var seen []key
	for _, p := range principals {
		it := newScopeIter(e.principalSpan(p), s)
		for en := it.next(); en != nil; en = it.next() {
			k := key{en.role, en.cond}
			if en.role == nil || slices.Contains(seen, k) {
				continue
			}
			seen = append(seen, k)
			for _, perm := range en.role.role.Permissions {
				if en.cond != nil {
					if perm.Condition == "" {
						perm.Condition = en.cond.String()
					} else {
						perm.Condition = "(" + perm.Condition + ") AND (" + en.cond.String() + ")"
					}
					perm.ConditionVersion = en.cond.Version()
				}
				out = append(out, perm)
			}
		}
	}
	return out
}

// AssignmentsFor returns the principal's role assignments (not its groups'),
// sorted by scope key, then in input order. The assignments are the
// engine's: do not modify them.
func (e *Engine) AssignmentsFor(principal string) []*Assignment {
	list := e.principalSpan(principal)
	idx := make([]int, len(list))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(x, y int) int { return strings.Compare(list[x].scope, list[y].scope) })
	out := make([]*Assignment, len(list))
	for i, j := range idx {
		out[i] = &list[j].rec.a
	}
	return out
}

// Role returns the engine's role with the given id.
func (e *Engine) Role(id string) (*Role, bool) {
	cr, ok := e.roles[roleKey(id)]
	if !ok {
		return nil, false
	}
	return &cr.role, true
}
