// Package workload tracks the programs that `mimic run --as` starts as a
// compute resource, and carries the compute a request comes from.
//
// A run is known by a random secret. The proxy credentials of the run
// (HTTPS_PROXY=http://run:SECRET@…) and its App Service identity header both
// carry it, so every token request of the program names its compute, and one
// run's secret gets nothing for another compute. Only the secret's hash is
// stored. Lookups are cached briefly, because IMDS may be asked thousands of
// times a second.
package workload

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mimic-emu/mimic/internal/directory"
	"github.com/mimic-emu/mimic/internal/store"
)

// Runs is the registry of runs.
type Runs struct {
	Store store.Store
	Now   func() time.Time

	cache sync.Map // secret hash → cached
}

type cached struct {
	run     *store.Run
	fetched time.Time
}

// cacheTTL bounds how long a deleted run keeps working on another replica.
const cacheTTL = 5 * time.Second

// ErrUnknownRun means no live run has the secret.
var ErrUnknownRun = errors.New("unknown or finished run")

// NewSecret returns a run secret: 32 random bytes, URL-safe.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Create registers a run of computeID (and of a service account, for AKS)
// that lives at most ttl, and returns it with its secret.
func (r *Runs) Create(ctx context.Context, computeID, serviceAccount string, ttl time.Duration) (*store.Run, string, error) {
	secret := NewSecret()
	now := r.Now().UTC()
	run := &store.Run{
		ID:             directory.NewGUID(),
		SecretHash:     directory.HashSecret(secret),
		ComputeID:      computeID,
		ServiceAccount: serviceAccount,
		Created:        now,
		Expires:        now.Add(ttl),
	}
	err := r.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.DeleteExpiredRuns(ctx, now); err != nil {
			return err
		}
		return tx.CreateRun(ctx, run)
	})
	if err != nil {
		return nil, "", fmt.Errorf("register run: %w", err)
	}
	return run, secret, nil
}

// Lookup finds the live run with secret.
func (r *Runs) Lookup(ctx context.Context, secret string) (*store.Run, error) {
	hash := directory.HashSecret(secret)
	now := r.Now()
	if v, ok := r.cache.Load(hash); ok {
		c := v.(cached)
		if now.Sub(c.fetched) < cacheTTL {
			if now.After(c.run.Expires) {
				return nil, ErrUnknownRun
			}
			return c.run, nil
		}
	}
	var run *store.Run
	err := r.Store.View(ctx, func(tx store.Tx) error {
		var err error
		run, err = tx.RunBySecretHash(ctx, hash)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		r.cache.Delete(hash)
		return nil, ErrUnknownRun
	}
	if err != nil {
		return nil, err
	}
	r.cache.Store(hash, cached{run: run, fetched: now})
	if now.After(run.Expires) {
		return nil, ErrUnknownRun
	}
	return run, nil
}

// Get returns a run by id.
func (r *Runs) Get(ctx context.Context, id string) (*store.Run, error) {
	var run *store.Run
	err := r.Store.View(ctx, func(tx store.Tx) error {
		var err error
		run, err = tx.GetRun(ctx, id)
		return err
	})
	return run, err
}

// Delete ends a run.
func (r *Runs) Delete(ctx context.Context, id string) error {
	var hash string
	err := r.Store.Update(ctx, func(tx store.Tx) error {
		run, err := tx.GetRun(ctx, id)
		if err != nil {
			return err
		}
		hash = run.SecretHash
		return tx.DeleteRun(ctx, id)
	})
	if err == nil {
		r.cache.Delete(hash)
	}
	return err
}

type ctxKey struct{}

// WithRun returns a context carrying the run a request comes from.
func WithRun(ctx context.Context, run *store.Run) context.Context {
	return context.WithValue(ctx, ctxKey{}, run)
}

// RunFrom returns the run a request comes from, or nil for an operator
// shell (a client without run credentials).
func RunFrom(ctx context.Context) *store.Run {
	run, _ := ctx.Value(ctxKey{}).(*store.Run)
	return run
}
