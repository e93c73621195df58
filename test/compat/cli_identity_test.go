package compat

import (
	"strings"
	"testing"
)

func TestCLIIdentity(t *testing.T) {
	rg := cliGroup(t)
	var id map[string]any
	cliJSON(t, &id, "identity", "create", "-g", rg, "-n", "app-id", "--tags", "env=dev")
	// az flattens the identity: ids top-level, resourceGroup from the id.
	for _, k := range []string{"clientId", "principalId"} {
		if s, _ := id[k].(string); len(s) != 36 {
			t.Fatalf("%s: %v", k, id)
		}
	}
	if id["tenantId"] != env.Profile.TenantID || id["resourceGroup"] != rg || id["location"] != "westeurope" || id["systemData"] != nil ||
		id["type"] != "Microsoft.ManagedIdentity/userAssignedIdentities" || id["id"] != rgID(rg)+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app-id" {
		t.Fatalf("identity create: %v", id)
	}
	if _, ok := id["properties"]; ok {
		t.Fatal("properties must be flattened")
	}
	if got := cliTSV(t, "identity", "show", "-g", rg, "-n", "app-id", "--query", "clientId"); got != id["clientId"] {
		t.Fatalf("show --query clientId: %q", got)
	}
	if got := cliTSV(t, "identity", "show", "--ids", id["id"].(string), "--query", "principalId"); got != id["principalId"] {
		t.Fatalf("show --ids: %q", got)
	}
	table := cliOK(t, "identity", "list", "-g", rg, "-o", "table")
	if !strings.HasPrefix(table, "ClientId                              Location    Name    PrincipalId                           ResourceGroup") {
		t.Fatalf("list table:\n%s", table)
	}
	errOut := cliFails(t, 3, "ERROR: (ResourceNotFound) The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/nope' under resource group '"+rg+"' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix\n",
		"identity", "show", "-g", rg, "-n", "nope")
	if !strings.Contains(errOut, "\nCode: ResourceNotFound\nMessage: The Resource ") {
		t.Fatalf("error lines: %q", errOut)
	}

	// Federated credentials.
	cliFails(t, 1, "ERROR: usage error: please provide both --issuer and --subject parameters",
		"identity", "federated-credential", "create", "-g", rg, "--identity-name", "app-id", "-n", "fic1", "--issuer", "https://issuer.example")
	var fic map[string]any
	cliJSON(t, &fic, "identity", "federated-credential", "create", "-g", rg, "--identity-name", "app-id", "-n", "fic1",
		"--issuer", "https://token.actions.githubusercontent.com", "--subject", "repo:org/app:ref:refs/heads/main")
	if fic["issuer"] != "https://token.actions.githubusercontent.com" || fic["subject"] != "repo:org/app:ref:refs/heads/main" || fic["resourceGroup"] != rg ||
		fic["type"] != "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials" {
		t.Fatalf("fic create: %v", fic)
	}
	if auds, _ := fic["audiences"].([]any); len(auds) != 1 || auds[0] != "api://AzureADTokenExchange" {
		t.Fatalf("default audience: %v", fic["audiences"])
	}
	cliOK(t, "identity", "federated-credential", "update", "-g", rg, "--identity-name", "app-id", "-n", "fic1",
		"--issuer", "https://token.actions.githubusercontent.com", "--subject", "repo:org/app:environment:prod", "--audiences", "api://custom")
	if got := cliTSV(t, "identity", "federated-credential", "show", "-g", rg, "--identity-name", "app-id", "-n", "fic1", "--query", "[subject, audiences[0]]"); got != "repo:org/app:environment:prod\napi://custom" {
		t.Fatalf("show: %q", got)
	}
	if got := cliTSV(t, "identity", "federated-credential", "list", "-g", rg, "--identity-name", "app-id", "--query", "[].name"); got != "fic1" {
		t.Fatalf("list: %q", got)
	}
	cliFails(t, 1, "ERROR: Unable to prompt for confirmation", "identity", "federated-credential", "delete", "-g", rg, "--identity-name", "app-id", "-n", "fic1")
	cliOK(t, "identity", "federated-credential", "delete", "-g", rg, "--identity-name", "app-id", "-n", "fic1", "--yes")
	if got := cliOK(t, "identity", "federated-credential", "list", "-g", rg, "--identity-name", "app-id"); got != "[]\n" {
		t.Fatalf("list after delete: %q", got)
	}
	if out := cliOK(t, "identity", "delete", "-g", rg, "-n", "app-id"); out != "" {
		t.Fatalf("delete printed %q", out)
	}
	cliFails(t, 3, "ERROR: (ResourceNotFound)", "identity", "show", "-g", rg, "-n", "app-id")
}
