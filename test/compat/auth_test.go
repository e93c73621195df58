package compat

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

const armScope = "https://management.azure.com//.default"

// operatorToken gets an ARM token with the operator's client secret.
func operatorToken(t testing.TB) string {
	t.Helper()
	tok, err := env.Operator(t).GetToken(ctx(t), policy.TokenRequestOptions{Scopes: []string{armScope}})
	must(t, err)
	return tok.Token
}

// claimsOf decodes a JWT's claims without verifying it.
func claimsOf(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	must(t, err)
	var c map[string]any
	must(t, json.Unmarshal(b, &c))
	return c
}

func headerOf(t testing.TB, token string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	must(t, err)
	var h map[string]any
	must(t, json.Unmarshal(b, &h))
	return h
}

func TestClientSecretTokenClaims(t *testing.T) {
	tok := operatorToken(t)
	c := claimsOf(t, tok)
	tid := env.Profile.TenantID
	want := map[string]any{
		"aud": "https://management.azure.com/", "iss": "https://sts.windows.net/" + tid + "/",
		"appid": env.Profile.Operator.ClientID, "oid": env.Profile.Operator.ObjectID, "sub": env.Profile.Operator.ObjectID,
		"tid": tid, "ver": "1.0", "idtyp": "app", "appidacr": "1",
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("claim %s = %v, want %v", k, c[k], v)
		}
	}
	exp, nbf := c["exp"].(float64), c["nbf"].(float64)
	if life := time.Unix(int64(exp), 0).Sub(time.Now()); life < 50*time.Minute || life > 61*time.Minute {
		t.Errorf("client token lifetime %v, want about an hour", life)
	}
	if nbf > float64(time.Now().Unix()) {
		t.Errorf("nbf %v in the future", nbf)
	}
	h := headerOf(t, tok)
	if h["alg"] != "RS256" || h["kid"] == "" || h["kid"] != h["x5t"] {
		t.Errorf("header %v", h)
	}
	// The kid is published in the JWKS.
	var jwks struct {
		Keys []struct{ Kid, Kty, N, E string } `json:"keys"`
	}
	getJSON(t, env.URL("/"+tid+"/discovery/v2.0/keys"), &jwks)
	found := false
	for _, k := range jwks.Keys {
		if k.Kid == h["kid"] && k.Kty == "RSA" && k.N != "" && k.E != "" {
			found = true
		}
	}
	if !found {
		t.Fatalf("kid %v not in JWKS %+v", h["kid"], jwks)
	}
}

func getJSON(t testing.TB, u string, v any) int {
	t.Helper()
	resp, err := env.HTTP().Get(u)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v: %s", u, err, b)
		}
	}
	return resp.StatusCode
}

func TestDiscoveryDocuments(t *testing.T) {
	tid := env.Profile.TenantID
	var v2, v1 map[string]any
	if s := getJSON(t, env.URL("/"+tid+"/v2.0/.well-known/openid-configuration"), &v2); s != 200 {
		t.Fatalf("v2 discovery: %d", s)
	}
	if v2["issuer"] != "https://login.microsoftonline.com/"+tid+"/v2.0" || v2["token_endpoint"] != env.URL("/"+tid+"/oauth2/v2.0/token") || v2["jwks_uri"] != env.URL("/"+tid+"/discovery/v2.0/keys") {
		t.Fatalf("v2 discovery: %v", v2)
	}
	getJSON(t, env.URL("/"+tid+"/.well-known/openid-configuration"), &v1)
	if v1["issuer"] != "https://sts.windows.net/"+tid+"/" || v1["token_endpoint"] != env.URL("/"+tid+"/oauth2/token") {
		t.Fatalf("v1 discovery: %v", v1)
	}
	var inst map[string]any
	getJSON(t, env.URL("/common/discovery/instance?api-version=1.1&authorization_endpoint="+url.QueryEscape("https://127.0.0.1/"+tid+"/oauth2/v2.0/authorize")), &inst)
	if inst["tenant_discovery_endpoint"] != env.URL("/"+tid+"/v2.0/.well-known/openid-configuration") {
		t.Fatalf("instance discovery: %v", inst)
	}
	if md, _ := inst["metadata"].([]any); len(md) != 1 {
		t.Fatalf("instance discovery metadata: %v", inst)
	}
	var bad map[string]any
	if s := getJSON(t, env.URL("/00000000-0000-0000-0000-0000000000ff/v2.0/.well-known/openid-configuration"), &bad); s != 400 || !strings.Contains(bad["error_description"].(string), "AADSTS90002") {
		t.Fatalf("unknown tenant discovery: %d %v", s, bad)
	}
}

func TestClientSecretErrors(t *testing.T) {
	tid, cid := env.Profile.TenantID, env.Profile.Operator.ClientID
	cases := []struct {
		name, tenant, client, secret, code string
	}{
		{"wrong secret", tid, cid, "not-the-secret", "AADSTS7000215"},
		{"unknown client", tid, "11111111-2222-3333-4444-555555555555", "x", "AADSTS700016"},
		{"unknown tenant", "00000000-0000-0000-0000-0000000000ff", cid, env.Profile.Operator.ClientSecret, "AADSTS90002"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := azidentity.NewClientSecretCredential(tc.tenant, tc.client, tc.secret,
				&azidentity.ClientSecretCredentialOptions{ClientOptions: env.ClientOptions(), DisableInstanceDiscovery: true})
			must(t, err)
			_, err = cred.GetToken(ctx(t), policy.TokenRequestOptions{Scopes: []string{armScope}})
			if err == nil || !strings.Contains(err.Error(), tc.code) {
				t.Fatalf("GetToken error = %v, want %s", err, tc.code)
			}
		})
	}
}

// postForm posts a token request and returns the status and the Entra
// error body.
func postForm(t *testing.T, path, contentType, body string) (int, map[string]any) {
	t.Helper()
	resp, err := env.HTTP().Post(env.URL(path), contentType, strings.NewReader(body))
	must(t, err)
	defer resp.Body.Close()
	var out map[string]any
	must(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func TestTokenEndpointErrors(t *testing.T) {
	tid := env.Profile.TenantID
	op := env.Profile.Operator
	form := "application/x-www-form-urlencoded"
	creds := "&client_id=" + op.ClientID + "&client_secret=" + url.QueryEscape(op.ClientSecret)
	cases := []struct {
		name, path, ct, body string
		status               int
		errType              string
		code                 float64
	}{
		{"unsupported grant", "/" + tid + "/oauth2/v2.0/token", form, "grant_type=password&scope=" + url.QueryEscape(armScope) + creds, 400, "unsupported_grant_type", 70003},
		{"missing grant", "/" + tid + "/oauth2/v2.0/token", form, "scope=x" + creds, 400, "invalid_request", 900144},
		{"not a form", "/" + tid + "/oauth2/v2.0/token", "application/json", `{"grant_type":"client_credentials"}`, 400, "invalid_request", 900144},
		{"missing scope", "/" + tid + "/oauth2/v2.0/token", form, "grant_type=client_credentials" + creds, 400, "invalid_request", 900144},
		{"scope without .default", "/" + tid + "/oauth2/v2.0/token", form, "grant_type=client_credentials&scope=https://vault.azure.net/secrets.read" + creds, 400, "invalid_scope", 1002012},
		{"missing secret", "/" + tid + "/oauth2/v2.0/token", form, "grant_type=client_credentials&scope=https://vault.azure.net/.default&client_id=" + op.ClientID, 401, "invalid_client", 7000218},
		{"v1 missing resource", "/" + tid + "/oauth2/token", form, "grant_type=client_credentials" + creds, 400, "invalid_request", 900144},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postForm(t, tc.path, tc.ct, tc.body)
			codes, _ := body["error_codes"].([]any)
			if status != tc.status || body["error"] != tc.errType || len(codes) != 1 || codes[0] != tc.code {
				t.Fatalf("got %d %v", status, body)
			}
			if !strings.HasPrefix(body["error_description"].(string), "AADSTS") || body["correlation_id"] == "" || body["trace_id"] == "" {
				t.Fatalf("error body lacks Entra's fields: %v", body)
			}
		})
	}
}

func TestV1TokenEndpoint(t *testing.T) {
	op := env.Profile.Operator
	status, body := postForm(t, "/"+env.Profile.TenantID+"/oauth2/token", "application/x-www-form-urlencoded",
		"grant_type=client_credentials&resource=https%3A%2F%2Fvault.azure.net&client_id="+op.ClientID+"&client_secret="+url.QueryEscape(op.ClientSecret))
	if status != 200 {
		t.Fatalf("v1 token: %d %v", status, body)
	}
	for _, k := range []string{"expires_in", "expires_on", "not_before"} {
		if _, isString := body[k].(string); !isString {
			t.Errorf("v1 %s is %T, want a string", k, body[k])
		}
	}
	if body["resource"] != "https://vault.azure.net" || claimsOf(t, body["access_token"].(string))["aud"] != "https://vault.azure.net" {
		t.Fatalf("v1 token for the vault: %v", body)
	}
}

// armWith calls ARM with a raw Authorization header.
func armWith(t *testing.T, authorization string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), "GET", env.URL("/subscriptions/"+sub()+"/resourcegroups?api-version=2021-04-01"), nil)
	must(t, err)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := env.HTTP().Do(req)
	must(t, err)
	defer resp.Body.Close()
	var body map[string]any
	must(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp, body
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func TestARMAuthentication(t *testing.T) {
	vaultTok, err := env.Operator(t).GetToken(ctx(t), policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
	must(t, err)
	good := operatorToken(t)
	parts := strings.Split(good, ".")
	forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString([]byte("not a signature"))
	cases := []struct {
		name, header, code string
	}{
		{"missing", "", "AuthenticationFailed"},
		{"not bearer", "Basic abc", "AuthenticationFailedInvalidHeader"},
		{"garbage", "Bearer abc.def.ghi", "InvalidAuthenticationToken"},
		{"forged signature", "Bearer " + forged, "InvalidAuthenticationToken"},
		{"wrong audience", "Bearer " + vaultTok.Token, "InvalidAuthenticationTokenAudience"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := armWith(t, tc.header)
			if resp.StatusCode != 401 || errCode(body) != tc.code {
				t.Fatalf("got %d %v, want 401 %s", resp.StatusCode, body, tc.code)
			}
			if wa := resp.Header.Get("WWW-Authenticate"); !strings.Contains(wa, `authorization_uri="https://login.microsoftonline.com/`+env.Profile.TenantID) {
				t.Fatalf("WWW-Authenticate = %q", wa)
			}
		})
	}
	if resp, body := armWith(t, "Bearer "+good); resp.StatusCode != 200 {
		t.Fatalf("good token refused: %d %v", resp.StatusCode, body)
	}
}

// TestExpiredAndForeignTokens runs a second mimic whose client tokens live
// two seconds with no leeway: its expired tokens get ExpiredAuthenticationToken,
// and tokens of the first instance, signed by other keys, are invalid there.
func TestExpiredAndForeignTokens(t *testing.T) {
	other, err := Start(env.Binary, filepath.Join(t.TempDir(), "home"), "--client-token-lifetime", "2s", "--token-leeway", "0s")
	must(t, err)
	defer other.Stop()
	cred, err := azidentity.NewClientSecretCredential(other.Profile.TenantID, other.Profile.Operator.ClientID, other.Profile.Operator.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: other.ClientOptions(), DisableInstanceDiscovery: true})
	must(t, err)
	tok, err := cred.GetToken(ctx(t), policy.TokenRequestOptions{Scopes: []string{armScope}})
	must(t, err)
	time.Sleep(3 * time.Second)
	saved := env
	env = other
	defer func() { env = saved }()
	resp, body := armWith(t, "Bearer "+tok.Token)
	if resp.StatusCode != 401 || errCode(body) != "ExpiredAuthenticationToken" {
		t.Fatalf("expired token: %d %v", resp.StatusCode, body)
	}
	if msg := body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "is earlier than current UTC time") {
		t.Fatalf("expired message: %q", msg)
	}
	env = saved
	foreign := operatorToken(t)
	env = other
	resp, body = armWith(t, "Bearer "+foreign)
	if resp.StatusCode != 401 || (errCode(body) != "InvalidAuthenticationToken" && errCode(body) != "InvalidAuthenticationTokenTenant") {
		t.Fatalf("token of another tenant: %d %v", resp.StatusCode, body)
	}
}

// TestRestartKeepsEverything stops a server gracefully, restarts it on the
// same home, and finds its tenant, operator and resources unchanged.
func TestRestartKeepsEverything(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	first, err := Start(env.Binary, dir)
	must(t, err)
	saved := env
	defer func() { env = saved }()
	env = first
	name := uniq(t, "rg-restart")
	_, err = groups(t).CreateOrUpdate(ctx(t), name, armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil)
	must(t, err)
	oldToken := operatorToken(t)
	must(t, first.Stop())

	second, err := Start(env.Binary, dir)
	must(t, err)
	defer second.Stop()
	env = second
	if second.Profile.TenantID != first.Profile.TenantID || second.Profile.Operator != first.Profile.Operator || second.Profile.SubscriptionID != first.Profile.SubscriptionID {
		t.Fatalf("profile changed across restart:\n%+v\n%+v", first.Profile, second.Profile)
	}
	if _, err := groups(t).Get(ctx(t), name, nil); err != nil {
		t.Fatalf("group lost across restart: %v", err)
	}
	// Tokens issued before the restart still verify: the keys persisted.
	if resp, body := armWith(t, "Bearer "+oldToken); resp.StatusCode != 200 {
		t.Fatalf("token from before the restart: %d %v", resp.StatusCode, body)
	}
}

// TestKill9KeepsAcknowledgedWrites kills the server with SIGKILL right after
// writes were acknowledged and finds them after a restart.
func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	first, err := Start(env.Binary, dir)
	must(t, err)
	saved := env
	defer func() { env = saved }()
	env = first
	var names []string
	for i := 0; i < 5; i++ {
		name := uniq(t, "rg-k9")
		_, err := groups(t).CreateOrUpdate(ctx(t), name, armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil)
		must(t, err)
		names = append(names, name)
	}
	first.Kill()
	second, err := Start(env.Binary, dir)
	must(t, err)
	defer second.Stop()
	env = second
	for _, n := range names {
		if _, err := groups(t).Get(ctx(t), n, nil); err != nil {
			t.Fatalf("acknowledged group %s lost after kill -9: %v", n, err)
		}
	}
}
