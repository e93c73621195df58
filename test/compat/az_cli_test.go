package compat

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The operator route: eval "$(mimic env)", az login --service-principal,
// then every command of mimic's own az-like set that az 2.45 has, against
// the shared server. Where mimic's own command prints the same resource,
// the two outputs are compared (same keys at every level).

// sameShape fails unless a and b have the same keys at every level of
// objects (lists are compared element by element), apart from keys named
// in skip. Debian's SDKs are sometimes newer or older than the ones mimic's
// commands follow, which is what skip lists.
func sameShape(t *testing.T, what string, a, b any, skip ...string) {
	t.Helper()
	ignore := map[string]bool{}
	for _, k := range skip {
		ignore[k] = true
	}
	var walk func(path string, a, b any)
	walk = func(path string, a, b any) {
		switch x := a.(type) {
		case map[string]any:
			y, ok := b.(map[string]any)
			if !ok {
				t.Errorf("%s: %s is an object in az's output, %T in mimic's", what, path, b)
				return
			}
			keys := map[string]bool{}
			for k := range x {
				keys[k] = true
			}
			for k := range y {
				keys[k] = true
			}
			var sorted []string
			for k := range keys {
				sorted = append(sorted, k)
			}
			sort.Strings(sorted)
			for _, k := range sorted {
				if ignore[k] {
					continue
				}
				av, aok := x[k]
				bv, bok := y[k]
				switch {
				case !aok:
					t.Errorf("%s: %s.%s is only in mimic's output", what, path, k)
				case !bok:
					t.Errorf("%s: %s.%s is only in az's output", what, path, k)
				default:
					walk(path+"."+k, av, bv)
				}
			}
		case []any:
			y, ok := b.([]any)
			if !ok || len(x) != len(y) {
				t.Errorf("%s: %s: %d elements in az's output, %v in mimic's", what, path, len(x), b)
				return
			}
			for i := range x {
				walk(path+"[]", x[i], y[i])
			}
		}
	}
	walk("", a, b)
}

func TestAzIdentitiesAndRoles(t *testing.T) {
	t.Parallel()
	az := newAzShell(t, env)
	p := env.Profile

	var acct map[string]any
	az.json(&acct, "account", "show")
	if acct["id"] != p.SubscriptionID || acct["tenantId"] != p.TenantID || acct["isDefault"] != true {
		t.Fatalf("account show: %v", acct)
	}
	if u, _ := acct["user"].(map[string]any); u["name"] != p.Operator.ClientID || u["type"] != "servicePrincipal" {
		t.Fatalf("account show user: %v", acct["user"])
	}

	rg := cliName("rg-azid-")
	var g, mg map[string]any
	az.json(&g, "group", "create", "-n", rg, "-l", "westeurope", "--tags", "team=platform")
	t.Cleanup(func() { cli(t, "group", "delete", "-n", rg, "--yes", "--no-wait") })
	cliJSON(t, &mg, "group", "show", "-n", rg)
	sameShape(t, "group create/show", g, mg)
	if got := az.tsv("group", "list", "--query", "[?name=='"+rg+"'].tags.team"); got != "platform" {
		t.Fatalf("group list: %q", got)
	}

	// Identities and federated credentials.
	var id, mid map[string]any
	az.json(&id, "identity", "create", "-g", rg, "-n", "app-id")
	cliJSON(t, &mid, "identity", "show", "-g", rg, "-n", "app-id")
	// Debian's azure-mgmt-msi 6.1.0 has no systemData (az 2.45 from
	// Microsoft ships 7.0.0, whose output mimic's command follows).
	sameShape(t, "identity create/show", id, mid, "systemData")
	if id["clientId"] != mid["clientId"] || id["principalId"] != mid["principalId"] || id["tenantId"] != p.TenantID {
		t.Fatalf("identity: az %v, mimic %v", id, mid)
	}
	client, principal := id["clientId"].(string), id["principalId"].(string)
	if got := az.tsv("identity", "list", "-g", rg, "--query", "[].name"); got != "app-id" {
		t.Fatalf("identity list: %q", got)
	}
	var fic, mfic map[string]any
	az.json(&fic, "identity", "federated-credential", "create", "--name", "github-main", "--identity-name", "app-id", "-g", rg,
		"--issuer", "https://token.actions.githubusercontent.com", "--subject", "repo:org/repo:ref:refs/heads/main", "--audiences", "api://AzureADTokenExchange")
	cliJSON(t, &mfic, "identity", "federated-credential", "show", "--name", "github-main", "--identity-name", "app-id", "-g", rg)
	sameShape(t, "federated-credential create/show", fic, mfic, "systemData")
	if got := az.tsv("identity", "federated-credential", "list", "--identity-name", "app-id", "-g", rg, "--query", "[].subject"); got != "repo:org/repo:ref:refs/heads/main" {
		t.Fatalf("federated-credential list: %q", got)
	}
	az.ok("identity", "federated-credential", "delete", "--name", "github-main", "--identity-name", "app-id", "-g", rg, "--yes")
	if got := az.ok("identity", "federated-credential", "list", "--identity-name", "app-id", "-g", rg); strings.TrimSpace(got) != "[]" {
		t.Fatalf("after delete: %q", got)
	}

	// Role definitions.
	var defs, mdefs []any
	az.json(&defs, "role", "definition", "list", "--name", "Key Vault Secrets User")
	cliJSON(t, &mdefs, "role", "definition", "list", "--name", "Key Vault Secrets User")
	sameShape(t, "role definition list", defs, mdefs)
	if len(defs) != 1 || defs[0].(map[string]any)["name"] != "4633458b-17de-408a-b874-0445c86b69e6" {
		t.Fatalf("role definition list: %v", defs)
	}

	// Role assignments: by object id (no Graph call), by client id (a
	// Graph look-up at graph.microsoft.com, through the proxy).
	scope := rgID(rg)
	var ra map[string]any
	az.json(&ra, "role", "assignment", "create", "--assignee-object-id", principal, "--assignee-principal-type", "ServicePrincipal",
		"--role", "Reader", "--scope", scope)
	if ra["principalId"] != principal || ra["scope"] != scope || !strings.HasSuffix(ra["roleDefinitionId"].(string), "/acdd72a7-3385-48ef-bd42-f606fba81ae7") {
		t.Fatalf("role assignment create: %v", ra)
	}
	az.ok("role", "assignment", "create", "--assignee", client, "--role", "Storage Blob Data Reader", "--scope", scope, "-o", "none")
	var list, mlist []any
	az.json(&list, "role", "assignment", "list", "--scope", scope)
	cliJSON(t, &mlist, "role", "assignment", "list", "--scope", scope)
	sameShape(t, "role assignment list --scope", list, mlist)
	if len(list) != 2 {
		t.Fatalf("role assignment list --scope: %v", list)
	}
	for _, e := range list {
		if m := e.(map[string]any); m["principalName"] != client {
			t.Fatalf("principalName (Graph's servicePrincipalNames): %v", m)
		}
	}
	if got := az.tsv("role", "assignment", "list", "--assignee", client, "--all", "--query", "sort_by(@, &roleDefinitionName)[].roleDefinitionName"); got != "Reader\nStorage Blob Data Reader" {
		t.Fatalf("role assignment list --assignee --all: %q", got)
	}

	// Deleting the identity orphans its assignments: az shows them with
	// no principal name, and deletes them by id.
	az.ok("identity", "delete", "-g", rg, "-n", "app-id")
	az.fails(3, "ERROR: (ResourceNotFound) The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/app-id'", "identity", "show", "-g", rg, "-n", "app-id")
	var orphans []map[string]any
	az.json(&orphans, "role", "assignment", "list", "--all", "--query", "[?principalId=='"+principal+"']")
	if len(orphans) != 2 {
		t.Fatalf("orphans: %v", orphans)
	}
	var ids []string
	for _, o := range orphans {
		if o["principalName"] != "" {
			t.Fatalf("an orphan has a principal name: %v", o)
		}
		ids = append(ids, o["id"].(string))
	}
	if got := cliTSV(t, "role", "assignment", "list", "--all", "--query", "[?principalId=='"+principal+"'].principalType | [0]"); got != "Unknown" {
		t.Fatalf("mimic marks orphans: %q", got)
	}
	az.ok(append([]string{"role", "assignment", "delete", "--ids"}, ids...)...)
	if got := az.tsv("role", "assignment", "list", "--all", "--query", "length([?principalId=='"+principal+"'])"); got != "0" {
		t.Fatalf("after delete --ids: %q", got)
	}
	az.ok("role", "assignment", "create", "--assignee-object-id", p.Operator.ObjectID, "--assignee-principal-type", "ServicePrincipal",
		"--role", "Reader", "--scope", scope, "-o", "none")
	az.ok("role", "assignment", "delete", "--assignee", p.Operator.ClientID, "--role", "Reader", "--scope", scope)
}

func TestAzComputeAndSites(t *testing.T) {
	t.Parallel()
	az := newAzShell(t, env)
	rg := cliName("rg-azc-")
	az.ok("group", "create", "-n", rg, "-l", "westeurope", "-o", "none")
	t.Cleanup(func() { cli(t, "group", "delete", "-n", rg, "--yes", "--no-wait") })
	var id map[string]any
	az.json(&id, "identity", "create", "-g", rg, "-n", "wl-id")
	idID := id["id"].(string)

	// VMs: az vm create deploys a template; mimic vm create and az
	// resource create (a plain PUT) make VMs az vm can then manage.
	cliOK(t, "vm", "create", "-g", rg, "-n", "vm1", "--image", "Ubuntu2204", "-o", "none")
	var vm2 map[string]any
	az.json(&vm2, "resource", "create", "-g", rg, "-n", "vm2", "--resource-type", "Microsoft.Compute/virtualMachines", "--properties",
		`{"hardwareProfile":{"vmSize":"Standard_B1s"},"storageProfile":{"imageReference":{"publisher":"Canonical","offer":"0001-com-ubuntu-server-jammy","sku":"22_04-lts-gen2","version":"latest"}},"osProfile":{"computerName":"vm2","adminUsername":"azureuser"},"networkProfile":{"networkInterfaces":[]}}`,
		"-l", "westeurope")
	if vm2["type"] != "Microsoft.Compute/virtualMachines" || vm2["name"] != "vm2" {
		t.Fatalf("resource create: %v", vm2)
	}
	for _, vm := range []string{"vm1", "vm2"} {
		var assigned map[string]any
		az.json(&assigned, "vm", "identity", "assign", "-g", rg, "-n", vm, "--identities", idID, "[system]")
		uais, _ := assigned["userAssignedIdentities"].(map[string]any)
		if s, _ := assigned["systemAssignedIdentity"].(string); len(s) != 36 || len(uais) != 1 {
			t.Fatalf("vm identity assign %s: %v", vm, assigned)
		}
	}
	var vi, mvi map[string]any
	az.json(&vi, "vm", "identity", "show", "-g", rg, "-n", "vm1")
	cliJSON(t, &mvi, "vm", "identity", "show", "-g", rg, "-n", "vm1")
	sameShape(t, "vm identity show", vi, mvi)
	if vi["type"] != "SystemAssigned, UserAssigned" || vi["principalId"] != mvi["principalId"] {
		t.Fatalf("vm identity show: az %v, mimic %v", vi, mvi)
	}
	az.ok("vm", "identity", "remove", "-g", rg, "-n", "vm1", "--identities", "[system]")
	if got := az.tsv("vm", "identity", "show", "-g", rg, "-n", "vm1", "--query", "type"); got != "UserAssigned" {
		t.Fatalf("after remove [system]: %q", got)
	}
	if got := az.ok("vm", "identity", "remove", "-g", rg, "-n", "vm1", "--identities", idID); got != "" {
		t.Fatalf("removing the last identity prints nothing: %q", got)
	}

	// App Service: a Linux plan, a container web app, a Python function
	// app on the same plan.
	az.ok("appservice", "plan", "create", "-g", rg, "-n", "plan1", "--is-linux", "--sku", "B1", "-o", "none")
	var plan, mplan map[string]any
	az.json(&plan, "appservice", "plan", "show", "-g", rg, "-n", "plan1")
	cliJSON(t, &mplan, "appservice", "plan", "show", "-g", rg, "-n", "plan1")
	sameShape(t, "appservice plan show", plan, mplan)
	web := cliName("web-az-")
	var site map[string]any
	az.json(&site, "webapp", "create", "-g", rg, "-n", web, "-p", "plan1", "-i", "nginx")
	if site["kind"] != "app,linux,container" || site["ftpPublishingUrl"] == nil || site["state"] != "Running" {
		t.Fatalf("webapp create: %v", site)
	}
	var show, mshow map[string]any
	az.json(&show, "webapp", "show", "-g", rg, "-n", web)
	cliJSON(t, &mshow, "webapp", "show", "-g", rg, "-n", web)
	// siteConfig is what each client sent (az sends a full SiteConfig).
	sameShape(t, "webapp show", show, mshow, "siteConfig")
	var wi map[string]any
	az.json(&wi, "webapp", "identity", "assign", "-g", rg, "-n", web, "--identities", idID)
	if wi["type"] != "UserAssigned" {
		t.Fatalf("webapp identity assign: %v", wi)
	}
	var settings, msettings []any
	az.json(&settings, "webapp", "config", "appsettings", "set", "-g", rg, "-n", web, "--settings", "AZURE_CLIENT_ID="+id["clientId"].(string), "MODE=prod")
	cliJSON(t, &msettings, "webapp", "config", "appsettings", "list", "-g", rg, "-n", web)
	sameShape(t, "webapp config appsettings", settings, msettings)
	az.ok("webapp", "config", "appsettings", "delete", "-g", rg, "-n", web, "--setting-names", "MODE", "-o", "none")
	if got := az.tsv("webapp", "config", "appsettings", "list", "-g", rg, "-n", web, "--query", "[?name=='AZURE_CLIENT_ID'].value"); got != id["clientId"] {
		t.Fatalf("appsettings list: %q", got)
	}
	store := cliName("stazc")
	az.ok("storage", "account", "create", "-g", rg, "-n", store, "--sku", "Standard_LRS", "-o", "none")
	fn := cliName("fn-az-")
	var fsite map[string]any
	az.json(&fsite, "functionapp", "create", "-g", rg, "-n", fn, "-p", "plan1", "-s", store, "--runtime", "python", "--runtime-version", "3.11", "--functions-version", "4")
	if fsite["kind"] != "functionapp,linux" {
		t.Fatalf("functionapp create: %v", fsite)
	}
	if got := az.tsv("functionapp", "config", "appsettings", "list", "-g", rg, "-n", fn, "--query", "[?name=='FUNCTIONS_WORKER_RUNTIME'].value"); got != "python" {
		t.Fatalf("function app settings: %q", got)
	}
	az.ok("functionapp", "identity", "assign", "-g", rg, "-n", fn, "--identities", idID, "-o", "none")
	if got := az.tsv("functionapp", "show", "-g", rg, "-n", fn, "--query", "identity.type"); got != "UserAssigned" {
		t.Fatalf("functionapp show: %q", got)
	}
	az.ok("functionapp", "config", "appsettings", "set", "-g", rg, "-n", fn, "--settings", "AZURE_CLIENT_ID="+id["clientId"].(string), "-o", "none")

	// AKS: the OIDC issuer with az; workload identity is not in az 2.45.
	var aks map[string]any
	az.json(&aks, "aks", "create", "-g", rg, "-n", "aks1", "--node-count", "1", "--enable-managed-identity", "--no-ssh-key")
	if o, _ := aks["oidcIssuerProfile"].(map[string]any); o["enabled"] != false {
		t.Fatalf("aks create: %v", aks["oidcIssuerProfile"])
	}
	var updated map[string]any
	az.json(&updated, "aks", "update", "-g", rg, "-n", "aks1", "--enable-oidc-issuer")
	issuer := az.tsv("aks", "show", "-g", rg, "-n", "aks1", "--query", "oidcIssuerProfile.issuerUrl")
	if !strings.HasPrefix(issuer, "https://westeurope.oic.prod-aks.azure.com/"+env.Profile.TenantID+"/") || issuer != cliTSV(t, "aks", "show", "-g", rg, "-n", "aks1", "--query", "oidcIssuerProfile.issuerUrl") {
		t.Fatalf("issuer url: %q", issuer)
	}
	az.fails(2, "ERROR: unrecognized arguments: --enable-workload-identity", "aks", "update", "-g", rg, "-n", "aks1", "--enable-workload-identity")
	cliOK(t, "aks", "update", "-g", rg, "-n", "aks1", "--enable-workload-identity", "-o", "none")
	if got := az.tsv("aks", "show", "-g", rg, "-n", "aks1", "--query", "securityProfile.workloadIdentity.enabled"); got != "true" {
		t.Fatalf("workload identity, as az sees it: %q", got)
	}
}

func TestAzDataPlanesAndResources(t *testing.T) {
	t.Parallel()
	az := newAzShell(t, env)
	p := env.Profile
	rg := cliName("rg-azd-")
	az.ok("group", "create", "-n", rg, "-l", "westeurope", "-o", "none")
	t.Cleanup(func() { cli(t, "group", "delete", "-n", rg, "--yes", "--no-wait") })

	// Key Vault: the management plane with az keyvault; the data plane
	// (at https://NAME.vault.azure.net, through mimic's proxy) with
	// az rest, because Debian's az cannot run `az keyvault secret`.
	kv := cliName("kvaz")
	var vault, mvault map[string]any
	az.json(&vault, "keyvault", "create", "-g", rg, "-n", kv, "--enable-rbac-authorization")
	cliJSON(t, &mvault, "keyvault", "show", "-n", kv)
	sameShape(t, "keyvault create/show", vault, mvault)
	kvID := az.tsv("keyvault", "show", "-n", kv, "--query", "id")
	if kvID != rgID(rg)+"/providers/Microsoft.KeyVault/vaults/"+kv {
		t.Fatalf("keyvault show: %q", kvID)
	}
	if _, errOut, code := az.run("keyvault", "secret", "list", "--vault-name", kv); code == 0 {
		t.Log("az keyvault secret works here: this az is not Debian's 2.45 package")
	} else if !strings.Contains(errOut, "azure.keyvault.v7_0") {
		t.Fatalf("az keyvault secret list: exit %d, %s", code, errOut)
	}
	secretURL := "https://" + kv + ".vault.azure.net/secrets/db?api-version=7.4"
	rest := []string{"rest", "--resource", "https://vault.azure.net", "--url"}
	_, errOut, code := az.run(append(rest, secretURL, "--method", "put", "--body", `{"value":"s3cret"}`)...)
	if code != 1 || !strings.Contains(errOut, "Forbidden") {
		t.Fatalf("Owner writes a secret: exit %d, %s", code, errOut)
	}
	az.ok("role", "assignment", "create", "--assignee", p.Operator.ClientID, "--role", "Key Vault Secrets Officer", "--scope", kvID, "-o", "none")
	az.ok(append(rest, secretURL, "--method", "put", "--body", `{"value":"s3cret"}`, "-o", "none")...)
	if got := az.tsv(append(rest, secretURL, "--query", "value")...); got != "s3cret" {
		t.Fatalf("secret through az rest: %q", got)
	}
	if got := cliTSV(t, "keyvault", "secret", "show", "--vault-name", kv, "-n", "db", "--query", "value"); got != "s3cret" {
		t.Fatalf("the same secret through mimic: %q", got)
	}
	if got := az.tsv(append(rest, "https://"+kv+".vault.azure.net/secrets?api-version=7.4", "--query", "value[].id")...); !strings.HasSuffix(got, "/secrets/db") {
		t.Fatalf("secret list: %q", got)
	}
	az.ok(append(rest, secretURL, "--method", "delete", "-o", "none")...)
	az.ok("keyvault", "delete", "-n", kv)
	// az exits 1 here, and so does mimic (cli_data_test.go).
	az.fails(1, "ERROR: The Vault '"+kv+"' not found within subscription.", "keyvault", "show", "-n", kv)

	// Storage: the account through ARM, containers and blobs at
	// https://NAME.blob.core.windows.net with --auth-mode login.
	acct := cliName("staz")
	var sa, msa map[string]any
	// Before it exists, az and mimic fail alike when the group is left out.
	az.fails(2, "ERROR: Storage account '"+acct+"' not found.", "storage", "account", "show", "-n", acct)
	cliFails(t, 2, "ERROR: Storage account '"+acct+"' not found.", "storage", "account", "show", "-n", acct)
	az.json(&sa, "storage", "account", "create", "-g", rg, "-n", acct, "--sku", "Standard_LRS")
	cliJSON(t, &msa, "storage", "account", "show", "-g", rg, "-n", acct)
	// mimic's command leaves out the null attributes of nested models
	// (encryption.services.*, primaryEndpoints.microsoftEndpoints…).
	sameShape(t, "storage account create/show", sa, msa, "encryption", "primaryEndpoints", "networkRuleSet")
	if sa["networkRuleSet"] == nil || msa["networkRuleSet"] == nil {
		t.Errorf("networkRuleSet: az %v, mimic %v", sa["networkRuleSet"], msa["networkRuleSet"])
	}
	var keys []map[string]any
	az.json(&keys, "storage", "account", "keys", "list", "-g", rg, "-n", acct)
	if len(keys) != 2 || keys[0]["keyName"] != "key1" || keys[0]["permissions"] != "FULL" {
		t.Fatalf("keys list: %v", keys)
	}
	login := []string{"--account-name", acct, "--auth-mode", "login"}
	az.ok("role", "assignment", "create", "--assignee", p.Operator.ClientID, "--role", "Storage Blob Data Contributor", "--scope", sa["id"].(string), "-o", "none")
	if got := az.ok(append([]string{"storage", "container", "create", "-n", "data"}, login...)...); !strings.Contains(got, `"created": true`) {
		t.Fatalf("container create: %q", got)
	}
	if got := az.tsv(append([]string{"storage", "container", "list", "--query", "[].name"}, login...)...); got != "data" {
		t.Fatalf("container list: %q", got)
	}
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "report.csv"), filepath.Join(dir, "copy.csv")
	must(t, os.WriteFile(src, []byte("a,b\n1,2\n"), 0o600))
	az.ok(append([]string{"storage", "blob", "upload", "-c", "data", "-n", "2024/report.csv", "-f", src, "--only-show-errors", "-o", "none"}, login...)...)
	if got := az.tsv(append([]string{"storage", "blob", "list", "-c", "data", "--query", "[].{n:name, l:properties.contentLength}"}, login...)...); got != "2024/report.csv\t8" {
		t.Fatalf("blob list: %q", got)
	}
	az.ok(append([]string{"storage", "blob", "download", "-c", "data", "-n", "2024/report.csv", "-f", dst, "--only-show-errors", "-o", "none"}, login...)...)
	if b, _ := os.ReadFile(dst); string(b) != "a,b\n1,2\n" {
		t.Fatalf("downloaded %q", b)
	}

	// SQL and generic resources.
	srv := cliName("sqlaz")
	var s, ms map[string]any
	az.json(&s, "sql", "server", "create", "-g", rg, "-n", srv, "-u", "sqladmin", "-p", "Str0ng!Passw0rd")
	cliJSON(t, &ms, "sql", "server", "show", "-g", rg, "-n", srv)
	sameShape(t, "sql server create/show", s, ms)
	if got := az.tsv("sql", "server", "show", "-g", rg, "-n", srv, "--query", "fullyQualifiedDomainName"); got != srv+".database.windows.net" {
		t.Fatalf("sql server show: %q", got)
	}
	var r, mr map[string]any
	az.json(&r, "resource", "show", "--ids", s["id"].(string))
	cliJSON(t, &mr, "resource", "show", "--ids", s["id"].(string))
	sameShape(t, "resource show --ids", r, mr)
	names := az.tsv("resource", "list", "-g", rg, "--query", "sort_by(@, &name)[].name")
	if names != strings.Join(sortedStrings(acct, srv), "\n") {
		t.Fatalf("resource list -g (no role assignments, which are not the group's resources): %q", names)
	}
	if got := az.tsv("resource", "list", "-g", rg, "--resource-type", "Microsoft.Sql/servers", "--query", "[].name"); got != srv {
		t.Fatalf("resource list --resource-type: %q", got)
	}
	az.ok("resource", "delete", "--ids", s["id"].(string))
	az.fails(3, "ERROR: (ResourceNotFound)", "resource", "show", "--ids", s["id"].(string))
	az.ok("resource", "delete", "-g", rg, "-n", acct, "--resource-type", "Microsoft.Storage/storageAccounts")
	if got := az.ok("resource", "list", "-g", rg); strings.TrimSpace(got) != "[]" {
		t.Fatalf("after deletes: %q", got)
	}
}

func sortedStrings(s ...string) []string {
	sort.Strings(s)
	return s
}
