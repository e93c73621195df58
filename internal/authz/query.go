package authz

import "strings"

// Check decides a request. The caller's and its groups' role assignments
// at or above the scope are tried, principals in the order given and, for
// each, its assignments in input order (broader scopes first for
// principals with more than 24); the first that grants is reported, unless
// a deny assignment applies, which overrides every grant.
//
// Check does not allocate once the granting assignment's reason is cached.
// A refusal for want of a grant is explained, and the deny assignment that
// would have blocked it anyway named, when Decision.Explain and
// Decision.Denied are called.
func (e *Engine) Check(r Request) Decision {
	if len(r.Principals) == 0 {
		return Refuse("the request names no principal")
	}
	// An invalid scope contains nothing and is contained by nothing: the
	// request is refused, and the explanation says why.
	q := e.newQuery(&r)
	en := q.grant(nil)
	if en == nil {
		return Decision{engine: e, req: r}
	}
	if d := q.deny(); d != nil {
		return Decision{deny: d}
	}
	rec := e.record(en)
	return Decision{Allowed: true, Assignment: &rec.a, Role: &e.roleOf(en).role, grant: rec}
}

// Allowed is Check without the explanation, for bulk callers (the
// analyzer) that only need the verdict. It never allocates for ASCII ids.
func (e *Engine) Allowed(r Request) bool {
	if len(r.Principals) == 0 {
		return false
	}
	q := e.newQuery(&r)
	// Most requests are refused for want of a grant, so the grant is
	// looked for first.
	return q.grant(nil) != nil && q.deny() == nil
}

// query is one request being decided, or explained. It touches as little
// as it can: an assignment's scope is compared only when its role grants the
// action (or, when explaining, comes close), which the verdict memo
// answers, and the request scope is read only as far as comparisons go.
type query struct {
	e  *Engine
	r  Request // a copy: the caller's stays on its stack
	av actionVerdicts
	// principals are the index entries of the first principals, looked up
	// once; the rest (callers with many groups) are looked up as needed.
	principals [2]principal
	// The request scope is compared with short assignment lists as given,
	// reading only the bytes a comparison needs (ascii is how many of them
	// are known to be ASCII), and prepared by requestScope for the rest, or
	// once a non-ASCII byte turns up.
	ascii      int
	nonASCII   bool
	scope      string
	scopeState int8 // 0: not prepared yet; 1: valid; -1: invalid
}

func (e *Engine) newQuery(r *Request) query {
	q := query{e: e, r: *r}
	for i := range min(len(r.Principals), len(q.principals)) {
		q.principals[i] = e.lookup(r.Principals[i])
	}
	return q
}

func (q *query) principal(i int) principal {
	if i < len(q.principals) {
		return q.principals[i]
	}
	return q.e.lookup(q.r.Principals[i])
}

// scopeKey is the request scope prepared by requestScope, on first use.
func (q *query) scopeKey() (string, bool) {
	if q.scopeState == 0 {
		s, ok := requestScope(q.r.Scope)
		q.scope, q.scopeState = s, 1
		if !ok {
			q.scopeState = -1
		}
	}
	return q.scope, q.scopeState > 0
}

// contains reports whether the entry's scope contains the request's,
// resourceid.KeyContains(en.scope, lower-cased prepared scope), reading no
// more of the request scope than the key's length and one: where those
// bytes are ASCII, folding them is lower-casing, and a trailing '/' changes
// nothing (the key has none).
func (q *query) contains(k *key) bool {
	s := q.r.Scope
	if s == "" || s[0] != '/' {
		return false // invalid: it contains nothing and nothing contains it
	}
	if !q.nonASCII {
		m := min(len(s), len(k.scope)+1)
		if q.ascii >= m || q.checkASCII(m) {
			return k.contains(s)
		}
	}
	ls, ok := q.scopeKey()
	return ok && k.contains(ls)
}

// containsFront is contains compared from the front, for keys that are
// likely in cache (deny assignments'): most keys differ from the request
// scope within its first bytes, and a difference within an ASCII prefix
// settles it, whatever follows.
func (q *query) containsFront(k *key) bool {
	s := q.r.Scope
	if s == "" || s[0] != '/' {
		return false
	}
	n := len(k.scope)
	if n == 1 {
		return true // the root
	}
	m := min(len(s), n)
	i := 0
	for ; i+8 <= m; i += 8 {
		w := load64(s, i)
		if w&0x8080808080808080 != 0 {
			return q.contains(k)
		}
		if lowerWord(w) != load64(k.scope, i) {
			return false
		}
	}
	for ; i < m; i++ {
		if s[i] >= 0x80 {
			return q.contains(k)
		}
		if lowerByte(s[i]) != k.scope[i] {
			return false
		}
	}
	// s[:m] is ASCII and the key's first m bytes. A non-ASCII s[n] starts
	// a rune that does not lower-case to '/'.
	return len(s) == n || len(s) > n && s[n] == '/'
}

// at reports whether the request scope is the key's own (trailing '/'
// aside): the key contains it, and nothing but '/' follows.
func (q *query) at(k *key) bool {
	if !q.containsFront(k) {
		return false
	}
	if q.nonASCII { // compared lower-cased: see contains
		s, _ := q.scopeKey()
		return len(s) == len(k.scope)
	}
	// The key's bytes of the scope were ASCII: the rest starts at its
	// length.
	return strings.TrimRight(q.r.Scope[len(k.scope):], "/") == ""
}

// checkASCII extends the known ASCII prefix of the request scope to m
// bytes, or notes that it has a non-ASCII byte.
func (q *query) checkASCII(m int) bool {
	// On to the next multiple of 64 bytes, which the comparison is likely
	// to read anyway, so that the next key rarely needs another check.
	m = min(len(q.r.Scope), (m+63)&^63)
	if isASCII(q.r.Scope[q.ascii:m]) {
		q.ascii = m
		return true
	}
	q.nonASCII = true
	return false
}

// explanation is what a scan keeps for a refusal: the nearest miss among the
// assignments that apply at the scope, the first of them to an unknown role,
// and the principals' assignment count.
type explanation struct {
	best    *entry
	bestV   verdict
	unknown *entry
	total   int
}

// grant looks for an assignment that grants the request, filling ex, if it
// is not nil, with what a refusal's explanation needs.
func (q *query) grant(ex *explanation) *entry {
	for i := range q.r.Principals {
		list := q.e.assignments(q.principal(i))
		if ex != nil {
			ex.total += len(list)
		}
		if len(list) <= linearMax {
			if en := q.scan(list, ex); en != nil {
				return en
			}
			continue
		}
		scope, ok := q.scopeKey()
		if !ok {
			return nil
		}
		it := newScopeIter(list, scope)
		for en := it.next(); en != nil; en = it.next() {
			if q.grants(en, ex, true) {
				return en
			}
		}
	}
	return nil
}

// scan tries a short list of assignments in order. Without an explanation
// to keep, an assignment whose role is known not to grant the action costs
// a byte of the memo, and one whose role is known to grant it (without
// conditions) the scope comparison; the rest go through grants.
func (q *query) scan(list []entry, ex *explanation) *entry {
	memo := q.av.get(q.e, &q.r)
	if ex != nil || memo == nil {
		for j := range list {
			if en := &list[j]; q.grants(en, ex, false) {
				return en
			}
		}
		return nil
	}
	const granted = uint8(vGranted)<<1 | memoKnown
	for j := range list {
		en := &list[j]
		if en.role < 0 {
			continue
		}
		switch b := memo.at(en.role); {
		case b == granted:
			if q.contains(&en.key) && q.e.condHolds(en, &q.r) {
				return en
			}
		case b == 0 || b&memoConditional != 0:
			if q.grants(en, nil, false) {
				return en
			}
		}
	}
	return nil
}

// grants reports whether an assignment grants the request: its scope
// contains the request's (known already when inScope), its role allows the
// action, and its condition, if any, holds. A miss is noted in ex.
func (q *query) grants(en *entry, ex *explanation, inScope bool) bool {
	if en.role < 0 {
		if ex != nil && ex.unknown == nil && (inScope || q.contains(&en.key)) {
			ex.unknown = en
		}
		return false
	}
	v, conditional := q.verdict(en.role)
	if v == vNone || ex == nil && v != vGranted && !conditional {
		return false // nothing to grant, and no explanation wanted
	}
	if !inScope && !q.contains(&en.key) {
		return false
	}
	if conditional {
		// How close the role comes depends on the request.
		switch cr := q.e.roleList[en.role]; {
		case cr.allows(&q.r):
			v = vGranted
		case ex != nil:
			v = cr.diagnose(&q.r).v
		default:
			return false
		}
	}
	if v == vGranted && q.e.condHolds(en, &q.r) {
		return true
	}
	if ex != nil && (ex.best == nil || v > ex.bestV) {
		ex.best, ex.bestV = en, v
	}
	return false
}

// verdict is how the role, or deny assignment, with memo index i relates
// to the request's action (cr.diagnose(r).v), memoised when it can be, and
// whether the role has conditional blocks. For such a role only vNone holds
// for every request: conditions decide between vBlockCond and vGranted,
// never whether a pattern matched.
func (q *query) verdict(i int32) (verdict, bool) {
	memo := q.av.get(q.e, &q.r)
	if memo != nil {
		if b := memo.at(i); b != 0 {
			return verdict(b >> 1 & 7), b&memoConditional != 0
		}
	}
	cr := q.e.permsAt(i)
	v := cr.diagnose(&q.r).v
	if memo != nil {
		b := uint8(v)<<1 | memoKnown
		if cr.conditional {
			b |= memoConditional
		}
		memo.set(i, b)
	}
	return v, cr.conditional
}

// deny finds a deny assignment that blocks the request: for Everyone or
// naming one of its principals, matching the action, covering the scope,
// and excluding none of the principals.
func (q *query) deny() *compiledDeny {
	for _, d := range q.e.denyEveryone {
		if q.blocks(d) {
			return d
		}
	}
	for i := range q.r.Principals {
		for _, d := range q.principal(i).denies {
			if q.blocks(d) {
				return d
			}
		}
	}
	return nil
}

func (q *query) blocks(d *compiledDeny) bool {
	if v, _ := q.verdict(d.perms.idx); v != vGranted {
		return false
	}
	if d.d.DoNotApplyToChildScopes {
		if !q.at(&d.key) {
			return false
		}
	} else if !q.containsFront(&d.key) {
		return false
	}
	return !d.excludes(q.r.Principals)
}
