package cli

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mimic-emu/mimic/internal/azout"
	"github.com/mimic-emu/mimic/internal/home"
)

// mimic's environment name: its clients reach Azure's public hostnames.
const cloudName = "AzureCloud"

func newAccountCmd(g *globals) *cobra.Command {
	return addAzGlobals(azGroup("account", "Manage Azure subscription information.",
		newAccountShowCmd(g), newAccountListCmd(g)), g)
}

// accountEntries are az's subscription entries for the operator of the
// home: az keeps them in azureProfile.json after 'az login'; mimic reads
// the subscriptions the operator sees (falling back to the profile's).
func accountEntries(c *azCall) ([]map[string]any, error) {
	dir, err := c.g.homeDir()
	if err != nil {
		return nil, err
	}
	p, err := home.ReadProfile(dir)
	if err != nil {
		return nil, err
	}
	subs := []map[string]any{{"subscriptionId": p.SubscriptionID, "displayName": "mimic", "state": "Enabled", "tenantId": p.TenantID}}
	if cl, err := c.arm(); err == nil {
		if items, err := cl.list(c.ctx(), "/subscriptions", apiResources); err == nil && len(items) > 0 {
			subs = subs[:0]
			for _, it := range items {
				subs = append(subs, obj(it))
			}
		}
	} else if c.g.az.subscription != "" {
		return nil, err
	}
	var out []map[string]any
	for _, s := range subs {
		id := str(s["subscriptionId"])
		tenant := str(s["tenantId"])
		if tenant == "" {
			tenant = p.TenantID
		}
		managed := s["managedByTenants"]
		if managed == nil {
			managed = []any{}
		}
		out = append(out, map[string]any{
			"environmentName":  cloudName,
			"homeTenantId":     tenant,
			"id":               id,
			"isDefault":        strings.EqualFold(id, p.SubscriptionID),
			"managedByTenants": managed,
			"name":             str(s["displayName"]),
			"state":            str(s["state"]),
			"tenantId":         tenant,
			"user":             map[string]any{"name": p.Operator.ClientID, "type": "servicePrincipal"},
		})
	}
	return out, nil
}

func newAccountShowCmd(g *globals) *cobra.Command {
	var name string
	return newAzCommand(g, azCmd{
		Use:   "show",
		Short: "Get the details of a subscription.",
		Long: `Get the details of a subscription: the profile's default one, or the one
named by --name (or the global --subscription).`,
		Example: `  Get the details of the current subscription.
    mimic account show
  Get the subscription id.
    mimic account show --query id -o tsv`,
		Flags: func(f *pflag.FlagSet) {
			f.StringVarP(&name, "name", "n", "", "Name or ID of subscription.")
		},
		Run: func(c *azCall) (any, error) {
			want := name
			if want == "" {
				want = c.g.az.subscription
			}
			entries, err := accountEntries(c)
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				if (want == "" && e["isDefault"] == true) || (want != "" && (strings.EqualFold(str(e["id"]), want) || str(e["name"]) == want)) {
					return e, nil
				}
			}
			if want == "" && len(entries) > 0 {
				return entries[0], nil
			}
			return nil, cliError("Subscription '%s' not found. Check the spelling and casing and try again.", want)
		},
	})
}

func newAccountListCmd(g *globals) *cobra.Command {
	var all, refresh bool
	return newAzCommand(g, azCmd{
		Use:   "list",
		Short: "Get a list of subscriptions for the logged in account.",
		Example: `  List the subscriptions.
    mimic account list -o table`,
		Flags: func(f *pflag.FlagSet) {
			f.BoolVar(&all, "all", false, "List all subscriptions from all clouds, rather than just 'AzureCloud'.")
			f.BoolVar(&refresh, "refresh", false, "Retrieve up-to-date subscriptions from server.")
		},
		Table: accountTable,
		Run: func(c *azCall) (any, error) {
			entries, err := accountEntries(c)
			if err != nil {
				return nil, err
			}
			out := make([]any, 0, len(entries))
			for _, e := range entries {
				e["cloudName"] = e["environmentName"]
				delete(e, "environmentName")
				out = append(out, e)
			}
			return out, nil
		},
	})
}

// accountTable is az's transform_account_list.
func accountTable(v any) any {
	return tableRows(v, func(r map[string]any) azout.Ordered {
		return azout.Row("Name", r["name"], "CloudName", r["cloudName"], "SubscriptionId", r["id"],
			"TenantId", r["tenantId"], "State", r["state"], "IsDefault", r["isDefault"])
	})
}
