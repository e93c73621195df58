package azout

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON renders v as Python's json.dumps(v, indent=2, sort_keys=True,
// ensure_ascii=False, separators=(',', ': ')) plus a newline: az's json
// output.
func JSON(v any) []byte {
	var b bytes.Buffer
	writeJSON(&b, v, 0, nil)
	b.WriteByte('\n')
	return b.Bytes()
}

// jsonColors are the escape sequences of Pygments' TerminalFormatter for
// JsonLexer tokens, which az's jsonc uses on a terminal.
type jsonColors struct{ key, str, num, kw string }

const ansiReset = "\x1b[39;49;00m"

var terminalColors = &jsonColors{key: "\x1b[94m", str: "\x1b[33m", num: "\x1b[34m", kw: "\x1b[34m"}

func colorJSON(v any) []byte {
	var b bytes.Buffer
	writeJSON(&b, v, 0, terminalColors)
	b.WriteByte('\n')
	return b.Bytes()
}

func paint(b *bytes.Buffer, color, s string) {
	if color == "" {
		b.WriteString(s)
		return
	}
	b.WriteString(color)
	b.WriteString(s)
	b.WriteString(ansiReset)
}

func writeJSON(b *bytes.Buffer, v any, indent int, c *jsonColors) {
	var cs jsonColors
	if c != nil {
		cs = *c
	}
	switch x := v.(type) {
	case nil:
		paint(b, cs.kw, "null")
	case bool:
		paint(b, cs.kw, strconv.FormatBool(x))
	case string:
		paint(b, cs.str, pyQuote(x))
	case json.Number:
		paint(b, cs.num, pyNumber(x))
	case float64:
		paint(b, cs.num, pyFloat(x))
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, e := range x {
			if i > 0 {
				b.WriteString(",\n")
			}
			pad(b, indent+2)
			writeJSON(b, e, indent+2, c)
		}
		b.WriteByte('\n')
		pad(b, indent)
		b.WriteByte(']')
	case map[string]any, Ordered:
		ks := sortedKeys(x)
		if len(ks) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i, k := range ks {
			if i > 0 {
				b.WriteString(",\n")
			}
			pad(b, indent+2)
			paint(b, cs.key, pyQuote(k))
			b.WriteString(": ")
			writeJSON(b, field(x, k), indent+2, c)
		}
		b.WriteByte('\n')
		pad(b, indent)
		b.WriteByte('}')
	default:
		writeJSON(b, Normalize(v), indent, c)
	}
}

func pad(b *bytes.Buffer, n int) {
	for range n {
		b.WriteByte(' ')
	}
}

// pyQuote quotes s as Python's json module does with ensure_ascii=False:
// only quotes, backslashes and control characters are escaped.
func pyQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&0xf])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// pyFloat is Python's repr of a float.
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, exp, _ := strings.Cut(e, "e")
	n, _ := strconv.Atoi(exp)
	if n >= -4 && n < 16 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.ContainsAny(s, ".") {
			s += ".0"
		}
		return s
	}
	sign := "+"
	if n < 0 {
		sign, n = "-", -n
	}
	es := strconv.Itoa(n)
	if len(es) < 2 {
		es = "0" + es
	}
	return mant + "e" + sign + es
}
