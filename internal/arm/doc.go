// Package arm is mimic's Azure Resource Manager: the router, the request
// pipeline and the generic resource semantics that every resource provider
// shares. Providers (subpackages of arm) describe their resource types as
// *Type values and register them; this package does the rest.
//
// A request goes through these steps, in this order, as in Azure:
//
//  1. authentication: a bearer token from mimic's issuer with an ARM
//     audience, or a 401 with WWW-Authenticate;
//  2. api-version: present, and one the type supports;
//  3. routing: the path is parsed by package resourceid (case-insensitive
//     keywords, namespaces and types) and resolved against the registry to a
//     resource, a collection or an action;
//  4. authorization: the caller must hold the operation's action
//     ("{type}/read", "/write", "/delete", "/{action}/action") at the
//     resource's scope, or gets 403 AuthorizationFailed before anything is
//     looked up;
//  5. the operation itself, in one store transaction: PUT replaces, PATCH
//     merges, DELETE cascades to children and extension resources.
//
// Resources are stored as the JSON documents ARM returns, as Doc values.
// Names keep the case they were created with; ids are rebuilt from the
// registry's canonical type casing.
//
// Errors are *armerr.Error values, rendered only by armerr.Write.
package arm
