// Package analyzerkit is the analyzer's public face for benchmarks and
// external tools that live outside this module (the analyzer itself is
// internal/analyzer, which other modules cannot import).
//
// It exposes what a benchmark of the reachability core needs, and no more:
// a synthetic estate of a chosen size, the analysis built from it (the
// authorization engine's index and the reachability graph, exactly as
// `mimic analyze` builds them), the breadth-first search a blast radius
// starts with, and the graph itself as integer adjacency, so that another
// engine can be handed the very same graph:
//
//	e := analyzerkit.Generate(analyzerkit.Size{Computes: 1000, Identities: 500, Assignments: 10_000, Seed: 7})
//	a, err := analyzerkit.Build(e)
//	reached := a.Reachable(a.ComputeNode(0)) // node numbers, breadth-first
//	g := a.Adjacency()                       // g.Out(n): n's out-edges
//
// Nodes are numbered 0 … Nodes()-1: the computes first, then the
// identities, then one node per scope (every resource and its ancestors)
// and capability class ("may run code on the VMs under here", "may assign
// the identities under here", …). An Analysis is immutable and safe for
// concurrent use.
package analyzerkit

import (
	"errors"

	"github.com/mimic-emu/mimic/internal/analyzer"
)

// Size sizes a synthetic estate.
type Size struct {
	Computes    int // VMs, web apps and function apps (2:1:1)
	Identities  int // user-assigned identities, attached one or two to a compute
	Assignments int // role assignments to the identities
	Seed        uint64
}

// Estate is a synthetic estate, ready to be built once.
type Estate struct {
	e     *analyzer.Estate
	built bool
}

// Generate builds a synthetic estate: computes spread over resource groups
// (about 50 a group) and subscriptions (about 20,000 computes each), each
// with one or two random identities, a key vault for every fifth compute,
// and role assignments to random identities, 0.2 % at subscription scope,
// 19.8 % at a resource group and 80 % at a resource; 2 % of them are of
// roles that yield more identities (Virtual Machine Contributor, Website
// Contributor, Contributor), the rest of read and data roles. The same
// size and seed give the same estate.
func Generate(s Size) *Estate {
	return &Estate{e: analyzer.Generate(analyzer.GenerateSize{Computes: s.Computes, Identities: s.Identities, Assignments: s.Assignments, Seed: s.Seed})}
}

// Computes is the number of computes.
func (e *Estate) Computes() int { return len(e.e.Computes) }

// Identities is the number of identities.
func (e *Estate) Identities() int { return len(e.e.Identities) }

// Resources is the number of resources (computes, identities and vaults).
func (e *Estate) Resources() int { return len(e.e.Resources) }

// Assignments is the number of role assignments.
func (e *Estate) Assignments() int { return len(e.e.Assignments) }

// Analysis is an estate's analysis: its authorization index and its
// reachability graph.
type Analysis struct {
	a *analyzer.Analysis
}

// Build indexes the estate and builds its reachability graph. An estate
// can be built once.
func Build(e *Estate) (*Analysis, error) {
	if e.built {
		return nil, errors.New("analyzerkit: estate already built")
	}
	e.built = true
	est, err := analyzer.Assemble(e.e)
	if err != nil {
		return nil, err
	}
	return &Analysis{a: analyzer.New(est)}, nil
}

// Nodes is the number of nodes of the reachability graph.
func (a *Analysis) Nodes() int { n, _ := a.a.GraphSize(); return n }

// Edges is the number of edges of the reachability graph.
func (a *Analysis) Edges() int { _, m := a.a.GraphSize(); return m }

// ComputeNode is the node of the i-th compute, 0 ≤ i < Estate.Computes().
func (a *Analysis) ComputeNode(i int) int32 { return a.a.ComputeNode(i) }

// IdentityNode is the node of the i-th identity, 0 ≤ i < Estate.Identities().
func (a *Analysis) IdentityNode(i int) int32 { return a.a.IdentityNode(i) }

// Reachable returns the nodes reachable from start, start first, in
// breadth-first order: the analyzer's reachability search over its CSR
// arrays, with pooled visit marks, so that it costs what it reaches. It
// panics if start is not a node.
func (a *Analysis) Reachable(start int32) []int32 { return a.a.Reachable(start) }

// RadiusSearch runs the search a blast radius starts with (it keeps a
// parent edge and a depth for every node of the graph, for the paths, and
// so costs the graph's size at least) and returns how many nodes it
// reached: the same set as Reachable.
func (a *Analysis) RadiusSearch(start int32) int { return a.a.RadiusSearch(start) }

// Adjacency is a directed graph in compressed sparse row form: node n's
// out-edges lead to Targets[Offsets[n]:Offsets[n+1]].
type Adjacency struct {
	Offsets []int32 // len = nodes + 1
	Targets []int32 // len = edges
}

// Nodes is the number of nodes.
func (g *Adjacency) Nodes() int { return len(g.Offsets) - 1 }

// Out returns the nodes that n's out-edges lead to (a view: do not modify).
func (g *Adjacency) Out(n int32) []int32 { return g.Targets[g.Offsets[n]:g.Offsets[n+1]] }

// Adjacency returns a copy of the reachability graph.
func (a *Analysis) Adjacency() *Adjacency {
	off, tg := a.a.Adjacency()
	return &Adjacency{Offsets: off, Targets: tg}
}
