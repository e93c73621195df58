package cli

import (
	"regexp"
	"strings"
	"time"
)

// az prints what its Python SDKs deserialize, converted back to JSON by
// azure-cli's todict: every attribute of the SDK model (null when the
// service sent nothing), "properties" flattened into the resource for
// most resource types, attribute names in camelCase derived from the
// SDK's snake_case names (issuerURL → issuer_url → issuerUrl), datetimes
// as Python's isoformat (2024-05-01T10:11:12.123456+00:00), and a
// "resourceGroup" added to every object with an id in a resource group.
// These helpers reproduce that from ARM's JSON.

// modelShape describes how az prints one SDK model.
type modelShape struct {
	// flatten merges "properties" into the resource.
	flatten bool
	// attrs are the model's attributes (after flattening, in az's
	// casing); absent ones print as null.
	attrs []string
	// rename maps a flattened property to its SDK name (the role
	// definition's properties.type is roleType).
	rename map[string]string
	// raw keys keep their value untouched (a generic resource's
	// properties).
	raw map[string]bool
	// only drops what the model has no attribute for, as the SDK's
	// deserializer does.
	only bool
}

// freeFormKeys are dictionaries whose keys are data, not attribute names.
var freeFormKeys = map[string]bool{
	"tags": true, "userAssignedIdentities": true, "identityProfile": true, "addonProfiles": true,
	"metadata": true, "keyCreationTime": false,
}

// timeKeys are datetime attributes.
var timeKeys = map[string]bool{
	"createdOn": true, "updatedOn": true, "timeCreated": true, "creationTime": true, "lastModifiedTimeUtc": true,
	"lastGeoFailoverTime": true, "createdAt": true, "lastModifiedAt": true, "createdTime": true, "changedTime": true,
	"key1": true, "key2": true, "suspendedTill": true, "created": true, "updated": true, "expires": true, "notBefore": true,
}

// shape converts an ARM document to az's output of a model.
func (s modelShape) shape(doc map[string]any) map[string]any {
	if doc == nil {
		return nil
	}
	out := map[string]any{}
	for k, v := range doc {
		if k == "properties" && s.flatten {
			continue
		}
		out[k] = v
	}
	if s.flatten {
		for k, v := range obj(doc["properties"]) {
			if n, ok := s.rename[k]; ok {
				k = n
			}
			out[k] = v
		}
	}
	res := map[string]any{}
	for k, v := range out {
		ak := azKey(k)
		if s.raw[ak] {
			res[ak] = v
			continue
		}
		res[ak] = azValue(ak, v)
	}
	if s.only {
		keep := map[string]bool{}
		for _, a := range s.attrs {
			keep[a] = true
		}
		for k := range res {
			if !keep[k] {
				delete(res, k)
			}
		}
	}
	for _, a := range s.attrs {
		if _, ok := res[a]; !ok {
			res[a] = nil
		}
	}
	addResourceGroup(res)
	return res
}

// shapeList shapes each document of a listing.
func (s modelShape) shapeList(items []any) []any {
	out := make([]any, 0, len(items))
	for _, it := range items {
		out = append(out, s.shape(obj(it)))
	}
	return out
}

// azValue converts a value's keys to az's casing, recursively, keeping
// the keys of free-form dictionaries; datetime attributes become Python
// isoformat strings.
func azValue(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if freeFormKeys[key] {
				out[k] = azValue("", e)
				continue
			}
			ak := azKey(k)
			out[ak] = azValue(ak, e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = azValue("", e)
		}
		return out
	case string:
		if timeKeys[key] {
			return pyTime(x)
		}
	}
	return v
}

var (
	snake1 = regexp.MustCompile(`(.)([A-Z][a-z]+)`)
	snake2 = regexp.MustCompile(`([a-z0-9])([A-Z])`)
)

// azKey is the name az prints for a JSON property: the SDK's snake_case
// attribute name (knack's to_snake_case) back in camelCase (knack's
// to_camel_case): issuerURL → issuer_url → issuerUrl, enableRBAC →
// enableRbac.
func azKey(k string) string {
	if k == "" || strings.ContainsAny(k, "/.-: ") {
		return k
	}
	s := snake1.ReplaceAllString(k, "${1}_${2}")
	s = strings.ToLower(snake2.ReplaceAllString(s, "${1}_${2}"))
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' && i > 0 && i+1 < len(s) && isLetter(s[i+1]) {
			b.WriteByte(s[i+1] - 'a' + 'A')
			i++
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' }

// pyTime prints an RFC 3339 time as Python's datetime.isoformat() of the
// deserialized value: microseconds (when not zero) and "+00:00".
func pyTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	layout := "2006-01-02T15:04:05"
	if t.Nanosecond()/1000 != 0 {
		layout += ".000000"
	}
	_, off := t.Zone()
	suffix := "+00:00"
	if off != 0 {
		suffix = t.Format("-07:00")
	}
	return t.Truncate(time.Microsecond).Format(layout) + suffix
}

// addResourceGroup is azure-cli's global transform: every object with an
// id of the form /subscriptions/…/resourceGroups/RG/providers/… gains
// "resourceGroup": RG, at any depth (but not below sourceVault).
func addResourceGroup(v any) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			addResourceGroup(e)
		}
	case map[string]any:
		if _, ok := x["resourceGroup"]; !ok {
			if id, _ := x["id"].(string); id != "" {
				parts := strings.Split(id, "/")
				if len(parts) > 8 && strings.EqualFold(parts[3], "resourceGroups") {
					x["resourceGroup"] = parts[4]
				}
			}
		}
		for k, e := range x {
			if k != "sourceVault" {
				addResourceGroup(e)
			}
		}
	}
}

// withNulls sets absent keys of an object to null, as a model's unset
// attributes print.
func withNulls(m map[string]any, keys ...string) map[string]any {
	if m == nil {
		return nil
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			m[k] = nil
		}
	}
	return m
}
