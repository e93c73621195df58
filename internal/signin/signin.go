// Package signin records the sign-in log: every token mimic issues or
// refuses, from every endpoint (IMDS, App Service, federated exchange,
// client secret), with the compute, identity and credential involved.
//
// Token endpoints must not wait on a database write per token, so Record
// hands entries to a writer that appends them in batches, one transaction
// per batch. Nothing is dropped: when the buffer is full Record waits.
// Flush writes everything recorded so far, and Close flushes before the
// server stops, so the log survives restarts.
package signin

import (
	"context"
	"log/slog"
	"sync"
	"time"

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

const (
	batchSize = 512
	interval  = 200 * time.Millisecond
)

// Log is the sign-in log writer.
type Log struct {
	store store.Store
	now   func() time.Time

	mu      sync.Mutex
	pending []*store.SignIn
	wake    chan struct{}
	room    *sync.Cond
	closed  bool
	done    chan struct{}
	// flushMu serialises writes so Flush returns after its entries landed.
	flushMu sync.Mutex
}

// New starts a writer; Close stops it.
func New(s store.Store, now func() time.Time) *Log {
	l := &Log{store: s, now: now, wake: make(chan struct{}, 1), done: make(chan struct{})}
	l.room = sync.NewCond(&l.mu)
	go l.run()
	return l
}

// Record appends an entry to the log.
func (l *Log) Record(e store.SignIn) {
	if e.At.IsZero() {
		e.At = l.now().UTC()
	}
	l.mu.Lock()
	for len(l.pending) >= 8*batchSize && !l.closed {
		l.room.Wait()
	}
	if l.closed {
		l.mu.Unlock()
		slog.Error("sign-in recorded after the log closed", "endpoint", e.Endpoint, "result", e.Result)
		return
	}
	l.pending = append(l.pending, &e)
	n := len(l.pending)
	l.mu.Unlock()
	if n >= batchSize {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

func (l *Log) run() {
	defer close(l.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-l.wake:
		}
		if err := l.Flush(context.Background()); err != nil {
			slog.Error("sign-in log write failed", "err", err)
		}
		l.mu.Lock()
		closed := l.closed
		l.mu.Unlock()
		if closed {
			return
		}
	}
}

// Flush writes every entry recorded so far.
func (l *Log) Flush(ctx context.Context) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	batch := l.pending
	l.pending = nil
	l.room.Broadcast()
	l.mu.Unlock()
	for len(batch) > 0 {
		n := min(len(batch), batchSize)
		if err := l.store.Update(ctx, func(tx store.Tx) error { return tx.AppendSignIns(ctx, batch[:n]) }); err != nil {
			// Put the unwritten entries back so a later flush retries them.
			l.mu.Lock()
			l.pending = append(batch, l.pending...)
			l.mu.Unlock()
			return err
		}
		batch = batch[n:]
	}
	return nil
}

// Close flushes and stops the writer.
func (l *Log) Close() error {
	l.mu.Lock()
	l.closed = true
	l.room.Broadcast()
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	<-l.done
	return l.Flush(context.Background())
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
