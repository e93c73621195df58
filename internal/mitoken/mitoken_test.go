package mitoken

import (
	"context"
	"errors"
	"testing"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/store/sqlstore"
)

const (
	vmID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"
	idA  = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a"
	idB  = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/b"
)

func compute(system bool, users ...string) arm.Doc {
	ident := arm.Doc{"type": arm.IdentityTypeString(system, len(users) > 0)}
	uais := arm.Doc{}
	for _, u := range users {
		uais[u] = arm.Doc{}
	}
	if len(users) > 0 {
		ident["userAssignedIdentities"] = uais
	}
	return arm.Doc{"id": vmID, "identity": ident}
}

func TestSelect(t *testing.T) {
	s, err := sqlstore.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	err = s.Update(ctx, func(tx store.Tx) error {
		for _, p := range []*store.Principal{
			{ObjectID: "00000000-0000-0000-0000-00000000000a", ClientID: "10000000-0000-0000-0000-00000000000a", Kind: store.KindUserAssigned, ResourceID: idA},
			{ObjectID: "00000000-0000-0000-0000-00000000000b", ClientID: "10000000-0000-0000-0000-00000000000b", Kind: store.KindUserAssigned, ResourceID: idB},
			{ObjectID: "00000000-0000-0000-0000-00000000000c", ClientID: "10000000-0000-0000-0000-00000000000c", Kind: store.KindSystemAssigned, ResourceID: vmID},
		} {
			if err := tx.CreatePrincipal(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		doc      arm.Doc
		sel      Selector
		platform Platform
		want     string // object id suffix, or the error description
	}{
		{"imds system only", compute(true), Selector{}, IMDS, "c"},
		{"imds one user", compute(false, idA), Selector{}, IMDS, "a"},
		{"imds two users", compute(false, idA, idB), Selector{}, IMDS, errMultiple.Description},
		{"imds system wins over users", compute(true, idA, idB), Selector{}, IMDS, "c"},
		{"imds none", compute(false), Selector{}, IMDS, errNotFound.Description},
		{"imds by client id", compute(false, idA, idB), Selector{ClientID: "10000000-0000-0000-0000-00000000000B"}, IMDS, "b"},
		{"imds by object id", compute(true, idA, idB), Selector{ObjectID: "00000000-0000-0000-0000-00000000000a"}, IMDS, "a"},
		{"imds by resource id, other case", compute(false, idA, idB), Selector{ResourceID: "/SUBSCRIPTIONS/s/resourcegroups/RG/providers/microsoft.managedidentity/userassignedidentities/B"}, IMDS, "b"},
		{"imds client id not attached", compute(false, idA), Selector{ClientID: "10000000-0000-0000-0000-00000000000b"}, IMDS, errNotFound.Description},
		{"imds system client id", compute(true, idA), Selector{ClientID: "10000000-0000-0000-0000-00000000000c"}, IMDS, "c"},
		{"app service system wins", compute(true, idA), Selector{}, AppService, "c"},
		{"app service user needs a selector", compute(false, idA), Selector{}, AppService, "No system assigned managed identity is configured for this resource; specify the client_id, object_id or mi_res_id of a user assigned identity."},
		{"app service by client id", compute(true, idA), Selector{ClientID: "10000000-0000-0000-0000-00000000000a"}, AppService, "a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got *Identity
			err := s.View(ctx, func(tx store.Tx) error {
				var err error
				got, err = Select(ctx, tx, tc.doc, tc.sel, tc.platform)
				return err
			})
			var mierr *Error
			switch {
			case errors.As(err, &mierr):
				if mierr.Description != tc.want || mierr.Status != 400 {
					t.Fatalf("error %d %q, want %q", mierr.Status, mierr.Description, tc.want)
				}
			case err != nil:
				t.Fatal(err)
			default:
				if got.Principal.ObjectID[len(got.Principal.ObjectID)-1:] != tc.want {
					t.Fatalf("selected %s, want …%s", got.Principal.ObjectID, tc.want)
				}
			}
		})
	}
}
