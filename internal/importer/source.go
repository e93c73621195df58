package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Source is one export file. Standard input is spooled to a temporary file
// first, because the import reads each file more than once: to validate it,
// and then once per kind it holds, in write order.
type Source struct {
	// Name is how messages name the file: the path as given, or "stdin".
	Name string
	// Path is where it is read from.
	Path string
	// data holds the content of an in-memory source (tests).
	data []byte
}

// BytesSource is a source held in memory.
func BytesSource(name string, data []byte) Source { return Source{Name: name, data: data} }

func (s Source) open() (io.ReadCloser, error) {
	if s.data != nil {
		return io.NopCloser(bytes.NewReader(s.data)), nil
	}
	return os.Open(s.Path)
}

// Sources expands command-line arguments into sources: files as given,
// directories into every *.json and *.jsonl file below them (sorted), and
// "-" into standard input. The cleanup function removes the spooled copy of
// standard input.
func Sources(args []string, stdin io.Reader) ([]Source, func(), error) {
	var out []Source
	cleanup := func() {}
	for _, a := range args {
		if a == "-" {
			f, err := os.CreateTemp("", "mimic-import-*.json")
			if err != nil {
				return nil, cleanup, err
			}
			prev := cleanup
			cleanup = func() { prev(); os.Remove(f.Name()) }
			if _, err := io.Copy(f, stdin); err != nil {
				f.Close()
				return nil, cleanup, fmt.Errorf("read standard input: %w", err)
			}
			if err := f.Close(); err != nil {
				return nil, cleanup, err
			}
			out = append(out, Source{Name: "stdin", Path: f.Name()})
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			return nil, cleanup, err
		}
		if !st.IsDir() {
			out = append(out, Source{Name: a, Path: a})
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(strings.ToLower(p), ".json") || strings.HasSuffix(strings.ToLower(p), ".jsonl")) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, cleanup, err
		}
		if len(found) == 0 {
			return nil, cleanup, fmt.Errorf("%s: no .json files in this directory", a)
		}
		sort.Strings(found)
		for _, p := range found {
			out = append(out, Source{Name: p, Path: p})
		}
	}
	return out, cleanup, nil
}

// container says how a file holds its elements.
type container struct {
	// Shape is "array", "value" (an ARM list), "graph" (a Resource Graph
	// result), "lines" (one JSON value after another) or "object" (a single
	// document, as `az vm show` prints).
	Shape string
	// Notes are remarks on the file itself, such as a truncated Resource
	// Graph result.
	Notes []string
}

// maxExactSize bounds the files whose syntax errors are located exactly
// (by reading the file whole); larger ones give the streaming decoder's
// position, a few bytes early at worst.
const maxExactSize = 256 << 20

// scan streams the elements of a source to fn, with their indexes. Bad JSON
// is reported with its line and column.
func scan(src Source, fn func(index int, elem any) error) (*container, error) {
	rc, err := src.open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	c := &container{}
	dec := json.NewDecoder(bufio.NewReaderSize(rc, 1<<20))
	dec.UseNumber()
	index := 0
	emit := func(v any) error {
		i := index
		index++
		if err := fn(i, v); err != nil {
			return callerError{err}
		}
		return nil
	}
	values := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, src.jsonError(err)
		}
		values++
		if values == 2 {
			c.Shape = "lines"
		}
		switch tok {
		case json.Delim('['):
			if c.Shape == "" {
				c.Shape = "array"
			}
			if err := streamArray(dec, emit); err != nil {
				return nil, src.wrap(err)
			}
		case json.Delim('{'):
			if err := scanObject(dec, c, emit); err != nil {
				return nil, src.wrap(err)
			}
		default:
			return nil, fmt.Errorf("%s: expected a JSON array of documents, an object with a \"value\" array (as ARM and `az rest` print lists), or a Resource Graph result with \"data\"; found %s", src.Name, describe(tok))
		}
	}
	if values == 0 {
		return nil, fmt.Errorf("%s: the file is empty", src.Name)
	}
	return c, nil
}

// streamArray decodes the elements of an array whose '[' was read.
func streamArray(dec *json.Decoder, emit func(any) error) error {
	for dec.More() {
		var v any
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if err := emit(v); err != nil {
			return err
		}
	}
	_, err := dec.Token() // ']'
	return err
}

// scanObject reads an object whose '{' was read: a list ({"value": [...]}),
// a Resource Graph result ({"data": [...]} or {"data": {"columns", "rows"}}),
// or one document.
func scanObject(dec *json.Decoder, c *container, emit func(any) error) error {
	obj := map[string]any{}
	listed := false
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := kt.(string)
		vt, err := dec.Token()
		if err != nil {
			return err
		}
		if (key == "value" || key == "data") && !listed {
			if vt == json.Delim('[') {
				listed = true
				if key == "value" {
					c.Shape = "value"
				} else {
					c.Shape = "graph"
				}
				if err := streamArray(dec, emit); err != nil {
					return err
				}
				continue
			}
			if key == "data" && vt == json.Delim('{') {
				v, err := tokenValue(dec, vt)
				if err != nil {
					return err
				}
				if rows, ok := tableRows(v); ok {
					listed = true
					c.Shape = "graph"
					for _, r := range rows {
						if err := emit(r); err != nil {
							return err
						}
					}
					continue
				}
				obj[key] = v
				continue
			}
		}
		v, err := tokenValue(dec, vt)
		if err != nil {
			return err
		}
		obj[key] = v
	}
	if _, err := dec.Token(); err != nil { // '}'
		return err
	}
	if !listed {
		if c.Shape == "" {
			c.Shape = "object"
		}
		return emit(obj)
	}
	// A Resource Graph page that is not the last.
	for _, k := range []string{"skip_token", "$skipToken", "skipToken"} {
		if s, _ := obj[k].(string); s != "" {
			c.Notes = append(c.Notes, "the Resource Graph result has more pages ("+k+" is set): only this page is imported; query with --first 1000 and --skip-token, or page with $skipToken, to export everything")
		}
	}
	if t, _ := obj["resultTruncated"].(string); strings.EqualFold(t, "true") {
		c.Notes = append(c.Notes, "the Resource Graph result is truncated (resultTruncated is true): page it with $skipToken to export everything")
	}
	if next, _ := obj["nextLink"].(string); next != "" {
		c.Notes = append(c.Notes, "the list has more pages (nextLink is set): only this page is imported")
	}
	return nil
}

// tokenValue builds the value that starts with tok, a token already read.
func tokenValue(dec *json.Decoder, tok json.Token) (any, error) {
	switch tok {
	case json.Delim('{'):
		m := map[string]any{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			var v any
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			m[kt.(string)] = v
		}
		_, err := dec.Token()
		return m, err
	case json.Delim('['):
		a := []any{}
		err := streamArray(dec, func(v any) error { a = append(a, v); return nil })
		return a, err
	}
	return tok, nil
}

// tableRows turns Resource Graph's table form into objects.
func tableRows(v any) ([]any, bool) {
	m, _ := v.(map[string]any)
	cols, ok1 := m["columns"].([]any)
	rows, ok2 := m["rows"].([]any)
	if !ok1 || !ok2 {
		return nil, false
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		cm, _ := c.(map[string]any)
		names[i], _ = cm["name"].(string)
	}
	out := make([]any, 0, len(rows))
	for _, r := range rows {
		cells, _ := r.([]any)
		obj := map[string]any{}
		for i, cell := range cells {
			if i < len(names) && names[i] != "" {
				obj[names[i]] = cell
			}
		}
		out = append(out, obj)
	}
	return out, true
}

// describe names a JSON value's kind for messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case json.Delim:
		return "'" + x.String() + "'"
	}
	return fmt.Sprintf("%T", v)
}

// callerError carries an error of scan's callback through the decoding
// loops unchanged.
type callerError struct{ err error }

func (e callerError) Error() string { return e.err.Error() }

// wrap gives JSON errors their file, line and column; the callback's errors
// pass through.
func (s Source) wrap(err error) error {
	var ce callerError
	if errors.As(err, &ce) {
		return ce.err
	}
	return s.jsonError(err)
}

// jsonError turns a decoder error into "file: line L, column C: message".
func (s Source) jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off, msg := se.Offset, se.Error()
		if exact, ok := s.exactSyntaxError(); ok {
			off, msg = exact.Offset, exact.Error()
		}
		line, col := s.position(off - 1)
		return fmt.Errorf("%s: line %d, column %d: bad JSON: %s", s.Name, line, col, msg)
	case errors.As(err, &te):
		line, col := s.position(te.Offset - 1)
		return fmt.Errorf("%s: line %d, column %d: bad JSON: %s", s.Name, line, col, te.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := s.position(-1)
		return fmt.Errorf("%s: line %d, column %d: bad JSON: the file ends in the middle of a value", s.Name, line, col)
	}
	return fmt.Errorf("%s: %w", s.Name, err)
}

// exactSyntaxError re-reads a file whole, whose syntax error then has an
// exact offset.
func (s Source) exactSyntaxError() (*json.SyntaxError, bool) {
	if s.data == nil {
		st, err := os.Stat(s.Path)
		if err != nil || st.Size() > maxExactSize {
			return nil, false
		}
	}
	rc, err := s.open()
	if err != nil {
		return nil, false
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, false
	}
	var v any
	var se *json.SyntaxError
	if err := json.Unmarshal(b, &v); errors.As(err, &se) {
		return se, true
	}
	// Several values one after another: find the first bad one.
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		start := dec.InputOffset()
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return nil, false
		}
		if err != nil {
			rest := b[start:]
			var v any
			if err := json.Unmarshal(bytes.TrimSpace(rest), &v); errors.As(err, &se) {
				lead := int64(len(rest) - len(bytes.TrimLeft(rest, " \t\r\n")))
				return &json.SyntaxError{Offset: start + lead + se.Offset}, true
			}
			return nil, false
		}
	}
}

// position returns the 1-based line and column of byte offset off (the
// end of the file for off < 0).
func (s Source) position(off int64) (int, int) {
	rc, err := s.open()
	if err != nil {
		return 0, 0
	}
	defer rc.Close()
	br := bufio.NewReader(rc)
	line, col := 1, 1
	for i := int64(0); off < 0 || i < off; i++ {
		b, err := br.ReadByte()
		if err != nil {
			break
		}
		if b == '\n' {
			line, col = line+1, 1
		} else if b&0xC0 != 0x80 {
			col++
		}
	}
	return line, col
}

// FieldError is a problem with one field of one element.
type FieldError struct {
	Index int
	// Field is the path of the field as the file spells it:
	// "roleDefinitionId", "properties.principalId",
	// "identity.userAssignedIdentities". Empty for the element as a whole.
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("[%d]: %s", e.Index, e.Msg)
	}
	return fmt.Sprintf("[%d].%s: %s", e.Index, e.Field, e.Msg)
}

// FileError collects a file's element errors.
type FileError struct {
	Source string
	Errors []*FieldError
	// More counts errors beyond those listed.
	More int
}

func (e *FileError) Error() string {
	var b strings.Builder
	for i, fe := range e.Errors {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Source + ": " + fe.Error())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n%s: … and %s more errors", e.Source, Thousands(e.More))
	}
	return b.String()
}
