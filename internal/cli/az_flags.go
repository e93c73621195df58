package cli

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/mimic-emu/mimic/internal/resourceid"
)

// The arguments many az commands share, with az's names and help.

func groupFlag(f *pflag.FlagSet, p *string) {
	f.StringVarP(p, "resource-group", "g", "", "Name of resource group.")
}

func nameFlag(f *pflag.FlagSet, p *string, help string) {
	f.StringVarP(p, "name", "n", "", help)
}

func locationFlag(f *pflag.FlagSet, p *string) {
	f.StringVarP(p, "location", "l", "", "Location. Values from: 'az account list-locations'. Default: the resource group's location.")
}

func tagsFlag(f *pflag.FlagSet, p *[]string) {
	multi(f, "tags", "", p, "Space-separated tags: key[=value] [key[=value] ...]. Use \"\" to clear existing tags.")
}

// parseTags reads az's --tags: key[=value] pairs; a single empty value
// clears the tags.
func parseTags(values []string) map[string]any {
	tags := map[string]any{}
	for _, v := range values {
		if v == "" || v == "''" || v == `""` {
			continue
		}
		k, val, _ := strings.Cut(v, "=")
		tags[k] = val
	}
	return tags
}

// target is the resource a command acts on: named by flags or by --ids.
type target struct {
	path, rg, name string
}

// targets returns the resources named by --ids, or by the group and name
// flags.
func (c *azCall) targets(rg, name, typ string) ([]target, error) {
	cl, err := c.arm()
	if err != nil {
		return nil, err
	}
	if len(c.ids) == 0 {
		return []target{{path: cl.resourcePath(rg, typ, name), rg: rg, name: name}}, nil
	}
	var out []target
	for _, s := range c.ids {
		id, err := resourceid.Parse(s)
		if err != nil || !id.IsResource() {
			return nil, cliError("invalid resource ID: %s", s)
		}
		out = append(out, target{path: id.String(), rg: id.ResourceGroup, name: id.Name()})
	}
	return out, nil
}

// forEach runs fn for each target: one result prints as itself, several
// as a list, and nil results print nothing.
func (c *azCall) forEach(rg, name, typ string, fn func(t target) (any, error)) (any, error) {
	ts, err := c.targets(rg, name, typ)
	if err != nil {
		return nil, err
	}
	if len(ts) == 1 {
		return fn(ts[0])
	}
	var out []any
	for _, t := range ts {
		r, err := fn(t)
		if err != nil {
			return nil, err
		}
		if r != nil {
			out = append(out, r)
		}
	}
	if out == nil {
		return nil, nil
	}
	return out, nil
}
