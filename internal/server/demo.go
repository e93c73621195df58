package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/mimic-emu/mimic/internal/demo"
	"github.com/mimic-emu/mimic/internal/store"
)

const metaDemo = "demoLoaded"

// LoadDemo builds the demo estate through the server's own APIs, once per
// home: a restart with --demo finds it already there. The server must be
// serving.
func (s *Server) LoadDemo(ctx context.Context) (bool, error) {
	err := s.Store.View(ctx, func(tx store.Tx) error {
		_, err := tx.GetMeta(ctx, metaDemo)
		return err
	})
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	c := &demo.HTTPClient{
		ARMURL: s.URL(), AuthorityURL: s.URL(), Proxy: s.ProxyURL(), Tenant: s.Tenant.ID,
		ClientID: s.Tenant.OperatorClient, Secret: s.Tenant.OperatorSecret, CA: s.Tenant.CA.Pool(),
	}
	if err := demo.Apply(ctx, c, s.Tenant.SubscriptionID, s.Tenant.ID, s.Tenant.OperatorObject); err != nil {
		return false, fmt.Errorf("load the demo estate: %w", err)
	}
	return true, s.Store.Update(ctx, func(tx store.Tx) error { return tx.SetMeta(ctx, metaDemo, "1") })
}
