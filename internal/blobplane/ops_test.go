package blobplane

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mimic-emu/mimic/internal/store"
)

func TestContainers(t *testing.T) {
	e := newEnv(t)
	r := e.req("PUT", "/logs?restype=container").as(pContributor).h("x-ms-meta-Team", "blue").do()
	expect(t, "create", r, http.StatusCreated, "")
	etag := r.header.Get("ETag")
	if !regexp.MustCompile(`^"0x[0-9A-F]{15}"$`).MatchString(etag) || r.header.Get("Last-Modified") == "" {
		t.Fatalf("ETag %q, Last-Modified %q", etag, r.header.Get("Last-Modified"))
	}
	r = e.req("PUT", "/logs?restype=container").as(pContributor).do()
	expect(t, "create again", r, http.StatusConflict, "ContainerAlreadyExists")
	contains(t, "exists", r.body, "The specified container already exists.")
	expect(t, "public", e.req("PUT", "/pub?restype=container").as(pContributor).h("x-ms-blob-public-access", "blob").do(),
		http.StatusConflict, "PublicAccessNotPermitted")
	expect(t, "reader creates", e.req("PUT", "/other?restype=container").as(pReader).do(), http.StatusForbidden, "AuthorizationPermissionMismatch")

	r = e.req("GET", "/logs?restype=container").as(pReader).do()
	expect(t, "properties", r, http.StatusOK, "")
	if r.header.Get("ETag") != etag || r.header.Get("x-ms-meta-team") != "blue" || r.header.Get("x-ms-lease-state") != "available" {
		t.Fatalf("properties %v", r.header)
	}
	r = e.req("PUT", "/logs?restype=container&comp=metadata").as(pContributor).h("x-ms-meta-Env", "dev").do()
	expect(t, "set metadata", r, http.StatusOK, "")
	if r.header.Get("ETag") == etag {
		t.Fatal("the ETag did not change")
	}
	r = e.req("HEAD", "/logs?restype=container&comp=metadata").as(pReader).do()
	if r.header.Get("x-ms-meta-env") != "dev" || r.header.Get("x-ms-meta-team") != "" {
		t.Fatalf("metadata replaced: %v", r.header)
	}
	expect(t, "bad metadata name", e.req("PUT", "/logs?restype=container&comp=metadata").as(pContributor).h("x-ms-meta-1x", "v").do(),
		http.StatusBadRequest, "InvalidMetadata")

	for _, n := range []string{"alpha", "beta", "gamma", "delta"} {
		e.mustCreate(n, nil)
	}
	r = e.req("GET", "/?comp=list&include=metadata").as(pReader).do()
	expect(t, "list", r, http.StatusOK, "")
	want := `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="https://acct1.blob.core.windows.net/"><Containers><Container><Name>alpha</Name><Properties><Last-Modified>`
	if !strings.HasPrefix(r.body, want) || !strings.HasSuffix(r.body, "</Containers><NextMarker /></EnumerationResults>") {
		t.Fatalf("list body %s", r.body)
	}
	contains(t, "list", r.body, "<Name>logs</Name>", "<Metadata><Env>dev</Env></Metadata>", "<Metadata />", "<LeaseStatus>unlocked</LeaseStatus>")
	var page struct {
		Containers []string `xml:"Containers>Container>Name"`
		Next       string   `xml:"NextMarker"`
		Max        int      `xml:"MaxResults"`
		Prefix     string   `xml:"Prefix"`
	}
	var names []string
	marker := ""
	for i := 0; ; i++ {
		r = e.req("GET", "/?comp=list&maxresults=2&marker="+url.QueryEscape(marker)).as(pReader).do()
		page.Next, page.Containers = "", nil
		if err := xml.Unmarshal([]byte(r.body), &page); err != nil {
			t.Fatal(err)
		}
		if page.Max != 2 {
			t.Fatalf("MaxResults %d", page.Max)
		}
		names = append(names, page.Containers...)
		if page.Next == "" {
			break
		}
		marker = page.Next
		if i > 5 {
			t.Fatal("paging does not end")
		}
	}
	if fmt.Sprint(names) != "[alpha beta delta gamma logs]" || !strings.HasPrefix(marker, "/acct1/") {
		t.Fatalf("paged %v (last marker %q)", names, marker)
	}
	r = e.req("GET", "/?comp=list&prefix=g").as(pReader).do()
	page.Containers = nil
	if err := xml.Unmarshal([]byte(r.body), &page); err != nil || fmt.Sprint(page.Containers) != "[gamma]" || page.Prefix != "g" {
		t.Fatalf("prefix: %v %s", err, r.body)
	}
	// Listing containers is decided at the account: a container-scoped
	// role does not list.
	expect(t, "nobody lists", e.req("GET", "/?comp=list").as(pNobody).do(), http.StatusForbidden, "AuthorizationPermissionMismatch")

	expect(t, "reader deletes", e.req("DELETE", "/logs?restype=container").as(pReader).do(), http.StatusForbidden, "AuthorizationPermissionMismatch")
	e.mustCreate("logs", map[string]string{"x": "1"})
	expect(t, "delete", e.req("DELETE", "/logs?restype=container").as(pContributor).do(), http.StatusAccepted, "")
	expect(t, "delete again", e.req("DELETE", "/logs?restype=container").as(pContributor).do(), http.StatusNotFound, "ContainerNotFound")
	e.mustCreate("logs", nil)
	expect(t, "a blob of the deleted container", e.req("GET", "/logs/x").as(pReader).do(), http.StatusNotFound, "BlobNotFound")
}

func TestBlobs(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("data", nil)
	body := []byte("the content")
	sum := md5.Sum(body)
	r := e.req("PUT", "/data/dir/file.txt").as(pContributor).h("x-ms-blob-type", "BlockBlob").h("x-ms-blob-content-type", "text/plain").
		h("x-ms-blob-cache-control", "no-cache").h("x-ms-meta-Owner", "me").h("Content-MD5", base64.StdEncoding.EncodeToString(sum[:])).with(body).do()
	expect(t, "put", r, http.StatusCreated, "")
	if r.header.Get("Content-MD5") != base64.StdEncoding.EncodeToString(sum[:]) || r.header.Get("x-ms-request-server-encrypted") != "true" {
		t.Fatalf("put headers %v", r.header)
	}
	etag := r.header.Get("ETag")
	r = e.req("GET", "/data/dir/file.txt").as(pReader).do()
	expect(t, "get", r, http.StatusOK, "")
	if r.body != "the content" || r.header.Get("Content-Type") != "text/plain" || r.header.Get("Cache-Control") != "no-cache" ||
		r.header.Get("x-ms-meta-owner") != "me" || r.header.Get("ETag") != etag || r.header.Get("x-ms-blob-type") != "BlockBlob" ||
		r.header.Get("Content-MD5") != base64.StdEncoding.EncodeToString(sum[:]) || r.header.Get("Content-Length") != "11" {
		t.Fatalf("get: %q %v", r.body, r.header)
	}
	r = e.req("HEAD", "/data/dir/file.txt").as(pReader).do()
	if r.status != http.StatusOK || r.header.Get("Content-Length") != "11" || r.header.Get("x-ms-access-tier") != "Hot" || r.body != "" {
		t.Fatalf("head: %d %v", r.status, r.header)
	}
	// Conditions.
	expect(t, "If-None-Match: *", e.req("PUT", "/data/dir/file.txt").as(pContributor).h("x-ms-blob-type", "BlockBlob").
		h("If-None-Match", "*").with([]byte("x")).do(), http.StatusConflict, "BlobAlreadyExists")
	expect(t, "If-Match other", e.req("PUT", "/data/dir/file.txt").as(pContributor).h("x-ms-blob-type", "BlockBlob").
		h("If-Match", `"0x1"`).with([]byte("x")).do(), http.StatusPreconditionFailed, "ConditionNotMet")
	expect(t, "GET If-Match other", e.req("GET", "/data/dir/file.txt").as(pReader).h("If-Match", `"0x1"`).do(), http.StatusPreconditionFailed, "ConditionNotMet")
	if r := e.req("GET", "/data/dir/file.txt").as(pReader).h("If-None-Match", etag).do(); r.status != http.StatusNotModified {
		t.Fatalf("If-None-Match current: %d", r.status)
	}
	expect(t, "md5 mismatch", e.req("PUT", "/data/m").as(pContributor).h("x-ms-blob-type", "BlockBlob").
		h("Content-MD5", base64.StdEncoding.EncodeToString(sum[:])).with([]byte("other")).do(), http.StatusBadRequest, "Md5Mismatch")
	expect(t, "no blob type", e.req("PUT", "/data/m").as(pContributor).with([]byte("x")).do(), http.StatusBadRequest, "MissingRequiredHeader")
	expect(t, "page blob", e.req("PUT", "/data/m").as(pContributor).h("x-ms-blob-type", "PageBlob").do(), http.StatusNotImplemented, "NotImplemented")
	expect(t, "put into a missing container", e.req("PUT", "/nocontainer/b").as(pContributor).h("x-ms-blob-type", "BlockBlob").with([]byte("x")).do(),
		http.StatusNotFound, "ContainerNotFound")
	expect(t, "reader writes", e.req("PUT", "/data/r").as(pReader).h("x-ms-blob-type", "BlockBlob").with([]byte("x")).do(),
		http.StatusForbidden, "AuthorizationPermissionMismatch")

	// Overwrite: the new content is served at once (the cache is dropped).
	r = e.req("PUT", "/data/dir/file.txt").as(pContributor).h("x-ms-blob-type", "BlockBlob").h("If-Match", etag).with([]byte("v2")).do()
	expect(t, "overwrite", r, http.StatusCreated, "")
	if r := e.req("GET", "/data/dir/file.txt").as(pReader).do(); r.body != "v2" || r.header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("after overwrite: %q %v", r.body, r.header)
	}
	// Metadata and properties.
	expect(t, "set metadata", e.req("PUT", "/data/dir/file.txt?comp=metadata").as(pContributor).h("x-ms-meta-A", "1").do(), http.StatusOK, "")
	r = e.req("GET", "/data/dir/file.txt?comp=metadata").as(pReader).do()
	if r.header.Get("x-ms-meta-a") != "1" || r.header.Get("x-ms-meta-owner") != "" {
		t.Fatalf("metadata %v", r.header)
	}
	expect(t, "set properties", e.req("PUT", "/data/dir/file.txt?comp=properties").as(pContributor).h("x-ms-blob-content-type", "image/png").do(), http.StatusOK, "")
	if r := e.req("HEAD", "/data/dir/file.txt").as(pReader).do(); r.header.Get("Content-Type") != "image/png" || r.header.Get("x-ms-meta-a") != "1" {
		t.Fatalf("properties %v", r.header)
	}
	// A blob named at the root is in $root.
	e.mustCreate("$root", nil)
	expect(t, "root blob", e.req("PUT", "/top.txt").as(pContributor).h("x-ms-blob-type", "BlockBlob").with([]byte("t")).do(), http.StatusCreated, "")
	if r := e.req("GET", "/$root/top.txt").as(pReader).do(); r.body != "t" {
		t.Fatalf("root blob %d %q", r.status, r.body)
	}
	// Delete.
	expect(t, "reader deletes", e.req("DELETE", "/data/dir/file.txt").as(pReader).do(), http.StatusForbidden, "AuthorizationPermissionMismatch")
	expect(t, "delete", e.req("DELETE", "/data/dir/file.txt").as(pContributor).do(), http.StatusAccepted, "")
	expect(t, "get deleted", e.req("GET", "/data/dir/file.txt").as(pReader).do(), http.StatusNotFound, "BlobNotFound")
	expect(t, "delete again", e.req("DELETE", "/data/dir/file.txt").as(pContributor).do(), http.StatusNotFound, "BlobNotFound")
}

func TestCreateOnly(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("drop", nil)
	put := func(name string) response {
		return e.req("PUT", "/drop/"+name).as(pCreator).h("x-ms-blob-type", "BlockBlob").with([]byte("x")).do()
	}
	expect(t, "create with add/action", put("new"), http.StatusCreated, "")
	expect(t, "overwrite with add/action", put("new"), http.StatusForbidden, "AuthorizationPermissionMismatch")
	entries, err := e.access.Query(context.Background(), store.AccessFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range entries {
		if a.Action == ActionBlobsAdd && a.Allowed {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d add/action entries in %+v", n, entries)
	}
}

func TestConditionOnContainerName(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("logs", map[string]string{"a.log": "log line"})
	e.mustCreate("other", map[string]string{"a.log": "secret"})
	if r := e.req("GET", "/logs/a.log").as(pLogsOnly).do(); r.status != http.StatusOK || r.body != "log line" {
		t.Fatalf("logs: %d %s", r.status, r.body)
	}
	expect(t, "other", e.req("GET", "/other/a.log").as(pLogsOnly).do(), http.StatusForbidden, "AuthorizationPermissionMismatch")
	// The condition restricts reads only: listing passes (ActionMatches
	// matches the list's action too, so it is restricted as well).
	expect(t, "list other", e.req("GET", "/other?restype=container&comp=list").as(pLogsOnly).do(), http.StatusForbidden, "AuthorizationPermissionMismatch")
	expect(t, "list logs", e.req("GET", "/logs?restype=container&comp=list").as(pLogsOnly).do(), http.StatusOK, "")
}

func TestListBlobs(t *testing.T) {
	e := newEnv(t)
	names := []string{"a.txt", "dir/1", "dir/2", "dir/sub/3", "dir2/x", "z"}
	blobs := map[string]string{}
	for _, n := range names {
		blobs[n] = n
	}
	e.mustCreate("list", blobs)
	e.req("PUT", "/list/z?comp=metadata").as(pContributor).h("x-ms-meta-K", "v").do()
	type listing struct {
		Blobs []struct {
			Name       string `xml:"Name"`
			Properties struct {
				Length int64  `xml:"Content-Length"`
				Etag   string `xml:"Etag"`
				Type   string `xml:"BlobType"`
			} `xml:"Properties"`
			Metadata struct {
				Inner string `xml:",innerxml"`
			} `xml:"Metadata"`
		} `xml:"Blobs>Blob"`
		Prefixes []string `xml:"Blobs>BlobPrefix>Name"`
		Next     string   `xml:"NextMarker"`
	}
	list := func(query string) listing {
		t.Helper()
		r := e.req("GET", "/list?restype=container&comp=list"+query).as(pReader).do()
		expect(t, "list "+query, r, http.StatusOK, "")
		var l listing
		if err := xml.Unmarshal([]byte(r.body), &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := list("&include=metadata")
	if len(l.Blobs) != 6 || l.Blobs[0].Name != "a.txt" || l.Blobs[0].Properties.Length != 5 || l.Blobs[0].Properties.Type != "BlockBlob" ||
		strings.Contains(l.Blobs[0].Properties.Etag, `"`) || l.Blobs[5].Metadata.Inner != "<K>v</K>" || l.Next != "" {
		t.Fatalf("flat %+v", l)
	}
	walk := func(query string) (got []string) {
		marker := ""
		for i := 0; i < 20; i++ {
			l := list(query + "&maxresults=2&marker=" + url.QueryEscape(marker))
			for _, b := range l.Blobs {
				got = append(got, b.Name)
			}
			for _, p := range l.Prefixes {
				got = append(got, p+"(prefix)")
			}
			if l.Next == "" {
				slices.Sort(got)
				return got
			}
			marker = l.Next
		}
		t.Fatal("paging does not end")
		return nil
	}
	if got := fmt.Sprint(walk("")); got != "[a.txt dir/1 dir/2 dir/sub/3 dir2/x z]" {
		t.Errorf("paged: %s", got)
	}
	if got := fmt.Sprint(walk("&delimiter=/")); got != "[a.txt dir/(prefix) dir2/(prefix) z]" {
		t.Errorf("paged with delimiter: %s", got)
	}
	if got := fmt.Sprint(walk("&delimiter=/&prefix=dir/")); got != "[dir/1 dir/2 dir/sub/(prefix)]" {
		t.Errorf("prefix dir/ with delimiter: %s", got)
	}
	if got := fmt.Sprint(walk("&prefix=dir")); got != "[dir/1 dir/2 dir/sub/3 dir2/x]" {
		t.Errorf("prefix dir: %s", got)
	}
	r := e.req("GET", "/list?restype=container&comp=list&prefix=dir/&delimiter=/").as(pReader).do()
	contains(t, "echo", r.body, `ContainerName="list"><Prefix>dir/</Prefix><Delimiter>/</Delimiter><Blobs>`)
	expect(t, "bad marker", e.req("GET", "/list?restype=container&comp=list&marker=zzz").as(pReader).do(), http.StatusBadRequest, "InvalidQueryParameterValue")
	expect(t, "maxresults 0", e.req("GET", "/list?restype=container&comp=list&maxresults=0").as(pReader).do(), http.StatusBadRequest, "OutOfRangeQueryParameterValue")
	expect(t, "missing container", e.req("GET", "/nope?restype=container&comp=list").as(pReader).do(), http.StatusNotFound, "ContainerNotFound")
}

func TestBlocks(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("big", nil)
	id := func(i int) string { return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("block-%04d", i))) }
	parts := []string{"aaaa", "bbb", "cc"}
	for i, p := range parts {
		r := e.req("PUT", "/big/f?comp=block&blockid="+url.QueryEscape(id(i))).as(pContributor).with([]byte(p)).do()
		expect(t, "put block", r, http.StatusCreated, "")
		s := md5.Sum([]byte(p))
		if r.header.Get("Content-MD5") != base64.StdEncoding.EncodeToString(s[:]) {
			t.Fatalf("block MD5 %v", r.header)
		}
	}
	expect(t, "get before commit", e.req("GET", "/big/f").as(pReader).do(), http.StatusNotFound, "BlobNotFound")
	r := e.req("GET", "/big/f?comp=blocklist&blocklisttype=all").as(pReader).do()
	expect(t, "uncommitted list", r, http.StatusOK, "")
	contains(t, "uncommitted", r.body, "<CommittedBlocks></CommittedBlocks><UncommittedBlocks><Block><Name>"+id(0)+"</Name><Size>4</Size></Block>")
	expect(t, "bad block id", e.req("PUT", "/big/f?comp=block&blockid=%21%21").as(pContributor).with([]byte("x")).do(), http.StatusBadRequest, "InvalidQueryParameterValue")
	expect(t, "no block id", e.req("PUT", "/big/f?comp=block").as(pContributor).with([]byte("x")).do(), http.StatusBadRequest, "MissingRequiredQueryParameter")

	list := func(entries ...string) []byte {
		var b bytes.Buffer
		b.WriteString(`<?xml version="1.0" encoding="utf-8"?><BlockList>`)
		b.WriteString(strings.Join(entries, ""))
		b.WriteString("</BlockList>")
		return b.Bytes()
	}
	expect(t, "unknown block", e.req("PUT", "/big/f?comp=blocklist").as(pContributor).with(list("<Latest>"+id(9)+"</Latest>")).do(),
		http.StatusBadRequest, "InvalidBlockList")
	expect(t, "bad XML", e.req("PUT", "/big/f?comp=blocklist").as(pContributor).with([]byte("<BlockList><Latest>")).do(),
		http.StatusBadRequest, "InvalidXmlDocument")
	r = e.req("PUT", "/big/f?comp=blocklist").as(pContributor).h("x-ms-blob-content-type", "text/csv").h("x-ms-meta-Rows", "3").
		with(list("<Latest>"+id(0)+"</Latest>", "<Uncommitted>"+id(1)+"</Uncommitted>", "<Latest>"+id(2)+"</Latest>")).do()
	expect(t, "commit", r, http.StatusCreated, "")
	if r.header.Get("ETag") == "" {
		t.Fatal("no ETag")
	}
	r = e.req("GET", "/big/f").as(pReader).do()
	if r.body != "aaaabbbcc" || r.header.Get("Content-Type") != "text/csv" || r.header.Get("x-ms-meta-rows") != "3" || r.header.Get("Content-MD5") != "" {
		t.Fatalf("committed: %q %v", r.body, r.header)
	}
	r = e.req("GET", "/big/f?comp=blocklist&blocklisttype=all").as(pReader).do()
	contains(t, "committed list", r.body, "<CommittedBlocks><Block><Name>"+id(0)+"</Name><Size>4</Size></Block><Block><Name>"+id(1)+
		"</Name><Size>3</Size></Block><Block><Name>"+id(2)+"</Name><Size>2</Size></Block></CommittedBlocks><UncommittedBlocks></UncommittedBlocks>")
	if r.header.Get("x-ms-blob-content-length") != "9" {
		t.Fatalf("block list headers %v", r.header)
	}
	// Reuse committed blocks and a new one, in another order.
	expect(t, "put block 3", e.req("PUT", "/big/f?comp=block&blockid="+url.QueryEscape(id(3))).as(pContributor).with([]byte("D")).do(), http.StatusCreated, "")
	expect(t, "recommit", e.req("PUT", "/big/f?comp=blocklist").as(pContributor).
		with(list("<Committed>"+id(2)+"</Committed>", "<Latest>"+id(3)+"</Latest>", "<Committed>"+id(0)+"</Committed>")).do(), http.StatusCreated, "")
	if r := e.req("GET", "/big/f").as(pReader).do(); r.body != "ccDaaaa" {
		t.Fatalf("recommitted %q", r.body)
	}
	expect(t, "committed id not committed", e.req("PUT", "/big/f?comp=blocklist").as(pContributor).with(list("<Committed>"+id(1)+"</Committed>")).do(),
		http.StatusBadRequest, "InvalidBlockList")
	// A Put Blob discards uncommitted blocks.
	e.req("PUT", "/big/f?comp=block&blockid="+url.QueryEscape(id(5))).as(pContributor).with([]byte("E")).do()
	expect(t, "put blob", e.req("PUT", "/big/f").as(pContributor).h("x-ms-blob-type", "BlockBlob").with([]byte("whole")).do(), http.StatusCreated, "")
	r = e.req("GET", "/big/f?comp=blocklist&blocklisttype=all").as(pReader).do()
	contains(t, "after put blob", r.body, "<CommittedBlocks></CommittedBlocks><UncommittedBlocks></UncommittedBlocks>")
}

func TestAccountRecreated(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("keep", map[string]string{"b": "old data"})
	e.deleteAccount(testAcct)
	expect(t, "deleted account", e.req("GET", "/keep/b").as(pReader).do(), http.StatusNotFound, "ResourceNotFound")
	e.putAccount(testAcct, true)
	expect(t, "re-created account", e.req("GET", "/keep/b").as(pReader).do(), http.StatusNotFound, "ContainerNotFound")
	n, err := e.plane.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var accounts []string
	e.store.View(context.Background(), func(tx store.Tx) error {
		accounts, err = tx.ListBlobAccounts(context.Background())
		return err
	})
	if len(accounts) != 0 {
		t.Fatalf("sweep removed %d, left %v", n, accounts)
	}
}

func TestConcurrentOverwrites(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("race", map[string]string{"b": "v0"})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(2)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				r := e.req("PUT", "/race/b").as(pContributor).h("x-ms-blob-type", "BlockBlob").with([]byte(fmt.Sprintf("v%d-%d", w, i))).do()
				if r.status != http.StatusCreated {
					t.Errorf("put: %d %s", r.status, r.body)
				}
			}
		}(w)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				r := e.req("GET", "/race/b").as(pReader).do()
				if r.status != http.StatusOK || !strings.HasPrefix(r.body, "v") {
					t.Errorf("get: %d %s", r.status, r.body)
				}
			}
		}()
	}
	wg.Wait()
	last := e.req("PUT", "/race/b").as(pContributor).h("x-ms-blob-type", "BlockBlob").with([]byte("final")).do()
	expect(t, "final", last, http.StatusCreated, "")
	if r := e.req("GET", "/race/b").as(pReader).do(); r.body != "final" {
		t.Fatalf("stale read %q", r.body)
	}
}
