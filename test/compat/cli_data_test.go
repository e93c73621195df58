package compat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCLIKeyVault(t *testing.T) {
	rg := cliGroup(t)
	kv := cliName("kv")
	var v map[string]any
	cliJSON(t, &v, "keyvault", "create", "-g", rg, "-n", kv, "--enable-rbac-authorization")
	props, _ := v["properties"].(map[string]any)
	if props["vaultUri"] != "https://"+kv+".vault.azure.net/" || props["enableRbacAuthorization"] != true || props["tenantId"] != env.Profile.TenantID ||
		v["resourceGroup"] != rg {
		t.Fatalf("create: %v", v)
	}
	if pols, _ := props["accessPolicies"].([]any); len(pols) != 0 {
		t.Fatalf("an RBAC vault gets no access policy: %v", pols)
	}
	// Without -g, show finds the vault by name.
	id := cliTSV(t, "keyvault", "show", "-n", kv, "--query", "id")
	if id != rgID(rg)+"/providers/Microsoft.KeyVault/vaults/"+kv {
		t.Fatalf("show: %q", id)
	}
	if got := cliTSV(t, "keyvault", "list", "-g", rg, "--query", "[].name"); got != kv {
		t.Fatalf("list: %q", got)
	}
	// The data plane: RBAC decides, so the operator (Owner) needs a data role.
	errOut := cliFails(t, 1, "ERROR: (Forbidden) ", "keyvault", "secret", "set", "--vault-name", kv, "-n", "db-password", "--value", "s3cret")
	if !strings.Contains(errOut, "\nCode: Forbidden\n") || !strings.Contains(errOut, "Inner error: {\n    \"code\": \"ForbiddenByRbac\"\n}") {
		t.Fatalf("forbidden: %q", errOut)
	}
	cliOK(t, "role", "assignment", "create", "--assignee-object-id", env.Profile.Operator.ObjectID, "--assignee-principal-type", "ServicePrincipal",
		"--role", "Key Vault Secrets Officer", "--scope", id, "-o", "none")
	var s map[string]any
	cliJSON(t, &s, "keyvault", "secret", "set", "--vault-name", kv, "-n", "db-password", "--value", "s3cret")
	attrs, _ := s["attributes"].(map[string]any)
	if s["value"] != "s3cret" || s["name"] != "db-password" || !strings.HasPrefix(s["id"].(string), "https://"+kv+".vault.azure.net/secrets/db-password/") ||
		attrs["enabled"] != true || !strings.HasSuffix(attrs["created"].(string), "+00:00") {
		t.Fatalf("secret set: %v", s)
	}
	file := filepath.Join(t.TempDir(), "cert.pem")
	os.WriteFile(file, []byte("-----BEGIN-----\n"), 0o600)
	if got := cliTSV(t, "keyvault", "secret", "set", "--vault-name", kv, "-n", "from-file", "--file", file, "--query", "tags.\"file-encoding\""); got != "utf-8" {
		t.Fatalf("--file: %q", got)
	}
	if got := cliTSV(t, "keyvault", "secret", "show", "--vault-name", kv, "-n", "db-password", "--query", "value"); got != "s3cret" {
		t.Fatalf("show: %q", got)
	}
	if got := cliTSV(t, "keyvault", "secret", "show", "--id", s["id"].(string), "--query", "value"); got != "s3cret" {
		t.Fatalf("show --id: %q", got)
	}
	if got := cliTSV(t, "keyvault", "secret", "list", "--vault-name", kv, "--query", "sort_by(@, &name)[].name"); got != "db-password\nfrom-file" {
		t.Fatalf("list: %q", got)
	}
	cliOK(t, "keyvault", "secret", "delete", "--vault-name", kv, "-n", "from-file", "-o", "none")
	errOut = cliFails(t, 3, "ERROR: (SecretNotFound) A secret with (name/id) from-file was not found in this key vault.", "keyvault", "secret", "show", "--vault-name", kv, "-n", "from-file")
	if !strings.Contains(errOut, "\nCode: SecretNotFound\n") {
		t.Fatalf("secret not found: %q", errOut)
	}
	cliOK(t, "keyvault", "delete", "-n", kv)
	// az's validator raises a CLIError here: exit 1, as az 2.45 does.
	cliFails(t, 1, "ERROR: The Vault '"+kv+"' not found within subscription.", "keyvault", "show", "-n", kv)

	// A vault with access policies gives its creator one.
	kv2 := cliName("kv")
	if got := cliTSV(t, "keyvault", "create", "-g", rg, "-n", kv2, "--query", "properties.accessPolicies[0].objectId"); got != env.Profile.Operator.ObjectID {
		t.Fatalf("creator's access policy: %q", got)
	}
	cliOK(t, "keyvault", "secret", "set", "--vault-name", kv2, "-n", "x", "--value", "y", "-o", "none")
}

func TestCLIStorage(t *testing.T) {
	rg := cliGroup(t)
	acct := cliName("st")
	var a map[string]any
	cliJSON(t, &a, "storage", "account", "create", "-g", rg, "-n", acct, "--sku", "Standard_LRS", "--min-tls-version", "TLS1_2")
	if a["kind"] != "StorageV2" || a["enableHttpsTrafficOnly"] != true || a["minimumTlsVersion"] != "TLS1_2" || a["resourceGroup"] != rg {
		t.Fatalf("create: %v", a)
	}
	if ep, _ := a["primaryEndpoints"].(map[string]any); ep["blob"] != "https://"+acct+".blob.core.windows.net/" {
		t.Fatalf("endpoints: %v", a["primaryEndpoints"])
	}
	if got := cliTSV(t, "storage", "account", "show", "-n", acct, "--query", "sku.name"); got != "Standard_LRS" {
		t.Fatalf("show: %q", got)
	}
	if got := cliTSV(t, "storage", "account", "list", "-g", rg, "--query", "[].name"); got != acct {
		t.Fatalf("list: %q", got)
	}
	var keys []map[string]any
	cliJSON(t, &keys, "storage", "account", "keys", "list", "-g", rg, "-n", acct)
	if len(keys) != 2 || keys[0]["keyName"] != "key1" || keys[0]["permissions"] != "FULL" {
		t.Fatalf("keys: %v", keys)
	}

	// Key mode queries the account key through ARM (with az's warning);
	// login mode needs a data role.
	out, errOut, code := cli(t, "storage", "container", "create", "-n", "data", "--account-name", acct)
	if code != 0 || out != "{\n  \"created\": true\n}\n" || !strings.Contains(errOut, "WARNING: \nThere are no credentials provided in your command and environment") {
		t.Fatalf("container create (key): %d %q %q", code, out, errOut)
	}
	if got := cliOK(t, "storage", "container", "create", "-n", "data", "--account-name", acct, "--account-key", keys[0]["value"].(string)); got != "{\n  \"created\": false\n}\n" {
		t.Fatalf("container exists: %q", got)
	}
	cliFails(t, 1, "ERROR: ", "storage", "blob", "list", "--account-name", acct, "-c", "data", "--auth-mode", "login")
	cliOK(t, "role", "assignment", "create", "--assignee-object-id", env.Profile.Operator.ObjectID, "--assignee-principal-type", "ServicePrincipal",
		"--role", "Storage Blob Data Contributor", "--scope", a["id"].(string), "-o", "none")
	if got := cliTSV(t, "storage", "container", "list", "--account-name", acct, "--auth-mode", "login", "--query", "[].name"); got != "data" {
		t.Fatalf("container list: %q", got)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "report.csv")
	os.WriteFile(src, []byte("a,b\n1,2\n"), 0o600)
	var up map[string]any
	cliJSON(t, &up, "storage", "blob", "upload", "--account-name", acct, "-c", "data", "-n", "2024/report.csv", "-f", src, "--auth-mode", "login")
	if up["etag"] == "" || up["request_server_encrypted"] != true {
		t.Fatalf("upload: %v", up)
	}
	cliFails(t, 1, "ERROR: The specified blob already exists.", "storage", "blob", "upload", "--account-name", acct, "-c", "data", "-n", "2024/report.csv", "-f", src, "--auth-mode", "login")
	cliOK(t, "storage", "blob", "upload", "--account-name", acct, "-c", "data", "-n", "2024/report.csv", "-f", src, "--auth-mode", "login", "--overwrite", "-o", "none")
	table := cliOK(t, "storage", "blob", "list", "--account-name", acct, "-c", "data", "--auth-mode", "login", "-o", "table")
	if !strings.HasPrefix(table, "Name             Blob Type    Blob Tier    Length    Content Type") || !strings.Contains(table, "2024/report.csv  BlockBlob") {
		t.Fatalf("blob list table:\n%s", table)
	}
	dst := filepath.Join(dir, "copy.csv")
	if got := cliTSV(t, "storage", "blob", "download", "--account-name", acct, "-c", "data", "-n", "2024/report.csv", "-f", dst, "--auth-mode", "key", "--only-show-errors", "--query", "properties.contentLength"); got != "8" {
		t.Fatalf("download: %q", got)
	}
	if b, _ := os.ReadFile(dst); string(b) != "a,b\n1,2\n" {
		t.Fatalf("downloaded %q", b)
	}
	cliOK(t, "storage", "blob", "delete", "--account-name", acct, "-c", "data", "-n", "2024/report.csv", "--auth-mode", "login")
	cliFails(t, 3, "ERROR: The specified blob does not exist.\nErrorCode:BlobNotFound", "storage", "blob", "delete", "--account-name", acct, "-c", "data", "-n", "2024/report.csv", "--auth-mode", "login")
	if got := cliOK(t, "storage", "container", "delete", "-n", "data", "--account-name", acct, "--auth-mode", "login"); got != "{\n  \"deleted\": true\n}\n" {
		t.Fatalf("container delete: %q", got)
	}
	cliOK(t, "storage", "account", "delete", "-g", rg, "-n", acct, "--yes")
	cliFails(t, 3, "ERROR: (ResourceNotFound)", "storage", "account", "show", "-g", rg, "-n", acct)
	// Without the group, az's validator looks the account up and raises
	// a ValueError: exit 2.
	cliFails(t, 2, "ERROR: Storage account '"+acct+"' not found.", "storage", "account", "show", "-n", acct)
}

func TestCLISQLAndResources(t *testing.T) {
	rg := cliGroup(t)
	srv := cliName("sql")
	var s map[string]any
	cliJSON(t, &s, "sql", "server", "create", "-g", rg, "-n", srv, "-u", "sqladmin", "-p", "Str0ng!Passw0rd", "--assign-identity")
	if s["fullyQualifiedDomainName"] != srv+".database.windows.net" || s["administratorLogin"] != "sqladmin" || s["administratorLoginPassword"] != nil || s["state"] != "Ready" {
		t.Fatalf("sql create: %v", s)
	}
	if ident, _ := s["identity"].(map[string]any); ident["type"] != "SystemAssigned" {
		t.Fatalf("sql identity: %v", s["identity"])
	}
	cliFails(t, 1, "ERROR: (PasswordNotComplex)", "sql", "server", "create", "-g", rg, "-n", cliName("sql"), "-u", "sqladmin", "-p", "weak")
	if got := cliTSV(t, "sql", "server", "show", "-g", rg, "-n", srv, "--query", "version"); got != "12.0" {
		t.Fatalf("sql show: %q", got)
	}
	if got := cliTSV(t, "sql", "server", "list", "-g", rg, "--query", "[].name"); got != srv {
		t.Fatalf("sql list: %q", got)
	}

	// Generic resources.
	var r map[string]any
	cliJSON(t, &r, "resource", "show", "-g", rg, "-n", srv, "--resource-type", "Microsoft.Sql/servers")
	if p, _ := r["properties"].(map[string]any); p["fullyQualifiedDomainName"] != srv+".database.windows.net" || r["resourceGroup"] != rg {
		t.Fatalf("resource show: %v", r)
	}
	if got := cliTSV(t, "resource", "show", "--ids", s["id"].(string), "--query", "name"); got != srv {
		t.Fatalf("resource show --ids: %q", got)
	}
	cliOK(t, "identity", "create", "-g", rg, "-n", "gen-id", "-o", "none")
	if got := cliTSV(t, "resource", "list", "-g", rg, "--resource-type", "Microsoft.ManagedIdentity/userAssignedIdentities", "--query", "[].name"); got != "gen-id" {
		t.Fatalf("resource list --resource-type: %q", got)
	}
	table := cliOK(t, "resource", "list", "-g", rg, "-o", "table")
	if !strings.HasPrefix(table, "Name") || !strings.Contains(table, "Microsoft.Sql/servers") {
		t.Fatalf("resource table:\n%s", table)
	}
	cliFails(t, 1, "ERROR: (--resource-group --name --resource-type | --ids) are required", "resource", "show")
	cliFails(t, 1, "ERROR: (--name --resource-type | --ids) are required", "resource", "show", "-g", rg)
	cliOK(t, "resource", "delete", "--ids", s["id"].(string))
	cliFails(t, 3, "ERROR: (ResourceNotFound)", "sql", "server", "show", "-g", rg, "-n", srv)
	cliOK(t, "resource", "delete", "-g", rg, "-n", "gen-id", "--resource-type", "Microsoft.ManagedIdentity/userAssignedIdentities")
	if got := cliOK(t, "resource", "list", "-g", rg); got != "[]\n" {
		t.Fatalf("after deletes: %q", got)
	}
}
