package cli

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mimic-emu/mimic/internal/azout"
)

func TestAzKey(t *testing.T) {
	for in, want := range map[string]string{
		"issuerURL": "issuerUrl", "enableRBAC": "enableRbac", "osDiskSizeGB": "osDiskSizeGb", "dnsServiceIP": "dnsServiceIp",
		"azurePortalFQDN": "azurePortalFqdn", "vmId": "vmId", "principalId": "principalId", "use32BitWorkerProcess": "use32BitWorkerProcess",
		"http20Enabled": "http20Enabled", "enableNodePublicIP": "enableNodePublicIp", "fqdn": "fqdn", "kubeletidentity": "kubeletidentity",
		"file-encoding": "file-encoding", "/subscriptions/x": "/subscriptions/x",
	} {
		if got := azKey(in); got != want {
			t.Errorf("azKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPyTime(t *testing.T) {
	for in, want := range map[string]string{
		"2024-05-01T10:11:12.1234567Z": "2024-05-01T10:11:12.123456+00:00",
		"2024-05-01T10:11:12Z":         "2024-05-01T10:11:12+00:00",
		"2024-05-01T10:11:12.5+02:00":  "2024-05-01T10:11:12.500000+02:00",
		"not a time":                   "not a time",
	} {
		if got := pyTime(in); got != want {
			t.Errorf("pyTime(%q) = %q, want %q", in, got, want)
		}
	}
}

func decodeT(t *testing.T, s string) map[string]any {
	t.Helper()
	v, err := decodeJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

func TestShapes(t *testing.T) {
	doc := decodeT(t, `{"id":"/subscriptions/s/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/c","name":"c",
		"tags":{"Team-Name":"x"},"properties":{"oidcIssuerProfile":{"enabled":true,"issuerURL":"https://i/"},"enableRBAC":true,
		"identityProfile":{"kubeletidentity":{"resourceId":"/subscriptions/s/resourceGroups/MC/providers/Microsoft.ManagedIdentity/userAssignedIdentities/k","clientId":"c","objectId":"o"}},
		"resourceUID":"dropped"},"_mimic":{"x":1}}`)
	out := clusterOut(doc)
	if dig(out, "oidcIssuerProfile", "issuerUrl") != "https://i/" || out["enableRbac"] != true || out["resourceGroup"] != "RG" {
		t.Fatalf("cluster: %v", out)
	}
	if _, ok := out["resourceUID"]; ok {
		t.Fatal("attributes the model lacks must be dropped")
	}
	if _, ok := obj(out["tags"])["Team-Name"]; !ok {
		t.Fatal("tag keys are data")
	}
	kubelet := obj(dig(out, "identityProfile", "kubeletidentity"))
	if _, ok := kubelet["resourceGroup"]; ok || kubelet["clientId"] != "c" {
		t.Fatalf("only objects with an id get a resource group: %v", kubelet)
	}
	nested := map[string]any{"a": []any{map[string]any{"id": "/subscriptions/s/resourceGroups/X/providers/P/t/n"}}}
	addResourceGroup(nested)
	if dig(nested["a"].([]any)[0], "resourceGroup") != "X" {
		t.Fatalf("nested ids get their resource group: %v", nested)
	}
	if v, ok := out["aadProfile"]; !ok || v != nil {
		t.Fatal("absent attributes print as null")
	}
	// A group id gets no resourceGroup (az's _parse_id reads parts[8]).
	g := groupShape.shape(decodeT(t, `{"id":"/subscriptions/s/resourceGroups/rg","name":"rg","location":"l","properties":{"provisioningState":"Succeeded"}}`))
	if _, ok := g["resourceGroup"]; ok {
		t.Fatalf("group: %v", g)
	}
	rd := roleDefinitionShape.shape(decodeT(t, `{"id":"/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/r","name":"r","type":"Microsoft.Authorization/roleDefinitions",
		"properties":{"roleName":"Reader","type":"BuiltInRole","createdOn":"2015-02-02T21:55:09.8806423Z","assignableScopes":["/"]}}`))
	if rd["roleType"] != "BuiltInRole" || rd["type"] != "Microsoft.Authorization/roleDefinitions" || rd["createdOn"] != nil {
		t.Fatalf("role definition: %v", rd)
	}
	ra := roleAssignmentShape.shape(decodeT(t, `{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/a","properties":{"createdOn":"2024-01-02T03:04:05.0000000Z","principalType":"Unknown"}}`))
	if ra["createdOn"] != "2024-01-02T03:04:05+00:00" || ra["resourceGroup"] != "rg" || ra["canDelegate"] != nil {
		t.Fatalf("role assignment: %v", ra)
	}
	st := storageShape.shape(decodeT(t, `{"properties":{"supportsHttpsTrafficOnly":true,"keyCreationTime":{"key1":"2024-01-02T03:04:05.1Z"}}}`))
	if st["enableHttpsTrafficOnly"] != true || dig(st, "keyCreationTime", "key1") != "2024-01-02T03:04:05.100000+00:00" {
		t.Fatalf("storage: %v", st)
	}
}

func TestIdentityBlocks(t *testing.T) {
	block, system, ext := identityBlock(nil)
	if block["type"] != "SystemAssigned" || !system || ext != nil {
		t.Fatalf("no value means [system]: %v", block)
	}
	block, _, _ = identityBlock([]string{msiLocalID, "/id/a"})
	if block["type"] != "SystemAssigned,UserAssigned" || obj(block["userAssignedIdentities"])["/id/a"] == nil {
		t.Fatalf("both: %v", block)
	}
	cur := map[string]any{"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": map[string]any{"/ID/A": map[string]any{}, "/id/b": map[string]any{}}}
	got, err := removedIdentity(cur, []string{"/id/a"}, "vm")
	if err != nil || got["type"] != "SystemAssigned, UserAssigned" || !reflect.DeepEqual(got["userAssignedIdentities"], map[string]any{"/id/a": nil}) {
		t.Fatalf("remove one: %v %v", got, err)
	}
	got, _ = removedIdentity(cur, []string{"/id/a", "/id/b", msiLocalID}, "vm")
	if got["type"] != "None" {
		t.Fatalf("remove all: %v", got)
	}
	if _, err := removedIdentity(cur, []string{"/id/c"}, "vm"); err == nil || !strings.Contains(err.Error(), "'/id/c' are not associated with 'vm'") {
		t.Fatalf("not attached: %v", err)
	}
	add := assignedIdentity(map[string]any{"type": "SystemAssigned"}, []string{"/id/a"})
	if add["type"] != "SystemAssigned, UserAssigned" {
		t.Fatalf("assign keeps the system identity: %v", add)
	}
}

func TestDefaultDNSPrefix(t *testing.T) {
	if got := defaultDNSPrefix("my_cluster-long-name", "rg.with.dots_and_more", "0123456789"); got != "mycluster--rgwithdotsandmor-012345" {
		t.Fatal(got)
	}
	if got := defaultDNSPrefix("1aks", "rg", "abc"); got != "a1aks-rg-abc" {
		t.Fatal(got)
	}
}

func TestExpandAzArgs(t *testing.T) {
	root := NewRoot(&bytes.Buffer{}, &bytes.Buffer{})
	got := expandAzArgs(root, []string{"vm", "create", "-g", "rg", "--assign-identity", "[system]", "id1", "--tags", "a=b", "c=d", "-n", "vm1", "--assign-identity"})
	want := []string{"vm", "create", "-g", "rg", "--assign-identity=[system]", "--assign-identity=id1", "--tags=a=b", "--tags=c=d", "-n", "vm1", "--assign-identity"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q", got)
	}
	if !looksLikeFlag("--x") || looksLikeFlag("-1") || looksLikeFlag("x") {
		t.Fatal("looksLikeFlag")
	}
}

// runCLI runs mimic with a home that has no server: argument errors must
// come before any request.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"--home", t.TempDir()}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

func TestArgumentErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"identity", "create", "-g", "rg"}, 2, "ERROR: the following arguments are required: --name/-n\n"},
		{[]string{"identity", "create"}, 2, "ERROR: the following arguments are required: --resource-group/-g, --name/-n\n"},
		{[]string{"group", "create", "-l", "westus"}, 2, "ERROR: the following arguments are required: --name/--resource-group/-n/-g\n"},
		{[]string{"identity", "show"}, 1, "ERROR: (--resource-group --name | --ids) are required\n"},
		{[]string{"vm", "show", "-n", "vm1"}, 1, "ERROR: (--resource-group | --ids) are required\n"},
		{[]string{"identity", "show", "-g", "rg", "-n", "x", "-o", "xml"}, 2, "ERROR: argument --output/-o: invalid choice: 'xml' (choose from 'json', 'jsonc', 'none', 'table', 'tsv', 'yaml', 'yamlc')\n"},
		{[]string{"identity", "show", "-g", "rg", "-n", "x", "--query", "[?"}, 2, "ERROR: argument --query: invalid jmespath_type value: '[?'\n" + queryReference + "\n"},
		{[]string{"identity", "show", "-g", "rg", "-n", "x", "--bogus"}, 2, "ERROR: unrecognized arguments: --bogus\n"},
		{[]string{"identity", "show", "-g", "rg", "-n", "x", "extra"}, 2, "ERROR: unrecognized arguments: extra\n"},
		{[]string{"identity", "show", "-g"}, 2, "ERROR: argument --resource-group/-g: expected one argument\n"},
		{[]string{"identity", "frobnicate"}, 2, "ERROR: 'frobnicate' is misspelled or not recognized by the system.\n"},
		{[]string{"role", "assignment", "create", "--scope", "/subscriptions/x"}, 2, "ERROR: the following arguments are required: --role\n"},
		{[]string{"identity", "federated-credential", "create", "-g", "rg", "--identity-name", "i"}, 2, "ERROR: the following arguments are required: --name/-n\n"},
		{[]string{"group", "delete", "-n", "rg"}, 1, "ERROR: Unable to prompt for confirmation as no tty available. Use --yes.\n"},
		{[]string{"webapp", "create", "-g", "rg", "-n", "w"}, 2, "ERROR: the following arguments are required: --plan/-p\n"},
		{[]string{"storage", "blob", "list", "--account-name", "a"}, 2, "ERROR: the following arguments are required: --container-name/-c\n"},
	} {
		out, errOut, code := runCLI(t, tc.args...)
		if code != tc.code || errOut != tc.want || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit %d, %q", tc.args, code, errOut, out, tc.code, tc.want)
		}
	}
}

func TestHelpHasExamples(t *testing.T) {
	root := NewRoot(&bytes.Buffer{}, &bytes.Buffer{})
	for _, group := range []string{"account", "group", "identity", "role", "vm", "webapp", "functionapp", "aks", "keyvault", "storage", "sql", "resource"} {
		cmd, _, err := root.Find([]string{group})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range leafCommands(cmd) {
			if c.Example == "" {
				t.Errorf("%s has no examples", c.CommandPath())
			}
			if c.Flags().Lookup("output") == nil && c.InheritedFlags().Lookup("output") == nil {
				t.Errorf("%s has no --output", c.CommandPath())
			}
		}
	}
}

func TestTables(t *testing.T) {
	assignments := []any{
		map[string]any{"principalName": "cid", "principalType": "ServicePrincipal", "roleDefinitionName": "Reader", "scope": "/subscriptions/s"},
		map[string]any{"principalName": "", "principalId": "dead", "principalType": "Unknown", "roleDefinitionName": "Reader", "scope": "/subscriptions/s/resourceGroups/rg"},
	}
	var b bytes.Buffer
	if err := azout.Write(&b, assignments, azout.Options{Format: "table", Table: roleAssignmentTable}); err != nil {
		t.Fatal(err)
	}
	want := "Principal        Role    Scope\n" +
		"---------------  ------  ----------------------------------\n" +
		"cid              Reader  /subscriptions/s\n" +
		"(orphaned) dead  Reader  /subscriptions/s/resourceGroups/rg\n"
	if b.String() != want {
		t.Fatalf("%q", b.String())
	}
	b.Reset()
	groups := []any{map[string]any{"name": "rg", "location": "westus", "properties": map[string]any{"provisioningState": "Succeeded"}}}
	azout.Write(&b, groups, azout.Options{Format: "table", Table: groupTable})
	if b.String() != "Name    Location    Status\n------  ----------  ---------\nrg      westus      Succeeded\n" {
		t.Fatalf("%q", b.String())
	}
	b.Reset()
	// With --query the transformer is skipped, as in az.
	q, _ := azout.CompileQuery("[].name")
	azout.Write(&b, groups, azout.Options{Format: "table", Table: groupTable, Query: q})
	if b.String() != "Result\n--------\nrg\n" {
		t.Fatalf("%q", b.String())
	}
}

func TestServiceErrorText(t *testing.T) {
	err := azErr(&APIError{Status: 404, Code: "ResourceNotFound", Message: "gone"})
	var ee *ExitError
	if !asExit(err, &ee) || ee.Code != 3 || err.Error() != "(ResourceNotFound) gone\nCode: ResourceNotFound\nMessage: gone" {
		t.Fatalf("%v", err)
	}
	err = azErr(&APIError{Status: 403, Code: "AuthorizationFailed", Message: "no"})
	if !asExit(err, &ee) || ee.Code != 1 {
		t.Fatalf("%v", err)
	}
}

func asExit(err error, ee **ExitError) bool { return errors.As(err, ee) }

// leafCommands returns the runnable commands below cmd, except those that
// are not az's (role check, aks serviceaccount).
func leafCommands(cmd *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, c := range cmd.Commands() {
		if c.Name() == "check" || c.Name() == "serviceaccount" || c.Name() == "help" {
			continue
		}
		if c.HasSubCommands() {
			out = append(out, leafCommands(c)...)
		} else {
			out = append(out, c)
		}
	}
	return out
}
