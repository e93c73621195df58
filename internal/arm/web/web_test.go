package web

import (
	"context"
	"errors"
	"testing"

	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/store/sqlstore"
)

func TestReadAppSettings(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	site := "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Web/sites/app1"
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutResource(ctx, &store.Resource{ID: site, Type: SiteType, Body: []byte(`{"id":"` + site + `","name":"app1"}`)}); err != nil {
			return err
		}
		return tx.PutResource(ctx, &store.Resource{ID: site + "/config/appsettings", Type: ConfigType,
			Body: []byte(`{"id":"` + site + `/config/appsettings","name":"appsettings","properties":{"AZURE_CLIENT_ID":"abc","N":"1"}}`)})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx store.Tx) error {
		got, err := ReadAppSettings(ctx, tx, site)
		if err != nil {
			return err
		}
		if len(got) != 2 || got["AZURE_CLIENT_ID"] != "abc" || got["N"] != "1" {
			t.Errorf("settings %v", got)
		}
		if _, err := ReadAppSettings(ctx, tx, site+"x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing site: %v", err)
		}
		doc, err := FindSite(ctx, tx, "APP1")
		if err != nil || doc.Str("id") != site {
			t.Errorf("FindSite: %v %v", doc, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestNormalizeKind(t *testing.T) {
	for in, want := range map[string]string{"": "app", "App": "app", "FunctionApp, Linux": "functionapp,linux", "app,linux,container": "app,linux,container"} {
		got, err := normalizeKind(map[string]any{"kind": in}, nil)
		if err != nil || got != want {
			t.Errorf("kind %q: %q %v, want %q", in, got, err, want)
		}
	}
	if _, err := normalizeKind(map[string]any{"kind": "api"}, nil); err == nil {
		t.Error("kind api accepted")
	}
}
