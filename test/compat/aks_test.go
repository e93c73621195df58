package compat

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
)

func clusters(t *testing.T) *armcontainerservice.ManagedClustersClient {
	c, err := armcontainerservice.NewManagedClustersClient(sub(), env.Operator(t), env.ARMOptions())
	must(t, err)
	return c
}

func putCluster(t *testing.T, rg, name string, mc armcontainerservice.ManagedCluster) (armcontainerservice.ManagedCluster, error) {
	t.Helper()
	p, err := clusters(t).BeginCreateOrUpdate(ctx(t), rg, name, mc, nil)
	if err != nil {
		return armcontainerservice.ManagedCluster{}, err
	}
	r, err := p.PollUntilDone(ctx(t), nil)
	return r.ManagedCluster, err
}

func getCluster(t *testing.T, rg, name string) armcontainerservice.ManagedCluster {
	t.Helper()
	r, err := clusters(t).Get(ctx(t), rg, name, nil)
	must(t, err)
	return r.ManagedCluster
}

func TestAKSWorkloadIdentity(t *testing.T) {
	rg := newGroup(t, "rg-aks", nil)
	name := uniq(t, "aks")
	mc, err := putCluster(t, rg, name, armcontainerservice.ManagedCluster{
		Location: to.Ptr("westeurope"),
		Identity: &armcontainerservice.ManagedClusterIdentity{Type: to.Ptr(armcontainerservice.ResourceIdentityTypeSystemAssigned)},
		Properties: &armcontainerservice.ManagedClusterProperties{
			AgentPoolProfiles: []*armcontainerservice.ManagedClusterAgentPoolProfile{{
				Name: to.Ptr("system"), Count: to.Ptr[int32](2), VMSize: to.Ptr("Standard_D2s_v3"),
				Mode: to.Ptr(armcontainerservice.AgentPoolModeSystem),
			}},
		},
	})
	must(t, err)
	p := mc.Properties
	if *p.ProvisioningState != "Succeeded" || *p.PowerState.Code != armcontainerservice.CodeRunning || *p.KubernetesVersion == "" || !*p.EnableRBAC {
		t.Fatalf("cluster properties %+v", p)
	}
	nrg := "MC_" + rg + "_" + name + "_westeurope"
	if *p.NodeResourceGroup != nrg || *p.DNSPrefix != name || *p.ServicePrincipalProfile.ClientID != "msi" {
		t.Fatalf("node group %s, dns prefix %s, service principal %s", *p.NodeResourceGroup, *p.DNSPrefix, *p.ServicePrincipalProfile.ClientID)
	}
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `-[0-9a-f]{8}\.hcp\.westeurope\.azmk8s\.io$`).MatchString(*p.Fqdn) {
		t.Fatalf("fqdn %s", *p.Fqdn)
	}
	if len(p.AgentPoolProfiles) != 1 || *p.AgentPoolProfiles[0].Count != 2 || *p.AgentPoolProfiles[0].ProvisioningState != "Succeeded" {
		t.Fatalf("agent pools %+v", p.AgentPoolProfiles[0])
	}
	if p.OidcIssuerProfile != nil && (p.OidcIssuerProfile.Enabled != nil && *p.OidcIssuerProfile.Enabled || p.OidcIssuerProfile.IssuerURL != nil) {
		t.Fatalf("oidc issuer on a cluster created without it: %+v", p.OidcIssuerProfile)
	}
	if mc.Identity.PrincipalID == nil || *mc.Identity.TenantID != env.Profile.TenantID {
		t.Fatalf("control plane identity %+v", mc.Identity)
	}

	// The kubelet identity is a real identity in the node resource group.
	kubelet := p.IdentityProfile["kubeletidentity"]
	wantKubeletID := rgID(nrg) + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name + "-agentpool"
	if kubelet == nil || *kubelet.ResourceID != wantKubeletID {
		t.Fatalf("kubelet identity %+v, want %s", kubelet, wantKubeletID)
	}
	ki, err := identities(t).Get(ctx(t), nrg, name+"-agentpool", nil)
	must(t, err)
	if *ki.Properties.ClientID != *kubelet.ClientID || *ki.Properties.PrincipalID != *kubelet.ObjectID {
		t.Fatalf("kubelet identity resource %+v vs profile %+v", ki.Properties, kubelet)
	}
	g, err := groups(t).Get(ctx(t), nrg, nil)
	must(t, err)
	if g.ManagedBy == nil || !strings.EqualFold(*g.ManagedBy, *mc.ID) || *g.Location != "westeurope" {
		t.Fatalf("node resource group %+v", g.ResourceGroup)
	}

	// Workload identity needs the OIDC issuer.
	cur := getCluster(t, rg, name)
	cur.Properties.SecurityProfile = &armcontainerservice.ManagedClusterSecurityProfile{
		WorkloadIdentity: &armcontainerservice.ManagedClusterSecurityProfileWorkloadIdentity{Enabled: to.Ptr(true)},
	}
	_, err = putCluster(t, rg, name, cur)
	if code, ec := respErr(t, err); code != http.StatusBadRequest || ec != "InvalidParameter" {
		t.Fatalf("workload identity without OIDC: %d %s", code, ec)
	}

	// Enable both, as az aks update does: GET, modify, PUT.
	cur = getCluster(t, rg, name)
	cur.Properties.OidcIssuerProfile = &armcontainerservice.ManagedClusterOIDCIssuerProfile{Enabled: to.Ptr(true)}
	cur.Properties.SecurityProfile = &armcontainerservice.ManagedClusterSecurityProfile{
		WorkloadIdentity: &armcontainerservice.ManagedClusterSecurityProfileWorkloadIdentity{Enabled: to.Ptr(true)},
	}
	upd, err := putCluster(t, rg, name, cur)
	must(t, err)
	issuer := upd.Properties.OidcIssuerProfile
	re := regexp.MustCompile(`^https://westeurope\.oic\.prod-aks\.azure\.com/` + env.Profile.TenantID + `/[0-9a-f-]{36}/$`)
	if issuer == nil || !*issuer.Enabled || issuer.IssuerURL == nil || !re.MatchString(*issuer.IssuerURL) {
		t.Fatalf("issuer profile %+v", issuer)
	}
	if !*upd.Properties.SecurityProfile.WorkloadIdentity.Enabled {
		t.Fatal("workload identity not enabled")
	}
	if *upd.Identity.PrincipalID != *mc.Identity.PrincipalID || *upd.Properties.IdentityProfile["kubeletidentity"].ClientID != *kubelet.ClientID {
		t.Fatal("an update changed the cluster's identities")
	}

	// Server-only state never shows.
	if code, body := rawARM(t, http.MethodGet, *mc.ID+"?api-version=2022-11-01", ""); code != http.StatusOK || strings.Contains(body, "_mimic") || !strings.Contains(body, *issuer.IssuerURL) {
		t.Fatalf("raw GET: %d %s", code, body)
	}

	// The issuer URL is stable across updates.
	cur = getCluster(t, rg, name)
	cur.Tags = map[string]*string{"env": to.Ptr("dev")}
	cur.Properties.OidcIssuerProfile = nil // omitted: kept
	upd2, err := putCluster(t, rg, name, cur)
	must(t, err)
	if *upd2.Properties.OidcIssuerProfile.IssuerURL != *issuer.IssuerURL || *upd2.Tags["env"] != "dev" {
		t.Fatalf("issuer changed: %s, then %s", *issuer.IssuerURL, *upd2.Properties.OidcIssuerProfile.IssuerURL)
	}
	if got := getCluster(t, rg, name); *got.Properties.OidcIssuerProfile.IssuerURL != *issuer.IssuerURL {
		t.Fatalf("GET issuer %s", *got.Properties.OidcIssuerProfile.IssuerURL)
	}

	// Once on, the issuer stays on; dnsPrefix is fixed.
	cur = getCluster(t, rg, name)
	cur.Properties.OidcIssuerProfile = &armcontainerservice.ManagedClusterOIDCIssuerProfile{Enabled: to.Ptr(false)}
	_, err = putCluster(t, rg, name, cur)
	if code, ec := respErr(t, err); code != http.StatusBadRequest || ec != "OIDCIssuerFeatureCannotBeDisabled" {
		t.Fatalf("disable OIDC: %d %s", code, ec)
	}
	cur = getCluster(t, rg, name)
	cur.Properties.DNSPrefix = to.Ptr("other")
	_, err = putCluster(t, rg, name, cur)
	if code, ec := respErr(t, err); code != http.StatusBadRequest || ec != "PropertyChangeNotAllowed" {
		t.Fatalf("change dnsPrefix: %d %s", code, ec)
	}

	// Delete removes the node resource group and the kubelet identity.
	dp, err := clusters(t).BeginDelete(ctx(t), rg, name, nil)
	must(t, err)
	_, err = dp.PollUntilDone(ctx(t), nil)
	must(t, err)
	_, err = clusters(t).Get(ctx(t), rg, name, nil)
	if code, ec := respErr(t, err); code != http.StatusNotFound || ec != "ResourceNotFound" {
		t.Fatalf("get after delete: %d %s", code, ec)
	}
	_, err = groups(t).Get(ctx(t), nrg, nil)
	if code, ec := respErr(t, err); code != http.StatusNotFound || ec != "ResourceGroupNotFound" {
		t.Fatalf("node group after delete: %d %s", code, ec)
	}
	_, err = identities(t).Get(ctx(t), nrg, name+"-agentpool", nil)
	if code, _ := respErr(t, err); code != http.StatusNotFound {
		t.Fatalf("kubelet identity after delete: %d", code)
	}
}

func TestAKSUserAssignedAndDefaults(t *testing.T) {
	rg := newGroup(t, "rg-aksuai", nil)
	cp := newIdentity(t, rg, "aks-cp")
	name := uniq(t, "aks")
	mc, err := putCluster(t, rg, name, armcontainerservice.ManagedCluster{
		Location: to.Ptr("eastus"),
		Identity: &armcontainerservice.ManagedClusterIdentity{
			Type:                   to.Ptr(armcontainerservice.ResourceIdentityTypeUserAssigned),
			UserAssignedIdentities: map[string]*armcontainerservice.ManagedServiceIdentityUserAssignedIdentitiesValue{*cp.ID: {}},
		},
		Properties: &armcontainerservice.ManagedClusterProperties{
			DNSPrefix:         to.Ptr("mydns"),
			OidcIssuerProfile: &armcontainerservice.ManagedClusterOIDCIssuerProfile{Enabled: to.Ptr(true)},
		},
	})
	must(t, err)
	p := mc.Properties
	if ua := mc.Identity.UserAssignedIdentities[*cp.ID]; ua == nil || *ua.ClientID != *cp.Properties.ClientID {
		t.Fatalf("control plane identity %+v", mc.Identity)
	}
	if len(p.AgentPoolProfiles) != 1 || *p.AgentPoolProfiles[0].Name != "nodepool1" || *p.AgentPoolProfiles[0].Count != 1 || *p.AgentPoolProfiles[0].Mode != armcontainerservice.AgentPoolModeSystem {
		t.Fatalf("default agent pool %+v", p.AgentPoolProfiles)
	}
	if !strings.HasPrefix(*p.Fqdn, "mydns-") || !strings.HasPrefix(*p.OidcIssuerProfile.IssuerURL, "https://eastus.oic.prod-aks.azure.com/"+env.Profile.TenantID+"/") {
		t.Fatalf("fqdn %s issuer %s", *p.Fqdn, *p.OidcIssuerProfile.IssuerURL)
	}
	// Deleting the cluster's group deletes the cluster and its node group.
	gp, err := groups(t).BeginDelete(ctx(t), rg, nil)
	must(t, err)
	_, err = gp.PollUntilDone(ctx(t), nil)
	must(t, err)
	_, err = groups(t).Get(ctx(t), *p.NodeResourceGroup, nil)
	if code, _ := respErr(t, err); code != http.StatusNotFound {
		t.Fatalf("node group after deleting the cluster's group: %d", code)
	}
}

func TestAKSErrors(t *testing.T) {
	rg := newGroup(t, "rg-akserr", nil)
	cp := newIdentity(t, rg, "aks-cp")
	system := &armcontainerservice.ManagedClusterIdentity{Type: to.Ptr(armcontainerservice.ResourceIdentityTypeSystemAssigned)}
	cases := []struct {
		what string
		name string
		mc   armcontainerservice.ManagedCluster
		code int
		ec   string
	}{
		{"bad name", "-bad", armcontainerservice.ManagedCluster{Location: to.Ptr("westeurope"), Identity: system}, 400, "InvalidParameter"},
		{"both identity types", uniq(t, "aks"), armcontainerservice.ManagedCluster{Location: to.Ptr("westeurope"), Identity: &armcontainerservice.ManagedClusterIdentity{
			Type:                   to.Ptr(armcontainerservice.ResourceIdentityType("SystemAssigned, UserAssigned")),
			UserAssignedIdentities: map[string]*armcontainerservice.ManagedServiceIdentityUserAssignedIdentitiesValue{*cp.ID: {}},
		}}, 400, "InvalidParameter"},
		{"no identity", uniq(t, "aks"), armcontainerservice.ManagedCluster{Location: to.Ptr("westeurope")}, 400, "InvalidParameter"},
		{"no system pool", uniq(t, "aks"), armcontainerservice.ManagedCluster{Location: to.Ptr("westeurope"), Identity: system, Properties: &armcontainerservice.ManagedClusterProperties{
			AgentPoolProfiles: []*armcontainerservice.ManagedClusterAgentPoolProfile{{Name: to.Ptr("user"), Mode: to.Ptr(armcontainerservice.AgentPoolModeUser)}},
		}}, 400, "InvalidParameter"},
		{"workload identity without issuer", uniq(t, "aks"), armcontainerservice.ManagedCluster{Location: to.Ptr("westeurope"), Identity: system, Properties: &armcontainerservice.ManagedClusterProperties{
			SecurityProfile: &armcontainerservice.ManagedClusterSecurityProfile{WorkloadIdentity: &armcontainerservice.ManagedClusterSecurityProfileWorkloadIdentity{Enabled: to.Ptr(true)}},
		}}, 400, "InvalidParameter"},
		{"no location", uniq(t, "aks"), armcontainerservice.ManagedCluster{Identity: system}, 400, "LocationRequired"},
	}
	for _, tc := range cases {
		_, err := putCluster(t, rg, tc.name, tc.mc)
		if code, ec := respErr(t, err); code != tc.code || ec != tc.ec {
			t.Errorf("%s: %d %s, want %d %s", tc.what, code, ec, tc.code, tc.ec)
		}
	}
	_, err := putCluster(t, uniq(t, "rg-missing"), uniq(t, "aks"), armcontainerservice.ManagedCluster{Location: to.Ptr("westeurope"), Identity: system})
	if code, ec := respErr(t, err); code != http.StatusNotFound || ec != "ResourceGroupNotFound" {
		t.Errorf("missing group: %d %s", code, ec)
	}
	// A failed create leaves no node resource group behind.
	_, err = groups(t).Get(ctx(t), "MC_"+rg+"_-bad_westeurope", nil)
	if code, _ := respErr(t, err); code != http.StatusNotFound {
		t.Errorf("node group of a failed create: %d", code)
	}
}
