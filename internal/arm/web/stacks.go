package web

import (
	"net/http"
	"strings"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/armerr"
)

// functionRuntime is one runtime version of Azure Functions' stacks: what
// GET /providers/Microsoft.Web/functionAppStacks lists, in the shape App
// Service returns (FunctionAppStack, api-version 2022-03-01). mimic lists
// the current, supported versions of the common runtimes.
type functionRuntime struct {
	stack, stackDisplay   string // "python", "Python"
	major, majorDisplay   string // "3", "Python 3"
	minor, minorDisplay   string // "3.11", "Python 3.11"
	worker                string // FUNCTIONS_WORKER_RUNTIME
	linuxFx               string // "" when not on Linux
	windowsVersion        string // runtimeVersion on Windows; "" when not on Windows
	windowsSettings       map[string]any
	windowsSiteConfig     map[string]any
	isDefault, linuxFirst bool
}

var functionRuntimes = []functionRuntime{
	{stack: "dotnet", stackDisplay: ".NET", major: "dotnet8isolated", majorDisplay: ".NET 8 Isolated", minor: "8 (LTS), isolated worker model",
		minorDisplay: ".NET 8 Isolated", worker: "dotnet-isolated", linuxFx: "DOTNET-ISOLATED|8.0", windowsVersion: "v8.0",
		windowsSiteConfig: map[string]any{"use32BitWorkerProcess": true, "netFrameworkVersion": "v8.0"}, isDefault: true},
	{stack: "dotnet", stackDisplay: ".NET", major: "dotnet6", majorDisplay: ".NET 6", minor: "6 (LTS), in-process model",
		minorDisplay: ".NET 6 (LTS) In-process", worker: "dotnet", linuxFx: "DOTNET|6.0", windowsVersion: "v6.0",
		windowsSiteConfig: map[string]any{"use32BitWorkerProcess": true, "netFrameworkVersion": "v6.0"}, isDefault: true},
	{stack: "node", stackDisplay: "Node.js", major: "20", majorDisplay: "Node.js 20", minor: "20 LTS", minorDisplay: "Node.js 20 LTS",
		worker: "node", linuxFx: "Node|20", windowsVersion: "~20", windowsSettings: map[string]any{"WEBSITE_NODE_DEFAULT_VERSION": "~20"},
		windowsSiteConfig: map[string]any{"use32BitWorkerProcess": true}, isDefault: true},
	{stack: "node", stackDisplay: "Node.js", major: "18", majorDisplay: "Node.js 18", minor: "18 LTS", minorDisplay: "Node.js 18 LTS",
		worker: "node", linuxFx: "Node|18", windowsVersion: "~18", windowsSettings: map[string]any{"WEBSITE_NODE_DEFAULT_VERSION": "~18"},
		windowsSiteConfig: map[string]any{"use32BitWorkerProcess": true}},
	{stack: "python", stackDisplay: "Python", major: "3", majorDisplay: "Python 3", minor: "3.11", minorDisplay: "Python 3.11",
		worker: "python", linuxFx: "Python|3.11", isDefault: true, linuxFirst: true},
	{stack: "python", stackDisplay: "Python", major: "3", majorDisplay: "Python 3", minor: "3.10", minorDisplay: "Python 3.10",
		worker: "python", linuxFx: "Python|3.10", linuxFirst: true},
	{stack: "java", stackDisplay: "Java", major: "17", majorDisplay: "Java 17", minor: "17.0", minorDisplay: "Java 17",
		worker: "java", linuxFx: "Java|17", windowsVersion: "17", windowsSiteConfig: map[string]any{"use32BitWorkerProcess": true, "javaVersion": "17"},
		isDefault: true},
	{stack: "powershell", stackDisplay: "PowerShell Core", major: "7", majorDisplay: "PowerShell 7", minor: "7.2", minorDisplay: "PowerShell 7.2",
		worker: "powershell", linuxFx: "PowerShell|7.2", windowsVersion: "7.2",
		windowsSiteConfig: map[string]any{"use32BitWorkerProcess": true, "powerShellVersion": "7.2"}, isDefault: true},
}

func runtimeSettings(version string, appSettings, siteConfig map[string]any, isDefault bool) arm.Doc {
	return arm.Doc{
		"runtimeVersion":                      version,
		"isHidden":                            false,
		"isPreview":                           false,
		"isDeprecated":                        false,
		"isDefault":                           isDefault,
		"remoteDebuggingSupported":            false,
		"appInsightsSettings":                 arm.Doc{"isSupported": true},
		"gitHubActionSettings":                arm.Doc{"isSupported": true, "supportedVersion": version},
		"appSettingsDictionary":               appSettings,
		"siteConfigPropertiesDictionary":      siteConfig,
		"supportedFunctionsExtensionVersions": []any{"~4"},
	}
}

// functionAppStacks builds the listing, optionally for one OS.
func functionAppStacks(os string) []arm.Doc {
	var out []arm.Doc
	stacks := map[string]arm.Doc{}
	majors := map[string]arm.Doc{}
	for _, r := range functionRuntimes {
		settings := arm.Doc{}
		if r.linuxFx != "" && os != "windows" {
			settings["linuxRuntimeSettings"] = runtimeSettings(r.linuxFx,
				map[string]any{"FUNCTIONS_WORKER_RUNTIME": r.worker},
				map[string]any{"use32BitWorkerProcess": false, "linuxFxVersion": r.linuxFx}, r.isDefault)
		}
		if r.windowsVersion != "" && os != "linux" {
			app := map[string]any{"FUNCTIONS_WORKER_RUNTIME": r.worker}
			for k, v := range r.windowsSettings {
				app[k] = v
			}
			settings["windowsRuntimeSettings"] = runtimeSettings(r.windowsVersion, app, r.windowsSiteConfig, r.isDefault)
		}
		if len(settings) == 0 {
			continue
		}
		st := stacks[r.stack]
		if st == nil {
			preferred := "windows"
			if r.linuxFirst {
				preferred = "linux"
			}
			st = arm.Doc{"id": nil, "name": r.stack, "type": functionAppStacksType, "location": nil,
				"properties": arm.Doc{"displayText": r.stackDisplay, "value": r.stack, "preferredOs": preferred, "majorVersions": []any{}}}
			stacks[r.stack] = st
			out = append(out, st)
		}
		key := r.stack + "/" + r.major
		mj := majors[key]
		if mj == nil {
			mj = arm.Doc{"displayText": r.majorDisplay, "value": r.major, "minorVersions": []any{}}
			majors[key] = mj
			p := st.Obj("properties")
			p["majorVersions"] = append(p["majorVersions"].([]any), mj)
		}
		mj["minorVersions"] = append(mj["minorVersions"].([]any), arm.Doc{
			"displayText": r.minorDisplay, "value": r.minor, "stackSettings": settings,
		})
	}
	return out
}

// listFunctionAppStacks serves GET /providers/Microsoft.Web/functionAppStacks
// (?stackOsType=Windows|Linux|All), which any signed-in caller may read.
func listFunctionAppStacks(c *arm.Call) error {
	if c.ID.Subscription != "" {
		return armerr.New(http.StatusNotFound, "NotFound", "No HTTP resource was found that matches the request URI '%s'.", c.R.URL.Path)
	}
	os := strings.ToLower(c.R.URL.Query().Get("stackOsType"))
	if os == "all" {
		os = ""
	}
	return c.List(functionAppStacks(os), "")
}
