// Package storetest is the conformance suite for store.Store backends.
//
// A backend's test calls Run with a constructor that returns a fresh, empty
// store; each subtest gets its own. The suite is the executable contract of
// package store: case-insensitive ids, whole-segment scopes, version checks,
// rollback, serializable read-modify-write under concurrency, and the
// sentinel errors.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/store"
)

// Run runs every conformance test against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.fn(t, s)
		})
	}
}

// tests are the conformance tests; files of this package add theirs with
// register in an init function.
var tests []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

func register(name string, fn func(t *testing.T, s store.Store)) {
	tests = append(tests, struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{name, fn})
}

func init() {
	register("ResourceCRUD", testResourceCRUD)
	register("ResourceCaseInsensitive", testResourceCaseInsensitive)
	register("ResourceVersions", testResourceVersions)
	register("ResourceListing", testResourceListing)
	register("ResourcePaging", testResourcePaging)
	register("DeleteTreeWholeSegments", testDeleteTree)
	register("InvalidIDs", testInvalidIDs)
	register("Principals", testPrincipals)
	register("Meta", testMeta)
	register("SigningKeys", testSigningKeys)
	register("Rollback", testRollback)
	register("ConcurrentReadModifyWrite", testConcurrentRMW)
	register("ConcurrentBump", testConcurrentBump)
	register("CanceledContext", testCanceledContext)
	register("Runs", testRuns)
	register("SignIns", testSignIns)
	register("Access", testAccess)
}

const (
	sub  = "/subscriptions/00000000-0000-0000-0000-00000000000a"
	rgA  = sub + "/resourceGroups/rg-a"
	rgAB = sub + "/resourceGroups/rg-ab"
	uai  = "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
	vm   = "/providers/Microsoft.Compute/virtualMachines/"
)

func update(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func put(t *testing.T, s store.Store, id, typ, body string) *store.Resource {
	t.Helper()
	r := &store.Resource{ID: id, Type: typ, Body: json.RawMessage(body)}
	update(t, s, func(tx store.Tx) error { return tx.PutResource(context.Background(), r) })
	return r
}

func get(t *testing.T, s store.Store, id string) (*store.Resource, error) {
	t.Helper()
	var r *store.Resource
	err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		r, err = tx.GetResource(context.Background(), id)
		return err
	})
	return r, err
}

func list(t *testing.T, s store.Store, f store.ResourceFilter) []string {
	t.Helper()
	var ids []string
	err := s.View(context.Background(), func(tx store.Tx) error {
		rs, err := tx.ListResources(context.Background(), f)
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
		return err
	})
	if err != nil {
		t.Fatalf("ListResources(%+v): %v", f, err)
	}
	return ids
}

func equalIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}

func testResourceCRUD(t *testing.T, s store.Store) {
	ctx := context.Background()
	id := rgA + uai + "Id1"
	body := `{"name":"Id1","properties":{"clientId":"c"}}`
	before := time.Now().Add(-time.Second)
	r := put(t, s, id, "Microsoft.ManagedIdentity/userAssignedIdentities", body)
	if r.Version != 1 || r.Created.Before(before) || !r.Created.Equal(r.Updated) {
		t.Fatalf("after insert: version %d created %v updated %v", r.Version, r.Created, r.Updated)
	}
	got, err := get(t, s, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || string(got.Body) != body || got.Type != "Microsoft.ManagedIdentity/userAssignedIdentities" || got.Version != 1 {
		t.Fatalf("got %+v", got)
	}
	if !got.Created.Equal(r.Created) {
		t.Fatalf("created %v, stored %v", r.Created, got.Created)
	}
	// Create on an existing id conflicts.
	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.CreateResource(ctx, &store.Resource{ID: id, Type: "x/y", Body: json.RawMessage(`{}`)})
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateResource on existing: %v, want ErrConflict", err)
	}
	// Replace keeps Created and bumps Version.
	time.Sleep(2 * time.Millisecond)
	r2 := put(t, s, id, "Microsoft.ManagedIdentity/userAssignedIdentities", `{"v":2}`)
	if r2.Version != 2 || !r2.Created.Equal(r.Created) || !r2.Updated.After(r.Updated) {
		t.Fatalf("after replace: %+v", r2)
	}
	update(t, s, func(tx store.Tx) error { return tx.DeleteResource(ctx, id) })
	if _, err := get(t, s, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get after delete: %v, want ErrNotFound", err)
	}
	err = s.Update(ctx, func(tx store.Tx) error { return tx.DeleteResource(ctx, id) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
}

func testResourceCaseInsensitive(t *testing.T, s store.Store) {
	id := sub + "/resourceGroups/MyGroup" + uai + "MyIdentity"
	put(t, s, id, "Microsoft.ManagedIdentity/userAssignedIdentities", `{}`)
	got, err := get(t, s, "/SUBSCRIPTIONS/00000000-0000-0000-0000-00000000000A/resourcegroups/mygroup/PROVIDERS/microsoft.managedidentity/USERASSIGNEDIDENTITIES/myidentity")
	if err != nil {
		t.Fatalf("case-insensitive get: %v", err)
	}
	if got.ID != id {
		t.Fatalf("stored id %q lost its case: %q", id, got.ID)
	}
	ids := list(t, s, store.ResourceFilter{Type: "MICROSOFT.MANAGEDIDENTITY/userassignedidentities"})
	equalIDs(t, "list by type, other case", ids, []string{id})
}

func testResourceVersions(t *testing.T, s store.Store) {
	ctx := context.Background()
	id := rgA + uai + "v"
	put(t, s, id, "Microsoft.ManagedIdentity/userAssignedIdentities", `{}`)
	err := s.Update(ctx, func(tx store.Tx) error {
		return tx.PutResource(ctx, &store.Resource{ID: id, Type: "t/t", Body: json.RawMessage(`{}`), Version: 7})
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale version: %v, want ErrConflict", err)
	}
	r := &store.Resource{ID: id, Type: "Microsoft.ManagedIdentity/userAssignedIdentities", Body: json.RawMessage(`{"x":1}`), Version: 1}
	update(t, s, func(tx store.Tx) error { return tx.PutResource(ctx, r) })
	if r.Version != 2 {
		t.Fatalf("version after conditional put: %d", r.Version)
	}
	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.PutResource(ctx, &store.Resource{ID: rgA + uai + "absent", Type: "t/t", Body: json.RawMessage(`{}`), Version: 1})
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("conditional put of a missing resource: %v, want ErrConflict", err)
	}
}

func seedTree(t *testing.T, s store.Store) {
	for _, id := range []string{rgA, rgAB} {
		put(t, s, id, "Microsoft.Resources/resourceGroups", `{}`)
	}
	for _, name := range []string{"b", "a", "c"} {
		put(t, s, rgA+uai+name, "Microsoft.ManagedIdentity/userAssignedIdentities", `{}`)
	}
	put(t, s, rgA+uai+"a/federatedIdentityCredentials/f1", "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials", `{}`)
	put(t, s, rgA+vm+"vm1", "Microsoft.Compute/virtualMachines", `{}`)
	put(t, s, rgA+vm+"vm1/providers/Microsoft.Authorization/roleAssignments/ra1", "Microsoft.Authorization/roleAssignments", `{}`)
	put(t, s, rgAB+uai+"z", "Microsoft.ManagedIdentity/userAssignedIdentities", `{}`)
}

func testResourceListing(t *testing.T, s store.Store) {
	seedTree(t, s)
	equalIDs(t, "identities in rg-a",
		list(t, s, store.ResourceFilter{Type: "Microsoft.ManagedIdentity/userAssignedIdentities", Scope: rgA}),
		[]string{rgA + uai + "a", rgA + uai + "b", rgA + uai + "c"})
	equalIDs(t, "identities in subscription",
		list(t, s, store.ResourceFilter{Type: "Microsoft.ManagedIdentity/userAssignedIdentities", Scope: sub}),
		[]string{rgA + uai + "a", rgA + uai + "b", rgA + uai + "c", rgAB + uai + "z"})
	equalIDs(t, "children of identity a",
		list(t, s, store.ResourceFilter{Parent: rgA + uai + "a"}),
		[]string{rgA + uai + "a/federatedIdentityCredentials/f1"})
	equalIDs(t, "extension resources of vm1",
		list(t, s, store.ResourceFilter{Parent: rgA + vm + "vm1"}),
		[]string{rgA + vm + "vm1/providers/Microsoft.Authorization/roleAssignments/ra1"})
	equalIDs(t, "groups of the subscription",
		list(t, s, store.ResourceFilter{Parent: sub}),
		[]string{rgA, rgAB})
	equalIDs(t, "everything below rg-ab",
		list(t, s, store.ResourceFilter{Scope: rgAB}),
		[]string{rgAB + uai + "z"})
	if got := len(list(t, s, store.ResourceFilter{Scope: "/"})); got != 9 {
		t.Fatalf("everything below the root: %d resources, want 9", got)
	}
	equalIDs(t, "identities named B anywhere",
		list(t, s, store.ResourceFilter{Type: "Microsoft.ManagedIdentity/userAssignedIdentities", Name: "B"}),
		[]string{rgA + uai + "b"})
	equalIDs(t, "anything named z",
		list(t, s, store.ResourceFilter{Name: "z"}),
		[]string{rgAB + uai + "z"})
	if got := list(t, s, store.ResourceFilter{Type: "Microsoft.KeyVault/vaults"}); len(got) != 0 {
		t.Fatalf("no vaults expected, got %q", got)
	}
}

func testResourcePaging(t *testing.T, s store.Store) {
	seedTree(t, s)
	f := store.ResourceFilter{Type: "Microsoft.ManagedIdentity/userAssignedIdentities", Limit: 2}
	var all []string
	for i := 0; i < 5; i++ {
		page := list(t, s, f)
		all = append(all, page...)
		if len(page) < f.Limit {
			break
		}
		f.After = page[len(page)-1]
	}
	equalIDs(t, "paged identities", all, []string{rgA + uai + "a", rgA + uai + "b", rgA + uai + "c", rgAB + uai + "z"})
}

func testDeleteTree(t *testing.T, s store.Store) {
	seedTree(t, s)
	var deleted []*store.Resource
	update(t, s, func(tx store.Tx) error {
		var err error
		deleted, err = tx.DeleteTree(context.Background(), "/subscriptions/00000000-0000-0000-0000-00000000000A/resourcegroups/RG-A")
		return err
	})
	if len(deleted) != 7 {
		t.Fatalf("deleted %d resources, want 7 (the group and its 6 resources)", len(deleted))
	}
	if deleted[0].ID != rgA {
		t.Fatalf("first deleted = %q, want the group itself", deleted[0].ID)
	}
	equalIDs(t, "what remains", list(t, s, store.ResourceFilter{Scope: sub}), []string{rgAB, rgAB + uai + "z"})
	// Deleting an absent tree is not an error and deletes nothing.
	update(t, s, func(tx store.Tx) error {
		var err error
		deleted, err = tx.DeleteTree(context.Background(), rgA)
		return err
	})
	if len(deleted) != 0 {
		t.Fatalf("second DeleteTree deleted %d", len(deleted))
	}
}

func testInvalidIDs(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, id := range []string{"", "relative/id", "/", "/subscriptions//x"} {
		err := s.Update(ctx, func(tx store.Tx) error {
			return tx.PutResource(ctx, &store.Resource{ID: id, Type: "a/b", Body: json.RawMessage(`{}`)})
		})
		if err == nil {
			t.Errorf("PutResource(%q) accepted an invalid id", id)
		}
	}
}

func testPrincipals(t *testing.T, s store.Store) {
	ctx := context.Background()
	p := &store.Principal{
		ObjectID: "11111111-1111-1111-1111-111111111111", ClientID: "22222222-2222-2222-2222-222222222222",
		Kind: store.KindUserAssigned, DisplayName: "id1", ResourceID: rgA + uai + "Id1",
	}
	update(t, s, func(tx store.Tx) error { return tx.CreatePrincipal(ctx, p) })
	clash := *p
	clash.ObjectID = "33333333-3333-3333-3333-333333333333"
	err := s.Update(ctx, func(tx store.Tx) error { return tx.CreatePrincipal(ctx, &clash) })
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate client id: %v, want ErrConflict", err)
	}
	err = s.View(ctx, func(tx store.Tx) error {
		byObj, err := tx.GetPrincipal(ctx, "11111111-1111-1111-1111-111111111111")
		if err != nil {
			return err
		}
		byClient, err := tx.PrincipalByClientID(ctx, "22222222-2222-2222-2222-222222222222")
		if err != nil {
			return err
		}
		byRes, err := tx.PrincipalByResource(ctx, "/SUBSCRIPTIONS/00000000-0000-0000-0000-00000000000a/resourceGroups/RG-A"+uai+"id1")
		if err != nil {
			return err
		}
		for _, got := range []*store.Principal{byObj, byClient, byRes} {
			if got.ObjectID != p.ObjectID || got.ClientID != p.ClientID || got.Kind != p.Kind || got.ResourceID != p.ResourceID || got.DisplayName != "id1" {
				return fmt.Errorf("principal read back as %+v", got)
			}
		}
		all, err := tx.ListPrincipals(ctx)
		if err != nil {
			return err
		}
		if len(all) != 1 {
			return fmt.Errorf("ListPrincipals: %d", len(all))
		}
		if _, err := tx.PrincipalByClientID(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("unknown client id: %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	update(t, s, func(tx store.Tx) error { return tx.DeletePrincipal(ctx, p.ObjectID) })
	err = s.Update(ctx, func(tx store.Tx) error { return tx.DeletePrincipal(ctx, p.ObjectID) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func testMeta(t *testing.T, s store.Store) {
	ctx := context.Background()
	err := s.View(ctx, func(tx store.Tx) error {
		_, err := tx.GetMeta(ctx, "tenant")
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing meta: %v", err)
	}
	update(t, s, func(tx store.Tx) error { return tx.SetMeta(ctx, "tenant", "a") })
	update(t, s, func(tx store.Tx) error { return tx.SetMeta(ctx, "tenant", "b") })
	var v string
	update(t, s, func(tx store.Tx) error {
		var err error
		v, err = tx.GetMeta(ctx, "tenant")
		return err
	})
	if v != "b" {
		t.Fatalf("meta = %q, want b", v)
	}
	if rev, err := s.Revision(ctx, "rbac"); err != nil || rev != 0 {
		t.Fatalf("revision of a new topic = %d, %v", rev, err)
	}
	for want := int64(1); want <= 3; want++ {
		var got int64
		update(t, s, func(tx store.Tx) error {
			var err error
			got, err = tx.Bump(ctx, "rbac")
			return err
		})
		if got != want {
			t.Fatalf("Bump = %d, want %d", got, want)
		}
	}
	if rev, err := s.Revision(ctx, "rbac"); err != nil || rev != 3 {
		t.Fatalf("Revision = %d, %v; want 3", rev, err)
	}
}

func testSigningKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	k1 := &store.SigningKey{ID: "k1", PEM: []byte("pem-1"), Created: t0}
	k2 := &store.SigningKey{ID: "k2", PEM: []byte("pem-2"), Created: t0.Add(time.Hour)}
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutSigningKey(ctx, k2); err != nil {
			return err
		}
		return tx.PutSigningKey(ctx, k1)
	})
	k1.Retired = t0.Add(2 * time.Hour)
	update(t, s, func(tx store.Tx) error { return tx.PutSigningKey(ctx, k1) })
	var keys []*store.SigningKey
	update(t, s, func(tx store.Tx) error {
		var err error
		keys, err = tx.ListSigningKeys(ctx)
		return err
	})
	if len(keys) != 2 || keys[0].ID != "k1" || keys[1].ID != "k2" {
		t.Fatalf("keys not oldest first: %+v", keys)
	}
	if string(keys[0].PEM) != "pem-1" || !keys[0].Retired.Equal(k1.Retired) || !keys[1].Retired.IsZero() || !keys[0].Created.Equal(t0) {
		t.Fatalf("key read back as %+v", keys[0])
	}
	update(t, s, func(tx store.Tx) error { return tx.DeleteSigningKey(ctx, "k1") })
	err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteSigningKey(ctx, "k1") })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func testRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutResource(ctx, &store.Resource{ID: rgA, Type: "Microsoft.Resources/resourceGroups", Body: json.RawMessage(`{}`)}); err != nil {
			return err
		}
		if err := tx.SetMeta(ctx, "k", "v"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want the function's error", err)
	}
	if _, err := get(t, s, rgA); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled-back resource is visible: %v", err)
	}
	err = s.View(ctx, func(tx store.Tx) error { _, err := tx.GetMeta(ctx, "k"); return err })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled-back meta is visible: %v", err)
	}
}

// testConcurrentRMW increments a counter in a resource body from many
// goroutines; a lost update shows as a short count.
func testConcurrentRMW(t *testing.T, s store.Store) {
	ctx := context.Background()
	id := rgA + uai + "counter"
	put(t, s, id, "Microsoft.ManagedIdentity/userAssignedIdentities", `{"n":0}`)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				err := s.Update(ctx, func(tx store.Tx) error {
					r, err := tx.GetResource(ctx, id)
					if err != nil {
						return err
					}
					var doc struct{ N int }
					if err := json.Unmarshal(r.Body, &doc); err != nil {
						return err
					}
					r.Body = json.RawMessage(fmt.Sprintf(`{"n":%d}`, doc.N+1))
					return tx.PutResource(ctx, r)
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent update: %v", err)
	}
	r, err := get(t, s, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`{"n":%d}`, workers*each); string(r.Body) != want {
		t.Fatalf("counter = %s, want %s (lost updates)", r.Body, want)
	}
	if r.Version != workers*each+1 {
		t.Fatalf("version = %d, want %d", r.Version, workers*each+1)
	}
}

func testConcurrentBump(t *testing.T, s store.Store) {
	ctx := context.Background()
	const workers, each = 8, 10
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := s.Update(ctx, func(tx store.Tx) error { _, err := tx.Bump(ctx, "t"); return err }); err != nil {
					t.Errorf("Bump: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if rev, err := s.Revision(ctx, "t"); err != nil || rev != workers*each {
		t.Fatalf("Revision = %d, %v; want %d", rev, err, workers*each)
	}
}

func testCanceledContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Update(ctx, func(tx store.Tx) error { return tx.SetMeta(ctx, "k", "v") })
	if err == nil {
		t.Fatal("Update with a canceled context succeeded")
	}
	err = s.View(context.Background(), func(tx store.Tx) error { _, err := tx.GetMeta(context.Background(), "k"); return err })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("write under a canceled context is visible: %v", err)
	}
}

func testRuns(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	r := &store.Run{ID: "run-1", SecretHash: "sha256:aa", ComputeID: rgA + vm + "vm1", ServiceAccount: "ns/sa", Created: now, Expires: now.Add(time.Hour)}
	update(t, s, func(tx store.Tx) error { return tx.CreateRun(ctx, r) })
	dup := *r
	dup.ID = "run-2"
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.CreateRun(ctx, &dup) }); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate secret: %v, want ErrConflict", err)
	}
	old := &store.Run{ID: "run-old", SecretHash: "sha256:bb", ComputeID: "x", Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)}
	update(t, s, func(tx store.Tx) error { return tx.CreateRun(ctx, old) })
	err := s.View(ctx, func(tx store.Tx) error {
		got, err := tx.RunBySecretHash(ctx, "sha256:aa")
		if err != nil {
			return err
		}
		if got.ID != r.ID || got.ComputeID != r.ComputeID || got.ServiceAccount != "ns/sa" || !got.Expires.Equal(r.Expires) {
			return fmt.Errorf("run read back as %+v", got)
		}
		if _, err := tx.RunBySecretHash(ctx, "sha256:zz"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("unknown secret: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	update(t, s, func(tx store.Tx) error { var err error; n, err = tx.DeleteExpiredRuns(ctx, now); return err })
	if n != 1 {
		t.Fatalf("DeleteExpiredRuns deleted %d, want 1", n)
	}
	update(t, s, func(tx store.Tx) error { return tx.DeleteRun(ctx, "run-1") })
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteRun(ctx, "run-1") }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func testSignIns(t *testing.T, s store.Store) {
	ctx := context.Background()
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Microsecond)
	vmID := rgA + vm + "VM1"
	entries := []*store.SignIn{
		{At: base, Endpoint: "imds", Result: "success", PrincipalID: "P1", IdentityID: rgA + uai + "Id1", ComputeID: vmID, Audience: "https://vault.azure.net"},
		{At: base.Add(time.Minute), Endpoint: "imds", Result: "failure", ErrorCode: "invalid_request", ComputeID: vmID},
		{At: base.Add(2 * time.Minute), Endpoint: "clientsecret", Result: "success", PrincipalID: "p2", Audience: "https://management.azure.com/"},
	}
	update(t, s, func(tx store.Tx) error { return tx.AppendSignIns(ctx, entries) })
	if entries[0].Seq == 0 || entries[1].Seq <= entries[0].Seq || entries[2].Seq <= entries[1].Seq {
		t.Fatalf("sequence numbers %d %d %d", entries[0].Seq, entries[1].Seq, entries[2].Seq)
	}
	query := func(f store.SignInFilter) []*store.SignIn {
		var out []*store.SignIn
		err := s.View(ctx, func(tx store.Tx) error { var err error; out, err = tx.ListSignIns(ctx, f); return err })
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := query(store.SignInFilter{ComputeID: strings.ToUpper(vmID)}); len(got) != 2 || got[0].Result != "success" || got[1].ErrorCode != "invalid_request" {
		t.Fatalf("by compute: %+v", got)
	}
	if got := query(store.SignInFilter{IdentityID: rgA + uai + "id1"}); len(got) != 1 || got[0].Audience != "https://vault.azure.net" || !got[0].At.Equal(base) {
		t.Fatalf("by identity: %+v", got)
	}
	if got := query(store.SignInFilter{PrincipalID: "p1"}); len(got) != 1 {
		t.Fatalf("by principal: %+v", got)
	}
	if got := query(store.SignInFilter{Since: base.Add(90 * time.Second)}); len(got) != 1 || got[0].Endpoint != "clientsecret" {
		t.Fatalf("since: %+v", got)
	}
	if got := query(store.SignInFilter{AfterSeq: entries[0].Seq, Limit: 1}); len(got) != 1 || got[0].Seq != entries[1].Seq {
		t.Fatalf("paging: %+v", got)
	}
	var n int
	update(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.DeleteSignInsBefore(ctx, base.Add(30*time.Second))
		return err
	})
	if n != 1 || len(query(store.SignInFilter{})) != 2 {
		t.Fatalf("retention deleted %d", n)
	}
}

func testAccess(t *testing.T, s store.Store) {
	ctx := context.Background()
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Microsecond)
	vault := rgA + "/providers/Microsoft.KeyVault/vaults/v1"
	entries := []*store.Access{
		{At: base, Plane: "keyvault", Method: "GET", PrincipalID: "P1", IdentityID: rgA + uai + "Id1", ComputeID: rgA + vm + "VM1",
			Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", DataAction: true, Scope: vault + "/secrets/s",
			Allowed: true, Assignment: "/ra/1", Role: "Key Vault Secrets User", Reason: "granted", Status: 200},
		{At: base.Add(time.Minute), Plane: "arm", Method: "PUT", PrincipalID: "p2", Action: "Microsoft.Resources/subscriptions/resourceGroups/write",
			Scope: rgA, Allowed: false, Deny: "/deny/1", Reason: "denied", Status: 403},
	}
	update(t, s, func(tx store.Tx) error { return tx.AppendAccess(ctx, entries) })
	if entries[0].Seq == 0 || entries[1].Seq <= entries[0].Seq {
		t.Fatalf("sequence numbers %d %d", entries[0].Seq, entries[1].Seq)
	}
	query := func(f store.AccessFilter) []*store.Access {
		var out []*store.Access
		if err := s.View(ctx, func(tx store.Tx) error { var err error; out, err = tx.ListAccess(ctx, f); return err }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := query(store.AccessFilter{IdentityID: rgA + uai + "id1"})
	if len(got) != 1 {
		t.Fatalf("by identity: %+v", got)
	}
	e := got[0]
	if !e.DataAction || !e.Allowed || e.Status != 200 || e.Role != "Key Vault Secrets User" || e.ComputeID != rgA+vm+"VM1" || !e.At.Equal(base) || e.Scope != vault+"/secrets/s" {
		t.Fatalf("entry read back as %+v", e)
	}
	if got := query(store.AccessFilter{PrincipalID: "P2"}); len(got) != 1 || got[0].Allowed || got[0].Deny != "/deny/1" || got[0].DataAction {
		t.Fatalf("denied entry: %+v", got)
	}
	if got := query(store.AccessFilter{ComputeID: strings.ToLower(rgA + vm + "vm1")}); len(got) != 1 {
		t.Fatalf("by compute: %+v", got)
	}
	// A batch bigger than one statement keeps every entry, in order.
	many := make([]*store.Access, 300)
	for i := range many {
		many[i] = &store.Access{At: base.Add(time.Hour), Plane: "blob", Method: "GET", PrincipalID: "p3", Action: fmt.Sprintf("a%d", i), Status: 200}
	}
	update(t, s, func(tx store.Tx) error { return tx.AppendAccess(ctx, many) })
	if back := query(store.AccessFilter{PrincipalID: "p3"}); len(back) != 300 || back[0].Action != "a0" || back[299].Action != "a299" || many[299].Seq <= many[0].Seq {
		t.Fatalf("a batch of 300: %d entries back", len(back))
	}
	var n int
	update(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.DeleteAccessBefore(ctx, base.Add(time.Second))
		return err
	})
	if n != 1 || len(query(store.AccessFilter{})) != 301 {
		t.Fatalf("retention deleted %d", n)
	}
}
