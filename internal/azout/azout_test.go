package azout

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testCase is one entry of testdata/cases.json; testdata/golden holds what
// az's own output code (knack, tabulate, PyYAML, jmespath as Debian ships
// them with azure-cli 2.45) prints for it, made by testdata/gen.py.
type testCase struct {
	Name    string          `json:"name"`
	Input   json.RawMessage `json:"input"`
	Query   string          `json:"query"`
	Ordered []string        `json:"ordered"`
}

func decode(t *testing.T, raw []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []testCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		for _, format := range []string{"json", "yaml", "table", "tsv"} {
			t.Run(c.Name+"."+format, func(t *testing.T) {
				want, err := os.ReadFile(filepath.Join("testdata", "golden", c.Name+"."+format))
				if err != nil {
					t.Fatal(err)
				}
				input := decode(t, c.Input)
				o := Options{Format: format}
				if c.Ordered != nil {
					var rows []any
					for _, r := range input.([]any) {
						var row Ordered
						for _, k := range c.Ordered {
							row = append(row, Field{Key: k, Value: r.(map[string]any)[k]})
						}
						rows = append(rows, row)
					}
					input = rows
					o.Table = func(v any) any { return v }
				}
				if c.Query != "" {
					if o.Query, err = CompileQuery(c.Query); err != nil {
						t.Fatal(err)
					}
				}
				var b bytes.Buffer
				err = Write(&b, input, o)
				got := b.String()
				if errors.Is(err, ErrTable) {
					got = "ERROR: " + err.Error() + "\n"
				} else if err != nil {
					t.Fatal(err)
				}
				if got != string(want) {
					t.Errorf("got:\n%s\nwant:\n%s", show(got), show(string(want)))
				}
			})
		}
	}
}

func show(s string) string { return strings.ReplaceAll(s, "\t", "→") }

func TestQueryErrors(t *testing.T) {
	_, err := CompileQuery("[?name==")
	var qe *QueryError
	if !errors.As(err, &qe) || qe.Error() != "argument --query: invalid jmespath_type value: '[?name=='" {
		t.Fatalf("compile error %v", err)
	}
	q, err := CompileQuery("length(name)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Search(map[string]any{"name": json.Number("3")}); err == nil || !strings.HasPrefix(err.Error(), "Invalid jmespath query supplied for `--query`: ") {
		t.Fatalf("runtime error %v", err)
	}
}

func TestColorJSON(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, map[string]any{"a": "x", "n": 1, "t": true}, Options{Format: "jsonc", Color: true}); err != nil {
		t.Fatal(err)
	}
	want := "{\n  \x1b[94m\"a\"\x1b[39;49;00m: \x1b[33m\"x\"\x1b[39;49;00m,\n  \x1b[94m\"n\"\x1b[39;49;00m: \x1b[34m1\x1b[39;49;00m,\n  \x1b[94m\"t\"\x1b[39;49;00m: \x1b[34mtrue\x1b[39;49;00m\n}\n"
	if b.String() != want {
		t.Fatalf("%q", b.String())
	}
	b.Reset()
	Write(&b, []any{"x"}, Options{Format: "jsonc"})
	if b.String() != "[\n  \"x\"\n]\n" {
		t.Fatalf("jsonc without a terminal: %q", b.String())
	}
}

func TestNoneAndNil(t *testing.T) {
	var b bytes.Buffer
	Write(&b, map[string]any{"a": 1}, Options{Format: "none"})
	Write(&b, nil, Options{Format: "json"})
	if b.Len() != 0 {
		t.Fatalf("printed %q", b.String())
	}
}

func TestNormalize(t *testing.T) {
	type s struct {
		A string `json:"a"`
		N int    `json:"n"`
	}
	got := string(JSON(Normalize([]s{{"x", 2}})))
	if got != "[\n  {\n    \"a\": \"x\",\n    \"n\": 2\n  }\n]\n" {
		t.Fatalf("%q", got)
	}
}
