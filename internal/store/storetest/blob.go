package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/store"
)

func init() {
	register("BlobContainers", testBlobContainers)
	register("BlobCRUD", testBlobCRUD)
	register("BlobListing", testBlobListing)
	register("BlobAccounts", testBlobAccounts)
}

func blobUpdate(t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) error) error {
	t.Helper()
	ctx := context.Background()
	return s.Update(ctx, func(tx store.Tx) error { return fn(ctx, tx) })
}

func blobView(t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	ctx := context.Background()
	if err := s.View(ctx, func(tx store.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
}

func newContainer(account, name string) *store.BlobContainer {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return &store.BlobContainer{Account: account, Name: name, Dir: "d-" + name, ETag: `"0x1"`, Created: now, Modified: now}
}

func testBlobContainers(t *testing.T, s store.Store) {
	c := newContainer("acct1", "logs")
	c.Metadata = map[string]string{"Owner": "team a", "Env": "dev"}
	if err := blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateBlobContainer(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	err := blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateBlobContainer(ctx, newContainer("acct1", "logs"))
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create: %v, want ErrConflict", err)
	}
	// The same name in another account is another container.
	if err := blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateBlobContainer(ctx, newContainer("acct2", "logs"))
	}); err != nil {
		t.Fatal(err)
	}
	blobView(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetBlobContainer(ctx, "acct1", "logs")
		if err != nil {
			return err
		}
		if got.Dir != "d-logs" || got.ETag != `"0x1"` || !got.Created.Equal(c.Created) || got.Metadata["Owner"] != "team a" || len(got.Metadata) != 2 {
			t.Errorf("got %+v", got)
		}
		if _, err := tx.GetBlobContainer(ctx, "acct1", "LOGS"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("names are case-sensitive: %v", err)
		}
		return nil
	})
	c.Metadata, c.ETag, c.Modified = nil, `"0x2"`, c.Modified.Add(time.Second)
	if err := blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateBlobContainer(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	blobView(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetBlobContainer(ctx, "acct1", "logs")
		if err == nil && (got.ETag != `"0x2"` || len(got.Metadata) != 0 || !got.Modified.Equal(c.Modified)) {
			t.Errorf("after update: %+v", got)
		}
		return err
	})
	err = blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.UpdateBlobContainer(ctx, newContainer("acct1", "absent"))
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing container: %v", err)
	}
	// Deleting a container deletes its blobs.
	if err := blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.PutBlob(ctx, &store.Blob{Account: "acct1", Container: "logs", Name: "a", File: "f"})
	}); err != nil {
		t.Fatal(err)
	}
	if err := blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteBlobContainer(ctx, "acct1", "logs") }); err != nil {
		t.Fatal(err)
	}
	err = blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteBlobContainer(ctx, "acct1", "logs") })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateBlobContainer(ctx, newContainer("acct1", "logs"))
	}); err != nil {
		t.Fatal(err)
	}
	blobView(t, s, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.GetBlob(ctx, "acct1", "logs", "a"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a blob survived its container: %v", err)
		}
		return nil
	})
	// A rolled-back create leaves nothing.
	err = blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateBlobContainer(ctx, newContainer("acct1", "gone")); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("want the function's error")
	}
	blobView(t, s, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.GetBlobContainer(ctx, "acct1", "gone"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("rolled-back container: %v", err)
		}
		return nil
	})
}

func testBlobCRUD(t *testing.T, s store.Store) {
	err := blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.PutBlob(ctx, &store.Blob{Account: "a", Container: "nope", Name: "b", File: "f"})
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("blob in a missing container: %v, want ErrNotFound", err)
	}
	if err := blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateBlobContainer(ctx, newContainer("a", "c"))
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	b := &store.Blob{Account: "a", Container: "c", Name: "dir/ünïcode name.txt", Size: 1234, ETag: `"0xA"`, Created: now, Modified: now,
		ContentType: "text/plain", ContentEncoding: "gzip", ContentLanguage: "en", ContentDisposition: "attachment", CacheControl: "no-cache",
		ContentMD5: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, Metadata: map[string]string{"K": "v"},
		Blocks: []store.BlobBlock{{ID: "YQ==", Size: 1000}, {ID: "Yg==", Size: 234}}, File: "f1"}
	if err := blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutBlob(ctx, b) }); err != nil {
		t.Fatal(err)
	}
	blobView(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetBlob(ctx, "a", "c", b.Name)
		if err != nil {
			return err
		}
		if fmt.Sprint(*got) != fmt.Sprint(*b) || !bytes.Equal(got.ContentMD5, b.ContentMD5) {
			t.Errorf("got  %+v\nwant %+v", *got, *b)
		}
		return nil
	})
	// Replace.
	b2 := &store.Blob{Account: "a", Container: "c", Name: b.Name, Size: 1, ETag: `"0xB"`, Created: now, Modified: now.Add(time.Second), File: "f2"}
	if err := blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutBlob(ctx, b2) }); err != nil {
		t.Fatal(err)
	}
	blobView(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetBlob(ctx, "a", "c", b.Name)
		if err != nil {
			return err
		}
		if got.File != "f2" || got.Size != 1 || got.ContentMD5 != nil || got.Metadata != nil || got.Blocks != nil || got.ContentType != "" {
			t.Errorf("after replace: %+v", *got)
		}
		if _, err := tx.GetBlob(ctx, "a", "c", "DIR/ünïcode name.txt"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("blob names are case-sensitive: %v", err)
		}
		return nil
	})
	if err := blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteBlob(ctx, "a", "c", b.Name) }); err != nil {
		t.Fatal(err)
	}
	err = blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteBlob(ctx, "a", "c", b.Name) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func testBlobListing(t *testing.T, s store.Store) {
	names := []string{"a", "a/b", "a/c", "a0", "ab", "B", "b/x", "é", "é/1", "z\U0010FFFF", "\U0010FFFF"}
	if err := blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, c := range []string{"c1", "c2", "c-3", "d"} {
			if err := tx.CreateBlobContainer(ctx, newContainer("a", c)); err != nil {
				return err
			}
		}
		for _, n := range names {
			if err := tx.PutBlob(ctx, &store.Blob{Account: "a", Container: "c1", Name: n, File: n}); err != nil {
				return err
			}
		}
		return tx.PutBlob(ctx, &store.Blob{Account: "a", Container: "c2", Name: "other", File: "x"})
	}); err != nil {
		t.Fatal(err)
	}
	blobs := func(f store.BlobFilter) []string {
		var out []string
		blobView(t, s, func(ctx context.Context, tx store.Tx) error {
			bs, err := tx.ListBlobs(ctx, "a", "c1", f)
			for _, b := range bs {
				out = append(out, b.Name)
			}
			return err
		})
		return out
	}
	check := func(what string, got []string, want ...string) {
		t.Helper()
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Errorf("%s:\n got  %q\n want %q", what, got, want)
		}
	}
	// Byte order: upper case first, then lower case, then non-ASCII.
	check("all", blobs(store.BlobFilter{}), "B", "a", "a/b", "a/c", "a0", "ab", "b/x", "z\U0010FFFF", "é", "é/1", "\U0010FFFF")
	check("prefix a/", blobs(store.BlobFilter{Prefix: "a/"}), "a/b", "a/c")
	check("prefix a", blobs(store.BlobFilter{Prefix: "a"}), "a", "a/b", "a/c", "a0", "ab")
	check("prefix é", blobs(store.BlobFilter{Prefix: "é"}), "é", "é/1")
	check("prefix z+max rune", blobs(store.BlobFilter{Prefix: "z\U0010FFFF"}), "z\U0010FFFF")
	check("prefix max rune", blobs(store.BlobFilter{Prefix: "\U0010FFFF"}), "\U0010FFFF")
	check("from a0", blobs(store.BlobFilter{From: "a0"}), "a0", "ab", "b/x", "z\U0010FFFF", "é", "é/1", "\U0010FFFF")
	check("prefix a from a/c limit 2", blobs(store.BlobFilter{Prefix: "a", From: "a/c", Limit: 2}), "a/c", "a0")
	check("from before prefix", blobs(store.BlobFilter{Prefix: "b", From: "B"}), "b/x")
	check("no match", blobs(store.BlobFilter{Prefix: "q"}))

	var containers []string
	blobView(t, s, func(ctx context.Context, tx store.Tx) error {
		cs, err := tx.ListBlobContainers(ctx, "a", store.BlobFilter{Prefix: "c", From: "c1", Limit: 5})
		for _, c := range cs {
			containers = append(containers, c.Name)
		}
		return err
	})
	check("containers", containers, "c1", "c2")
}

func testBlobAccounts(t *testing.T, s store.Store) {
	if err := blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, a := range []string{"y", "x"} {
			for _, c := range []string{"c1", "c2"} {
				if err := tx.CreateBlobContainer(ctx, newContainer(a, c)); err != nil {
					return err
				}
				if err := tx.PutBlob(ctx, &store.Blob{Account: a, Container: c, Name: "b", File: "f"}); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var accounts []string
	blobView(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		accounts, err = tx.ListBlobAccounts(ctx)
		return err
	})
	if fmt.Sprint(accounts) != "[x y]" {
		t.Fatalf("accounts %v", accounts)
	}
	var n int
	if err := blobUpdate(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		n, err = tx.DeleteBlobAccount(ctx, "x")
		return err
	}); err != nil || n != 2 {
		t.Fatalf("DeleteBlobAccount: %d, %v", n, err)
	}
	blobView(t, s, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.GetBlob(ctx, "x", "c1", "b"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("blob of a deleted account: %v", err)
		}
		if _, err := tx.GetBlob(ctx, "y", "c1", "b"); err != nil {
			t.Errorf("blob of another account: %v", err)
		}
		accounts, _ = tx.ListBlobAccounts(ctx)
		if fmt.Sprint(accounts) != "[y]" {
			t.Errorf("accounts after delete %v", accounts)
		}
		return nil
	})
}
