// Package containerservice is the Microsoft.ContainerService provider:
// AKS managed clusters, as far as identities are concerned.
//
// mimic runs no Kubernetes. A cluster here carries what Azure's control
// plane says about it, with the parts that matter to identity faithful:
//
//   - The control-plane identity is SystemAssigned or UserAssigned (exactly
//     one identity), or None with a service principal profile. AKS refuses
//     "SystemAssigned, UserAssigned". A managed-identity cluster has
//     servicePrincipalProfile {"clientId": "msi"}; a service principal's
//     secret is never stored or returned.
//   - On create, AKS makes the node resource group (nodeResourceGroup,
//     default MC_{group}_{cluster}_{location}, managedBy the cluster) and in
//     it the kubelet identity, a real user-assigned identity named
//     {cluster}-agentpool, reported in identityProfile.kubeletidentity
//     {resourceId, clientId, objectId}. A create may instead name an
//     existing user-assigned identity there (bring your own kubelet
//     identity; the control-plane identity must then be UserAssigned).
//     Deleting the cluster deletes its node resource group, and the kubelet
//     identity with it.
//   - oidcIssuerProfile {enabled, issuerURL}: the issuer URL is
//     https://{location}.oic.prod-aks.azure.com/{tenantId}/{guid}/, with a
//     guid drawn once when the cluster is created and kept for its whole
//     life, and is present only while the issuer is enabled. Once enabled,
//     the issuer cannot be disabled (400 OIDCIssuerFeatureCannotBeDisabled);
//     a PUT that omits the profile keeps it.
//   - securityProfile.workloadIdentity.enabled requires the OIDC issuer
//     (400 otherwise).
//   - dnsPrefix (default: from the name) and nodeResourceGroup cannot change
//     (400 PropertyChangeNotAllowed); fqdn is {dnsPrefix}-{hash}.hcp.{location}.azmk8s.io
//     with a hash drawn at create.
//   - provisioningState, powerState, currentKubernetesVersion, maxAgentPools
//     and agent pool read-only fields are filled by the server; a cluster
//     without agentPoolProfiles gets one System pool "nodepool1" of 1 node.
//
// Everything completes synchronously; a DELETE answers 204, since the Go
// SDK accepts only 202 or 204 from AKS. IssuerURL and FindByIssuer serve the
// planes that publish a cluster's OIDC discovery document.
package containerservice

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/msi"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/store"
)

// ClusterType is the managed cluster type.
const ClusterType = "Microsoft.ContainerService/managedClusters"

// resourceGroupType is the type of resource group documents.
const resourceGroupType = "Microsoft.Resources/resourceGroups"

// DefaultKubernetesVersion is the version of clusters that name none.
const DefaultKubernetesVersion = "1.30.0"

// KubeletIdentityKey is the key of the kubelet identity in identityProfile.
const KubeletIdentityKey = "kubeletidentity"

// APIVersions of managed clusters: armcontainerservice/v6 sends 2025-02-01,
// az 2.45 2022-11-01.
var APIVersions = []string{
	"2017-08-31", "2018-03-31", "2019-02-01", "2019-04-01", "2019-06-01", "2019-08-01", "2019-10-01",
	"2019-11-01", "2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01", "2020-06-01", "2020-07-01",
	"2020-09-01", "2020-11-01", "2020-12-01", "2021-02-01", "2021-03-01", "2021-05-01", "2021-07-01",
	"2021-08-01", "2021-09-01", "2021-10-01", "2022-01-01", "2022-02-01", "2022-03-01", "2022-04-01",
	"2022-06-01", "2022-07-01", "2022-08-01", "2022-09-01", "2022-11-01", "2023-01-01", "2023-02-01",
	"2023-03-01", "2023-04-01", "2023-05-01", "2023-06-01", "2023-07-01", "2023-08-01", "2023-09-01",
	"2023-10-01", "2023-11-01", "2024-01-01", "2024-02-01", "2024-05-01", "2024-07-01", "2024-08-01",
	"2024-09-01", "2024-10-01", "2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01",
}

var (
	clusterName   = regexp.MustCompile(`^[a-zA-Z0-9]([-_a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$`)
	dnsPrefixRe   = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,52}[a-zA-Z0-9])?$`)
	poolName      = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)
	versionRe     = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?$`)
	notDNSLetters = regexp.MustCompile(`[^a-zA-Z0-9-]`)
)

// Register adds the Microsoft.ContainerService types.
func Register(r *arm.Registry) {
	r.Register(&arm.Type{
		Name: ClusterType, APIVersions: append([]string(nil), APIVersions...), Placement: arm.InGroup, Tracked: true,
		Identity: arm.SystemAndUserIdentity, Prepare: prepareCluster, Deleting: deletingCluster,
		// AKS deletes asynchronously (202); the Go SDK accepts 202 or 204.
		DeletedStatus: http.StatusNoContent,
	})
}

func invalid(format string, args ...any) error {
	return armerr.BadRequest("InvalidParameter", format, args...)
}

func prepareCluster(c *arm.Call, old, doc arm.Doc) error {
	name := doc.Str("name")
	if old == nil && !clusterName.MatchString(name) {
		return invalid("The value of parameter 'resourceName' is invalid: '%s'. A cluster name must be 1 to 63 characters long, contain only letters, numbers, hyphens and underscores, and start and end with a letter or number.", name)
	}
	id, err := arm.ParseDocID(doc)
	if err != nil {
		return err
	}
	loc := doc.Str("location")
	var op arm.Doc
	priv := doc.PrivateState()
	if old != nil {
		op = old.Obj("properties")
	}
	if priv.Str("issuerId") == "" {
		priv["issuerId"] = arm.NewGUID()
		priv["issuerURL"] = IssuerURLFor(loc, c.Tenant(), priv.Str("issuerId"))
	}
	if priv.Str("fqdnHash") == "" {
		priv["fqdnHash"] = randHex(4)
	}
	if priv.Str("resourceUID") == "" {
		priv["resourceUID"] = randHex(12)
	}

	p := doc.Props()
	if err := checkIdentity(old, doc, p); err != nil {
		return err
	}

	// dnsPrefix and nodeResourceGroup are fixed at create.
	dns := p.Str("dnsPrefix")
	if old != nil {
		if prev := op.Str("dnsPrefix"); dns != "" && !strings.EqualFold(dns, prev) {
			return propertyChange("dnsPrefix")
		}
		dns = op.Str("dnsPrefix")
	}
	if dns == "" {
		dns = defaultDNSPrefix(name)
	}
	if !dnsPrefixRe.MatchString(dns) {
		return invalid("The value of parameter 'dnsPrefix' is invalid: '%s'. A DNS prefix must be 1 to 54 characters long, contain only letters, numbers and hyphens, and start and end with a letter or number.", dns)
	}
	p["dnsPrefix"] = dns
	nrg := p.Str("nodeResourceGroup")
	if old != nil {
		if prev := op.Str("nodeResourceGroup"); nrg != "" && !strings.EqualFold(nrg, prev) {
			return propertyChange("nodeResourceGroup")
		}
		nrg = op.Str("nodeResourceGroup")
	}
	if nrg == "" {
		nrg = "MC_" + id.ResourceGroup + "_" + name + "_" + loc
		if len(nrg) > 80 {
			nrg = nrg[:80]
		}
	}
	p["nodeResourceGroup"] = nrg

	version := p.Str("kubernetesVersion")
	if version == "" {
		version = op.Str("kubernetesVersion")
	}
	if version == "" {
		version = DefaultKubernetesVersion
	}
	if !versionRe.MatchString(version) {
		return armerr.BadRequest("AgentPoolK8sVersionNotSupported", "Version %s is not supported in this region.", version)
	}
	p["kubernetesVersion"] = version
	current := version
	if strings.Count(current, ".") == 1 {
		current += ".0"
	}
	p["currentKubernetesVersion"] = current
	if err := preparePools(p, current); err != nil {
		return err
	}

	// OIDC issuer and workload identity.
	prevOIDC, _ := op.Bool("oidcIssuerProfile", "enabled")
	oidc, set := p.Bool("oidcIssuerProfile", "enabled")
	if !set {
		oidc = prevOIDC
	}
	if prevOIDC && !oidc {
		return armerr.BadRequest("OIDCIssuerFeatureCannotBeDisabled", "OIDC issuer feature cannot be disabled.")
	}
	profile := arm.Doc{"enabled": oidc}
	if oidc {
		profile["issuerURL"] = priv.Str("issuerURL")
	}
	p["oidcIssuerProfile"] = profile
	if wi, _ := p.Bool("securityProfile", "workloadIdentity", "enabled"); wi && !oidc {
		return armerr.BadRequest("InvalidParameter",
			"Enabling workload identity requires enabling OIDC issuer: set 'properties.oidcIssuerProfile.enabled' to true.")
	}

	// The kubelet identity lives in the node resource group.
	if old == nil {
		kubelet, err := createNodeResources(c, id, doc, p, nrg, loc)
		if err != nil {
			return err
		}
		if kubelet != nil {
			p["identityProfile"] = arm.Doc{KubeletIdentityKey: kubelet}
		} else {
			delete(p, "identityProfile")
		}
	} else if ip := op.Obj("identityProfile"); ip != nil {
		p["identityProfile"] = ip
	} else {
		delete(p, "identityProfile")
	}

	p.SetDefault(true, "enableRBAC")
	p.SetDefault(false, "disableLocalAccounts")
	p.SetDefault("KubernetesOfficial", "supportPlan")
	p.SetDefault("Enabled", "publicNetworkAccess")
	net := p.Obj("networkProfile")
	if net == nil {
		net = arm.Doc{}
	}
	net.SetDefault("kubenet", "networkPlugin")
	net.SetDefault("10.244.0.0/16", "podCidr")
	net.SetDefault("10.0.0.0/16", "serviceCidr")
	net.SetDefault("10.0.0.10", "dnsServiceIP")
	net.SetDefault("loadBalancer", "outboundType")
	net.SetDefault("standard", "loadBalancerSku")
	net.SetDefault([]any{"IPv4"}, "ipFamilies")
	p["networkProfile"] = net
	host := strings.ToLower(dns) + "-" + priv.Str("fqdnHash")
	p["fqdn"] = host + ".hcp." + loc + ".azmk8s.io"
	p["azurePortalFQDN"] = host + ".portal.hcp." + loc + ".azmk8s.io"
	p["maxAgentPools"] = 100
	p["resourceUID"] = priv.Str("resourceUID")
	p["provisioningState"] = "Succeeded"
	p["powerState"] = arm.Doc{"code": "Running"}
	if s := op.Obj("powerState").Str("code"); s != "" {
		p["powerState"] = arm.Doc{"code": s}
	}
	if doc.Obj("sku") == nil {
		doc["sku"] = arm.Doc{"name": "Base", "tier": "Free"}
	}
	return nil
}

func propertyChange(prop string) error {
	return armerr.BadRequest("PropertyChangeNotAllowed", "Changing property '%s' is not allowed.", prop)
}

// checkIdentity enforces AKS's identity rules and sets the service
// principal profile.
func checkIdentity(old, doc, p arm.Doc) error {
	system, user, err := arm.ParseIdentityType(doc.Obj("identity").Str("type"))
	if err != nil {
		return err
	}
	if system && user {
		return armerr.BadRequest("InvalidParameter", "The identity type 'SystemAssigned, UserAssigned' is not supported for managed clusters; use 'SystemAssigned' or 'UserAssigned'.")
	}
	if user && len(doc.Obj("identity").Obj("userAssignedIdentities")) != 1 {
		return armerr.BadRequest("InvalidParameter", "A managed cluster supports exactly one user assigned identity for its control plane.")
	}
	if system || user {
		p["servicePrincipalProfile"] = arm.Doc{"clientId": "msi"}
		return nil
	}
	if old != nil {
		if os, ou, _ := arm.ParseIdentityType(old.Obj("identity").Str("type")); os || ou {
			return armerr.BadRequest("InvalidParameter", "A managed identity cluster cannot be changed to use a service principal.")
		}
	}
	clientID := p.Str("servicePrincipalProfile", "clientId")
	if clientID == "" || strings.EqualFold(clientID, "msi") {
		return armerr.BadRequest("InvalidParameter",
			"The managed cluster needs an identity: set 'identity.type' to 'SystemAssigned' or 'UserAssigned', or give 'properties.servicePrincipalProfile.clientId' and its secret.")
	}
	// The secret is never stored: Azure never returns it.
	p["servicePrincipalProfile"] = arm.Doc{"clientId": clientID}
	return nil
}

// preparePools validates agent pools and fills their read-only fields.
func preparePools(p arm.Doc, version string) error {
	raw, present := p["agentPoolProfiles"]
	var pools []any
	if present && raw != nil {
		arr, ok := raw.([]any)
		if !ok {
			return armerr.InvalidRequestContent("'properties.agentPoolProfiles' must be an array")
		}
		pools = arr
	}
	if len(pools) == 0 {
		pools = []any{map[string]any{"name": "nodepool1", "count": json.Number("1"), "mode": "System"}}
	}
	seen := map[string]bool{}
	system := false
	for i, e := range pools {
		ap, ok := e.(map[string]any)
		if !ok {
			if d, isDoc := e.(arm.Doc); isDoc {
				ap, ok = d, true
			}
		}
		if !ok {
			return armerr.InvalidRequestContent("each agent pool profile must be an object")
		}
		a := arm.Doc(ap)
		n := a.Str("name")
		if !poolName.MatchString(n) {
			return invalid("The agent pool name '%s' is invalid: it must start with a lowercase letter, contain only lowercase letters and numbers, and be at most 12 characters long.", n)
		}
		if seen[n] {
			return invalid("The agent pool name '%s' is used more than once.", n)
		}
		seen[n] = true
		count := int64(1)
		if v, ok := a["count"]; ok && v != nil {
			num, isNum := v.(json.Number)
			var err error
			if isNum {
				count, err = num.Int64()
			}
			if !isNum || err != nil || count < 0 || count > 1000 {
				return invalid("The value of 'count' of agent pool '%s' is invalid: it must be an integer from 0 to 1000.", n)
			}
		}
		mode := a.Str("mode")
		switch strings.ToLower(mode) {
		case "":
			mode = "User"
			if i == 0 {
				mode = "System"
			}
		case "system":
			mode = "System"
		case "user":
			mode = "User"
		case "gateway":
			mode = "Gateway"
		default:
			return invalid("The mode '%s' of agent pool '%s' is invalid; use 'System' or 'User'.", mode, n)
		}
		if mode == "System" {
			system = true
		}
		a["count"] = count
		a["mode"] = mode
		a.SetDefault("Standard_DS2_v2", "vmSize")
		a.SetDefault("Linux", "osType")
		a.SetDefault("Ubuntu", "osSKU")
		a.SetDefault("VirtualMachineScaleSets", "type")
		a.SetDefault(128, "osDiskSizeGB")
		a.SetDefault("Managed", "osDiskType")
		a.SetDefault("OS", "kubeletDiskType")
		a.SetDefault(110, "maxPods")
		a.SetDefault(false, "enableAutoScaling")
		a.SetDefault(false, "enableNodePublicIP")
		a.SetDefault(false, "enableFIPS")
		a.SetDefault(version, "orchestratorVersion")
		a["currentOrchestratorVersion"] = version
		a["provisioningState"] = "Succeeded"
		a["powerState"] = arm.Doc{"code": "Running"}
		a.SetDefault("AKSUbuntu-2204gen2containerd-202501.12.0", "nodeImageVersion")
		pools[i] = a
	}
	if !system {
		return invalid("A managed cluster must have at least one agent pool in 'System' mode.")
	}
	p["agentPoolProfiles"] = pools
	return nil
}

// createNodeResources makes the node resource group and the kubelet
// identity, or resolves a kubelet identity the request brings.
func createNodeResources(c *arm.Call, clusterID resourceid.ID, doc, p arm.Doc, nrg, loc string) (arm.Doc, error) {
	groupID := resourceid.ID{Subscription: clusterID.Subscription, ResourceGroup: nrg}
	if strings.EqualFold(nrg, clusterID.ResourceGroup) {
		return nil, invalid("The node resource group '%s' must differ from the cluster's resource group.", nrg)
	}
	existing, err := c.Get(groupID)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return nil, armerr.BadRequest("InvalidParameter", "The node resource group '%s' already exists. Name a resource group that does not exist; AKS creates it.", nrg)
	}

	// Bring your own kubelet identity.
	var byo resourceid.ID
	if sent := p.Obj("identityProfile").Obj(KubeletIdentityKey); sent != nil && sent.Str("resourceId") != "" {
		if _, user, _ := arm.ParseIdentityType(doc.Obj("identity").Str("type")); !user {
			return nil, armerr.BadRequest("CustomKubeletIdentityOnlySupportedOnUserAssignedMSICluster",
				"A custom kubelet identity is only supported on clusters whose control plane uses a user assigned identity.")
		}
		byo, err = resourceid.Parse(sent.Str("resourceId"))
		if err != nil || !strings.EqualFold(byo.Type(), msi.IdentityType) {
			return nil, armerr.BadRequest("CustomKubeletIdentityPropertyError", "The kubelet identity '%s' is not a user assigned identity resource id.", sent.Str("resourceId"))
		}
	}

	group := arm.Doc{
		"id": groupID.String(), "name": nrg, "type": resourceGroupType, "location": loc,
		"managedBy": doc.Str("id"), "tags": arm.Doc{}, "properties": arm.Doc{"provisioningState": "Succeeded"},
	}
	if err := c.Save(c.S.Registry.Lookup(resourceGroupType), group); err != nil {
		return nil, err
	}

	if byo.IsResource() {
		ident, err := c.Get(byo)
		if err != nil {
			return nil, err
		}
		if ident == nil {
			return nil, armerr.BadRequest("CustomKubeletIdentityPropertyError", "The kubelet identity '%s' does not exist.", byo)
		}
		const assign = msi.IdentityType + "/assign/action"
		if !c.Can(assign, byo) {
			return nil, armerr.LinkedAuthorizationFailed(c.Caller.ClientID, c.Caller.ObjectID,
				ClusterType+"/write", doc.Str("id"), assign, byo.String())
		}
		ip := ident.Obj("properties")
		return arm.Doc{"resourceId": ident.Str("id"), "clientId": ip.Str("clientId"), "objectId": ip.Str("principalId")}, nil
	}

	if system, user, _ := arm.ParseIdentityType(doc.Obj("identity").Str("type")); !system && !user {
		// A service principal cluster: the kubelet uses the principal.
		return nil, nil
	}
	identName := doc.Str("name") + "-agentpool"
	identID := resourceid.ID{
		Subscription: clusterID.Subscription, ResourceGroup: nrg,
		Providers: []resourceid.Provider{{Namespace: "Microsoft.ManagedIdentity", Types: []string{"userAssignedIdentities"}, Names: []string{identName}}},
	}
	pr := &store.Principal{
		ObjectID: arm.NewGUID(), ClientID: arm.NewGUID(), Kind: store.KindUserAssigned,
		DisplayName: identName, ResourceID: identID.String(),
	}
	if err := c.Tx.CreatePrincipal(c.Ctx, pr); err != nil {
		return nil, err
	}
	ident := arm.Doc{
		"id": identID.String(), "name": identName, "type": msi.IdentityType, "location": loc, "tags": arm.Doc{},
		"properties": arm.Doc{"tenantId": c.Tenant(), "principalId": pr.ObjectID, "clientId": pr.ClientID},
	}
	if err := c.Save(c.S.Registry.Lookup(msi.IdentityType), ident); err != nil {
		return nil, err
	}
	return arm.Doc{"resourceId": identID.String(), "clientId": pr.ClientID, "objectId": pr.ObjectID}, nil
}

// deletingCluster deletes the node resource group the cluster manages.
func deletingCluster(c *arm.Call, doc arm.Doc) error {
	nrg := doc.Str("properties", "nodeResourceGroup")
	if nrg == "" {
		return nil
	}
	id, err := arm.ParseDocID(doc)
	if err != nil {
		return err
	}
	groupID := resourceid.ID{Subscription: id.Subscription, ResourceGroup: nrg}
	group, err := c.Get(groupID)
	if err != nil || group == nil {
		return err
	}
	if !strings.EqualFold(group.Str("managedBy"), doc.Str("id")) {
		return nil
	}
	if err := c.DeleteTree(groupID); err != nil {
		return err
	}
	// Role assignments in the node group went with it.
	return c.RBACChanged()
}

func defaultDNSPrefix(name string) string {
	s := strings.Trim(notDNSLetters.ReplaceAllString(name, ""), "-")
	if len(s) > 54 {
		s = strings.TrimRight(s[:54], "-")
	}
	if s == "" {
		s = "aks"
	}
	return s
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// IssuerURLFor is the OIDC issuer URL of a cluster in a location and tenant
// with an issuer guid.
func IssuerURLFor(location, tenant, issuerID string) string {
	return fmt.Sprintf("https://%s.oic.prod-aks.azure.com/%s/%s/", location, tenant, issuerID)
}

// IssuerURL returns the OIDC issuer URL of a stored cluster document, or ""
// when its issuer is disabled.
func IssuerURL(doc arm.Doc) string {
	if on, _ := doc.Bool("properties", "oidcIssuerProfile", "enabled"); !on {
		return ""
	}
	return doc.Obj(arm.Private).Str("issuerURL")
}

// IssuerID returns the issuer guid of a stored cluster document: the last
// path segment of its issuer URL, drawn once at create.
func IssuerID(doc arm.Doc) string { return doc.Obj(arm.Private).Str("issuerId") }

// KubeletIdentity returns identityProfile.kubeletidentity of a stored
// cluster document: resourceId, clientId and objectId.
func KubeletIdentity(doc arm.Doc) arm.Doc {
	return doc.Obj("properties").Obj("identityProfile").Obj(KubeletIdentityKey)
}

// FindByIssuer returns the cluster whose issuer guid is issuerID, whether
// its issuer is enabled or not, or store.ErrNotFound.
func FindByIssuer(ctx context.Context, tx store.Tx, issuerID string) (arm.Doc, error) {
	rs, err := tx.ListResources(ctx, store.ResourceFilter{Type: ClusterType})
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if !strings.Contains(strings.ToLower(string(r.Body)), strings.ToLower(issuerID)) {
			continue
		}
		doc, err := arm.DecodeDoc(r.Body)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(IssuerID(doc), issuerID) {
			return doc, nil
		}
	}
	return nil, store.ErrNotFound
}
