package azout

import (
	"strings"
	"unicode/utf8"
)

// skipKeys are the keys az's automatic table leaves out.
var skipKeys = map[string]bool{"id": true, "type": true, "etag": true}

// Table renders a result as az's table output: knack's _TableOutput
// (each row keeps the scalar, non-null values of an object, headed by
// the key with its first letter capitalised, without id, type and etag;
// keys sorted unless a transformer or query ordered them) printed by
// tabulate's "simple" format without number parsing (every column left
// aligned, at least two characters wider than its header, lines
// right-trimmed).
func Table(v any, sortKeys bool) (string, error) {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	if len(list) == 0 {
		return "\n", nil
	}
	var headers []string
	seen := map[string]bool{}
	rows := make([]map[string]string, 0, len(list))
	for _, item := range list {
		row := map[string]string{}
		add := func(h, cell string) {
			if !seen[h] {
				seen[h] = true
				headers = append(headers, h)
			}
			row[h] = cell
		}
		switch x := item.(type) {
		case map[string]any, Ordered:
			var ks []string
			if sortKeys {
				ks = sortedKeys(x)
			} else {
				ks, _ = keys(x)
			}
			for _, k := range ks {
				if skipKeys[k] {
					continue
				}
				e := field(x, k)
				if e == nil || isContainer(e) {
					continue
				}
				add(capitalizeFirst(k), cell(e))
			}
		case []any:
			for i, e := range x {
				add("Column"+itoa(i+1), cell(e))
			}
		default:
			add("Result", cell(item))
		}
		rows = append(rows, row)
	}
	if len(headers) == 0 {
		// tabulate prints nothing for rows without columns.
		return "\n", nil
	}
	widths := make([]int, len(headers))
	for i, h := range headers {
		widths[i] = width(h) + 2
		for _, r := range rows {
			for _, l := range strings.Split(r[h], "\n") {
				if w := width(l); w > widths[i] {
					widths[i] = w
				}
			}
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		var l strings.Builder
		for i, c := range cells {
			if i > 0 {
				l.WriteString("  ")
			}
			l.WriteString(c)
			l.WriteString(strings.Repeat(" ", widths[i]-width(c)))
		}
		b.WriteString(strings.TrimRight(l.String(), " \t"))
		b.WriteByte('\n')
	}
	line(headers)
	dashes := make([]string, len(headers))
	for i, w := range widths {
		dashes[i] = strings.Repeat("-", w)
	}
	line(dashes)
	// A cell with line breaks spans lines, as in tabulate.
	for _, r := range rows {
		parts := make([][]string, len(headers))
		height := 1
		for i, h := range headers {
			parts[i] = strings.Split(r[h], "\n")
			height = max(height, len(parts[i]))
		}
		for l := range height {
			cells := make([]string, len(headers))
			for i := range headers {
				if l < len(parts[i]) {
					cells[i] = parts[i][l]
				}
			}
			line(cells)
		}
	}
	return b.String(), nil
}

func isContainer(v any) bool {
	switch v.(type) {
	case map[string]any, Ordered, []any:
		return true
	}
	return false
}

// cell is tabulate's rendering of a value: str() for scalars, trimmed;
// nothing for None.
func cell(v any) string {
	if v == nil {
		return ""
	}
	switch v.(type) {
	case map[string]any, Ordered, []any:
		return pyRepr(v)
	}
	return strings.TrimSpace(pyStr(v))
}

// pyRepr approximates Python's repr of a container, which tabulate
// prints for a nested value in a positional row.
func pyRepr(v any) string {
	switch x := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(x, "'", `\'`) + "'"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any, Ordered:
		ks, _ := keys(x)
		parts := make([]string, len(ks))
		for i, k := range ks {
			parts[i] = pyRepr(k) + ": " + pyRepr(field(x, k))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return pyStr(v)
}

func capitalizeFirst(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + s[n:]
}

func width(s string) int { return utf8.RuneCountInString(s) }

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// TSV renders a result as az's tsv output (knack's _TsvOutput): one line
// per item of a list (or for the result itself), an object's values in
// key order (sorted unless ordered by a query) separated by tabs, a
// nested list as its length, a nested object as nothing, and scalars as
// Python's str() (True, None); a bare boolean row is lower case.
func TSV(v any) string {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	var b strings.Builder
	for _, item := range list {
		switch x := item.(type) {
		case map[string]any, Ordered:
			ks, _ := keys(x)
			for i, k := range ks {
				if i > 0 {
					b.WriteByte('\t')
				}
				b.WriteString(tsvCell(field(x, k)))
			}
		case []any:
			for i, e := range x {
				if i > 0 {
					b.WriteByte('\t')
				}
				b.WriteString(tsvCell(e))
			}
		case bool:
			if x {
				b.WriteString("true")
			} else {
				b.WriteString("false")
			}
		default:
			b.WriteString(tsvCell(item))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func tsvCell(v any) string {
	switch x := v.(type) {
	case []any:
		return itoa(len(x))
	case map[string]any, Ordered:
		return ""
	}
	return pyStr(v)
}
