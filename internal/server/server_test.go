package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/jwt"
)

// startTB runs a server in a temporary home until the test ends.
func startTB(tb testing.TB) (*Server, *http.Client) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := Open(ctx, Config{Home: tb.TempDir(), Port: 0})
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Serve: %v", err)
		}
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.Tenant.CA.CertPEM())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	tr.MaxIdleConnsPerHost = 64
	return srv, &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func tokenForm(srv *Server) url.Values {
	return url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {srv.Tenant.OperatorClient},
		"client_secret": {srv.Tenant.OperatorSecret},
		"scope":         {"https://management.azure.com//.default"},
	}
}

func getToken(tb testing.TB, srv *Server, c *http.Client) string {
	tb.Helper()
	resp, err := c.PostForm(srv.URL()+srv.Tenant.ID+"/oauth2/v2.0/token", tokenForm(srv))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		tb.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return out.AccessToken
}

func do(tb testing.TB, c *http.Client, method, u, token, body string) (int, string) {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRoutingByHost checks that Azure's hostnames reach their planes on the
// one listener, as they will through the proxy.
func TestRoutingByHost(t *testing.T) {
	srv, c := startTB(t)
	tok := getToken(t, srv, c)
	for host, path := range map[string]string{
		"login.microsoftonline.com": "/" + srv.Tenant.ID + "/v2.0/.well-known/openid-configuration",
		"management.azure.com":      "/subscriptions?api-version=2022-12-01",
	} {
		req, _ := http.NewRequest("GET", srv.URL()+strings.TrimPrefix(path, "/"), nil)
		req.Host = host
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s%s: %d %s", host, path, resp.StatusCode, b)
		}
		if host == "login.microsoftonline.com" && !strings.Contains(string(b), `"token_endpoint":"https://login.microsoftonline.com/`) {
			t.Fatalf("discovery through the Azure hostname must name it: %s", b)
		}
	}
}

// BenchmarkRS256Sign is the ceiling for uncached tokens: one RSA-2048
// signature per token, on all cores.
func BenchmarkRS256Sign(b *testing.B) {
	key, err := jwt.GenerateKey(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	claims := map[string]any{"aud": "https://management.azure.com/", "oid": "x"}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := jwt.Sign(key, claims); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkClientCredentialsToken measures whole client-credentials token
// requests over HTTPS with keep-alive, 32 concurrent clients.
func BenchmarkClientCredentialsToken(b *testing.B) {
	srv, c := startTB(b)
	benchTokenPosts(b, c, srv.URL()+srv.Tenant.ID+"/oauth2/v2.0/token", tokenForm(srv).Encode(), "token requests")
}

// benchTokenPosts posts a token request form from 32 concurrent clients
// and fails if any answer is not a 200.
func benchTokenPosts(b *testing.B, c *http.Client, u, form, what string) {
	var failed atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Post(u, "application/x-www-form-urlencoded", strings.NewReader(form))
			if err != nil || resp.StatusCode != 200 {
				failed.Add(1)
			}
			if resp != nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	})
	if failed.Load() > 0 {
		b.Fatalf("%d %s failed", failed.Load(), what)
	}
}

func benchARM(b *testing.B, method string) {
	srv, c := startTB(b)
	tok := getToken(b, srv, c)
	rg := srv.URL() + "subscriptions/" + srv.Tenant.SubscriptionID + "/resourceGroups/bench"
	if s, body := do(b, c, "PUT", rg+"?api-version=2021-04-01", tok, `{"location":"eastus"}`); s != 201 {
		b.Fatalf("create group: %d %s", s, body)
	}
	ident := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
	if s, body := do(b, c, "PUT", ident+"id0?api-version=2023-01-31", tok, `{"location":"eastus"}`); s != 201 {
		b.Fatalf("create identity: %d %s", s, body)
	}
	var n atomic.Int64
	var failed atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var s int
			if method == "GET" {
				s, _ = do(b, c, "GET", ident+"id0?api-version=2023-01-31", tok, "")
			} else {
				s, _ = do(b, c, "PUT", fmt.Sprintf("%sid-%d?api-version=2023-01-31", ident, n.Add(1)), tok, `{"location":"eastus","tags":{"k":"v"}}`)
			}
			if s != 200 && s != 201 {
				failed.Add(1)
			}
		}
	})
	if failed.Load() > 0 {
		b.Fatalf("%d requests failed", failed.Load())
	}
}

// BenchmarkARMGet measures GET of a managed identity over HTTPS.
func BenchmarkARMGet(b *testing.B) { benchARM(b, "GET") }

// BenchmarkARMPut measures creating managed identities over HTTPS; each PUT
// is a durable SQLite transaction.
func BenchmarkARMPut(b *testing.B) { benchARM(b, "PUT") }

func TestMain(m *testing.M) {
	// Keep the server's log lines out of test and benchmark output.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// imdsClient sets up a VM with a system-assigned identity and a run as it,
// and returns an HTTP client whose proxy credentials are the run's.
func imdsClient(b *testing.B) (*http.Client, string) {
	srv, c := startTB(b)
	tok := getToken(b, srv, c)
	base := srv.URL() + "subscriptions/" + srv.Tenant.SubscriptionID + "/resourceGroups/bench"
	if s, body := do(b, c, "PUT", base+"?api-version=2021-04-01", tok, `{"location":"eastus"}`); s != 201 {
		b.Fatalf("group: %d %s", s, body)
	}
	if s, body := do(b, c, "PUT", base+"/providers/Microsoft.Compute/virtualMachines/vm1?api-version=2024-11-01", tok,
		`{"location":"eastus","identity":{"type":"SystemAssigned"}}`); s != 201 {
		b.Fatalf("vm: %d %s", s, body)
	}
	s, body := do(b, c, "POST", srv.URL()+"mimic/v1/runs", tok, `{"compute":"vm1"}`)
	if s != 201 {
		b.Fatalf("run: %d %s", s, body)
	}
	var run struct{ Secret, Proxy string }
	if err := json.Unmarshal([]byte(body), &run); err != nil {
		b.Fatal(err)
	}
	proxyURL, _ := url.Parse(run.Proxy)
	proxyURL.User = url.UserPassword("run", run.Secret)
	tr := &http.Transport{Proxy: http.ProxyURL(proxyURL), MaxIdleConnsPerHost: 64}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource="
}

func benchIMDS(b *testing.B, distinct bool) {
	c, u := imdsClient(b)
	var n, failed atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resource := "https://vault.azure.net"
			if distinct {
				// A resource never asked before: a fresh signature each time.
				resource = fmt.Sprintf("api://bench-%d", n.Add(1))
			}
			req, _ := http.NewRequest("GET", u+url.QueryEscape(resource), nil)
			req.Header.Set("Metadata", "true")
			resp, err := c.Do(req)
			if err != nil || resp.StatusCode != 200 {
				failed.Add(1)
			}
			if resp != nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	})
	if failed.Load() > 0 {
		b.Fatalf("%d IMDS requests failed", failed.Load())
	}
}

// BenchmarkIMDSCached measures IMDS token requests through the proxy that
// the token cache answers.
func BenchmarkIMDSCached(b *testing.B) { benchIMDS(b, false) }

// BenchmarkIMDSUncached measures IMDS token requests that each mint a token.
func BenchmarkIMDSUncached(b *testing.B) { benchIMDS(b, true) }

// BenchmarkFederatedExchange measures workload identity exchanges: a
// projected service-account token traded for an ARM token, each one a
// signature check (RS256 verify) and a fresh signature.
func BenchmarkFederatedExchange(b *testing.B) {
	srv, c := startTB(b)
	tok := getToken(b, srv, c)
	base := srv.URL() + "subscriptions/" + srv.Tenant.SubscriptionID + "/resourceGroups/bench"
	put := func(path, body string) string {
		s, out := do(b, c, "PUT", base+path, tok, body)
		if s != 200 && s != 201 {
			b.Fatalf("PUT %s: %d %s", path, s, out)
		}
		return out
	}
	put("?api-version=2021-04-01", `{"location":"eastus"}`)
	var ident struct{ Properties struct{ ClientID string } }
	json.Unmarshal([]byte(put("/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pod?api-version=2023-01-31", `{"location":"eastus"}`)), &ident)
	var cluster struct {
		ID         string
		Properties struct{ OidcIssuerProfile struct{ IssuerURL string } }
	}
	json.Unmarshal([]byte(put("/providers/Microsoft.ContainerService/managedClusters/aks?api-version=2025-02-01",
		`{"location":"eastus","identity":{"type":"SystemAssigned"},"properties":{"oidcIssuerProfile":{"enabled":true},"securityProfile":{"workloadIdentity":{"enabled":true}}}}`)), &cluster)
	put("/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pod/federatedIdentityCredentials/app?api-version=2023-01-31",
		fmt.Sprintf(`{"properties":{"issuer":%q,"subject":"system:serviceaccount:default:app","audiences":["api://AzureADTokenExchange"]}}`, cluster.Properties.OidcIssuerProfile.IssuerURL))
	put("/providers/Microsoft.ContainerService/managedClusters/aks/serviceAccounts/default.app?api-version=2025-02-01",
		fmt.Sprintf(`{"properties":{"annotations":{"azure.workload.identity/client-id":%q},"labels":{"azure.workload.identity/use":"true"}}}`, ident.Properties.ClientID))
	s, out := do(b, c, "POST", base+"/providers/Microsoft.ContainerService/managedClusters/aks/serviceAccounts/default.app/token?api-version=2025-02-01", tok, "")
	if s != 200 {
		b.Fatalf("service account token: %d %s", s, out)
	}
	var sa struct{ Token string }
	json.Unmarshal([]byte(out), &sa)
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {ident.Properties.ClientID}, "scope": {"https://management.azure.com/.default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {sa.Token},
	}.Encode()
	benchTokenPosts(b, c, srv.URL()+srv.Tenant.ID+"/oauth2/v2.0/token", form, "exchanges")
}
