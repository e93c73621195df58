package authz

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Attribute keys a caller may supply in [Request.Attributes]. Keys are
// matched case-insensitively. For the two storage attributes the @Request and
// @Resource forms are interchangeable: a condition written with one finds a
// value supplied under the other.
const (
	// AttrContainerName is the blob container's name.
	AttrContainerName = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name]"
	// AttrBlobPath is the blob's path within its container (no container
	// name, no leading '/').
	AttrBlobPath = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path]"
	// AttrRequestRoleDefinitionID is the role definition GUID (or id) of the
	// role assignment being written (Microsoft.Authorization/roleAssignments/write).
	AttrRequestRoleDefinitionID = "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId]"
	// AttrRequestPrincipalID is the principal of the role assignment being written.
	AttrRequestPrincipalID = "@Request[Microsoft.Authorization/roleAssignments:PrincipalId]"
	// AttrRequestPrincipalType is the principal type ("User", "Group",
	// "ServicePrincipal") of the role assignment being written.
	AttrRequestPrincipalType = "@Request[Microsoft.Authorization/roleAssignments:PrincipalType]"
	// AttrResourceRoleDefinitionID is the role definition of the existing
	// role assignment being deleted (Microsoft.Authorization/roleAssignments/delete).
	AttrResourceRoleDefinitionID = "@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId]"
	// AttrResourcePrincipalID is the principal of the existing role assignment.
	AttrResourcePrincipalID = "@Resource[Microsoft.Authorization/roleAssignments:PrincipalId]"
	// AttrResourcePrincipalType is the principal type of the existing role assignment.
	AttrResourcePrincipalType = "@Resource[Microsoft.Authorization/roleAssignments:PrincipalType]"
)

type attrType uint8

const (
	attrString attrType = iota
	attrGUID
)

type attribute struct {
	key   string // canonical spelling
	alias string // the other source's spelling, or ""
	typ   attrType
}

var knownAttributes = func() map[string]*attribute {
	storageReq := func(s string) string { return "@Request[" + strings.TrimPrefix(s, "@Resource[") }
	list := []*attribute{
		{key: AttrContainerName, alias: storageReq(AttrContainerName)},
		{key: storageReq(AttrContainerName), alias: AttrContainerName},
		{key: AttrBlobPath, alias: storageReq(AttrBlobPath)},
		{key: storageReq(AttrBlobPath), alias: AttrBlobPath},
		{key: AttrRequestRoleDefinitionID, typ: attrGUID},
		{key: AttrRequestPrincipalID, typ: attrGUID},
		{key: AttrRequestPrincipalType},
		{key: AttrResourceRoleDefinitionID, typ: attrGUID},
		{key: AttrResourcePrincipalID, typ: attrGUID},
		{key: AttrResourcePrincipalType},
	}
	m := make(map[string]*attribute, len(list))
	for _, a := range list {
		m[strings.ToLower(a.key)] = a
	}
	return m
}()

// lookup finds the attribute's value in attrs, matching keys
// case-insensitively, then under its alias.
func (a *attribute) lookup(attrs map[string]string) (string, bool) {
	if len(attrs) == 0 {
		return "", false
	}
	if v, ok := attrs[a.key]; ok {
		return v, true
	}
	for k, v := range attrs {
		if strings.EqualFold(k, a.key) {
			return v, true
		}
	}
	if a.alias != "" {
		for k, v := range attrs {
			if strings.EqualFold(k, a.alias) {
				return v, true
			}
		}
	}
	return "", false
}

// truth is a three-valued boolean. unknown arises from an attribute the
// request did not supply; it propagates through NOT, and an unknown overall
// result does not grant (fail closed).
type truth uint8

const (
	tFalse truth = iota
	tTrue
	tUnknown
)

type nodeKind uint8

const (
	nAnd nodeKind = iota
	nOr
	nNot
	nActionMatches
	nSubOperationMatches
	nCompare
)

type cmpOp uint8

const (
	opStringEquals cmpOp = iota
	opStringStartsWith
	opStringLike
	opGUIDEquals
)

type quantifier uint8

const (
	qNone quantifier = iota
	qAnyOfAny
	qAllOfAny
	qAnyOfAll
	qAllOfAll
)

type node struct {
	kind  nodeKind
	kids  []*node
	pat   Pattern // nActionMatches
	str   string  // nSubOperationMatches
	attr  *attribute
	op    cmpOp
	fold  bool // IgnoreCase
	neg   bool // the Not form of the operator
	quant quantifier
	vals  []string   // GUIDs normalised; strings as written
	likes []likeExpr // opStringLike
}

// Condition is a parsed, evaluable Azure ABAC condition (version 2.0).
// It is immutable and safe for concurrent use.
type Condition struct {
	expr    string
	version string
	root    *node
}

// String returns the condition's text as given.
func (c *Condition) String() string { return c.expr }

// Version returns the condition version ("2.0").
func (c *Condition) Version() string { return c.version }

// Eval reports whether the condition holds for r. A condition that needs an
// attribute r does not supply is not satisfied, unless the rest of the
// expression decides the result without it.
func (c *Condition) Eval(r Request) bool { return c.eval(&r, nil) == tTrue }

// eval evaluates the condition; if missing is not nil it receives the first
// attribute that was needed and absent.
func (c *Condition) eval(r *Request, missing *string) truth {
	return c.root.eval(r, missing)
}

func (n *node) eval(r *Request, missing *string) truth {
	switch n.kind {
	case nAnd:
		res := tTrue
		for _, k := range n.kids {
			switch k.eval(r, missing) {
			case tFalse:
				return tFalse
			case tUnknown:
				res = tUnknown
			}
		}
		return res
	case nOr:
		res := tFalse
		for _, k := range n.kids {
			switch k.eval(r, missing) {
			case tTrue:
				return tTrue
			case tUnknown:
				res = tUnknown
			}
		}
		return res
	case nNot:
		switch n.kids[0].eval(r, missing) {
		case tTrue:
			return tFalse
		case tFalse:
			return tTrue
		}
		return tUnknown
	case nActionMatches:
		return truthOf(n.pat.Match(r.Action))
	case nSubOperationMatches:
		return truthOf(strings.EqualFold(r.SubOperation, n.str))
	}
	v, ok := n.attr.lookup(r.Attributes)
	if !ok {
		if missing != nil && *missing == "" {
			*missing = n.attr.key
		}
		return tUnknown
	}
	if n.attr.typ == attrGUID {
		// Compare normalised GUIDs without allocating: strip a path
		// prefix, then compare hex digits ignoring '-', '{', '}' and case.
		if i := strings.LastIndexByte(v, '/'); i >= 0 {
			v = v[i+1:]
		}
	}
	// A single-valued attribute makes ForAnyOf* and ForAllOf* the same:
	// "of any values" needs one right-hand value to compare true, "of all
	// values" needs every one to.
	all := n.quant == qAnyOfAll || n.quant == qAllOfAll
	for i := range n.vals {
		hit := n.compare(v, i) != n.neg
		if all && !hit {
			return tFalse
		}
		if !all && hit {
			return tTrue
		}
	}
	return truthOf(all)
}

func (n *node) compare(v string, i int) bool {
	want := n.vals[i]
	switch n.op {
	case opStringEquals:
		if n.fold {
			return strings.EqualFold(v, want)
		}
		return v == want
	case opStringStartsWith:
		if n.fold {
			return len(v) >= len(want) && strings.EqualFold(v[:len(want)], want)
		}
		return strings.HasPrefix(v, want)
	case opStringLike:
		return n.likes[i].match(v, n.fold)
	case opGUIDEquals:
		return guidEqual(v, want)
	}
	return false
}

func truthOf(b bool) truth {
	if b {
		return tTrue
	}
	return tFalse
}

// guidEqual compares v with want, a normalised GUID (32 lower-case hex
// digits), ignoring case and the characters "-{}" in v.
func guidEqual(v, want string) bool {
	j := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '-' || c == '{' || c == '}' {
			continue
		}
		if j >= len(want) || lowerByte(c) != want[j] {
			return false
		}
		j++
	}
	return j == len(want)
}

func normaliseGUID(s string) (string, bool) {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := lowerByte(s[i])
		switch {
		case c == '-' || c == '{' || c == '}':
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	return b.String(), b.Len() == 32
}

// likeExpr is a StringLike pattern: '*' matches any run of characters, '?'
// exactly one, and "\*" and "\?" match the literal characters.
type likeExpr struct {
	toks []likeTok
}

type likeTok struct {
	kind uint8 // 0 literal rune, 1 '?', 2 '*'
	r    rune
}

func compileLike(s string) likeExpr {
	var e likeExpr
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?'):
			e.toks = append(e.toks, likeTok{r: rune(s[i+1])})
			w = 2
		case r == '*':
			e.toks = append(e.toks, likeTok{kind: 2})
		case r == '?':
			e.toks = append(e.toks, likeTok{kind: 1})
		default:
			e.toks = append(e.toks, likeTok{r: r})
		}
		i += w
	}
	return e
}

// match is the classic wildcard matcher with single-star backtracking.
func (e *likeExpr) match(s string, fold bool) bool {
	ti, si := 0, 0
	starT, starS := -1, 0
	for si < len(s) {
		r, w := utf8.DecodeRuneInString(s[si:])
		if ti < len(e.toks) {
			t := e.toks[ti]
			switch {
			case t.kind == 2:
				starT, starS = ti, si
				ti++
				continue
			case t.kind == 1 || t.r == r || (fold && unicode.ToLower(t.r) == unicode.ToLower(r)):
				ti++
				si += w
				continue
			}
		}
		if starT < 0 {
			return false
		}
		// Let the last '*' absorb one more character and retry.
		_, w0 := utf8.DecodeRuneInString(s[starS:])
		starS += w0
		ti, si = starT+1, starS
	}
	for ti < len(e.toks) && e.toks[ti].kind == 2 {
		ti++
	}
	return ti == len(e.toks)
}

// ConditionError is a condition ParseCondition cannot evaluate. Pos is the
// 1-based character position of Token in the expression (0 for errors about
// the whole condition, such as its version).
type ConditionError struct {
	Pos   int
	Token string
	Msg   string
}

func (e *ConditionError) Error() string {
	return "invalid condition: " + e.Msg
}

// ParseCondition parses an Azure role assignment condition. Version must be
// "2.0" ("" is taken as "2.0", ARM's default). The supported subset:
//
//   - ActionMatches{'pattern'} and SubOperationMatches{'Blob.List'};
//   - the attributes listed as Attr* constants in this package;
//   - StringEquals, StringNotEquals, StringStartsWith, StringNotStartsWith,
//     StringLike, StringNotLike (each also with an IgnoreCase suffix) on
//     string attributes, GuidEquals and GuidNotEquals on GUID attributes,
//     each optionally prefixed with ForAnyOfAnyValues:, ForAllOfAnyValues:,
//     ForAnyOfAllValues: or ForAllOfAllValues: and then taking a {set};
//   - AND (&&), OR (||), NOT (!), parentheses; keywords are
//     case-insensitive; AND and OR may not be mixed without parentheses.
//
// Anything else is a *ConditionError naming the offending token and its
// position.
func ParseCondition(expr, version string) (*Condition, error) {
	if version != "" && version != "2.0" {
		return nil, &ConditionError{Token: version, Msg: fmt.Sprintf("unsupported condition version %q (only \"2.0\" is supported)", version)}
	}
	p := &parser{src: expr}
	p.next()
	if p.tok.kind == tEOF {
		return nil, &ConditionError{Pos: 1, Msg: "empty condition"}
	}
	root, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.errorf("unexpected %s after the end of the expression", p.tok.describe())
	}
	return &Condition{expr: expr, version: "2.0", root: root}, nil
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tLParen
	tRParen
	tLBrace
	tRBrace
	tComma
	tColon
	tBang
	tAndAnd
	tOrOr
	tString
	tWord
	tAttr
	tBad
)

type token struct {
	kind tokKind
	text string // raw text; for tString the contents without quotes
	pos  int    // 0-based byte offset
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of condition"
	case tString:
		return fmt.Sprintf("string '%s'", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

var singleCharTokens = map[byte]tokKind{'(': tLParen, ')': tRParen, '{': tLBrace, '}': tRBrace, ',': tComma, ':': tColon, '!': tBang}

type parser struct {
	src string
	off int
	tok token
	err *ConditionError // a lexing error, reported when the token is used
}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func (p *parser) next() {
	for p.off < len(p.src) && strings.IndexByte(" \t\r\n", p.src[p.off]) >= 0 {
		p.off++
	}
	start := p.off
	if p.off >= len(p.src) {
		p.tok = token{kind: tEOF, pos: start}
		return
	}
	c := p.src[p.off]
	switch {
	case strings.HasPrefix(p.src[p.off:], "&&"):
		p.off += 2
		p.tok = token{kind: tAndAnd, text: "&&", pos: start}
	case strings.HasPrefix(p.src[p.off:], "||"):
		p.off += 2
		p.tok = token{kind: tOrOr, text: "||", pos: start}
	case singleCharTokens[c] != 0:
		p.off++
		p.tok = token{kind: singleCharTokens[c], text: string(c), pos: start}
	case c == '\'':
		end := strings.IndexByte(p.src[p.off+1:], '\'')
		if end < 0 {
			p.off = len(p.src)
			p.tok = token{kind: tBad, text: p.src[start:], pos: start}
			p.err = p.errAt(start, p.src[start:], "unterminated string literal")
			return
		}
		p.off += end + 2
		p.tok = token{kind: tString, text: p.src[start+1 : p.off-1], pos: start}
	case c == '@':
		// @Source[name]
		end := strings.IndexByte(p.src[p.off:], ']')
		open := strings.IndexByte(p.src[p.off:], '[')
		if end < 0 || open < 0 || open > end {
			j := p.off + 1
			for j < len(p.src) && isWordByte(p.src[j]) {
				j++
			}
			p.off = j
			p.tok = token{kind: tBad, text: p.src[start:j], pos: start}
			p.err = p.errAt(start, p.src[start:j], fmt.Sprintf("malformed attribute %q (want @Source[name])", p.src[start:j]))
			return
		}
		p.off += end + 1
		p.tok = token{kind: tAttr, text: p.src[start:p.off], pos: start}
	case isWordByte(c):
		for p.off < len(p.src) && isWordByte(p.src[p.off]) {
			p.off++
		}
		p.tok = token{kind: tWord, text: p.src[start:p.off], pos: start}
	default:
		_, w := utf8.DecodeRuneInString(p.src[p.off:])
		p.off += w
		p.tok = token{kind: tBad, text: p.src[start:p.off], pos: start}
		p.err = p.errAt(start, p.tok.text, fmt.Sprintf("unexpected character %q", p.tok.text))
	}
}

// errAt builds an error at byte offset off, reported as a 1-based character
// position.
func (p *parser) errAt(off int, tok, msg string) *ConditionError {
	pos := utf8.RuneCountInString(p.src[:off]) + 1
	return &ConditionError{Pos: pos, Token: tok, Msg: fmt.Sprintf("%s at position %d", msg, pos)}
}

func (p *parser) errorf(format string, args ...any) *ConditionError {
	if p.tok.kind == tBad && p.err != nil {
		return p.err
	}
	return p.errAt(p.tok.pos, p.tok.text, fmt.Sprintf(format, args...))
}

func (p *parser) isKeyword(kw string) bool {
	return p.tok.kind == tWord && strings.EqualFold(p.tok.text, kw)
}

func (p *parser) parseExpr() (*node, *ConditionError) {
	first, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	var combined *node
	for {
		var kind nodeKind
		switch {
		case p.tok.kind == tAndAnd || p.isKeyword("AND"):
			kind = nAnd
		case p.tok.kind == tOrOr || p.isKeyword("OR"):
			kind = nOr
		default:
			if combined == nil {
				return first, nil
			}
			return combined, nil
		}
		if combined == nil {
			combined = &node{kind: kind, kids: []*node{first}}
		} else if combined.kind != kind {
			return nil, p.errorf("%s mixed with %s without parentheses; group them explicitly", p.tok.describe(), map[nodeKind]string{nAnd: "AND", nOr: "OR"}[combined.kind])
		}
		p.next()
		k, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		combined.kids = append(combined.kids, k)
	}
}

func (p *parser) parseUnary() (*node, *ConditionError) {
	if p.tok.kind == tBang || p.isKeyword("NOT") {
		p.next()
		k, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &node{kind: nNot, kids: []*node{k}}, nil
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() (*node, *ConditionError) {
	switch p.tok.kind {
	case tLParen:
		p.next()
		n, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.errorf("expected ')' but found %s", p.tok.describe())
		}
		p.next()
		return n, nil
	case tWord:
		name := p.tok
		var kind nodeKind
		switch {
		case strings.EqualFold(name.text, "ActionMatches"):
			kind = nActionMatches
		case strings.EqualFold(name.text, "SubOperationMatches"):
			kind = nSubOperationMatches
		default:
			p.next()
			if p.tok.kind == tLBrace || p.tok.kind == tLParen {
				return nil, p.errAt(name.pos, name.text, fmt.Sprintf("unknown function %q", name.text))
			}
			return nil, p.errAt(name.pos, name.text, fmt.Sprintf("unexpected %q: expected an attribute, a function, NOT or '('", name.text))
		}
		p.next()
		if p.tok.kind != tLBrace {
			return nil, p.errorf("expected '{' after %s but found %s", name.text, p.tok.describe())
		}
		p.next()
		if p.tok.kind != tString {
			return nil, p.errorf("expected a quoted string in %s{...} but found %s", name.text, p.tok.describe())
		}
		arg := p.tok.text
		p.next()
		if p.tok.kind != tRBrace {
			return nil, p.errorf("expected '}' but found %s", p.tok.describe())
		}
		p.next()
		if kind == nActionMatches {
			return &node{kind: kind, pat: CompilePattern(arg)}, nil
		}
		return &node{kind: kind, str: arg}, nil
	case tAttr:
		return p.parseComparison()
	case tEOF:
		return nil, p.errorf("unexpected end of condition: expected an expression")
	}
	return nil, p.errorf("unexpected %s: expected an attribute, a function, NOT or '('", p.tok.describe())
}

var operators = map[string]struct {
	op   cmpOp
	fold bool
	neg  bool
	typ  attrType
}{
	"stringequals":                  {opStringEquals, false, false, attrString},
	"stringequalsignorecase":        {opStringEquals, true, false, attrString},
	"stringnotequals":               {opStringEquals, false, true, attrString},
	"stringnotequalsignorecase":     {opStringEquals, true, true, attrString},
	"stringstartswith":              {opStringStartsWith, false, false, attrString},
	"stringstartswithignorecase":    {opStringStartsWith, true, false, attrString},
	"stringnotstartswith":           {opStringStartsWith, false, true, attrString},
	"stringnotstartswithignorecase": {opStringStartsWith, true, true, attrString},
	"stringlike":                    {opStringLike, false, false, attrString},
	"stringlikeignorecase":          {opStringLike, true, false, attrString},
	"stringnotlike":                 {opStringLike, false, true, attrString},
	"stringnotlikeignorecase":       {opStringLike, true, true, attrString},
	"guidequals":                    {opGUIDEquals, false, false, attrGUID},
	"guidnotequals":                 {opGUIDEquals, false, true, attrGUID},
}

var quantifiers = map[string]quantifier{
	"foranyofanyvalues": qAnyOfAny,
	"forallofanyvalues": qAllOfAny,
	"foranyofallvalues": qAnyOfAll,
	"forallofallvalues": qAllOfAll,
}

func (p *parser) parseComparison() (*node, *ConditionError) {
	at := p.tok
	attr := knownAttributes[strings.ToLower(at.text)]
	if attr == nil {
		return nil, p.errorf("unknown attribute %q", at.text)
	}
	p.next()
	if p.tok.kind != tWord {
		return nil, p.errorf("expected an operator after %s but found %s", at.text, p.tok.describe())
	}
	opTok := p.tok
	opText := opTok.text
	n := &node{kind: nCompare, attr: attr}
	if q, ok := quantifiers[strings.ToLower(opText)]; ok {
		p.next()
		if p.tok.kind != tColon {
			return nil, p.errorf("expected ':' after %s but found %s", opText, p.tok.describe())
		}
		p.next()
		if p.tok.kind != tWord {
			return nil, p.errorf("expected an operator after %s: but found %s", opText, p.tok.describe())
		}
		n.quant = q
		opTok = p.tok
		opText += ":" + opTok.text
	} else if p.peekColon() {
		return nil, p.errAt(opTok.pos, opTok.text, fmt.Sprintf("unknown operator %q", opTok.text+":…"))
	}
	op, ok := operators[strings.ToLower(opTok.text)]
	if !ok {
		return nil, p.errAt(opTok.pos, opTok.text, fmt.Sprintf("unknown operator %q", opText))
	}
	if op.typ != attr.typ {
		kind := map[attrType]string{attrString: "string", attrGUID: "GUID"}
		return nil, p.errAt(opTok.pos, opTok.text, fmt.Sprintf("operator %q does not apply to %s attribute %s", opText, kind[attr.typ], at.text))
	}
	n.op, n.fold, n.neg = op.op, op.fold, op.neg
	p.next()

	// Value: a literal, or a {set} after a cross-product quantifier.
	if p.tok.kind == tLBrace {
		if n.quant == qNone {
			return nil, p.errorf("operator %q takes a single value; use ForAnyOfAnyValues:%s for a set", opText, opTok.text)
		}
		p.next()
		for {
			if err := p.parseValue(n); err != nil {
				return nil, err
			}
			if p.tok.kind == tComma {
				p.next()
				continue
			}
			if p.tok.kind != tRBrace {
				return nil, p.errorf("expected ',' or '}' in value set but found %s", p.tok.describe())
			}
			p.next()
			break
		}
	} else if err := p.parseValue(n); err != nil {
		return nil, err
	}
	if n.op == opStringLike {
		n.likes = make([]likeExpr, len(n.vals))
		for i, v := range n.vals {
			n.likes[i] = compileLike(v)
		}
	}
	return n, nil
}

// peekColon reports whether the current word is directly followed by ':'.
func (p *parser) peekColon() bool {
	end := p.tok.pos + len(p.tok.text)
	return end < len(p.src) && p.src[end] == ':'
}

func (p *parser) parseValue(n *node) *ConditionError {
	t := p.tok
	switch {
	case t.kind == tString:
	case t.kind == tWord && n.attr.typ == attrGUID:
		// GUIDs may be written bare, as in Azure's built-in role conditions.
	default:
		return p.errorf("expected a quoted string value but found %s", t.describe())
	}
	v := t.text
	if n.attr.typ == attrGUID {
		g, ok := normaliseGUID(v)
		if !ok {
			return p.errAt(t.pos, t.text, fmt.Sprintf("invalid GUID %q", t.text))
		}
		v = g
	}
	n.vals = append(n.vals, v)
	p.next()
	return nil
}
