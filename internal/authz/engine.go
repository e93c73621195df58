package authz

import (
	"encoding/binary"
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
// When Allowed, Assignment and Role name the grant. Denied names the deny
// assignment that blocked the request, if one did, and Explain explains
// every decision. The pointers refer to the engine's read-only copies.
type Decision struct {
	Allowed    bool
	Assignment *Assignment
	Role       *Role
	deny       *compiledDeny // the deny assignment that blocked a grant
	reason     string
	// A grant's reason is cached on its record, and built on demand.
	grant *record
	// A refusal for want of a grant is explained on demand, from the
	// request: engine is set, and req is the request.
	engine *Engine
	req    Request
}

// Allow is a decision granted for a reason outside the engine, such as an
// account key or a Key Vault access policy.
func Allow(reason string) Decision { return Decision{Allowed: true, reason: reason} }

// Refuse is a decision refused for a reason outside the engine, such as a
// rejected token.
func Refuse(reason string) Decision { return Decision{reason: reason} }

// Explain returns the role assignment and role the decision rests on, and
// the reason for it. For a grant they are the granting assignment; for a
// refusal for want of a grant, the nearest miss, if any: an assignment
// whose condition failed, whose role's NotActions (or NotDataActions)
// excluded the action, or whose role has it only in the other plane.
//
// The engine decides without working out a refusal's explanation; Explain
// works it out, scanning the caller's assignments again. It reads the
// request's Principals and Attributes, so leave them unmodified until the
// decision is explained.
func (d Decision) Explain() (*Assignment, *Role, string) {
	switch {
	case d.grant != nil:
		return d.Assignment, d.Role, d.grant.allowReason(d.Role)
	case d.deny != nil:
		return nil, nil, d.deny.denyReason()
	case d.engine != nil:
		return d.engine.explainRefusal(&d.req)
	}
	return d.Assignment, d.Role, d.reason
}

// Denied returns the deny assignment that blocked the request, or nil.
// Deny assignments are evaluated before role assignments: one that applies
// blocks the request whether or not a role assignment grants it. The engine
// looks for one only when a role assignment grants the request; for a
// refusal for want of a grant, Denied looks when asked, and reads the
// request as Explain does.
func (d Decision) Denied() *DenyAssignment {
	switch {
	case d.deny != nil:
		return &d.deny.d
	case d.engine != nil:
		q := d.engine.newQuery(&d.req)
		if cd := q.deny(); cd != nil {
			return &cd.d
		}
	}
	return nil
}

// Reason is the reason Explain gives.
func (d Decision) Reason() string {
	_, _, s := d.Explain()
	return s
}

// Engine answers RBAC questions over a fixed set of roles, role assignments
// and deny assignments. It is immutable and safe for concurrent use; build a
// new one when the data changes.
type Engine struct {
	roles       map[string]*compiledRole
	roleList    []*compiledRole // by index
	entries     []entry         // grouped by principal, long groups sorted by scope key
	records     []record        // parallel to entries
	byPrincipal map[string]principal
	verdicts    [2]verdictCache // control plane, data plane

	denies       []compiledDeny
	denyEveryone []*compiledDeny
}

type span struct{ lo, hi int32 }

// principal is what the index holds for one principal id: its role
// assignments (a span of entries) and the deny assignments that name it.
type principal struct {
	span
	denies []*compiledDeny
}

// entry is the hot part of an indexed assignment: what a scan reads. The
// assignment itself lives in a parallel slab of records, touched only by a
// decision that names it, so a scan walks 32-byte entries.
type entry struct {
	key
	role int32 // index in Engine.roleList, or -1: an unknown role
	// rec is the index in Engine.records, or its complement (negative)
	// when the assignment has a condition, kept in the record.
	rec int32
}

// key is an assignment's or deny assignment's scope, as compared.
type key struct {
	scope string // lower-case scope key, no trailing '/'
	// tail is the key's last eight bytes as a word (keys longer than
	// eight), to reject most scopes without reading the key.
	tail uint64
}

type record struct {
	a      Assignment
	cond   *Condition
	reason atomic.Pointer[string] // the allow reason, built on first use
}

type block struct {
	actions, notActions, dataActions, notDataActions []Pattern
	cond                                             *Condition
}

type compiledRole struct {
	role        Role
	blocks      []block
	idx         int32
	hasCtl      bool // some block has Actions
	hasData     bool // some block has DataActions
	conditional bool // some block has a condition
}

type compiledDeny struct {
	d DenyAssignment
	key
	exclude []string // lower-case
	// perms are its permissions as a role, so that whether they match an
	// action is memoised like a role's verdict.
	perms  compiledRole
	reason atomic.Pointer[string]
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
		cr := &compiledRole{role: r, idx: int32(len(e.roleList))}
		for _, p := range r.Permissions {
			b := compileBlock(p)
			c, err := parse(p.Condition, p.ConditionVersion)
			if err != nil {
				return nil, fmt.Errorf("role %s (%s): %w", r.Name, id, err)
			}
			b.cond = c
			cr.add(b)
		}
		e.roles[id] = cr
		e.roleList = append(e.roleList, cr)
	}

	if err := e.indexAssignments(assignments, parse); err != nil {
		return nil, err
	}

	e.denies = make([]compiledDeny, len(denies))
	for i, d := range denies {
		cd := &e.denies[i]
		cd.d = d
		cd.perms.idx = int32(len(e.roleList) + i)
		k, ok := scopeKey(d.Scope)
		if !ok {
			return nil, fmt.Errorf("deny assignment %s: invalid scope %q", d.ID, d.Scope)
		}
		cd.key = key{scope: k, tail: keyTail(k)}
		for _, p := range d.Permissions {
			if p.Condition != "" {
				return nil, fmt.Errorf("deny assignment %s: conditions on deny assignments are not supported", d.ID)
			}
			cd.perms.add(compileBlock(p))
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
				pi := e.byPrincipal[p]
				pi.denies = append(pi.denies, cd)
				e.byPrincipal[p] = pi
			}
		}
	}
	return e, nil
}

// add appends a compiled permission block to the role.
func (cr *compiledRole) add(b block) {
	cr.hasCtl = cr.hasCtl || len(b.actions) > 0
	cr.hasData = cr.hasData || len(b.dataActions) > 0
	cr.conditional = cr.conditional || b.cond != nil
	cr.blocks = append(cr.blocks, b)
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
	roleOf := map[string]int32{} // by RoleID as given, to normalise each spelling once
	for pos, i := range order {
		a := &as[i]
		en := &e.entries[pos]
		en.rec = int32(pos)
		e.records[pos].a = *a
		en.key = key{scope: keys[i], tail: keyTail(keys[i])}
		ri, ok := roleOf[a.RoleID]
		if !ok {
			ri = -1
			if cr := e.roles[roleKey(a.RoleID)]; cr != nil {
				ri = cr.idx
			}
			roleOf[a.RoleID] = ri
		}
		en.role = ri
		c, err := parse(a.Condition, a.ConditionVersion)
		if err != nil {
			return fmt.Errorf("role assignment %s: %w", a.ID, err)
		}
		if c != nil {
			e.records[pos].cond = c
			en.rec = ^en.rec
		}
	}
	e.byPrincipal = make(map[string]principal, len(names))
	for g, name := range names {
		e.byPrincipal[name] = principal{span: span{starts[g], starts[g+1]}}
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

// requestScope prepares a request scope for key.contains: trailing '/'
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

// contains reports whether the key contains scope s (prepared by
// requestScope, or see query.contains) by whole segments:
// resourceid.KeyContains(k.scope, lower(s)). It takes two steps: rejects
// decides most scopes from the key's length and its tail word, without
// reading the key; containsRest compares the rest of the key.
func (k *key) contains(s string) bool { return !k.rejects(s) && k.containsRest(s) }

// keyTail is an entry's tail word: the last eight bytes of a longer key.
func keyTail(key string) uint64 {
	if n := len(key); n > 8 {
		return load64(key, n-8)
	}
	return 0
}

func (k *key) rejects(s string) bool {
	n := len(k.scope)
	if len(s) < n || len(s) > n && s[n] != '/' && n > 1 {
		return true // the root key, "/", contains every scope
	}
	return n > 8 && lowerWord(load64(s, n-8)) != k.tail
}

func (k *key) containsRest(s string) bool {
	n := len(k.scope)
	if n > 8 {
		n -= 8 // the tail word is compared by rejects
	}
	return n == 1 || hasPrefixFold(s[:n], k.scope[:n])
}

// cond is the entry's assignment condition, or nil.
func (e *Engine) cond(en *entry) *Condition {
	if en.rec >= 0 {
		return nil
	}
	return e.records[^en.rec].cond
}

// condHolds reports whether the assignment's condition, if any, holds.
func (e *Engine) condHolds(en *entry, r *Request) bool {
	c := e.cond(en)
	return c == nil || c.eval(r, nil) == tTrue
}

// permsAt is the role, or deny assignment's permissions, with memo index i.
func (e *Engine) permsAt(i int32) *compiledRole {
	if int(i) < len(e.roleList) {
		return e.roleList[i]
	}
	return &e.denies[int(i)-len(e.roleList)].perms
}

// roleOf is the entry's role, or nil when it is unknown.
func (e *Engine) roleOf(en *entry) *compiledRole {
	if en.role < 0 {
		return nil
	}
	return e.roleList[en.role]
}

func (e *Engine) record(en *entry) *record {
	if en.rec < 0 {
		return &e.records[^en.rec]
	}
	return &e.records[en.rec]
}

// lookup finds a principal in the index, lower-casing the id in a stack
// buffer so that the lookup does not allocate.
func (e *Engine) lookup(p string) principal {
	var buf [64]byte
	if low, ok := lowerInto(&buf, p); ok {
		return e.byPrincipal[string(low)]
	}
	return e.byPrincipal[strings.ToLower(p)]
}

// lowerInto lower-cases an ASCII string of up to 64 bytes into buf, eight
// bytes at a time; ok is false for a longer or non-ASCII string.
func lowerInto(buf *[64]byte, s string) (low []byte, ok bool) {
	if len(s) > len(buf) {
		return nil, false
	}
	var high uint64
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := load64(s, i)
		high |= w
		binary.LittleEndian.PutUint64(buf[i:], lowerWord(w))
	}
	for ; i < len(s); i++ {
		high |= uint64(s[i])
		buf[i] = lowerByte(s[i])
	}
	return buf[:len(s)], high&0x8080808080808080 == 0
}

// assignments is a principal's span of entries.
func (e *Engine) assignments(pi principal) []entry { return e.entries[pi.lo:pi.hi] }

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

// reaches reports whether the deny assignment covers a scope (prepared by
// requestScope) for a caller, whatever the action: its scope holds the
// scope (or is it, for DoNotApplyToChildScopes) and it excludes none of the
// caller's principals. Whether it names the caller is the index's business.
func (d *compiledDeny) reaches(principals []string, scope string) bool {
	if d.d.DoNotApplyToChildScopes {
		if !d.at(scope) {
			return false
		}
	} else if !d.key.contains(scope) {
		return false
	}
	return !d.excludes(principals)
}

// at reports whether a scope prepared by requestScope is the deny
// assignment's own.
func (d *compiledDeny) at(scope string) bool {
	return len(scope) == len(d.scope) && hasPrefixFold(scope, d.scope)
}

// excludes reports whether the deny assignment exempts one of principals.
func (d *compiledDeny) excludes(principals []string) bool {
	for _, x := range d.exclude {
		for _, p := range principals {
			if len(p) == len(x) && hasPrefixFold(p, x) || p == x {
				return true
			}
		}
	}
	return false
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
		for _, d := range e.lookup(p).denies {
			add(d)
		}
	}
	return out
}

// allowReason is the reason of a grant by the record's assignment, of
// role, built once.
func (rec *record) allowReason(role *Role) string {
	if s := rec.reason.Load(); s != nil {
		return *s
	}
	s := fmt.Sprintf("granted by role assignment %s: role %q (%s) assigned to %s at scope %s",
		rec.a.ID, role.Name, roleKey(role.ID), rec.a.PrincipalID, rec.a.Scope)
	if rec.a.Condition != "" {
		s += ", with its condition satisfied"
	}
	rec.reason.Store(&s)
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
	type roleCond struct {
		role *compiledRole
		cond *Condition
	}
	var seen []roleCond
	for _, p := range principals {
		it := newScopeIter(e.assignments(e.lookup(p)), s)
		for en := it.next(); en != nil; en = it.next() {
			cr := e.roleOf(en)
			cond := e.cond(en)
			k := roleCond{cr, cond}
			if cr == nil || slices.Contains(seen, k) {
				continue
			}
			seen = append(seen, k)
			for _, perm := range cr.role.Permissions {
				if cond != nil {
					if perm.Condition == "" {
						perm.Condition = cond.String()
					} else {
						perm.Condition = "(" + perm.Condition + ") AND (" + cond.String() + ")"
					}
					perm.ConditionVersion = cond.Version()
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
	list := e.assignments(e.lookup(principal))
	idx := make([]int, len(list))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(x, y int) int { return strings.Compare(list[x].scope, list[y].scope) })
	out := make([]*Assignment, len(list))
	for i, j := range idx {
		out[i] = &e.record(&list[j]).a
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
