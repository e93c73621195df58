package compat

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCLIAKS(t *testing.T) {
	rg := cliGroup(t)
	var c map[string]any
	cliJSON(t, &c, "aks", "create", "-g", rg, "-n", "aks1", "--node-count", "1", "--enable-managed-identity", "--generate-ssh-keys")
	if c["dnsPrefix"] != "aks1-"+rg[:min(16, len(rg))]+"-"+sub()[:6] || c["enableRbac"] != true || c["provisioningState"] != "Succeeded" {
		t.Fatalf("create: %v", c)
	}
	if pools, _ := c["agentPoolProfiles"].([]any); len(pools) != 1 || pools[0].(map[string]any)["count"] != float64(1) {
		t.Fatalf("pools: %v", c["agentPoolProfiles"])
	}
	if ident, _ := c["identity"].(map[string]any); ident["type"] != "SystemAssigned" {
		t.Fatalf("identity: %v", c["identity"])
	}
	if o, _ := c["oidcIssuerProfile"].(map[string]any); o["enabled"] != false || o["issuerUrl"] != nil {
		t.Fatalf("issuer off: %v", c["oidcIssuerProfile"])
	}
	cliFails(t, 1, "ERROR: Please specify one or more of", "aks", "update", "-g", rg, "-n", "aks1")
	cliJSON(t, &c, "aks", "update", "-g", rg, "-n", "aks1", "--enable-oidc-issuer", "--enable-workload-identity")
	if wi, _ := c["securityProfile"].(map[string]any)["workloadIdentity"].(map[string]any); wi["enabled"] != true {
		t.Fatalf("workload identity: %v", c["securityProfile"])
	}
	// az prints the SDK's camelCase: issuerUrl, where ARM says issuerURL.
	out := cliOK(t, "aks", "show", "-g", rg, "-n", "aks1", "--query", "oidcIssuerProfile.issuerUrl")
	var url string
	if err := json.Unmarshal([]byte(out), &url); err != nil || !strings.HasPrefix(url, "https://westeurope.oic.prod-aks.azure.com/"+env.Profile.TenantID+"/") {
		t.Fatalf("--query oidcIssuerProfile.issuerUrl: %q", out)
	}
	if got := cliTSV(t, "aks", "show", "-g", rg, "-n", "aks1", "--query", "oidcIssuerProfile.issuerUrl"); got != url {
		t.Fatalf("tsv: %q", got)
	}
	if got := cliTSV(t, "aks", "show", "-g", rg, "-n", "aks1", "--query", "identityProfile.kubeletidentity.resourceId"); !strings.HasSuffix(got, "/userAssignedIdentities/aks1-agentpool") {
		t.Fatalf("kubelet identity: %q", got)
	}
	table := cliOK(t, "aks", "list", "-g", rg, "-o", "table")
	if !strings.HasPrefix(table, "Name    Location    ResourceGroup") || !strings.Contains(table, "azmk8s.io") {
		t.Fatalf("table:\n%s", table)
	}
	// The service accounts of workload identity sit beside the az commands.
	if out, _, code := cli(t, "aks", "serviceaccount", "list", "-g", rg, "--cluster", "aks1", "-o", "json"); code != 0 || out != "[]\n" {
		t.Fatalf("serviceaccount list: %d %q", code, out)
	}
	cliOK(t, "aks", "delete", "-g", rg, "-n", "aks1", "--yes")
	cliFails(t, 3, "ERROR: (ResourceNotFound)", "aks", "show", "-g", rg, "-n", "aks1")
}
