package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/store"
)

func init() {
	register("SecretVersions", testSecretVersions)
	register("SecretSoftDelete", testSecretSoftDelete)
	register("SecretListing", testSecretListing)
	register("SecretVaultsApart", testSecretVaultsApart)
	register("SecretConcurrentSets", testSecretConcurrentSets)
}

const kvVault = rgA + "/providers/Microsoft.KeyVault/vaults/kv1@1"

// secretAt is a version of a secret created at base+min minutes.
func secretAt(vault, name, version string, min int) *store.Secret {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(min) * time.Minute)
	return &store.Secret{Vault: vault, Name: name, Version: version, Value: "value of " + version, Enabled: true, Created: at, Updated: at}
}

func addVersion(t *testing.T, s store.Store, sec *store.Secret) {
	t.Helper()
	update(t, s, func(tx store.Tx) error { return tx.AddSecretVersion(context.Background(), sec) })
}

func getSecret(s store.Store, vault, name, version string) (*store.Secret, error) {
	var out *store.Secret
	err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		out, err = tx.GetSecret(context.Background(), vault, name, version)
		return err
	})
	return out, err
}

// versionsIn lists a secret's versions.
func versionsIn(t *testing.T, s store.Store, name, after string, limit int) []*store.Secret {
	t.Helper()
	var out []*store.Secret
	err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		out, err = tx.ListSecretVersions(context.Background(), kvVault, name, after, limit)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func versionsOf(list []*store.Secret) string {
	out := ""
	for _, s := range list {
		out += s.Name + "/" + s.Version + " "
	}
	return out
}

func testSecretVersions(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := getSecret(s, kvVault, "db", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get of a missing secret: %v, want ErrNotFound", err)
	}
	v1 := secretAt(kvVault, "DB-Password", "0000000000000001AAAAAAAAAAAAAAAA", 0)
	v1.ContentType, v1.Tags = "text/plain", map[string]string{"env": "dev"}
	v1.NotBefore, v1.Expires = v1.Created.Add(-time.Hour), v1.Created.Add(24*time.Hour)
	v1.Value = "binary \x00 and ü"
	addVersion(t, s, v1)
	if v1.Version != "0000000000000001aaaaaaaaaaaaaaaa" {
		t.Fatalf("version not lower-cased: %s", v1.Version)
	}
	got, err := getSecret(s, kvVault, "db-password", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "DB-Password" || got.Version != v1.Version || got.Value != v1.Value || got.ContentType != "text/plain" || got.Tags["env"] != "dev" ||
		!got.Enabled || !got.NotBefore.Equal(v1.NotBefore) || !got.Expires.Equal(v1.Expires) || !got.Created.Equal(v1.Created) ||
		!got.Deleted.IsZero() || got.Vault != kvVault {
		t.Fatalf("read back %+v, wrote %+v", got, v1)
	}
	v2 := secretAt(kvVault, "db-PASSWORD", "0000000000000002bbbbbbbbbbbbbbbb", 1)
	addVersion(t, s, v2)
	if v2.Name != "DB-Password" {
		t.Fatalf("a new version renamed the secret: %q", v2.Name)
	}
	got, err = getSecret(s, kvVault, "DB-PASSWORD", "")
	if err != nil || got.Version != v2.Version || got.Tags != nil || !got.NotBefore.IsZero() {
		t.Fatalf("latest after a second version: %+v, %v", got, err)
	}
	got, err = getSecret(s, kvVault, "db-password", "0000000000000001AAAAAAAAAAAAAAAA")
	if err != nil || got.Value != v1.Value {
		t.Fatalf("by version (other case): %+v, %v", got, err)
	}
	if _, err := getSecret(s, kvVault, "db-password", "ffffffffffffffffffffffffffffffff"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown version: %v", err)
	}
	// The same version twice conflicts.
	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.AddSecretVersion(ctx, secretAt(kvVault, "db-password", v2.Version, 2))
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate version: %v, want ErrConflict", err)
	}
	// Update changes attributes, never the value.
	upd := *v1
	upd.Name, upd.Value, upd.Enabled, upd.ContentType, upd.Tags = "db-password", "ignored", false, "", map[string]string{"a": "b"}
	upd.Expires, upd.Updated = time.Time{}, v1.Updated.Add(time.Hour)
	update(t, s, func(tx store.Tx) error { return tx.UpdateSecretVersion(ctx, &upd) })
	got, _ = getSecret(s, kvVault, "db-password", v1.Version)
	if got.Enabled || got.Value != v1.Value || got.ContentType != "" || got.Tags["a"] != "b" || !got.Expires.IsZero() ||
		!got.Updated.Equal(upd.Updated) || !got.Created.Equal(v1.Created) || !got.NotBefore.Equal(v1.NotBefore) {
		t.Fatalf("after update: %+v", got)
	}
	missing := upd
	missing.Version = "ffffffffffffffffffffffffffffffff"
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.UpdateSecretVersion(ctx, &missing) }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing version: %v", err)
	}
	// Versions list in version order, with paging.
	list := versionsIn(t, s, "DB-password", "", 0)
	if versionsOf(list) != "DB-Password/"+v1.Version+" DB-Password/"+v2.Version+" " || list[0].Value != v1.Value {
		t.Fatalf("versions: %s", versionsOf(list))
	}
	list = versionsIn(t, s, "db-password", v1.Version, 1)
	if versionsOf(list) != "DB-Password/"+v2.Version+" " {
		t.Fatalf("versions after the first: %s", versionsOf(list))
	}
	list = versionsIn(t, s, "nothing", "", 0)
	if len(list) != 0 {
		t.Fatalf("versions of an unknown secret: %s", versionsOf(list))
	}
}

func testSecretSoftDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	v1 := secretAt(kvVault, "api-key", "00000000000000010000000000000000", 0)
	addVersion(t, s, v1)
	deleted, purgeAt := v1.Created.Add(time.Hour), v1.Created.Add(91*24*time.Hour)
	update(t, s, func(tx store.Tx) error { return tx.SetSecretDeleted(ctx, kvVault, "API-KEY", deleted, purgeAt) })
	got, err := getSecret(s, kvVault, "api-key", "")
	if err != nil || !got.Deleted.Equal(deleted) || !got.PurgeAt.Equal(purgeAt) || got.Value != v1.Value {
		t.Fatalf("deleted secret reads as %+v, %v", got, err)
	}
	if got, _ := getSecret(s, kvVault, "api-key", v1.Version); got == nil || !got.Deleted.Equal(deleted) {
		t.Fatalf("a version of a deleted secret does not say so: %+v", got)
	}
	// The name is reserved while deleted.
	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.AddSecretVersion(ctx, secretAt(kvVault, "api-key", "00000000000000020000000000000000", 1))
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("set on a deleted secret: %v, want ErrConflict", err)
	}
	// Recover.
	update(t, s, func(tx store.Tx) error { return tx.SetSecretDeleted(ctx, kvVault, "api-key", time.Time{}, time.Time{}) })
	if got, _ := getSecret(s, kvVault, "api-key", ""); got == nil || !got.Deleted.IsZero() || !got.PurgeAt.IsZero() {
		t.Fatalf("recovered: %+v", got)
	}
	addVersion(t, s, secretAt(kvVault, "api-key", "00000000000000020000000000000000", 1))
	// Purge removes every version.
	update(t, s, func(tx store.Tx) error { return tx.PurgeSecret(ctx, kvVault, "Api-Key") })
	if _, err := getSecret(s, kvVault, "api-key", v1.Version); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after purge: %v", err)
	}
	for name, fn := range map[string]func(tx store.Tx) error{
		"purge":   func(tx store.Tx) error { return tx.PurgeSecret(ctx, kvVault, "api-key") },
		"delete":  func(tx store.Tx) error { return tx.SetSecretDeleted(ctx, kvVault, "api-key", deleted, purgeAt) },
		"recover": func(tx store.Tx) error { return tx.SetSecretDeleted(ctx, kvVault, "api-key", time.Time{}, time.Time{}) },
	} {
		if err := s.Update(ctx, fn); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s of a purged secret: %v, want ErrNotFound", name, err)
		}
	}
	// The name is free again, and its versions start afresh.
	addVersion(t, s, secretAt(kvVault, "API-key", "00000000000000030000000000000000", 2))
	list := versionsIn(t, s, "api-key", "", 0)
	if versionsOf(list) != "API-key/00000000000000030000000000000000 " {
		t.Fatalf("versions after purge and re-create: %s", versionsOf(list))
	}
}

func testSecretListing(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, name := range []string{"b", "A", "c", "d"} {
		addVersion(t, s, secretAt(kvVault, name, fmt.Sprintf("%032x", i+1), i))
	}
	addVersion(t, s, secretAt(kvVault, "c", fmt.Sprintf("%032x", 9), 9))
	update(t, s, func(tx store.Tx) error {
		return tx.SetSecretDeleted(ctx, kvVault, "d", time.Now(), time.Now().Add(time.Hour))
	})
	list := func(deleted bool, after string, limit int) string {
		t.Helper()
		var out []*store.Secret
		if err := s.View(ctx, func(tx store.Tx) error {
			var err error
			out, err = tx.ListSecrets(ctx, kvVault, deleted, after, limit)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return versionsOf(out)
	}
	v := func(i int) string { return fmt.Sprintf("%032x", i) }
	if got, want := list(false, "", 0), "A/"+v(2)+" b/"+v(1)+" c/"+v(9)+" "; got != want {
		t.Fatalf("live secrets: %q, want %q", got, want)
	}
	if got, want := list(false, "", 2), "A/"+v(2)+" b/"+v(1)+" "; got != want {
		t.Fatalf("first page: %q, want %q", got, want)
	}
	if got, want := list(false, "B", 2), "c/"+v(9)+" "; got != want {
		t.Fatalf("after b: %q, want %q", got, want)
	}
	if got, want := list(true, "", 0), "d/"+v(4)+" "; got != want {
		t.Fatalf("deleted secrets: %q, want %q", got, want)
	}
	if got := list(true, "d", 0); got != "" {
		t.Fatalf("deleted after d: %q", got)
	}
}

func testSecretVaultsApart(t *testing.T, s store.Store) {
	ctx := context.Background()
	other := rgA + "/providers/Microsoft.KeyVault/vaults/kv1@2" // the same vault name, re-created
	addVersion(t, s, secretAt(kvVault, "shared", "00000000000000000000000000000001", 0))
	addVersion(t, s, secretAt(other, "shared", "00000000000000000000000000000002", 0))
	a, _ := getSecret(s, kvVault, "shared", "")
	b, _ := getSecret(s, other, "shared", "")
	if a == nil || b == nil || a.Version == b.Version {
		t.Fatalf("two vaults share a secret: %+v %+v", a, b)
	}
	var n int
	update(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.DeleteVaultSecrets(ctx, kvVault)
		return err
	})
	if n != 1 {
		t.Fatalf("DeleteVaultSecrets deleted %d", n)
	}
	if _, err := getSecret(s, kvVault, "shared", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after DeleteVaultSecrets: %v", err)
	}
	if _, err := getSecret(s, other, "shared", ""); err != nil {
		t.Fatalf("the other vault lost its secret: %v", err)
	}
}

// testSecretConcurrentSets adds versions of one secret from many writers:
// each must land, and the latest must be one of them.
func testSecretConcurrentSets(t *testing.T, s store.Store) {
	ctx := context.Background()
	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Update(ctx, func(tx store.Tx) error {
				return tx.AddSecretVersion(ctx, secretAt(kvVault, "busy", fmt.Sprintf("%032x", i+1), i))
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	list := versionsIn(t, s, "busy", "", 0)
	if len(list) != writers {
		t.Fatalf("%d versions, want %d", len(list), writers)
	}
	if _, err := getSecret(s, kvVault, "busy", ""); err != nil {
		t.Fatal(err)
	}
}
