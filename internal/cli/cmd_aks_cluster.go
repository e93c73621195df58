package cli

import (
	"net/http"
	"regexp"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mimic-emu/mimic/internal/azout"
)

// apiAKS is the Microsoft.ContainerService api-version az 2.45 sends.
const apiAKS = "2022-11-01"

const clusterType = "Microsoft.ContainerService/managedClusters"

// clusterShape is az's ManagedCluster (azure-mgmt-containerservice 21,
// 2022-11-01): flattened, oidcIssuerProfile.issuerURL as issuerUrl.
var clusterShape = modelShape{flatten: true, only: true, attrs: []string{
	"aadProfile", "addonProfiles", "agentPoolProfiles", "apiServerAccessProfile", "autoScalerProfile",
	"autoUpgradeProfile", "azureMonitorProfile", "azurePortalFqdn", "currentKubernetesVersion", "disableLocalAccounts",
	"diskEncryptionSetId", "dnsPrefix", "enablePodSecurityPolicy", "enableRbac", "extendedLocation", "fqdn",
	"fqdnSubdomain", "httpProxyConfig", "id", "identity", "identityProfile", "kubernetesVersion", "linuxProfile",
	"location", "maxAgentPools", "name", "networkProfile", "nodeResourceGroup", "oidcIssuerProfile",
	"podIdentityProfile", "powerState", "privateFqdn", "privateLinkResources", "provisioningState",
	"publicNetworkAccess", "securityProfile", "servicePrincipalProfile", "sku", "storageProfile", "systemData", "tags",
	"type", "windowsProfile", "workloadAutoScalerProfile"}}

var clusterKind = armKind{typ: clusterType, api: apiAKS, out: clusterOut}

// clusterOut is az's output of a managed cluster.
func clusterOut(doc map[string]any) map[string]any {
	out := withIdentityNulls(clusterShape.shape(doc))
	if o := obj(out["oidcIssuerProfile"]); o != nil {
		withNulls(o, "enabled", "issuerUrl")
	}
	return out
}

// clusterTable is az's _aks_table_format.
func clusterTable(v any) any {
	return tableRows(v, func(r map[string]any) azout.Ordered {
		fqdn := r["fqdn"]
		if fqdn == nil {
			fqdn = r["privateFqdn"]
		}
		return azout.Row("name", r["name"], "location", r["location"], "resourceGroup", r["resourceGroup"],
			"kubernetesVersion", r["kubernetesVersion"], "currentKubernetesVersion", r["currentKubernetesVersion"],
			"provisioningState", r["provisioningState"], "fqdn", fqdn)
	})
}

var dnsCleanup = regexp.MustCompile(`[^A-Za-z0-9-]`)

// defaultDNSPrefix is az's _get_default_dns_prefix.
func defaultDNSPrefix(name, rg, sub string) string {
	n := dnsCleanup.ReplaceAllString(name, "")
	if len(n) > 10 {
		n = n[:10]
	}
	if n == "" || !(n[0] >= 'a' && n[0] <= 'z' || n[0] >= 'A' && n[0] <= 'Z') {
		n = "a" + n
		if len(n) > 10 {
			n = n[:10]
		}
	}
	r := dnsCleanup.ReplaceAllString(rg, "")
	if len(r) > 16 {
		r = r[:16]
	}
	if len(sub) > 6 {
		sub = sub[:6]
	}
	return n + "-" + r + "-" + sub
}

// clusterFlagsAz name a managed cluster with az's -g/-n.
type clusterFlagsAz struct{ rg, name string }

func (cf *clusterFlagsAz) add(f *pflag.FlagSet) {
	groupFlag(f, &cf.rg)
	nameFlag(f, &cf.name, "Name of the managed cluster.")
}

func newAKSCreateCmd(g *globals) *cobra.Command {
	var cf clusterFlagsAz
	var location, version, vmSize, dnsPrefix, assignIdentity, kubeletIdentity, networkPlugin, sshKey, adminUser, sp, secret string
	var nodeCount int
	var tags []string
	var oidc, workload, managedIdentity, genKeys, noSSH bool
	return newAzCommand(g, azCmd{
		Use:   "create",
		Short: "Create a new managed Kubernetes cluster.",
		Long: `Create a new managed Kubernetes cluster. mimic runs no Kubernetes: the
cluster carries what AKS says about it (identities, the kubelet identity in
its node resource group, the OIDC issuer), and its service accounts come
from 'mimic aks serviceaccount apply'.`,
		Example: `  Create a cluster with the OIDC issuer and workload identity.
    mimic aks create -g MyResourceGroup -n MyManagedCluster --enable-oidc-issuer --enable-workload-identity --generate-ssh-keys
  Create a cluster whose control plane uses a user-assigned identity.
    mimic aks create -g MyResourceGroup -n MyManagedCluster --enable-managed-identity --assign-identity <control-plane-identity-resource-id>`,
		Required: []string{"resource-group", "name"},
		NoWait:   true,
		Flags: func(f *pflag.FlagSet) {
			cf.add(f)
			locationFlag(f, &location)
			f.StringVarP(&version, "kubernetes-version", "k", "", "Version of Kubernetes to use for creating the cluster.")
			f.IntVarP(&nodeCount, "node-count", "c", 3, "Number of nodes in the Kubernetes node pool.")
			f.StringVarP(&vmSize, "node-vm-size", "s", "Standard_DS2_v2", "Size of Virtual Machines to create as Kubernetes nodes.")
			f.StringVarP(&dnsPrefix, "dns-name-prefix", "p", "", "Prefix for hostnames that are created. If not specified, generate a hostname using the managed cluster and resource group names.")
			f.BoolVar(&oidc, "enable-oidc-issuer", false, "Enable OIDC issuer.")
			f.BoolVar(&workload, "enable-workload-identity", false, "Enable workload identity addon (needs the OIDC issuer).")
			f.BoolVar(&managedIdentity, "enable-managed-identity", true, "Using a system assigned managed identity to manage cluster resource group.")
			f.StringVar(&assignIdentity, "assign-identity", "", "Specify an existing user assigned identity for control plane's usage in order to manage cluster resource group.")
			f.StringVar(&kubeletIdentity, "assign-kubelet-identity", "", "Specify an existing user assigned identity for kubelet's usage, which is typically used to pull image from ACR.")
			f.StringVar(&networkPlugin, "network-plugin", "", "The Kubernetes network plugin to use: azure, kubenet or none.")
			f.BoolVar(&genKeys, "generate-ssh-keys", false, "Generate SSH public and private key files if missing (accepted; mimic writes no keys).")
			f.StringVar(&sshKey, "ssh-key-value", "", "Public key path or key contents to install on node VMs for SSH access.")
			f.BoolVarP(&noSSH, "no-ssh-key", "x", false, "Do not use or create a local SSH key.")
			f.StringVarP(&adminUser, "admin-username", "u", "azureuser", "User account to create on node VMs for SSH access.")
			f.StringVar(&sp, "service-principal", "", "Service principal used for authentication to Azure APIs.")
			f.StringVar(&secret, "client-secret", "", "Secret associated with the service principal.")
			tagsFlag(f, &tags)
		},
		Table: clusterTable,
		Run: func(c *azCall) (any, error) {
			cl, err := c.armIn(cf.rg, &location)
			if err != nil {
				return nil, err
			}
			if dnsPrefix == "" {
				dnsPrefix = defaultDNSPrefix(cf.name, cf.rg, cl.sub)
			}
			props := map[string]any{
				"dnsPrefix":  dnsPrefix,
				"enableRBAC": true,
				"agentPoolProfiles": []any{map[string]any{"name": "nodepool1", "count": nodeCount, "vmSize": vmSize,
					"osType": "Linux", "mode": "System", "type": "VirtualMachineScaleSets"}},
			}
			if version != "" {
				props["kubernetesVersion"] = version
			}
			if oidc || workload {
				props["oidcIssuerProfile"] = map[string]any{"enabled": true}
			}
			if workload {
				if !oidc {
					return nil, cliError("--enable-workload-identity requires --enable-oidc-issuer")
				}
				props["securityProfile"] = map[string]any{"workloadIdentity": map[string]any{"enabled": true}}
			}
			if networkPlugin != "" {
				props["networkProfile"] = map[string]any{"networkPlugin": networkPlugin}
			}
			if sshKey != "" && !noSSH {
				props["linuxProfile"] = map[string]any{"adminUsername": adminUser, "ssh": map[string]any{"publicKeys": []any{map[string]any{"keyData": sshKey}}}}
			}
			body := map[string]any{"location": location, "properties": props}
			if c.changed("tags") {
				body["tags"] = parseTags(tags)
			}
			switch {
			case sp != "":
				props["servicePrincipalProfile"] = map[string]any{"clientId": sp, "secret": secret}
			case assignIdentity != "":
				body["identity"] = map[string]any{"type": "UserAssigned", "userAssignedIdentities": map[string]any{assignIdentity: map[string]any{}}}
			case managedIdentity:
				body["identity"] = map[string]any{"type": "SystemAssigned"}
			}
			if kubeletIdentity != "" {
				if assignIdentity == "" {
					return nil, cliError("--assign-kubelet-identity can only be specified when --assign-identity is specified")
				}
				props["identityProfile"] = map[string]any{"kubeletidentity": map[string]any{"resourceId": kubeletIdentity}}
			}
			doc, err := cl.send(c.ctx(), http.MethodPut, cl.resourcePath(cf.rg, clusterType, cf.name), apiAKS, body)
			if err != nil {
				return nil, err
			}
			return clusterOut(doc), nil
		},
	})
}

func newAKSShowCmd(g *globals) *cobra.Command {
	var cf clusterFlagsAz
	return newAzCommand(g, azCmd{
		Use:   "show",
		Short: "Show the details for a managed Kubernetes cluster.",
		Example: `  Show the details for a managed Kubernetes cluster.
    mimic aks show -g MyResourceGroup -n MyManagedCluster
  Get the cluster's OIDC issuer URL.
    mimic aks show -g MyResourceGroup -n MyManagedCluster --query oidcIssuerProfile.issuerUrl -o tsv`,
		IDParts: []string{"resource-group", "name"},
		Table:   clusterTable,
		Flags:   func(f *pflag.FlagSet) { cf.add(f) },
		Run:     func(c *azCall) (any, error) { return c.show(clusterKind, cf.rg, cf.name, nil) },
	})
}

func newAKSListCmd(g *globals) *cobra.Command {
	return newListCmd(g, clusterKind, "List managed Kubernetes clusters.", `  List the clusters.
    mimic aks list -o table`, clusterTable)
}

func newAKSUpdateCmd(g *globals) *cobra.Command {
	var cf clusterFlagsAz
	var oidc, workload, noWorkload bool
	var tags []string
	return newAzCommand(g, azCmd{
		Use:   "update",
		Short: "Update a managed Kubernetes cluster.",
		Long: `Update a managed Kubernetes cluster: enable the OIDC issuer (it cannot be
disabled again) and workload identity.`,
		Example: `  Enable the OIDC issuer and workload identity on an existing cluster.
    mimic aks update -g MyResourceGroup -n MyManagedCluster --enable-oidc-issuer --enable-workload-identity`,
		IDParts: []string{"resource-group", "name"},
		NoWait:  true,
		Table:   clusterTable,
		Flags: func(f *pflag.FlagSet) {
			cf.add(f)
			f.BoolVar(&oidc, "enable-oidc-issuer", false, "Enable OIDC issuer.")
			f.BoolVar(&workload, "enable-workload-identity", false, "Enable workload identity addon.")
			f.BoolVar(&noWorkload, "disable-workload-identity", false, "Disable workload identity addon.")
			tagsFlag(f, &tags)
		},
		Run: func(c *azCall) (any, error) {
			if !oidc && !workload && !noWorkload && !c.changed("tags") {
				return nil, cliError("Please specify one or more of \"--enable-oidc-issuer\", \"--enable-workload-identity\", \"--disable-workload-identity\" or \"--tags\".")
			}
			if workload && noWorkload {
				return nil, cliError("Cannot specify --enable-workload-identity and --disable-workload-identity at the same time.")
			}
			return c.forEach(cf.rg, cf.name, clusterType, func(t target) (any, error) {
				cl, _ := c.arm()
				doc, err := cl.get(c.ctx(), t.path, apiAKS)
				if err != nil {
					return nil, err
				}
				props := obj(doc["properties"])
				if props == nil {
					props = map[string]any{}
					doc["properties"] = props
				}
				if oidc {
					props["oidcIssuerProfile"] = map[string]any{"enabled": true}
				}
				if workload || noWorkload {
					sec := obj(props["securityProfile"])
					if sec == nil {
						sec = map[string]any{}
						props["securityProfile"] = sec
					}
					sec["workloadIdentity"] = map[string]any{"enabled": workload}
				}
				if c.changed("tags") {
					doc["tags"] = parseTags(tags)
				}
				doc, err = cl.send(c.ctx(), http.MethodPut, t.path, apiAKS, doc)
				if err != nil {
					return nil, err
				}
				return clusterOut(doc), nil
			})
		},
	})
}

func newAKSDeleteCmd(g *globals) *cobra.Command {
	var cf clusterFlagsAz
	return newAzCommand(g, azCmd{
		Use:   "delete",
		Short: "Delete a managed Kubernetes cluster.",
		Long: `Delete a managed Kubernetes cluster, its node resource group and the
kubelet identity in it.`,
		Example: `  Delete a managed Kubernetes cluster.
    mimic aks delete -g MyResourceGroup -n MyManagedCluster --yes`,
		IDParts: []string{"resource-group", "name"},
		Confirm: "Are you sure you want to perform this operation?",
		NoWait:  true,
		Flags:   func(f *pflag.FlagSet) { cf.add(f) },
		Run:     func(c *azCall) (any, error) { return c.remove(clusterKind, cf.rg, cf.name, nil) },
	})
}
