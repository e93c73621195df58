package importer

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mimic-emu/mimic/internal/arm"
)

// The fixtures in testdata/estate are a made-up two-subscription estate
// ("contoso-prod", "contoso-dev"), written in the shapes az prints.
const (
	fxTenant = "83c6d1e1-3e69-4763-82a0-0b1762b30d3d"
	fxProd   = "b2c399ee-24f5-4be0-93ca-0a28efb988ca"
	fxDev    = "acb010af-cfdb-4715-b5d8-7d6f5ffbb8ec"
)

// elements reads a fixture's elements.
func elements(t *testing.T, name string) []any {
	t.Helper()
	var out []any
	if _, err := scan(Source{Name: name, Path: filepath.Join("testdata", "estate", name)}, func(_ int, v any) error {
		out = append(out, v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// normalizeAll normalizes every element of a fixture, as the client does.
func normalizeAll(t *testing.T, name string) ([]*Item, []Note) {
	t.Helper()
	var items []*Item
	var notes []Note
	els := elements(t, name)
	hint := Classify(els[0].(map[string]any))
	for i, v := range els {
		kind := hint
		if own := Classify(v.(map[string]any)); own != "" {
			kind = own
		}
		it, n, err := Normalize(kind, v)
		if err != nil {
			t.Fatalf("%s [%d]: %v", name, i, err)
		}
		notes = append(notes, n...)
		if it != nil {
			items = append(items, it)
		}
	}
	return items, notes
}

func TestLoadEstate(t *testing.T) {
	srcs, _, err := Sources([]string{"testdata/estate"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(srcs, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	formats := map[string]string{}
	for _, f := range p.Files {
		formats[filepath.Base(f.Source.Name)] = f.Format
	}
	want := map[string]string{
		"aks-prod.json": "aks", "deny-assignments-prod.json": "deny-assignments", "federated-credentials-id-github-deployer.json": "federated-credentials",
		"functionapps-dev.json": "sites", "graph-data-stores.json": "graph", "groups-prod.json": "groups", "identities-prod.json": "identities",
		"resources-prod.json": "resources", "role-assignments-prod.json": "role-assignments", "role-definitions.json": "role-definitions",
		"subscriptions.json": "subscriptions", "vms-prod.json": "vms", "webapps-prod.json": "sites",
	}
	for file, format := range want {
		if formats[file] != format {
			t.Errorf("%s detected as %q, want %q", file, formats[file], format)
		}
	}
	wantCounts := map[Kind]int{Subscription: 2, Group: 3, RoleDefinition: 1, Identity: 6, Resource: 8, VM: 3, Site: 2, Cluster: 1,
		FederatedCredential: 3, RoleAssignment: 13, DenyAssignment: 1}
	if !reflect.DeepEqual(p.Counts, wantCounts) {
		t.Errorf("counts %v, want %v", p.Counts, wantCounts)
	}
	if p.Skipped[CodeBuiltinRole] != 1 {
		t.Errorf("skipped %v: the built-in Key Vault Secrets User row is skipped", p.Skipped)
	}
	if !reflect.DeepEqual(p.Subscriptions, []string{fxDev, fxProd}) {
		t.Errorf("subscriptions %v", p.Subscriptions)
	}
	if len(p.Warnings) != 1 || p.Warnings[0].Code != CodeManagementGroup || !strings.Contains(p.Warnings[0].String(), "role-assignments-prod.json: [10].scope: ") {
		t.Errorf("warnings %v", p.Warnings)
	}
}

func TestIdentities(t *testing.T) {
	items, _ := normalizeAll(t, "identities-prod.json")
	d := items[1].Doc
	if items[1].Kind != Identity || d.Str("name") != "id-payments-shared" || d.Str("type") != "Microsoft.ManagedIdentity/userAssignedIdentities" {
		t.Fatalf("%+v", items[1])
	}
	p := d.Obj("properties")
	if p.Str("principalId") != "cbbd9994-dd42-4cd7-a278-5762239d0b35" || p.Str("clientId") != "3dab6820-fa13-4b46-b91f-f7c2759d2543" || p.Str("tenantId") != fxTenant {
		t.Errorf("az's flattened ids must move into properties: %v", p)
	}
	for _, k := range []string{"resourceGroup", "systemData", "principalId", "clientId", "tenantId"} {
		if _, ok := d[k]; ok {
			t.Errorf("top-level %q kept", k)
		}
	}
	// The id keeps its casing ("resourcegroups", as the MSI provider prints it).
	if !strings.Contains(d.Str("id"), "/resourcegroups/rg-payments-prod/") || d.Obj("tags").Str("team") != "payments" || d.Str("location") != "westeurope" {
		t.Errorf("%v", d)
	}
}

func TestFederatedCredentials(t *testing.T) {
	items, _ := normalizeAll(t, "federated-credentials-id-orders-prod.json")
	d := items[0].Doc
	p := d.Obj("properties")
	aud, _ := p.StrSlice("audiences")
	if d.Str("name") != "aks-orders-api" || p.Str("subject") != "system:serviceaccount:orders:orders-api" ||
		!strings.HasPrefix(p.Str("issuer"), "https://westeurope.oic.prod-aks.azure.com/"+fxTenant+"/") || len(aud) != 1 || len(d) != 4 {
		t.Errorf("%v", d)
	}
}

func TestRoleAssignments(t *testing.T) {
	items, notes := normalizeAll(t, "role-assignments-prod.json")
	if len(items) != 11 || len(notes) != 1 || notes[0].Code != CodeManagementGroup {
		t.Fatalf("%d items, notes %v", len(items), notes)
	}
	first := items[0]
	p := first.Doc.Obj("properties")
	if first.Doc.Str("name") != "5b60e9b6-742a-450a-9db0-3d0978947b67" || p.Str("principalType") != "ServicePrincipal" ||
		!strings.HasSuffix(p.Str("roleDefinitionId"), "/4633458b-17de-408a-b874-0445c86b69e6") || !strings.HasSuffix(p.Str("scope"), "/vaults/kv-payments-prod") {
		t.Errorf("%v", first.Doc)
	}
	for _, k := range []string{"principalName", "roleDefinitionName", "resourceGroup"} {
		if _, ok := p[k]; ok {
			t.Errorf("az's %s is not part of the document", k)
		}
	}
	if first.PrincipalName == nil || *first.PrincipalName != "3dab6820-fa13-4b46-b91f-f7c2759d2543" {
		t.Errorf("principalName %v", first.PrincipalName)
	}
	orphan := items[6]
	if orphan.PrincipalName == nil || *orphan.PrincipalName != "" {
		t.Errorf("an empty principalName is kept: it marks the orphan")
	}
	cond := items[2].Doc.Obj("properties")
	if !strings.Contains(cond.Str("condition"), "StringEquals 'orders'") || cond.Str("conditionVersion") != "2.0" {
		t.Errorf("condition %v", cond)
	}

	// ARM's (and older az's) nested shape, Resource Graph's lower-case type,
	// and a scope taken from the id.
	nested := map[string]any{
		"id":   "/subscriptions/" + fxProd + "/providers/Microsoft.Authorization/roleAssignments/0f3a5c7e-9b1d-4f2a-8c6e-1a3b5d7f9e0c",
		"type": "microsoft.authorization/roleassignments",
		"properties": map[string]any{"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
			"principalId": "01cde4a0-635d-4360-9af8-1d711f47a51f", "principalType": "user", "principalName": "alice@contoso.com"},
	}
	it, _, err := Normalize("", nested)
	if err != nil {
		t.Fatal(err)
	}
	np := it.Doc.Obj("properties")
	if it.Kind != RoleAssignment || np.Str("scope") != "/subscriptions/"+fxProd || np.Str("principalType") != "User" || *it.PrincipalName != "alice@contoso.com" ||
		it.Doc.Str("type") != "Microsoft.Authorization/roleAssignments" {
		t.Errorf("%+v %v", it, np)
	}

	// A condition mimic cannot evaluate skips the assignment, never breaks
	// the engine.
	bad := map[string]any{"principalId": "01cde4a0-635d-4360-9af8-1d711f47a51f", "roleDefinitionId": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
		"scope": "/subscriptions/" + fxProd, "name": "0f3a5c7e-9b1d-4f2a-8c6e-1a3b5d7f9e0c", "condition": "@Request[nonsense", "conditionVersion": "2.0"}
	it, n, err := Normalize("", bad)
	if err != nil || it != nil || len(n) != 1 || !n[0].Skip || n[0].Code != CodeUnsupportedCondition || n[0].Field != "condition" {
		t.Errorf("%v %v %v", it, n, err)
	}
}

func TestRoleDefinitions(t *testing.T) {
	items, notes := normalizeAll(t, "role-definitions.json")
	if len(items) != 1 || len(notes) != 1 || notes[0].Code != CodeBuiltinRole || !notes[0].Skip {
		t.Fatalf("%v %v", items, notes)
	}
	d := items[0].Doc
	p := d.Obj("properties")
	perms := p["permissions"].([]any)
	block := perms[0].(arm.Doc)
	if d.Str("name") != "b5b51151-2045-493a-bb25-9ed6c19f25ad" || p.Str("roleName") != "Contoso Payments Secret Reader" || p.Str("type") != "CustomRole" ||
		len(block["dataActions"].([]string)) != 2 || len(block["notActions"].([]string)) != 0 {
		t.Errorf("%v", d)
	}
	if _, ok := d["roleType"]; ok {
		t.Errorf("az's roleType becomes properties.type")
	}
}

func TestCompute(t *testing.T) {
	vms, _ := normalizeAll(t, "vms-prod.json")
	vm := vms[0].Doc
	p := vm.Obj("properties")
	if p.Obj("hardwareProfile").Str("vmSize") != "Standard_D2s_v5" || p.Str("vmId") != "f9eb15be-db47-4ec5-a38c-33c6e84e3def" || p.Str("provisioningState") != "Succeeded" {
		t.Errorf("az's flattened VM properties: %v", p)
	}
	if _, ok := p.Obj("osProfile")["adminPassword"]; ok {
		t.Errorf("nulls are dropped")
	}
	if _, ok := vm["hardwareProfile"]; ok {
		t.Errorf("hardwareProfile left at the top level")
	}
	system, users := arm.IdentityIDs(vm)
	if !system || len(users) != 1 || vm.Obj("identity").Str("principalId") != "20285d6d-e706-420a-8765-b2348a248543" {
		t.Errorf("identity %v", vm["identity"])
	}

	clusters, _ := normalizeAll(t, "aks-prod.json")
	c := clusters[0].Doc
	cp := c.Obj("properties")
	if !strings.HasSuffix(cp.Obj("oidcIssuerProfile").Str("issuerURL"), "/e1a35ed2-e51b-4ed2-935e-476cd7f6edca/") || cp["enableRBAC"] != true ||
		cp.Str("azurePortalFQDN") == "" || cp.Obj("aadProfile")["enableAzureRBAC"] != true || c.Str("type") != "Microsoft.ContainerService/managedClusters" {
		t.Errorf("az's spellings must become ARM's: %v", cp)
	}
	if cp.Obj("identityProfile").Obj("kubeletidentity").Str("objectId") != "c6129f64-0568-42d9-9af6-0c64c1aec810" {
		t.Errorf("kubelet %v", cp["identityProfile"])
	}

	sites, _ := normalizeAll(t, "functionapps-dev.json")
	s := sites[0].Doc
	if s.Str("kind") != "functionapp,linux" || s.Obj("properties").Str("serverFarmId") == "" || s.Str("location") != "West Europe" {
		t.Errorf("%v", s)
	}
}

func TestGraphResult(t *testing.T) {
	var rows []any
	c, err := scan(Source{Name: "graph", Path: "testdata/estate/graph-data-stores.json"}, func(_ int, v any) error { rows = append(rows, v); return nil })
	if err != nil || c.Shape != "graph" || len(rows) != 4 || len(c.Notes) != 0 {
		t.Fatalf("%v %+v %d", err, c, len(rows))
	}
	it, _, err := Normalize("", rows[0])
	if err != nil {
		t.Fatal(err)
	}
	d := it.Doc
	if it.Kind != Resource || d.Str("type") != "Microsoft.KeyVault/vaults" || d.Obj("properties")["enableRbacAuthorization"] != true {
		t.Errorf("%v", d)
	}
	for _, k := range []string{"tenantId", "subscriptionId", "resourceGroup", "kind", "managedBy", "zones"} {
		if _, ok := d[k]; ok {
			t.Errorf("Resource Graph's %s kept", k)
		}
	}

	// The REST shape in table form, and a page that is not the last.
	table := `{"totalRecords": 2, "count": 1, "resultTruncated": "false", "$skipToken": "ew0KICAiJGlkIjogIjEiLA0K",
	  "data": {"columns": [{"name": "id", "type": "string"}, {"name": "type", "type": "string"}, {"name": "location", "type": "string"}, {"name": "tags", "type": "object"}],
	           "rows": [["/subscriptions/` + fxProd + `/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet1", "microsoft.network/virtualnetworks", "westeurope", {"env": "prod"}]]}}`
	rows = nil
	c, err = scan(BytesSource("t.json", []byte(table)), func(_ int, v any) error { rows = append(rows, v); return nil })
	if err != nil || c.Shape != "graph" || len(rows) != 1 || len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "$skipToken") {
		t.Fatalf("%v %+v %v", err, c, rows)
	}
	it, _, err = Normalize("", rows[0])
	if err != nil || it.Doc.Str("type") != "Microsoft.Network/virtualNetworks" || it.Doc.Str("name") != "vnet1" {
		t.Errorf("%v %v", it, err)
	}
}

func TestSubscriptionsAndGroups(t *testing.T) {
	items, _ := normalizeAll(t, "subscriptions.json")
	d := items[0].Doc
	if d.Str("id") != "/subscriptions/"+fxProd || d.Str("subscriptionId") != fxProd || d.Str("displayName") != "contoso-prod" || d.Str("state") != "Enabled" {
		t.Errorf("%v", d)
	}
	groups, _ := normalizeAll(t, "groups-prod.json")
	if groups[2].Doc.Str("managedBy") == "" || groups[0].Doc.Obj("tags").Str("costcenter") != "4711" {
		t.Errorf("%v", groups)
	}
}

// Normalizing a normalized document changes nothing: the server validates
// what the client sends with the same code.
func TestNormalizeIdempotent(t *testing.T) {
	entries, _ := os.ReadDir("testdata/estate")
	for _, e := range entries {
		items, _ := normalizeAll(t, e.Name())
		for _, it := range items {
			b, _ := json.Marshal(it)
			var again Item
			dec := json.NewDecoder(strings.NewReader(string(b)))
			dec.UseNumber()
			if err := dec.Decode(&again); err != nil {
				t.Fatal(err)
			}
			it2, _, err := Normalize(again.Kind, map[string]any(again.Doc))
			if err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			b1, _ := json.Marshal(it.Doc)
			b2, _ := json.Marshal(it2.Doc)
			if string(b1) != string(b2) {
				t.Errorf("%s: not idempotent:\n%s\n%s", e.Name(), b1, b2)
			}
		}
	}
}

func TestMoveSubscriptions(t *testing.T) {
	srcs, _, _ := Sources([]string{"testdata/estate/vms-prod.json", "testdata/estate/role-assignments-prod.json", "testdata/estate/subscriptions.json"}, nil)
	const target = "11111111-2222-4333-8444-555555555555"
	if _, err := Load(srcs, LoadOptions{Subscriptions: map[string]string{"*": target}}); err == nil || !strings.Contains(err.Error(), "spans 2 subscriptions") {
		t.Fatalf("an export of two subscriptions needs FROM=TO: %v", err)
	}
	p, err := Load(srcs, LoadOptions{Subscriptions: map[string]string{fxProd: target}})
	if err != nil {
		t.Fatal(err)
	}
	var all []Item
	err = p.Send(context.Background(), SendOptions{}, func(_ context.Context, b Batch) error {
		var r Request
		if err := json.Unmarshal(b.Body, &r); err != nil {
			return err
		}
		all = append(all, r.Items...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(all)
	if strings.Contains(strings.ToLower(string(b)), fxProd) {
		t.Errorf("the production subscription id survived the move")
	}
	if !strings.Contains(string(b), fxDev) || !strings.Contains(string(b), "/subscriptions/"+target+"/resourcegroups/rg-payments-prod/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-payments-shared") {
		t.Errorf("moved ids (including identity map keys) %s", b)
	}
	for _, it := range all {
		if it.Kind == Subscription && it.Doc.Str("displayName") == "contoso-prod" && it.Doc.Str("subscriptionId") != target {
			t.Errorf("subscription %v", it.Doc)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -12000: "-12,000"} {
		if got := Thousands(n); got != want {
			t.Errorf("%d: %s", n, got)
		}
	}
}
