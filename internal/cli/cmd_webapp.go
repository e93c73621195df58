package cli

import (
	"net/http"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mimic-emu/mimic/internal/azout"
)

// apiWeb is the Microsoft.Web api-version az 2.45 sends.
const apiWeb = "2022-03-01"

const siteType = "Microsoft.Web/sites"

// siteShape is az's Site (azure-mgmt-web 7, 2022-03-01): flattened.
var siteShape = modelShape{flatten: true, attrs: []string{
	"availabilityState", "clientAffinityEnabled", "clientCertEnabled", "clientCertExclusionPaths", "clientCertMode",
	"cloningInfo", "containerSize", "customDomainVerificationId", "dailyMemoryTimeQuota", "defaultHostName", "enabled",
	"enabledHostNames", "extendedLocation", "hostNameSslStates", "hostNames", "hostNamesDisabled",
	"hostingEnvironmentProfile", "httpsOnly", "hyperV", "id", "identity", "inProgressOperationId", "isDefaultContainer",
	"isXenon", "keyVaultReferenceIdentity", "kind", "lastModifiedTimeUtc", "location", "maxNumberOfWorkers", "name",
	"outboundIpAddresses", "possibleOutboundIpAddresses", "publicNetworkAccess", "redundancyMode", "repositorySiteName",
	"reserved", "resourceGroup", "scmSiteAlsoStopped", "siteConfig", "slotSwapStatus", "state", "storageAccountRequired",
	"suspendedTill", "tags", "targetSwapSlot", "trafficManagerHostNames", "type", "usageState", "virtualNetworkSubnetId",
	"vnetContentShareEnabled", "vnetImagePullEnabled", "vnetRouteAllEnabled"}}

// appKind says which of az's two command groups a site command serves.
type appKind struct {
	group, noun, kind string
}

var (
	webappKind      = appKind{group: "webapp", noun: "web app", kind: "app"}
	functionappKind = appKind{group: "functionapp", noun: "function app", kind: "functionapp"}
)

func newWebappCmd(g *globals) *cobra.Command { return newSiteCmd(g, webappKind) }

func newFunctionappCmd(g *globals) *cobra.Command { return newSiteCmd(g, functionappKind) }

func newSiteCmd(g *globals, k appKind) *cobra.Command {
	short := "Manage web apps."
	create := newWebappCreateCmd(g)
	if k == functionappKind {
		short = "Manage function apps."
		create = newFunctionappCreateCmd(g)
	}
	identity := azGroup("identity", "manage web app's managed identity",
		newSiteIdentityAssignCmd(g, k), newSiteIdentityRemoveCmd(g, k), newSiteIdentityShowCmd(g, k))
	settings := azGroup("appsettings", "Configure "+k.noun+" settings. Updating or removing application settings will cause an app recycle.",
		newAppSettingsSetCmd(g, k), newAppSettingsListCmd(g, k), newAppSettingsDeleteCmd(g, k))
	config := azGroup("config", "Configure a "+k.noun+".", settings)
	return addAzGlobals(azGroup(k.group, short,
		create, newSiteShowCmd(g, k), newSiteListCmd(g, k), newSiteDeleteCmd(g, k), identity, config), g)
}

// siteOut is az's webapp show: the site with serverFarmId renamed
// appServicePlanId and its FTP publishing URL.
func siteOut(doc map[string]any) map[string]any {
	out := withIdentityNulls(siteShape.shape(doc))
	for _, st := range asList(out["hostNameSslStates"]) {
		withNulls(obj(st), "hostType", "name", "sslState", "thumbprint", "toUpdate", "virtualIp")
	}
	if id, ok := out["serverFarmId"]; ok {
		delete(out, "serverFarmId")
		out["appServicePlanId"] = id
	}
	out["ftpPublishingUrl"] = "ftps://waws-prod-mimic.ftp.azurewebsites.windows.net/site/wwwroot"
	return out
}

// siteTable is az's transform_web_output: the columns in the order the
// site model lists them, the plan by name last.
func siteTable(v any) any {
	return tableRows(v, func(r map[string]any) azout.Ordered {
		plan := str(r["appServicePlanId"])
		plan = plan[strings.LastIndex(plan, "/")+1:]
		return azout.Row("name", r["name"], "location", r["location"], "state", r["state"],
			"resourceGroup", r["resourceGroup"], "defaultHostName", r["defaultHostName"],
			"ftpPublishingUrl", r["ftpPublishingUrl"], "appServicePlan", plan)
	})
}

// kindOf is the site kind of a command group.
func (k appKind) kindOf() armKind {
	return armKind{typ: siteType, api: apiWeb, out: siteOut, keep: k.isSite}
}

// isSite reports whether a site is of the command group's kind: function
// apps are sites whose kind has "functionapp".
func (k appKind) isSite(doc map[string]any) bool {
	fn := strings.Contains(strings.ToLower(str(doc["kind"])), "functionapp")
	return fn == (k == functionappKind)
}

// siteFlags name a site.
type siteFlags struct{ rg, name string }

func (s *siteFlags) add(f *pflag.FlagSet, k appKind) {
	groupFlag(f, &s.rg)
	nameFlag(f, &s.name, "Name of the "+k.noun+".")
}

// getSite reads a site of the command's kind; another kind is az's
// "not found" (exit 3).
func (c *azCall) getSite(t target, k appKind) (map[string]any, error) {
	cl, err := c.arm()
	if err != nil {
		return nil, err
	}
	doc, err := cl.get(c.ctx(), t.path, apiWeb)
	if err != nil {
		return nil, err
	}
	if !k.isSite(doc) {
		return nil, &notFoundError{msg: "Unable to find " + k.group + " '" + t.name + "', in RG '" + t.rg + "'."}
	}
	return doc, nil
}

// runtimeLinuxFx reads az's --runtime ("PYTHON:3.11", "NODE|18-lts") as
// linuxFxVersion.
func runtimeLinuxFx(runtime string) string {
	return strings.ToUpper(strings.Replace(runtime, ":", "|", 1))
}

func newWebappCreateCmd(g *globals) *cobra.Command {
	var sf siteFlags
	var plan, runtime, startup, image string
	var tags, assign []string
	var role, scope string
	return newAzCommand(g, azCmd{
		Use:   "create",
		Short: "Create a web app.",
		Long: `Create a web app. mimic hosts nothing: the site is what App Service says
about it, with its identities and app settings, and 'mimic run --as SITE'
runs a program with the environment its code would see. --plan is kept as
the site's server farm id; --runtime sets linuxFxVersion.`,
		Example: `  Create a web app with the default configuration.
    mimic webapp create -g MyResourceGroup -p MyPlan -n MyUniqueAppName
  Create a web app with a system assigned identity and a Python runtime.
    mimic webapp create -g MyResourceGroup -p MyPlan -n MyUniqueAppName --runtime "PYTHON:3.11" --assign-identity [system]`,
		Required: []string{"resource-group", "name", "plan"},
		Flags: func(f *pflag.FlagSet) {
			sf.add(f, webappKind)
			f.StringVarP(&plan, "plan", "p", "", "Name or resource id of the app service plan.")
			f.StringVarP(&runtime, "runtime", "r", "", "Canonicalized web runtime in the format of Framework:Version, e.g. \"PHP:7.2\" (accepted; kept as linuxFxVersion).")
			f.StringVar(&startup, "startup-file", "", "Linux only. The web's startup file.")
			f.StringVarP(&image, "deployment-container-image-name", "i", "", "Container image name from Docker Hub, e.g. publisher/image-name:tag.")
			tagsFlag(f, &tags)
			identityFlags(f, "assign-identity", &assign, &role, &scope)
		},
		Table: siteTable,
		Run: func(c *azCall) (any, error) {
			cl, err := c.arm()
			if err != nil {
				return nil, err
			}
			siteConfig := map[string]any{}
			kind := "app"
			if runtime != "" {
				siteConfig["linuxFxVersion"] = runtimeLinuxFx(runtime)
				kind = "app,linux"
			}
			if image != "" {
				siteConfig["linuxFxVersion"] = "DOCKER|" + image
				kind = "app,linux,container"
			}
			if startup != "" {
				siteConfig["appCommandLine"] = startup
			}
			return createSite(c, cl, sf, plan, kind, siteConfig, nil, tags, assign, role, scope)
		},
	})
}

// createSite creates a site with the server farm, and optionally
// identities and app settings, and prints it as az's show does.
func createSite(c *azCall, cl *azClient, sf siteFlags, plan, kind string, siteConfig map[string]any, settings map[string]string,
	tags, assign []string, role, scope string) (any, error) {
	location, err := c.location(sf.rg, "")
	if err != nil {
		return nil, err
	}
	if plan != "" && !strings.HasPrefix(plan, "/") {
		plan = cl.resourcePath(sf.rg, "Microsoft.Web/serverfarms", plan)
	}
	if len(settings) > 0 {
		var list []any
		for _, k := range sortedKeysOf(settings) {
			list = append(list, map[string]any{"name": k, "value": settings[k]})
		}
		siteConfig["appSettings"] = list
	}
	props := map[string]any{"siteConfig": siteConfig}
	if plan != "" {
		props["serverFarmId"] = plan
	}
	body := map[string]any{"location": location, "kind": kind, "properties": props}
	if c.changed("tags") {
		body["tags"] = parseTags(tags)
	}
	if c.changed("assign-identity") {
		block, _, _ := identityBlock(identityIDs(cl, sf.rg, assign))
		body["identity"] = block
	}
	doc, err := cl.send(c.ctx(), http.MethodPut, cl.resourcePath(sf.rg, siteType, sf.name), apiWeb, body)
	if err != nil {
		return nil, err
	}
	if c.changed("assign-identity") {
		if err := grantIdentityRole(c.ctx(), cl, str(dig(doc, "identity", "principalId")), role, scope); err != nil {
			return nil, err
		}
	}
	return siteOut(doc), nil
}

func newFunctionappCreateCmd(g *globals) *cobra.Command {
	var sf siteFlags
	var plan, storage, consumption, version, runtime, runtimeVersion, osType string
	var tags, assign []string
	var role, scope string
	return newAzCommand(g, azCmd{
		Use:   "create",
		Short: "Create a function app.",
		Long: `Create a function app. The storage account must exist: its key goes into
AzureWebJobsStorage, as az does. --consumption-plan-location, --runtime and
--functions-version set the app settings a function app gets.`,
		Example: `  Create a basic function app.
    mimic functionapp create -g MyResourceGroup --consumption-plan-location westeurope --name MyUniqueAppName --storage-account MyStorageAccount --functions-version 4 --runtime python
  Create a function app with a user assigned identity.
    mimic functionapp create -g rg -n fn1 -s store1 -c westeurope --functions-version 4 --runtime node --assign-identity app-id`,
		Required: []string{"resource-group", "name", "storage-account"},
		Flags: func(f *pflag.FlagSet) {
			sf.add(f, functionappKind)
			f.StringVarP(&storage, "storage-account", "s", "", "Provide a string value of a Storage Account in the provided Resource Group. Or Resource ID of a Storage Account in a different Resource Group.")
			f.StringVarP(&consumption, "consumption-plan-location", "c", "", "Geographic location where function app will be hosted.")
			f.StringVarP(&plan, "plan", "p", "", "Name or resource id of the function app service plan.")
			f.StringVar(&version, "functions-version", "4", "The functions app version.")
			f.StringVar(&runtime, "runtime", "dotnet", "The functions runtime stack.")
			f.StringVar(&runtimeVersion, "runtime-version", "", "The version of the functions runtime stack.")
			f.StringVar(&osType, "os-type", "", "Set the OS type for the app to be created: Windows or Linux.")
			tagsFlag(f, &tags)
			identityFlags(f, "assign-identity", &assign, &role, &scope)
		},
		Table: siteTable,
		Run: func(c *azCall) (any, error) {
			if (consumption == "") == (plan == "") {
				return nil, cliError("usage error: --plan NAME_OR_ID | --consumption-plan-location LOCATION")
			}
			cl, err := c.arm()
			if err != nil {
				return nil, err
			}
			account := storage
			if !strings.HasPrefix(account, "/") {
				account = cl.resourcePath(sf.rg, storageType, storage)
			}
			keys, err := cl.send(c.ctx(), http.MethodPost, account+"/listKeys", apiStorage, nil)
			if err != nil {
				return nil, err
			}
			key := ""
			if list := asList(keys["keys"]); len(list) > 0 {
				key = str(obj(list[0])["value"])
			}
			name := account[strings.LastIndex(account, "/")+1:]
			conn := "DefaultEndpointsProtocol=https;EndpointSuffix=core.windows.net;AccountName=" + name + ";AccountKey=" + key
			settings := map[string]string{
				"FUNCTIONS_EXTENSION_VERSION": "~" + strings.TrimPrefix(version, "~"),
				"FUNCTIONS_WORKER_RUNTIME":    strings.ToLower(runtime),
				"AzureWebJobsStorage":         conn,
			}
			if consumption != "" {
				settings["WEBSITE_CONTENTAZUREFILECONNECTIONSTRING"] = conn
				settings["WEBSITE_CONTENTSHARE"] = strings.ToLower(sf.name)
			}
			kind := "functionapp"
			siteConfig := map[string]any{}
			if strings.EqualFold(osType, "linux") || (osType == "" && strings.EqualFold(runtime, "python")) {
				kind = "functionapp,linux"
				rv := runtimeVersion
				if rv == "" {
					rv = map[string]string{"python": "3.9", "node": "18", "java": "11", "dotnet": "6.0", "powershell": "7.2"}[strings.ToLower(runtime)]
				}
				siteConfig["linuxFxVersion"] = strings.ToUpper(runtime) + "|" + rv
			}
			if consumption != "" {
				plan = ""
			}
			return createSite(c, cl, sf, plan, kind, siteConfig, settings, tags, assign, role, scope)
		},
	})
}

func newSiteShowCmd(g *globals, k appKind) *cobra.Command {
	var sf siteFlags
	return newAzCommand(g, azCmd{
		Use:   "show",
		Short: "Get the details of a " + k.noun + ".",
		Example: `  Get the details of a ` + k.noun + `.
    mimic ` + k.group + ` show --name MyApp --resource-group MyResourceGroup
  Get its system-assigned identity's principal id.
    mimic ` + k.group + ` show -g MyResourceGroup -n MyApp --query identity.principalId -o tsv`,
		IDParts: []string{"resource-group", "name"},
		Table:   siteTable,
		Flags:   func(f *pflag.FlagSet) { sf.add(f, k) },
		Run: func(c *azCall) (any, error) {
			return c.show(k.kindOf(), sf.rg, sf.name, func(t target) (map[string]any, error) { return c.getSite(t, k) })
		},
	})
}

func newSiteListCmd(g *globals, k appKind) *cobra.Command {
	return newListCmd(g, k.kindOf(), "List "+k.noun+"s.", `  List all `+k.noun+`s in MyResourceGroup.
    mimic `+k.group+` list --resource-group MyResourceGroup -o table`, siteTable)
}

func newSiteDeleteCmd(g *globals, k appKind) *cobra.Command {
	var sf siteFlags
	var keepPlan, keepMetrics, keepDNS bool
	return newAzCommand(g, azCmd{
		Use:   "delete",
		Short: "Delete a " + k.noun + ".",
		Example: `  Delete a ` + k.noun + `.
    mimic ` + k.group + ` delete --name MyApp --resource-group MyResourceGroup`,
		IDParts: []string{"resource-group", "name"},
		Flags: func(f *pflag.FlagSet) {
			sf.add(f, k)
			f.BoolVar(&keepPlan, "keep-empty-plan", false, "Keep empty app service plan.")
			f.BoolVar(&keepMetrics, "keep-metrics", false, "Keep app metrics.")
			f.BoolVar(&keepDNS, "keep-dns-registration", false, "Keep DNS registration.")
		},
		Run: func(c *azCall) (any, error) {
			return c.remove(k.kindOf(), sf.rg, sf.name, func(t target) error { _, err := c.getSite(t, k); return err })
		},
	})
}

func newSiteIdentityAssignCmd(g *globals, k appKind) *cobra.Command {
	var sf siteFlags
	var identities []string
	var role, scope string
	return newAzCommand(g, azCmd{
		Use:   "assign",
		Short: "Assign managed identity to the " + k.noun + ".",
		Example: `  Assign a system identity.
    mimic ` + k.group + ` identity assign -g MyResourceGroup -n MyUniqueApp
  Assign a user identity and the system identity.
    mimic ` + k.group + ` identity assign -g MyResourceGroup -n MyUniqueApp --identities [system] myAssignedId`,
		IDParts: []string{"resource-group", "name"},
		Flags: func(f *pflag.FlagSet) {
			sf.add(f, k)
			identityFlags(f, "identities", &identities, &role, &scope)
		},
		Run: func(c *azCall) (any, error) {
			return c.forEach(sf.rg, sf.name, siteType, func(t target) (any, error) {
				doc, err := c.getSite(t, k)
				if err != nil {
					return nil, err
				}
				cl, _ := c.arm()
				block := assignedIdentity(obj(doc["identity"]), identityIDs(cl, t.rg, identities))
				doc, err = cl.send(c.ctx(), http.MethodPatch, t.path, apiWeb, map[string]any{"identity": block})
				if err != nil {
					return nil, err
				}
				if err := grantIdentityRole(c.ctx(), cl, str(dig(doc, "identity", "principalId")), role, scope); err != nil {
					return nil, err
				}
				return managedIdentityShape(doc["identity"]), nil
			})
		},
	})
}

func newSiteIdentityRemoveCmd(g *globals, k appKind) *cobra.Command {
	var sf siteFlags
	var identities []string
	return newAzCommand(g, azCmd{
		Use:   "remove",
		Short: "Disable " + k.noun + "'s managed identity.",
		Example: `  Disable the system assigned identity.
    mimic ` + k.group + ` identity remove --name MyApp --resource-group MyResourceGroup
  Disable a user assigned identity.
    mimic ` + k.group + ` identity remove --name MyApp --resource-group MyResourceGroup --identities MyAssignedId`,
		IDParts: []string{"resource-group", "name"},
		Flags: func(f *pflag.FlagSet) {
			sf.add(f, k)
			multiOptional(f, "identities", &identities, msiLocalID, "Space-separated identities to remove. Use '[system]' to refer to the system assigned identity. Default: '[system]'.")
		},
		Run: func(c *azCall) (any, error) {
			if len(identities) == 0 {
				identities = []string{msiLocalID}
			}
			return c.forEach(sf.rg, sf.name, siteType, func(t target) (any, error) {
				doc, err := c.getSite(t, k)
				if err != nil {
					return nil, err
				}
				current := obj(doc["identity"])
				if current == nil {
					return nil, nil
				}
				cl, _ := c.arm()
				block, err := removedIdentity(current, identityIDs(cl, t.rg, identities), t.name)
				if err != nil {
					return nil, err
				}
				doc, err = cl.send(c.ctx(), http.MethodPatch, t.path, apiWeb, map[string]any{"identity": block})
				if err != nil {
					return nil, err
				}
				return managedIdentityShape(doc["identity"]), nil
			})
		},
	})
}

func newSiteIdentityShowCmd(g *globals, k appKind) *cobra.Command {
	var sf siteFlags
	return newAzCommand(g, azCmd{
		Use:   "show",
		Short: "Display " + k.noun + "'s managed identity.",
		Example: `  Display the identities of a ` + k.noun + `.
    mimic ` + k.group + ` identity show --name MyApp --resource-group MyResourceGroup`,
		IDParts: []string{"resource-group", "name"},
		Flags:   func(f *pflag.FlagSet) { sf.add(f, k) },
		Run: func(c *azCall) (any, error) {
			return c.forEach(sf.rg, sf.name, siteType, func(t target) (any, error) {
				doc, err := c.getSite(t, k)
				if err != nil {
					return nil, err
				}
				return managedIdentityShape(doc["identity"]), nil
			})
		},
	})
}

// appSettings reads a site's app settings (POST …/config/appsettings/list).
func (c *azCall) appSettings(t target) (map[string]any, error) {
	cl, err := c.arm()
	if err != nil {
		return nil, err
	}
	doc, err := cl.send(c.ctx(), http.MethodPost, t.path+"/config/appsettings/list", apiWeb, nil)
	if err != nil {
		return nil, err
	}
	settings := obj(doc["properties"])
	if settings == nil {
		settings = map[string]any{}
	}
	return settings, nil
}

// updateSettings changes a site's app settings and prints them all.
func (c *azCall) updateSettings(sf siteFlags, k appKind, change func(map[string]any) error) (any, error) {
	return c.forEach(sf.rg, sf.name, siteType, func(t target) (any, error) {
		if _, err := c.getSite(t, k); err != nil {
			return nil, err
		}
		current, err := c.appSettings(t)
		if err != nil {
			return nil, err
		}
		if err := change(current); err != nil {
			return nil, err
		}
		cl, _ := c.arm()
		doc, err := cl.send(c.ctx(), http.MethodPut, t.path+"/config/appsettings", apiWeb, map[string]any{"properties": current})
		if err != nil {
			return nil, err
		}
		return settingsOut(obj(doc["properties"])), nil
	})
}

// settingsOut is az's _build_app_settings_output.
func settingsOut(settings map[string]any) []any {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, 0, len(keys))
	for _, k := range keys {
		out = append(out, map[string]any{"name": k, "value": settings[k], "slotSetting": false})
	}
	return out
}

func newAppSettingsSetCmd(g *globals, k appKind) *cobra.Command {
	var sf siteFlags
	var settings, slotSettings []string
	return newAzCommand(g, azCmd{
		Use:   "set",
		Short: "Set a " + k.noun + "'s settings.",
		Example: `  Set the default NodeJS version to 6.9.1 for a ` + k.noun + `.
    mimic ` + k.group + ` config appsettings set -g MyResourceGroup -n MyUniqueApp --settings WEBSITE_NODE_DEFAULT_VERSION=6.9.1
  Tell DefaultAzureCredential which user-assigned identity to use.
    mimic ` + k.group + ` config appsettings set -g MyResourceGroup -n MyUniqueApp --settings AZURE_CLIENT_ID=$(mimic identity show -g rg -n app-id --query clientId -o tsv)`,
		IDParts: []string{"resource-group", "name"},
		Flags: func(f *pflag.FlagSet) {
			sf.add(f, k)
			multi(f, "settings", "", &settings, "Space-separated app settings in KEY=VALUE format. Use @{file} to load from a file.")
			multi(f, "slot-settings", "", &slotSettings, "Space-separated slot app settings in KEY=VALUE format (set as app settings; mimic has no slots).")
		},
		Run: func(c *azCall) (any, error) {
			if len(settings) == 0 && len(slotSettings) == 0 {
				return nil, cliError("usage error: --settings |--slot-settings")
			}
			return c.updateSettings(sf, k, func(current map[string]any) error {
				for _, s := range append(append([]string(nil), settings...), slotSettings...) {
					key, value, ok := strings.Cut(s, "=")
					if !ok {
						return cliError("usage error: --settings KEY=VALUE [KEY=VALUE ...]")
					}
					current[key] = value
				}
				return nil
			})
		},
	})
}

func newAppSettingsListCmd(g *globals, k appKind) *cobra.Command {
	var sf siteFlags
	return newAzCommand(g, azCmd{
		Use:   "list",
		Short: "Get the details of a " + k.noun + "'s settings.",
		Example: `  Get the details of a ` + k.noun + `'s settings.
    mimic ` + k.group + ` config appsettings list --name MyApp --resource-group MyResourceGroup`,
		IDParts: []string{"resource-group", "name"},
		Flags:   func(f *pflag.FlagSet) { sf.add(f, k) },
		Run: func(c *azCall) (any, error) {
			return c.forEach(sf.rg, sf.name, siteType, func(t target) (any, error) {
				if _, err := c.getSite(t, k); err != nil {
					return nil, err
				}
				settings, err := c.appSettings(t)
				if err != nil {
					return nil, err
				}
				return settingsOut(settings), nil
			})
		},
	})
}

func newAppSettingsDeleteCmd(g *globals, k appKind) *cobra.Command {
	var sf siteFlags
	var names []string
	return newAzCommand(g, azCmd{
		Use:   "delete",
		Short: "Delete " + k.noun + " settings.",
		Example: `  Delete a ` + k.noun + ` setting.
    mimic ` + k.group + ` config appsettings delete --name MyApp --resource-group MyResourceGroup --setting-names {setting-names}`,
		IDParts:  []string{"resource-group", "name"},
		Required: []string{"setting-names"},
		Flags: func(f *pflag.FlagSet) {
			sf.add(f, k)
			multi(f, "setting-names", "", &names, "Space-separated app setting names.")
		},
		Run: func(c *azCall) (any, error) {
			return c.updateSettings(sf, k, func(current map[string]any) error {
				for _, n := range names {
					delete(current, n)
				}
				return nil
			})
		},
	})
}
