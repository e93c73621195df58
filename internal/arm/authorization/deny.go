package authorization

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/store"
)

// Everyone is the principal id that deny assignments use for all principals.
const Everyone = "00000000-0000-0000-0000-000000000000"

// LoadDenyAssignments stores deny assignments given as ARM documents: a JSON
// array, or an object with a "value" array, as `az rest` lists them. Azure
// has no API to write deny assignments, so they come from files (`mimic up
// --deny-assignments`) and imports. Each needs a GUID name, a scope, at least
// one principal and one permission; an existing one with the same id is
// replaced. It returns how many it stored.
func LoadDenyAssignments(ctx context.Context, s store.Store, source string, data []byte) (int, error) {
	var docs []arm.Doc
	var wrapped struct {
		Value []arm.Doc `json:"value"`
	}
	trimmed := strings.TrimSpace(string(data))
	switch {
	case strings.HasPrefix(trimmed, "["):
		if err := json.Unmarshal(data, &docs); err != nil {
			return 0, fmt.Errorf("%s: %w", source, err)
		}
	case strings.HasPrefix(trimmed, "{"):
		if err := json.Unmarshal(data, &wrapped); err != nil {
			return 0, fmt.Errorf("%s: %w", source, err)
		}
		docs = wrapped.Value
	default:
		return 0, fmt.Errorf("%s: expected a JSON array of deny assignments or an object with a \"value\" array", source)
	}
	var out []arm.Doc
	for i, d := range docs {
		doc, err := denyDoc(d)
		if err != nil {
			return 0, fmt.Errorf("%s: deny assignment %d: %w", source, i, err)
		}
		out = append(out, doc)
	}
	err := s.Update(ctx, func(tx store.Tx) error {
		for _, d := range out {
			body, err := json.Marshal(d)
			if err != nil {
				return err
			}
			if err := tx.PutResource(ctx, &store.Resource{ID: d.Str("id"), Type: DenyType, Body: body}); err != nil {
				return err
			}
		}
		_, err := tx.Bump(ctx, "rbac")
		return err
	})
	if err != nil {
		return 0, err
	}
	return len(out), nil
}

// denyDoc validates and normalises one deny assignment document.
func denyDoc(d arm.Doc) (arm.Doc, error) {
	name := d.Str("name")
	if !IsGUID(name) {
		return nil, fmt.Errorf("\"name\" must be a GUID, got %q", name)
	}
	p := d.Obj("properties")
	if p == nil {
		return nil, fmt.Errorf("\"properties\" is missing")
	}
	scope, err := resourceid.Parse(p.Str("scope"))
	if err != nil {
		return nil, fmt.Errorf("\"properties.scope\": %w", err)
	}
	for _, key := range []string{"principals", "excludePrincipals"} {
		list, _ := p[key].([]any)
		if key == "principals" && len(list) == 0 {
			return nil, fmt.Errorf("\"properties.principals\" needs at least one principal (%s means everyone)", Everyone)
		}
		for j, e := range list {
			m, _ := e.(map[string]any)
			if id, _ := m["id"].(string); !IsGUID(id) {
				return nil, fmt.Errorf("\"properties.%s[%d].id\" must be a GUID", key, j)
			}
		}
	}
	perms, _ := p["permissions"].([]any)
	if len(perms) == 0 {
		return nil, fmt.Errorf("\"properties.permissions\" needs at least one permission block")
	}
	for j, perm := range permissionsFrom(p["permissions"]) {
		if len(perm.Actions)+len(perm.DataActions) == 0 {
			return nil, fmt.Errorf("\"properties.permissions[%d]\" denies nothing: it needs actions or dataActions", j)
		}
	}
	if _, ok := p["condition"]; ok {
		return nil, fmt.Errorf("conditions on deny assignments are not supported")
	}
	p["scope"] = scope.String()
	if p.Str("denyAssignmentName") == "" {
		p["denyAssignmentName"] = name
	}
	return arm.Doc{
		"id":         scope.Extension(namespace, "denyAssignments", strings.ToLower(name)).String(),
		"name":       strings.ToLower(name),
		"type":       DenyType,
		"properties": p,
	}, nil
}
