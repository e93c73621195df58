package blobplane

import (
	"net/http"
	"testing"

	"github.com/mimic-emu/mimic/internal/testenv"
)

// TestPostgresReplicas runs two planes on one PostgreSQL store and one
// content directory, as replicas do: what one writes, the other serves at
// once, though it had the blob's properties cached.
func TestPostgresReplicas(t *testing.T) {
	dsn := testenv.PostgresSchema(t, "mimic_blob_")
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
