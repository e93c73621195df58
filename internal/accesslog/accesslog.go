// Package accesslog records the access log: every authorization decision
// on a control-plane (ARM) or data-plane (Key Vault, Blob) request, with
// the caller's principal and identity, the compute it came from, the action
// or data action, the scope, the decision with the assignment that granted
// it or the reason it was refused, and the status answered.
//
// Entries are appended in batches off the request path (package batch),
// and their decisions explained there: the engine decides without working
// out why it refused, and the writer asks (authz.Decision.Explain).
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
	*batch.Writer[pending]
	store store.Store
	now   func() time.Time
}

// pending is an entry queued with the decision it records: the decision
// is explained (its reason, and a refusal's nearest miss, worked out) by
// the writer, off the request path.
type pending struct {
	e *store.Access
	d authz.Decision
}

// New starts the log's writer; Close stops it.
func New(s store.Store, now func() time.Time) *Log {
	return &Log{
		Writer: batch.New(s, "access", func(ctx context.Context, tx store.Tx, b []pending) error {
			es := make([]*store.Access, len(b))
			for i, p := range b {
				decision(p.e, p.d)
				es[i] = p.e
			}
			return tx.AppendAccess(ctx, es)
		}),
		store: s,
		now:   now,
	}
}

// Record appends an entry recording decision d. The request's Principals
// and Attributes must not change afterwards: the writer reads them to
// explain a refusal.
func (l *Log) Record(e store.Access, d authz.Decision) {
	if e.At.IsZero() {
		e.At = l.now().UTC()
	}
	l.Writer.Record(pending{&e, d})
}

// decision fills an entry's decision fields from an engine decision and its
// explanation: the granting assignment, or a refusal's nearest miss.
func decision(e *store.Access, d authz.Decision) {
	as, role, reason := d.Explain()
	e.Allowed, e.Reason = d.Allowed, reason
	if as != nil {
		e.Assignment = as.ID
	}
	if role != nil {
		e.Role = role.Name
	}
	if deny := d.Denied(); deny != nil {
		e.Deny = deny.ID
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
