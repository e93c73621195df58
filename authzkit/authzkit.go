// Package authzkit is the public face of mimic's Azure RBAC authorization
// engine, for benchmarks and external tools that live outside this module
// (the engine itself is internal/authz, which other modules cannot import).
//
// It adds no behaviour: the types are aliases of the engine's, and [New] and
// [BuiltinRoles] call straight through, so that a program using authzkit
// measures and exercises exactly the code mimic's planes run. The engine's
// documentation (the model, the index, what Check and Allowed cost) applies
// as written there; in short:
//
//	e, err := authzkit.New(authzkit.BuiltinRoles(), assignments, denies)
//	d := e.Check(authzkit.Request{Principals: []string{oid}, Action: act, Scope: scope})
//	as, role, why := d.Explain() // the grant or nearest miss, and the reason
//	ok := e.Allowed(req)         // the verdict alone
//
// An Engine is immutable and safe for concurrent use.
package authzkit

import "github.com/mimic-emu/mimic/internal/authz"

type (
	// Engine answers RBAC questions over a fixed set of roles, role
	// assignments and deny assignments. Its methods are Check, Allowed,
	// Permissions, AssignmentsFor and Role.
	Engine = authz.Engine
	// Role is a role definition: an id (GUID), a name and permission blocks.
	Role = authz.Role
	// Permission is one permission block: Actions, NotActions, DataActions,
	// NotDataActions and an optional condition.
	Permission = authz.Permission
	// Assignment is a role assignment: a principal, a role and a scope.
	Assignment = authz.Assignment
	// DenyAssignment blocks actions for principals at a scope.
	DenyAssignment = authz.DenyAssignment
	// Request is one authorization question.
	Request = authz.Request
	// Decision is the answer to a Request. Explain and Denied work out a
	// refusal's explanation when asked.
	Decision = authz.Decision
)

// Everyone is the principal id that makes a deny assignment apply to all
// principals.
const Everyone = authz.Everyone

// New builds an engine from roles, role assignments and deny assignments. It
// fails if a role id is missing or repeated, a scope does not start with '/',
// an assignment has no principal, a condition does not parse, or a deny
// assignment has no principals or carries a condition.
func New(roles []Role, assignments []Assignment, denies []DenyAssignment) (*Engine, error) {
	return authz.New(roles, assignments, denies)
}

// BuiltinRoles returns Azure's built-in role definitions (the catalogue
// embedded in mimic), as engine roles. The permission slices are shared:
// do not modify them.
func BuiltinRoles() []Role { return authz.BuiltinRoles() }
