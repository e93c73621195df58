package blobplane

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/mimic-emu/mimic/internal/arm/storage"
	"github.com/mimic-emu/mimic/internal/store"
)

// orphanAge is how old an account directory without an account must be
// before a sweep removes it (its account may have been created while the
// sweep listed them).
const orphanAge = time.Hour

// sweepSoon starts a sweep in the background unless one runs.
func (p *Plane) sweepSoon() {
	if !p.sweeping.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer p.sweeping.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if n, err := p.Sweep(ctx); err != nil {
			slog.Debug("blob sweep", "err", err)
		} else if n > 0 {
			slog.Info("removed the blob data of deleted storage accounts", "accounts", n)
		}
	}()
}

// liveAccounts returns the storage keys of the accounts ARM holds.
func liveAccounts(ctx context.Context, tx store.Tx) (map[string]bool, error) {
	rs, err := tx.ListResources(ctx, store.ResourceFilter{Type: storage.AccountType})
	if err != nil {
		return nil, err
	}
	live := make(map[string]bool, len(rs))
	for _, r := range rs {
		live[accountUID(r)] = true
	}
	return live, nil
}

// Sweep deletes the containers, blobs and content of storage accounts
// that ARM no longer holds (deleted, or deleted and created again), and
// returns how many accounts it cleaned. The plane sweeps when it starts
// and whenever it notices that an account it served is gone; deleting
// an account through ARM makes its blobs unreachable at once either way,
// because a re-created account has another storage key.
func (p *Plane) Sweep(ctx context.Context) (int, error) {
	var stale []string
	err := p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		stale = stale[:0]
		live, err := liveAccounts(ctx, tx)
		if err != nil {
			return err
		}
		uids, err := tx.ListBlobAccounts(ctx)
		if err != nil {
			return err
		}
		for _, uid := range uids {
			if !live[uid] {
				if _, err := tx.DeleteBlobAccount(ctx, uid); err != nil {
					return err
				}
				stale = append(stale, uid)
			}
		}
		if len(stale) > 0 {
			return bumpRevision(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if len(stale) > 0 {
		p.blobs.clear()
	}
	for _, uid := range stale {
		os.RemoveAll(filepath.Join(p.cfg.Dir, uid))
	}
	// Directories with no containers left (only uncommitted blocks).
	var live map[string]bool
	if err := p.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		live, err = liveAccounts(ctx, tx)
		return err
	}); err != nil {
		return len(stale), err
	}
	entries, _ := os.ReadDir(p.cfg.Dir)
	for _, e := range entries {
		if !e.IsDir() || live[e.Name()] {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > orphanAge {
			os.RemoveAll(filepath.Join(p.cfg.Dir, e.Name()))
		}
	}
	return len(stale), nil
}
