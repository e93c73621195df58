package aks

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/containerservice"
	"github.com/mimic-emu/mimic/internal/arm/msi"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/jwt"
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/store/sqlstore"
)

const (
	tenant    = "11111111-1111-1111-1111-111111111111"
	issuerID  = "22222222-2222-2222-2222-222222222222"
	clientID  = "33333333-3333-3333-3333-333333333333"
	group     = "/subscriptions/44444444-4444-4444-4444-444444444444/resourceGroups/rg"
	clusterID = group + "/providers/Microsoft.ContainerService/managedClusters/aks1"
	identity  = group + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app-id"
	issuerURL = "https://westeurope.oic.prod-aks.azure.com/" + tenant + "/" + issuerID + "/"
)

// fixture is a store with a cluster (OIDC issuer and workload identity
// on), a user-assigned identity, and a plane over them.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	store store.Store
	plane *Plane
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f := &fixture{t: t, ctx: ctx, store: s, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	f.plane = &Plane{Store: s, Tenant: tenant, Now: func() time.Time { return f.now }}
	f.put(containerservice.ClusterType, arm.Doc{
		"id": clusterID, "name": "aks1", "type": containerservice.ClusterType, "location": "westeurope",
		"properties": arm.Doc{
			"oidcIssuerProfile": arm.Doc{"enabled": true, "issuerURL": issuerURL},
			"securityProfile":   arm.Doc{"workloadIdentity": arm.Doc{"enabled": true}},
		},
		arm.Private: arm.Doc{"issuerId": issuerID, "issuerURL": issuerURL},
	})
	f.put(msi.IdentityType, arm.Doc{"id": identity, "name": "app-id", "type": msi.IdentityType})
	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.CreatePrincipal(ctx, &store.Principal{ObjectID: "55555555-5555-5555-5555-555555555555", ClientID: clientID,
			Kind: store.KindUserAssigned, DisplayName: "app-id", ResourceID: identity})
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) put(typ string, d arm.Doc) {
	f.t.Helper()
	body, _ := json.Marshal(d)
	err := f.store.Update(f.ctx, func(tx store.Tx) error {
		return tx.PutResource(f.ctx, &store.Resource{ID: d.Str("id"), Type: typ, Body: body})
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) get(id string) arm.Doc {
	f.t.Helper()
	var d arm.Doc
	err := f.store.View(f.ctx, func(tx store.Tx) error {
		r, err := tx.GetResource(f.ctx, id)
		if err != nil {
			return err
		}
		d, err = arm.DecodeDoc(r.Body)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// putSA stores a service account as the ARM pipeline would, through the
// type's Prepare.
func (f *fixture) putSA(sa ServiceAccount) {
	f.t.Helper()
	doc := arm.Doc{"id": ServiceAccountID(clusterID, sa.Namespace, sa.Name), "name": sa.ResourceName(), "type": ServiceAccountType,
		"properties": arm.Doc{"annotations": toAny(sa.Annotations), "labels": toAny(sa.Labels)}}
	if err := prepareServiceAccount(nil, nil, doc); err != nil {
		f.t.Fatal(err)
	}
	f.put(ServiceAccountType, doc)
}

func toAny(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (f *fixture) putFIC(name, iss, subject, audience string) {
	f.put(msi.FederatedType, arm.Doc{"id": identity + "/federatedIdentityCredentials/" + name, "name": name, "type": msi.FederatedType,
		"properties": arm.Doc{"issuer": iss, "subject": subject, "audiences": []string{audience}}})
}

func federatedSA() ServiceAccount {
	return ServiceAccount{Namespace: "default", Name: "app",
		Annotations: map[string]string{AnnotationClientID: clientID}, Labels: map[string]string{LabelUse: "true"}}
}

func TestParseManifests(t *testing.T) {
	good := `
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
  annotations:
    azure.workload.identity/client-id: ` + clientID + `
  labels:
    azure.workload.identity/use: "true"
---
{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "worker.v2", "namespace": "jobs"}}
`
	sas, err := ParseManifests(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(sas) != 2 || sas[0].Namespace != "default" || sas[0].Name != "app" || sas[0].Annotations[AnnotationClientID] != clientID ||
		sas[1].ResourceName() != "jobs.worker.v2" || sas[1].Subject() != "system:serviceaccount:jobs:worker.v2" {
		t.Fatalf("parsed %+v", sas)
	}
	for name, tc := range map[string]struct{ in, want string }{
		"wrong kind":      {"apiVersion: v1\nkind: Pod\nmetadata: {name: a}", `document 1: kind is "Pod": only kind: ServiceAccount is supported`},
		"no kind":         {"apiVersion: v1\nmetadata: {name: a}", "document 1: kind is missing"},
		"api version":     {"apiVersion: apps/v1\nkind: ServiceAccount\nmetadata: {name: a}", `apiVersion is "apps/v1"`},
		"missing name":    {"apiVersion: v1\nkind: ServiceAccount\nmetadata: {}", "document 1: metadata.name is required"},
		"bad name":        {"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: My_App}", `metadata.name "My_App" is invalid`},
		"bad namespace":   {"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, namespace: a.b}", `metadata.namespace "a.b" is invalid`},
		"client id":       {"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, annotations: {azure.workload.identity/client-id: nope}}", "not a client id"},
		"expiration":      {"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, annotations: {azure.workload.identity/service-account-token-expiration: 1h}}", "number of seconds"},
		"second document": {"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n---\nkind: Secret\n", "document 2: kind is \"Secret\""},
		"empty":           {"\n---\n", "holds no ServiceAccount"},
		"not yaml":        {"kind: [", "document 1: yaml"},
	} {
		if _, err := ParseManifests(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}

func TestPrepareServiceAccount(t *testing.T) {
	doc := arm.Doc{"name": "default.app", "location": "x", "properties": arm.Doc{"namespace": "default",
		"annotations": map[string]any{AnnotationClientID: clientID}, "extra": 1}}
	if err := prepareServiceAccount(nil, nil, doc); err != nil {
		t.Fatal(err)
	}
	p := doc.Obj("properties")
	if p.Str("name") != "app" || p.Str("subject") != "system:serviceaccount:default:app" || p.Str("uid") == "" || doc["location"] != nil || p["extra"] != nil {
		t.Fatalf("prepared %v", doc)
	}
	again := arm.Doc{"name": "default.app", "properties": arm.Doc{}}
	if err := prepareServiceAccount(nil, doc, again); err != nil || again.Obj("properties").Str("uid") != p.Str("uid") {
		t.Fatalf("update lost the uid: %v %v", again, err)
	}
	for name, d := range map[string]arm.Doc{
		"no dot":         {"name": "app", "properties": arm.Doc{}},
		"name mismatch":  {"name": "default.app", "properties": arm.Doc{"name": "other"}},
		"bad client id":  {"name": "default.app", "properties": arm.Doc{"annotations": map[string]any{AnnotationClientID: "x"}}},
		"non-string":     {"name": "default.app", "properties": arm.Doc{"labels": map[string]any{"a": 1}}},
		"bad name chars": {"name": "default.App", "properties": arm.Doc{}},
	} {
		var ae *armerr.Error
		if err := prepareServiceAccount(nil, nil, d); !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func serve(p *Plane, host, path string) (int, map[string]any) {
	req := httptest.NewRequest(http.MethodGet, "https://"+host+path, nil)
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	var body map[string]any
	json.Unmarshal(rec.Body.Bytes(), &body)
	return rec.Code, body
}

func TestIssuerDocuments(t *testing.T) {
	f := newFixture(t)
	host := "westeurope.oic.prod-aks.azure.com"
	code, disc := serve(f.plane, host, "/"+tenant+"/"+issuerID+"/.well-known/openid-configuration")
	if code != 200 || disc["issuer"] != issuerURL || disc["jwks_uri"] != issuerURL+"openid/v1/jwks" {
		t.Fatalf("discovery %d %v", code, disc)
	}
	if f.get(clusterID).Obj(arm.Private).Str(privateKeyField) != "" {
		t.Fatal("discovery made a key")
	}
	code, set := serve(f.plane, host, "/"+tenant+"/"+issuerID+"/openid/v1/jwks")
	keys, _ := set["keys"].([]any)
	if code != 200 || len(keys) != 1 {
		t.Fatalf("jwks %d %v", code, set)
	}
	k := keys[0].(map[string]any)
	if k["kty"] != "RSA" || k["use"] != "sig" || k["alg"] != "RS256" || k["kid"] == "" || k["e"] != "AQAB" {
		t.Fatalf("jwk %v", k)
	}
	stored := f.get(clusterID).Obj(arm.Private).Str(privateKeyField)
	if !strings.HasPrefix(stored, "-----BEGIN PRIVATE KEY-----") {
		t.Fatalf("key not stored: %q", stored)
	}
	if _, again := serve(f.plane, host, "/"+tenant+"/"+issuerID+"/openid/v1/jwks"); again["keys"].([]any)[0].(map[string]any)["kid"] != k["kid"] {
		t.Fatal("the key changed")
	}

	// A minted token verifies with the published key.
	f.putSA(federatedSA())
	tok, exp, err := f.plane.MintServiceAccountToken(f.ctx, clusterID, "default", "app")
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(f.now.Add(time.Hour)) {
		t.Errorf("expires %v", exp)
	}
	verifyWithJWK(t, tok, k)

	for name, path := range map[string]string{
		"unknown guid":   "/" + tenant + "/" + clientID + "/.well-known/openid-configuration",
		"wrong tenant":   "/" + clientID + "/" + issuerID + "/.well-known/openid-configuration",
		"unknown path":   "/" + tenant + "/" + issuerID + "/keys",
		"wrong location": "",
	} {
		h := host
		if path == "" {
			h, path = "eastus.oic.prod-aks.azure.com", "/"+tenant+"/"+issuerID+"/openid/v1/jwks"
		}
		if code, body := serve(f.plane, h, path); code != 404 || body["error"] == nil {
			t.Errorf("%s: %d %v", name, code, body)
		}
	}

	// A disabled issuer is not served.
	c := f.get(clusterID)
	c.Obj("properties").Obj("oidcIssuerProfile")["enabled"] = false
	f.put(containerservice.ClusterType, c)
	if code, _ := serve(f.plane, host, "/"+tenant+"/"+issuerID+"/openid/v1/jwks"); code != 404 {
		t.Errorf("disabled issuer: %d", code)
	}
}

func verifyWithJWK(t *testing.T, tok string, k map[string]any) {
	t.Helper()
	n, _ := base64.RawURLEncoding.DecodeString(k["n"].(string))
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	parts := strings.Split(tok, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("token does not verify with the JWKS: %v", err)
	}
	if h := decodeSegment(t, parts[0]); h["kid"] != k["kid"] || h["alg"] != "RS256" {
		t.Fatalf("header %v", h)
	}
}

func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMintServiceAccountToken(t *testing.T) {
	f := newFixture(t)
	sa := federatedSA()
	f.putSA(sa)
	tok, _, err := f.plane.MintServiceAccountToken(f.ctx, clusterID, "default", "app")
	if err != nil {
		t.Fatal(err)
	}
	c := decodeSegment(t, strings.Split(tok, ".")[1])
	uid := f.get(ServiceAccountID(clusterID, "default", "app")).Obj("properties").Str("uid")
	kube, _ := c["kubernetes.io"].(map[string]any)
	ksa, _ := kube["serviceaccount"].(map[string]any)
	aud, _ := c["aud"].([]any)
	if len(aud) != 1 || aud[0] != "api://AzureADTokenExchange" || c["iss"] != issuerURL || c["sub"] != "system:serviceaccount:default:app" ||
		c["exp"].(float64) != float64(f.now.Add(time.Hour).Unix()) || c["iat"].(float64) != float64(f.now.Unix()) || c["nbf"] == nil ||
		kube["namespace"] != "default" || ksa["name"] != "app" || ksa["uid"] != uid || uid == "" {
		t.Fatalf("claims %v", c)
	}

	for annotation, want := range map[string]time.Duration{"7200": 2 * time.Hour, "60": time.Hour, "9999999999999": 24 * time.Hour, "": time.Hour} {
		sa.Annotations[AnnotationTokenExpiration] = annotation
		if annotation == "" {
			delete(sa.Annotations, AnnotationTokenExpiration)
		}
		f.putSA(sa)
		if _, exp, err := f.plane.MintServiceAccountToken(f.ctx, clusterID, "default", "app"); err != nil || exp.Sub(f.now) != want {
			t.Errorf("expiration %q: %v %v, want %v", annotation, exp.Sub(f.now), err, want)
		}
	}

	if _, _, err := f.plane.MintServiceAccountToken(f.ctx, clusterID, "default", "nobody"); !errors.Is(err, ErrServiceAccountNotFound) {
		t.Errorf("missing account: %v", err)
	}
	if _, _, err := f.plane.MintServiceAccountToken(f.ctx, clusterID+"x", "default", "app"); !errors.Is(err, ErrClusterNotFound) {
		t.Errorf("missing cluster: %v", err)
	}
	var ae *armerr.Error
	if _, _, err := f.plane.MintServiceAccountToken(f.ctx, clusterID+"x", "default", "app"); !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "ClusterNotFound" {
		t.Errorf("run errors render as ARM 400s: %v", ae)
	}
}

func TestPrepareRun(t *testing.T) {
	f := newFixture(t)
	check := func(name, sa string, want error, text string) {
		t.Helper()
		_, err := f.plane.PrepareRun(f.ctx, clusterID, sa)
		var re *RunError
		if !errors.Is(err, want) || !errors.As(err, &re) || !strings.Contains(err.Error(), text) {
			t.Errorf("%s: %v, want %v containing %q", name, err, want, text)
		}
	}
	check("no account", "default/app", ErrServiceAccountNotFound, "mimic aks serviceaccount apply -g rg --cluster aks1")
	check("bad name", "a/b/c", ErrServiceAccountNotFound, "NAMESPACE/NAME")

	sa := federatedSA()
	delete(sa.Annotations, AnnotationClientID)
	f.putSA(sa)
	check("no client id", "default/app", ErrServiceAccountNotConfigured, AnnotationClientID)
	sa = federatedSA()
	delete(sa.Labels, LabelUse)
	f.putSA(sa)
	check("no use label", "default/app", ErrServiceAccountNotConfigured, LabelUse)
	sa = federatedSA()
	sa.Annotations[AnnotationTenantID] = clientID
	f.putSA(sa)
	check("foreign tenant", "default/app", ErrServiceAccountNotConfigured, "mimic's tenant")
	sa = federatedSA()
	sa.Annotations[AnnotationClientID] = tenant
	f.putSA(sa)
	check("unknown client id", "app", ErrIdentityNotFound, "no identity has it")

	f.putSA(federatedSA())
	check("no credential", "default/app", ErrNotFederated, "az identity federated-credential create -g rg --identity-name app-id")
	f.putFIC("trailing", strings.TrimSuffix(issuerURL, "/"), "system:serviceaccount:default:app", msi.DefaultAudience)
	f.putFIC("other-sub", issuerURL, "system:serviceaccount:default:other", msi.DefaultAudience)
	check("issuer without slash, other subject", "default/app", ErrNotFederated, "has no federated credential for issuer '"+issuerURL+"'")
	f.putFIC("bad-aud", issuerURL, "system:serviceaccount:default:app", "api://other")
	check("wrong audience", "default/app", ErrNotFederated, "audiences [api://other]")
	f.putFIC("bad-aud", issuerURL, "system:serviceaccount:default:app", msi.DefaultAudience)
	env, err := f.plane.PrepareRun(f.ctx, clusterID, "default/app")
	if err != nil || len(env) != 3 || env["AZURE_CLIENT_ID"] != clientID || env["AZURE_TENANT_ID"] != tenant || env["AZURE_AUTHORITY_HOST"] != AuthorityHost {
		t.Fatalf("env %v %v", env, err)
	}

	c := f.get(clusterID)
	c.Obj("properties").Obj("securityProfile").Obj("workloadIdentity")["enabled"] = false
	f.put(containerservice.ClusterType, c)
	check("workload identity off", "default/app", ErrWorkloadIdentityDisabled, "--enable-workload-identity")
	c.Obj("properties").Obj("oidcIssuerProfile")["enabled"] = false
	f.put(containerservice.ClusterType, c)
	check("issuer off", "default/app", ErrOIDCIssuerDisabled, "--enable-oidc-issuer")
	if _, err := f.plane.PrepareRun(f.ctx, group+"/providers/Microsoft.ContainerService/managedClusters/none", "default/app"); !errors.Is(err, ErrClusterNotFound) {
		t.Errorf("missing cluster: %v", err)
	}
}

func TestIssuerKeys(t *testing.T) {
	f := newFixture(t)
	if set, _ := f.plane.IssuerKeys(f.ctx, "https://token.actions.githubusercontent.com"); set != nil {
		t.Error("claims a foreign issuer")
	}
	set, err := f.plane.IssuerKeys(f.ctx, issuerURL)
	if set == nil || err != nil || len(set.Keys) != 0 || set.ComputeID != clusterID {
		t.Fatalf("before any key: %+v %v", set, err)
	}
	f.putSA(federatedSA())
	tok, _, err := f.plane.MintServiceAccountToken(f.ctx, clusterID, "default", "app")
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := jwt.Parse(tok)
	set, err = f.plane.IssuerKeys(f.ctx, issuerURL)
	if set == nil || err != nil || set.Keys[parsed.Kid] == nil {
		t.Fatalf("keys %+v %v", set, err)
	}
	for _, other := range []string{strings.TrimSuffix(issuerURL, "/"), strings.ToUpper(issuerURL[:20]) + issuerURL[20:]} {
		if set, _ := f.plane.IssuerKeys(f.ctx, other); set == nil || len(set.Keys) != 0 || set.ComputeID != "" {
			t.Errorf("%s: not exact: %+v", other, set)
		}
	}
}
