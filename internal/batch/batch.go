// Package batch appends log entries to the store in batches, off the
// request path: Record queues an entry, a background writer appends queued
// entries one transaction per batch, and Flush and Close write whatever is
// queued. Nothing is dropped: when the queue is full, Record waits.
//
// The sign-in log and the access log are both built on it.
package batch

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/mimic-emu/mimic/internal/store"
)

const (
	// Size is the most entries one transaction appends.
	Size     = 512
	interval = 200 * time.Millisecond
	// maxQueued bounds the queue; Record waits beyond it.
	maxQueued = 16 * Size
)

// Writer appends entries of type T.
type Writer[T any] struct {
	store  store.Store
	append func(ctx context.Context, tx store.Tx, batch []T) error
	name   string

	mu      sync.Mutex
	pending []T
	room    *sync.Cond
	closed  bool
	wake    chan struct{}
	done    chan struct{}
	// flushMu serialises writes so a Flush returns after its entries landed.
	flushMu sync.Mutex
}

// New starts a writer that appends with fn; name appears in log messages.
func New[T any](s store.Store, name string, fn func(ctx context.Context, tx store.Tx, batch []T) error) *Writer[T] {
	w := &Writer[T]{store: s, append: fn, name: name, wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.room = sync.NewCond(&w.mu)
	go w.run()
	return w
}

// Record queues an entry.
func (w *Writer[T]) Record(e T) {
	w.mu.Lock()
	for len(w.pending) >= maxQueued && !w.closed {
		w.room.Wait()
	}
	if w.closed {
		w.mu.Unlock()
		slog.Error("log entry recorded after the log closed", "log", w.name)
		return
	}
	w.pending = append(w.pending, e)
	n := len(w.pending)
	w.mu.Unlock()
	if n >= Size {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (w *Writer[T]) run() {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-w.wake:
		}
		if err := w.Flush(context.Background()); err != nil {
			slog.Error("log write failed", "log", w.name, "err", err)
		}
		w.mu.Lock()
		closed := w.closed
		w.mu.Unlock()
		if closed {
			return
		}
	}
}

// Flush writes every entry queued so far.
func (w *Writer[T]) Flush(ctx context.Context) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	queued := w.pending
	w.pending = nil
	w.room.Broadcast()
	w.mu.Unlock()
	for len(queued) > 0 {
		n := min(len(queued), Size)
		if err := w.store.Update(ctx, func(tx store.Tx) error { return w.append(ctx, tx, queued[:n]) }); err != nil {
			// Requeue what was not written so a later flush retries it.
			w.mu.Lock()
			w.pending = append(queued, w.pending...)
			w.mu.Unlock()
			return err
		}
		queued = queued[n:]
	}
	return nil
}

// Close flushes and stops the writer.
func (w *Writer[T]) Close() error {
	w.mu.Lock()
	w.closed = true
	w.room.Broadcast()
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.done
	return w.Flush(context.Background())
}
