package reach

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/mimic-emu/mimic/analyzerkit"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// ErrLoadTimeout is returned by a load that gave up at its deadline.
var ErrLoadTimeout = errors.New("did not load within the time box")

// opaGraph is the graph loaded in OPA, with the query prepared.
type opaGraph struct {
	pq    rego.PreparedEvalQuery
	nodes []*ast.Term // node n's name, shared by the data document
}

// loadOPA builds the data document {"g": {node: [out-neighbour, …]}} from
// the adjacency, stores it and prepares the query. It gives up with
// ErrLoadTimeout once deadline has passed.
func loadOPA(g *analyzerkit.Adjacency, deadline time.Time) (*opaGraph, error) {
	n := g.Nodes()
	nodes := make([]*ast.Term, n)
	for i := range nodes {
		nodes[i] = ast.StringTerm(strconv.Itoa(i))
	}
	graph := ast.NewObject()
	for i := 0; i < n; i++ {
		if i&0xffff == 0 && time.Now().After(deadline) {
			return nil, ErrLoadTimeout
		}
		out := g.Out(int32(i))
		ts := make([]*ast.Term, len(out))
		for j, m := range out {
			ts[j] = nodes[m]
		}
		graph.Insert(nodes[i], ast.ArrayTerm(ts...))
	}
	store := inmem.NewFromASTObject(ast.NewObject(ast.Item(ast.StringTerm("g"), ast.NewTerm(graph))))
	pq, err := rego.New(
		rego.Query("graph.reachable(data.g, [input])"),
		rego.Store(store),
		// Hand the result back as the AST set it is.
		rego.GenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }),
	).PrepareForEval(context.Background())
	if err != nil {
		return nil, err
	}
	return &opaGraph{pq: pq, nodes: nodes}, nil
}

// reachable runs graph.reachable from start and returns the reached set.
func (o *opaGraph) reachable(start int32) (ast.Set, error) {
	rs, err := o.pq.Eval(context.Background(), rego.EvalParsedInput(o.nodes[start].Value))
	if err != nil {
		return nil, err
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return nil, fmt.Errorf("opa: %d results", len(rs))
	}
	t, ok := rs[0].Expressions[0].Value.(*ast.Term)
	if !ok {
		return nil, fmt.Errorf("opa: result is %T", rs[0].Expressions[0].Value)
	}
	s, ok := t.Value.(ast.Set)
	if !ok {
		return nil, fmt.Errorf("opa: result is %T, not a set", t.Value)
	}
	return s, nil
}

// setNodes turns a reached set back into ascending node numbers.
func setNodes(s ast.Set) ([]int32, error) {
	out := make([]int32, 0, s.Len())
	var err error
	s.Foreach(func(t *ast.Term) {
		str, ok := t.Value.(ast.String)
		if !ok {
			err = fmt.Errorf("opa: reached %v, not a node name", t)
			return
		}
		n, e := strconv.ParseInt(string(str), 10, 32)
		if e != nil {
			err = fmt.Errorf("opa: reached %q, not a node name", str)
			return
		}
		out = append(out, int32(n))
	})
	slices.Sort(out)
	return out, err
}
