package msi

import (
	"context"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/store"
)

// FederatedCredential is a stored federated identity credential, as the
// token issuer's exchange and the AKS plane read it.
type FederatedCredential struct {
	ID, Name, Issuer, Subject string
	Audiences                 []string
}

// FederatedCredentials lists the federated identity credentials of the
// user-assigned identity identityID, ordered by id.
func FederatedCredentials(ctx context.Context, tx store.Tx, identityID string) ([]FederatedCredential, error) {
	rs, err := tx.ListResources(ctx, store.ResourceFilter{Type: FederatedType, Parent: identityID})
	if err != nil {
		return nil, err
	}
	out := make([]FederatedCredential, 0, len(rs))
	for _, r := range rs {
		d, err := arm.DecodeDoc(r.Body)
		if err != nil {
			return nil, err
		}
		p := d.Obj("properties")
		auds, _ := p.StrSlice("audiences")
		out = append(out, FederatedCredential{ID: d.Str("id"), Name: d.Str("name"), Issuer: p.Str("issuer"), Subject: p.Str("subject"), Audiences: auds})
	}
	return out, nil
}
