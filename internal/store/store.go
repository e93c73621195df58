// Package store defines mimic's persistence contract: the records every
// plane keeps, one Store interface over them, and the sentinel errors that
// backends return.
//
// All reads and writes happen inside a transaction:
//
//	err := s.Update(ctx, func(tx store.Tx) error {
//		r, err := tx.GetResource(ctx, id)
//		...
//		return tx.PutResource(ctx, r)
//	})
//
// Update runs its function in one serializable read-write transaction and
// commits only if it returns nil; an acknowledged Update survives a crash of
// the process. View runs a read-only transaction. Functions passed to Update
// may be retried by a backend after a serialization conflict, so they must not
// have side effects outside the transaction.
//
// Resources are ARM documents keyed by their id, compared case-insensitively
// (see package resourceid). The store derives each resource's type, parent,
// subscription and group from its id, so that listings by scope, type and
// parent are index lookups.
//
// The conformance suite in package storetest is the executable form of this
// contract; every backend must pass it.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap them with detail; match with errors.Is.
var (
	// ErrNotFound: the record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a create found an existing record, or a conditional
	// write found a different version than expected.
	ErrConflict = errors.New("conflict")
)

// Store is a backend: SQLite or PostgreSQL.
type Store interface {
	// Update runs fn in a read-write transaction.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Revision returns the counter of a topic bumped by Tx.Bump, without a
	// transaction. Caches poll it to learn that another replica wrote.
	Revision(ctx context.Context, topic string) (int64, error)
	// Backend names the backend ("sqlite", "postgres").
	Backend() string
	Close() error
}

// Tx is one transaction's view of every table.
type Tx interface {
	ResourceTx
	PrincipalTx
	MetaTx
	KeyTx
	RunTx
	SignInTx
	AccessTx
	SecretTx
	BlobTx
}

// Resource is one ARM resource document.
type Resource struct {
	// ID is the resource id in the case it was created with.
	ID string
	// Type is the full resource type in its canonical casing, e.g.
	// "Microsoft.ManagedIdentity/userAssignedIdentities".
	Type string
	// Body is the JSON document ARM returns for the resource.
	Body json.RawMessage
	// Version increases on every write; the store sets it.
	Version int64
	// Created and Updated are set by the store.
	Created time.Time
	Updated time.Time
}

// ResourceFilter selects resources. Empty fields select everything.
type ResourceFilter struct {
	// Type matches the full resource type, case-insensitively.
	Type string
	// Scope selects the resources strictly below a scope id (by whole
	// segments), at any depth.
	Scope string
	// Parent selects the direct children of an id: for a top-level resource
	// its group (or subscription), for a child resource its parent
	// resource, for an extension resource the resource it extends.
	Parent string
	// Name matches the last segment of the id, case-insensitively: the
	// resource's own name.
	Name string
	// After resumes a listing after the resource with this id; results are
	// ordered by canonical id.
	After string
	// Limit bounds the number of results; 0 means no bound.
	Limit int
}

// ResourceTx holds ARM resources.
type ResourceTx interface {
	// GetResource returns the resource with this id, or ErrNotFound.
	GetResource(ctx context.Context, id string) (*Resource, error)
	// CreateResource inserts a resource, or returns ErrConflict if one with
	// the same id exists. It sets Version, Created and Updated on r.
	CreateResource(ctx context.Context, r *Resource) error
	// PutResource inserts or replaces a resource. If r.Version is non-zero
	// the existing version must equal it, or ErrConflict is returned. It sets
	// Version, Created and Updated on r; Created keeps its first value.
	PutResource(ctx context.Context, r *Resource) error
	// DeleteResource deletes one resource, or returns ErrNotFound.
	DeleteResource(ctx context.Context, id string) error
	// DeleteTree deletes a resource (if present) and everything below it by
	// whole segments, returning the deleted resources.
	DeleteTree(ctx context.Context, id string) ([]*Resource, error)
	// ListResources returns matching resources ordered by canonical id.
	ListResources(ctx context.Context, f ResourceFilter) ([]*Resource, error)
}

// PrincipalKind says what a principal is.
type PrincipalKind string

// Principal kinds.
const (
	// KindApplication is a service principal with a client secret, such as
	// the operator.
	KindApplication PrincipalKind = "Application"
	// KindUserAssigned is a user-assigned managed identity.
	KindUserAssigned PrincipalKind = "UserAssigned"
	// KindSystemAssigned is a resource's system-assigned managed identity.
	KindSystemAssigned PrincipalKind = "SystemAssigned"
	// KindUser, KindGroup and KindDevice are directory objects that role
	// assignments name (an imported estate's users and groups). They
	// cannot sign in; they exist so that their assignments are not
	// orphaned.
	KindUser   PrincipalKind = "User"
	KindGroup  PrincipalKind = "Group"
	KindDevice PrincipalKind = "Device"
)

// Principal is a service principal in the tenant's directory.
type Principal struct {
	// ObjectID is the principal id ("oid").
	ObjectID string
	// ClientID is the application id ("appid").
	ClientID string
	Kind     PrincipalKind
	// DisplayName is the identity or application name.
	DisplayName string
	// ResourceID is the identity resource of a user-assigned identity, or
	// the resource that owns a system-assigned identity.
	ResourceID string
	// SecretHash is a hash of an application's client secret.
	SecretHash string
	Created    time.Time
}

// PrincipalTx holds the directory of service principals.
type PrincipalTx interface {
	// CreatePrincipal inserts a principal; ErrConflict if its object id or
	// client id is taken.
	CreatePrincipal(ctx context.Context, p *Principal) error
	// GetPrincipal finds a principal by object id, or ErrNotFound.
	GetPrincipal(ctx context.Context, objectID string) (*Principal, error)
	// PrincipalByClientID finds a principal by client id, or ErrNotFound.
	PrincipalByClientID(ctx context.Context, clientID string) (*Principal, error)
	// PrincipalByResource finds the principal of an identity resource or of
	// a resource's system-assigned identity, or ErrNotFound.
	PrincipalByResource(ctx context.Context, resourceID string) (*Principal, error)
	// DeletePrincipal deletes by object id, or returns ErrNotFound.
	DeletePrincipal(ctx context.Context, objectID string) error
	// ListPrincipals returns every principal ordered by object id.
	ListPrincipals(ctx context.Context) ([]*Principal, error)
}

// MetaTx holds small named values (the tenant id, the CA) and counters.
type MetaTx interface {
	// GetMeta returns a value, or ErrNotFound.
	GetMeta(ctx context.Context, key string) (string, error)
	// SetMeta inserts or replaces a value.
	SetMeta(ctx context.Context, key, value string) error
	// Bump increments a topic's revision counter and returns the new value.
	Bump(ctx context.Context, topic string) (int64, error)
}

// SigningKey is a token-signing key, PEM-encoded.
type SigningKey struct {
	ID      string
	PEM     []byte
	Created time.Time
	// Retired is zero while the key may sign; once set, the key only
	// verifies tokens until it is deleted.
	Retired time.Time
}

// KeyTx holds token-signing keys.
type KeyTx interface {
	// PutSigningKey inserts or replaces a key.
	PutSigningKey(ctx context.Context, k *SigningKey) error
	// ListSigningKeys returns every key, oldest first.
	ListSigningKeys(ctx context.Context) ([]*SigningKey, error)
	// DeleteSigningKey deletes a key, or returns ErrNotFound.
	DeleteSigningKey(ctx context.Context, id string) error
}

// Run is a program started with `mimic run --as`: the compute it runs as,
// and the hash of the secret its proxy credentials and identity header
// carry.
type Run struct {
	ID         string
	SecretHash string
	ComputeID  string
	// ServiceAccount is "namespace/name" for a run as an AKS pod.
	ServiceAccount string
	Created        time.Time
	Expires        time.Time
}

// RunTx holds runs.
type RunTx interface {
	// CreateRun inserts a run; ErrConflict if its id or secret is taken.
	CreateRun(ctx context.Context, r *Run) error
	// RunBySecretHash finds a run by its secret's hash, or ErrNotFound.
	RunBySecretHash(ctx context.Context, hash string) (*Run, error)
	// GetRun finds a run by id, or ErrNotFound.
	GetRun(ctx context.Context, id string) (*Run, error)
	// DeleteRun deletes a run, or returns ErrNotFound.
	DeleteRun(ctx context.Context, id string) error
	// DeleteExpiredRuns deletes runs that expired before now.
	DeleteExpiredRuns(ctx context.Context, now time.Time) (int, error)
}

// SignIn is one entry of the sign-in log: a token issued or refused.
type SignIn struct {
	// Seq orders entries; the store sets it.
	Seq int64
	At  time.Time
	// Endpoint is how the token was asked for: "imds", "appservice",
	// "federated" or "clientsecret".
	Endpoint string
	// Result is "success" or "failure".
	Result string
	// ErrorCode is the refusal's code (an AADSTS number, an IMDS error).
	ErrorCode string
	Message   string
	// PrincipalID and ClientID name the identity that signed in, when known.
	PrincipalID string
	ClientID    string
	// IdentityID is the managed identity's resource id (or the compute's,
	// for a system-assigned identity).
	IdentityID string
	// ComputeID is the compute the request came from.
	ComputeID string
	// Credential is the federated identity credential used.
	Credential string
	// Audience is the resource the token is for.
	Audience string
}

// SignInFilter selects sign-in log entries; empty fields select all.
type SignInFilter struct {
	// IdentityID and ComputeID match resource ids case-insensitively.
	IdentityID string
	ComputeID  string
	// PrincipalID matches the principal.
	PrincipalID string
	Since       time.Time
	// AfterSeq resumes after an entry.
	AfterSeq int64
	Limit    int
}

// SignInTx holds the sign-in log.
type SignInTx interface {
	// AppendSignIns appends entries, setting their Seq.
	AppendSignIns(ctx context.Context, entries []*SignIn) error
	// ListSignIns returns matching entries, oldest first.
	ListSignIns(ctx context.Context, f SignInFilter) ([]*SignIn, error)
	// DeleteSignInsBefore deletes entries older than t (retention).
	DeleteSignInsBefore(ctx context.Context, t time.Time) (int, error)
}

// Access is one entry of the access log: an authorization decision on a
// control-plane or data-plane request.
type Access struct {
	// Seq orders entries; the store sets it.
	Seq int64
	At  time.Time
	// Plane is "arm", "keyvault" or "blob".
	Plane  string
	Method string
	// PrincipalID and ClientID name the caller.
	PrincipalID string
	ClientID    string
	// IdentityID is the caller's managed identity resource (xms_mirid).
	IdentityID string
	// ComputeID is the compute the request came from (the run, or the
	// token's xms_az_rid).
	ComputeID string
	// Action is the action or data action decided on.
	Action     string
	DataAction bool
	Scope      string
	Allowed    bool
	// Assignment and Role name the grant; Deny a blocking deny assignment.
	Assignment string
	Role       string
	Deny       string
	// Reason explains the decision.
	Reason string
	// Status is the HTTP status the request was answered with.
	Status int
}

// AccessFilter selects access log entries; empty fields select all.
type AccessFilter struct {
	IdentityID  string
	ComputeID   string
	PrincipalID string
	Since       time.Time
	AfterSeq    int64
	Limit       int
}

// AccessTx holds the access log.
type AccessTx interface {
	// AppendAccess appends entries, setting their Seq.
	AppendAccess(ctx context.Context, entries []*Access) error
	// ListAccess returns matching entries, oldest first.
	ListAccess(ctx context.Context, f AccessFilter) ([]*Access, error)
	// DeleteAccessBefore deletes entries older than t (retention).
	DeleteAccessBefore(ctx context.Context, t time.Time) (int, error)
}
