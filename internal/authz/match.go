package authz

import "strings"

// Pattern is a compiled action pattern: Azure's case-insensitive wildcard, in
// which '*' matches any run of characters, '/' included, and every other
// character matches itself. A '*' that fills a whole path segment ("/*/")
// may also match no segment at all, as Azure's built-in roles rely on:
// Managed Identity Operator's "…/userAssignedIdentities/*/assign/action"
// grants "…/userAssignedIdentities/assign/action". Compile patterns once with [CompilePattern] and
// reuse them; matching never allocates.
//
// Case folding is ASCII-only: Azure operation names are ASCII, and folding
// only A-Z keeps matching allocation-free and byte-exact for everything else.
type Pattern struct {
	kind  patternKind
	src   string   // as given
	lit   string   // lower-case: the literal, the prefix or the suffix
	suf   string   // lower-case suffix of a prefix*suffix pattern
	parts []string // lower-case pieces of a general pattern, split at '*'
	min   int      // shortest matching input
	// alts are the variants with one or more "/*/" collapsed to "/".
	alts []Pattern
}

type patternKind uint8

const (
	kindAll          patternKind = iota // "*"
	kindLiteral                         // no '*'
	kindPrefix                          // "abc*"
	kindSuffix                          // "*abc"
	kindPrefixSuffix                    // "abc*def"
	kindGeneral                         // two or more non-adjacent '*' with text between
)

// CompilePattern compiles an action pattern.
func CompilePattern(p string) Pattern {
	low := lowerASCII(p)
	// Runs of '*' mean the same as one.
	for strings.Contains(low, "**") {
		low = strings.ReplaceAll(low, "**", "*")
	}
	pt := Pattern{src: p}
	n := strings.Count(low, "*")
	switch {
	case low == "*":
		pt.kind = kindAll
	case n == 0:
		pt.kind, pt.lit = kindLiteral, low
	case n == 1 && strings.HasSuffix(low, "*"):
		pt.kind, pt.lit = kindPrefix, low[:len(low)-1]
	case n == 1 && strings.HasPrefix(low, "*"):
		pt.kind, pt.lit = kindSuffix, low[1:]
	case n == 1:
		i := strings.IndexByte(low, '*')
		pt.kind, pt.lit, pt.suf = kindPrefixSuffix, low[:i], low[i+1:]
	default:
		pt.kind = kindGeneral
		pt.parts = strings.Split(low, "*")
	}
	pt.min = len(low) - strings.Count(low, "*")
	pt.alts = collapsed(low)
	return pt
}

// maxCollapse bounds the "/*/" segments whose collapse is tried (2^n
// variants); built-in roles have at most one per pattern.
const maxCollapse = 6

// collapsed compiles the variants of p with "/*/" collapsed to "/", for
// each non-empty subset of its first maxCollapse such segments.
func collapsed(p string) []Pattern {
	var at []int
	for i := 0; i+3 <= len(p) && len(at) < maxCollapse; i++ {
		if p[i:i+3] == "/*/" {
			at = append(at, i)
		}
	}
	var out []Pattern
	for mask := 1; mask < 1<<len(at); mask++ {
		var b strings.Builder
		prev := 0
		for j, i := range at {
			if mask&(1<<j) != 0 {
				b.WriteString(p[prev:i])
				prev = i + 2 // drop "/*", keep the second '/'
			}
		}
		b.WriteString(p[prev:])
		v := CompilePattern(b.String())
		v.alts = nil // its own collapses are among this pattern's subsets
		out = append(out, v)
	}
	return out
}

// String returns the pattern as it was given.
func (p Pattern) String() string { return p.src }

// Match reports whether action matches the pattern.
func (p *Pattern) Match(action string) bool {
	if p.match(action) {
		return true
	}
	for i := range p.alts {
		if p.alts[i].match(action) {
			return true
		}
	}
	return false
}

func (p *Pattern) match(action string) bool {
	if len(action) < p.min {
		return false
	}
	switch p.kind {
	case kindAll:
		return true
	case kindLiteral:
		return len(action) == len(p.lit) && hasPrefixFold(action, p.lit)
	case kindPrefix:
		return hasPrefixFold(action, p.lit)
	case kindSuffix:
		return hasSuffixFold(action, p.lit)
	case kindPrefixSuffix:
		return hasPrefixFold(action, p.lit) && hasSuffixFold(action, p.suf)
	}
	// General: the first piece anchors the start, the last the end, and the
	// ones between are found leftmost-first, which is optimal for '*'-only
	// globs. min guarantees the anchors do not overlap.
	first, last := p.parts[0], p.parts[len(p.parts)-1]
	if !hasPrefixFold(action, first) || !hasSuffixFold(action, last) {
		return false
	}
	mid := action[len(first) : len(action)-len(last)]
	for _, part := range p.parts[1 : len(p.parts)-1] {
		i := indexFold(mid, part)
		if i < 0 {
			return false
		}
		mid = mid[i+len(part):]
	}
	return true
}

// Match reports whether action matches the Azure action pattern. It compiles
// the pattern on every call; use [CompilePattern] on hot paths.
func Match(pattern, action string) bool {
	p := CompilePattern(pattern)
	return p.Match(action)
}

// MatchAny reports whether action matches one of the Azure action
// patterns, compiling them as Match does.
func MatchAny(patterns []string, action string) bool {
	for _, p := range patterns {
		if Match(p, action) {
			return true
		}
	}
	return false
}

func matchAny(ps []Pattern, action string) *Pattern {
	for i := range ps {
		if ps[i].Match(action) {
			return &ps[i]
		}
	}
	return nil
}

func compileAll(ss []string) []Pattern {
	if len(ss) == 0 {
		return nil
	}
	out := make([]Pattern, len(ss))
	for i, s := range ss {
		out[i] = CompilePattern(s)
	}
	return out
}

func lowerByte(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// lowerASCII lower-cases A-Z only, without allocating when there is nothing
// to change.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lowerByte(b[j])
			}
			return string(b)
		}
	}
	return s
}

func isASCII(s string) bool {
	for len(s) >= 8 {
		if load64(s, 0)&0x8080808080808080 != 0 {
			return false
		}
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// hasPrefixFold reports whether s starts with lower, a lower-case string,
// folding A-Z in s. It compares eight bytes at a time.
func hasPrefixFold(s, lower string) bool {
	if len(s) < len(lower) {
		return false
	}
	i := 0
	for ; i+8 <= len(lower); i += 8 {
		if lowerWord(load64(s, i)) != load64(lower, i) {
			return false
		}
	}
	for ; i < len(lower); i++ {
		if lowerByte(s[i]) != lower[i] {
			return false
		}
	}
	return true
}

// load64 reads s[i:i+8] as a little-endian word (the compiler merges the
// byte loads into one).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// lowerWord lower-cases the bytes 'A'..'Z' of a word and leaves every other
// byte, including those >= 0x80, unchanged.
func lowerWord(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	low7 := w &^ highs
	geA := low7 + (0x80-'A')*ones    // high bit set where the byte is >= 'A'
	gtZ := low7 + (0x80-'Z'-1)*ones  // high bit set where the byte is > 'Z'
	upper := geA &^ gtZ &^ w & highs // 'A'..'Z', and not a byte >= 0x80
	return w | upper>>2              // 0x80 >> 2 == 0x20
}

func hasSuffixFold(s, lower string) bool {
	return len(s) >= len(lower) && hasPrefixFold(s[len(s)-len(lower):], lower)
}

// indexFold is the index of the first occurrence of lower in s, folding A-Z
// in s, or -1.
func indexFold(s, lower string) int {
	if len(lower) == 0 {
		return 0
	}
	c0 := lower[0]
	for i := 0; i+len(lower) <= len(s); i++ {
		if lowerByte(s[i]) == c0 && hasPrefixFold(s[i+1:], lower[1:]) {
			return i
		}
	}
	return -1
}

// compareFold compares key, a lower-case string, with s folded to lower case,
// like strings.Compare(key, lowerASCII(s)).
func compareFold(key, s string) int {
	n := min(len(key), len(s))
	for i := 0; i < n; i++ {
		a, b := key[i], lowerByte(s[i])
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(key) < len(s):
		return -1
	case len(key) > len(s):
		return 1
	}
	return 0
}
