package cli

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mimic-emu/mimic/internal/azout"
)

// apiResources is the Microsoft.Resources api-version az 2.45 sends.
const apiResources = "2022-09-01"

// groupShape is az's ResourceGroup: not flattened.
var groupShape = modelShape{attrs: []string{"id", "location", "managedBy", "name", "properties", "tags", "type"}}

func newGroupCmd(g *globals) *cobra.Command {
	return addAzGlobals(azGroup("group", "Manage resource groups and template deployments.",
		newGroupCreateCmd(g), newGroupShowCmd(g), newGroupListCmd(g), newGroupDeleteCmd(g), newGroupExistsCmd(g)), g)
}

// groupNameFlag is az's --name/-n/--resource-group/-g of group commands.
func groupNameFlag(f *pflag.FlagSet, p *string) {
	f.StringVarP(p, "name", "n", "", "Name of resource group.")
	f.StringVarP(p, "resource-group", "g", "", "Name of resource group (an alias of --name).")
}

// groupNameArg is the required group name of group commands: --name or
// its alias --resource-group.
const groupNameArg = "name|resource-group"

func newGroupCreateCmd(g *globals) *cobra.Command {
	var name, location, managedBy string
	var tags []string
	return newAzCommand(g, azCmd{
		Use:   "create",
		Short: "Create a new resource group.",
		Example: `  Create a new resource group in the West US region.
    mimic group create -l westus -n MyResourceGroup`,
		Required: []string{groupNameArg, "location"},
		Flags: func(f *pflag.FlagSet) {
			groupNameFlag(f, &name)
			locationFlag(f, &location)
			tagsFlag(f, &tags)
			f.StringVar(&managedBy, "managed-by", "", "The ID of the resource that manages this resource group.")
		},
		Run: func(c *azCall) (any, error) {
			cl, err := c.arm()
			if err != nil {
				return nil, err
			}
			body := map[string]any{"location": location}
			if c.changed("tags") {
				body["tags"] = parseTags(tags)
			}
			if managedBy != "" {
				body["managedBy"] = managedBy
			}
			doc, err := cl.send(c.ctx(), http.MethodPut, cl.groupPath(name), apiResources, body)
			return groupShape.shape(doc), err
		},
	})
}

func newGroupShowCmd(g *globals) *cobra.Command {
	var name string
	return newAzCommand(g, azCmd{
		Use:   "show",
		Short: "Gets a resource group.",
		Example: `  Get a resource group.
    mimic group show -n MyResourceGroup`,
		Required: []string{groupNameArg},
		Flags:    func(f *pflag.FlagSet) { groupNameFlag(f, &name) },
		Table:    groupTable,
		Run: func(c *azCall) (any, error) {
			cl, err := c.arm()
			if err != nil {
				return nil, err
			}
			doc, err := cl.get(c.ctx(), cl.groupPath(name), apiResources)
			return groupShape.shape(doc), err
		},
	})
}

// groupTable is az's transform_resource_group_list.
func groupTable(v any) any {
	return tableRows(v, func(r map[string]any) azout.Ordered {
		return azout.Row("Name", r["name"], "Location", r["location"], "Status", dig(r, "properties", "provisioningState"))
	})
}

func newGroupListCmd(g *globals) *cobra.Command {
	var tag string
	return newAzCommand(g, azCmd{
		Use:   "list",
		Short: "List resource groups.",
		Example: `  List all resource groups located in the West US region.
    mimic group list --query "[?location=='westus']"`,
		Flags: func(f *pflag.FlagSet) {
			f.StringVar(&tag, "tag", "", "a single tag in 'key[=value]' format")
		},
		Table: groupTable,
		Run: func(c *azCall) (any, error) {
			cl, err := c.arm()
			if err != nil {
				return nil, err
			}
			path := cl.subPath() + "/resourcegroups"
			if tag != "" {
				k, v, hasValue := strings.Cut(tag, "=")
				f := "tagName eq '" + k + "'"
				if hasValue {
					f += " and tagValue eq '" + v + "'"
				}
				path += "?$filter=" + url.QueryEscape(f)
			}
			items, err := cl.list(c.ctx(), path, apiResources)
			return groupShape.shapeList(items), err
		},
	})
}

func newGroupDeleteCmd(g *globals) *cobra.Command {
	var name, forceTypes string
	return newAzCommand(g, azCmd{
		Use:   "delete",
		Short: "Delete a resource group.",
		Example: `  Delete a resource group.
    mimic group delete -n MyResourceGroup --yes`,
		Required: []string{groupNameArg},
		Confirm:  "Are you sure you want to perform this operation?",
		NoWait:   true,
		Flags: func(f *pflag.FlagSet) {
			groupNameFlag(f, &name)
			f.StringVarP(&forceTypes, "force-deletion-types", "f", "", "The resource types you want to force delete (accepted; mimic deletes everything).")
		},
		Run: func(c *azCall) (any, error) {
			cl, err := c.arm()
			if err != nil {
				return nil, err
			}
			_, err = cl.call(c.ctx(), http.MethodDelete, cl.groupPath(name), apiResources, nil)
			return nil, err
		},
	})
}

func newGroupExistsCmd(g *globals) *cobra.Command {
	var name string
	return newAzCommand(g, azCmd{
		Use:   "exists",
		Short: "Check if a resource group exists.",
		Example: `  Check if 'MyResourceGroup' exists.
    mimic group exists -n MyResourceGroup`,
		Required: []string{groupNameArg},
		Flags:    func(f *pflag.FlagSet) { groupNameFlag(f, &name) },
		Run: func(c *azCall) (any, error) {
			cl, err := c.arm()
			if err != nil {
				return nil, err
			}
			_, err = cl.call(c.ctx(), http.MethodHead, cl.groupPath(name), apiResources, nil)
			var api *APIError
			if errors.As(err, &api) && api.Status == http.StatusNotFound {
				return false, nil
			}
			return err == nil, err
		},
	})
}
