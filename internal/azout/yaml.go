package azout

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// YAML renders v as PyYAML's safe_dump(v, default_flow_style=False,
// allow_unicode=True) does, which is az's yaml output: keys sorted, two
// spaces of indentation with sequences in mappings not indented, scalars
// plain where YAML 1.1 would read them back as the same string and
// single-quoted otherwise, long lines folded at 80 columns, and a bare
// plain scalar ended with "...".
//
// gopkg.in/yaml.v3 cannot be told to emit PyYAML's layout (indentless
// sequences, single quotes, the 80-column folding), so this small emitter
// covers the JSON subset az prints.
func YAML(v any) []byte {
	e := &yemit{}
	switch {
	case isEmpty(v):
		e.write(emptyFlow(v))
		e.newline()
	case isObject(v):
		e.mapping(v, 0, false)
		e.newline()
	case isList(v):
		e.sequence(v.([]any), 0, false)
		e.newline()
	default:
		plain := e.scalar(v, 0, false)
		e.newline()
		if plain {
			e.write("...")
			e.newline()
		}
	}
	return []byte(e.b.String())
}

const yamlWidth = 80

type yemit struct {
	b   strings.Builder
	col int
}

func (e *yemit) write(s string) {
	e.b.WriteString(s)
	e.col += utf8.RuneCountInString(s)
}

func (e *yemit) newline() {
	e.b.WriteByte('\n')
	e.col = 0
}

// indent starts a new line at column n.
func (e *yemit) indent(n int) {
	e.newline()
	e.write(strings.Repeat(" ", n))
}

func isObject(v any) bool {
	switch v.(type) {
	case map[string]any, Ordered:
		return true
	}
	return false
}

func isList(v any) bool { _, ok := v.([]any); return ok }

func isEmpty(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return len(x) == 0
	case Ordered:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

func emptyFlow(v any) string {
	if isList(v) {
		return "[]"
	}
	return "{}"
}

// startLine starts a line at column n (the first line of the document
// starts without a line break).
func (e *yemit) startLine(n int) {
	if e.b.Len() > 0 {
		e.newline()
	}
	e.write(strings.Repeat(" ", n))
}

// mapping writes a block mapping whose keys stand at column n; inline
// means the first key continues the current line (after "- " or ": ").
func (e *yemit) mapping(v any, n int, inline bool) {
	for i, k := range sortedKeys(v) {
		if i > 0 || !inline {
			e.startLine(n)
		}
		val := field(v, k)
		if simpleKey(k) {
			e.scalar(k, n+2, true)
			e.write(":")
			e.value(val, n)
			continue
		}
		// PyYAML writes a key of 128 characters or more, or spanning
		// lines, as a complex key: "? key", then ": value".
		e.write("? ")
		e.scalar(k, n+2, false)
		e.startLine(n)
		e.write(":")
		switch {
		case isEmpty(val):
			e.write(" " + emptyFlow(val))
		case isObject(val):
			e.write(" ")
			e.mapping(val, n+2, true)
		case isList(val):
			e.write(" ")
			e.sequence(val.([]any), n+2, true)
		default:
			e.write(" ")
			e.scalar(val, n+2, false)
		}
	}
}

// value writes what follows "key:" in a mapping whose keys stand at
// column n; a sequence there is not indented.
func (e *yemit) value(val any, n int) {
	switch {
	case isEmpty(val):
		e.write(" " + emptyFlow(val))
	case isObject(val):
		e.mapping(val, n+2, false)
	case isList(val):
		e.sequence(val.([]any), n, false)
	default:
		e.write(" ")
		e.scalar(val, n+2, false)
	}
}

// sequence writes a block sequence whose dashes stand at column n.
func (e *yemit) sequence(list []any, n int, inline bool) {
	for i, item := range list {
		if i > 0 || !inline {
			e.startLine(n)
		}
		e.write("- ")
		switch {
		case isEmpty(item):
			e.write(emptyFlow(item))
		case isObject(item):
			e.mapping(item, n+2, true)
		case isList(item):
			e.sequence(item.([]any), n+2, true)
		default:
			e.scalar(item, n+2, false)
		}
	}
}

// simpleKey reports whether PyYAML writes a mapping key as a simple key.
func simpleKey(k string) bool {
	return utf8.RuneCountInString(k) < 128 && !strings.ContainsAny(k, "\n\u0085\u2028\u2029")
}

// scalar writes a scalar; continuation lines of folded text start at
// column n. It reports whether the scalar was written plain.
func (e *yemit) scalar(v any, n int, key bool) bool {
	switch x := v.(type) {
	case nil:
		e.write("null")
		return true
	case bool:
		if x {
			e.write("true")
		} else {
			e.write("false")
		}
		return true
	case json.Number:
		e.write(yamlNumber(x))
		return true
	case float64:
		e.write(yamlNumber(json.Number(pyFloat(x))))
		return true
	case string:
		a := analyze(x)
		switch {
		case resolvesToStr(x) && !(key && (a.empty || a.multiline)) && a.allowBlockPlain:
			e.plain(x, n, !key)
			return true
		case a.allowSingle && !(key && a.multiline):
			e.single(x, n, !key)
		default:
			e.double(x)
		}
		return false
	}
	e.write(fmt.Sprint(v))
	return true
}

// yamlNumber is PyYAML's representation of a number: repr, lower case,
// with ".0" before an exponent that has no decimal point.
func yamlNumber(n json.Number) string {
	s := strings.ToLower(pyNumber(n))
	switch s {
	case "inf":
		return ".inf"
	case "-inf":
		return "-.inf"
	case "nan":
		return ".nan"
	}
	if !strings.Contains(s, ".") && strings.Contains(s, "e") {
		s = strings.Replace(s, "e", ".0e", 1)
	}
	return s
}

// plain writes a plain scalar, folding at single spaces past the width.
func (e *yemit) plain(s string, n int, split bool) {
	rs := []rune(s)
	start := 0
	spaces := false
	for end := 0; end <= len(rs); end++ {
		var ch rune = -1
		if end < len(rs) {
			ch = rs[end]
		}
		if spaces {
			if ch != ' ' {
				if start+1 == end && e.col > yamlWidth && split {
					e.indent(n)
				} else {
					e.write(string(rs[start:end]))
				}
				start = end
			}
		} else if ch == -1 || ch == ' ' {
			e.write(string(rs[start:end]))
			start = end
		}
		spaces = ch == ' '
	}
}

// single writes a single-quoted scalar as PyYAML does: quotes doubled,
// line breaks as empty lines, folding at single spaces past the width.
func (e *yemit) single(s string, n int, split bool) {
	e.write("'")
	rs := []rune(s)
	start := 0
	spaces, breaks := false, false
	isBreak := func(r rune) bool { return r == '\n' || r == '\u0085' || r == '\u2028' || r == '\u2029' }
	for end := 0; end <= len(rs); end++ {
		var ch rune = -1
		if end < len(rs) {
			ch = rs[end]
		}
		switch {
		case spaces:
			if ch != ' ' {
				if start+1 == end && e.col > yamlWidth && split && start != 0 && end != len(rs) {
					e.indent(n)
				} else {
					e.write(string(rs[start:end]))
				}
				start = end
			}
		case breaks:
			if ch == -1 || !isBreak(ch) {
				if rs[start] == '\n' {
					e.newline()
				}
				for _, br := range rs[start:end] {
					if br == '\n' {
						e.newline()
					} else {
						e.b.WriteRune(br)
						e.col = 0
					}
				}
				e.write(strings.Repeat(" ", n))
				start = end
			}
		default:
			if ch == -1 || ch == ' ' || isBreak(ch) || ch == '\'' {
				if start < end {
					e.write(string(rs[start:end]))
					start = end
				}
			}
		}
		if ch == '\'' {
			e.write("''")
			start = end + 1
		}
		if ch != -1 {
			spaces = ch == ' '
			breaks = isBreak(ch)
		}
	}
	e.write("'")
}

// double writes a double-quoted scalar with YAML's escapes.
func (e *yemit) double(s string) {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case 0:
			b.WriteString(`\0`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\v':
			b.WriteString(`\v`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		case 0x1b:
			b.WriteString(`\e`)
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case 0x85:
			b.WriteString(`\N`)
		case 0xa0:
			b.WriteString(`\_`)
		case 0x2028:
			b.WriteString(`\L`)
		case 0x2029:
			b.WriteString(`\P`)
		default:
			if printable(r) {
				b.WriteRune(r)
			} else if r <= 0xff {
				fmt.Fprintf(&b, `\x%02X`, r)
			} else if r <= 0xffff {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				fmt.Fprintf(&b, `\U%08X`, r)
			}
		}
	}
	b.WriteByte('"')
	e.write(b.String())
}

func printable(r rune) bool {
	return r == '\n' || (r >= 0x20 && r <= 0x7e) || r == 0x85 || (r >= 0xa0 && r <= 0xd7ff) ||
		(r >= 0xe000 && r <= 0xfffd && r != 0xfeff) || (r >= 0x10000 && r < 0x10ffff)
}

type scalarAnalysis struct {
	empty, multiline                          bool
	allowFlowPlain, allowBlockPlain           bool
	allowSingle, allowDouble, allowBlockStyle bool
}

// analyze is PyYAML's Emitter.analyze_scalar with allow_unicode.
func analyze(s string) scalarAnalysis {
	if s == "" {
		return scalarAnalysis{empty: true, allowBlockPlain: true, allowSingle: true, allowDouble: true}
	}
	rs := []rune(s)
	isWS := func(r rune) bool {
		return r == 0 || r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == 0x85 || r == 0x2028 || r == 0x2029
	}
	isBreak := func(r rune) bool { return r == '\n' || r == 0x85 || r == 0x2028 || r == 0x2029 }
	var blockInd, flowInd, lineBreaks, special bool
	var leadingSpace, leadingBreak, trailingSpace, trailingBreak, breakSpace, spaceBreak bool
	if strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		blockInd, flowInd = true, true
	}
	preceded := true
	followed := len(rs) == 1 || isWS(rs[1])
	prevSpace, prevBreak := false, false
	for i, ch := range rs {
		if i == 0 {
			if strings.ContainsRune("#,[]{}&*!|>'\"%@`", ch) {
				flowInd, blockInd = true, true
			}
			if ch == '?' || ch == ':' {
				flowInd = true
				if followed {
					blockInd = true
				}
			}
			if ch == '-' && followed {
				flowInd, blockInd = true, true
			}
		} else {
			if strings.ContainsRune(",?[]{}", ch) {
				flowInd = true
			}
			if ch == ':' {
				flowInd = true
				if followed {
					blockInd = true
				}
			}
			if ch == '#' && preceded {
				flowInd, blockInd = true, true
			}
		}
		if isBreak(ch) {
			lineBreaks = true
		}
		if !(ch == '\n' || (ch >= 0x20 && ch <= 0x7e)) {
			if !((ch == 0x85 || (ch >= 0xa0 && ch <= 0xd7ff) || (ch >= 0xe000 && ch <= 0xfffd) || (ch >= 0x10000 && ch < 0x10ffff)) && ch != 0xfeff) {
				special = true
			}
		}
		switch {
		case ch == ' ':
			if i == 0 {
				leadingSpace = true
			}
			if i == len(rs)-1 {
				trailingSpace = true
			}
			if prevBreak {
				breakSpace = true
			}
			prevSpace, prevBreak = true, false
		case isBreak(ch):
			if i == 0 {
				leadingBreak = true
			}
			if i == len(rs)-1 {
				trailingBreak = true
			}
			if prevSpace {
				spaceBreak = true
			}
			prevSpace, prevBreak = false, true
		default:
			prevSpace, prevBreak = false, false
		}
		preceded = isWS(ch)
		followed = i+2 >= len(rs) || isWS(rs[i+2])
	}
	a := scalarAnalysis{multiline: lineBreaks, allowFlowPlain: true, allowBlockPlain: true, allowSingle: true, allowDouble: true, allowBlockStyle: true}
	if leadingSpace || leadingBreak || trailingSpace || trailingBreak {
		a.allowFlowPlain, a.allowBlockPlain = false, false
	}
	if trailingSpace {
		a.allowBlockStyle = false
	}
	if breakSpace {
		a.allowFlowPlain, a.allowBlockPlain, a.allowSingle = false, false, false
	}
	if spaceBreak || special {
		a.allowFlowPlain, a.allowBlockPlain, a.allowSingle, a.allowBlockStyle = false, false, false, false
	}
	if lineBreaks {
		a.allowFlowPlain, a.allowBlockPlain = false, false
	}
	if flowInd {
		a.allowFlowPlain = false
	}
	if blockInd {
		a.allowBlockPlain = false
	}
	return a
}

// PyYAML's implicit resolvers (YAML 1.1): a plain scalar matching one of
// these would not read back as a string.
var yamlImplicit = []*regexp.Regexp{
	regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`),
	regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`),
	regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`),
	regexp.MustCompile(`^(?:<<)$`),
	regexp.MustCompile(`^(?:~|null|Null|NULL|)$`),
	regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`),
	regexp.MustCompile(`^(?:=)$`),
}

// resolvesToStr reports whether s, written plain, reads back as a string.
func resolvesToStr(s string) bool {
	for _, re := range yamlImplicit {
		if re.MatchString(s) {
			return false
		}
	}
	return true
}
