package azout

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/jmespath-community/go-jmespath"
	"github.com/jmespath-community/go-jmespath/pkg/parsing"
)

// Query is a compiled --query expression.
//
// JMESPath comes from github.com/jmespath-community/go-jmespath, the
// maintained implementation of the JMESPath specification (the original
// github.com/jmespath/go-jmespath has had no release since 2020). Its
// additions to the language (let, arithmetic, more functions) are a
// superset of what az's Python jmespath accepts.
type Query struct {
	expr string
	jp   jmespath.JMESPath
	// hashes are the key lists of the expression's multiselect hashes, in
	// the order written: az (knack) searches with OrderedDict, so a hash's
	// keys keep that order in table and tsv output.
	hashes [][]string
}

// QueryError is an invalid --query expression.
type QueryError struct {
	Expr string
	Err  error
}

// Error reads as az's argument error for the expression.
func (e *QueryError) Error() string {
	return fmt.Sprintf("argument --query: invalid jmespath_type value: '%s'", e.Expr)
}

func (e *QueryError) Unwrap() error { return e.Err }

// CompileQuery compiles a JMESPath expression.
func CompileQuery(expr string) (*Query, error) {
	ast, err := parsing.NewParser().Parse(expr)
	if err != nil {
		return nil, &QueryError{Expr: expr, Err: err}
	}
	jp, err := jmespath.Compile(expr)
	if err != nil {
		return nil, &QueryError{Expr: expr, Err: err}
	}
	q := &Query{expr: expr, jp: jp}
	collectHashes(ast, &q.hashes)
	return q, nil
}

func collectHashes(n parsing.ASTNode, out *[][]string) {
	if n.NodeType == parsing.ASTMultiSelectHash {
		var ks []string
		for _, kv := range n.Children {
			if k, ok := kv.Value.(string); ok {
				ks = append(ks, k)
			}
		}
		*out = append(*out, ks)
	}
	for _, c := range n.Children {
		collectHashes(c, out)
	}
}

// String returns the expression.
func (q *Query) String() string { return q.expr }

// Search applies the query to a normalized result.
func (q *Query) Search(v any) (any, error) {
	res, err := q.jp.Search(toQuery(v))
	if err != nil {
		return nil, fmt.Errorf("Invalid jmespath query supplied for `--query`: %s", err.Error())
	}
	return q.fromQuery(res), nil
}

// toQuery converts a tree for the interpreter, which wants float64
// numbers and plain maps.
func toQuery(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return string(x)
		}
		return f
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = toQuery(e)
		}
		return out
	case Ordered:
		out := make(map[string]any, len(x))
		for _, f := range x {
			out[f.Key] = toQuery(f.Value)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toQuery(e)
		}
		return out
	}
	return v
}

// fromQuery converts an interpreter result back: numbers to json.Number
// (integral values as integers, as Python keeps them), and objects whose
// keys are exactly a multiselect hash's to Ordered in the hash's order.
func (q *Query) fromQuery(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return json.Number(strconv.FormatInt(int64(x), 10))
		}
		return json.Number(pyFloat(x))
	case map[string]any:
		for _, h := range q.hashes {
			if sameKeys(x, h) {
				out := make(Ordered, 0, len(h))
				for _, k := range h {
					out = append(out, Field{Key: k, Value: q.fromQuery(x[k])})
				}
				return out
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = q.fromQuery(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = q.fromQuery(e)
		}
		return out
	}
	return v
}

func sameKeys(m map[string]any, ks []string) bool {
	if len(m) != len(ks) {
		return false
	}
	seen := append([]string(nil), ks...)
	sort.Strings(seen)
	for i, k := range seen {
		if i > 0 && seen[i-1] == k {
			return false
		}
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}
