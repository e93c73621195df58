package compat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The workload route: the real az inside `mimic run --as COMPUTE`, signing
// in as the platform lets code on it (az login --identity on a VM through
// IMDS at 169.254.169.254, on App Service through MSI_ENDPOINT/MSI_SECRET;
// az login --federated-token in an AKS pod), then using the identity's
// rights, and refused with az's 403 where it has none.
func TestAzWorkloadRoute(t *testing.T) {
	t.Parallel()
	needAz(t)
	rg := cliName("rg-azwl-")
	cliOK(t, "group", "create", "-n", rg, "-l", "westeurope", "-o", "none")
	t.Cleanup(func() { cli(t, "group", "delete", "-n", rg, "--yes", "--no-wait") })
	var id map[string]any
	cliJSON(t, &id, "identity", "create", "-g", rg, "-n", "wl-id")
	client, principal := id["clientId"].(string), id["principalId"].(string)
	kv := cliName("kvwl")
	cliOK(t, "keyvault", "create", "-g", rg, "-n", kv, "--enable-rbac-authorization", "-o", "none")
	kvID := rgID(rg) + "/providers/Microsoft.KeyVault/vaults/" + kv
	cliOK(t, "role", "assignment", "create", "--assignee", env.Profile.Operator.ClientID, "--role", "Key Vault Secrets Officer", "--scope", kvID, "-o", "none")
	cliOK(t, "keyvault", "secret", "set", "--vault-name", kv, "-n", "db", "--value", "from-the-vault", "-o", "none")
	for _, grant := range [][2]string{{"Key Vault Secrets User", kvID}, {"Reader", rgID(rg)}} {
		cliOK(t, "role", "assignment", "create", "--assignee-object-id", principal, "--assignee-principal-type", "ServicePrincipal",
			"--role", grant[0], "--scope", grant[1], "-o", "none")
	}

	vm := cliName("vmwl")
	cliOK(t, "vm", "create", "-g", rg, "-n", vm, "--image", "Ubuntu2204", "--assign-identity", "wl-id", "-o", "none")
	web := cliName("webwl-")
	cliOK(t, "webapp", "create", "-g", rg, "-n", web, "-p", "plan1", "--assign-identity", "wl-id", "-o", "none")
	cliOK(t, "webapp", "config", "appsettings", "set", "-g", rg, "-n", web, "--settings", "AZURE_CLIENT_ID="+client, "-o", "none")
	aks := cliName("akswl")
	cliOK(t, "aks", "create", "-g", rg, "-n", aks, "--enable-oidc-issuer", "--enable-workload-identity", "--no-ssh-key", "-o", "none")
	issuer := cliTSV(t, "aks", "show", "-g", rg, "-n", aks, "--query", "oidcIssuerProfile.issuerUrl")
	cliOK(t, "identity", "federated-credential", "create", "--name", "pod-app", "--identity-name", "wl-id", "-g", rg, "--issuer", issuer,
		"--subject", "system:serviceaccount:default:app", "--audiences", "api://AzureADTokenExchange", "-o", "none")
	sa := filepath.Join(t.TempDir(), "sa.yaml")
	must(t, os.WriteFile(sa, []byte(serviceAccountManifest("app", client)), 0o600))
	cliOK(t, "aks", "serviceaccount", "apply", "-g", rg, "--cluster", aks, "-f", sa)

	// What every workload does once signed in: read what Reader allows,
	// read the secret, and try to create a group.
	uses := `
echo "name=$(az identity show -g ` + rg + ` -n wl-id --query name -o tsv)"
echo "secret=$(az rest --method get --url 'https://` + kv + `.vault.azure.net/secrets/db?api-version=7.4' --resource https://vault.azure.net --query value -o tsv)"
az group create -n ` + rg + `-denied -l westeurope -o none || echo "refused=$?"
`
	cases := []struct {
		name, compute string
		flags         []string
		login         string
	}{
		{"VM, IMDS", vm, nil, `az login --identity -o none || exit 9`},
		{"web app, MSI_ENDPOINT", web, nil, `az login --identity --username "$AZURE_CLIENT_ID" -o none || exit 9`},
		{"AKS pod, federated token", aks, []string{"--service-account", "default/app"},
			`az login --service-principal -u "$AZURE_CLIENT_ID" --tenant "$AZURE_TENANT_ID" --federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")" -o none || exit 9`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, code := azRun(t, tc.compute, tc.flags, tc.login+"\n"+uses)
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			for _, want := range []string{
				"name=wl-id\n", "secret=from-the-vault\n", "refused=1\n",
				"ERROR: (AuthorizationFailed) The client '" + client + "' with object id '" + principal +
					"' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/write' over scope '" + rgID(rg) + "-denied'",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("missing %q in:\n%s", want, out)
				}
			}
		})
	}
	// az account show in the VM: the identity's account, from IMDS.
	out, code := azRun(t, vm, nil, `az login --identity -o none && az account show --query "{user:user.name, type:user.type, info:user.assignedIdentityInfo, tenant:tenantId}" -o tsv`)
	if code != 0 || strings.TrimSpace(out) != "systemAssignedIdentity\tservicePrincipal\tMSI\t"+env.Profile.TenantID {
		t.Fatalf("account show in the VM: exit %d\n%s", code, out)
	}
}
