package blobplane

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/accesslog"
	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/dataplane"
	"github.com/mimic-emu/mimic/internal/jwt"
	"github.com/mimic-emu/mimic/internal/sharedkey"
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/store/sqlstore"
	"github.com/mimic-emu/mimic/internal/tokens"
)

const (
	testTenant  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	testSub     = "/subscriptions/00000000-0000-0000-0000-00000000000a"
	testRG      = testSub + "/resourceGroups/rg"
	testAcct    = "acct1"
	testKey     = "c2VjcmV0IGtleSBvbmUgc2VjcmV0IGtleSBvbmUgc2VjcmV0IGtleSBvbmUgc2VjcmV0IGtleSBvbmUgISE=" // the account key, base64
	readerRole  = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
	contribRole = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	ownerRole   = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"

	// Principals of the tests.
	pReader      = "11111111-1111-1111-1111-111111111111"
	pContributor = "22222222-2222-2222-2222-222222222222"
	pOwner       = "33333333-3333-3333-3333-333333333333"
	pNobody      = "44444444-4444-4444-4444-444444444444"
	pLogsOnly    = "55555555-5555-5555-5555-555555555555"
	pCreator     = "66666666-6666-6666-6666-666666666666"
)

func accountID(name string) string {
	return testRG + "/providers/Microsoft.Storage/storageAccounts/" + name
}

// staticAuthz is a Decider over a fixed engine.
type staticAuthz struct{ e atomic.Pointer[authz.Engine] }

func (s *staticAuthz) Engine() *authz.Engine { return s.e.Load() }

// env is a plane behind an HTTPS test server, with a store, a token
// minter and an engine with the tests' role assignments.
type env struct {
	t      testing.TB
	store  store.Store
	plane  *Plane
	srv    *httptest.Server
	client *http.Client
	minter *tokens.Minter
	authz  *staticAuthz
	access *accesslog.Log
	guard  *dataplane.Guard
	dir    string
	gen    *atomic.Int64
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := openEnv(t, t.TempDir())
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	e.srv.Close()
	e.access.Close()
	e.store.Close()
}

// discardUpdates is a store whose writes are dropped: an access log on it
// costs what recording costs, without the inserts.
type discardUpdates struct{ store.Store }

func (discardUpdates) Update(context.Context, func(store.Tx) error) error { return nil }

// openEnv builds an env in dir; the caller closes it.
func openEnv(t testing.TB, dir string) *env { return openEnvLog(t, dir, true) }

// openEnvLog builds an env whose access log is written to the store, or
// with persist false dropped.
func openEnvLog(t testing.TB, dir string, persist bool) *env {
	return openEnvStore(t, dir, filepath.Join(dir, "mimic.db"), persist)
}

// openEnvStore builds an env on the store dsn names.
func openEnvStore(t testing.TB, dir, dsn string, persist bool) *env {
	st, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwt.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ring := jwt.NewRing(key)
	e := &env{t: t, store: st, authz: &staticAuthz{}, gen: new(atomic.Int64)}
	e.minter = &tokens.Minter{Ring: ring, Tenant: testTenant, Now: time.Now}
	verifier := &tokens.Verifier{Ring: ring, Cache: jwt.NewVerifyCache(ring, 0), Tenant: testTenant, Now: time.Now}
	if persist {
		e.access = accesslog.New(st, time.Now)
	} else {
		e.access = accesslog.New(discardUpdates{st}, time.Now)
	}
	e.setAssignments(nil)
	guard := &dataplane.Guard{Plane: accesslog.Blob, Verifier: verifier, Authz: e.authz, Access: e.access}
	e.putAccount(testAcct, true)
	e.guard, e.dir = guard, filepath.Join(dir, "blobs")
	e.serve()
	return e
}

// serve starts a plane and an HTTPS server for it.
func (e *env) serve() {
	t := e.t
	var err error
	e.plane, err = New(Config{Store: e.store, Guard: e.guard, Dir: e.dir, Tenant: testTenant, Generation: e.gen.Load, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewUnstartedServer(e.plane)
	e.srv.EnableHTTP2 = true
	e.srv.StartTLS()
	tr := e.srv.Client().Transport.(*http.Transport).Clone()
	addr := e.srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	tr.TLSClientConfig = tr.TLSClientConfig.Clone()
	tr.TLSClientConfig.ServerName = "example.com"
	tr.MaxIdleConnsPerHost = 64
	e.client = &http.Client{Transport: tr}
}

// replica is a second plane on the same store and directory, as another
// mimic replica sharing a PostgreSQL store would run.
func (e *env) replica() *env {
	r := *e
	r.serve()
	e.t.Cleanup(r.srv.Close)
	return &r
}

// setAssignments rebuilds the engine with the tests' standing assignments
// and extra ones.
func (e *env) setAssignments(extra []authz.Assignment) {
	acct := accountID(testAcct)
	as := []authz.Assignment{
		{ID: "a-reader", PrincipalID: pReader, RoleID: readerRole, Scope: acct},
		{ID: "a-contrib", PrincipalID: pContributor, RoleID: contribRole, Scope: testRG},
		{ID: "a-owner", PrincipalID: pOwner, RoleID: ownerRole, Scope: testSub},
		{ID: "a-logs", PrincipalID: pLogsOnly, RoleID: readerRole, Scope: testSub, ConditionVersion: "2.0",
			Condition: "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR " +
				"(@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'logs'))"},
	}
	eng, err := authz.New(append(authz.BuiltinRoles(), authz.Role{ID: "c0ffee00-0000-0000-0000-000000000001", Name: "Blob Creator",
		Permissions: []authz.Permission{{DataActions: []string{ActionBlobsAdd}}}}), append(as, append(extra,
		authz.Assignment{ID: "a-creator", PrincipalID: pCreator, RoleID: "c0ffee00-0000-0000-0000-000000000001", Scope: acct})...), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.authz.e.Store(eng)
}

// putAccount writes a storage account resource as ARM stores it.
func (e *env) putAccount(name string, sharedKey bool) {
	doc := map[string]any{
		"id": accountID(name), "name": name, "type": "Microsoft.Storage/storageAccounts", "location": "westeurope",
		"properties": map[string]any{"allowSharedKeyAccess": sharedKey},
		"_mimic": map[string]any{"keys": []any{
			map[string]any{"keyName": "key1", "value": testKey, "permissions": "FULL"},
			map[string]any{"keyName": "key2", "value": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 64)), "permissions": "FULL"},
		}},
	}
	body, _ := json.Marshal(doc)
	err := e.store.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutResource(context.Background(), &store.Resource{ID: accountID(name), Type: "Microsoft.Storage/storageAccounts", Body: body})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.gen.Add(1)
}

func (e *env) deleteAccount(name string) {
	err := e.store.Update(context.Background(), func(tx store.Tx) error { return tx.DeleteResource(context.Background(), accountID(name)) })
	if err != nil {
		e.t.Fatal(err)
	}
	e.gen.Add(1)
}

// token mints a storage token for a principal.
func (e *env) token(principal string) string {
	return e.tokenFor(principal, audienceStorage)
}

func (e *env) tokenFor(principal, audience string) string {
	tok, err := e.minter.Mint(tokens.Subject{ObjectID: principal, ClientID: principal, Kind: store.KindApplication}, audience, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok.Raw
}

// response is a finished response.
type response struct {
	status int
	header http.Header
	body   string
}

func (r response) code() string { return r.header.Get("x-ms-error-code") }

// req is a request being built.
type req struct {
	e       *env
	method  string
	url     string
	body    []byte
	header  http.Header
	account string
}

func (e *env) req(method, path string) *req {
	return &req{e: e, method: method, url: path, header: http.Header{"X-Ms-Version": {"2026-12-06"}}, account: testAcct}
}

func (r *req) as(principal string) *req {
	r.header.Set("Authorization", "Bearer "+r.e.token(principal))
	return r
}

func (r *req) h(k, v string) *req {
	if v == "" {
		r.header.Del(k)
	} else {
		r.header.Set(k, v)
	}
	return r
}

func (r *req) with(body []byte) *req { r.body = body; return r }

func (r *req) on(account string) *req { r.account = account; return r }

// signed signs the request with SharedKey and key (base64).
func (r *req) signed(key string) *req {
	r.header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	r.header.Set("Authorization", "SharedKey "+r.account+":"+r.signature(key))
	return r
}

func (r *req) build() *http.Request {
	hreq, err := http.NewRequest(r.method, "https://"+r.account+HostSuffix+r.url, bytes.NewReader(r.body))
	if err != nil {
		r.e.t.Fatal(err)
	}
	if r.body == nil {
		hreq.Body, hreq.ContentLength = nil, 0
	}
	for k, v := range r.header {
		hreq.Header[k] = v
	}
	return hreq
}

func (r *req) signature(key string) string {
	raw, _ := base64.StdEncoding.DecodeString(key)
	hreq := r.build()
	hreq.RequestURI = hreq.URL.RequestURI()
	return sharedkey.Sign(raw, sharedkey.StringsToSign(hreq, r.account)[0])
}

func (r *req) do() response {
	r.e.t.Helper()
	resp, err := r.e.client.Do(r.build())
	if err != nil {
		r.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// expect checks a response's status and error code ("" for success).
func expect(t testing.TB, what string, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.code() != code {
		t.Fatalf("%s: %d %q, want %d %q\n%s", what, r.status, r.code(), status, code, r.body)
	}
}

// mustCreate creates a container and a blob as the contributor.
func (e *env) mustCreate(container string, blobs map[string]string) {
	e.t.Helper()
	r := e.req("PUT", "/"+container+"?restype=container").as(pContributor).do()
	if r.status != http.StatusCreated && r.code() != "ContainerAlreadyExists" {
		e.t.Fatalf("create container %s: %d %s", container, r.status, r.body)
	}
	for name, content := range blobs {
		r := e.req("PUT", "/"+container+"/"+name).as(pContributor).h("x-ms-blob-type", "BlockBlob").with([]byte(content)).do()
		expect(e.t, "put "+name, r, http.StatusCreated, "")
	}
}

func contains(t testing.TB, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Fatalf("%s lacks %q:\n%s", what, sub, s)
		}
	}
}
