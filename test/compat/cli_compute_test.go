package compat

import (
	"strings"
	"testing"
)

func TestCLIVM(t *testing.T) {
	rg := cliGroup(t)
	var id map[string]any
	cliJSON(t, &id, "identity", "create", "-g", rg, "-n", "vm-id")
	cliFails(t, 1, "ERROR: usage error: --image IMAGE | --attach-os-disk DISK", "vm", "create", "-g", rg, "-n", "vm1")

	var vm map[string]any
	cliJSON(t, &vm, "vm", "create", "-g", rg, "-n", "vm1", "--image", "Ubuntu2204", "--size", "Standard_B1s", "--admin-username", "azureuser",
		"--generate-ssh-keys", "--nsg", "", "--public-ip-address", "", "--assign-identity", "[system]", "vm-id", "--tags", "app=web")
	if vm["powerState"] != "VM running" || vm["resourceGroup"] != rg || vm["location"] != "westeurope" || vm["zones"] != "" {
		t.Fatalf("create: %v", vm)
	}
	ident, _ := vm["identity"].(map[string]any)
	uais, _ := ident["userAssignedIdentities"].(map[string]any)
	if s, _ := ident["systemAssignedIdentity"].(string); len(s) != 36 || len(uais) != 1 {
		t.Fatalf("identity: %v", ident)
	}

	var show map[string]any
	cliJSON(t, &show, "vm", "show", "-g", rg, "-n", "vm1", "-d")
	if show["powerState"] != "VM running" || show["vmId"] == nil || show["timeCreated"] == nil || show["resourceGroup"] != rg {
		t.Fatalf("show -d: %v", show)
	}
	if hp, _ := show["hardwareProfile"].(map[string]any); hp["vmSize"] != "Standard_B1s" {
		t.Fatalf("hardwareProfile: %v", show["hardwareProfile"])
	}
	if v, ok := show["userData"]; !ok || v != nil {
		t.Fatal("unset model attributes print as null")
	}
	lines := strings.Split(cliOK(t, "vm", "list", "-g", rg, "-o", "table"), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "Name ResourceGroup Location Zones" ||
		strings.Join(strings.Fields(lines[2]), " ") != "vm1 "+rg+" westeurope" {
		t.Fatalf("list table: %q", lines)
	}

	var vi map[string]any
	cliJSON(t, &vi, "vm", "identity", "remove", "-g", rg, "-n", "vm1", "--identities", "vm-id")
	if vi["type"] != "SystemAssigned" || vi["userAssignedIdentities"] != nil {
		t.Fatalf("remove: %v", vi)
	}
	cliFails(t, 1, "ERROR: '"+strings.ToLower(id["id"].(string))+"' are not associated with 'vm1'", "vm", "identity", "remove", "-g", rg, "-n", "vm1", "--identities", "vm-id")
	cliJSON(t, &vi, "vm", "identity", "assign", "-g", rg, "-n", "vm1", "--identities", id["id"].(string))
	if uais, _ := vi["userAssignedIdentities"].(map[string]any); len(uais) != 1 || vi["systemAssignedIdentity"] == "" {
		t.Fatalf("assign: %v", vi)
	}
	cliJSON(t, &vi, "vm", "identity", "show", "-g", rg, "-n", "vm1")
	if vi["type"] != "SystemAssigned, UserAssigned" {
		t.Fatalf("identity show: %v", vi)
	}
	cliOK(t, "vm", "identity", "remove", "-g", rg, "-n", "vm1", "--identities", "[system]", "vm-id")
	if got := cliOK(t, "vm", "identity", "show", "-g", rg, "-n", "vm1"); got != "" {
		t.Fatalf("no identity left prints nothing: %q", got)
	}
	cliOK(t, "vm", "identity", "assign", "-g", rg, "-n", "vm1", "-o", "none")

	// run-command answers with the IMDS token response of the VM.
	msg := cliTSV(t, "vm", "run-command", "invoke", "-g", rg, "-n", "vm1", "--command-id", "RunShellScript",
		"--scripts", "curl -s -H Metadata:true http://169.254.169.254/metadata/identity/oauth2/token", "--parameters", "resource=https://vault.azure.net",
		"--query", "value[0].message")
	if !strings.Contains(msg, "[stdout]") || !strings.Contains(msg, `"resource":"https://vault.azure.net"`) {
		t.Fatalf("run-command: %q", msg)
	}
	cliFails(t, 1, "ERROR: Unable to prompt for confirmation", "vm", "delete", "-g", rg, "-n", "vm1")
	cliOK(t, "vm", "delete", "-g", rg, "-n", "vm1", "--yes")
	cliFails(t, 3, "ERROR: (ResourceNotFound) The Resource 'Microsoft.Compute/virtualMachines/vm1'", "vm", "show", "-g", rg, "-n", "vm1")
}

func TestCLIWebAndFunctionApps(t *testing.T) {
	rg := cliGroup(t)
	var id map[string]any
	cliJSON(t, &id, "identity", "create", "-g", rg, "-n", "site-id")
	web := cliName("web-")
	var site map[string]any
	cliJSON(t, &site, "webapp", "create", "-g", rg, "-n", web, "-p", "plan1", "--runtime", "PYTHON:3.11", "--assign-identity", "site-id")
	if site["defaultHostName"] != web+".azurewebsites.net" || site["kind"] != "app,linux" || site["state"] != "Running" ||
		site["appServicePlanId"] != rgID(rg)+"/providers/Microsoft.Web/serverfarms/plan1" || site["resourceGroup"] != rg {
		t.Fatalf("webapp create: %v", site)
	}
	if _, ok := site["serverFarmId"]; ok {
		t.Fatal("az renames serverFarmId appServicePlanId")
	}
	table := cliOK(t, "webapp", "list", "-g", rg, "-o", "table")
	if !strings.HasPrefix(table, "Name") || !strings.Contains(table, "DefaultHostName") || !strings.HasSuffix(strings.TrimSpace(table), "plan1") {
		t.Fatalf("webapp table:\n%s", table)
	}
	var settings []map[string]any
	cliJSON(t, &settings, "webapp", "config", "appsettings", "set", "-g", rg, "-n", web, "--settings", "AZURE_CLIENT_ID="+id["clientId"].(string), "MODE=prod")
	if len(settings) != 2 || settings[0]["name"] != "AZURE_CLIENT_ID" || settings[0]["slotSetting"] != false || settings[1]["value"] != "prod" {
		t.Fatalf("appsettings set: %v", settings)
	}
	cliJSON(t, &settings, "webapp", "config", "appsettings", "delete", "-g", rg, "-n", web, "--setting-names", "MODE")
	if len(settings) != 1 {
		t.Fatalf("appsettings delete: %v", settings)
	}
	if got := cliTSV(t, "webapp", "config", "appsettings", "list", "-g", rg, "-n", web, "--query", "[].name"); got != "AZURE_CLIENT_ID" {
		t.Fatalf("appsettings list: %q", got)
	}
	var mi map[string]any
	cliJSON(t, &mi, "webapp", "identity", "assign", "-g", rg, "-n", web)
	if mi["type"] != "SystemAssigned, UserAssigned" || mi["principalId"] == nil {
		t.Fatalf("identity assign: %v", mi)
	}
	cliJSON(t, &mi, "webapp", "identity", "remove", "-g", rg, "-n", web)
	if mi["type"] != "UserAssigned" {
		t.Fatalf("identity remove: %v", mi)
	}

	// A function app needs its storage account's key.
	store := cliName("st")
	cliOK(t, "storage", "account", "create", "-g", rg, "-n", store, "--sku", "Standard_LRS", "-o", "none")
	fn := cliName("fn-")
	cliFails(t, 1, "ERROR: usage error: --plan NAME_OR_ID | --consumption-plan-location LOCATION", "functionapp", "create", "-g", rg, "-n", fn, "-s", store)
	cliJSON(t, &site, "functionapp", "create", "-g", rg, "-n", fn, "-s", store, "-c", "westeurope", "--functions-version", "4", "--runtime", "node",
		"--assign-identity", "[system]")
	if site["kind"] != "functionapp" || site["identity"] == nil {
		t.Fatalf("functionapp create: %v", site)
	}
	var fs []map[string]any
	cliJSON(t, &fs, "functionapp", "config", "appsettings", "list", "-g", rg, "-n", fn)
	got := map[string]any{}
	for _, s := range fs {
		got[s["name"].(string)] = s["value"]
	}
	if got["FUNCTIONS_EXTENSION_VERSION"] != "~4" || got["FUNCTIONS_WORKER_RUNTIME"] != "node" || !strings.Contains(got["AzureWebJobsStorage"].(string), "AccountName="+store+";AccountKey=") {
		t.Fatalf("function app settings: %v", got)
	}
	if got := cliTSV(t, "functionapp", "list", "-g", rg, "--query", "[].name"); got != fn {
		t.Fatalf("functionapp list: %q", got)
	}
	if got := cliTSV(t, "webapp", "list", "-g", rg, "--query", "[].name"); got != web {
		t.Fatalf("webapp list excludes function apps: %q", got)
	}
	cliFails(t, 3, "ERROR: Unable to find webapp '"+fn+"'", "webapp", "show", "-g", rg, "-n", fn)
	cliJSON(t, &mi, "functionapp", "identity", "show", "-g", rg, "-n", fn)
	if mi["type"] != "SystemAssigned" {
		t.Fatalf("functionapp identity: %v", mi)
	}
	cliOK(t, "functionapp", "delete", "-g", rg, "-n", fn)
	cliOK(t, "webapp", "delete", "-g", rg, "-n", web)
	cliFails(t, 3, "ERROR: (ResourceNotFound)", "webapp", "show", "-g", rg, "-n", web)
}
