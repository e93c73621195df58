package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/containerservice"
	"github.com/mimic-emu/mimic/internal/arm/storage"
	"github.com/mimic-emu/mimic/internal/arm/web"
	. "github.com/mimic-emu/mimic/internal/importer"
	"github.com/mimic-emu/mimic/internal/server/servertest"
	"github.com/mimic-emu/mimic/internal/store"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

const (
	prod = "b2c399ee-24f5-4be0-93ca-0a28efb988ca"
	dev  = "acb010af-cfdb-4715-b5d8-7d6f5ffbb8ec"
	// Principal ids of the fixture estate.
	sharedPrincipal  = "cbbd9994-dd42-4cd7-a278-5762239d0b35"
	vmProdSystem     = "20285d6d-e706-420a-8765-b2348a248543"
	alice            = "01cde4a0-635d-4360-9af8-1d711f47a51f"
	orphanPrincipal  = "7f336f26-535a-4367-90fc-2e746ed46431"
	billingPrincipal = "408574e0-7d8c-4df7-ab4d-36b620ba1c7e"
)

var (
	kvPaymentsProd = "/subscriptions/" + prod + "/resourceGroups/rg-payments-prod/providers/Microsoft.KeyVault/vaults/kv-payments-prod"
	vmPaymentsDev  = "/subscriptions/" + dev + "/resourceGroups/RG-PAYMENTS-DEV/providers/Microsoft.Compute/virtualMachines/vm-payments-dev"
	aksOrdersProd  = "/subscriptions/" + prod + "/resourcegroups/rg-orders-prod/providers/Microsoft.ContainerService/managedClusters/aks-orders-prod"
)

// env is a running server with the operator's client.
type env struct {
	srv   *servertest.Server
	http  *http.Client
	token string
}

func start(t testing.TB) *env {
	t.Helper()
	srv := servertest.Start(t)
	return &env{srv: srv, http: srv.HTTP, token: srv.Token(t, "https://management.azure.com")}
}

// call sends a request to the server as the operator.
func (e *env) call(method, path string, body []byte, out any) (int, error) {
	req, _ := http.NewRequest(method, e.srv.URL()+strings.TrimPrefix(path, "/"), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		return resp.StatusCode, fmt.Errorf("%d %s", resp.StatusCode, raw)
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(raw, out)
	}
	return resp.StatusCode, nil
}

// importPaths runs the client side of an import against the server.
func (e *env) importPaths(t testing.TB, opts LoadOptions, batch int, paths ...string) *Result {
	t.Helper()
	srcs, cleanup, err := Sources(paths, nil)
	defer cleanup()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Load(srcs, opts)
	if err != nil {
		t.Fatal(err)
	}
	total := &Result{}
	err = plan.Send(context.Background(), SendOptions{Size: batch}, func(_ context.Context, b Batch) error {
		var res Result
		if _, err := e.call("POST", "/mimic/v1/import", b.Body, &res); err != nil {
			return err
		}
		total.Add(&res)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

func TestImportEstate(t *testing.T) {
	e := start(t)
	res := e.importPaths(t, LoadOptions{}, 7, "testdata/estate")
	// 43 documents, and the function app's identity, which no export holds.
	if res.Imported != 43 || res.Counts[Identity] != 7 || res.Counts[RoleAssignment] != 13 || res.Counts[Cluster] != 1 || res.Directory != 3 || res.Orphaned != 1 {
		t.Errorf("result %+v", res)
	}
	if len(res.Subscriptions) != 2 {
		t.Errorf("new subscriptions %v", res.Subscriptions)
	}
	warned := map[string][]string{}
	for _, w := range res.Warnings {
		warned[w.Code] = append(warned[w.Code], w.String())
	}
	if ws := warned[CodeIdentityCreated]; len(ws) != 1 || !strings.Contains(ws[0], "functionapps-dev.json: [0].identity.userAssignedIdentities[") || !strings.Contains(ws[0], "id-billing-dev is in no export") {
		t.Errorf("the function app's missing identity: %v", ws)
	}
	// The billing identity's assignment is not orphaned: the function
	// app's identity block recreated the identity.
	if ws := warned[CodeOrphaned]; len(ws) != 1 || !strings.Contains(ws[0], "role-assignments-prod.json: [6].principalId: principal "+orphanPrincipal+": az found no such principal") {
		t.Errorf("orphans: %v", ws)
	}
	if ws := warned[CodeManagementGroup]; len(ws) != 1 {
		t.Errorf("management group: %v", ws)
	}

	var s store.Store = e.srv.Store
	ctx := context.Background()
	// Principals keep the exported ids; system-assigned ones get a derived
	// client id; users and groups the assignments name are in the directory.
	err := s.View(ctx, func(tx store.Tx) error {
		p, err := tx.GetPrincipal(ctx, sharedPrincipal)
		if err != nil || p.ClientID != "3dab6820-fa13-4b46-b91f-f7c2759d2543" || p.Kind != store.KindUserAssigned || !strings.HasSuffix(p.ResourceID, "/id-payments-shared") {
			return fmt.Errorf("shared identity principal %+v %v", p, err)
		}
		p, err = tx.GetPrincipal(ctx, vmProdSystem)
		if err != nil || p.Kind != store.KindSystemAssigned || p.ClientID != SystemClientID(vmProdSystem) || !strings.HasSuffix(p.ResourceID, "/vm-payments-prod") {
			return fmt.Errorf("system identity principal %+v %v", p, err)
		}
		if p, err := tx.GetPrincipal(ctx, alice); err != nil || p.Kind != store.KindUser || p.DisplayName != "alice@contoso.com" {
			return fmt.Errorf("alice %+v %v", p, err)
		}
		if _, err := tx.GetPrincipal(ctx, orphanPrincipal); err == nil {
			return fmt.Errorf("the orphan's principal was created")
		}
		if p, err := tx.GetPrincipal(ctx, billingPrincipal); err != nil || p.ClientID != "ac1bfba1-60cd-4947-9def-e2c8ef202a4d" {
			return fmt.Errorf("the recreated billing identity %+v %v", p, err)
		}
		// The cluster's issuer, with mimic's tenant, in the provider's state,
		// and the federated credential's issuer rewritten alike.
		r, err := tx.GetResource(ctx, aksOrdersProd)
		if err != nil {
			return err
		}
		cluster, _ := arm.DecodeDoc(r.Body)
		wantIssuer := "https://westeurope.oic.prod-aks.azure.com/" + e.srv.Tenant.ID + "/e1a35ed2-e51b-4ed2-935e-476cd7f6edca/"
		if got := containerservice.IssuerURL(cluster); got != wantIssuer || containerservice.IssuerID(cluster) != "e1a35ed2-e51b-4ed2-935e-476cd7f6edca" {
			return fmt.Errorf("issuer %q", got)
		}
		if containerservice.KubeletIdentity(cluster).Str("objectId") != "c6129f64-0568-42d9-9af6-0c64c1aec810" {
			return fmt.Errorf("kubelet %v", cluster.Obj("properties")["identityProfile"])
		}
		fic, err := tx.GetResource(ctx, "/subscriptions/"+prod+"/resourcegroups/rg-orders-prod/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-orders-prod/federatedIdentityCredentials/aks-orders-api")
		if err != nil || !strings.Contains(string(fic.Body), wantIssuer) {
			return fmt.Errorf("federated credential %v %v", fic, err)
		}
		// The vault from Resource Graph, merged with its `az resource list`
		// row, belongs to mimic's tenant; the storage account has keys.
		r, err = tx.GetResource(ctx, kvPaymentsProd)
		if err != nil {
			return err
		}
		vault, _ := arm.DecodeDoc(r.Body)
		if vault.Obj("properties").Str("tenantId") != e.srv.Tenant.ID || vault.Obj("properties")["enableRbacAuthorization"] != true || vault.Obj("tags").Str("team") != "payments" {
			return fmt.Errorf("vault %v", vault)
		}
		r, err = tx.GetResource(ctx, "/subscriptions/"+prod+"/resourceGroups/rg-orders-prod/providers/Microsoft.Storage/storageAccounts/stordersprod")
		if err != nil {
			return err
		}
		acct, _ := arm.DecodeDoc(r.Body)
		if len(storage.Keys(acct)) != 2 || acct.Str("kind") != "StorageV2" {
			return fmt.Errorf("storage account %v", acct)
		}
		// A site has its config resources.
		settings, err := web.ReadAppSettings(ctx, tx, "/subscriptions/"+prod+"/resourceGroups/rg-orders-prod/providers/Microsoft.Web/sites/app-orders-prod")
		if err != nil || len(settings) != 0 {
			return fmt.Errorf("app settings %v %v", settings, err)
		}
		// The subscription's display name comes from `az account list`.
		r, err = tx.GetResource(ctx, "/subscriptions/"+prod)
		if err != nil || !strings.Contains(string(r.Body), `"displayName":"contoso-prod"`) {
			return fmt.Errorf("subscription %s %v", r.Body, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// ARM serves the imported documents to the operator, who owns the
	// imported subscriptions.
	var vm map[string]any
	if _, err := e.call("GET", vmPaymentsDev+"?api-version=2024-11-01", nil, &vm); err != nil {
		t.Fatal(err)
	}
	if vm["identity"].(map[string]any)["type"] != "UserAssigned" {
		t.Errorf("VM %v", vm)
	}
	// The authorization engine holds the imported roles and the deny
	// assignment.
	var check struct {
		Allowed bool   `json:"allowed"`
		Role    string `json:"role"`
	}
	q := url.Values{"principal": {sharedPrincipal}, "action": {"Microsoft.KeyVault/vaults/secrets/getSecret/action"}, "scope": {kvPaymentsProd + "/secrets/db-password"}, "dataAction": {"true"}}
	if _, err := e.call("GET", "/mimic/v1/authz/check?"+q.Encode(), nil, &check); err != nil || !check.Allowed || check.Role != "Key Vault Secrets User" {
		t.Errorf("check %+v %v", check, err)
	}
	q = url.Values{"principal": {alice}, "action": {"Microsoft.Storage/storageAccounts/delete"},
		"scope": {"/subscriptions/" + prod + "/resourceGroups/rg-orders-prod/providers/Microsoft.Storage/storageAccounts/stordersprod"}}
	if _, err := e.call("GET", "/mimic/v1/authz/check?"+q.Encode(), nil, &check); err != nil || check.Allowed {
		t.Errorf("the deny assignment must stop the subscription Owner deleting the account: %+v %v", check, err)
	}

	// The analyzer sees the estate: the DEV VM reaches PROD's vault through
	// the shared identity and its imported role assignment.
	est, err := analyzer.Load(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	a := analyzer.New(est)
	radius, err := a.BlastRadiusOf(vmPaymentsDev)
	if err != nil {
		t.Fatal(err)
	}
	var vault *analyzer.Reach
	for i := range radius.Reach {
		if strings.EqualFold(radius.Reach[i].Resource, kvPaymentsProd) {
			vault = &radius.Reach[i]
		}
	}
	if vault == nil {
		t.Fatalf("vm-payments-dev does not reach kv-payments-prod: %+v", radius.Reach)
	}
	if !contains(vault.DataActions, "Microsoft.KeyVault/vaults/secrets/getSecret/action") || len(vault.Path) < 2 || vault.Path[0].Kind != "token" ||
		!strings.HasSuffix(strings.ToLower(vault.Path[0].To), "/id-payments-shared") {
		t.Errorf("reach %+v", vault)
	}
	if radius.Environment != "dev" || vault.Environment != "prod" {
		t.Errorf("environments: radius %q, vault %q", radius.Environment, vault.Environment)
	}
	orphans := map[string]bool{}
	for _, o := range est.Orphaned {
		orphans[o.PrincipalID] = true
	}
	if !orphans[orphanPrincipal] || orphans[alice] || orphans[vmProdSystem] || len(orphans) != 1 {
		t.Errorf("orphaned %v", orphans)
	}

	// Importing again changes nothing.
	var before, after int
	count := func(n *int) {
		s.View(ctx, func(tx store.Tx) error {
			rs, _ := tx.ListResources(ctx, store.ResourceFilter{})
			ps, _ := tx.ListPrincipals(ctx)
			*n = len(rs)*1000 + len(ps)
			return nil
		})
	}
	count(&before)
	again := e.importPaths(t, LoadOptions{}, 7, "testdata/estate")
	count(&after)
	if before != after || again.Principals != 0 || again.Directory != 0 || len(again.Subscriptions) != 0 {
		t.Errorf("re-import: %d → %d resources×1000+principals, %+v", before, after, again)
	}
}

func TestImportRefusals(t *testing.T) {
	e := start(t)
	// Unauthenticated.
	req, _ := http.NewRequest("POST", e.srv.URL()+"mimic/v1/import", strings.NewReader(`{"items": []}`))
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("unauthenticated: %d", resp.StatusCode)
	}
	// The server validates what it is sent, and names the element.
	bad := `{"items": [{"kind": "roleAssignment", "source": "ra.json", "index": 4, "doc": {"id": "/subscriptions/` + prod + `/providers/Microsoft.Authorization/roleAssignments/5b60e9b6-742a-450a-9db0-3d0978947b67", "properties": {"principalId": "` + alice + `"}}}]}`
	if code, err := e.call("POST", "/mimic/v1/import", []byte(bad), nil); code != 400 || !strings.Contains(err.Error(), "InvalidImport") || !strings.Contains(err.Error(), "ra.json: [4].properties.roleDefinitionId: missing") {
		t.Errorf("%d %v", code, err)
	}
	// An item without a document.
	if code, err := e.call("POST", "/mimic/v1/import", []byte(`{"items": [{"kind": "vm", "source": "vms.json", "index": 2}]}`), nil); code != 400 || !strings.Contains(err.Error(), "vms.json: [2].id: missing") {
		t.Errorf("%d %v", code, err)
	}
	// Server-only state cannot be smuggled in.
	smuggle := `{"items": [{"kind": "resource", "index": 0, "doc": {"id": "/subscriptions/` + e.srv.Tenant.SubscriptionID + `/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1", "location": "eastus", "kind": "StorageV2", "_mimic": {"keys": [{"keyName": "key1", "value": "chosen"}]}}}], "final": true}`
	if _, err := e.call("POST", "/mimic/v1/import", []byte(smuggle), nil); err != nil {
		t.Fatal(err)
	}
	e.srv.Store.View(context.Background(), func(tx store.Tx) error {
		r, err := tx.GetResource(context.Background(), "/subscriptions/"+e.srv.Tenant.SubscriptionID+"/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1")
		if err != nil || strings.Contains(string(r.Body), "chosen") {
			t.Errorf("private state taken from the request: %v", err)
		}
		return nil
	})
}

// A large import, through the client side and the HTTP API as `mimic
// import` sends it: 10,000 role assignments over 250 identities here;
// BenchmarkImport runs 100,000.
func TestLargeImport(t *testing.T) {
	if testing.Short() {
		t.Skip("large import")
	}
	e := start(t)
	rate := largeImport(t, e, 250, 10_000)
	t.Logf("%.0f documents/s", rate)
}

// BenchmarkImport imports 100,000 role assignments over 1,000 identities
// per iteration (go test -bench Import -benchtime 1x).
func BenchmarkImport(b *testing.B) {
	e := start(b)
	for i := 0; i < b.N; i++ {
		b.ReportMetric(largeImport(b, e, 1000, 100_000), "docs/s")
	}
}

func largeImport(t testing.TB, e *env, identities, assignments int) float64 {
	dir := t.TempDir()
	sub := e.srv.Tenant.SubscriptionID
	writeGenerated(t, filepath.Join(dir, "identities.json"), filepath.Join(dir, "assignments.json"), sub, identities, assignments)
	begin := time.Now()
	res := e.importPaths(t, LoadOptions{}, 0, dir)
	took := time.Since(begin)
	if res.Counts[RoleAssignment] != assignments || res.Counts[Identity] != identities || res.Orphaned != 0 {
		t.Fatalf("%+v", res.Counts)
	}
	rate := float64(res.Imported) / took.Seconds()
	t.Logf("imported %d documents (%d identities, %d role assignments) in %s: %.0f documents/s", res.Imported, identities, assignments, took.Round(time.Millisecond), rate)
	// The engine holds them once the import is final.
	var check struct{ Allowed bool }
	q := url.Values{"principal": {guid(1, 7)}, "action": {"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"},
		"scope": {fmt.Sprintf("/subscriptions/%s/resourceGroups/rg-%d/providers/Microsoft.Storage/storageAccounts/st%d/blobServices/default/containers/c", sub, 7%50, 7)}}
	if _, err := e.call("GET", "/mimic/v1/authz/check?"+q.Encode(), nil, &check); err != nil || !check.Allowed {
		t.Errorf("%+v %v", check, err)
	}
	return rate
}

func guid(kind, n int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, n) }

// writeGenerated writes `az identity list` and `az role assignment list
// --all` shaped files of a generated estate.
func writeGenerated(t testing.TB, idPath, raPath, sub string, identities, assignments int) {
	t.Helper()
	f, err := os.Create(idPath)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, "[\n")
	for i := 0; i < identities; i++ {
		if i > 0 {
			fmt.Fprint(f, ",\n")
		}
		rg := fmt.Sprintf("rg-%d", i%50)
		fmt.Fprintf(f, `  {"clientId": %q, "id": "/subscriptions/%s/resourcegroups/%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-%d", "location": "westeurope", "name": "id-%d", "principalId": %q, "resourceGroup": %q, "systemData": null, "tags": {"env": "prod"}, "tenantId": "83c6d1e1-3e69-4763-82a0-0b1762b30d3d", "type": "Microsoft.ManagedIdentity/userAssignedIdentities"}`,
			guid(2, i), sub, rg, i, i, guid(1, i), rg)
	}
	fmt.Fprint(f, "\n]\n")
	f.Close()
	f, err = os.Create(raPath)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, "[\n")
	for i := 0; i < assignments; i++ {
		if i > 0 {
			fmt.Fprint(f, ",\n")
		}
		id := i % identities
		scope := fmt.Sprintf("/subscriptions/%s/resourceGroups/rg-%d/providers/Microsoft.Storage/storageAccounts/st%d", sub, id%50, i%(identities*10))
		fmt.Fprintf(f, `  {"condition": null, "conditionVersion": null, "createdBy": null, "createdOn": "2024-02-06T10:12:31.448127+00:00", "delegatedManagedIdentityResourceId": null, "description": null, "id": "%s/providers/Microsoft.Authorization/roleAssignments/%s", "name": %q, "principalId": %q, "principalName": %q, "principalType": "ServicePrincipal", "resourceGroup": "rg-%d", "roleDefinitionId": "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "roleDefinitionName": "Storage Blob Data Reader", "scope": %q, "type": "Microsoft.Authorization/roleAssignments", "updatedBy": null, "updatedOn": "2024-02-06T10:12:31.448127+00:00"}`,
			scope, guid(3, i), guid(3, i), guid(1, id), guid(2, id), id%50, sub, scope)
	}
	fmt.Fprint(f, "\n]\n")
	f.Close()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
