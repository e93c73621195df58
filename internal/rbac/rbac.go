// Package rbac keeps an authorization engine (package authz) in step with
// the role definitions, role assignments and deny assignments in the store,
// and answers ARM's and the data planes' authorization questions with it.
//
// The engine is immutable; a change builds a new one and swaps it in. After
// a local write, Changed rebuilds it at once, or after the configured
// propagation delay, which lets users see what Azure's delay does to them.
// Writes by other replicas are picked up by polling the store's "rbac"
// revision.
package rbac

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/authorization"
	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/store"
)

// Authorizer implements arm.Authorizer over the store.
type Authorizer struct {
	store store.Store
	// Delay postpones the effect of local RBAC writes, like Azure's
	// propagation delay. Zero applies them before the write returns.
	Delay time.Duration

	mu     sync.Mutex // serialises reloads
	engine atomic.Pointer[authz.Engine]
	rev    atomic.Int64
}

var _ arm.Authorizer = (*Authorizer)(nil)

// New returns an Authorizer; call Load before serving.
func New(s store.Store) *Authorizer { return &Authorizer{store: s} }

// Load builds the engine from the store.
func (a *Authorizer) Load(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	rev, err := a.store.Revision(ctx, "rbac")
	if err != nil {
		return err
	}
	e, err := Build(ctx, a.store)
	if err != nil {
		return err
	}
	a.engine.Store(e)
	a.rev.Store(rev)
	return nil
}

// Build reads every role definition, assignment and deny assignment from
// the store into a new engine.
func Build(ctx context.Context, s store.Store) (*authz.Engine, error) {
	roles := authz.BuiltinRoles()
	var assignments []authz.Assignment
	var denies []authz.DenyAssignment
	err := s.View(ctx, func(tx store.Tx) error {
		for _, typ := range []string{authorization.DefinitionType, authorization.AssignmentType, authorization.DenyType} {
			rs, err := tx.ListResources(ctx, store.ResourceFilter{Type: typ})
			if err != nil {
				return err
			}
			for _, r := range rs {
				d, err := arm.DecodeDoc(r.Body)
				if err != nil {
					return err
				}
				switch typ {
				case authorization.DefinitionType:
					roles = append(roles, authorization.CustomRole(d))
				case authorization.AssignmentType:
					assignments = append(assignments, authorization.Assignment(d))
				case authorization.DenyType:
					denies = append(denies, authorization.Deny(d))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return authz.New(roles, assignments, denies)
}

// Engine returns the current engine.
func (a *Authorizer) Engine() *authz.Engine { return a.engine.Load() }

// Decide implements arm.Authorizer.
func (a *Authorizer) Decide(_ context.Context, r authz.Request) (authz.Decision, error) {
	return a.engine.Load().Check(r), nil
}

// Visible implements arm.Authorizer.
func (a *Authorizer) Visible(_ context.Context, principalID string, scope resourceid.ID) bool {
	for _, as := range a.engine.Load().AssignmentsFor(principalID) {
		at, err := resourceid.Parse(as.Scope)
		if err == nil && (at.Contains(scope) || scope.Contains(at)) {
			return true
		}
	}
	return false
}

// Permissions implements arm.Authorizer.
func (a *Authorizer) Permissions(_ context.Context, principalID string, scope resourceid.ID) ([]authz.Permission, error) {
	return a.engine.Load().Permissions([]string{principalID}, scope.String()), nil
}

// Changed implements arm.Authorizer.
func (a *Authorizer) Changed() {
	reload := func() {
		if err := a.Load(context.Background()); err != nil {
			slog.Error("rbac reload failed", "err", err)
		}
	}
	if a.Delay <= 0 {
		reload()
		return
	}
	time.AfterFunc(a.Delay, reload)
}

// Run polls the store's revision until ctx ends and reloads when another
// replica changed RBAC data.
func (a *Authorizer) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rev, err := a.store.Revision(ctx, "rbac")
			if err != nil {
				if ctx.Err() == nil {
					slog.Error("rbac revision poll failed", "err", err)
				}
				continue
			}
			if rev != a.rev.Load() {
				if a.Delay > 0 {
					time.Sleep(a.Delay)
				}
				if err := a.Load(ctx); err != nil && ctx.Err() == nil {
					slog.Error("rbac reload failed", "err", err)
				}
			}
		}
	}
}
