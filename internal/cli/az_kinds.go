package cli

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mimic-emu/mimic/internal/azout"
)

// armKind is a resource type that the az-style commands show, list and
// delete in the same way: by group and name (or --ids), with az's output
// of its SDK model.
type armKind struct {
	typ, api string
	// out is az's output of one resource.
	out func(map[string]any) map[string]any
	// keep filters listings (web apps and function apps share a type).
	keep func(map[string]any) bool
}

// show reads the resources named by the flags or --ids.
func (c *azCall) show(k armKind, rg, name string, get func(t target) (map[string]any, error)) (any, error) {
	return c.forEach(rg, name, k.typ, func(t target) (any, error) {
		var doc map[string]any
		var err error
		if get != nil {
			doc, err = get(t)
		} else {
			cl, _ := c.arm()
			doc, err = cl.get(c.ctx(), t.path, k.api)
		}
		if err != nil {
			return nil, err
		}
		if out := k.out(doc); out != nil {
			return out, nil
		}
		return nil, nil
	})
}

// newListCmd is an az list command of a kind: -g or the subscription.
func newListCmd(g *globals, k armKind, short, example string, table func(any) any) *cobra.Command {
	var rg string
	return newAzCommand(g, azCmd{
		Use:     "list",
		Short:   short,
		Example: example,
		Table:   table,
		Flags:   func(f *pflag.FlagSet) { groupFlag(f, &rg) },
		Run:     func(c *azCall) (any, error) { return c.list(k, rg) },
	})
}

// list lists the kind in the subscription or a group.
func (c *azCall) list(k armKind, rg string) (any, error) {
	cl, err := c.arm()
	if err != nil {
		return nil, err
	}
	path := cl.subPath() + "/providers/" + k.typ
	if rg != "" {
		path = cl.groupPath(rg) + "/providers/" + k.typ
	}
	items, err := cl.list(c.ctx(), path, k.api)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, it := range items {
		if d := obj(it); k.keep == nil || k.keep(d) {
			out = append(out, k.out(d))
		}
	}
	return out, nil
}

// remove deletes the resources named by the flags or --ids; check, when
// set, runs first on each.
func (c *azCall) remove(k armKind, rg, name string, check func(t target) error) (any, error) {
	return c.forEach(rg, name, k.typ, func(t target) (any, error) {
		if check != nil {
			if err := check(t); err != nil {
				return nil, err
			}
		}
		cl, _ := c.arm()
		_, err := cl.call(c.ctx(), http.MethodDelete, t.path, k.api, nil)
		return nil, err
	})
}

// armIn connects and fills in --location as az does: the resource
// group's location when not given.
func (c *azCall) armIn(rg string, location *string) (*azClient, error) {
	cl, err := c.arm()
	if err != nil {
		return nil, err
	}
	*location, err = c.location(rg, *location)
	return cl, err
}

// location is --location, or the resource group's location as az's
// default.
func (c *azCall) location(rg, location string) (string, error) {
	if location != "" {
		return location, nil
	}
	cl, err := c.arm()
	if err != nil {
		return "", err
	}
	doc, err := cl.get(c.ctx(), cl.groupPath(rg), apiResources)
	if err != nil {
		return "", err
	}
	return str(doc["location"]), nil
}

// findByName returns the path of a resource of a type: in the group, or
// found by its name in the subscription (names of vaults and storage
// accounts are global), or notFound's error.
func (c *azCall) findByName(typ, rg, name string, notFound *notFoundError) (string, error) {
	cl, err := c.arm()
	if err != nil {
		return "", err
	}
	if rg != "" {
		return cl.resourcePath(rg, typ, name), nil
	}
	filter := url.QueryEscape("resourceType eq '" + typ + "' and name eq '" + strings.ReplaceAll(name, "'", "''") + "'")
	items, err := cl.list(c.ctx(), cl.subPath()+"/resources?$filter="+filter, "2021-04-01")
	if err != nil {
		return "", err
	}
	if len(items) == 0 {
		return "", notFound
	}
	return str(obj(items[0])["id"]), nil
}

// tableRows applies a row transformer to a result, one item or a list,
// as az's table transformers do.
func tableRows(v any, row func(r map[string]any) azout.Ordered) any {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	rows := make([]any, 0, len(list))
	for _, e := range list {
		rows = append(rows, row(obj(e)))
	}
	return rows
}

// withIdentityNulls fills the identity block of an output as the SDK's
// ManagedServiceIdentity prints.
func withIdentityNulls(out map[string]any) map[string]any {
	if ident := obj(out["identity"]); ident != nil {
		withNulls(ident, "principalId", "tenantId", "type", "userAssignedIdentities")
	}
	return out
}
