package compat

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
)

const tokenExchangeAudience = "api://AzureADTokenExchange"

// mimicCLI runs the mimic binary against the test server's home.
func mimicCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx(t), env.Binary, append(args, "--home", env.Home)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// newWorkloadCluster creates a cluster with the OIDC issuer and workload
// identity enabled, as `az aks create --enable-oidc-issuer
// --enable-workload-identity` does.
func newWorkloadCluster(t *testing.T, rg, name string) armcontainerservice.ManagedCluster {
	t.Helper()
	mc, err := putCluster(t, rg, name, armcontainerservice.ManagedCluster{
		Location: to.Ptr("westeurope"),
		Identity: &armcontainerservice.ManagedClusterIdentity{Type: to.Ptr(armcontainerservice.ResourceIdentityTypeSystemAssigned)},
		Properties: &armcontainerservice.ManagedClusterProperties{
			OidcIssuerProfile: &armcontainerservice.ManagedClusterOIDCIssuerProfile{Enabled: to.Ptr(true)},
			SecurityProfile: &armcontainerservice.ManagedClusterSecurityProfile{
				WorkloadIdentity: &armcontainerservice.ManagedClusterSecurityProfileWorkloadIdentity{Enabled: to.Ptr(true)},
			},
		},
	})
	must(t, err)
	return mc
}

func federate(t *testing.T, rg, identity, name, issuer, subject string) {
	t.Helper()
	_, err := ficClient(t).CreateOrUpdate(ctx(t), rg, identity, name, armmsi.FederatedIdentityCredential{
		Properties: &armmsi.FederatedIdentityCredentialProperties{Issuer: to.Ptr(issuer), Subject: to.Ptr(subject), Audiences: []*string{to.Ptr(tokenExchangeAudience)}},
	}, nil)
	must(t, err)
}

// issuerGet fetches a document of an AKS issuer through mimic's listener,
// addressed by the issuer's own host.
func issuerGet(t *testing.T, issuerURL, path string, out any) int {
	t.Helper()
	u, err := url.Parse(issuerURL + path)
	must(t, err)
	req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, env.URL(u.Path), nil)
	must(t, err)
	req.Host = u.Host
	resp, err := env.HTTP().Do(req)
	must(t, err)
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(out)
	return resp.StatusCode
}

func serviceAccountManifest(name, clientID string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ServiceAccount
metadata:
  name: %s
  namespace: default
  annotations:
    azure.workload.identity/client-id: %s
  labels:
    azure.workload.identity/use: "true"
`, name, clientID)
}

// exchangeError returns the AADSTS code an assertion credential's failure
// carries.
func assertionFails(t *testing.T, clientID, assertion, wantCode string) {
	t.Helper()
	cred, err := azidentity.NewClientAssertionCredential(env.Profile.TenantID, clientID,
		func(context.Context) (string, error) { return assertion, nil },
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: env.ClientOptions(), DisableInstanceDiscovery: true})
	must(t, err)
	_, err = cred.GetToken(ctx(t), policy.TokenRequestOptions{Scopes: []string{armScope}})
	if err == nil || !strings.Contains(err.Error(), wantCode+":") {
		t.Fatalf("want %s, got %v", wantCode, err)
	}
}

func TestAKSWorkloadFederation(t *testing.T) {
	rg := newGroup(t, "rg-wi", nil)
	name := uniq(t, "aks")
	mc := newWorkloadCluster(t, rg, name)
	issuer := *mc.Properties.OidcIssuerProfile.IssuerURL
	app := newIdentity(t, rg, "wi-app")
	appClient := *app.Properties.ClientID
	federate(t, rg, "wi-app", "aks-default-app", issuer, "system:serviceaccount:default:app")

	// The service account, from a manifest as users write it.
	dir := t.TempDir()
	file := filepath.Join(dir, "sa.yaml")
	must(t, os.WriteFile(file, []byte(serviceAccountManifest("app", appClient)+"---\n"+serviceAccountManifest("other", appClient)), 0o600))
	out, stderr, err := mimicCLI(t, "", "aks", "serviceaccount", "apply", "-g", rg, "--cluster", name, "-f", file)
	if err != nil || !strings.Contains(out, "serviceaccount/app created in namespace default of cluster "+name) || !strings.Contains(out, "serviceaccount/other created") {
		t.Fatalf("apply: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err = mimicCLI(t, serviceAccountManifest("app", appClient), "aks", "sa", "apply", "-g", rg, "--cluster", name, "-f", "-")
	if err != nil || !strings.Contains(out, "serviceaccount/app configured") {
		t.Fatalf("apply again from stdin: %v\n%s%s", err, out, stderr)
	}
	out, _, err = mimicCLI(t, "", "aks", "serviceaccount", "list", "-g", rg, "--cluster", name)
	if err != nil || !strings.Contains(out, "default") || !strings.Contains(out, appClient) || !strings.Contains(out, "system:serviceaccount:default:other") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, _, err = mimicCLI(t, "", "aks", "serviceaccount", "delete", "-g", rg, "--cluster", name, "--name", "other")
	if err != nil || !strings.Contains(out, "serviceaccount/other deleted") {
		t.Fatalf("delete: %v\n%s", err, out)
	}

	// Bad manifests and names are refused with clear messages.
	for manifest, want := range map[string]string{
		"apiVersion: v1\nkind: Pod\nmetadata: {name: app}\n":                                                               `document 1: kind is "Pod": only kind: ServiceAccount is supported`,
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {namespace: default}\n":                                           "document 1: metadata.name is required",
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: My_App}\n":                                                 `metadata.name "My_App" is invalid`,
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, annotations: {azure.workload.identity/client-id: x}}\n": "is \"x\", which is not a client id",
	} {
		_, stderr, err := mimicCLI(t, manifest, "aks", "serviceaccount", "apply", "-g", rg, "--cluster", name, "-f", "-")
		if err == nil || !strings.Contains(stderr, want) {
			t.Errorf("manifest %q: %v %q, want %q", manifest, err, stderr, want)
		}
	}
	if _, stderr, err := mimicCLI(t, serviceAccountManifest("app", appClient), "aks", "sa", "apply", "-g", rg, "--cluster", "nope", "-f", "-"); err == nil ||
		!strings.Contains(stderr, "(ParentResourceNotFound)") {
		t.Errorf("missing cluster: %v %s", err, stderr)
	}

	// The issuer's discovery document and keys, at the issuer's own host.
	var disc map[string]any
	if code := issuerGet(t, issuer, ".well-known/openid-configuration", &disc); code != 200 || disc["issuer"] != issuer || disc["jwks_uri"] != issuer+"openid/v1/jwks" {
		t.Fatalf("discovery: %d %v", code, disc)
	}
	var jwks struct {
		Keys []map[string]string `json:"keys"`
	}
	if code := issuerGet(t, issuer, "openid/v1/jwks", &jwks); code != 200 || len(jwks.Keys) != 1 || jwks.Keys[0]["alg"] != "RS256" {
		t.Fatalf("jwks: %d %v", code, jwks)
	}
	var missing map[string]any
	if code := issuerGet(t, strings.Replace(issuer, env.Profile.TenantID, "00000000-0000-0000-0000-000000000000", 1), "openid/v1/jwks", &missing); code != 404 {
		t.Fatalf("unknown issuer: %d %v", code, missing)
	}

	// A projected token, as a cluster admin gets it.
	code, body := rawARM(t, http.MethodPost, *mc.ID+"/serviceAccounts/default.app/token?api-version=2025-02-01", "")
	var issued struct{ Token, ExpiresOn string }
	json.Unmarshal([]byte(body), &issued)
	if code != 200 || issued.Token == "" {
		t.Fatalf("token: %d %s", code, body)
	}
	sa := claimsOf(t, issued.Token)
	if sa["iss"] != issuer || sa["sub"] != "system:serviceaccount:default:app" || fmt.Sprint(sa["aud"]) != "["+tokenExchangeAudience+"]" {
		t.Fatalf("service account token claims %v", sa)
	}
	verifyRS256(t, issued.Token, jwks.Keys[0])
	cliToken, _, err := mimicCLI(t, "", "aks", "sa", "token", "-g", rg, "--cluster", name, "--name", "app")
	if err != nil || claimsOf(t, strings.TrimSpace(cliToken))["sub"] != "system:serviceaccount:default:app" {
		t.Fatalf("token from the CLI: %v %q", err, cliToken)
	}

	// The exchange, with the SDK's assertion credential…
	cred, err := azidentity.NewClientAssertionCredential(env.Profile.TenantID, appClient,
		func(context.Context) (string, error) { return issued.Token, nil },
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: env.ClientOptions(), DisableInstanceDiscovery: true})
	must(t, err)
	at, err := cred.GetToken(ctx(t), policy.TokenRequestOptions{Scopes: []string{armScope}})
	must(t, err)
	c := claimsOf(t, at.Token)
	if c["oid"] != *app.Properties.PrincipalID || c["appid"] != appClient || !strings.EqualFold(c["xms_mirid"].(string), *app.ID) || c["xms_az_rid"] != nil || c["tid"] != env.Profile.TenantID {
		t.Fatalf("exchanged token claims %v", c)
	}
	// …and with the workload identity credential reading the token file.
	tokenFile := filepath.Join(dir, "azure-identity-token")
	must(t, os.WriteFile(tokenFile, []byte(issued.Token), 0o600))
	wi, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions: env.ClientOptions(), ClientID: appClient, TenantID: env.Profile.TenantID, TokenFilePath: tokenFile, DisableInstanceDiscovery: true,
	})
	must(t, err)
	at, err = wi.GetToken(ctx(t), policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
	must(t, err)
	if c := claimsOf(t, at.Token); c["oid"] != *app.Properties.PrincipalID || c["aud"] != "https://vault.azure.net" {
		t.Fatalf("workload identity token claims %v", c)
	}

	// Failure modes, each with Entra's code.
	wrongSubject := newIdentity(t, rg, "wi-subject")
	federate(t, rg, "wi-subject", "other", issuer, "system:serviceaccount:default:other")
	assertionFails(t, *wrongSubject.Properties.ClientID, issued.Token, "AADSTS700213")
	wrongIssuer := newIdentity(t, rg, "wi-issuer")
	federate(t, rg, "wi-issuer", "trailing", strings.TrimSuffix(issuer, "/"), "system:serviceaccount:default:app")
	assertionFails(t, *wrongIssuer.Properties.ClientID, issued.Token, "AADSTS700211")
	none := newIdentity(t, rg, "wi-none")
	assertionFails(t, *none.Properties.ClientID, issued.Token, "AADSTS70021")
	parts := strings.Split(issued.Token, ".")
	assertionFails(t, appClient, parts[0]+"."+parts[1]+"."+base64.RawURLEncoding.EncodeToString([]byte("forged")), "AADSTS700027")

	// The sign-in log names the cluster, the credential and the refusals.
	out, stderr, err = mimicCLI(t, "", "logs", "signins", "--compute", *mc.ID, "-o", "json")
	if err != nil || !strings.Contains(out, "federatedIdentityCredentials/aks-default-app") || !strings.Contains(out, "AADSTS700213") || !strings.Contains(out, `"federated"`) {
		t.Fatalf("sign-in log: %v\n%s%s", err, out, stderr)
	}
}

func verifyRS256(t *testing.T, token string, jwk map[string]string) {
	t.Helper()
	n, err := base64.RawURLEncoding.DecodeString(jwk["n"])
	must(t, err)
	parts := strings.Split(token, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	must(t, err)
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("the token does not verify with the issuer's JWKS: %v", err)
	}
	if headerOf(t, token)["kid"] != jwk["kid"] {
		t.Fatalf("kid %v, JWKS %s", headerOf(t, token)["kid"], jwk["kid"])
	}
}

// externalIDP is a CI system's OIDC issuer: a key, its JWKS, and tokens.
type externalIDP struct {
	key *rsa.PrivateKey
	kid string
}

func newExternalIDP(t *testing.T, kid string) *externalIDP {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	return &externalIDP{key: key, kid: kid}
}

func (p *externalIDP) jwks() []byte {
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": p.kid,
		"n": base64.RawURLEncoding.EncodeToString(p.key.N.Bytes()), "e": "AQAB",
	}}})
	return b
}

func (p *externalIDP) sign(t *testing.T, issuer, subject string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now().Unix()
	input := enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": p.kid}) + "." +
		enc(map[string]any{"iss": issuer, "sub": subject, "aud": tokenExchangeAudience, "iat": now, "nbf": now, "exp": now + 300})
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, digest[:])
	must(t, err)
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// TestExternalIssuerFederation runs a second mimic that trusts two CI
// issuers: one through a JWKS file (--oidc-issuer-jwks), one whose keys it
// fetches over HTTPS from the issuer's discovery document.
func TestExternalIssuerFederation(t *testing.T) {
	fileIDP, webIDP := newExternalIDP(t, "file-key"), newExternalIDP(t, "web-key")
	dir := t.TempDir()
	jwksFile := filepath.Join(dir, "ci-jwks.json")
	must(t, os.WriteFile(jwksFile, fileIDP.jwks(), 0o600))
	const fileIssuer = "https://ci.example.com/oidc"

	var web *httptest.Server
	web = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{"issuer": web.URL, "jwks_uri": web.URL + "/keys"})
		case "/keys":
			w.Write(webIDP.jwks())
		default:
			http.NotFound(w, r)
		}
	}))
	defer web.Close()
	// The second mimic trusts the test issuer's certificate as a system root.
	bundle := filepath.Join(dir, "roots.pem")
	must(t, os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: web.Certificate().Raw}), 0o600))
	t.Setenv("SSL_CERT_FILE", bundle)

	other, err := Start(env.Binary, filepath.Join(dir, "home"), "--oidc-issuer-jwks", fileIssuer+"="+jwksFile)
	must(t, err)
	defer other.Stop()
	saved := env
	env = other
	defer func() { env = saved }()

	rg := newGroup(t, "rg-ci", nil)
	id := newIdentity(t, rg, "ci-deployer")
	federate(t, rg, "ci-deployer", "file-main", fileIssuer, "repo:org/app:ref:refs/heads/main")
	federate(t, rg, "ci-deployer", "web-main", web.URL, "repo:org/app:ref:refs/heads/main")
	for name, assertion := range map[string]string{
		"jwks file": fileIDP.sign(t, fileIssuer, "repo:org/app:ref:refs/heads/main"),
		"https":     webIDP.sign(t, web.URL, "repo:org/app:ref:refs/heads/main"),
	} {
		cred, err := azidentity.NewClientAssertionCredential(other.Profile.TenantID, *id.Properties.ClientID,
			func(context.Context) (string, error) { return assertion, nil },
			&azidentity.ClientAssertionCredentialOptions{ClientOptions: other.ClientOptions(), DisableInstanceDiscovery: true})
		must(t, err)
		at, err := cred.GetToken(ctx(t), policy.TokenRequestOptions{Scopes: []string{armScope}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c := claimsOf(t, at.Token); c["oid"] != *id.Properties.PrincipalID {
			t.Fatalf("%s: claims %v", name, c)
		}
	}
	// A token of one issuer signed with the other's key is refused, and so
	// is one signed with a key of the right id that is not the issuer's.
	assertionFails(t, *id.Properties.ClientID, webIDP.sign(t, fileIssuer, "repo:org/app:ref:refs/heads/main"), "AADSTS7000272")
	impostor := newExternalIDP(t, "web-key")
	assertionFails(t, *id.Properties.ClientID, impostor.sign(t, web.URL, "repo:org/app:ref:refs/heads/main"), "AADSTS700027")
	assertionFails(t, *id.Properties.ClientID, fileIDP.sign(t, fileIssuer, "repo:org/app:ref:refs/heads/dev"), "AADSTS700213")
}
