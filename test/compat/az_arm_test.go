package compat

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// What ARM does for the real az beyond what the Go SDK needs: provider
// registrations, empty path segments, the resourceGroup filter, App
// Service plans, site name availability, publishing profiles, Functions
// stacks and slot config names.

func armJSON(t *testing.T, method, path, body string, want int) map[string]any {
	t.Helper()
	status, out := rawARM(t, method, path, body)
	if status != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, status, out, want)
	}
	var m map[string]any
	if strings.TrimSpace(out) != "" && strings.HasPrefix(strings.TrimSpace(out), "{") {
		must(t, json.Unmarshal([]byte(out), &m))
	}
	return m
}

func TestARMProviderRegistrations(t *testing.T) {
	p := armJSON(t, "GET", "/subscriptions/"+sub()+"/providers/microsoft.compute?api-version=2022-09-01", "", 200)
	if p["namespace"] != "Microsoft.Compute" || p["registrationState"] != "Registered" || p["id"] != "/subscriptions/"+sub()+"/providers/Microsoft.Compute" {
		t.Fatalf("provider: %v", p)
	}
	var vms map[string]any
	for _, rt := range p["resourceTypes"].([]any) {
		if m := rt.(map[string]any); m["resourceType"] == "virtualMachines" {
			vms = m
		}
	}
	if vms == nil {
		t.Fatalf("no virtualMachines in %v", p["resourceTypes"])
	}
	apis := vms["apiVersions"].([]any)
	for i := 1; i < len(apis); i++ {
		if apis[i-1].(string) < apis[i].(string) {
			t.Fatalf("api versions are not newest first: %v", apis)
		}
	}
	if locs := vms["locations"].([]any); len(locs) == 0 || !strings.Contains(strings.Join(toStrings(locs), ","), "West Europe") {
		t.Fatalf("locations: %v", locs)
	}
	status, body := rawARM(t, "GET", "/subscriptions/"+sub()+"/providers/Microsoft.Nope?api-version=2022-09-01", "")
	if status != 404 || !strings.Contains(body, "InvalidResourceNamespace") {
		t.Fatalf("unknown namespace: %d %s", status, body)
	}
	all := armJSON(t, "GET", "/subscriptions/"+sub()+"/providers?api-version=2022-09-01", "", 200)
	var names []string
	for _, v := range all["value"].([]any) {
		names = append(names, v.(map[string]any)["namespace"].(string))
	}
	if !strings.Contains(strings.Join(names, ","), "Microsoft.Web") {
		t.Fatalf("providers: %v", names)
	}
}

func toStrings(v []any) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i], _ = x.(string)
	}
	return out
}

func TestARMEmptySegmentsAndGroupFilter(t *testing.T) {
	rg := newGroup(t, "rg-seg", nil)
	// azure-mgmt-resource's generic operations put an empty parent path
	// between namespace and type.
	path := rgID(rg) + "/providers/Microsoft.ManagedIdentity//userAssignedIdentities/seg?api-version=2023-01-31"
	armJSON(t, "PUT", path, `{"location":"westeurope"}`, 201)
	got := armJSON(t, "GET", path, "", 200)
	if got["id"] != rgID(rg)+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/seg" {
		t.Fatalf("GET with an empty segment: %v", got)
	}
	principal := got["properties"].(map[string]any)["principalId"].(string)
	assign(t, rgID(rg), "acdd72a7-3385-48ef-bd42-f606fba81ae7", principal)
	other := newGroup(t, "rg-seg-other", nil)
	armJSON(t, "PUT", rgID(other)+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/elsewhere?api-version=2023-01-31", `{"location":"westeurope"}`, 201)

	filter := url.QueryEscape("resourceGroup eq '" + strings.ToUpper(rg) + "'")
	list := armJSON(t, "GET", "/subscriptions/"+sub()+"/resources?$filter="+filter+"&api-version=2021-04-01", "", 200)
	items := list["value"].([]any)
	// Only the group's own resources: not the other group's, not the role
	// assignment at the group's scope.
	if len(items) != 1 || items[0].(map[string]any)["name"] != "seg" {
		t.Fatalf("resourceGroup filter: %v", items)
	}
	group := armJSON(t, "GET", rgID(rg)+"/resources?api-version=2021-04-01", "", 200)
	if n := len(group["value"].([]any)); n != 1 {
		t.Fatalf("the group's listing holds its role assignment: %v", group["value"])
	}
}

func TestARMWebPlansStacksAndPublishing(t *testing.T) {
	rg := newGroup(t, "rg-plan", nil)
	api := "?api-version=2022-03-01"
	plan := armJSON(t, "PUT", rgID(rg)+"/providers/Microsoft.Web/serverfarms/linux1"+api,
		`{"location":"westeurope","sku":{"name":"p1v3","capacity":2},"properties":{"reserved":true}}`, 200)
	props := plan["properties"].(map[string]any)
	sku := plan["sku"].(map[string]any)
	if plan["kind"] != "linux" || props["reserved"] != true || props["status"] != "Ready" || sku["tier"] != "PremiumV3" ||
		sku["name"] != "P1v3" || sku["family"] != "Pv3" || sku["capacity"] != float64(2) || props["numberOfWorkers"] != float64(2) {
		t.Fatalf("plan: %v", plan)
	}
	windows := armJSON(t, "PUT", rgID(rg)+"/providers/Microsoft.Web/serverfarms/win1"+api, `{"location":"westeurope","sku":{"name":"B1"}}`, 200)
	if windows["kind"] != "app" || windows["properties"].(map[string]any)["reserved"] != false || windows["sku"].(map[string]any)["tier"] != "Basic" {
		t.Fatalf("windows plan: %v", windows)
	}
	status, body := rawARM(t, "PUT", rgID(rg)+"/providers/Microsoft.Web/serverfarms/bad1"+api, `{"location":"westeurope","sku":{"name":"Z9"}}`)
	if status != 400 {
		t.Fatalf("unknown SKU: %d %s", status, body)
	}

	// A site without a kind on a Linux plan is a Linux site.
	farm := plan["id"].(string)
	name := uniq(t, "plansite")
	site := armJSON(t, "PUT", rgID(rg)+"/providers/Microsoft.Web/sites/"+name+api,
		`{"location":"westeurope","properties":{"serverFarmId":"`+farm+`","siteConfig":{"linuxFxVersion":"DOCKER|nginx"}}}`, 200)
	if site["kind"] != "app,linux,container" || site["properties"].(map[string]any)["reserved"] != true {
		t.Fatalf("site on a Linux plan: %v", site)
	}
	onWindows := armJSON(t, "PUT", rgID(rg)+"/providers/Microsoft.Web/sites/"+name+"-w"+api,
		`{"location":"westeurope","properties":{"serverFarmId":"`+windows["id"].(string)+`"}}`, 200)
	if onWindows["kind"] != "app" {
		t.Fatalf("site on a Windows plan: %v", onWindows)
	}

	check := "/subscriptions/" + sub() + "/providers/Microsoft.Web/checknameavailability" + api
	if got := armJSON(t, "POST", check, `{"name":"`+name+`","type":"Site"}`, 200); got["nameAvailable"] != false || got["reason"] != "AlreadyExists" {
		t.Fatalf("taken name: %v", got)
	}
	if got := armJSON(t, "POST", check, `{"name":"`+name+`-free","type":"Microsoft.Web/sites"}`, 200); got["nameAvailable"] != true {
		t.Fatalf("free name: %v", got)
	}
	if got := armJSON(t, "POST", check, `{"name":"-bad-","type":"Site"}`, 200); got["nameAvailable"] != false || got["reason"] != "Invalid" {
		t.Fatalf("invalid name: %v", got)
	}

	status, xml := rawARM(t, "POST", rgID(rg)+"/providers/Microsoft.Web/sites/"+name+"/publishxml"+api, `{"format":"WebDeploy"}`)
	if status != 200 || !strings.HasPrefix(xml, "<publishData>") || !strings.Contains(xml, `publishMethod="FTP" publishUrl="ftps://waws-prod-mimic.ftp.azurewebsites.windows.net/site/wwwroot"`) ||
		!strings.Contains(xml, `msdeploySite="`+name+`"`) {
		t.Fatalf("publishxml: %d %s", status, xml)
	}

	slot := rgID(rg) + "/providers/Microsoft.Web/sites/" + name + "/config/slotConfigNames" + api
	if got := armJSON(t, "GET", slot, "", 200); got["name"] != "slotconfignames" || len(got["properties"].(map[string]any)) != 0 {
		t.Fatalf("slot config names: %v", got)
	}
	armJSON(t, "PUT", slot, `{"properties":{"appSettingNames":["AZURE_CLIENT_ID"]}}`, 200)
	if got := armJSON(t, "GET", slot, "", 200); got["properties"].(map[string]any)["appSettingNames"].([]any)[0] != "AZURE_CLIENT_ID" {
		t.Fatalf("slot config names after PUT: %v", got)
	}

	stacks := armJSON(t, "GET", "/providers/Microsoft.Web/functionAppStacks?api-version=2022-03-01&stackOsType=Linux", "", 200)
	found := false
	for _, s := range stacks["value"].([]any) {
		st := s.(map[string]any)
		if st["name"] != "python" {
			continue
		}
		for _, mj := range st["properties"].(map[string]any)["majorVersions"].([]any) {
			for _, mn := range mj.(map[string]any)["minorVersions"].([]any) {
				m := mn.(map[string]any)
				linux, _ := m["stackSettings"].(map[string]any)["linuxRuntimeSettings"].(map[string]any)
				if m["value"] == "3.11" && linux["runtimeVersion"] == "Python|3.11" && linux["appSettingsDictionary"].(map[string]any)["FUNCTIONS_WORKER_RUNTIME"] == "python" {
					found = true
				}
				if m["stackSettings"].(map[string]any)["windowsRuntimeSettings"] != nil {
					t.Fatalf("stackOsType=Linux lists Windows settings: %v", m)
				}
			}
		}
	}
	if !found {
		t.Fatalf("no Python 3.11 for Linux in %v", stacks)
	}
}
