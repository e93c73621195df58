// Package authz compares mimic's authorization engine (through
// github.com/mimic-emu/mimic/authzkit) with a plain map index, Open Policy
// Agent and Casbin, on the same synthetic estate, in the same process, and
// checks that they all give the same answers as a brute-force reference.
//
// # Semantics every contender implements
//
// A request (principal, action, plane, scope) is allowed when
//
//   - some role assignment of the principal is at the request scope or an
//     ancestor of it, by whole segments, case-insensitively ("rg-a" covers
//     "rg-a/providers/…", never "rg-ab");
//   - its role exists (an orphaned assignment grants nothing) and has a
//     permission block whose list for the request's plane (Actions, or
//     DataActions for a data action) has a pattern matching the action and
//     whose exclusions (NotActions, NotDataActions) have none. Patterns are
//     Azure's: case-insensitive, '*' matches any run of characters, '/'
//     included, and a whole middle segment "/*/" may also match no segment;
//   - and no deny assignment applies: one listing the principal or Everyone,
//     not excluding the principal, at the request scope (or above it, unless
//     DoNotApplyToChildScopes), with a block matching the action as above.
//
// Left out, because they cannot be written identically in all three: role
// and assignment conditions (ABAC). The 12 built-in roles whose blocks carry
// a condition are dropped from the data set, and no assignment has one.
// Requests name one principal (no group expansion). Within those bounds
// the data use everything else: 421 real built-in roles and 40 custom
// wildcard roles with NotActions and NotDataActions, both planes, orphaned
// assignments, deny assignments for Everyone and for principals, with
// exclusions and with DoNotApplyToChildScopes, and mixed-case ids.
//
// # Contenders
//
//   - "mimic Check" and "mimic Allowed": the engine's two entry points;
//     "mimic Check+Reason" is Check with its reason written, as the access
//     log has it written.
//   - "map": the floor (see loadMap): no case folding, no pattern matching.
//   - "opa": Rego over a principal → scope → roles document (opa.go).
//   - "casbin": RBAC with domains, one Enforce per ancestor (casbin.go).
//
// [Run] measures them; cmd/authzbench prints the table; the tests in this
// package check agreement at 10k assignments and hold the testing.B
// benchmarks.
package authz
