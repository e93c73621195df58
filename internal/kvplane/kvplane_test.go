package kvplane

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/store/sqlstore"
	"github.com/mimic-emu/mimic/internal/tokens"
)

const (
	tenant  = "11111111-1111-1111-1111-111111111111"
	subID   = "22222222-2222-2222-2222-222222222222"
	rgID    = "/subscriptions/" + subID + "/resourceGroups/rg-kv"
	vaultRP = "/providers/Microsoft.KeyVault/vaults/"

	roleSecretsUser    = "4633458b-17de-408a-b874-0445c86b69e6"
	roleSecretsOfficer = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
	roleOwner          = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
)

// Principals of the tests.
var (
	officer = tokens.Subject{ObjectID: "aaaaaaaa-0000-0000-0000-000000000001", ClientID: "cccccccc-0000-0000-0000-000000000001", Kind: store.KindApplication}
	app     = tokens.Subject{ObjectID: "aaaaaaaa-0000-0000-0000-000000000002", ClientID: "cccccccc-0000-0000-0000-000000000002", Kind: store.KindUserAssigned,
		IdentityResourceID: rgID + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app",
		ComputeResourceID:  rgID + "/providers/Microsoft.Compute/virtualMachines/vm1"}
	owner = tokens.Subject{ObjectID: "aaaaaaaa-0000-0000-0000-000000000003", ClientID: "cccccccc-0000-0000-0000-000000000003", Kind: store.KindApplication}
)

type decider struct{ e atomic.Pointer[authz.Engine] }

func (d *decider) Engine() *authz.Engine { return d.e.Load() }

type fixture struct {
	t           *testing.T
	st          store.Store
	plane       *Plane
	minter      *tokens.Minter
	authz       *decider
	access      *accesslog.Log
	gen         atomic.Int64
	now         time.Time
	assignments []authz.Assignment
}

func newFixture(t testing.TB) *fixture { return newFixtureOn(t, ":memory:") }

// newFixtureOn builds a fixture on the store dsn names.
func newFixtureOn(t testing.TB, dsn string) *fixture {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, authz: &decider{}, now: time.Now().UTC()}
	t.Cleanup(func() { st.Close() })
	key, err := jwt.GenerateKey(f.now)
	if err != nil {
		t.Fatal(err)
	}
	ring := jwt.NewRing(key)
	clock := func() time.Time { return f.now }
	f.minter = &tokens.Minter{Ring: ring, Tenant: tenant, Now: clock}
	verifier := &tokens.Verifier{Ring: ring, Cache: jwt.NewVerifyCache(ring, 0), Tenant: tenant, Now: clock}
	f.access = accesslog.New(st, clock)
	t.Cleanup(func() { f.access.Close() })
	guard := &dataplane.Guard{Plane: accesslog.KeyVault, Verifier: verifier, Authz: f.authz, Access: f.access}
	f.plane = New(st, guard, tenant, f.gen.Load)
	f.plane.Now = clock
	f.rebuild()
	return f
}

func (f *fixture) rebuild() {
	e, err := authz.New(authz.BuiltinRoles(), f.assignments, nil)
	if err != nil {
		panic(err)
	}
	f.authz.e.Store(e)
}

func (f *fixture) assign(who tokens.Subject, role, scope string) {
	f.assignments = append(f.assignments, authz.Assignment{ID: fmt.Sprintf("/ra/%d", len(f.assignments)+1), PrincipalID: who.ObjectID, RoleID: role, Scope: scope})
	f.rebuild()
}

// vault creates a vault resource; props are merged into its properties.
func (f *fixture) vault(t testing.TB, name string, props map[string]any) string {
	t.Helper()
	id := rgID + vaultRP + name
	p := map[string]any{"tenantId": tenant, "enableSoftDelete": true, "softDeleteRetentionInDays": 90, "enableRbacAuthorization": true, "accessPolicies": []any{}}
	for k, v := range props {
		p[k] = v
	}
	body, _ := json.Marshal(map[string]any{"id": id, "name": name, "type": "Microsoft.KeyVault/vaults", "location": "westeurope", "properties": p})
	err := f.st.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutResource(context.Background(), &store.Resource{ID: id, Type: "Microsoft.KeyVault/vaults", Body: body})
	})
	if err != nil {
		t.Fatal(err)
	}
	f.gen.Add(1)
	return id
}

func (f *fixture) deleteVault(t testing.TB, name string) {
	t.Helper()
	err := f.st.Update(context.Background(), func(tx store.Tx) error {
		return tx.DeleteResource(context.Background(), rgID+vaultRP+name)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.gen.Add(1)
}

func (f *fixture) token(t testing.TB, who tokens.Subject, aud string) string {
	t.Helper()
	tok, err := f.minter.Mint(who, aud, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Raw
}

// response is a recorded answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r response) code() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (r response) inner() string {
	e, _ := r.body["error"].(map[string]any)
	in, _ := e["innererror"].(map[string]any)
	c, _ := in["code"].(string)
	return c
}

func (r response) message() string {
	e, _ := r.body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

func (r response) str(k string) string { s, _ := r.body[k].(string); return s }

func (f *fixture) do(t testing.TB, method, url, token, body string) response {
	t.Helper()
	req := httptest.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	f.plane.ServeHTTP(rec, req)
	res := response{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &res.body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, url, rec.Body.String())
		}
	}
	return res
}

// kv builds a vault URL with api-version.
func kv(vault, path string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return "https://" + vault + ".vault.azure.net" + path + sep + "api-version=7.4"
}

func TestChallengeAndTokens(t *testing.T) {
	f := newFixture(t)
	f.vault(t, "kv1", nil)
	want := `Bearer authorization="https://login.microsoftonline.com/` + tenant + `", resource="https://vault.azure.net"`
	cases := []struct {
		name, token, msg string
	}{
		{"no token", "", "AKV10000: Request is missing a Bearer or PoP token."},
		{"ARM audience", f.token(t, app, "https://management.azure.com/"), "AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://management.azure.com/."},
		{"not a JWT", "abc", "AKV10005"},
		{"foreign key", "eyJhbGciOiJSUzI1NiIsImtpZCI6Im5vIn0.eyJleHAiOjF9.c2ln", "AKV10046: Unable to resolve the key used for signature validation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, "GET", kv("kv1", "/secrets/s1/"), tc.token, "")
			if r.status != 401 || r.code() != "Unauthorized" || !strings.HasPrefix(r.message(), tc.msg) {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			if got := r.header.Get("WWW-Authenticate"); got != want {
				t.Fatalf("challenge %q, want %q", got, want)
			}
		})
	}
	// Expired: the same token, an hour and a half later.
	tok := f.token(t, app, Resource)
	f.now = f.now.Add(90 * time.Minute)
	r := f.do(t, "GET", kv("kv1", "/secrets/s1/"), tok, "")
	if r.status != 401 || r.message() != msgExpired {
		t.Fatalf("expired: %d %s", r.status, r.raw)
	}
	// Accepted audiences: with and without a trailing slash, and the app id.
	f.assign(app, roleSecretsUser, rgID)
	for _, aud := range []string{"https://vault.azure.net", "https://vault.azure.net/", appID} {
		r := f.do(t, "GET", kv("kv1", "/secrets/s1/"), f.token(t, app, aud), "")
		if r.status != 404 || r.code() != "SecretNotFound" {
			t.Errorf("audience %s: %d %s", aud, r.status, r.raw)
		}
	}
}

func TestVaultAndRequestErrors(t *testing.T) {
	f := newFixture(t)
	f.vault(t, "kv1", nil)
	f.assign(officer, roleSecretsOfficer, rgID)
	tok := f.token(t, officer, Resource)
	cases := []struct {
		method, url   string
		status        int
		code, message string
	}{
		{"GET", kv("nosuch", "/secrets/a"), 404, "VaultNotFound", "nosuch.vault.azure.net"},
		{"GET", "https://kv1.vault.azure.net/secrets/a", 400, "BadParameter", "api-version"},
		{"GET", kv("kv1", "/secrets/bad_name"), 400, "BadParameter", "invalid name: bad_name"},
		{"GET", kv("kv1", "/secrets/"+strings.Repeat("a", 128)), 400, "BadParameter", "invalid name"},
		{"GET", kv("kv1", "/keys/k1"), 501, "NotImplemented", "secrets only"},
		{"GET", kv("kv1", "/nothing"), 404, "NotFound", ""},
		{"POST", kv("kv1", "/secrets/a"), 405, "MethodNotAllowed", "POST"},
		{"GET", kv("kv1", "/secrets/a/notahexversion"), 404, "SecretNotFound", "(name/id) a/notahexversion"},
		{"PUT", kv("kv1", "/secrets/a"), 400, "BadParameter", "'value' is required"},
		{"GET", kv("kv1", "/secrets?maxresults=26"), 400, "BadParameter", "maxresults"},
		{"GET", kv("kv1", "/secrets?$skiptoken=!!"), 400, "BadParameter", "skiptoken"},
	}
	for _, tc := range cases {
		r := f.do(t, tc.method, tc.url, tok, "")
		if r.status != tc.status || r.code() != tc.code || !strings.Contains(r.message(), tc.message) {
			t.Errorf("%s %s: %d %s, want %d %s %q", tc.method, tc.url, r.status, r.raw, tc.status, tc.code, tc.message)
		}
	}
	// Node spells the key api%2Dversion.
	r := f.do(t, "GET", "https://kv1.vault.azure.net/secrets?api%2Dversion=2025-07-01", tok, "")
	if r.status != 200 {
		t.Errorf("api%%2Dversion: %d %s", r.status, r.raw)
	}
	// Value too large.
	big, _ := json.Marshal(map[string]string{"value": strings.Repeat("x", maxValue+1)})
	if r := f.do(t, "PUT", kv("kv1", "/secrets/big"), tok, string(big)); r.status != 400 {
		t.Errorf("oversized value: %d %s", r.status, r.raw)
	}
}

func TestRoutes(t *testing.T) {
	cases := []struct {
		method, path string
		op           *op
		name, ver    string
	}{
		{"GET", "/secrets", opList, "", ""},
		{"GET", "/secrets/", opList, "", ""},
		{"GET", "/secrets/s1/", opGet, "s1", ""},
		{"GET", "//secrets/s1", opGet, "s1", ""},
		{"GET", "/Secrets/s1/0123456789abcdef0123456789abcdef", opGet, "s1", "0123456789abcdef0123456789abcdef"},
		{"PUT", "/secrets/s1", opSet, "s1", ""},
		{"PATCH", "/secrets/s1/v1", opUpdate, "s1", "v1"},
		{"PATCH", "/secrets/s1/", opUpdate, "s1", ""},
		{"DELETE", "/secrets/s1", opDelete, "s1", ""},
		{"GET", "/secrets/s1/versions", opListVersions, "s1", ""},
		{"POST", "/secrets/s1/backup", opBackup, "s1", ""},
		{"POST", "/secrets/restore", opRestore, "", ""},
		{"GET", "/secrets/restore", opGet, "restore", ""},
		{"GET", "/deletedsecrets", opListDeleted, "", ""},
		{"GET", "/deletedsecrets/s1", opGetDeleted, "s1", ""},
		{"DELETE", "/deletedsecrets/s1/", opPurge, "s1", ""},
		{"POST", "/deletedsecrets/s1/recover", opRecover, "s1", ""},
	}
	for _, tc := range cases {
		rt, err := parseRoute(tc.method, tc.path)
		if err != nil || rt.op != tc.op || rt.name != tc.name || rt.version != tc.ver {
			t.Errorf("%s %s: %+v %v", tc.method, tc.path, rt, err)
		}
	}
	bad := []struct {
		method, path string
		status       int
	}{
		{"GET", "/", 404}, {"GET", "/secrets/a/b/c", 404}, {"POST", "/secrets", 405}, {"DELETE", "/secrets/a/v", 405},
		{"PUT", "/deletedsecrets/a", 405}, {"GET", "/deletedsecrets/a/recover", 404}, {"GET", "/certificates/c", 501}, {"GET", "/other", 404},
	}
	for _, tc := range bad {
		if _, err := parseRoute(tc.method, tc.path); err == nil || err.status != tc.status {
			t.Errorf("%s %s: %v, want %d", tc.method, tc.path, err, tc.status)
		}
	}
}

func TestNamesVersionsAndQuery(t *testing.T) {
	for name, ok := range map[string]bool{"a": true, "DB-Password-1": true, strings.Repeat("z", 127): true, "": false, strings.Repeat("z", 128): false,
		"a_b": false, "a.b": false, "a b": false, "é": false} {
		if validName(name) != ok {
			t.Errorf("validName(%q) = %v", name, !ok)
		}
	}
	for v, ok := range map[string]bool{"0123456789abcdef0123456789ABCDEF": true, "0123456789abcdef0123456789abcde": false, "0123456789abcdef0123456789abcdeg": false} {
		if validVersion(v) != ok {
			t.Errorf("validVersion(%q) = %v", v, !ok)
		}
	}
	q := parseQuery("api%2Dversion=2025-07-01&maxresults=5&%24skiptoken=YQ")
	if q.apiVersion != "2025-07-01" || q.maxResults != "5" || !q.hasMax || q.skipToken != "YQ" {
		t.Errorf("parseQuery: %+v", q)
	}
	if q := parseQuery("API-VERSION=7.3&api-version=7.4"); q.apiVersion != "7.3" {
		t.Errorf("first api-version wins: %+v", q)
	}
	if v := newVersion(time.Now()); !validVersion(v) || v == newVersion(time.Now()) || newVersion(time.Unix(1, 0)) > v {
		t.Errorf("newVersion %s", v)
	}
}

func TestJSONStrings(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uo\te`, "ctl\x00\x01\x1f\n\r\t", "ünïcödé 😀", "bad \xff utf8", "js \u2028\u2029", "<&>"} {
		j := &jbuf{}
		j.str(s)
		var back string
		if err := json.Unmarshal(j.b, &back); err != nil {
			t.Fatalf("%q encoded as invalid JSON %s: %v", s, j.b, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if back != want {
			t.Errorf("%q round-trips as %q", s, back)
		}
	}
}

func TestPolicyDecision(t *testing.T) {
	pol := func(tid, oid, appid string, perms ...string) map[string]any {
		p := map[string]any{"tenantId": tid, "objectId": oid, "permissions": map[string]any{"secrets": perms}}
		if appid != "" {
			p["applicationId"] = appid
		}
		return p
	}
	other := "bbbbbbbb-0000-0000-0000-000000000009"
	cases := []struct {
		name     string
		policies []any
		perm     string
		allowed  bool
		reason   string
	}{
		{"granted", []any{pol(tenant, app.ObjectID, "", "get", "list")}, "get", true, "grants secrets get"},
		{"case of permission", []any{pol(tenant, app.ObjectID, "", "Get")}, "get", true, ""},
		{"all", []any{pol(tenant, app.ObjectID, "", "all")}, "purge", true, ""},
		{"other permission", []any{pol(tenant, app.ObjectID, "", "list")}, "get", false, "grants secrets [list], not secrets get"},
		{"no secrets", []any{map[string]any{"tenantId": tenant, "objectId": app.ObjectID, "permissions": map[string]any{"keys": []string{"get"}}}}, "get", false, "no secrets permissions"},
		{"other object", []any{pol(tenant, other, "", "get")}, "get", false, "no access policy"},
		{"other tenant", []any{pol(other, app.ObjectID, "", "get")}, "get", false, "no access policy"},
		{"compound, right app", []any{pol(tenant, app.ObjectID, app.ClientID, "get")}, "get", true, "with application"},
		{"compound, other app", []any{pol(tenant, app.ObjectID, other, "get")}, "get", false, "no access policy"},
		{"second entry", []any{pol(tenant, app.ObjectID, other, "get"), pol(tenant, app.ObjectID, "", "get")}, "get", true, ""},
		{"none", nil, "get", false, "no access policy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.vault(t, "kvp", map[string]any{"enableRbacAuthorization": false, "accessPolicies": tc.policies})
			v, err := f.plane.lookup(context.Background(), "kvp")
			if err != nil || v == nil {
				t.Fatal(v, err)
			}
			claims := &jwt.Claims{Tid: tenant, Oid: app.ObjectID, AppID: app.ClientID, Iss: tokens.V1Issuer(tenant)}
			d := policyDecision(v, &dataplane.Caller{PrincipalID: app.ObjectID, ClientID: app.ClientID, Claims: claims}, tc.perm)
			if d.Allowed != tc.allowed || !strings.Contains(d.Reason(), tc.reason) {
				t.Fatalf("%+v", d)
			}
		})
	}
}

func TestRBAC(t *testing.T) {
	f := newFixture(t)
	vaultID := f.vault(t, "kv1", nil)
	siblingID := f.vault(t, "kv2", nil)
	f.assign(officer, roleSecretsOfficer, vaultID)
	off := f.token(t, officer, Resource)
	if r := f.do(t, "PUT", kv("kv1", "/secrets/db"), off, `{"value":"s3cret"}`); r.status != 200 || r.str("value") != "s3cret" {
		t.Fatalf("set as Secrets Officer: %d %s", r.status, r.raw)
	}
	tok := f.token(t, app, Resource)
	get := func() response { return f.do(t, "GET", kv("kv1", "/secrets/db/"), tok, "") }

	r := get()
	if r.status != 403 || r.code() != "Forbidden" || r.inner() != "ForbiddenByRbac" {
		t.Fatalf("no role: %d %s", r.status, r.raw)
	}
	wantMsg := "Caller is not authorized to perform action on resource.\r\n" +
		"If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n" +
		"Caller: appid=" + app.ClientID + ";oid=" + app.ObjectID + ";iss=https://sts.windows.net/" + tenant + "/;xms_mirid=" + app.IdentityResourceID +
		";xms_az_rid=" + app.ComputeResourceID + "\r\n" +
		"Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n" +
		"Resource: '" + strings.ToLower(vaultID) + "/secrets/db'\r\n" +
		"Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: kv1;location=westeurope\r\n"
	if r.message() != wantMsg {
		t.Fatalf("message:\n%q\nwant\n%q", r.message(), wantMsg)
	}
	// A missing secret is 403 without the role: authorization comes first.
	if r := f.do(t, "GET", kv("kv1", "/secrets/nope/"), tok, ""); r.status != 403 {
		t.Fatalf("missing secret without a role: %d", r.status)
	}
	// Owner of the subscription: control plane only.
	f.assign(app, roleOwner, "/subscriptions/"+subID)
	if r := get(); r.status != 403 || r.inner() != "ForbiddenByRbac" {
		t.Fatalf("Owner: %d %s", r.status, r.raw)
	}
	// The role on a sibling vault.
	f.assign(app, roleSecretsUser, siblingID)
	if r := get(); r.status != 403 {
		t.Fatalf("role on the sibling vault: %d %s", r.status, r.raw)
	}
	// At the group scope.
	f.assign(app, roleSecretsUser, rgID)
	if r := get(); r.status != 200 || r.str("value") != "s3cret" || !strings.HasPrefix(r.str("id"), "https://kv1.vault.azure.net/secrets/db/") {
		t.Fatalf("Secrets User at the group: %d %s", r.status, r.raw)
	}
	// Missing secret with the role: 404.
	if r := f.do(t, "GET", kv("kv1", "/secrets/nope/"), tok, ""); r.status != 404 || r.code() != "SecretNotFound" ||
		!strings.HasPrefix(r.message(), "A secret with (name/id) nope was not found in this key vault.") {
		t.Fatalf("missing secret with a role: %d %s", r.status, r.raw)
	}
	// Secrets User reads, but cannot write or delete.
	if r := f.do(t, "PUT", kv("kv1", "/secrets/db"), tok, `{"value":"x"}`); r.status != 403 || !strings.Contains(r.message(), "secrets/setSecret/action") {
		t.Fatalf("set as Secrets User: %d %s", r.status, r.raw)
	}
	if r := f.do(t, "DELETE", kv("kv1", "/secrets/db"), tok, ""); r.status != 403 || !strings.Contains(r.message(), "'Microsoft.KeyVault/vaults/secrets/delete'") {
		t.Fatalf("delete as Secrets User: %d %s", r.status, r.raw)
	}
	// Listing is authorized at the vault.
	if r := f.do(t, "GET", kv("kv1", "/secrets"), tok, ""); r.status != 200 {
		t.Fatalf("list as Secrets User: %d %s", r.status, r.raw)
	}

	// The access log explains both decisions.
	entries, err := f.access.Query(context.Background(), store.AccessFilter{PrincipalID: app.ObjectID})
	if err != nil {
		t.Fatal(err)
	}
	var denied, allowed *store.Access
	for _, e := range entries {
		if e.Action == actionGetSecret && e.Scope == vaultID+"/secrets/db" {
			if e.Allowed && allowed == nil {
				allowed = e
			}
			if !e.Allowed && denied == nil {
				denied = e
			}
		}
	}
	if denied == nil || denied.Status != 403 || denied.Plane != "keyvault" || !denied.DataAction || denied.IdentityID != app.IdentityResourceID || denied.Reason == "" {
		t.Fatalf("denied entry %+v", denied)
	}
	if allowed == nil || allowed.Status != 200 || allowed.Role != "Key Vault Secrets User" || allowed.Assignment == "" || allowed.ComputeID != app.ComputeResourceID {
		t.Fatalf("allowed entry %+v", allowed)
	}
}

func TestAccessPolicyVault(t *testing.T) {
	f := newFixture(t)
	policies := []any{
		map[string]any{"tenantId": tenant, "objectId": officer.ObjectID, "permissions": map[string]any{"secrets": []string{"all"}}},
		map[string]any{"tenantId": tenant, "objectId": app.ObjectID, "permissions": map[string]any{"secrets": []string{"get"}}},
	}
	f.vault(t, "kvp", map[string]any{"enableRbacAuthorization": false, "accessPolicies": policies})
	// Roles do not apply in access-policy mode.
	f.assign(owner, roleSecretsOfficer, rgID)
	if r := f.do(t, "PUT", kv("kvp", "/secrets/db"), f.token(t, owner, Resource), `{"value":"v"}`); r.status != 403 || r.inner() != "AccessDenied" {
		t.Fatalf("a role in access-policy mode: %d %s", r.status, r.raw)
	}
	if r := f.do(t, "PUT", kv("kvp", "/secrets/db"), f.token(t, officer, Resource), `{"value":"v"}`); r.status != 200 {
		t.Fatalf("set with an 'all' policy: %d %s", r.status, r.raw)
	}
	tok := f.token(t, app, Resource)
	if r := f.do(t, "GET", kv("kvp", "/secrets/db/"), tok, ""); r.status != 200 || r.str("value") != "v" {
		t.Fatalf("get with a get policy: %d %s", r.status, r.raw)
	}
	r := f.do(t, "GET", kv("kvp", "/secrets"), tok, "")
	want := "The user, group or application 'appid=" + app.ClientID + ";oid=" + app.ObjectID + ";iss=https://sts.windows.net/" + tenant +
		"/;xms_mirid=" + app.IdentityResourceID + ";xms_az_rid=" + app.ComputeResourceID +
		"' does not have secrets list permission on key vault 'kvp;location=westeurope'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287"
	if r.status != 403 || r.code() != "Forbidden" || r.inner() != "AccessDenied" || r.message() != want {
		t.Fatalf("list without a list policy: %d %s\nwant %q", r.status, r.raw, want)
	}
	entries, _ := f.access.Query(context.Background(), store.AccessFilter{PrincipalID: app.ObjectID})
	if len(entries) != 2 || !entries[0].Allowed || !strings.Contains(entries[0].Reason, "grants secrets get") ||
		entries[1].Allowed || entries[1].Status != 403 || !strings.Contains(entries[1].Reason, "not secrets list") {
		for _, e := range entries {
			t.Logf("%+v", e)
		}
		t.Fatal("access log entries of an access-policy vault")
	}
}

func TestSecretLifecycle(t *testing.T) {
	f := newFixture(t)
	f.vault(t, "kv1", nil)
	f.assign(officer, roleSecretsOfficer, rgID)
	tok := f.token(t, officer, Resource)
	do := func(method, path, body string) response { return f.do(t, method, kv("kv1", path), tok, body) }

	r := do("PUT", "/secrets/DB-Password", `{"value":"one","contentType":"text/plain","tags":{"env":"dev"},"attributes":{"enabled":true,"exp":4102444800}}`)
	if r.status != 200 {
		t.Fatalf("set: %d %s", r.status, r.raw)
	}
	v1 := r.str("id")[strings.LastIndexByte(r.str("id"), '/')+1:]
	attrs, _ := r.body["attributes"].(map[string]any)
	if !validVersion(v1) || r.str("id") != "https://kv1.vault.azure.net/secrets/DB-Password/"+v1 || r.str("contentType") != "text/plain" ||
		attrs["enabled"] != true || attrs["exp"] != float64(4102444800) || attrs["recoveryLevel"] != "Recoverable+Purgeable" ||
		attrs["recoverableDays"] != float64(90) || attrs["created"] != float64(f.now.Unix()) || r.body["tags"].(map[string]any)["env"] != "dev" {
		t.Fatalf("set answer %s", r.raw)
	}
	if strings.Contains(r.raw, `"created":`+fmt.Sprint(f.now.Unix())+".") {
		t.Fatal("times must be integers")
	}
	f.now = f.now.Add(time.Second)
	r = do("PUT", "/secrets/db-password", `{"value":"two"}`)
	v2 := r.str("id")[strings.LastIndexByte(r.str("id"), '/')+1:]
	if r.status != 200 || v2 == v1 || !strings.Contains(r.str("id"), "/secrets/DB-Password/") {
		t.Fatalf("second version: %d %s", r.status, r.raw)
	}
	if r := do("GET", "/secrets/DB-PASSWORD/", ""); r.str("value") != "two" {
		t.Fatalf("latest: %s", r.raw)
	}
	if r := do("GET", "/secrets/db-password/"+v1, ""); r.str("value") != "one" || r.str("contentType") != "text/plain" {
		t.Fatalf("by version: %s", r.raw)
	}
	// Versions, paged.
	r = do("GET", "/secrets/db-password/versions?maxresults=1", "")
	items, _ := r.body["value"].([]any)
	next := r.str("nextLink")
	if r.status != 200 || len(items) != 1 || items[0].(map[string]any)["value"] != nil || items[0].(map[string]any)["id"] != "https://kv1.vault.azure.net/secrets/DB-Password/"+v1 ||
		!strings.HasPrefix(next, "https://kv1.vault.azure.net/secrets/db-password/versions?api-version=7.4&$skiptoken=") {
		t.Fatalf("versions page 1: %s", r.raw)
	}
	r = f.do(t, "GET", next, tok, "")
	if items, _ := r.body["value"].([]any); len(items) != 1 || r.body["nextLink"] != nil {
		t.Fatalf("versions page 2: %s", r.raw)
	}
	// Update attributes: disable the latest.
	r = do("PATCH", "/secrets/db-password/"+v2, `{"attributes":{"enabled":false},"tags":{"a":"b"}}`)
	if r.status != 200 || r.body["value"] != nil || r.body["attributes"].(map[string]any)["enabled"] != false {
		t.Fatalf("update: %d %s", r.status, r.raw)
	}
	r = do("GET", "/secrets/db-password", "")
	if r.status != 403 || r.code() != "Forbidden" || r.inner() != "SecretDisabled" || r.message() != "Operation get is not allowed on a disabled secret." {
		t.Fatalf("get of a disabled secret: %d %s", r.status, r.raw)
	}
	if r := do("GET", "/secrets/db-password/"+v1, ""); r.status != 200 {
		t.Fatalf("an enabled older version: %d %s", r.status, r.raw)
	}
	do("PATCH", "/secrets/db-password/", `{"attributes":{"enabled":true}}`)
	// List, paged by name.
	for _, n := range []string{"a", "b", "c"} {
		do("PUT", "/secrets/"+n, `{"value":"x"}`)
	}
	var names []string
	url := kv("kv1", "/secrets?maxresults=2")
	for pages := 0; url != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		r := f.do(t, "GET", url, tok, "")
		for _, it := range r.body["value"].([]any) {
			m := it.(map[string]any)
			if m["value"] != nil {
				t.Fatalf("a list item carries a value: %s", r.raw)
			}
			names = append(names, m["id"].(string)[len("https://kv1.vault.azure.net/secrets/"):])
		}
		url = r.str("nextLink")
	}
	if fmt.Sprint(names) != "[a b c DB-Password]" {
		t.Fatalf("listed %v", names)
	}
	// Soft delete.
	r = do("DELETE", "/secrets/db-password", "")
	if r.status != 200 || r.str("recoveryId") != "https://kv1.vault.azure.net/deletedsecrets/DB-Password" ||
		r.body["deletedDate"] != float64(f.now.Unix()) || r.body["scheduledPurgeDate"] != float64(f.now.Add(90*24*time.Hour).Unix()) || r.body["value"] != nil {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	if r := do("GET", "/secrets/db-password/", ""); r.status != 404 || r.code() != "SecretNotFound" {
		t.Fatalf("get after delete: %d %s", r.status, r.raw)
	}
	if r := do("GET", "/secrets/db-password/"+v1, ""); r.status != 404 {
		t.Fatalf("a version after delete: %d %s", r.status, r.raw)
	}
	if r := do("DELETE", "/secrets/db-password", ""); r.status != 404 {
		t.Fatalf("second delete: %d %s", r.status, r.raw)
	}
	r = do("PUT", "/secrets/DB-PASSWORD", `{"value":"three"}`)
	if r.status != 409 || r.code() != "Conflict" || r.inner() != "ObjectIsDeletedButRecoverable" ||
		r.message() != "Secret DB-Password is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged." {
		t.Fatalf("set of a deleted name: %d %s", r.status, r.raw)
	}
	r = do("GET", "/deletedsecrets", "")
	if items := r.body["value"].([]any); len(items) != 1 || items[0].(map[string]any)["recoveryId"] == nil {
		t.Fatalf("list deleted: %s", r.raw)
	}
	if r := do("GET", "/deletedsecrets/db-password", ""); r.status != 200 || r.str("recoveryId") == "" {
		t.Fatalf("get deleted: %d %s", r.status, r.raw)
	}
	if r := do("GET", "/deletedsecrets/a", ""); r.status != 404 || r.message() != "Deleted Secret not found" {
		t.Fatalf("get deleted of a live secret: %d %s", r.status, r.raw)
	}
	if r := do("POST", "/deletedsecrets/db-password/recover", ""); r.status != 200 || r.body["value"] != nil {
		t.Fatalf("recover: %d %s", r.status, r.raw)
	}
	if r := do("GET", "/secrets/db-password", ""); r.str("value") != "two" {
		t.Fatalf("after recover: %s", r.raw)
	}
	// Purge.
	do("DELETE", "/secrets/db-password", "")
	if r := do("DELETE", "/deletedsecrets/db-password", ""); r.status != 204 || r.raw != "" {
		t.Fatalf("purge: %d %s", r.status, r.raw)
	}
	if r := do("GET", "/deletedsecrets/db-password", ""); r.status != 404 {
		t.Fatalf("after purge: %d", r.status)
	}
	if r := do("PUT", "/secrets/db-password", `{"value":"fresh"}`); r.status != 200 || !strings.Contains(r.str("id"), "/secrets/db-password/") {
		t.Fatalf("set after purge: %d %s", r.status, r.raw)
	}
	// A deleted secret past its purge date is gone.
	do("DELETE", "/secrets/a", "")
	f.now = f.now.Add(91 * 24 * time.Hour)
	tok = f.token(t, officer, Resource)
	if r := do("GET", "/deletedsecrets/a", ""); r.status != 404 {
		t.Fatalf("deleted past its purge date: %d %s", r.status, r.raw)
	}
	if r := do("PUT", "/secrets/a", `{"value":"again"}`); r.status != 200 {
		t.Fatalf("set after the purge date: %d %s", r.status, r.raw)
	}
}

func TestVaultSettings(t *testing.T) {
	f := newFixture(t)
	f.vault(t, "kvpp", map[string]any{"enablePurgeProtection": true, "softDeleteRetentionInDays": 7})
	f.vault(t, "kvnosoft", map[string]any{"enableSoftDelete": false})
	f.assign(officer, roleSecretsOfficer, rgID)
	tok := f.token(t, officer, Resource)
	r := f.do(t, "PUT", kv("kvpp", "/secrets/s"), tok, `{"value":"v"}`)
	if r.body["attributes"].(map[string]any)["recoveryLevel"] != "CustomizedRecoverable" || r.body["attributes"].(map[string]any)["recoverableDays"] != float64(7) {
		t.Fatalf("purge-protected vault: %s", r.raw)
	}
	f.do(t, "DELETE", kv("kvpp", "/secrets/s"), tok, "")
	r = f.do(t, "DELETE", kv("kvpp", "/deletedsecrets/s"), tok, "")
	if r.status != 403 || r.code() != "Forbidden" || !strings.HasPrefix(r.message(), `Operation "purge" is not allowed because purge protection is enabled for this vault.`) {
		t.Fatalf("purge with purge protection: %d %s", r.status, r.raw)
	}
	r = f.do(t, "PUT", kv("kvnosoft", "/secrets/s"), tok, `{"value":"v"}`)
	if r.body["attributes"].(map[string]any)["recoveryLevel"] != "Purgeable" || r.body["attributes"].(map[string]any)["recoverableDays"] != nil {
		t.Fatalf("vault without soft delete: %s", r.raw)
	}
	if r := f.do(t, "DELETE", kv("kvnosoft", "/secrets/s"), tok, ""); r.status != 200 || r.body["recoveryId"] != nil {
		t.Fatalf("delete without soft delete: %d %s", r.status, r.raw)
	}
	if r := f.do(t, "PUT", kv("kvnosoft", "/secrets/s"), tok, `{"value":"w"}`); r.status != 200 {
		t.Fatalf("the name is free at once: %d %s", r.status, r.raw)
	}
}

func TestRecreatedVaultStartsEmpty(t *testing.T) {
	f := newFixture(t)
	f.vault(t, "kv1", nil)
	f.assign(officer, roleSecretsOfficer, rgID)
	tok := f.token(t, officer, Resource)
	f.do(t, "PUT", kv("kv1", "/secrets/s"), tok, `{"value":"old"}`)
	f.deleteVault(t, "kv1")
	if r := f.do(t, "GET", kv("kv1", "/secrets/s"), tok, ""); r.status != 404 || r.code() != "VaultNotFound" {
		t.Fatalf("after the vault's delete: %d %s", r.status, r.raw)
	}
	time.Sleep(time.Millisecond) // a new creation time
	f.vault(t, "kv1", nil)
	if r := f.do(t, "GET", kv("kv1", "/secrets/s"), tok, ""); r.status != 404 || r.code() != "SecretNotFound" {
		t.Fatalf("the re-created vault sees the old secret: %d %s", r.status, r.raw)
	}
}

func TestBackupRestore(t *testing.T) {
	f := newFixture(t)
	f.vault(t, "kv1", nil)
	f.vault(t, "kv2", nil)
	f.assign(officer, roleSecretsOfficer, rgID)
	tok := f.token(t, officer, Resource)
	f.do(t, "PUT", kv("kv1", "/secrets/s"), tok, `{"value":"one"}`)
	f.now = f.now.Add(time.Second)
	f.do(t, "PUT", kv("kv1", "/secrets/s"), tok, `{"value":"two","tags":{"t":"1"}}`)
	r := f.do(t, "POST", kv("kv1", "/secrets/s/backup"), tok, "")
	if r.status != 200 || r.str("value") == "" {
		t.Fatalf("backup: %d %s", r.status, r.raw)
	}
	blob, _ := json.Marshal(map[string]string{"value": r.str("value")})
	if r := f.do(t, "POST", kv("kv1", "/secrets/restore"), tok, string(blob)); r.status != 409 || r.code() != "Conflict" {
		t.Fatalf("restore over an existing secret: %d %s", r.status, r.raw)
	}
	r = f.do(t, "POST", kv("kv2", "/secrets/restore"), tok, string(blob))
	if r.status != 200 || !strings.HasPrefix(r.str("id"), "https://kv2.vault.azure.net/secrets/s/") {
		t.Fatalf("restore: %d %s", r.status, r.raw)
	}
	if r := f.do(t, "GET", kv("kv2", "/secrets/s"), tok, ""); r.str("value") != "two" {
		t.Fatalf("restored latest: %s", r.raw)
	}
	r = f.do(t, "GET", kv("kv2", "/secrets/s/versions"), tok, "")
	if items := r.body["value"].([]any); len(items) != 2 {
		t.Fatalf("restored versions: %s", r.raw)
	}
	if r := f.do(t, "POST", kv("kv2", "/secrets/restore"), tok, `{"value":"garbage"}`); r.status != 400 {
		t.Fatalf("restore of garbage: %d %s", r.status, r.raw)
	}
}

// The vault cache follows ARM: a policy change applies at the next request.
func TestVaultCacheFollowsARM(t *testing.T) {
	f := newFixture(t)
	f.vault(t, "kvp", map[string]any{"enableRbacAuthorization": false})
	tok := f.token(t, app, Resource)
	if r := f.do(t, "GET", kv("kvp", "/secrets/s"), tok, ""); r.status != 403 {
		t.Fatalf("before the policy: %d", r.status)
	}
	f.vault(t, "kvp", map[string]any{"enableRbacAuthorization": false, "accessPolicies": []any{
		map[string]any{"tenantId": tenant, "objectId": app.ObjectID, "permissions": map[string]any{"secrets": []string{"get"}}}}})
	if r := f.do(t, "GET", kv("kvp", "/secrets/s"), tok, ""); r.status != 404 {
		t.Fatalf("after the policy: %d %s", r.status, r.raw)
	}
}

// BenchmarkGetSecret measures GET of a secret through the handler: a real
// token (verified once, then from the cache), the RBAC engine's decision,
// one read transaction on SQLite, the response, and the access log.
//
// It runs on a SQLite file, as `mimic up` does by default (WAL, a pool of
// read connections).
func BenchmarkGetSecret(b *testing.B) {
	f := newFixtureOn(b, filepath.Join(b.TempDir(), "mimic.db"))
	f.vault(b, "kv1", nil)
	f.assign(officer, roleSecretsOfficer, rgID)
	f.assign(app, roleSecretsUser, rgID+vaultRP+"kv1")
	if r := f.do(b, "PUT", kv("kv1", "/secrets/db"), f.token(b, officer, Resource), `{"value":"s3cret-value"}`); r.status != 200 {
		b.Fatal(r.raw)
	}
	auth := "Bearer " + f.token(b, app, Resource)
	url := kv("kv1", "/secrets/db/")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", auth)
		w := &discard{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			w.status = 0
			f.plane.ServeHTTP(w, req)
			if w.status != 200 {
				b.Fatalf("status %d", w.status)
			}
		}
	})
}

type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(s int)           { d.status = s }
func (d *discard) Write(p []byte) (int, error) { return io.Discard.Write(p) }

func TestPublicNetworkAccessDisabled(t *testing.T) {
	f := newFixture(t)
	f.vault(t, "kvpriv", map[string]any{"publicNetworkAccess": "Disabled"})
	f.assign(officer, roleSecretsOfficer, rgID)
	r := f.do(t, "GET", kv("kvpriv", "/secrets"), f.token(t, officer, Resource), "")
	if r.status != 403 || r.code() != "Forbidden" || r.inner() != "ForbiddenByConnection" ||
		!strings.HasPrefix(r.message(), "Public network access is disabled and request is not from a trusted service nor via an approved private link.") {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	entries, _ := f.access.Query(context.Background(), store.AccessFilter{PrincipalID: officer.ObjectID})
	if len(entries) != 1 || entries[0].Allowed || entries[0].Status != 403 || !strings.Contains(entries[0].Reason, "publicNetworkAccess") {
		t.Fatalf("access log: %+v", entries)
	}
}
