package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/authorization"
	"github.com/mimic-emu/mimic/internal/arm/resources"
	"github.com/mimic-emu/mimic/internal/directory"
	"github.com/mimic-emu/mimic/internal/pki"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/roles"
	"github.com/mimic-emu/mimic/internal/store"
)

// Meta keys used only by the bootstrap.
const (
	metaOperatorClientID = "operatorClientId"
	metaOperatorSecret   = "operatorSecret"
	metaOperatorObjectID = "operatorObjectId"
)

// Tenant is what the first start creates and every later start reads.
type Tenant struct {
	ID             string
	SubscriptionID string
	OperatorClient string
	OperatorSecret string
	OperatorObject string
	CA             *pki.CA
}

// bootstrap creates the tenant on first start, in one transaction: a
// tenant id, a default subscription, an operator service principal with
// Owner on it, and the CA. Later starts read them back.
func bootstrap(ctx context.Context, s store.Store, now time.Time) (*Tenant, bool, error) {
	t := &Tenant{}
	created := false
	err := s.Update(ctx, func(tx store.Tx) error {
		tenant, err := tx.GetMeta(ctx, directory.MetaTenant)
		if errors.Is(err, store.ErrNotFound) {
			created = true
			return create(ctx, tx, t, now)
		}
		if err != nil {
			return err
		}
		t.ID = tenant
		for key, dst := range map[string]*string{
			directory.MetaDefaultSubscription: &t.SubscriptionID,
			metaOperatorClientID:              &t.OperatorClient,
			metaOperatorSecret:                &t.OperatorSecret,
			metaOperatorObjectID:              &t.OperatorObject,
		} {
			if *dst, err = tx.GetMeta(ctx, key); err != nil {
				return fmt.Errorf("the store has a tenant but no %s: %w", key, err)
			}
		}
		certPEM, err := tx.GetMeta(ctx, directory.MetaCACert)
		if err != nil {
			return err
		}
		keyPEM, err := tx.GetMeta(ctx, directory.MetaCAKey)
		if err != nil {
			return err
		}
		t.CA, err = pki.LoadCA([]byte(certPEM), []byte(keyPEM))
		if err != nil {
			return fmt.Errorf("load the CA from the store: %w", err)
		}
		if now.After(t.CA.Cert.NotAfter) {
			return fmt.Errorf("mimic's CA expired on %s; start with a new home or store", t.CA.Cert.NotAfter.Format(time.DateOnly))
		}
		return nil
	})
	return t, created, err
}

func create(ctx context.Context, tx store.Tx, t *Tenant, now time.Time) error {
	t.ID, t.SubscriptionID = directory.NewGUID(), directory.NewGUID()
	sub := resources.SubscriptionDoc(t.SubscriptionID, t.ID, "mimic")
	if err := putDoc(ctx, tx, "Microsoft.Resources/subscriptions", sub); err != nil {
		return err
	}
	op, secret, err := directory.NewApplication(ctx, tx, "mimic-operator")
	if err != nil {
		return err
	}
	t.OperatorClient, t.OperatorSecret, t.OperatorObject = op.ClientID, secret, op.ObjectID
	scope := resourceid.ID{Subscription: t.SubscriptionID}
	owner := authorization.NewAssignmentDoc(scope, directory.NewGUID(), roles.Owner, op.ObjectID, "ServicePrincipal", op.ObjectID)
	if err := putDoc(ctx, tx, authorization.AssignmentType, owner); err != nil {
		return err
	}
	if _, err := tx.Bump(ctx, "rbac"); err != nil {
		return err
	}
	ca, err := pki.NewCA("mimic local CA "+t.ID[:8], now)
	if err != nil {
		return err
	}
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		return err
	}
	t.CA = ca
	for k, v := range map[string]string{
		directory.MetaTenant:              t.ID,
		directory.MetaDefaultSubscription: t.SubscriptionID,
		metaOperatorClientID:              op.ClientID,
		metaOperatorSecret:                secret,
		metaOperatorObjectID:              op.ObjectID,
		directory.MetaCACert:              string(ca.CertPEM()),
		directory.MetaCAKey:               string(keyPEM),
	} {
		if err := tx.SetMeta(ctx, k, v); err != nil {
			return err
		}
	}
	return nil
}

func putDoc(ctx context.Context, tx store.Tx, typ string, d arm.Doc) error {
	body, err := jsonMarshal(d)
	if err != nil {
		return err
	}
	return tx.PutResource(ctx, &store.Resource{ID: d.Str("id"), Type: typ, Body: body})
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
