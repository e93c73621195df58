// Package authz is mimic's Azure RBAC authorization engine. It is pure: no
// HTTP, no storage. The ARM control plane and the Key Vault and Blob data
// planes build an [Engine] from the store's roles, role assignments and deny
// assignments, and ask it one [Request] at a time.
//
// # Model
//
// A role has one or more permission blocks. A block allows a control-plane
// action if some Actions pattern matches it and no NotActions pattern does;
// it allows a data action likewise through DataActions and NotDataActions.
// The two planes never mix: Owner's "*" is in Actions, so it cannot read a
// blob. Patterns are case-insensitive and '*' matches any run of characters,
// '/' included ([Match]). A role allows what any of its blocks allows; a block
// with a condition (some built-in roles constrain roleAssignments/write this
// way) allows only when that condition holds.
//
// A role assignment grants its role to one principal at a scope and every
// scope below it, by whole segments and case-insensitively: an assignment on
// ".../resourceGroups/rg-a" covers ".../rg-a/providers/..." but not
// ".../rg-ab". An assignment with a condition (Azure ABAC, version 2.0, see
// [ParseCondition]) grants only when its condition holds for the request.
// Conditions are three-valued: an attribute the request does not supply is
// unknown, NOT keeps it unknown, and a condition that is not definitely true
// does not grant (fail closed). An assignment whose role is unknown grants
// nothing.
//
// A deny assignment applies to its principals (or Everyone), minus
// ExcludePrincipals, at its scope and, unless DoNotApplyToChildScopes, below
// it. A deny that matches the action overrides every grant.
//
// The request's principals are the caller's object id and its groups' ids;
// an assignment or deny to any of them counts. [Decision.Explain] says why:
// the granting assignment and role, the blocking deny assignment, or the
// nearest miss (a failed condition, a NotActions exclusion, the wrong plane,
// an unknown role, or no assignment at all).
//
// # Index
//
// [New] compiles every role's patterns once, parses each distinct condition
// text once, and files the role assignments in one slab grouped by
// lower-cased principal id, with a map from principal to its run (and to
// the deny assignments that name it); runs longer than 24 are sorted by
// lower-cased scope. The slab holds only what a scan reads: the scope key,
// its last eight bytes as a word, the role's index and the record's (32
// bytes an entry); the assignments themselves, with their conditions, sit
// in a parallel slab of records. Scope keys are interned.
//
// How a role relates to an action (it grants it, excludes it, has it in the
// other plane, or has nothing to do with it) depends on the action alone,
// save for conditions, so it is memoised per action as requests arrive: a
// byte for each role, read instead of matching the role's patterns. The
// memo holds at most 1,024 actions a plane.
//
// A check is then one map lookup per principal (ids are lower-cased eight
// bytes at a time in a stack buffer) and a short scan. Up to 24 assignments
// are tried in order: one whose role does not grant the action costs its
// memo byte; the scope of one whose role does is compared with the request
// scope, most rejected on the key's length and last word alone, the rest
// compared eight bytes at a time while folding ASCII case. The request
// scope is read only as far as those comparisons go, and lower-cased only
// if they meet a non-ASCII byte. A longer run is binary-searched once per
// ancestor of the request scope. Deny assignments are kept apart (those for
// Everyone in a list, the others by principal), matched against the action
// through the same memo, and cost nothing when there are none.
//
// [Engine.Check] and [Engine.Allowed] do not allocate for ASCII ids and
// scopes, once an action is in the memo. Check looks for a deny assignment
// only when a role assignment grants the request, and it decides without
// working out why a refusal was refused: [Decision.Denied] and
// [Decision.Explain] do that when asked, looking for the deny assignment
// that applies and scanning the caller's assignments again for the nearest
// miss; Explain writes a refusal's sentence in one allocation (a grant's is
// built once and cached on the assignment). Allowed gives the verdict
// alone, for bulk callers such as the analyzer.
//
// The engine is immutable and safe for concurrent use (the verdict memo
// and the cached reasons are written atomically). Rebuild it when the data
// changes.
package authz
