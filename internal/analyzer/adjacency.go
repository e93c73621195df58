package analyzer

import "sync"

// The reachability graph seen from outside, for benchmarks and for feeding
// the same graph to other engines: nodes are numbered 0 … nodes-1, the
// computes first (in Estate.Computes order), then the identities (in
// Estate.Identities order), then one node per scope and capability class.

// GraphSize is the number of nodes and edges of the reachability graph.
func (a *Analysis) GraphSize() (nodes, edges int) {
	return int(a.g.nodeCount), len(a.g.targets)
}

// ComputeNode is the node of a.E.Computes[i].
func (a *Analysis) ComputeNode(i int) int32 { return a.g.computeNode(int32(i)) }

// IdentityNode is the node of a.E.Identities[i].
func (a *Analysis) IdentityNode(i int) int32 { return a.g.identityNode(int32(i)) }

// Adjacency returns a copy of the reachability graph in compressed sparse
// row form: node n's out-edges lead to targets[offsets[n]:offsets[n+1]],
// and len(offsets) is the number of nodes plus one.
func (a *Analysis) Adjacency() (offsets, targets []int32) {
	return append([]int32(nil), a.g.offsets...), append([]int32(nil), a.g.targets...)
}

// search is the scratch space of Reachable, pooled: node n is visited in
// the current search when mark[n] == epoch, so that the marks need no
// clearing (a new epoch each time) and a search costs what it reaches, not
// the size of the graph; queue is the breadth-first queue.
type search struct {
	mark  []uint32
	epoch uint32
	queue []int32
}

var searchPool = sync.Pool{New: func() any { return new(search) }}

// Reachable returns the nodes reachable from start, start first, in
// breadth-first order: a breadth-first search over the CSR arrays that
// keeps no parents (so no paths), with pooled scratch space. It panics if
// start is not a node.
func (a *Analysis) Reachable(start int32) []int32 {
	g := a.g
	s := searchPool.Get().(*search)
	if len(s.mark) < int(g.nodeCount) {
		s.mark, s.epoch = make([]uint32, g.nodeCount), 0
	}
	s.epoch++
	if s.epoch == 0 { // wrapped: old marks could collide
		clear(s.mark)
		s.epoch = 1
	}
	mark, epoch := s.mark[:g.nodeCount], s.epoch
	offsets, targets := g.offsets, g.targets
	queue := append(s.queue[:0], start)
	mark[start] = epoch
	for head := 0; head < len(queue); head++ {
		n := queue[head]
		for _, t := range targets[offsets[n]:offsets[n+1]] {
			if mark[t] != epoch {
				mark[t] = epoch
				queue = append(queue, t)
			}
		}
	}
	out := append([]int32(nil), queue...)
	s.queue = queue
	searchPool.Put(s)
	return out
}

// RadiusSearch runs the search a blast radius runs from start (keeping a
// parent edge and a depth for every node it reaches, for the paths) and
// returns how many nodes it reached. It is there to measure that search.
func (a *Analysis) RadiusSearch(start int32) int {
	t := a.g.search(start)
	defer t.release()
	return len(t.order)
}
