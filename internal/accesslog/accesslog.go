// Package accesslog records the access log: every authorization decision
// on a control-plane (ARM) or data-plane (Key Vault, Blob) request, with
// the caller's principal and identity, the compute it came from, the action
// or data action, the scope, the decision with the assignment that granted
// it or the reason it was refused, and the status answered.
//
// Entries are appended in batches off the request path (package batch).
// The analyzer reads the log for least-privilege advice: what each identity
// actually exercised.
package accesslog

import (
	"context"
	"time"

	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/batch"
	"github.com/mimic-emu/mimic/internal/store"
)

// Planes.
const (
	ARM      = "arm"
	KeyVault = "keyvault"
	Blob     = "blob"
)

// Log is the access log.
type Log struct {
	*batch.Writer[*store.Access]
	store store.Store
	now   func() time.Time
}

// New starts the log's writer; Close stops it.
func New(s store.Store, now func() time.Time) *Log {
	return &Log{
		Writer: batch.New(s, "access", func(ctx context.Context, tx store.Tx, b []*store.Access) error { return tx.AppendAccess(ctx, b) }),
		store:  s,
		now:    now,
	}
}

// Record appends an entry.
func (l *Log) Record(e store.Access) {
	if e.At.IsZero() {
		e.At = l.now().UTC()
	}
	l.Writer.Record(&e)
}

// Decision fills an entry's decision fields from an engine decision.
func Decision(e *store.Access, d authz.Decision) {
	e.Allowed, e.Reason = d.Allowed, d.Reason
	if d.Assignment != nil {
		e.Assignment = d.Assignment.ID
	}
	if d.Role != nil {
		e.Role = d.Role.Name
	}
	if d.Deny != nil {
		e.Deny = d.Deny.ID
	}
}

// Query flushes, then lists entries.
func (l *Log) Query(ctx context.Context, f store.AccessFilter) ([]*store.Access, error) {
	if err := l.Flush(ctx); err != nil {
		return nil, err
	}
	var out []*store.Access
	err := l.store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ListAccess(ctx, f)
		return err
	})
	return out, err
}
