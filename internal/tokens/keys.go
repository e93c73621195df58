package tokens

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/mimic-emu/mimic/internal/jwt"
	"github.com/mimic-emu/mimic/internal/store"
)

// Keys keeps the ring in step with the signing keys in the store, rotating
// and retiring them.
type Keys struct {
	Store store.Store
	Ring  *jwt.Ring
	Now   func() time.Time
	// RotateEvery is how long a key signs before a new one replaces it.
	RotateEvery time.Duration
	// MaxTokenLifetime bounds every token mimic issues; a replaced key is
	// kept this long (plus a margin) so its tokens keep verifying.
	MaxTokenLifetime time.Duration
}

// retainMargin is added to MaxTokenLifetime before a retired key goes, to
// cover clock skew and tokens minted just before the rotation.
const retainMargin = 10 * time.Minute

// Sync loads the keys from the store, creating the first key, rotating an
// old one and deleting keys no token can need, then installs them in the
// ring.
func (k *Keys) Sync(ctx context.Context) error {
	now := k.Now().UTC()
	var stored []*store.SigningKey
	err := k.Store.Update(ctx, func(tx store.Tx) error {
		keys, err := tx.ListSigningKeys(ctx)
		if err != nil {
			return err
		}
		var newest *store.SigningKey
		for _, sk := range keys {
			if sk.Retired.IsZero() && (newest == nil || sk.Created.After(newest.Created)) {
				newest = sk
			}
		}
		if newest == nil || now.Sub(newest.Created) >= k.RotateEvery {
			created, err := k.generate(ctx, tx, now)
			if err != nil {
				return err
			}
			for _, sk := range keys {
				if sk.Retired.IsZero() {
					sk.Retired = now
					if err := tx.PutSigningKey(ctx, sk); err != nil {
						return err
					}
				}
			}
			keys = append(keys, created)
		}
		stored = stored[:0]
		for _, sk := range keys {
			if !sk.Retired.IsZero() && now.Sub(sk.Retired) > k.MaxTokenLifetime+retainMargin {
				if err := tx.DeleteSigningKey(ctx, sk.ID); err != nil {
					return err
				}
				slog.Info("deleted retired signing key", "kid", sk.ID)
				continue
			}
			stored = append(stored, sk)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sync signing keys: %w", err)
	}
	ring := make([]*jwt.Key, 0, len(stored))
	for _, sk := range stored {
		key, err := jwt.ParseKeyPEM(sk.PEM, sk.Created)
		if err != nil {
			return fmt.Errorf("signing key %s: %w", sk.ID, err)
		}
		ring = append(ring, key)
	}
	k.Ring.Set(ring)
	return nil
}

func (k *Keys) generate(ctx context.Context, tx store.Tx, now time.Time) (*store.SigningKey, error) {
	key, err := jwt.GenerateKey(now)
	if err != nil {
		return nil, err
	}
	pem, err := key.MarshalPEM()
	if err != nil {
		return nil, err
	}
	sk := &store.SigningKey{ID: key.ID, PEM: pem, Created: now}
	if err := tx.PutSigningKey(ctx, sk); err != nil {
		return nil, err
	}
	slog.Info("created signing key", "kid", key.ID)
	return sk, nil
}

// Run re-syncs the keys until ctx ends, so that rotation happens on time and
// keys written by other replicas are picked up.
func (k *Keys) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := k.Sync(ctx); err != nil && ctx.Err() == nil {
				slog.Error("signing key sync failed", "err", err)
			}
		}
	}
}
