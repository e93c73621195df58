// Package resources is the Microsoft.Resources provider: subscriptions,
// tenants, resource groups (whose deletion deletes what they hold), the
// generic resource listings, and the tags extension resource
// ({scope}/providers/Microsoft.Resources/tags/default), so that every
// resource can be tagged.
package resources

import (
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/store"
)

// APIVersions of Microsoft.Resources, including those the Go SDK
// (armresources 2021-04-01), armsubscriptions and az 2.45 send.
var APIVersions = []string{
	"2014-04-01", "2015-01-01", "2015-11-01", "2016-02-01", "2016-06-01", "2016-07-01", "2016-09-01",
	"2017-05-10", "2017-08-01", "2018-02-01", "2018-05-01", "2018-06-01", "2019-03-01", "2019-05-01",
	"2019-05-10", "2019-06-01", "2019-07-01", "2019-08-01", "2019-10-01", "2019-11-01", "2020-01-01",
	"2020-06-01", "2020-08-01", "2020-10-01", "2021-01-01", "2021-04-01", "2022-01-01", "2022-09-01",
	"2022-12-01", "2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-03-01", "2025-04-01",
}

const (
	subscriptionType  = "Microsoft.Resources/subscriptions"
	resourceGroupType = "Microsoft.Resources/resourceGroups"
	// Actions for the pseudo-types, as Azure names them.
	actionSubRead       = "Microsoft.Resources/subscriptions/read"
	actionGroupRead     = "Microsoft.Resources/subscriptions/resourceGroups/read"
	actionGroupResRead  = "Microsoft.Resources/subscriptions/resourceGroups/resources/read"
	actionSubResRead    = "Microsoft.Resources/subscriptions/resources/read"
	actionTagsRead      = "Microsoft.Resources/tags/read"
	actionProvidersRead = "Microsoft.Resources/subscriptions/providers/read"
	actionTagsWrite     = "Microsoft.Resources/tags/write"
	actionTagsDelete    = "Microsoft.Resources/tags/delete"
	tagsType            = "Microsoft.Resources/tags"
	subscriptionQuotaID = "PayAsYouGo_2014-09-01"
)

// Register adds the Microsoft.Resources types.
func Register(r *arm.Registry) {
	r.Register(
		&arm.Type{Name: subscriptionType, APIVersions: clone(), Placement: arm.Custom, Serve: serveSubscription, List: listSubscriptions},
		&arm.Type{Name: "Microsoft.Resources/tenants", APIVersions: clone(), Placement: arm.Custom, List: listTenants},
		&arm.Type{
			Name: resourceGroupType, APIVersions: clone(), Placement: arm.Custom, Tracked: true,
			PermissionBase: "Microsoft.Resources/subscriptions/resourceGroups",
			Serve:          serveGroup, List: listGroups, Prepare: prepareGroup,
		},
		&arm.Type{Name: "Microsoft.Resources/resources", APIVersions: clone(), Placement: arm.Custom, List: listResources},
		&arm.Type{Name: tagsType, APIVersions: clone(), Placement: arm.Extension, Serve: serveTags},
		&arm.Type{Name: arm.ProvidersType, APIVersions: clone(), Placement: arm.Custom, Serve: serveProvider, List: listProviders},
	)
}

// serveProvider answers GET /subscriptions/{s}/providers/{namespace}: the
// provider's registration with its resource types, their locations and
// api-versions (newest first, as ARM lists them). az's generic resource
// commands (az resource show|create|delete without --api-version) read it
// to pick the newest api-version that is not a preview.
func serveProvider(c *arm.Call) error {
	if c.R.Method != http.MethodGet {
		return armerr.MethodNotAllowed(c.R.Method, arm.ProvidersType)
	}
	if err := providerCaller(c); err != nil {
		return err
	}
	for _, p := range providers(c) {
		if strings.EqualFold(p.Str("namespace"), c.Namespace) {
			return c.JSON(http.StatusOK, p)
		}
	}
	return armerr.InvalidNamespace(c.Namespace)
}

// listProviders answers GET /subscriptions/{s}/providers.
func listProviders(c *arm.Call) error {
	if err := providerCaller(c); err != nil {
		return err
	}
	return c.List(providers(c), "")
}

// providerCaller lets through callers who see the subscription, as
// reading the subscription itself does.
func providerCaller(c *arm.Call) error {
	if !isGUID(c.ID.Subscription) {
		return armerr.InvalidSubscriptionID(c.ID.Subscription)
	}
	err := c.View(func() error {
		_, err := c.Load(c.ID)
		return err
	})
	if err != nil {
		return err
	}
	if !c.S.Authz.Visible(c.Ctx, c.Caller.ObjectID, c.ID) {
		return armerr.AuthorizationFailed(c.Caller.ClientID, c.Caller.ObjectID, actionProvidersRead, c.ID.String())
	}
	return nil
}

// providers describes every namespace mimic serves, sorted.
func providers(c *arm.Call) []arm.Doc {
	locations := make([]any, 0)
	for _, r := range arm.Regions() {
		locations = append(locations, arm.RegionDisplayName(r))
	}
	byNS := map[string][]any{}
	var order []string
	for _, t := range c.S.Registry.Types() {
		ns := t.Namespace()
		if _, ok := byNS[ns]; !ok {
			order = append(order, ns)
		}
		versions := append([]string(nil), t.APIVersions...)
		sort.Sort(sort.Reverse(sort.StringSlice(versions)))
		apis := make([]any, len(versions))
		for i, v := range versions {
			apis[i] = v
		}
		rt := arm.Doc{"resourceType": strings.TrimPrefix(t.Name, ns+"/"), "apiVersions": apis, "capabilities": "None"}
		if t.Tracked {
			rt["locations"] = locations
		} else {
			rt["locations"] = []any{}
		}
		byNS[ns] = append(byNS[ns], rt)
	}
	sort.Strings(order)
	out := make([]arm.Doc, 0, len(order))
	for _, ns := range order {
		out = append(out, arm.Doc{
			"id":                 c.ID.String() + "/providers/" + ns,
			"namespace":          ns,
			"registrationState":  "Registered",
			"registrationPolicy": "RegistrationRequired",
			"resourceTypes":      byNS[ns],
		})
	}
	return out
}

func isGUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

func clone() []string { return append([]string(nil), APIVersions...) }

// SubscriptionDoc is the document of a subscription.
func SubscriptionDoc(subscriptionID, tenantID, displayName string) arm.Doc {
	return arm.Doc{
		"id":                   "/subscriptions/" + subscriptionID,
		"authorizationSource":  "RoleBased",
		"managedByTenants":     []any{},
		"subscriptionId":       subscriptionID,
		"tenantId":             tenantID,
		"displayName":          displayName,
		"state":                "Enabled",
		"subscriptionPolicies": arm.Doc{"locationPlacementId": "Public_2014-09-01", "quotaId": subscriptionQuotaID, "spendingLimit": "Off"},
		"tags":                 arm.Doc{},
	}
}

func serveSubscription(c *arm.Call) error {
	if c.R.Method != http.MethodGet {
		return armerr.MethodNotAllowed(c.R.Method, subscriptionType)
	}
	if !c.S.Authz.Visible(c.Ctx, c.Caller.ObjectID, c.ID) {
		return armerr.AuthorizationFailed(c.Caller.ClientID, c.Caller.ObjectID, actionSubRead, c.ID.String())
	}
	var doc arm.Doc
	err := c.View(func() error {
		var err error
		doc, err = c.Load(c.ID)
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, doc)
}

func listSubscriptions(c *arm.Call) error {
	var items []arm.Doc
	err := c.View(func() error {
		var err error
		items, _, err = c.Page(store.ResourceFilter{Type: subscriptionType}, func(d arm.Doc) bool {
			id, err := resourceid.Parse(d.Str("id"))
			return err == nil && c.S.Authz.Visible(c.Ctx, c.Caller.ObjectID, id)
		})
		return err
	})
	if err != nil {
		return err
	}
	return c.List(items, "")
}

func listTenants(c *arm.Call) error {
	t := c.Tenant()
	return c.List([]arm.Doc{{
		"id":             "/tenants/" + t,
		"tenantId":       t,
		"tenantCategory": "Home",
		"country":        "US",
		"countryCode":    "US",
		"displayName":    "mimic",
		"domains":        []string{"mimic.onmicrosoft.com"},
		"defaultDomain":  "mimic.onmicrosoft.com",
		"tenantType":     "AAD",
	}}, "")
}

// groupName is ARM's rule for resource group names.
var groupName = regexp.MustCompile(`^[-\w\._\(\)]{1,90}$`)

func serveGroup(c *arm.Call) error {
	switch c.R.Method {
	case http.MethodPut, http.MethodPatch:
		name := c.ID.ResourceGroup
		if !groupName.MatchString(name) || strings.HasSuffix(name, ".") {
			return armerr.BadRequest("InvalidResourceGroup",
				"The provided resource group name '%s' is invalid. Resource group names can only include alphanumeric, underscore, parentheses, hyphen, period (except at end), and Unicode characters that match the allowed characters, and be at most 90 characters long.", name)
		}
	case http.MethodDelete:
		if err := c.Authorize(c.Type.Permission("delete"), c.ID); err != nil {
			return err
		}
		err := c.Update(func() error {
			if _, err := c.Load(c.ID); err != nil {
				return err
			}
			if err := c.DeleteTree(c.ID); err != nil {
				return err
			}
			// Role assignments in the group went with it.
			return c.RBACChanged()
		})
		if err != nil {
			return err
		}
		return c.NoContent(http.StatusOK)
	}
	return c.S.Generic(c)
}

func prepareGroup(c *arm.Call, old, doc arm.Doc) error {
	doc["properties"] = arm.Doc{"provisioningState": "Succeeded"}
	if old != nil {
		if mb, ok := old["managedBy"]; ok {
			doc.SetDefault(mb, "managedBy")
		}
	}
	return nil
}

func listGroups(c *arm.Call) error {
	var items []arm.Doc
	var next string
	readAll := c.Can(actionGroupRead, c.ID)
	tagName, tagValue, err := tagFilter(c.R.URL.Query().Get("$filter"))
	if err != nil {
		return err
	}
	err = c.View(func() error {
		if _, err := c.Load(c.ID); err != nil {
			return err
		}
		var err error
		items, next, err = c.Page(store.ResourceFilter{Type: resourceGroupType, Parent: c.ID.String()}, func(d arm.Doc) bool {
			if tagName != "" && !hasTag(d, tagName, tagValue) {
				return false
			}
			if readAll {
				return true
			}
			id, err := resourceid.Parse(d.Str("id"))
			return err == nil && c.S.Authz.Visible(c.Ctx, c.Caller.ObjectID, id)
		})
		return err
	})
	if err != nil {
		return err
	}
	return c.List(items, next)
}

// listResources serves the generic listings
// /subscriptions/{s}/resources and …/resourceGroups/{rg}/resources: every
// top-level resource in the scope, in ARM's summary shape.
func listResources(c *arm.Call) error {
	action := actionSubResRead
	if c.ID.IsResourceGroup() {
		action = actionGroupResRead
	}
	f, err := parseFilter(c.R.URL.Query().Get("$filter"), "resourcegroup")
	if err != nil {
		return err
	}
	readAll := c.Can(action, c.ID)
	var items []arm.Doc
	var next string
	err = c.View(func() error {
		if _, err := c.Load(c.ID); err != nil {
			return err
		}
		var err error
		items, next, err = c.Page(store.ResourceFilter{Scope: c.ID.String(), Type: f["resourcetype"]}, func(d arm.Doc) bool {
			id, err := resourceid.Parse(d.Str("id"))
			if err != nil || len(id.Providers) != 1 || len(id.Providers[0].Types) != 1 || id.ResourceGroup == "" {
				return false
			}
			// Extension resources (role assignments at a group's scope)
			// are not the group's resources.
			if t := c.S.Registry.Lookup(id.Type()); t != nil && t.Placement == arm.Extension {
				return false
			}
			if n, ok := f["name"]; ok && !strings.EqualFold(n, d.Str("name")) {
				return false
			}
			if g, ok := f["resourcegroup"]; ok && !strings.EqualFold(g, id.ResourceGroup) {
				return false
			}
			if tn, ok := f["tagname"]; ok && !hasTag(d, tn, f["tagvalue"]) {
				return false
			}
			if readAll {
				return true
			}
			t := c.S.Registry.Lookup(id.Type())
			return t != nil && c.Can(t.Permission("read"), id)
		})
		return err
	})
	if err != nil {
		return err
	}
	out := make([]arm.Doc, 0, len(items))
	for _, d := range items {
		s := arm.Doc{}
		for _, k := range []string{"id", "name", "type", "kind", "location", "tags", "identity", "sku", "managedBy", "plan"} {
			if v, ok := d[k]; ok {
				s[k] = v
			}
		}
		out = append(out, s)
	}
	return c.List(out, next)
}

// parseFilter reads the $filter forms ARM's listings accept:
// "resourceType eq 'X'", "name eq 'X'", "tagName eq 'X' and tagValue eq 'Y'",
// joined by "and", and the extra fields a listing allows (the generic
// resource listing also takes "resourceGroup eq 'X'", which az resource
// list -g sends). Keys are returned lower-case.
func parseFilter(f string, extra ...string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(f) == "" {
		return out, nil
	}
	for _, clause := range splitAnd(f) {
		field, value, ok := parseEq(clause)
		if !ok {
			return nil, armerr.BadRequest("InvalidFilterInQueryString", "The $filter '%s' is invalid: expected clauses of the form \"field eq 'value'\" joined by 'and'.", f)
		}
		switch field = strings.ToLower(field); {
		case field == "resourcetype", field == "name", field == "tagname", field == "tagvalue", slices.Contains(extra, field):
			out[field] = value
		default:
			return nil, armerr.BadRequest("InvalidFilterInQueryString", "The $filter field '%s' is not supported; use resourceType, name, tagName or tagValue.", field)
		}
	}
	if _, ok := out["tagvalue"]; ok {
		if _, ok := out["tagname"]; !ok {
			return nil, armerr.BadRequest("InvalidFilterInQueryString", "The $filter '%s' has tagValue without tagName.", f)
		}
	}
	return out, nil
}

func splitAnd(f string) []string {
	var out []string
	inQuote := false
	start := 0
	lower := strings.ToLower(f)
	for i := 0; i < len(f); i++ {
		switch {
		case f[i] == '\'':
			inQuote = !inQuote
		case !inQuote && strings.HasPrefix(lower[i:], " and "):
			out = append(out, strings.TrimSpace(f[start:i]))
			start = i + len(" and ")
			i += len(" and ") - 1
		}
	}
	return append(out, strings.TrimSpace(f[start:]))
}

// parseEq parses "field eq 'value'" (” escapes a quote).
func parseEq(clause string) (field, value string, ok bool) {
	parts := strings.SplitN(clause, " ", 3)
	if len(parts) != 3 || !strings.EqualFold(parts[1], "eq") {
		return "", "", false
	}
	v := strings.TrimSpace(parts[2])
	if len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
		return "", "", false
	}
	return parts[0], strings.ReplaceAll(v[1:len(v)-1], "''", "'"), true
}

func tagFilter(f string) (name, value string, err error) {
	m, err := parseFilter(f)
	if err != nil {
		return "", "", err
	}
	return m["tagname"], m["tagvalue"], nil
}

func hasTag(d arm.Doc, name, value string) bool {
	for k, v := range d.Obj("tags") {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return value == "" || s == value
		}
	}
	return false
}

// serveTags serves {scope}/providers/Microsoft.Resources/tags/default, which
// reads and writes the tags of the scope it extends.
func serveTags(c *arm.Call) error {
	if !strings.EqualFold(c.ID.Name(), "default") {
		return armerr.BadRequest("InvalidResourceName", "The tags resource must be named 'default'.")
	}
	target := c.ID.Target()
	tt := c.S.Registry.Lookup(target.Type())
	if tt == nil {
		return armerr.BadRequest("InvalidScope", "Tags cannot be set on '%s'.", target)
	}
	action := map[string]string{http.MethodGet: actionTagsRead, http.MethodPut: actionTagsWrite, http.MethodPatch: actionTagsWrite, http.MethodDelete: actionTagsDelete}[c.R.Method]
	if action == "" {
		return armerr.MethodNotAllowed(c.R.Method, tagsType)
	}
	if err := c.Authorize(action, target); err != nil {
		return err
	}
	var body arm.Doc
	if c.R.Method == http.MethodPut || c.R.Method == http.MethodPatch {
		var err error
		if body, err = arm.DecodeDoc(c.Body); err != nil {
			return armerr.InvalidRequestContent(err.Error())
		}
	}
	var tags arm.Doc
	err := c.Update(func() error {
		doc, err := c.Load(target)
		if err != nil {
			return err
		}
		tags = doc.Obj("tags")
		if tags == nil {
			tags = arm.Doc{}
		}
		if c.R.Method == http.MethodGet {
			return nil
		}
		newTags := body.Obj("properties").Obj("tags")
		switch c.R.Method {
		case http.MethodPut:
			tags = newTags
		case http.MethodDelete:
			tags = arm.Doc{}
		case http.MethodPatch:
			switch op := strings.ToLower(body.Str("operation")); op {
			case "replace":
				tags = newTags
			case "merge":
				for k, v := range newTags {
					tags[k] = v
				}
			case "delete":
				for k, v := range newTags {
					if cur, ok := tags[k]; ok && (v == "" || v == cur) {
						delete(tags, k)
					}
				}
			default:
				return armerr.BadRequest("InvalidOperation", "The tags patch operation '%s' is invalid; use Replace, Merge or Delete.", body.Str("operation"))
			}
		}
		if tags == nil {
			tags = arm.Doc{}
		}
		doc["tags"] = tags
		if err := arm.CheckTags(doc); err != nil {
			return err
		}
		return c.Save(tt, doc)
	})
	if err != nil {
		return err
	}
	if c.R.Method == http.MethodDelete {
		return c.NoContent(http.StatusOK)
	}
	return c.JSON(http.StatusOK, arm.Doc{
		"id": c.ID.String(), "name": "default", "type": tagsType,
		"properties": arm.Doc{"tags": tags},
	})
}
