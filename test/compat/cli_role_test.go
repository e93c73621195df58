package compat

import (
	"strings"
	"testing"
)

func TestCLIRoleDefinitions(t *testing.T) {
	var defs []map[string]any
	cliJSON(t, &defs, "role", "definition", "list", "--name", "Key Vault Secrets User")
	if len(defs) != 1 {
		t.Fatalf("%d definitions", len(defs))
	}
	d := defs[0]
	if d["name"] != "4633458b-17de-408a-b874-0445c86b69e6" || d["roleType"] != "BuiltInRole" || d["type"] != "Microsoft.Authorization/roleDefinitions" ||
		d["id"] != "/subscriptions/"+sub()+"/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6" {
		t.Fatalf("definition: %v", d)
	}
	if _, ok := d["createdOn"]; ok {
		t.Fatal("az 2.45's role definition model has no createdOn")
	}
	// By GUID too.
	if got := cliTSV(t, "role", "definition", "list", "-n", "acdd72a7-3385-48ef-bd42-f606fba81ae7", "--query", "[0].roleName"); got != "Reader" {
		t.Fatalf("by guid: %q", got)
	}
	if got := cliOK(t, "role", "definition", "list", "--custom-role-only", "--query", "[?roleType!='CustomRole']"); got != "[]\n" {
		t.Fatalf("custom only: %q", got)
	}
	table := cliOK(t, "role", "definition", "list", "-n", "Reader", "-o", "table")
	if !strings.HasPrefix(table, "Name    Type                                     Description\n") {
		t.Fatalf("table:\n%s", table)
	}
	yaml := cliOK(t, "role", "definition", "list", "-n", "Owner", "-o", "yaml")
	if !strings.Contains(yaml, "- assignableScopes:\n  - /\n  description: ") || !strings.Contains(yaml, "  - actions:\n    - '*'\n") {
		t.Fatalf("yaml:\n%s", yaml)
	}
}

func TestCLIRoleAssignments(t *testing.T) {
	rg := cliGroup(t)
	var id map[string]any
	cliJSON(t, &id, "identity", "create", "-g", rg, "-n", "worker")
	principal, client := id["principalId"].(string), id["clientId"].(string)
	scope := rgID(rg)

	cliFails(t, 2, "ERROR: the following arguments are required: --scope", "role", "assignment", "create", "--assignee", "worker", "--role", "Reader")
	cliFails(t, 1, "ERROR: usage error: --assignee STRING | --assignee-object-id GUID", "role", "assignment", "create", "--role", "Reader", "--scope", scope)
	cliFails(t, 1, "ERROR: Role 'No Such Role' doesn't exist.", "role", "assignment", "create", "--assignee-object-id", principal,
		"--assignee-principal-type", "ServicePrincipal", "--role", "No Such Role", "--scope", scope)

	var a map[string]any
	cliJSON(t, &a, "role", "assignment", "create", "--assignee-object-id", principal, "--assignee-principal-type", "ServicePrincipal",
		"--role", "Reader", "--scope", scope)
	if a["principalId"] != principal || a["principalType"] != "ServicePrincipal" || a["scope"] != scope || a["resourceGroup"] != rg ||
		a["type"] != "Microsoft.Authorization/roleAssignments" || a["canDelegate"] != nil ||
		a["roleDefinitionId"] != "/subscriptions/"+sub()+"/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7" {
		t.Fatalf("create: %v", a)
	}
	if s, _ := a["createdOn"].(string); !strings.HasSuffix(s, "+00:00") {
		t.Fatalf("createdOn in Python's isoformat: %v", a["createdOn"])
	}
	// Again: az answers with the existing assignment, as listed.
	var again map[string]any
	cliJSON(t, &again, "role", "assignment", "create", "--assignee-object-id", principal, "--assignee-principal-type", "ServicePrincipal",
		"--role", "Reader", "--scope", scope)
	if again["id"] != a["id"] || again["roleDefinitionName"] != "Reader" {
		t.Fatalf("idempotent create: %v", again)
	}
	// --assignee takes a client id or an identity's name.
	cliOK(t, "role", "assignment", "create", "--assignee", client, "--role", "Storage Blob Data Reader", "--scope", scope, "-o", "none")
	cliOK(t, "role", "assignment", "create", "--assignee", "worker", "--role", "Key Vault Secrets User", "-g", rg, "-o", "none")

	var list []map[string]any
	cliJSON(t, &list, "role", "assignment", "list", "--scope", scope)
	if len(list) != 3 {
		t.Fatalf("list --scope: %d", len(list))
	}
	for _, e := range list {
		if e["principalName"] != client || e["principalType"] != "ServicePrincipal" {
			t.Fatalf("principalName is the client id: %v", e)
		}
	}
	if got := cliTSV(t, "role", "assignment", "list", "--assignee", "worker", "--all", "--role", "Reader", "--query", "[].roleDefinitionName"); got != "Reader" {
		t.Fatalf("list --assignee --role: %q", got)
	}
	// The operator's Owner is inherited from the subscription.
	if got := cliTSV(t, "role", "assignment", "list", "--scope", scope, "--include-inherited", "--query", "[?roleDefinitionName=='Owner'].principalName"); got != env.Profile.Operator.ClientID {
		t.Fatalf("--include-inherited: %q", got)
	}
	if got := cliOK(t, "role", "assignment", "list", "--query", "[?scope=='"+scope+"']"); got != "[]\n" {
		t.Fatalf("without --all only the subscription's scope: %q", got)
	}
	table := cliOK(t, "role", "assignment", "list", "--scope", scope, "-o", "table")
	if !strings.HasPrefix(table, "Principal                             Role") || !strings.Contains(table, client+"  Reader") {
		t.Fatalf("table:\n%s", table)
	}
	cliFails(t, 1, "ERROR: group or scope are not required when --all is used", "role", "assignment", "list", "--all", "-g", rg)

	// Deleting the identity orphans its assignments.
	cliOK(t, "identity", "delete", "-g", rg, "-n", "worker")
	cliJSON(t, &list, "role", "assignment", "list", "--all", "--query", "[?scope=='"+scope+"']")
	if len(list) != 3 {
		t.Fatalf("orphans: %v", list)
	}
	for _, e := range list {
		if e["principalType"] != "Unknown" || e["principalName"] != "" {
			t.Fatalf("orphaned assignment: %v", e)
		}
	}
	table = cliOK(t, "role", "assignment", "list", "--scope", scope, "-o", "table")
	if !strings.Contains(table, "(orphaned) "+principal) {
		t.Fatalf("orphan marker:\n%s", table)
	}
	// Delete one by id, one by role, the rest by scope.
	cliOK(t, "role", "assignment", "delete", "--ids", a["id"].(string))
	cliOK(t, "role", "assignment", "delete", "--role", "Storage Blob Data Reader", "--scope", scope)
	ids := strings.Fields(cliTSV(t, "role", "assignment", "list", "--all", "--query", "[?principalType=='Unknown' && scope=='"+scope+"'].id"))
	if len(ids) != 1 {
		t.Fatalf("left: %v", ids)
	}
	cliOK(t, "role", "assignment", "delete", "--scope", scope, "--assignee", principal)
	if got := cliOK(t, "role", "assignment", "list", "--scope", scope); got != "[]\n" {
		t.Fatalf("after deletes: %q", got)
	}
	cliFails(t, 1, "ERROR: No matched assignments were found to delete", "role", "assignment", "delete", "--scope", scope, "--role", "Reader")
}
