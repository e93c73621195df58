package blobplane

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/store"
)

func TestErrorShape(t *testing.T) {
	e := newEnv(t)
	r := e.req("GET", "/missing/blob.txt").as(pReader).do()
	expect(t, "blob in a missing container", r, http.StatusNotFound, "ContainerNotFound")
	re := regexp.MustCompile(`^<\?xml version="1.0" encoding="utf-8"\?><Error><Code>ContainerNotFound</Code><Message>The specified container does not exist.\n` +
		`RequestId:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\nTime:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z</Message></Error>$`)
	if !re.MatchString(r.body) {
		t.Fatalf("body %q", r.body)
	}
	if r.header.Get("Content-Type") != "application/xml" || r.header.Get("x-ms-request-id") == "" ||
		r.header.Get("x-ms-version") != "2026-12-06" || r.header.Get("WWW-Authenticate") != "" {
		t.Fatalf("headers %v", r.header)
	}
	if !strings.Contains(r.body, "RequestId:"+r.header.Get("x-ms-request-id")+"\n") {
		t.Fatalf("the body's RequestId is not the header's: %v %s", r.header, r.body)
	}
	// HEAD: no body, the code in x-ms-error-code.
	r = e.req("HEAD", "/missing/blob.txt").as(pReader).do()
	expect(t, "HEAD", r, http.StatusNotFound, "ContainerNotFound")
	if r.body != "" {
		t.Fatalf("HEAD body %q", r.body)
	}
	e.mustCreate("cont1", nil)
	r = e.req("GET", "/cont1/absent").as(pReader).do()
	expect(t, "missing blob", r, http.StatusNotFound, "BlobNotFound")
	contains(t, "body", r.body, "<Message>The specified blob does not exist.\n")
	r = e.req("GET", "/cont1/x").on("nosuchacct").as(pReader).do()
	expect(t, "unknown account", r, http.StatusNotFound, "ResourceNotFound")
	r = e.req("GET", "/cont1/x").as(pReader).h("x-ms-version", "2018-11-09").do()
	expect(t, "old version", r, http.StatusBadRequest, "InvalidHeaderValue")
	contains(t, "body", r.body, "<HeaderName>x-ms-version</HeaderName><HeaderValue>2018-11-09</HeaderValue>")
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("cont1", map[string]string{"b": "hello"})
	challenge := "Bearer authorization_uri=https://login.microsoftonline.com/" + testTenant + "/oauth2/authorize resource_id=https://storage.azure.com"

	r := e.req("GET", "/cont1/b").do()
	expect(t, "anonymous", r, http.StatusUnauthorized, "NoAuthenticationInformation")
	if r.header.Get("WWW-Authenticate") != challenge {
		t.Fatalf("challenge %q", r.header.Get("WWW-Authenticate"))
	}
	contains(t, "anonymous", r.body, "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.")
	r = e.req("GET", "/cont1/b").h("x-ms-version", "2019-07-07").do()
	expect(t, "anonymous before 2019-12-12", r, http.StatusNotFound, "ResourceNotFound")

	r = e.req("GET", "/cont1/b").h("Authorization", "Bearer not-a-token").do()
	expect(t, "garbage token", r, http.StatusUnauthorized, "InvalidAuthenticationInfo")
	if r.header.Get("WWW-Authenticate") != challenge {
		t.Fatalf("challenge %q", r.header.Get("WWW-Authenticate"))
	}
	r = e.req("GET", "/cont1/b").h("Authorization", "Bearer "+e.tokenFor(pReader, "https://vault.azure.net")).do()
	expect(t, "a vault token", r, http.StatusUnauthorized, "InvalidAuthenticationInfo")
	contains(t, "audience", r.body, "<AuthenticationErrorDetail>Audience validation failed. Audience did not match.</AuthenticationErrorDetail>")

	for _, aud := range []string{"https://storage.azure.com/", "https://" + testAcct + ".blob.core.windows.net", storageAppID} {
		r = e.req("GET", "/cont1/b").h("Authorization", "Bearer "+e.tokenFor(pReader, aud)).do()
		expect(t, "audience "+aud, r, http.StatusOK, "")
	}
	r = e.req("GET", "/cont1/b").as(pReader).h("x-ms-version", "").do()
	expect(t, "bearer without x-ms-version", r, http.StatusForbidden, "AuthenticationFailed")
	contains(t, "no version", r.body, "Authentication scheme Bearer is not supported in this version.")

	r = e.req("GET", "/cont1/b").as(pNobody).do()
	expect(t, "no role", r, http.StatusForbidden, "AuthorizationPermissionMismatch")
	contains(t, "no role", r.body, "<Message>This request is not authorized to perform this operation using this permission.\n")
	if r.header.Get("WWW-Authenticate") != "" {
		t.Fatal("a 403 carries WWW-Authenticate")
	}
	r = e.req("GET", "/cont1/b").as(pOwner).do()
	expect(t, "Owner at the subscription reads a blob", r, http.StatusForbidden, "AuthorizationPermissionMismatch")
	// Container operations are control-plane actions Owner holds.
	r = e.req("GET", "/cont1?restype=container").as(pOwner).do()
	expect(t, "Owner reads container properties", r, http.StatusOK, "")

	r = e.req("GET", "/cont1/b").h("Authorization", "Basic dXNlcjpwYXNz").do()
	expect(t, "Basic", r, http.StatusBadRequest, "InvalidAuthenticationInfo")
	r = e.req("GET", "/cont1/b?sv=2021-01-01&sig=abc").do()
	expect(t, "SAS", r, http.StatusForbidden, "AuthenticationFailed")
}

func TestSharedKey(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("cont1", map[string]string{"b": "hello"})
	r := e.req("GET", "/cont1/b").signed(testKey).do()
	expect(t, "SharedKey, key1", r, http.StatusOK, "")
	if r.body != "hello" {
		t.Fatalf("body %q", r.body)
	}
	key2 := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("\x07", 64)))
	r = e.req("PUT", "/cont1/new?comp=metadata&x=%2Fy").h("x-ms-meta-a", "1").signed(key2).do()
	expect(t, "SharedKey, key2, metadata of a missing blob", r, http.StatusNotFound, "BlobNotFound")
	r = e.req("PUT", "/cont1/up").h("x-ms-blob-type", "BlockBlob").h("Content-Type", "text/plain").with([]byte("body")).signed(testKey).do()
	expect(t, "SharedKey upload", r, http.StatusCreated, "")

	wrong := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 64)))
	r = e.req("GET", "/cont1/b").signed(wrong).do()
	expect(t, "wrong key", r, http.StatusForbidden, "AuthenticationFailed")
	contains(t, "wrong key", r.body, "<AuthenticationErrorDetail>The MAC signature found in the HTTP request", "Server used following string to sign: &apos;GET\n")

	old := e.req("GET", "/cont1/b")
	old.header.Set("x-ms-date", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))
	old.header.Set("Authorization", "SharedKey "+testAcct+":"+old.signature(testKey))
	expect(t, "old date", old.do(), http.StatusForbidden, "AuthenticationFailed")

	e.putAccount(testAcct, false)
	r = e.req("GET", "/cont1/b").signed(testKey).do()
	expect(t, "allowSharedKeyAccess false", r, http.StatusForbidden, "KeyBasedAuthenticationNotPermitted")
	contains(t, "disabled", r.body, "Key based authentication is not permitted on this storage account.")

	// The access log names the key as the reason.
	entries, err := e.access.Query(context.Background(), store.AccessFilter{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range entries {
		if a.Reason == reasonSharedKey && a.Allowed && a.Status == http.StatusOK && a.Action == ActionBlobsRead && a.DataAction &&
			strings.HasSuffix(a.Scope, "/blobServices/default/containers/cont1") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no SharedKey entry in %+v", entries)
	}
}

func TestNames(t *testing.T) {
	for name, code := range map[string]string{
		"abc": "", "a-b-c": "", "0ab": "", strings.Repeat("a", 63): "", "$root": "", "$logs": "",
		"ab": "OutOfRangeInput", strings.Repeat("a", 64): "OutOfRangeInput", "Abc": "InvalidResourceName",
		"a--b": "InvalidResourceName", "-ab": "InvalidResourceName", "ab-": "InvalidResourceName", "a_b": "InvalidResourceName", "$foo": "InvalidResourceName",
	} {
		err := checkContainerName(name)
		got := ""
		if err != nil {
			got = err.(*storageError).code
		}
		if got != code {
			t.Errorf("container %q: %q, want %q", name, got, code)
		}
	}
	if checkBlobName(strings.Repeat("é", 1024)) != nil || checkBlobName(strings.Repeat("a", 1025)) == nil || checkBlobName("\xff") == nil {
		t.Error("blob name rules")
	}
	e := newEnv(t)
	expect(t, "short name", e.req("PUT", "/ab?restype=container").as(pContributor).do(), http.StatusBadRequest, "OutOfRangeInput")
	expect(t, "upper case", e.req("PUT", "/ABC?restype=container").as(pContributor).do(), http.StatusBadRequest, "InvalidResourceName")
}

func TestRanges(t *testing.T) {
	for _, tc := range []struct {
		spec       string
		size       int64
		off, n     int64
		parsed, ok bool
	}{
		{"bytes=0-9", 100, 0, 10, true, true},
		{"bytes=90-", 100, 90, 10, true, true},
		{"bytes=90-200", 100, 90, 10, true, true},
		{"bytes=-10", 100, 90, 10, true, true},
		{"bytes=-200", 100, 0, 100, true, true},
		{"bytes=100-", 100, 0, 0, true, false},
		{"bytes=0-", 0, 0, 0, true, false},
		{"bytes=5-4", 100, 0, 0, true, false},
		{"bytes=0-1,5-6", 100, 0, 0, false, false},
		{"items=0-1", 100, 0, 0, false, false},
		{"bytes=a-b", 100, 0, 0, false, false},
	} {
		r, parsed := parseRange(tc.spec)
		if parsed != tc.parsed {
			t.Errorf("%s: parsed %v", tc.spec, parsed)
			continue
		}
		if !parsed {
			continue
		}
		off, n, ok := r.resolve(tc.size)
		if ok != tc.ok || ok && (off != tc.off || n != tc.n) {
			t.Errorf("%s of %d: %d+%d %v, want %d+%d %v", tc.spec, tc.size, off, n, ok, tc.off, tc.n, tc.ok)
		}
	}
	e := newEnv(t)
	content := "0123456789abcdefghij"
	e.mustCreate("cont1", map[string]string{"b": content, "empty": ""})
	r := e.req("GET", "/cont1/b").as(pReader).h("x-ms-range", "bytes=5-9").h("Range", "bytes=0-1").do()
	expect(t, "x-ms-range", r, http.StatusPartialContent, "")
	if r.body != "56789" || r.header.Get("Content-Range") != "bytes 5-9/20" || r.header.Get("Content-Length") != "5" {
		t.Fatalf("range: %q %v", r.body, r.header)
	}
	sum := md5.Sum([]byte(content))
	if r.header.Get("x-ms-blob-content-md5") != base64.StdEncoding.EncodeToString(sum[:]) || r.header.Get("Content-MD5") != "" {
		t.Fatalf("range MD5 headers %v", r.header)
	}
	r = e.req("GET", "/cont1/b").as(pReader).h("Range", "bytes=15-").h("x-ms-range-get-content-md5", "true").do()
	rsum := md5.Sum([]byte("fghij"))
	if r.status != http.StatusPartialContent || r.body != "fghij" || r.header.Get("Content-MD5") != base64.StdEncoding.EncodeToString(rsum[:]) {
		t.Fatalf("range with MD5: %d %q %v", r.status, r.body, r.header)
	}
	r = e.req("GET", "/cont1/b").as(pReader).h("x-ms-range", "bytes=20-").do()
	expect(t, "beyond the end", r, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
	if r.header.Get("Content-Range") != "bytes */20" {
		t.Fatalf("416 Content-Range %q", r.header.Get("Content-Range"))
	}
	expect(t, "empty blob, ranged", e.req("GET", "/cont1/empty").as(pReader).h("x-ms-range", "bytes=0-33554431").do(),
		http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
	r = e.req("GET", "/cont1/empty").as(pReader).do()
	expect(t, "empty blob", r, http.StatusOK, "")
	if r.body != "" || r.header.Get("Content-Length") != "0" {
		t.Fatalf("empty: %q %v", r.body, r.header)
	}
	expect(t, "bad x-ms-range", e.req("GET", "/cont1/b").as(pReader).h("x-ms-range", "bytes=x").do(), http.StatusBadRequest, "InvalidHeaderValue")
	r = e.req("GET", "/cont1/b").as(pReader).h("Range", "bytes=x").do()
	if r.status != http.StatusOK || r.body != content {
		t.Fatalf("a malformed Range is ignored: %d %q", r.status, r.body)
	}
}
