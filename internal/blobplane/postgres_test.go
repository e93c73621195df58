package blobplane

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/http"
	"net/url"
	"testing"

	"github.com/mimic-emu/mimic/internal/testenv"
)

// postgresDSN returns a DSN whose search_path is a fresh schema, dropped
// when the test ends.
func postgresDSN(t *testing.T) string {
	t.Helper()
	base := testenv.PostgresDSN(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [6]byte
	rand.Read(b[:])
	schema := "mimic_blob_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		testenv.Missing(t, "cannot create a schema in %s: %v", base, err)
	}
	t.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestPostgresReplicas runs two planes on one PostgreSQL store and one
// content directory, as replicas do: what one writes, the other serves at
// once, though it had the blob's properties cached.
func TestPostgresReplicas(t *testing.T) {
	dsn := postgresDSN(t)
	dir := t.TempDir()
	a := openEnvStore(t, dir, dsn, true)
	t.Cleanup(a.close)
	b := a.replica()
	a.mustCreate("shared", map[string]string{"doc": "v1"})
	if r := b.req("GET", "/shared/doc").as(pReader).do(); r.body != "v1" {
		t.Fatalf("replica b: %d %q", r.status, r.body)
	}
	expect(t, "overwrite on a", a.req("PUT", "/shared/doc").as(pContributor).h("x-ms-blob-type", "BlockBlob").with([]byte("v2")).do(), http.StatusCreated, "")
	if r := b.req("GET", "/shared/doc").as(pReader).do(); r.body != "v2" {
		t.Fatalf("replica b after a's write: %d %q", r.status, r.body)
	}
	expect(t, "delete on b", b.req("DELETE", "/shared/doc").as(pContributor).do(), http.StatusAccepted, "")
	expect(t, "read on a", a.req("GET", "/shared/doc").as(pReader).do(), http.StatusNotFound, "BlobNotFound")
	// Block uploads and listings work on PostgreSQL too.
	expect(t, "block", a.req("PUT", "/shared/big?comp=block&blockid=YQ%3D%3D").as(pContributor).with([]byte("abc")).do(), http.StatusCreated, "")
	expect(t, "commit on b", b.req("PUT", "/shared/big?comp=blocklist").as(pContributor).
		with([]byte(`<BlockList><Latest>YQ==</Latest></BlockList>`)).do(), http.StatusCreated, "")
	if r := a.req("GET", "/shared?restype=container&comp=list&prefix=b").as(pReader).do(); r.status != http.StatusOK {
		t.Fatalf("list: %d %s", r.status, r.body)
	} else {
		contains(t, "list", r.body, "<Name>big</Name>", "<Content-Length>3</Content-Length>")
	}
}
