package issuer

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/msi"
	"github.com/mimic-emu/mimic/internal/directory"
	"github.com/mimic-emu/mimic/internal/jwt"
	"github.com/mimic-emu/mimic/internal/signin"
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/store/sqlstore"
	"github.com/mimic-emu/mimic/internal/tokens"
)

const (
	testTenant = "11111111-1111-1111-1111-111111111111"
	extIssuer  = "https://token.actions.githubusercontent.com"
	subject    = "repo:org/app:ref:refs/heads/main"
	identityID = "/subscriptions/44444444-4444-4444-4444-444444444444/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ci"
)

// fedFixture is an issuer with one user-assigned identity, an external
// issuer whose keys come from a file, and a sign-in log.
type fedFixture struct {
	t        *testing.T
	ctx      context.Context
	store    store.Store
	issuer   *Issuer
	mux      *http.ServeMux
	idp      *jwt.Key // the external issuer's signing key
	now      time.Time
	identity *store.Principal
	system   *store.Principal
	app      *store.Principal
	secret   string
}

func newFedFixture(t *testing.T) *fedFixture {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	f := &fedFixture{t: t, ctx: ctx, store: s, now: time.Now().UTC().Truncate(time.Second)}
	now := func() time.Time { return f.now }
	signing, err := jwt.GenerateKey(f.now)
	if err != nil {
		t.Fatal(err)
	}
	if f.idp, err = jwt.GenerateKey(f.now); err != nil {
		t.Fatal(err)
	}
	ring := jwt.NewRing(signing)
	log := signin.New(s, now)
	t.Cleanup(func() { log.Close(); s.Close() })
	f.issuer = &Issuer{Store: s, Tenant: testTenant, Ring: ring, Minter: &tokens.Minter{Ring: ring, Tenant: testTenant, Now: now},
		ClientTokenLifetime: time.Hour, Signins: log,
		Keys: &IssuerKeys{Files: map[string]map[string]*rsa.PublicKey{extIssuer: {f.idp.ID: &f.idp.Private.PublicKey}}}}
	f.mux = http.NewServeMux()
	f.issuer.Mount(f.mux)
	f.identity = &store.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), Kind: store.KindUserAssigned, DisplayName: "ci", ResourceID: identityID}
	f.system = &store.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), Kind: store.KindSystemAssigned, ResourceID: identityID + "x"}
	err = s.Update(ctx, func(tx store.Tx) error {
		for _, p := range []*store.Principal{f.identity, f.system} {
			if err := tx.CreatePrincipal(ctx, p); err != nil {
				return err
			}
		}
		var err error
		f.app, f.secret, err = directory.NewApplication(ctx, tx, "app")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fedFixture) putFIC(name, iss, sub, aud string) string {
	f.t.Helper()
	id := identityID + "/federatedIdentityCredentials/" + name
	body, _ := json.Marshal(arm.Doc{"id": id, "name": name, "type": msi.FederatedType,
		"properties": arm.Doc{"issuer": iss, "subject": sub, "audiences": []string{aud}}})
	err := f.store.Update(f.ctx, func(tx store.Tx) error {
		return tx.PutResource(f.ctx, &store.Resource{ID: id, Type: msi.FederatedType, Body: body})
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// assertion signs claims with key, defaulting to a valid GitHub-style token.
func (f *fedFixture) assertion(key *jwt.Key, edit func(map[string]any)) string {
	f.t.Helper()
	c := map[string]any{"iss": extIssuer, "sub": subject, "aud": msi.DefaultAudience,
		"iat": f.now.Unix(), "nbf": f.now.Unix(), "exp": f.now.Add(10 * time.Minute).Unix()}
	if edit != nil {
		edit(c)
	}
	raw, err := jwt.Sign(key, c)
	if err != nil {
		f.t.Fatal(err)
	}
	return raw
}

// exchange posts a federated client-credentials request and returns the
// status and the decoded answer.
func (f *fedFixture) exchange(clientID, assertion string, edit func(url.Values)) (int, map[string]any) {
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_info": {"1"},
		"scope":                 {"https://management.azure.com/.default openid offline_access profile"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion},
	}
	if edit != nil {
		edit(form)
	}
	return f.post(form)
}

func (f *fedFixture) post(form url.Values) (int, map[string]any) {
	req := httptest.NewRequest(http.MethodPost, "https://login.microsoftonline.com/"+testTenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		f.t.Fatalf("answer %q: %v", rec.Body.String(), err)
	}
	return rec.Code, body
}

func errorCode(body map[string]any) int {
	codes, _ := body["error_codes"].([]any)
	if len(codes) != 1 {
		return 0
	}
	return int(codes[0].(float64))
}

func TestFederatedExchange(t *testing.T) {
	f := newFedFixture(t)
	other, err := jwt.GenerateKey(f.now)
	if err != nil {
		t.Fatal(err)
	}
	good := f.assertion(f.idp, nil)

	// No federated credential at all.
	status, body := f.exchange(f.identity.ClientID, good, nil)
	if status != 401 || errorCode(body) != 70021 || body["error"] != "invalid_client" ||
		!strings.Contains(body["error_description"].(string), "Assertion Issuer: '"+extIssuer+"'. Assertion Subject: '"+subject+"'. Assertion Audience: 'api://AzureADTokenExchange'.") {
		t.Fatalf("no credential: %d %v", status, body)
	}

	f.putFIC("slash", extIssuer+"/", subject, msi.DefaultAudience)
	f.putFIC("env", extIssuer, "repo:org/app:environment:prod", msi.DefaultAudience)
	f.putFIC("aud", extIssuer, "repo:org/app:pull_request", "api://other")
	ficID := f.putFIC("main", extIssuer, subject, msi.DefaultAudience)

	cases := []struct {
		name     string
		clientID string
		token    string
		form     func(url.Values)
		status   int
		code     int
		text     string
	}{
		{"unknown client", directory.NewGUID(), good, nil, 400, 700016, "was not found in the directory"},
		{"missing assertion type", f.identity.ClientID, good, func(v url.Values) { v.Del("client_assertion_type") }, 400, 900144, "'client_assertion_type'"},
		{"wrong assertion type", f.identity.ClientID, good, func(v url.Values) { v.Set("client_assertion_type", "urn:x") }, 400, 90011, "Unexpected client assertion type."},
		{"not a JWT", f.identity.ClientID, "not-a-jwt", nil, 400, 50027, "JWT token is invalid or malformed."},
		{"no exp", f.identity.ClientID, f.assertion(f.idp, func(c map[string]any) { delete(c, "exp") }), nil, 400, 50027, "malformed"},
		{"system-assigned identity", f.system.ClientID, good, nil, 401, 70021, "No matching federated identity record"},
		{"application", f.app.ClientID, good, nil, 401, 70021, "No matching federated identity record"},
		{"issuer case", f.identity.ClientID, f.assertion(f.idp, func(c map[string]any) { c["iss"] = "https://Token.actions.githubusercontent.com" }), nil,
			401, 700211, "presented assertion issuer 'https://Token.actions.githubusercontent.com'"},
		{"issuer trailing slash only on the credential", f.identity.ClientID, f.assertion(f.idp, func(c map[string]any) { c["iss"] = extIssuer + "//" }), nil,
			401, 700211, "issuer '" + extIssuer + "//'"},
		{"unknown key", f.identity.ClientID, f.assertion(other, nil), nil, 401, 7000272, "The certificate with identifier " + other.ID + " used to sign the federated credential could not be found in the metadata of identity provider " + extIssuer},
		{"forged signature", f.identity.ClientID, forge(t, good), nil, 401, 700027, "Client assertion contains an invalid signature."},
		{"expired", f.identity.ClientID, f.assertion(f.idp, func(c map[string]any) { c["exp"] = f.now.Add(-6 * time.Minute).Unix() }), nil,
			401, 700024, "Client assertion is not within its valid time range. Current time: " + f.now.Format("2006-01-02T15:04:05") + ".0000000Z"},
		{"not yet valid", f.identity.ClientID, f.assertion(f.idp, func(c map[string]any) { c["nbf"] = f.now.Add(time.Hour).Unix() }), nil,
			401, 700024, "not within its valid time range"},
		{"subject", f.identity.ClientID, f.assertion(f.idp, func(c map[string]any) { c["sub"] = "repo:org/app:ref:refs/heads/dev" }), nil,
			401, 700213, "No matching federated identity record found for presented assertion subject 'repo:org/app:ref:refs/heads/dev'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion."},
		{"subject case", f.identity.ClientID, f.assertion(f.idp, func(c map[string]any) { c["sub"] = strings.ToUpper(subject) }), nil, 401, 700213, "subject"},
		{"audience", f.identity.ClientID, f.assertion(f.idp, func(c map[string]any) { c["aud"] = []string{"api://other", "x"} }), nil,
			401, 700212, "presented assertion audience 'api://other,x'"},
	}
	for _, tc := range cases {
		status, body := f.exchange(tc.clientID, tc.token, tc.form)
		desc, _ := body["error_description"].(string)
		if status != tc.status || errorCode(body) != tc.code || !strings.Contains(desc, tc.text) {
			t.Errorf("%s: %d %d %q, want %d %d %q", tc.name, status, errorCode(body), desc, tc.status, tc.code, tc.text)
		}
	}

	// Success: a token for the identity, without xms_az_rid.
	status, body = f.exchange(f.identity.ClientID, good, nil)
	if status != 200 {
		t.Fatalf("exchange: %d %v", status, body)
	}
	claims, err := f.issuer.Ring.Verify(body["access_token"].(string), jwt.VerifyOptions{Audiences: []string{"https://management.azure.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if claims.Oid != f.identity.ObjectID || claims.AppID != f.identity.ClientID || claims.XmsMirid != identityID || claims.XmsAzRid != "" || claims.Tid != testTenant {
		t.Fatalf("claims %+v", claims)
	}
	// v1 endpoint too, with an audience among several.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.identity.ClientID}, "resource": {"https://vault.azure.net"},
		"client_assertion_type": {jwtBearer}, "client_assertion": {f.assertion(f.idp, func(c map[string]any) { c["aud"] = []string{"x", msi.DefaultAudience} })}}
	req := httptest.NewRequest(http.MethodPost, "/"+testTenant+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"resource":"https://vault.azure.net"`) {
		t.Fatalf("v1: %d %s", rec.Code, rec.Body)
	}

	// The sign-in log has every attempt of a known kind.
	entries, err := f.issuer.Signins.Query(f.ctx, store.SignInFilter{PrincipalID: f.identity.ObjectID})
	if err != nil {
		t.Fatal(err)
	}
	var ok, failed []*store.SignIn
	for _, e := range entries {
		if e.Endpoint != signin.Federated {
			t.Errorf("endpoint %q", e.Endpoint)
		}
		if e.Result == signin.Success {
			ok = append(ok, e)
		} else {
			failed = append(failed, e)
		}
	}
	if len(ok) != 2 || ok[0].Credential != ficID || ok[0].IdentityID != identityID || ok[0].Audience != "https://management.azure.com" || ok[0].ClientID != f.identity.ClientID {
		t.Fatalf("successes %+v", ok)
	}
	if len(failed) != 14 || failed[0].ErrorCode != "AADSTS70021" || failed[0].Credential != "" {
		t.Fatalf("%d failures, first %+v", len(failed), failed[0])
	}
}

// forge replaces a token's payload, keeping its header and signature.
func forge(t *testing.T, tok string) string {
	parts := strings.Split(tok, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	json.Unmarshal(b, &c)
	c["exp"] = c["exp"].(float64) + 3600
	b, _ = json.Marshal(c)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

func TestClientSecretSignIns(t *testing.T) {
	f := newFedFixture(t)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.app.ClientID}, "client_secret": {f.secret}, "scope": {"https://vault.azure.net/.default"}}
	if status, body := f.post(form); status != 200 {
		t.Fatalf("secret: %d %v", status, body)
	}
	form.Set("client_secret", "wrong")
	if status, body := f.post(form); status != 401 || errorCode(body) != 7000215 {
		t.Fatalf("wrong secret: %d %v", status, body)
	}
	form.Set("client_id", f.identity.ClientID)
	if status, body := f.post(form); status != 401 || errorCode(body) != 7000215 {
		t.Fatalf("identity with a secret: %d %v", status, body)
	}
	entries, err := f.issuer.Signins.Query(f.ctx, store.SignInFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("%d entries", len(entries))
	}
	for i, want := range []struct{ result, code, principal, identity string }{
		{signin.Success, "", f.app.ObjectID, ""},
		{signin.Failure, "AADSTS7000215", f.app.ObjectID, ""},
		{signin.Failure, "AADSTS7000215", f.identity.ObjectID, identityID},
	} {
		e := entries[i]
		if e.Endpoint != signin.ClientSecret || e.Result != want.result || e.ErrorCode != want.code || e.PrincipalID != want.principal ||
			e.IdentityID != want.identity || e.Audience != "https://vault.azure.net" {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
}
