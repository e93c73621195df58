// Package roles is Azure's built-in RBAC role catalogue, embedded as data.
//
// The catalogue is azure-builtin-roles.json, a verbatim copy of Azure's
// published built-in role definitions (see README.md in this directory for its
// provenance). It is parsed once, on first use, into [Definition] values that
// are shared by every caller and must be treated as read-only.
//
// Role definition ids are GUIDs; [ByID] and [ByName] look them up
// case-insensitively. The constants below name the roles mimic's planes and
// analyzer refer to directly.
package roles

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Well-known built-in role definition GUIDs.
const (
	Owner                               = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	Contributor                         = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	Reader                              = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	UserAccessAdministrator             = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	RoleBasedAccessControlAdministrator = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
	KeyVaultAdministrator               = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
	KeyVaultSecretsOfficer              = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
	KeyVaultSecretsUser                 = "4633458b-17de-408a-b874-0445c86b69e6"
	StorageBlobDataReader               = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
	StorageBlobDataContributor          = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	StorageBlobDataOwner                = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
	ManagedIdentityOperator             = "f1a07417-d97a-45cb-824c-7a7467783830"
	ManagedIdentityContributor          = "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59"
	VirtualMachineContributor           = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"
	WebsiteContributor                  = "de139f84-1756-47ae-9be6-808fbbe84772"
)

// BuiltInRole is the Type of every definition in the catalogue.
const BuiltInRole = "BuiltInRole"

// Permission is one permission block of a role definition, as ARM serialises it.
type Permission struct {
	Actions          []string `json:"actions"`
	NotActions       []string `json:"notActions"`
	DataActions      []string `json:"dataActions"`
	NotDataActions   []string `json:"notDataActions"`
	Condition        string   `json:"condition,omitempty"`
	ConditionVersion string   `json:"conditionVersion,omitempty"`
}

// Definition is a role definition. ID is the bare GUID (ARM's "name"); the
// ARM resource id is "/providers/Microsoft.Authorization/roleDefinitions/"+ID.
type Definition struct {
	ID               string       `json:"id"`
	RoleName         string       `json:"roleName"`
	Description      string       `json:"description"`
	Type             string       `json:"type"`
	Category         string       `json:"category,omitempty"`
	Permissions      []Permission `json:"permissions"`
	AssignableScopes []string     `json:"assignableScopes"`
}

//go:embed azure-builtin-roles.json
var catalogueJSON []byte

type catalogue struct {
	Count int `json:"count"`
	Roles []struct {
		Name       string `json:"name"`
		Properties struct {
			RoleName         string       `json:"roleName"`
			Description      string       `json:"description"`
			Type             string       `json:"type"`
			Permissions      []Permission `json:"permissions"`
			AssignableScopes []string     `json:"assignableScopes"`
		} `json:"properties"`
		Category string `json:"x-category"`
	} `json:"roles"`
}

type index struct {
	all    []*Definition
	byID   map[string]*Definition
	byName map[string]*Definition
}

var load = sync.OnceValue(func() *index {
	idx, err := parse(catalogueJSON)
	if err != nil {
		// The file is embedded and checked by tests: this cannot happen in
		// a build that passed them.
		panic("roles: embedded catalogue: " + err.Error())
	}
	return idx
})

func parse(data []byte) (*index, error) {
	var c catalogue
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	if c.Count != len(c.Roles) {
		return nil, fmt.Errorf("count %d but %d roles", c.Count, len(c.Roles))
	}
	idx := &index{
		all:    make([]*Definition, 0, len(c.Roles)),
		byID:   make(map[string]*Definition, len(c.Roles)),
		byName: make(map[string]*Definition, len(c.Roles)),
	}
	for _, r := range c.Roles {
		d := &Definition{
			ID:               strings.ToLower(r.Name),
			RoleName:         r.Properties.RoleName,
			Description:      r.Properties.Description,
			Type:             r.Properties.Type,
			Category:         r.Category,
			Permissions:      r.Properties.Permissions,
			AssignableScopes: r.Properties.AssignableScopes,
		}
		for i := range d.Permissions {
			p := &d.Permissions[i]
			// Normalise absent lists to empty ones so that re-serialising a
			// definition gives ARM's "[]" rather than null.
			for _, l := range []*[]string{&p.Actions, &p.NotActions, &p.DataActions, &p.NotDataActions} {
				if *l == nil {
					*l = []string{}
				}
			}
		}
		if _, dup := idx.byID[d.ID]; dup {
			return nil, fmt.Errorf("duplicate role id %s", d.ID)
		}
		name := strings.ToLower(d.RoleName)
		if _, dup := idx.byName[name]; dup {
			return nil, fmt.Errorf("duplicate role name %q", d.RoleName)
		}
		idx.byID[d.ID] = d
		idx.byName[name] = d
		idx.all = append(idx.all, d)
	}
	slices.SortFunc(idx.all, func(a, b *Definition) int {
		if c := strings.Compare(strings.ToLower(a.RoleName), strings.ToLower(b.RoleName)); c != 0 {
			return c
		}
		return strings.Compare(a.RoleName, b.RoleName)
	})
	return idx, nil
}

// Builtin returns every built-in role definition, sorted by name
// (case-insensitively). The slice and the definitions are shared: callers must
// not modify them.
func Builtin() []*Definition { return load().all }

// ByID returns the built-in role with the given GUID, compared
// case-insensitively. A full role definition id
// (".../providers/Microsoft.Authorization/roleDefinitions/{guid}") is accepted
// too: only its last segment is used.
func ByID(guid string) (*Definition, bool) {
	if i := strings.LastIndexByte(guid, '/'); i >= 0 {
		guid = guid[i+1:]
	}
	d, ok := load().byID[strings.ToLower(guid)]
	return d, ok
}

// ByName returns the built-in role with the given name, compared
// case-insensitively ("storage blob data reader").
func ByName(name string) (*Definition, bool) {
	d, ok := load().byName[strings.ToLower(name)]
	return d, ok
}
