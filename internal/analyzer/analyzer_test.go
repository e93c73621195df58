package analyzer_test

import (
	"bytes"
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
	"testing"
	"time"

	. "github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/demo"
	"github.com/mimic-emu/mimic/internal/server"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// armClient drives a server's ARM as its operator, for the demo.
type armClient struct {
	base, token string
	http        *http.Client
}

func (c *armClient) ARM(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(ctx, method, c.base+strings.TrimPrefix(path, "/"), rd)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		return fmt.Errorf("%d %s", resp.StatusCode, raw)
	}
	if out != nil && len(raw) > 0 {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func (c *armClient) SetSecret(context.Context, string, string, string) error       { return nil }
func (c *armClient) PutBlob(context.Context, string, string, string, string) error { return nil }

// demoAnalysis runs a server with the demo estate and analyzes it.
func demoAnalysis(t *testing.T) *Analysis {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.Open(ctx, server.Config{Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.Tenant.CA.CertPEM())
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.PostForm(srv.URL()+srv.Tenant.ID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {srv.Tenant.OperatorClient}, "client_secret": {srv.Tenant.OperatorSecret}, "scope": {"https://management.azure.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	c := &armClient{base: srv.URL(), token: tok.AccessToken, http: hc}
	if err := demo.Apply(ctx, c, srv.Tenant.SubscriptionID, srv.Tenant.ID, srv.Tenant.OperatorObject); err != nil {
		t.Fatal(err)
	}
	e, err := Load(ctx, srv.Store)
	if err != nil {
		t.Fatal(err)
	}
	return New(e)
}

func computeNamed(t *testing.T, a *Analysis, name string) *Compute {
	for _, c := range a.E.Computes {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no compute %s", name)
	return nil
}

func reachOf(r *Radius, name string) *Reach {
	for i := range r.Reach {
		if strings.HasSuffix(strings.ToLower(r.Reach[i].Resource), "/"+strings.ToLower(name)) {
			return &r.Reach[i]
		}
	}
	return nil
}

func TestDemoBlastRadius(t *testing.T) {
	a := demoAnalysis(t)
	dev, err := a.BlastRadiusOf(computeNamed(t, a, demo.PaymentsDev).ID)
	if err != nil {
		t.Fatal(err)
	}
	if dev.Environment != "dev" {
		t.Errorf("pay-api-dev environment %q", dev.Environment)
	}
	vault := reachOf(dev, demo.PaymentsVault)
	if vault == nil || vault.Environment != "prod" {
		t.Fatalf("DEV's blast radius lacks PROD's vault: %+v", dev.Reach)
	}
	if !contains(vault.DataActions, "Microsoft.KeyVault/vaults/secrets/getSecret/action") {
		t.Errorf("vault data actions %v", vault.DataActions)
	}
	if len(vault.Path) < 2 || vault.Path[0].Kind != "token" || vault.Path[len(vault.Path)-1].Kind != "grants" {
		t.Errorf("path %+v", vault.Path)
	}
	// The isolated design: DEV reaches its own vault only.
	orders, _ := a.BlastRadiusOf(computeNamed(t, a, demo.OrdersDev).ID)
	if reachOf(orders, demo.OrdersProdVault) != nil || reachOf(orders, demo.OrdersDevVault) == nil {
		t.Fatalf("orders-api-dev reach: %+v", orders.Reach)
	}
	// The ops VM: Contributor on the subscription yields every VM's and
	// site's identity through write.
	ops, _ := a.BlastRadiusOf(computeNamed(t, a, demo.OpsVM).ID)
	names := map[string]bool{}
	for _, id := range ops.Identities {
		names[id.Name] = true
	}
	for _, want := range []string{demo.OpsIdentity, demo.SharedIdentity, demo.WorkersIdentity, "id-orders-prod"} {
		if !names[want] {
			t.Errorf("ops blast radius lacks %s: %v", want, names)
		}
	}
	// The CI identity: write on the PROD site yields the shared identity,
	// and so PROD's vault.
	ciID := ""
	for _, id := range a.E.Identities {
		if id.Name == demo.CIIdentity {
			ciID = id.Key
		}
	}
	ci, err := a.BlastRadiusOf(ciID)
	if err != nil {
		t.Fatal(err)
	}
	if v := reachOf(ci, demo.PaymentsVault); v == nil {
		t.Fatalf("CI identity does not reach the PROD vault: %+v", ci.Identities)
	} else {
		kinds := []string{}
		for _, s := range v.Path {
			kinds = append(kinds, s.Kind)
		}
		if strings.Join(kinds, ",") != "holds,write,token,grants" {
			t.Errorf("CI path %v", kinds)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
