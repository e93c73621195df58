// Package reach measures mimic's analyzer (through
// github.com/mimic-emu/mimic/analyzerkit) on synthetic estates of several
// sizes: how long the estate takes to build into an analysis and how much
// memory that takes, and how fast its reachability core is beside Open
// Policy Agent's graph.reachable built-in run on the very same graph.
//
// # The same graph
//
// The analysis is built once; its reachability graph (computes, identities,
// and one node per scope and capability class, on compact integer
// adjacency) is exported with Analysis.Adjacency and handed to OPA as data:
// an object from every node to the array of its out-neighbours, nodes
// named by their decimal number as JSON would name them ("17": ["4",
// "9"]). Every node is a key, those without out-edges too, because
// graph.reachable counts a node as reached only if it is a key. The
// document is built directly as AST values (one shared term per node) in
// an in-memory store that hands back AST values on read, so that an
// evaluation converts nothing; the query is
//
//	graph.reachable(data.g, [input])
//
// with the start node as parsed input, prepared once, and its result taken
// back as the AST set it is (no conversion to Go values).
//
// mimic's side is Analysis.Reachable: the breadth-first search a blast
// radius starts with (the same function, on the graph the analysis built),
// plus a scan that lists the reached nodes in order. Both sides answer the
// same sampled starts (half computes, half identities); the reached sets
// must be equal, node for node, or the run fails.
//
// OPA's load (building the data document, the store and the prepared
// query) and its queries are time-boxed. The load gives up at its box; a
// query cannot be interrupted (a built-in runs to its end), so a query
// still running at the box is reported as not finished, waited for up to
// one more box so that it does not load the next measurements, and no
// further OPA query is run at that size or above.
package reach
