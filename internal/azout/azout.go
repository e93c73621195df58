// Package azout renders command results as the Azure CLI does: --query
// (JMESPath) and the output formats json, jsonc, yaml, yamlc, table, tsv
// and none, each byte for byte as az (knack, tabulate, PyYAML) prints it.
//
// Results are JSON-like trees: map[string]any, []any, string, bool, nil,
// numbers (json.Number, float64 or int) and Ordered, an object whose keys
// keep their order, as Python's OrderedDict does. Table transformers build
// Ordered rows; --query multiselect hashes ({a: x, b: y}) produce them too.
// Only table and tsv output look at key order: json and yaml sort keys, as
// az does.
package azout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Formats are the values --output accepts, in the order az lists them.
var Formats = []string{"json", "jsonc", "none", "table", "tsv", "yaml", "yamlc"}

// ValidFormat reports whether f is an output format.
func ValidFormat(f string) bool {
	for _, x := range Formats {
		if x == f {
			return true
		}
	}
	return false
}

// Field is one key of an Ordered object.
type Field struct {
	Key   string
	Value any
}

// Ordered is an object whose keys keep their order.
type Ordered []Field

// Get returns the value of key and whether it is present.
func (o Ordered) Get(key string) (any, bool) {
	for _, f := range o {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// Row builds an Ordered from alternating keys and values.
func Row(kv ...any) Ordered {
	o := make(Ordered, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		o = append(o, Field{Key: kv[i].(string), Value: kv[i+1]})
	}
	return o
}

// Options say how to render a result.
type Options struct {
	// Format is one of Formats; "" means json.
	Format string
	// Query filters the result first; with a query active, table output
	// skips the transformer and keeps keys in the query's order.
	Query *Query
	// Table turns the result into table rows (az's table_transformer).
	Table func(any) any
	// Color colours jsonc and yamlc; without it they are json and yaml,
	// as az prints them when stdout is not a terminal.
	Color bool
}

// ErrTable is az's answer when a table transformer cannot handle a
// result.
var ErrTable = errors.New("Table output unavailable. Use the --query option to specify an appropriate query. Use --debug for more info.")

// Write renders result to w. A nil result (after the query) prints
// nothing, as in az.
func Write(w io.Writer, result any, o Options) error {
	result = Normalize(result)
	if o.Query != nil {
		var err error
		if result, err = o.Query.Search(result); err != nil {
			return err
		}
	}
	if result == nil {
		return nil
	}
	var out []byte
	switch o.Format {
	case "", "json":
		out = JSON(result)
	case "jsonc":
		if o.Color {
			out = colorJSON(result)
		} else {
			out = JSON(result)
		}
	case "yaml", "yamlc":
		out = YAML(result)
	case "table":
		table := result
		if o.Table != nil && o.Query == nil {
			var err error
			if table, err = transform(o.Table, result); err != nil {
				return err
			}
		}
		s, err := Table(table, o.Query == nil && o.Table == nil)
		if err != nil {
			return err
		}
		out = []byte(s)
	case "tsv":
		out = []byte(TSV(result))
	case "none":
		return nil
	default:
		return fmt.Errorf("unknown output format %q", o.Format)
	}
	_, err := w.Write(out)
	return err
}

// transform runs a table transformer; one that fails on a result it does
// not expect gets az's answer, as in knack.
func transform(fn func(any) any, v any) (out any, err error) {
	defer func() {
		if recover() != nil {
			out, err = nil, ErrTable
		}
	}()
	return Normalize(fn(v)), nil
}

// Normalize turns any JSON-encodable value into the tree this package
// renders: structs and typed maps go through encoding/json, numbers become
// json.Number, []map[string]any becomes []any.
func Normalize(v any) any {
	switch x := v.(type) {
	case nil, string, bool, json.Number:
		return v
	case float64, float32, int, int64, int32, uint, uint64, uint32:
		return json.Number(fmt.Sprint(x))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Normalize(e)
		}
		return out
	case Ordered:
		out := make(Ordered, len(x))
		for i, f := range x {
			out[i] = Field{Key: f.Key, Value: Normalize(f.Value)}
		}
		return out
	case []Ordered:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Normalize(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return string(b)
	}
	return Normalize(out)
}

// keys returns an object's keys: an Ordered's in order, a map's sorted.
func keys(v any) ([]string, bool) {
	switch x := v.(type) {
	case map[string]any:
		ks := make([]string, 0, len(x))
		for k := range x {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return ks, true
	case Ordered:
		ks := make([]string, len(x))
		for i, f := range x {
			ks[i] = f.Key
		}
		return ks, true
	}
	return nil, false
}

// field returns the value of key in an object.
func field(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		return x[key]
	case Ordered:
		e, _ := x.Get(key)
		return e
	}
	return nil
}

// sortedKeys returns an object's keys sorted, whatever its kind.
func sortedKeys(v any) []string {
	ks, _ := keys(v)
	out := append([]string(nil), ks...)
	sort.Strings(out)
	return out
}

// pyStr is Python's str() of a scalar: True, False, None, numbers as
// Python prints them.
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return x
	case json.Number:
		return pyNumber(x)
	}
	return fmt.Sprint(v)
}

// pyNumber prints a number as Python does: integers as such, floats with
// repr (at least one decimal, exponent as 1e+20).
func pyNumber(n json.Number) string {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		return s
	}
	f, err := n.Float64()
	if err != nil {
		return s
	}
	return pyFloat(f)
}
