// Package signin records the sign-in log: every token mimic issues or
// refuses, from every endpoint (IMDS, App Service, federated exchange,
// client secret), with the compute, identity and credential involved.
//
// Token endpoints must not wait on a database write per token, so Record
// hands entries to a batch writer (package batch). Query and Close flush
// first, so the log survives restarts.
package signin

import (
	"context"
	"time"

	"github.com/mimic-emu/mimic/internal/batch"
	"github.com/mimic-emu/mimic/internal/store"
)

// Endpoints, as the log names them.
const (
	IMDS         = "imds"
	AppService   = "appservice"
	Federated    = "federated"
	ClientSecret = "clientsecret"
)

// Results.
const (
	Success = "success"
	Failure = "failure"
)

// Log is the sign-in log.
type Log struct {
	*batch.Writer[*store.SignIn]
	store store.Store
	now   func() time.Time
}

// New starts the log's writer; Close stops it.
func New(s store.Store, now func() time.Time) *Log {
	return &Log{
		Writer: batch.New(s, "sign-in", func(ctx context.Context, tx store.Tx, b []*store.SignIn) error { return tx.AppendSignIns(ctx, b) }),
		store:  s,
		now:    now,
	}
}

// Record appends an entry to the log.
func (l *Log) Record(e store.SignIn) {
	if e.At.IsZero() {
		e.At = l.now().UTC()
	}
	l.Writer.Record(&e)
}

// Query flushes, then lists entries.
func (l *Log) Query(ctx context.Context, f store.SignInFilter) ([]*store.SignIn, error) {
	if err := l.Flush(ctx); err != nil {
		return nil, err
	}
	var out []*store.SignIn
	err := l.store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ListSignIns(ctx, f)
		return err
	})
	return out, err
}
