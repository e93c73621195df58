package analyzer_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	. "github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/demo"
	"github.com/mimic-emu/mimic/internal/server/servertest"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// demoAnalysis runs a server with the demo estate and analyzes it.
func demoAnalysis(t *testing.T) *Analysis {
	t.Helper()
	srv := servertest.StartDemo(t)
	e, err := Load(context.Background(), srv.Store)
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

// The API shares one analysis between concurrent requests.
func TestConcurrentQuestions(t *testing.T) {
	a := demoAnalysis(t)
	done := make(chan int, 4)
	for range 4 {
		go func() {
			n := 0
			for _, c := range a.E.Computes {
				if r, err := a.BlastRadiusOf(c.ID); err == nil {
					n += len(r.Reach)
				}
			}
			n += len(a.Findings(FindingsOptions{}))
			done <- n
		}()
	}
	first := <-done
	for range 3 {
		if n := <-done; n != first || n == 0 {
			t.Fatalf("concurrent answers differ: %d and %d", first, n)
		}
	}
}
