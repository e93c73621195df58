package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestImportDryRun(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"import", "--dry-run", "--home", t.TempDir(), "../importer/testdata/estate"}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "43 documents are valid") || !strings.Contains(errb.String(), "aks-prod.json: 1 AKS clusters (aks)") ||
		!strings.Contains(errb.String(), "[10].scope: \"/providers/Microsoft.Management/managementGroups/contoso\" is a management group") {
		t.Fatalf("%d\n%s\n%s", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"import", "--kind", "pods", "x.json"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown kind "pods"`) {
		t.Fatalf("%d %s", code, errb.String())
	}
	errb.Reset()
	code = run(context.Background(), []string{"import", "--dry-run", "--kind", "vms", "../importer/testdata/estate/identities-dev.json"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "identities-dev.json: [0].type: \"Microsoft.ManagedIdentity/userAssignedIdentities\" is a user-assigned identity, not a virtual machine") {
		t.Fatalf("%d %s", code, errb.String())
	}
}
