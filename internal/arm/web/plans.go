package web

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/resourceid"
)

// What az's web app commands read besides sites:
//
//   - App Service plans (Microsoft.Web/serverfarms): az webapp create and
//     az functionapp create --plan read the plan (its location, whether it
//     is a Linux plan, its SKU) before they create a site.
//     az appservice plan create writes one.
//   - POST /subscriptions/{s}/providers/Microsoft.Web/checknameavailability:
//     az webapp create asks whether the site name is free.
//   - POST {site}/publishxml: the publishing profiles, from which az
//     webapp create reads the FTP publishing URL it prints.
//   - GET /providers/Microsoft.Web/functionAppStacks: the runtimes
//     az functionapp create resolves --runtime and --runtime-version against.
//
// A site created without a kind on a Linux plan is a Linux site
// ("app,linux", "app,linux,container" for a container image), as App
// Service makes it.

// Type names.
const (
	PlanType               = "Microsoft.Web/serverfarms"
	checkNameType          = "Microsoft.Web/checknameavailability"
	functionAppStacksType  = "Microsoft.Web/functionAppStacks"
	ftpHost                = "waws-prod-mimic.ftp.azurewebsites.windows.net"
	planNameRule           = "The plan name must be 1 to 60 characters long and contain only letters, numbers and hyphens."
	actionPublishXML       = "Microsoft.Web/sites/publishxml/action"
	actionCheckName        = "Microsoft.Web/checknameavailability/read"
	defaultMaximumWorkers  = 3
	dynamicMaximumWorkers  = 200
	premiumMaximumWorkers  = 30
	standardMaximumWorkers = 10
)

var planName = regexp.MustCompile(`^[a-zA-Z0-9-]{1,60}$`)

func registerPlans(r *arm.Registry) {
	r.Register(
		&arm.Type{
			Name: PlanType, APIVersions: versions(), Placement: arm.InGroup, Tracked: true,
			Prepare: preparePlan, CreatedStatus: http.StatusOK,
		},
		&arm.Type{Name: checkNameType, APIVersions: versions(), Placement: arm.Custom, Operation: checkNameAvailability},
		&arm.Type{Name: functionAppStacksType, APIVersions: versions(), Placement: arm.Custom, List: listFunctionAppStacks},
	)
}

// skuTiers maps SKU names (by prefix) to App Service's tiers.
var skuTiers = []struct{ prefix, tier string }{
	{"EP", "ElasticPremium"}, {"WS", "WorkflowStandard"}, {"Y", "Dynamic"}, {"F", "Free"}, {"D", "Shared"},
	{"B", "Basic"}, {"S", "Standard"}, {"I", "Isolated"}, {"P", "Premium"},
}

// skuTier returns the tier of a SKU name: B1 Basic, P1v3 PremiumV3…
func skuTier(name string) string {
	n := strings.ToUpper(name)
	for _, t := range skuTiers {
		if strings.HasPrefix(n, t.prefix) {
			tier := t.tier
			for _, v := range []string{"V2", "V3", "MV3"} {
				if strings.HasSuffix(n, v) && (t.tier == "Premium" || t.tier == "Isolated") {
					tier += strings.TrimPrefix(v, "M")
				}
			}
			return tier
		}
	}
	return ""
}

// skuFamily is a SKU's family: its letters, and its generation
// ("B1" B, "P1v3" Pv3, "EP1" EP).
func skuFamily(name string) string {
	letters := strings.TrimRight(strings.SplitN(name, "v", 2)[0], "0123456789")
	if i := strings.LastIndex(name, "v"); i > 0 {
		return letters + name[i:]
	}
	return letters
}

func preparePlan(c *arm.Call, old, doc arm.Doc) error {
	name := doc.Str("name")
	if old == nil && !planName.MatchString(name) {
		return armerr.BadRequest("BadRequest", "%s", planNameRule)
	}
	id, err := arm.ParseDocID(doc)
	if err != nil {
		return err
	}
	sku := doc.Obj("sku")
	if sku == nil {
		if old != nil {
			sku = old.Obj("sku").Clone()
		} else {
			sku = arm.Doc{"name": "S1"}
		}
	}
	skuName := strings.ToUpper(sku.Str("name"))
	if skuName == "" {
		skuName = "S1"
	}
	if strings.HasSuffix(skuName, "V2") || strings.HasSuffix(skuName, "V3") {
		skuName = skuName[:len(skuName)-2] + strings.ToLower(skuName[len(skuName)-2:])
	}
	tier := skuTier(skuName)
	if tier == "" {
		return armerr.BadRequest("BadRequest", "The SKU '%s' is not a valid App Service plan SKU.", sku.Str("name"))
	}
	capacity := 1
	if n, ok := sku["capacity"].(json.Number); ok {
		if v, err := n.Int64(); err == nil && v > 0 {
			capacity = int(v)
		}
	} else if f, ok := sku["capacity"].(float64); ok && f > 0 {
		capacity = int(f)
	}
	doc["sku"] = arm.Doc{"name": skuName, "tier": tier, "size": skuName, "family": skuFamily(skuName), "capacity": capacity}

	p := doc.Props()
	reserved, _ := p["reserved"].(bool)
	if p["reserved"] == nil && old != nil {
		reserved, _ = old.Obj("properties")["reserved"].(bool)
	}
	kind := "app"
	if reserved {
		kind = "linux"
	}
	if k := strings.ToLower(doc.Str("kind")); strings.Contains(k, "linux") {
		reserved, kind = true, k
	} else if k == "functionapp" || k == "elastic" {
		kind = k
	}
	doc["kind"] = kind
	mode, maxWorkers := "Dedicated", defaultMaximumWorkers
	switch tier {
	case "Dynamic":
		mode, maxWorkers = "Dynamic", dynamicMaximumWorkers
	case "ElasticPremium", "PremiumV2", "PremiumV3", "Premium", "IsolatedV2", "Isolated":
		maxWorkers = premiumMaximumWorkers
	case "Standard":
		maxWorkers = standardMaximumWorkers
	case "Free", "Shared":
		mode, maxWorkers = "Shared", 1
	}
	loc, _ := arm.NormalizeLocation(doc.Str("location"))
	webspace := id.ResourceGroup + "-" + strings.ReplaceAll(arm.RegionDisplayName(loc), " ", "") + "webspace"
	if reserved {
		webspace += "-Linux"
	}
	p["name"] = name
	p["status"] = "Ready"
	p["provisioningState"] = "Succeeded"
	p["reserved"] = reserved
	p["kind"] = kind
	p["resourceGroup"] = id.ResourceGroup
	p["subscription"] = id.Subscription
	p["geoRegion"] = arm.RegionDisplayName(loc)
	p["webSpace"] = webspace
	p["computeMode"] = mode
	p["numberOfWorkers"] = capacity
	p["currentNumberOfWorkers"] = capacity
	p["maximumNumberOfWorkers"] = maxWorkers
	p["planName"] = "VirtualDedicatedPlan"
	p.SetDefault(false, "perSiteScaling")
	p.SetDefault(false, "elasticScaleEnabled")
	p.SetDefault(1, "maximumElasticWorkerCount")
	p.SetDefault(false, "isSpot")
	p.SetDefault(false, "isXenon")
	p.SetDefault(false, "hyperV")
	p.SetDefault(false, "zoneRedundant")
	p.SetDefault(0, "targetWorkerCount")
	p.SetDefault(0, "targetWorkerSizeId")
	return nil
}

// planOf returns the plan a site's serverFarmId names, or nil.
func planOf(c *arm.Call, serverFarmID string) arm.Doc {
	if serverFarmID == "" {
		return nil
	}
	id, err := resourceid.Parse(serverFarmID)
	if err != nil || !strings.EqualFold(id.Type(), PlanType) {
		return nil
	}
	doc, err := c.Get(id)
	if err != nil {
		return nil
	}
	return doc
}

// linuxKind is the kind App Service gives a site created without one on
// a Linux plan.
func linuxKind(plan arm.Doc, siteConfig arm.Doc) string {
	if reserved, _ := plan.Obj("properties")["reserved"].(bool); !reserved {
		return ""
	}
	if strings.HasPrefix(strings.ToUpper(siteConfig.Str("linuxFxVersion")), "DOCKER|") {
		return "app,linux,container"
	}
	return "app,linux"
}

// checkNameAvailability serves POST /subscriptions/{s}/providers/
// Microsoft.Web/checknameavailability with {"name", "type"}: site names
// are host names, free unless a site anywhere has taken them.
func checkNameAvailability(c *arm.Call) error {
	if c.ID.Subscription == "" {
		return armerr.New(http.StatusNotFound, "NotFound", "No HTTP resource was found that matches the request URI '%s'.", c.R.URL.Path)
	}
	if !c.S.Authz.Visible(c.Ctx, c.Caller.ObjectID, c.ID) {
		return armerr.AuthorizationFailed(c.Caller.ClientID, c.Caller.ObjectID, actionCheckName, c.ID.String())
	}
	var req struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(c.Body, &req); err != nil || req.Name == "" {
		return armerr.InvalidRequestContent("the body must be {\"name\": …, \"type\": …}")
	}
	switch strings.ToLower(req.Type) {
	case "site", "slot", strings.ToLower(SiteType), strings.ToLower(SiteType + "/slots"):
	default:
		return armerr.BadRequest("BadRequest", "mimic checks the availability of site names only, not of '%s'.", req.Type)
	}
	if !siteName.MatchString(req.Name) {
		return c.JSON(http.StatusOK, arm.Doc{"nameAvailable": false, "reason": "Invalid",
			"message": "The name '" + req.Name + "' is not a valid site name. A site name must be 2 to 60 characters long, contain only letters, numbers and hyphens, and must not start or end with a hyphen."})
	}
	var taken bool
	err := c.View(func() error {
		docs, err := c.FindByName(SiteType, req.Name)
		taken = len(docs) > 0
		return err
	})
	if err != nil {
		return err
	}
	if taken {
		return c.JSON(http.StatusOK, arm.Doc{"nameAvailable": false, "reason": "AlreadyExists",
			"message": "Hostname '" + req.Name + "' already exists. Please select a different name."})
	}
	return c.JSON(http.StatusOK, arm.Doc{"nameAvailable": true, "reason": "", "message": ""})
}

// publishXML serves POST {site}/publishxml: the site's publishing
// profiles (Web Deploy, FTP, Zip Deploy) as App Service writes them.
// mimic deploys nothing; the passwords are fresh random strings.
func publishXML(c *arm.Call, doc arm.Doc) error {
	name := doc.Str("name")
	host := doc.Obj("properties").Str("defaultHostName")
	scm := strings.ToLower(name) + ".scm" + HostSuffix
	pwd := strings.ReplaceAll(arm.NewGUID()+arm.NewGUID(), "-", "")
	user := "$" + name
	attr := func(k, v string) string { return " " + k + `="` + html.EscapeString(v) + `"` }
	var b strings.Builder
	b.WriteString("<publishData>")
	for _, p := range []struct{ profile, method, url string }{
		{"Web Deploy", "MSDeploy", scm + ":443"},
		{"FTP", "FTP", "ftps://" + ftpHost + "/site/wwwroot"},
		{"Zip Deploy", "ZipDeploy", scm + ":443"},
	} {
		b.WriteString("<publishProfile")
		b.WriteString(attr("profileName", name+" - "+p.profile))
		b.WriteString(attr("publishMethod", p.method))
		b.WriteString(attr("publishUrl", p.url))
		if p.method == "MSDeploy" {
			b.WriteString(attr("msdeploySite", name))
		}
		u := user
		if p.method == "FTP" {
			u = name + `\` + user
			b.WriteString(attr("ftpPassiveMode", "True"))
		}
		b.WriteString(attr("userName", u))
		b.WriteString(attr("userPWD", pwd))
		b.WriteString(attr("destinationAppUrl", "https://"+host))
		b.WriteString(attr("SQLServerDBConnectionString", ""))
		b.WriteString(attr("mySQLDBConnectionString", ""))
		b.WriteString(attr("hostingProviderForumLink", ""))
		b.WriteString(attr("controlPanelLink", "https://portal.azure.com"))
		b.WriteString(attr("webSystem", "WebSites"))
		b.WriteString("><databases /></publishProfile>")
	}
	b.WriteString("</publishData>")
	c.W.Header().Set("Content-Type", "application/xml")
	c.W.WriteHeader(http.StatusOK)
	_, err := fmt.Fprint(c.W, b.String())
	return err
}
