package importer

import (
	"strings"
	"testing"
)

const (
	okIdentity   = `{"clientId": "3dab6820-fa13-4b46-b91f-f7c2759d2543", "id": "/subscriptions/b2c399ee-24f5-4be0-93ca-0a28efb988ca/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1", "location": "westeurope", "name": "id1", "principalId": "cbbd9994-dd42-4cd7-a278-5762239d0b35", "resourceGroup": "rg", "tags": {}, "tenantId": "83c6d1e1-3e69-4763-82a0-0b1762b30d3d", "type": "Microsoft.ManagedIdentity/userAssignedIdentities"}`
	okAssignment = `{"id": "/subscriptions/b2c399ee-24f5-4be0-93ca-0a28efb988ca/providers/Microsoft.Authorization/roleAssignments/5b60e9b6-742a-450a-9db0-3d0978947b67", "name": "5b60e9b6-742a-450a-9db0-3d0978947b67", "principalId": "cbbd9994-dd42-4cd7-a278-5762239d0b35", "principalName": "x", "principalType": "ServicePrincipal", "roleDefinitionId": "/subscriptions/b2c399ee-24f5-4be0-93ca-0a28efb988ca/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7", "roleDefinitionName": "Reader", "scope": "/subscriptions/b2c399ee-24f5-4be0-93ca-0a28efb988ca", "type": "Microsoft.Authorization/roleAssignments"}`
	vmPrefix     = `{"id": "/subscriptions/b2c399ee-24f5-4be0-93ca-0a28efb988ca/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/vm1", "location": "westeurope", "name": "vm1", "type": "Microsoft.Compute/virtualMachines", `
)

// withoutKey removes one "key": value member from a one-line JSON object.
func withoutKey(obj, key string) string {
	i := strings.Index(obj, `"`+key+`": `)
	j := strings.Index(obj[i:], ", ")
	return obj[:i] + obj[i+j+2:]
}

func loadErr(t *testing.T, opts LoadOptions, files ...[2]string) string {
	t.Helper()
	var srcs []Source
	for _, f := range files {
		srcs = append(srcs, BytesSource(f[0], []byte(f[1])))
	}
	_, err := Load(srcs, opts)
	if err == nil {
		t.Fatalf("%v: no error", files)
	}
	return err.Error()
}

func TestErrorMessages(t *testing.T) {
	assignments := "[" + strings.Repeat(okAssignment+",\n", 12) + withoutKey(okAssignment, "roleDefinitionId") + "]"
	cases := []struct {
		name, file, content, want string
	}{
		{"missing field, named by index", "assignments.json", assignments, "assignments.json: [12].roleDefinitionId: missing"},
		{"nested shape names properties.", "assignments.json",
			`{"value": [{"id": "/subscriptions/b2c399ee-24f5-4be0-93ca-0a28efb988ca/providers/Microsoft.Authorization/roleAssignments/5b60e9b6-742a-450a-9db0-3d0978947b67", "type": "Microsoft.Authorization/roleAssignments", "properties": {"roleDefinitionId": "acdd72a7-3385-48ef-bd42-f606fba81ae7", "principalId": "not-a-guid"}}]}`,
			`assignments.json: [0].properties.principalId: "not-a-guid" is not a GUID`},
		{"identity map not an object", "vms.json",
			"[" + vmPrefix + `"identity": {"type": "SystemAssigned", "principalId": "20285d6d-e706-420a-8765-b2348a248543"}},` +
				vmPrefix + `"identity": {"type": "SystemAssigned"}},` + vmPrefix + `"identity": {"type": "UserAssigned"}},` +
				vmPrefix + `"identity": {"type": "UserAssigned", "userAssignedIdentities": ["/subscriptions/x"]}}]`,
			"vms.json: [3].identity.userAssignedIdentities: not an object but an array"},
		{"identity type", "vms.json", "[" + vmPrefix + `"identity": {"type": "Managed"}}]`,
			`vms.json: [0].identity.type: "Managed" is not an identity type`},
		{"user-assigned key", "vms.json", "[" + vmPrefix + `"identity": {"type": "UserAssigned", "userAssignedIdentities": {"/subscriptions/b2c399ee-24f5-4be0-93ca-0a28efb988ca/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/x": {}}}}]`,
			`vms.json: [0].identity.userAssignedIdentities["/subscriptions/b2c399ee-24f5-4be0-93ca-0a28efb988ca/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/x"]: not the id of a user-assigned identity`},
		{"bad JSON, line and column", "ids.json", "[\n  " + okIdentity + ",\n  {\"id\": \"x\",, \"name\": \"y\"}\n]",
			"ids.json: line 3, column 14: bad JSON: invalid character ',' looking for beginning of object key string"},
		{"truncated file", "ids.json", "[\n  " + okIdentity + ",\n  {\"id\": \"x\"",
			"ids.json: line 3, column 13: bad JSON: the file ends in the middle of a value"},
		{"not a list", "ids.json", `"hello"`,
			`ids.json: expected a JSON array of documents, an object with a "value" array (as ARM and ` + "`az rest`" + ` print lists), or a Resource Graph result with "data"; found a string`},
		{"unknown kind", "mystery.json", `[{"foo": 1}]`, "mystery.json: cannot tell what this export holds"},
		{"element not an object", "ids.json", "[" + okIdentity + `, 42]`, "ids.json: [1]: not a JSON object but a number"},
		{"id missing", "ids.json", "[" + withoutKey(okIdentity, "id") + "]", "ids.json: [0].id: missing"},
		{"id not an id", "ids.json", "[" + strings.Replace(okIdentity, `"id": "/subscriptions`, `"id": "subscriptions`, 1) + "]",
			`ids.json: [0].id: "subscriptions/b2c399ee-24f5-4be0-93ca-0a28efb988ca/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1" is not a resource id: must start with '/'`},
		{"type does not match id", "ids.json", "[" + strings.Replace(okIdentity, `"type": "Microsoft.ManagedIdentity/userAssignedIdentities"`, `"type": "Microsoft.Compute/virtualMachines"`, 1) + "]",
			"ids.json: [0].type: \"Microsoft.Compute/virtualMachines\" does not match the id, which names a Microsoft.ManagedIdentity/userAssignedIdentities"},
		{"tags", "ids.json", "[" + strings.Replace(okIdentity, `"tags": {}`, `"tags": ["prod"]`, 1) + "]", "ids.json: [0].tags: not an object but an array"},
		{"principal id", "ids.json", "[" + strings.Replace(okIdentity, "cbbd9994-dd42-4cd7-a278-5762239d0b35", "cbbd9994", 1) + "]", `ids.json: [0].principalId: "cbbd9994" is not a GUID`},
		{"federated credential", "fics.json", `[{"audiences": ["api://AzureADTokenExchange"], "id": "/subscriptions/b2c399ee-24f5-4be0-93ca-0a28efb988ca/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1/federatedIdentityCredentials/gh", "issuer": "https://token.actions.githubusercontent.com", "name": "gh", "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"}]`,
			"fics.json: [0].subject: missing"},
		{"role definition", "roles.json", `[{"assignableScopes": ["/subscriptions/b2c399ee-24f5-4be0-93ca-0a28efb988ca"], "id": "/subscriptions/b2c399ee-24f5-4be0-93ca-0a28efb988ca/providers/Microsoft.Authorization/roleDefinitions/b5b51151-2045-493a-bb25-9ed6c19f25ad", "name": "b5b51151-2045-493a-bb25-9ed6c19f25ad", "permissions": [{"actions": "*"}], "roleName": "x", "roleType": "CustomRole", "type": "Microsoft.Authorization/roleDefinitions"}]`,
			"roles.json: [0].permissions[0].actions: not an array but a string"},
		{"scope and id disagree", "ra.json", "[" + strings.Replace(okAssignment, `"scope": "/subscriptions/b2c399ee-24f5-4be0-93ca-0a28efb988ca"`, `"scope": "/subscriptions/b2c399ee-24f5-4be0-93ca-0a28efb988ca/resourceGroups/rg"`, 1) + "]",
			`ra.json: [0].scope: "/subscriptions/b2c399ee-24f5-4be0-93ca-0a28efb988ca/resourceGroups/rg", but the id`},
		{"kind forced", "ids.json", "[" + okIdentity + "]", `ids.json: [0].type: "Microsoft.ManagedIdentity/userAssignedIdentities" is a user-assigned identity, not a virtual machine`},
		{"mixed file", "ids.json", "[" + okIdentity + "," + okAssignment + "]", ""},
		{"deny assignment", "deny.json", `{"value": [{"name": "dac19535-5983-4d0e-8a63-d5f9c92d79c8", "properties": {"scope": "/subscriptions/b2c399ee-24f5-4be0-93ca-0a28efb988ca", "principals": [], "permissions": [{"actions": ["*"]}]}, "type": "Microsoft.Authorization/denyAssignments"}]}`,
			"deny.json: [0].properties.principals: missing: a deny assignment needs at least one principal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := LoadOptions{}
			if c.name == "kind forced" {
				f, _ := FormatNamed("vms")
				opts.Format = &f
			}
			if c.want == "" {
				if _, err := Load([]Source{BytesSource(c.file, []byte(c.content))}, opts); err != nil {
					t.Fatal(err)
				}
				return
			}
			got := loadErr(t, opts, [2]string{c.file, c.content})
			if !strings.Contains(got, c.want) {
				t.Errorf("got\n  %s\nwant\n  %s", got, c.want)
			}
		})
	}
}

// Every problem of every file is reported at once, before anything is sent.
func TestErrorsAreCollected(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i < 30; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(withoutKey(okAssignment, "roleDefinitionId"))
	}
	b.WriteString("]")
	got := loadErr(t, LoadOptions{}, [2]string{"a.json", b.String()}, [2]string{"b.json", "[" + okIdentity + ",]"}, [2]string{"c.json", "[" + okIdentity + "]"})
	lines := strings.Split(got, "\n")
	if len(lines) != 22 || lines[19] != "a.json: [19].roleDefinitionId: missing" || lines[20] != "a.json: … and 10 more errors" ||
		!strings.HasPrefix(lines[21], "b.json: line 1, column ") {
		t.Errorf("%s", got)
	}
}

func TestFormatNamed(t *testing.T) {
	for _, n := range []string{"assignments", "role-assignments", "webapps", "functionapps", "AKS", "arg"} {
		if _, err := FormatNamed(n); err != nil {
			t.Error(err)
		}
	}
	if _, err := FormatNamed("pods"); err == nil || !strings.Contains(err.Error(), "role-assignments") {
		t.Errorf("%v", err)
	}
}
