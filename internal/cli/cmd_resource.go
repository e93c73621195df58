package cli

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mimic-emu/mimic/internal/azout"
	"github.com/mimic-emu/mimic/internal/resourceid"
)

// genericShape is az's GenericResource: not flattened, properties as the
// provider wrote them.
var genericShape = modelShape{only: true, raw: map[string]bool{"properties": true}, attrs: []string{
	"extendedLocation", "id", "identity", "kind", "location", "managedBy", "name", "plan", "properties", "sku", "tags", "type"}}

// genericExpandedShape is az's GenericResourceExpanded, what listings
// return.
var genericExpandedShape = modelShape{only: true, raw: map[string]bool{"properties": true}, attrs: append([]string{
	"changedTime", "createdTime", "provisioningState"}, genericShape.attrs...)}

// resourceAPIVersions are the api-versions mimic's providers serve, for
// az resource's generic commands (az asks the provider for its latest).
var resourceAPIVersions = map[string]string{
	"microsoft.managedidentity/userassignedidentities":                              "2023-01-31",
	"microsoft.managedidentity/userassignedidentities/federatedidentitycredentials": "2023-01-31",
	"microsoft.compute/virtualmachines":                                             apiCompute,
	"microsoft.web/sites":                                                           apiWeb,
	"microsoft.web/sites/config":                                                    apiWeb,
	"microsoft.containerservice/managedclusters":                                    apiAKS,
	"microsoft.keyvault/vaults":                                                     apiKeyVault,
	"microsoft.storage/storageaccounts":                                             apiStorage,
	"microsoft.sql/servers":                                                         apiSQL,
	"microsoft.authorization/roleassignments":                                       "2022-04-01",
	"microsoft.authorization/roledefinitions":                                       "2022-04-01",
}

// resourceAPIVersion picks the api-version for a resource id.
func resourceAPIVersion(id, override string) (string, error) {
	if override != "" {
		return override, nil
	}
	rid, err := resourceid.Parse(id)
	if err != nil {
		return "", cliError("%s", err.Error())
	}
	typ := rid.Type()
	if v, ok := resourceAPIVersions[strings.ToLower(typ)]; ok {
		return v, nil
	}
	ns, t, _ := strings.Cut(typ, "/")
	return "", cliError("The resource type '%s' could not be found in the namespace '%s' for api version ''. Pass --api-version.", t, ns)
}

// genericFlags name a resource the way az resource does.
type genericFlags struct {
	rg, name, namespace, typ, parent, apiVersion string
}

func (gf *genericFlags) add(f *pflag.FlagSet) {
	groupFlag(f, &gf.rg)
	nameFlag(f, &gf.name, "The resource name. (Ex: myC)")
	f.StringVar(&gf.namespace, "namespace", "", "Provider namespace (Ex: 'Microsoft.Provider').")
	f.StringVar(&gf.typ, "resource-type", "", "The resource type (Ex: 'resC'). Can also accept namespace/type format (Ex: 'Microsoft.Provider/resC').")
	f.StringVar(&gf.parent, "parent", "", "The parent path (Ex: 'resA/myA/resB/myB').")
	f.StringVar(&gf.apiVersion, "api-version", "", "The api version of the resource (omit for the latest stable version).")
}

// ids returns the resource ids the flags name.
func (gf *genericFlags) ids(c *azCall) ([]string, error) {
	if len(c.ids) > 0 {
		return c.ids, nil
	}
	var missing []string
	for _, m := range []struct{ flag, v string }{{"--resource-group", gf.rg}, {"--name", gf.name}, {"--resource-type", gf.typ}} {
		if m.v == "" {
			missing = append(missing, m.flag)
		}
	}
	if len(missing) > 0 {
		return nil, cliError("(%s | --ids) are required", strings.Join(missing, " "))
	}
	cl, err := c.arm()
	if err != nil {
		return nil, err
	}
	ns, typ := gf.namespace, gf.typ
	if strings.Contains(typ, "/") && ns == "" {
		ns, typ, _ = strings.Cut(typ, "/")
	}
	if ns == "" {
		return nil, cliError("--namespace is required when --resource-type is not in the form 'Namespace/type'")
	}
	path := cl.groupPath(gf.rg) + "/providers/" + ns + "/"
	if gf.parent != "" {
		path += strings.Trim(gf.parent, "/") + "/"
	}
	return []string{path + typ + "/" + url.PathEscape(gf.name)}, nil
}

// each runs fn for each resource the flags name, with its api-version;
// one result prints as itself, several as a list.
func (gf *genericFlags) each(c *azCall, fn func(cl *azClient, id, version string) (any, error)) (any, error) {
	ids, err := gf.ids(c)
	if err != nil {
		return nil, err
	}
	cl, err := c.arm()
	if err != nil {
		return nil, err
	}
	var out []any
	for _, id := range ids {
		v, err := resourceAPIVersion(id, gf.apiVersion)
		if err != nil {
			return nil, err
		}
		r, err := fn(cl, id, v)
		if err != nil {
			return nil, err
		}
		if r != nil {
			out = append(out, r)
		}
	}
	switch len(out) {
	case 0:
		return nil, nil
	case 1:
		return out[0], nil
	}
	return out, nil
}

func newResourceCmd(g *globals) *cobra.Command {
	return addAzGlobals(azGroup("resource", "Manage Azure resources.",
		newResourceShowCmd(g), newResourceListCmd(g), newResourceDeleteCmd(g)), g)
}

func newResourceShowCmd(g *globals) *cobra.Command {
	var gf genericFlags
	return newAzCommand(g, azCmd{
		Use:   "show",
		Short: "Get the details of a resource.",
		Example: `  Show a virtual machine resource named 'MyVm'.
    mimic resource show -g MyResourceGroup -n MyVm --resource-type "Microsoft.Compute/virtualMachines"
  Show a resource by id.
    mimic resource show --ids /subscriptions/0b1f6471-1bf0-4dda-aec3-111111111111/resourceGroups/MyResourceGroup/providers/Microsoft.Web/sites/MyWebapp`,
		IDParts: []string{"resource-group", "name", "resource-type"},
		Flags:   func(f *pflag.FlagSet) { gf.add(f) },
		Run: func(c *azCall) (any, error) {
			return gf.each(c, func(cl *azClient, id, version string) (any, error) {
				doc, err := cl.get(c.ctx(), id, version)
				if err != nil {
					return nil, err
				}
				return genericShape.shape(doc), nil
			})
		},
	})
}

func newResourceListCmd(g *globals) *cobra.Command {
	var rg, name, namespace, typ, tag, location string
	return newAzCommand(g, azCmd{
		Use:   "list",
		Short: "List resources.",
		Example: `  List all resources in a resource group.
    mimic resource list -g MyResourceGroup -o table
  List the user-assigned identities of the subscription.
    mimic resource list --resource-type Microsoft.ManagedIdentity/userAssignedIdentities`,
		Table: resourceTable,
		Flags: func(f *pflag.FlagSet) {
			groupFlag(f, &rg)
			nameFlag(f, &name, "Only show resources with this name.")
			f.StringVar(&namespace, "namespace", "", "Provider namespace (Ex: 'Microsoft.Provider').")
			f.StringVar(&typ, "resource-type", "", "The resource type (Ex: 'resC'). Can also accept namespace/type format (Ex: 'Microsoft.Provider/resC').")
			f.StringVar(&tag, "tag", "", "a single tag in 'key[=value]' format.")
			locationFlag(f, &location)
		},
		Run: func(c *azCall) (any, error) {
			cl, err := c.arm()
			if err != nil {
				return nil, err
			}
			var clauses []string
			if typ != "" {
				if namespace != "" && !strings.Contains(typ, "/") {
					typ = namespace + "/" + typ
				}
				clauses = append(clauses, "resourceType eq '"+typ+"'")
			}
			if name != "" {
				clauses = append(clauses, "name eq '"+strings.ReplaceAll(name, "'", "''")+"'")
			}
			if tag != "" {
				k, v, hasValue := strings.Cut(tag, "=")
				clauses = append(clauses, "tagName eq '"+k+"'")
				if hasValue {
					clauses = append(clauses, "tagValue eq '"+v+"'")
				}
			}
			path := cl.subPath() + "/resources"
			if rg != "" {
				path = cl.groupPath(rg) + "/resources"
			}
			if len(clauses) > 0 {
				path += "?$filter=" + url.QueryEscape(strings.Join(clauses, " and "))
			}
			items, err := cl.list(c.ctx(), path, "2021-04-01")
			if err != nil {
				return nil, err
			}
			out := []any{}
			for _, it := range items {
				d := obj(it)
				if location != "" && !strings.EqualFold(str(d["location"]), location) {
					continue
				}
				out = append(out, genericExpandedShape.shape(d))
			}
			return out, nil
		},
	})
}

// resourceTable is az's transform_resource_list.
func resourceTable(v any) any {
	return tableRows(v, func(r map[string]any) azout.Ordered {
		status := any(" ")
		if p := obj(r["properties"]); p != nil {
			status = p["provisioningStatus"]
		}
		return azout.Row("Name", r["name"], "ResourceGroup", r["resourceGroup"], "Location", r["location"], "Type", r["type"], "Status", status)
	})
}

func newResourceDeleteCmd(g *globals) *cobra.Command {
	var gf genericFlags
	return newAzCommand(g, azCmd{
		Use:   "delete",
		Short: "Delete a resource.",
		Example: `  Delete a virtual machine named 'MyVm'.
    mimic resource delete -g MyResourceGroup -n MyVm --resource-type "Microsoft.Compute/virtualMachines"
  Delete resources by id.
    mimic resource delete --ids /subscriptions/0b1f6471-1bf0-4dda-aec3-111111111111/resourceGroups/MyResourceGroup/providers/Microsoft.Web/sites/MyWebapp`,
		IDParts: []string{"resource-group", "name", "resource-type"},
		NoWait:  true,
		Flags:   func(f *pflag.FlagSet) { gf.add(f) },
		Run: func(c *azCall) (any, error) {
			return gf.each(c, func(cl *azClient, id, version string) (any, error) {
				_, err := cl.call(c.ctx(), http.MethodDelete, id, version, nil)
				return nil, err
			})
		},
	})
}
