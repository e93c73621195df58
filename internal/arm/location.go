package arm

import (
	"encoding/json"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/mimic-emu/mimic/internal/armerr"
)

// regions are Azure's public regions by name, with display names.
var regions = map[string]string{
	"eastus": "East US", "eastus2": "East US 2", "southcentralus": "South Central US", "westus2": "West US 2",
	"westus3": "West US 3", "australiaeast": "Australia East", "southeastasia": "Southeast Asia", "northeurope": "North Europe",
	"swedencentral": "Sweden Central", "uksouth": "UK South", "westeurope": "West Europe", "centralus": "Central US",
	"southafricanorth": "South Africa North", "centralindia": "Central India", "eastasia": "East Asia", "japaneast": "Japan East",
	"koreacentral": "Korea Central", "canadacentral": "Canada Central", "francecentral": "France Central",
	"germanywestcentral": "Germany West Central", "italynorth": "Italy North", "norwayeast": "Norway East", "polandcentral": "Poland Central",
	"spaincentral": "Spain Central", "switzerlandnorth": "Switzerland North", "mexicocentral": "Mexico Central", "uaenorth": "UAE North",
	"brazilsouth": "Brazil South", "israelcentral": "Israel Central", "qatarcentral": "Qatar Central", "northcentralus": "North Central US",
	"westus": "West US", "westcentralus": "West Central US", "japanwest": "Japan West", "koreasouth": "Korea South",
	"southindia": "South India", "westindia": "West India", "canadaeast": "Canada East", "ukwest": "UK West",
	"australiasoutheast": "Australia Southeast", "australiacentral": "Australia Central", "francesouth": "France South",
	"germanynorth": "Germany North", "norwaywest": "Norway West", "switzerlandwest": "Switzerland West", "uaecentral": "UAE Central",
	"brazilsoutheast": "Brazil Southeast", "southafricawest": "South Africa West", "newzealandnorth": "New Zealand North",
	"indonesiacentral": "Indonesia Central", "malaysiawest": "Malaysia West", "chilecentral": "Chile Central",
	"austriaeast": "Austria East", "belgiumcentral": "Belgium Central", "denmarkeast": "Denmark East",
}

// NormalizeLocation maps "East US" or "EASTUS" to "eastus"; it reports
// false for a location that is not an Azure region.
func NormalizeLocation(loc string) (string, bool) {
	n := strings.ToLower(strings.ReplaceAll(loc, " ", ""))
	_, ok := regions[n]
	return n, ok
}

// RegionDisplayName returns a region's display name.
func RegionDisplayName(name string) string { return regions[name] }

// Regions returns the region names, sorted.
func Regions() []string {
	out := make([]string, 0, len(regions))
	for r := range regions {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// checkLocation requires a valid location on tracked resources and keeps it
// from changing on update, as ARM does. The "global" location is accepted
// for types that live there.
func (c *Call) checkLocation(t *Type, old, doc Doc) error {
	loc, _ := doc["location"].(string)
	if loc == "" && old != nil {
		loc, _ = old["location"].(string)
	}
	if loc == "" {
		return armerr.BadRequest("LocationRequired", "The location property is required for this definition.")
	}
	norm, ok := NormalizeLocation(loc)
	if !ok && !strings.EqualFold(loc, "global") {
		return armerr.BadRequest("LocationNotAvailableForResourceType",
			"The provided location '%s' is not available for resource type '%s'. List of available regions for the resource type is '%s'.",
			loc, t.Name, strings.Join(Regions(), ","))
	}
	if !ok {
		norm = "global"
	}
	if old != nil {
		if prev, _ := old["location"].(string); prev != "" && prev != norm {
			return armerr.Conflict("InvalidResourceLocation",
				"The resource '%s' already exists in location '%s' in resource group '%s'. A resource with the same name cannot be created in location '%s'. Please select a new resource name.",
				doc.Str("name"), prev, c.ID.ResourceGroup, norm)
		}
	}
	doc["location"] = norm
	if _, ok := doc["tags"]; !ok || doc["tags"] == nil {
		doc["tags"] = Doc{}
	}
	return nil
}

// CheckTags enforces ARM's tag limits.
func CheckTags(doc Doc) error {
	raw, ok := doc["tags"]
	if !ok || raw == nil {
		return nil
	}
	tags, isObj := asDoc(raw)
	if !isObj {
		return armerr.InvalidRequestContent("'tags' must be an object of strings")
	}
	if len(tags) > 50 {
		return armerr.BadRequest("InvalidTagCount", "The number of tags %d exceeds the maximum of 50 tags per resource.", len(tags))
	}
	var bad []string
	for k, v := range tags {
		s, isStr := v.(string)
		if !isStr {
			return armerr.InvalidRequestContent("the value of tag '" + k + "' must be a string")
		}
		if k == "" || len(k) > 512 {
			return armerr.BadRequest("InvalidTagNameLength", "The tag name '%s' must be between 1 and 512 characters long.", k)
		}
		if len(s) > 256 {
			return armerr.BadRequest("InvalidTagValueLength", "The tag value of tag '%s' exceeds the maximum length of 256 characters.", k)
		}
		if strings.ContainsAny(k, "<>%&\\?/") || strings.IndexFunc(k, unicode.IsControl) >= 0 {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return armerr.BadRequest("InvalidTagNameCharacters",
			"The tag names '%s' have reserved characters '<,>,%%,&,\\,?,/' or control characters.", strings.Join(bad, ","))
	}
	doc["tags"] = tags
	return nil
}

func newGUID() string { return uuid.NewString() }

// NewGUID returns a random GUID.
func NewGUID() string { return uuid.NewString() }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// Now returns the current time in ARM's timestamp format.
func Now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z") }
