// Package web is the Microsoft.Web provider: App Service sites (web apps
// and function apps) with managed identities, and the site configuration
// resources that mimic run needs: app settings, connection strings,
// metadata and the site config ("web").
//
// A site is a description; mimic hosts nothing. What matters is what Azure
// would say about it and what code running on it would see:
//
//   - kind is normalised to lower case without spaces ("app",
//     "app,linux", "functionapp,linux"…); any kind with a token containing
//     "app" is accepted, and the default is "app". A linux kind sets
//     properties.reserved.
//   - Site names are hostnames under azurewebsites.net, so they are unique
//     across every subscription and group: a second site with the same
//     name anywhere is 409 Conflict "Website with given name … already
//     exists." Names are 2-60 letters, digits and hyphens, not starting or
//     ending with a hyphen.
//   - Read-only properties (state, defaultHostName, hostNames,
//     enabledHostNames, usageState, availabilityState, resourceGroup…) are
//     filled by the server. serverFarmId is kept as sent, or points at a
//     default plan of the group when absent.
//   - Every site has the child resources
//     {site}/config/appsettings, /connectionstrings, /metadata and /web,
//     created with it and deleted with it. properties.siteConfig of a site
//     PUT or PATCH feeds them: its appSettings replace the app settings,
//     its connectionStrings replace the connection strings, and the rest is
//     merged into config/web. The site document keeps a copy of config/web
//     without secrets as properties.siteConfig.
//   - App settings and connection strings are secrets as far as ARM is
//     concerned: they are written with PUT (Microsoft.Web/sites/config/write)
//     and read only with POST …/config/{name}/list
//     (Microsoft.Web/sites/config/list/action); GET on them is 405.
//     config/web is read with GET (Microsoft.Web/sites/config/read) and
//     written with PUT or PATCH.
//
// A site PUT answers 200 OK even when it creates the site, as App Service
// does; the Go SDK treats 201 as an error. Config PUTs answer 200 too.
//
// ReadAppSettings gives other planes (mimic run --as <site>) the settings a
// site's code would see in its environment.
package web

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/store"
)

// Type names.
const (
	SiteType   = "Microsoft.Web/sites"
	ConfigType = "Microsoft.Web/sites/config"
)

// HostSuffix is the DNS suffix of sites' default host names.
const HostSuffix = ".azurewebsites.net"

// APIVersions of Microsoft.Web/sites: armappservice/v4 sends 2023-12-01,
// az 2.45 2022-03-01.
var APIVersions = []string{
	"2015-08-01", "2016-03-01", "2016-08-01", "2016-09-01", "2018-02-01", "2018-11-01", "2019-08-01",
	"2020-06-01", "2020-09-01", "2020-10-01", "2020-12-01", "2021-01-01", "2021-01-15", "2021-02-01",
	"2021-03-01", "2022-03-01", "2022-09-01", "2023-01-01", "2023-12-01", "2024-04-01", "2024-11-01",
}

// Config resource names mimic keeps for every site.
const (
	ConfigAppSettings       = "appsettings"
	ConfigConnectionStrings = "connectionstrings"
	ConfigMetadata          = "metadata"
	ConfigWeb               = "web"
	// ConfigSlotConfigNames names the settings that stick to a slot; az's
	// app settings commands read it to print slotSetting.
	ConfigSlotConfigNames = "slotconfignames"
)

var configNames = []string{ConfigAppSettings, ConfigConnectionStrings, ConfigMetadata, ConfigWeb, ConfigSlotConfigNames}

// connectionStringTypes are Azure's ConnectionStringType values.
var connectionStringTypes = []string{
	"MySql", "SQLServer", "SQLAzure", "Custom", "NotificationHub", "ServiceBus", "EventHub", "ApiHub",
	"DocDb", "RedisCache", "PostgreSQL",
}

var siteName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-]{0,58}[a-zA-Z0-9]$`)

func versions() []string { return append([]string(nil), APIVersions...) }

// Register adds the Microsoft.Web types.
func Register(r *arm.Registry) {
	r.Register(
		&arm.Type{
			Name: SiteType, APIVersions: versions(), Placement: arm.InGroup, Tracked: true,
			Identity: arm.SystemAndUserIdentity, Prepare: prepareSite, CreatedStatus: http.StatusOK,
			NameTaken: func(name string) error {
				return armerr.Conflict("Conflict", "Website with given name %s already exists.", name)
			},
			Actions: map[string]*arm.Action{
				"start":   {Handle: setState("Running")},
				"stop":    {Handle: setState("Stopped")},
				"restart": {Handle: setState("Running")},
				// The publishing profiles, read with
				// Microsoft.Web/sites/publishxml/action.
				"publishxml": {Handle: publishXML, Permission: actionPublishXML},
			},
		},
		&arm.Type{
			Name: ConfigType, APIVersions: versions(), Placement: arm.ChildOf, Parent: SiteType,
			Serve: serveConfig, List: listConfig, Prepare: prepareConfig, Saved: savedConfig, CreatedStatus: http.StatusOK,
			Actions: map[string]*arm.Action{"list": {Handle: listConfigValues}},
		},
	)
	registerPlans(r)
}

// ---- sites ----

func prepareSite(c *arm.Call, old, doc arm.Doc) error {
	name := doc.Str("name")
	if old == nil {
		if !siteName.MatchString(name) {
			return armerr.BadRequest("BadRequest", "The host name %s%s is invalid. A site name must be 2 to 60 characters long, contain only letters, numbers and hyphens, and must not start or end with a hyphen.", name, HostSuffix)
		}
	}
	if old == nil && doc.Str("kind") == "" {
		// No kind: the plan decides, as App Service does.
		if k := linuxKind(planOf(c, doc.Props().Str("serverFarmId")), doc.Props().Obj("siteConfig")); k != "" {
			doc["kind"] = k
		}
	}
	kind, err := normalizeKind(doc, old)
	if err != nil {
		return err
	}
	doc["kind"] = kind

	p := doc.Props()
	var op arm.Doc
	if old != nil {
		op = old.Obj("properties")
	}
	// Settings carried in siteConfig go to their config resources.
	sc := p.Obj("siteConfig")
	if _, present := p["siteConfig"]; present && sc == nil && p["siteConfig"] != nil {
		return armerr.InvalidRequestContent("'properties.siteConfig' must be an object")
	}
	var appSettings, connStrings arm.Doc
	if sc != nil {
		if v, ok := sc["appSettings"]; ok && v != nil {
			if appSettings, err = nameValuePairs(v); err != nil {
				return err
			}
		}
		if v, ok := sc["connectionStrings"]; ok && v != nil {
			if connStrings, err = connStringList(v); err != nil {
				return err
			}
		}
		delete(sc, "appSettings")
		delete(sc, "connectionStrings")
	}

	siteID, err := arm.ParseDocID(doc)
	if err != nil {
		return err
	}
	host := strings.ToLower(name) + HostSuffix
	scm := strings.ToLower(name) + ".scm" + HostSuffix
	p["state"] = "Running"
	if s := op.Str("state"); s != "" {
		p["state"] = s
	}
	p["defaultHostName"] = host
	p["hostNames"] = []any{host}
	p["enabledHostNames"] = []any{host, scm}
	p["hostNameSslStates"] = []any{
		arm.Doc{"name": host, "sslState": "Disabled", "hostType": "Standard"},
		arm.Doc{"name": scm, "sslState": "Disabled", "hostType": "Repository"},
	}
	p["repositorySiteName"] = name
	p["usageState"] = "Normal"
	p["availabilityState"] = "Normal"
	p["resourceGroup"] = siteID.ResourceGroup
	p["lastModifiedTimeUtc"] = arm.Now()
	p["reserved"] = slices.Contains(strings.Split(kind, ","), "linux")
	p.SetDefault(true, "enabled")
	p.SetDefault(false, "httpsOnly")
	p.SetDefault(true, "clientAffinityEnabled")
	p.SetDefault(false, "clientCertEnabled")
	p.SetDefault(false, "hostNamesDisabled")
	p.SetDefault(false, "isXenon")
	p.SetDefault(false, "hyperV")
	p.SetDefault("Enabled", "publicNetworkAccess")
	if p.Str("serverFarmId") == "" {
		if prev := op.Str("serverFarmId"); prev != "" {
			p["serverFarmId"] = prev
		} else {
			p["serverFarmId"] = "/subscriptions/" + siteID.Subscription + "/resourceGroups/" + siteID.ResourceGroup +
				"/providers/Microsoft.Web/serverfarms/Default1"
		}
	}
	if v := op.Str("customDomainVerificationId"); v != "" {
		p["customDomainVerificationId"] = v
	} else {
		p["customDomainVerificationId"] = strings.ToUpper(strings.ReplaceAll(arm.NewGUID()+arm.NewGUID(), "-", ""))
	}

	// The site's config resources.
	web, err := c.Get(siteID.Child("config", ConfigWeb))
	if err != nil {
		return err
	}
	webProps := defaultWebConfig(name)
	if web != nil {
		webProps = web.Obj("properties")
	}
	if sc != nil {
		mergeSet(webProps, sc)
	}
	stripWebSecrets(webProps)
	loc := doc.Str("location")
	if err := saveConfig(c, siteID, ConfigWeb, loc, webProps); err != nil {
		return err
	}
	for _, cfg := range []struct {
		name string
		set  arm.Doc
	}{{ConfigAppSettings, appSettings}, {ConfigConnectionStrings, connStrings}, {ConfigMetadata, nil}} {
		existing, err := c.Get(siteID.Child("config", cfg.name))
		if err != nil {
			return err
		}
		switch {
		case cfg.set != nil:
			err = saveConfig(c, siteID, cfg.name, loc, cfg.set)
		case existing == nil:
			err = saveConfig(c, siteID, cfg.name, loc, arm.Doc{})
		}
		if err != nil {
			return err
		}
	}
	p["siteConfig"] = webProps.Clone()
	return nil
}

// normalizeKind returns the kind as Azure stores it: lower case, tokens
// separated by commas without spaces.
func normalizeKind(doc, old arm.Doc) (string, error) {
	raw, _ := doc["kind"].(string)
	if raw == "" && old != nil {
		raw, _ = old["kind"].(string)
	}
	if raw == "" {
		return "app", nil
	}
	var toks []string
	ok := false
	for _, t := range strings.Split(raw, ",") {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if strings.Contains(t, "app") {
			ok = true
		}
		toks = append(toks, t)
	}
	if !ok {
		return "", armerr.BadRequest("InvalidKind",
			"The kind '%s' is not valid for resource type '%s'. Use 'app', 'app,linux', 'functionapp' or 'functionapp,linux'.", raw, SiteType)
	}
	return strings.Join(toks, ","), nil
}

func setState(state string) func(c *arm.Call, doc arm.Doc) error {
	return func(c *arm.Call, doc arm.Doc) error {
		doc.Props()["state"] = state
		if err := c.Save(c.S.Registry.Lookup(SiteType), doc); err != nil {
			return err
		}
		return c.NoContent(http.StatusOK)
	}
}

// ---- config ----

func defaultWebConfig(site string) arm.Doc {
	return arm.Doc{
		"numberOfWorkers":                        1,
		"defaultDocuments":                       []any{"Default.htm", "Default.html", "index.html", "hostingstart.html"},
		"netFrameworkVersion":                    "v4.0",
		"phpVersion":                             "",
		"pythonVersion":                          "",
		"nodeVersion":                            "",
		"powerShellVersion":                      "",
		"linuxFxVersion":                         "",
		"requestTracingEnabled":                  false,
		"remoteDebuggingEnabled":                 false,
		"httpLoggingEnabled":                     false,
		"detailedErrorLoggingEnabled":            false,
		"publishingUsername":                     "$" + site,
		"scmType":                                "None",
		"use32BitWorkerProcess":                  true,
		"webSocketsEnabled":                      false,
		"alwaysOn":                               false,
		"managedPipelineMode":                    "Integrated",
		"loadBalancing":                          "LeastRequests",
		"localMySqlEnabled":                      false,
		"http20Enabled":                          false,
		"minTlsVersion":                          "1.2",
		"scmMinTlsVersion":                       "1.2",
		"ftpsState":                              "FtpsOnly",
		"functionsRuntimeScaleMonitoringEnabled": false,
		"minimumElasticInstanceCount":            0,
	}
}

// stripWebSecrets removes what config/web never shows: the settings live
// in their own config resources.
func stripWebSecrets(p arm.Doc) {
	delete(p, "appSettings")
	delete(p, "connectionStrings")
	delete(p, "metadata")
	delete(p, "azureStorageAccounts")
}

func saveConfig(c *arm.Call, siteID resourceid.ID, name, location string, props arm.Doc) error {
	id := siteID.Child("config", name)
	doc := arm.Doc{"id": id.String(), "name": name, "type": ConfigType, "location": location, "properties": props}
	return c.Save(c.S.Registry.Lookup(ConfigType), doc)
}

func canonicalConfigName(name string) (string, bool) {
	n := strings.ToLower(name)
	return n, slices.Contains(configNames, n)
}

func serveConfig(c *arm.Call) error {
	name, ok := canonicalConfigName(c.ID.Name())
	if !ok {
		return armerr.New(http.StatusNotFound, "NotFound", "The site configuration '%s' is not supported by mimic. Supported: %s.", c.ID.Name(), strings.Join(configNames, ", "))
	}
	switch c.R.Method {
	case http.MethodGet, http.MethodHead:
		if name == ConfigSlotConfigNames {
			return serveSlotConfigNames(c)
		}
		if name != ConfigWeb {
			return armerr.MethodNotAllowed(c.R.Method, ConfigType+"/"+name)
		}
	case http.MethodPut:
	case http.MethodPatch:
		if name != ConfigWeb {
			return armerr.MethodNotAllowed(c.R.Method, ConfigType+"/"+name)
		}
	default:
		return armerr.MethodNotAllowed(c.R.Method, ConfigType)
	}
	return c.S.Generic(c)
}

func prepareConfig(c *arm.Call, old, doc arm.Doc) error {
	name, _ := canonicalConfigName(doc.Str("name"))
	id, err := arm.ParseDocID(doc)
	if err != nil {
		return err
	}
	site, err := c.Load(id.Parent())
	if err != nil {
		return err
	}
	if old == nil {
		// Stored under the canonical name, as the site created it.
		doc["id"], doc["name"] = id.Parent().Child("config", name).String(), name
	}
	props := doc.Obj("properties")
	if props == nil && doc["properties"] != nil {
		return armerr.InvalidRequestContent("'properties' must be an object")
	}
	if props == nil {
		props = arm.Doc{}
	}
	var out arm.Doc
	switch name {
	case ConfigAppSettings, ConfigMetadata:
		out = arm.Doc{}
		for k, v := range props {
			if v == nil {
				continue
			}
			s, ok := v.(string)
			if !ok {
				return armerr.InvalidRequestContent("the value of setting '" + k + "' must be a string")
			}
			if k == "" {
				return armerr.BadRequest("BadRequest", "App setting names must not be empty.")
			}
			out[k] = s
		}
	case ConfigConnectionStrings:
		out = arm.Doc{}
		for k, v := range props {
			if v == nil {
				continue
			}
			e := props.Obj(k)
			if e == nil {
				return armerr.InvalidRequestContent("the value of connection string '" + k + "' must be an object with 'value' and 'type'")
			}
			entry, err := connString(k, e.Str("value"), e["type"])
			if err != nil {
				return err
			}
			out[k] = entry
		}
	case ConfigSlotConfigNames:
		out = arm.Doc{}
		for _, k := range []string{"appSettingNames", "connectionStringNames", "azureStorageConfigNames"} {
			if v, ok := props[k]; ok && v != nil {
				if _, ok := v.([]any); !ok {
					return armerr.InvalidRequestContent("'properties." + k + "' must be an array of names")
				}
				out[k] = v
			}
		}
	case ConfigWeb:
		// Like Azure, config/web takes what a PUT names and keeps the
		// rest; null means "unchanged".
		out = defaultWebConfig(site.Str("name"))
		if old != nil {
			mergeSet(out, old.Obj("properties"))
		}
		mergeSet(out, props)
		stripWebSecrets(out)
	}
	for k := range doc {
		switch k {
		case "id", "name", "type", "kind":
		default:
			delete(doc, k)
		}
	}
	doc["location"] = site["location"]
	doc["properties"] = out
	return nil
}

// serveSlotConfigNames serves GET {site}/config/slotConfigNames: what was
// written, or no names.
func serveSlotConfigNames(c *arm.Call) error {
	if err := c.Authorize(ConfigType+"/read", c.ID); err != nil {
		return err
	}
	var doc arm.Doc
	err := c.View(func() error {
		site, err := c.Load(c.ID.Parent())
		if err != nil {
			return err
		}
		id := c.ID.Parent().Child("config", ConfigSlotConfigNames)
		if doc, err = c.Get(id); err != nil || doc != nil {
			return err
		}
		doc = arm.Doc{"id": id.String(), "name": ConfigSlotConfigNames, "type": ConfigType, "location": site["location"], "properties": arm.Doc{}}
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, doc)
}

// savedConfig mirrors config/web into the site's properties.siteConfig.
func savedConfig(c *arm.Call, _, doc arm.Doc) error {
	if doc.Str("name") != ConfigWeb {
		return nil
	}
	id, err := arm.ParseDocID(doc)
	if err != nil {
		return err
	}
	site, err := c.Load(id.Parent())
	if err != nil {
		return err
	}
	site.Props()["siteConfig"] = doc.Obj("properties").Clone()
	return c.Save(c.S.Registry.Lookup(SiteType), site)
}

// listConfigValues serves POST {site}/config/{name}/list.
func listConfigValues(c *arm.Call, doc arm.Doc) error {
	switch doc.Str("name") {
	case ConfigAppSettings, ConfigConnectionStrings, ConfigMetadata:
		return c.JSON(http.StatusOK, doc)
	}
	return armerr.New(http.StatusNotFound, "NotFound", "No HTTP resource was found that matches the request URI '%s'.", c.R.URL.Path)
}

// listConfig serves GET {site}/config: the site config resource.
func listConfig(c *arm.Call) error {
	if err := c.Authorize(ConfigType+"/read", c.ID); err != nil {
		return err
	}
	var items []arm.Doc
	err := c.View(func() error {
		if err := c.EnsureScope(c.ID); err != nil {
			return err
		}
		if _, err := c.Load(c.ID); err != nil {
			return err
		}
		web, err := c.Get(c.ID.Child("config", ConfigWeb))
		if err != nil {
			return err
		}
		if web != nil {
			items = append(items, web)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.List(items, "")
}

// nameValuePairs turns siteConfig.appSettings ([{name, value}]) into a
// settings dictionary.
func nameValuePairs(v any) (arm.Doc, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, armerr.InvalidRequestContent("'properties.siteConfig.appSettings' must be an array of {name, value}")
	}
	out := arm.Doc{}
	for _, e := range arr {
		m, ok := e.(map[string]any)
		if !ok {
			if d, isDoc := e.(arm.Doc); isDoc {
				m, ok = d, true
			}
		}
		if !ok {
			return nil, armerr.InvalidRequestContent("each app setting must be an object {name, value}")
		}
		n, _ := m["name"].(string)
		if n == "" {
			return nil, armerr.BadRequest("BadRequest", "App setting names must not be empty.")
		}
		val, isStr := m["value"].(string)
		if m["value"] != nil && !isStr {
			return nil, armerr.InvalidRequestContent("the value of app setting '" + n + "' must be a string")
		}
		out[n] = val
	}
	return out, nil
}

// connStringList turns siteConfig.connectionStrings ([{name,
// connectionString, type}]) into a connection string dictionary.
func connStringList(v any) (arm.Doc, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, armerr.InvalidRequestContent("'properties.siteConfig.connectionStrings' must be an array of {name, connectionString, type}")
	}
	out := arm.Doc{}
	for _, e := range arr {
		m, ok := e.(map[string]any)
		if !ok {
			if d, isDoc := e.(arm.Doc); isDoc {
				m, ok = d, true
			}
		}
		if !ok {
			return nil, armerr.InvalidRequestContent("each connection string must be an object {name, connectionString, type}")
		}
		n, _ := m["name"].(string)
		cs, _ := m["connectionString"].(string)
		entry, err := connString(n, cs, m["type"])
		if err != nil {
			return nil, err
		}
		out[n] = entry
	}
	return out, nil
}

func connString(name, value string, typ any) (arm.Doc, error) {
	if name == "" {
		return nil, armerr.BadRequest("BadRequest", "Connection string names must not be empty.")
	}
	t, _ := typ.(string)
	if t == "" {
		t = "Custom"
	}
	for _, k := range connectionStringTypes {
		if strings.EqualFold(k, t) {
			return arm.Doc{"value": value, "type": k}, nil
		}
	}
	return nil, armerr.BadRequest("BadRequest", "The connection string type '%s' of '%s' is invalid. Valid types are: %s.", t, name, strings.Join(connectionStringTypes, ", "))
}

// ---- helpers for other planes ----

// ReadAppSettings returns the app settings of a site, which its code sees
// as environment variables. A site without settings yields an empty map;
// a missing site yields store.ErrNotFound.
func ReadAppSettings(ctx context.Context, tx store.Tx, siteID string) (map[string]string, error) {
	if _, err := tx.GetResource(ctx, siteID); err != nil {
		return nil, err
	}
	out := map[string]string{}
	id, err := resourceid.Parse(siteID)
	if err != nil {
		return nil, err
	}
	r, err := tx.GetResource(ctx, id.Child("config", ConfigAppSettings).String())
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	doc, err := arm.DecodeDoc(r.Body)
	if err != nil {
		return nil, err
	}
	for k, v := range doc.Obj("properties") {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out, nil
}

// AppSettings is ReadAppSettings within an ARM call's transaction.
func AppSettings(c *arm.Call, siteID resourceid.ID) (map[string]string, error) {
	return ReadAppSettings(c.Ctx, c.Tx, siteID.String())
}

// FindSite returns the site with a name, in any subscription and group
// (site names are global), or store.ErrNotFound.
func FindSite(ctx context.Context, tx store.Tx, name string) (arm.Doc, error) {
	return arm.FindOne(ctx, tx, SiteType, name)
}

// mergeSet merges src into dst like a PATCH, except that null leaves a
// value unchanged, as App Service treats site config fields.
func mergeSet(dst, src arm.Doc) {
	for k, v := range src {
		if v == nil {
			continue
		}
		sv, srcObj := v.(map[string]any)
		if d, ok := v.(arm.Doc); ok {
			sv, srcObj = d, true
		}
		if srcObj {
			if dv := dst.Obj(k); dv != nil {
				mergeSet(dv, sv)
				dst[k] = dv
				continue
			}
		}
		dst[k] = v
	}
}
