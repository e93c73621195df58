package cli

import (
	"net/http"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mimic-emu/mimic/internal/azout"
)

// App Service plans: every guide creates one before `webapp create -p` or
// `functionapp create -p`, and az reads it then (its location, whether it
// is a Linux plan).

const planType = "Microsoft.Web/serverfarms"

// planShape is az's AppServicePlan (azure-mgmt-web, 2022-03-01): flattened.
var planShape = modelShape{flatten: true, only: true, attrs: []string{
	"elasticScaleEnabled", "extendedLocation", "freeOfferExpirationTime", "geoRegion", "hostingEnvironmentProfile",
	"hyperV", "id", "isSpot", "isXenon", "kind", "kubeEnvironmentProfile", "location", "maximumElasticWorkerCount",
	"maximumNumberOfWorkers", "name", "numberOfSites", "numberOfWorkers", "perSiteScaling", "provisioningState",
	"reserved", "resourceGroup", "sku", "spotExpirationTime", "status", "subscription", "tags", "targetWorkerCount",
	"targetWorkerSizeId", "type", "workerTierName", "zoneRedundant"}}

func planOut(doc map[string]any) map[string]any {
	out := planShape.shape(doc)
	withNulls(obj(out["sku"]), "capabilities", "capacity", "family", "locations", "name", "size", "skuCapacity", "tier")
	return out
}

var planKind = armKind{typ: planType, api: apiWeb, out: planOut}

// planTable is az's transform of plans: name, location, SKU and workers.
func planTable(v any) any {
	return tableRows(v, func(r map[string]any) azout.Ordered {
		sku := obj(r["sku"])
		return azout.Row("Name", r["name"], "ResourceGroup", r["resourceGroup"], "Location", r["location"],
			"SKU", sku["name"], "Workers", r["numberOfWorkers"], "Kind", r["kind"])
	})
}

func newAppServiceCmd(g *globals) *cobra.Command {
	plan := azGroup("plan", "Manage app service plans.",
		newPlanCreateCmd(g), newPlanShowCmd(g), newPlanListCmd(g), newPlanDeleteCmd(g))
	return addAzGlobals(azGroup("appservice", "Manage App Service plans.", plan), g)
}

func newPlanCreateCmd(g *globals) *cobra.Command {
	var rg, name, location, sku string
	var workers int
	var linux, perSite bool
	var tags []string
	return newAzCommand(g, azCmd{
		Use:   "create",
		Short: "Create an app service plan.",
		Long: `Create an App Service plan. mimic runs nothing on it: a plan says where
its sites live and whether they are Linux sites.`,
		Example: `  Create a basic app service plan.
    mimic appservice plan create -g MyResourceGroup -n MyPlan
  Create a Linux plan for web and function apps.
    mimic appservice plan create -g MyResourceGroup -n MyPlan --is-linux --sku B1`,
		Required: []string{"name", "resource-group"},
		NoWait:   true,
		Flags: func(f *pflag.FlagSet) {
			nameFlag(f, &name, "Name of the new app service plan.")
			groupFlag(f, &rg)
			locationFlag(f, &location)
			f.StringVar(&sku, "sku", "B1", "The pricing tiers, e.g., F1(Free), D1(Shared), B1(Basic Small), S1(Standard Small), P1V2(Premium V2 Small), P1V3(Premium V3 Small).")
			f.BoolVar(&linux, "is-linux", false, "Host web app on Linux worker.")
			f.IntVar(&workers, "number-of-workers", 0, "Number of workers to be allocated.")
			f.BoolVar(&perSite, "per-site-scaling", false, "Enable per-app scaling at the App Service plan level to allow for scaling an app independently from the App Service plan that hosts it.")
			tagsFlag(f, &tags)
		},
		Table: planTable,
		Run: func(c *azCall) (any, error) {
			cl, err := c.armIn(rg, &location)
			if err != nil {
				return nil, err
			}
			skuDef := map[string]any{"name": strings.ToUpper(sku)}
			if workers > 0 {
				skuDef["capacity"] = workers
			}
			props := map[string]any{"perSiteScaling": perSite}
			if linux {
				props["reserved"] = true
			}
			body := map[string]any{"location": location, "sku": skuDef, "properties": props}
			if c.changed("tags") {
				body["tags"] = parseTags(tags)
			}
			doc, err := cl.send(c.ctx(), http.MethodPut, cl.resourcePath(rg, planType, name), apiWeb, body)
			if err != nil {
				return nil, err
			}
			return planOut(doc), nil
		},
	})
}

func newPlanShowCmd(g *globals) *cobra.Command {
	var rg, name string
	return newAzCommand(g, azCmd{
		Use:   "show",
		Short: "Get the app service plans for a resource group or a set of resource groups.",
		Example: `  Get the app service plans for a resource group or a set of resource groups.
    mimic appservice plan show --name MyAppServicePlan --resource-group MyResourceGroup`,
		IDParts: []string{"resource-group", "name"},
		Table:   planTable,
		Flags: func(f *pflag.FlagSet) {
			nameFlag(f, &name, "The name of the app service plan.")
			groupFlag(f, &rg)
		},
		// az prints what ARM answered, unconverted (show_plan sends a raw
		// request), with az's global resourceGroup.
		Run: func(c *azCall) (any, error) {
			raw := armKind{typ: planType, api: apiWeb, out: func(d map[string]any) map[string]any { addResourceGroup(d); return d }}
			return c.show(raw, rg, name, nil)
		},
	})
}

func newPlanListCmd(g *globals) *cobra.Command {
	return newListCmd(g, planKind, "List app service plans.", `  List all App Service plans in MyResourceGroup.
    mimic appservice plan list --resource-group MyResourceGroup`, planTable)
}

func newPlanDeleteCmd(g *globals) *cobra.Command {
	var rg, name string
	return newAzCommand(g, azCmd{
		Use:   "delete",
		Short: "Delete an app service plan.",
		Example: `  Delete an app service plan.
    mimic appservice plan delete --name MyAppServicePlan --resource-group MyResourceGroup --yes`,
		IDParts: []string{"resource-group", "name"},
		Confirm: "Are you sure you want to delete the app service plan?",
		Flags: func(f *pflag.FlagSet) {
			nameFlag(f, &name, "The name of the app service plan.")
			groupFlag(f, &rg)
		},
		Run: func(c *azCall) (any, error) { return c.remove(planKind, rg, name, nil) },
	})
}
