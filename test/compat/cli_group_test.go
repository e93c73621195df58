package compat

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestCLIAccount(t *testing.T) {
	var acct map[string]any
	cliJSON(t, &acct, "account", "show")
	if acct["id"] != sub() || acct["tenantId"] != env.Profile.TenantID || acct["isDefault"] != true || acct["environmentName"] != "AzureCloud" {
		t.Fatalf("account show: %v", acct)
	}
	if u, _ := acct["user"].(map[string]any); u["name"] != env.Profile.Operator.ClientID || u["type"] != "servicePrincipal" {
		t.Fatalf("account user: %v", acct["user"])
	}
	if got := cliTSV(t, "account", "show", "--query", "id"); got != sub() {
		t.Fatalf("--query id -o tsv: %q", got)
	}
	table := cliOK(t, "account", "list", "-o", "table")
	if !strings.HasPrefix(table, "Name    CloudName    SubscriptionId") || !strings.Contains(table, sub()) {
		t.Fatalf("account list table:\n%s", table)
	}
	cliFails(t, 1, "ERROR: Subscription 'nope' not found.", "account", "show", "--subscription", "nope")
}

func TestCLIGroup(t *testing.T) {
	rg := cliName("rg-cli-")
	var g map[string]any
	cliJSON(t, &g, "group", "create", "--name", rg, "--location", "westeurope", "--tags", "env=dev", "owner=team a")
	if g["id"] != rgID(rg) || g["location"] != "westeurope" || g["managedBy"] != nil || g["type"] != "Microsoft.Resources/resourceGroups" {
		t.Fatalf("group create: %v", g)
	}
	if tags, _ := g["tags"].(map[string]any); tags["owner"] != "team a" || tags["env"] != "dev" {
		t.Fatalf("tags: %v", g["tags"])
	}
	if _, ok := g["resourceGroup"]; ok {
		t.Fatal("az adds no resourceGroup to a group")
	}
	// Every output format once.
	w := max(len(rg), 6)
	wantTable := fmt.Sprintf("%-*s  Location    Status\n%s  ----------  ---------\n%-*s  westeurope  Succeeded\n", w, "Name", strings.Repeat("-", w), w, rg)
	if got := cliOK(t, "group", "show", "-g", rg, "-o", "table"); got != wantTable {
		t.Fatalf("table:\n%q\nwant\n%q", got, wantTable)
	}
	if got := cliOK(t, "group", "show", "-n", rg, "-o", "tsv"); got != rgID(rg)+"\twesteurope\tNone\t"+rg+"\t\t\tMicrosoft.Resources/resourceGroups\n" {
		t.Fatalf("tsv: %q", got)
	}
	yaml := cliOK(t, "group", "show", "-n", rg, "-o", "yaml")
	if !strings.Contains(yaml, "managedBy: null\nname: "+rg+"\nproperties:\n  provisioningState: Succeeded\ntags:\n  env: dev\n  owner: team a\n") {
		t.Fatalf("yaml:\n%s", yaml)
	}
	jsonc := cliOK(t, "group", "show", "-n", rg, "-o", "jsonc")
	if !json.Valid([]byte(jsonc)) {
		t.Fatalf("jsonc without a terminal is json: %s", jsonc)
	}
	if got := cliOK(t, "group", "show", "-n", rg, "-o", "none"); got != "" {
		t.Fatalf("none: %q", got)
	}
	if got := cliOK(t, "group", "exists", "-n", rg); got != "true\n" {
		t.Fatalf("exists: %q", got)
	}
	if got := cliOK(t, "group", "list", "--query", "[?name=='"+rg+"'].{n:name, l:location}", "-o", "tsv"); got != rg+"\twesteurope\n" {
		t.Fatalf("list --query: %q", got)
	}
	if got := cliOK(t, "group", "list", "--tag", "owner=team a", "--query", "[].name", "-o", "tsv"); !strings.Contains(got, rg) {
		t.Fatalf("list --tag: %q", got)
	}
	cliFails(t, 1, "ERROR: Unable to prompt for confirmation as no tty available. Use --yes.", "group", "delete", "-n", rg)
	if out := cliOK(t, "group", "delete", "-n", rg, "--yes"); out != "" {
		t.Fatalf("delete printed %q", out)
	}
	if got := cliOK(t, "group", "exists", "-n", rg); got != "false\n" {
		t.Fatalf("exists after delete: %q", got)
	}
	errOut := cliFails(t, 3, "ERROR: (ResourceGroupNotFound) Resource group '"+rg+"' could not be found.", "group", "show", "-n", rg)
	if !strings.Contains(errOut, "\nCode: ResourceGroupNotFound\nMessage: Resource group '"+rg+"' could not be found.\n") {
		t.Fatalf("az's error lines: %q", errOut)
	}
}

func TestCLIArgumentErrors(t *testing.T) {
	// Argument errors are found before any request: the same errors come
	// back from a home whose server is not running.
	for _, home := range []string{env.Home, t.TempDir()} {
		for _, tc := range []struct {
			code int
			want string
			args []string
		}{
			{2, "ERROR: the following arguments are required: --resource-group/-g, --name/-n\n", []string{"identity", "create"}},
			{2, "ERROR: the following arguments are required: --name/--resource-group/-n/-g, --location/-l\n", []string{"group", "create"}},
			{1, "ERROR: (--resource-group --name | --ids) are required\n", []string{"vm", "show"}},
			{2, "ERROR: unrecognized arguments: --nope\n", []string{"group", "list", "--nope"}},
			{2, "ERROR: argument --output/-o: invalid choice: 'xml'", []string{"group", "list", "-o", "xml"}},
			{2, "ERROR: argument --query: invalid jmespath_type value: '[?name=='\nTo learn more about --query", []string{"group", "list", "--query", "[?name=="}},
		} {
			out, errOut, code := cliAt(t, home, tc.args...)
			if code != tc.code || !strings.HasPrefix(errOut, tc.want) || out != "" {
				t.Errorf("%v (home %s): exit %d %q %q", tc.args, home, code, errOut, out)
			}
		}
	}
}
