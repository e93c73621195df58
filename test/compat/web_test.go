package compat

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v4"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
)

func webApps(t *testing.T) *armappservice.WebAppsClient {
	c, err := armappservice.NewWebAppsClient(sub(), env.Operator(t), env.ARMOptions())
	must(t, err)
	return c
}

func createSite(t *testing.T, rg, name string, site armappservice.Site) armappservice.Site {
	t.Helper()
	p, err := webApps(t).BeginCreateOrUpdate(ctx(t), rg, name, site, nil)
	must(t, err)
	r, err := p.PollUntilDone(ctx(t), nil)
	must(t, err)
	return r.Site
}

func siteIdentity(uais ...string) *armappservice.ManagedServiceIdentity {
	m := map[string]*armappservice.UserAssignedIdentity{}
	for _, id := range uais {
		m[id] = &armappservice.UserAssignedIdentity{}
	}
	return &armappservice.ManagedServiceIdentity{
		Type:                   to.Ptr(armappservice.ManagedServiceIdentityTypeSystemAssignedUserAssigned),
		UserAssignedIdentities: m,
	}
}

// testSiteIdentityAndSettings drives one site of a kind through identities,
// app settings, site config and delete.
func testSiteIdentityAndSettings(t *testing.T, kindSent, kindWant string, linux bool) {
	rg := newGroup(t, "rg-web", nil)
	uai := newIdentity(t, rg, "id-site")
	name := uniq(t, "site")
	site := createSite(t, rg, name, armappservice.Site{
		Location: to.Ptr("westeurope"),
		Kind:     to.Ptr(kindSent),
		Identity: siteIdentity(*uai.ID),
		Properties: &armappservice.SiteProperties{
			HTTPSOnly: to.Ptr(true),
			SiteConfig: &armappservice.SiteConfig{
				AlwaysOn:    to.Ptr(true),
				AppSettings: []*armappservice.NameValuePair{{Name: to.Ptr("FROM_CREATE"), Value: to.Ptr("1")}},
			},
		},
	})
	if *site.Kind != kindWant {
		t.Errorf("kind %q, want %q", *site.Kind, kindWant)
	}
	id := site.Identity
	if id == nil || *id.Type != armappservice.ManagedServiceIdentityTypeSystemAssignedUserAssigned || id.PrincipalID == nil || *id.TenantID != env.Profile.TenantID {
		t.Fatalf("identity %+v", id)
	}
	ua := id.UserAssignedIdentities[*uai.ID]
	if ua == nil || *ua.ClientID != *uai.Properties.ClientID || *ua.PrincipalID != *uai.Properties.PrincipalID {
		t.Fatalf("user assigned identity %+v, want client %s", ua, *uai.Properties.ClientID)
	}
	p := site.Properties
	host := strings.ToLower(name) + ".azurewebsites.net"
	if *p.DefaultHostName != host || *p.State != "Running" || !*p.Enabled || !*p.HTTPSOnly || *p.Reserved != linux ||
		*p.ResourceGroup != rg || *p.UsageState != armappservice.UsageStateNormal || *p.AvailabilityState != armappservice.SiteAvailabilityStateNormal {
		t.Fatalf("site properties %+v", p)
	}
	if len(p.HostNames) != 1 || *p.HostNames[0] != host || len(p.EnabledHostNames) != 2 || p.ServerFarmID == nil || *p.ServerFarmID == "" {
		t.Fatalf("host names %v / %v, server farm %v", p.HostNames, p.EnabledHostNames, p.ServerFarmID)
	}
	if p.SiteConfig == nil || p.SiteConfig.AlwaysOn == nil || !*p.SiteConfig.AlwaysOn || p.SiteConfig.AppSettings != nil {
		t.Fatalf("site config %+v", p.SiteConfig)
	}
	systemPrincipal := *id.PrincipalID

	got, err := webApps(t).Get(ctx(t), rg, name, nil)
	must(t, err)
	if *got.ID != *site.ID || *got.Identity.PrincipalID != systemPrincipal || *got.Properties.DefaultHostName != host {
		t.Fatalf("get %+v", got.Site)
	}

	// App settings from siteConfig at create are the site's app settings.
	list, err := webApps(t).ListApplicationSettings(ctx(t), rg, name, nil)
	must(t, err)
	if v := list.Properties["FROM_CREATE"]; v == nil || *v != "1" || len(list.Properties) != 1 {
		t.Fatalf("settings after create %v", list.Properties)
	}
	if *list.ID != *site.ID+"/config/appsettings" || *list.Name != "appsettings" || *list.Type != "Microsoft.Web/sites/config" {
		t.Fatalf("settings resource %s %s %s", *list.ID, *list.Name, *list.Type)
	}

	// PUT replaces the settings.
	upd, err := webApps(t).UpdateApplicationSettings(ctx(t), rg, name, armappservice.StringDictionary{
		Properties: map[string]*string{"AZURE_CLIENT_ID": uai.Properties.ClientID, "MODE": to.Ptr("test")},
	}, nil)
	must(t, err)
	if len(upd.Properties) != 2 || *upd.Properties["AZURE_CLIENT_ID"] != *uai.Properties.ClientID {
		t.Fatalf("update settings answer %v", upd.Properties)
	}
	list, err = webApps(t).ListApplicationSettings(ctx(t), rg, name, nil)
	must(t, err)
	if len(list.Properties) != 2 || list.Properties["FROM_CREATE"] != nil || *list.Properties["AZURE_CLIENT_ID"] != *uai.Properties.ClientID || *list.Properties["MODE"] != "test" {
		t.Fatalf("settings after update %v", list.Properties)
	}
	// Settings are read with the list action only.
	if code, body := rawARM(t, http.MethodGet, *site.ID+"/config/appsettings?api-version=2023-12-01", ""); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET config/appsettings: %d %s", code, body)
	}
	// Non-string values are refused.
	if code, body := rawARM(t, http.MethodPut, *site.ID+"/config/appsettings?api-version=2023-12-01", `{"properties":{"N":1}}`); code != http.StatusBadRequest {
		t.Fatalf("numeric app setting: %d %s", code, body)
	}

	// Site config.
	cfg, err := webApps(t).GetConfiguration(ctx(t), rg, name, nil)
	must(t, err)
	if *cfg.Name != "web" || *cfg.ID != *site.ID+"/config/web" || cfg.Properties == nil || !*cfg.Properties.AlwaysOn || cfg.Properties.AppSettings != nil {
		t.Fatalf("config/web %+v", cfg.SiteConfigResource)
	}
	patched, err := webApps(t).UpdateConfiguration(ctx(t), rg, name, armappservice.SiteConfigResource{
		Properties: &armappservice.SiteConfig{Http20Enabled: to.Ptr(true)},
	}, nil)
	must(t, err)
	if !*patched.Properties.Http20Enabled || !*patched.Properties.AlwaysOn {
		t.Fatalf("patched config %+v", patched.Properties)
	}
	put, err := webApps(t).CreateOrUpdateConfiguration(ctx(t), rg, name, armappservice.SiteConfigResource{
		Properties: &armappservice.SiteConfig{MinTLSVersion: to.Ptr(armappservice.SupportedTLSVersionsOne3)},
	}, nil)
	must(t, err)
	if *put.Properties.MinTLSVersion != armappservice.SupportedTLSVersionsOne3 || !*put.Properties.Http20Enabled {
		t.Fatalf("put config %+v", put.Properties)
	}
	got, err = webApps(t).Get(ctx(t), rg, name, nil)
	must(t, err)
	if sc := got.Properties.SiteConfig; sc == nil || !*sc.Http20Enabled || *sc.MinTLSVersion != armappservice.SupportedTLSVersionsOne3 {
		t.Fatalf("site config after config updates %+v", got.Properties.SiteConfig)
	}

	// What az webapp identity assign does: GET, then PUT the site back with
	// a new identity block. The settings survive.
	got.Identity = &armappservice.ManagedServiceIdentity{
		Type:                   to.Ptr(armappservice.ManagedServiceIdentityTypeUserAssigned),
		UserAssignedIdentities: map[string]*armappservice.UserAssignedIdentity{*uai.ID: {}},
	}
	again := createSite(t, rg, name, got.Site)
	if *again.Identity.Type != armappservice.ManagedServiceIdentityTypeUserAssigned || again.Identity.PrincipalID != nil {
		t.Fatalf("identity after PUT echo %+v", again.Identity)
	}
	if _, err := armmsiSystem(t, *site.ID); err == nil {
		t.Fatal("the system identity survived its removal")
	}
	list, err = webApps(t).ListApplicationSettings(ctx(t), rg, name, nil)
	must(t, err)
	if len(list.Properties) != 2 || *list.Properties["AZURE_CLIENT_ID"] != *uai.Properties.ClientID {
		t.Fatalf("settings after PUT echo %v", list.Properties)
	}

	// Stop and start.
	_, err = webApps(t).Stop(ctx(t), rg, name, nil)
	must(t, err)
	got, err = webApps(t).Get(ctx(t), rg, name, nil)
	must(t, err)
	if *got.Properties.State != "Stopped" {
		t.Fatalf("state after stop %s", *got.Properties.State)
	}

	// Listing by group.
	pager := webApps(t).NewListByResourceGroupPager(rg, nil)
	var names []string
	for pager.More() {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, s := range page.Value {
			names = append(names, *s.Name)
		}
	}
	if !slices.Contains(names, name) {
		t.Fatalf("list by group %v lacks %s", names, name)
	}

	// Delete takes the config with it.
	_, err = webApps(t).Delete(ctx(t), rg, name, nil)
	must(t, err)
	_, err = webApps(t).Get(ctx(t), rg, name, nil)
	if code, ec := respErr(t, err); code != http.StatusNotFound || ec != "ResourceNotFound" {
		t.Fatalf("get after delete: %d %s", code, ec)
	}
	_, err = webApps(t).ListApplicationSettings(ctx(t), rg, name, nil)
	if code, _ := respErr(t, err); code != http.StatusNotFound {
		t.Fatalf("settings after delete: %d", code)
	}
}

func TestWebAppIdentityAndSettings(t *testing.T) {
	testSiteIdentityAndSettings(t, "app", "app", false)
}

func TestWebFunctionAppIdentityAndSettings(t *testing.T) {
	testSiteIdentityAndSettings(t, "FunctionApp, Linux", "functionapp,linux", true)
}

func TestWebAppDefaults(t *testing.T) {
	rg := newGroup(t, "rg-webdef", nil)
	name := uniq(t, "plain")
	site := createSite(t, rg, name, armappservice.Site{Location: to.Ptr("West Europe")})
	if *site.Kind != "app" || *site.Location != "westeurope" || site.Identity != nil || *site.Properties.HTTPSOnly || !*site.Properties.Enabled {
		t.Fatalf("defaults: kind %s location %s identity %+v props %+v", *site.Kind, *site.Location, site.Identity, site.Properties)
	}
	list, err := webApps(t).ListApplicationSettings(ctx(t), rg, name, nil)
	must(t, err)
	if len(list.Properties) != 0 {
		t.Fatalf("a new site has settings %v", list.Properties)
	}
}

func TestWebAppErrors(t *testing.T) {
	rg := newGroup(t, "rg-weberr", nil)
	other := newGroup(t, "rg-weberr2", nil)
	c := webApps(t)
	body := armappservice.Site{Location: to.Ptr("westeurope")}
	for _, bad := range []string{"bad_name", "-lead", "trail-", "x", strings.Repeat("a", 61)} {
		_, err := c.BeginCreateOrUpdate(ctx(t), rg, bad, body, nil)
		if code, ec := respErr(t, err); code != http.StatusBadRequest || ec != "BadRequest" {
			t.Errorf("name %q: %d %s", bad, code, ec)
		}
	}
	_, err := c.BeginCreateOrUpdate(ctx(t), uniq(t, "rg-missing"), uniq(t, "site"), body, nil)
	if code, ec := respErr(t, err); code != http.StatusNotFound || ec != "ResourceGroupNotFound" {
		t.Errorf("missing group: %d %s", code, ec)
	}
	_, err = c.BeginCreateOrUpdate(ctx(t), rg, uniq(t, "site"), armappservice.Site{Location: to.Ptr("westeurope"), Kind: to.Ptr("api")}, nil)
	if code, ec := respErr(t, err); code != http.StatusBadRequest || ec != "InvalidKind" {
		t.Errorf("kind api: %d %s", code, ec)
	}
	// Host names are global: the same name in another group conflicts.
	name := uniq(t, "taken")
	createSite(t, rg, name, body)
	_, err = c.BeginCreateOrUpdate(ctx(t), other, strings.ToUpper(name), body, nil)
	if code, ec := respErr(t, err); code != http.StatusConflict || ec != "Conflict" {
		t.Errorf("duplicate host name: %d %s", code, ec)
	}
	// The same site again is an update.
	createSite(t, rg, name, body)
	// Unknown config names are not emulated.
	siteID := rgID(rg) + "/providers/Microsoft.Web/sites/" + name
	if code, b := rawARM(t, http.MethodPut, siteID+"/config/authsettings?api-version=2023-12-01", `{"properties":{}}`); code != http.StatusNotFound {
		t.Errorf("config/authsettings: %d %s", code, b)
	}
}

// readerToken returns an ARM token of a principal that holds Reader on the
// group: a VM's user-assigned identity, whose token runCommand reveals.
func readerToken(t *testing.T, rg string) string {
	t.Helper()
	reader := newIdentity(t, rg, "reader")
	createVM(t, rg, "reader-vm", &armcompute.VirtualMachineIdentity{
		Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: uaiMap(*reader.ID),
	})
	tok := runCommandToken(t, rg, "reader-vm", nil)["access_token"]
	assign(t, rgID(rg), readerRole, *reader.Properties.PrincipalID)
	return tok
}

func TestWebAppReaderCannotReadSettings(t *testing.T) {
	rg := newGroup(t, "rg-webrbac", nil)
	name := uniq(t, "site")
	site := createSite(t, rg, name, armappservice.Site{Location: to.Ptr("westeurope")})
	_, err := webApps(t).UpdateApplicationSettings(ctx(t), rg, name, armappservice.StringDictionary{Properties: map[string]*string{"SECRET": to.Ptr("s")}}, nil)
	must(t, err)
	asReader, err := armappservice.NewWebAppsClient(sub(), StaticToken(readerToken(t, rg)), env.ARMOptions())
	must(t, err)
	// Reader sees the site and its config…
	if _, err := asReader.Get(ctx(t), rg, name, nil); err != nil {
		t.Fatalf("Reader reading the site: %v", err)
	}
	if _, err := asReader.GetConfiguration(ctx(t), rg, name, nil); err != nil {
		t.Fatalf("Reader reading config/web: %v", err)
	}
	// …but not its settings, and cannot write them.
	_, err = asReader.ListApplicationSettings(ctx(t), rg, name, nil)
	if code, ec := respErr(t, err); code != http.StatusForbidden || ec != "AuthorizationFailed" ||
		!strings.Contains(err.Error(), "'Microsoft.Web/sites/config/list/action' over scope '"+*site.ID+"/config/appsettings'") {
		t.Fatalf("Reader listing settings: %d %s %v", code, ec, err)
	}
	_, err = asReader.UpdateApplicationSettings(ctx(t), rg, name, armappservice.StringDictionary{Properties: map[string]*string{}}, nil)
	if code, ec := respErr(t, err); code != http.StatusForbidden || ec != "AuthorizationFailed" || !strings.Contains(err.Error(), "Microsoft.Web/sites/config/write") {
		t.Fatalf("Reader writing settings: %d %s", code, ec)
	}
}
