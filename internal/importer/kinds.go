package importer

import (
	"fmt"
	"strings"

	"github.com/mimic-emu/mimic/internal/arm/authorization"
	"github.com/mimic-emu/mimic/internal/arm/compute"
	"github.com/mimic-emu/mimic/internal/arm/containerservice"
	"github.com/mimic-emu/mimic/internal/arm/keyvault"
	"github.com/mimic-emu/mimic/internal/arm/msi"
	"github.com/mimic-emu/mimic/internal/arm/sql"
	"github.com/mimic-emu/mimic/internal/arm/storage"
	"github.com/mimic-emu/mimic/internal/arm/web"
	"github.com/mimic-emu/mimic/internal/resourceid"
)

// Kind is what one exported element is.
type Kind string

// Element kinds, in the order they are written: what a later kind refers
// to is already in the store.
const (
	Subscription        Kind = "subscription"
	Group               Kind = "group"
	RoleDefinition      Kind = "roleDefinition"
	Identity            Kind = "identity"
	Resource            Kind = "resource"
	VM                  Kind = "vm"
	Site                Kind = "site"
	Cluster             Kind = "cluster"
	FederatedCredential Kind = "federatedCredential"
	RoleAssignment      Kind = "roleAssignment"
	DenyAssignment      Kind = "denyAssignment"
)

// Kinds lists every kind in write order.
var Kinds = []Kind{Subscription, Group, RoleDefinition, Identity, Resource, VM, Site, Cluster, FederatedCredential, RoleAssignment, DenyAssignment}

// phase is a kind's position in the write order.
func (k Kind) phase() int {
	for i, x := range Kinds {
		if x == k {
			return i
		}
	}
	return -1
}

// valid reports whether k is a known kind.
func (k Kind) valid() bool { return k.phase() >= 0 }

// Plural names the kind in messages.
func (k Kind) Plural() string {
	switch k {
	case Subscription:
		return "subscriptions"
	case Group:
		return "resource groups"
	case RoleDefinition:
		return "custom role definitions"
	case Identity:
		return "user-assigned identities"
	case Resource:
		return "other resources"
	case VM:
		return "virtual machines"
	case Site:
		return "web and function apps"
	case Cluster:
		return "AKS clusters"
	case FederatedCredential:
		return "federated credentials"
	case RoleAssignment:
		return "role assignments"
	case DenyAssignment:
		return "deny assignments"
	}
	return string(k)
}

// Singular names one element of the kind in messages.
func (k Kind) Singular() string {
	switch k {
	case Subscription:
		return "a subscription"
	case Group:
		return "a resource group"
	case RoleDefinition:
		return "a role definition"
	case Identity:
		return "a user-assigned identity"
	case Resource:
		return "a resource"
	case VM:
		return "a virtual machine"
	case Site:
		return "a web or function app"
	case Cluster:
		return "an AKS cluster"
	case FederatedCredential:
		return "a federated credential"
	case RoleAssignment:
		return "a role assignment"
	case DenyAssignment:
		return "a deny assignment"
	}
	return string(k)
}

// Format is a kind of export file, as `mimic import --kind` names it.
type Format struct {
	Name    string
	Aliases []string
	// Kind is what every element is; "" for files that mix types, whose
	// elements each say what they are.
	Kind Kind
	// Command is what prints such a file.
	Command string
}

// Formats are the export files mimic reads.
var Formats = []Format{
	{Name: "identities", Aliases: []string{"identity", "uami"}, Kind: Identity, Command: "az identity list"},
	{Name: "federated-credentials", Aliases: []string{"federated", "fic", "fics", "federated-credential"}, Kind: FederatedCredential, Command: "az identity federated-credential list"},
	{Name: "role-assignments", Aliases: []string{"assignments", "role-assignment"}, Kind: RoleAssignment, Command: "az role assignment list --all"},
	{Name: "role-definitions", Aliases: []string{"definitions", "roles", "role-definition"}, Kind: RoleDefinition, Command: "az role definition list"},
	{Name: "deny-assignments", Aliases: []string{"denies", "deny-assignment"}, Kind: DenyAssignment, Command: "az rest --url .../providers/Microsoft.Authorization/denyAssignments?api-version=2022-04-01"},
	{Name: "vms", Aliases: []string{"vm", "virtual-machines"}, Kind: VM, Command: "az vm list"},
	{Name: "sites", Aliases: []string{"webapps", "webapp", "functionapps", "functionapp", "site"}, Kind: Site, Command: "az webapp list, az functionapp list"},
	{Name: "aks", Aliases: []string{"clusters", "cluster", "managed-clusters"}, Kind: Cluster, Command: "az aks list"},
	{Name: "subscriptions", Aliases: []string{"subscription", "accounts", "account"}, Kind: Subscription, Command: "az account list"},
	{Name: "groups", Aliases: []string{"group", "resource-groups"}, Kind: Group, Command: "az group list"},
	{Name: "resources", Aliases: []string{"resource", "mixed"}, Command: "az resource list"},
	{Name: "graph", Aliases: []string{"arg", "resource-graph"}, Command: "az graph query -q \"resources | …\""},
}

// FormatNamed finds a format by name or alias, case-insensitively.
func FormatNamed(name string) (Format, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, f := range Formats {
		if f.Name == n {
			return f, nil
		}
		for _, a := range f.Aliases {
			if a == n {
				return f, nil
			}
		}
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = f.Name
	}
	return Format{}, fmt.Errorf("unknown kind %q: use one of %s", name, strings.Join(names, ", "))
}

// Canonical casing of the types mimic serves, by lower-case type.
var canonicalTypes = map[string]string{}

func init() {
	for _, t := range []string{
		msi.IdentityType, msi.FederatedType, authorization.AssignmentType, authorization.DefinitionType, authorization.DenyType,
		compute.VMType, web.SiteType, web.ConfigType, containerservice.ClusterType, keyvault.VaultType, storage.AccountType,
		sql.ServerType, subscriptionType, groupType,
	} {
		canonicalTypes[strings.ToLower(t)] = t
	}
	// Resource Graph spells resource groups as children of subscriptions.
	canonicalTypes["microsoft.resources/subscriptions/resourcegroups"] = groupType
}

const (
	subscriptionType = "Microsoft.Resources/subscriptions"
	groupType        = "Microsoft.Resources/resourceGroups"
)

// kindOfType says what an element of a resource type is.
func kindOfType(typ string) Kind {
	if k, ok := kindsByType[strings.ToLower(typ)]; ok {
		return k
	}
	return Resource
}

// kindsByType maps lower-case types to the kinds that are not Resource.
var kindsByType = map[string]Kind{
	strings.ToLower(authorization.AssignmentType):      RoleAssignment,
	strings.ToLower(authorization.DefinitionType):      RoleDefinition,
	strings.ToLower(authorization.DenyType):            DenyAssignment,
	strings.ToLower(msi.IdentityType):                  Identity,
	strings.ToLower(msi.FederatedType):                 FederatedCredential,
	strings.ToLower(compute.VMType):                    VM,
	strings.ToLower(web.SiteType):                      Site,
	strings.ToLower(containerservice.ClusterType):      Cluster,
	strings.ToLower(subscriptionType):                  Subscription,
	strings.ToLower(groupType):                         Group,
	"microsoft.resources/subscriptions/resourcegroups": Group,
}

// Classify says what an exported element is from its own content: its
// type, or for the elements az prints without one, the fields only that
// kind has. It returns "" when the element does not say.
func Classify(m map[string]any) Kind {
	if t, _ := m["type"].(string); t != "" {
		return kindOfType(t)
	}
	props, _ := m["properties"].(map[string]any)
	has := func(keys ...string) bool {
		for _, k := range keys {
			_, top := m[k]
			_, inner := props[k]
			if !top && !inner {
				return false
			}
		}
		return true
	}
	switch {
	case has("roleDefinitionName"), has("roleDefinitionId", "principalId"):
		return RoleAssignment
	case has("roleName", "permissions"):
		return RoleDefinition
	case has("denyAssignmentName"):
		return DenyAssignment
	case has("issuer", "subject"):
		return FederatedCredential
	case has("cloudName"), has("homeTenantId"), has("isDefault", "tenantId"):
		return Subscription
	}
	if id, _ := m["id"].(string); id != "" {
		if rid, err := resourceid.Parse(id); err == nil {
			switch {
			case rid.IsSubscription():
				return Subscription
			case rid.IsResourceGroup():
				return Group
			case rid.IsResource():
				return kindOfType(rid.Type())
			}
		}
	}
	return ""
}

// DescribeCounts renders counts by kind, in write order: "3 user-assigned
// identities, 2 virtual machines".
func DescribeCounts(counts map[Kind]int) string {
	var parts []string
	for _, k := range Kinds {
		if n := counts[k]; n > 0 {
			parts = append(parts, Thousands(n)+" "+k.Plural())
		}
	}
	if len(parts) == 0 {
		return "no documents"
	}
	return strings.Join(parts, ", ")
}

// Thousands formats n with thousands separators: 12,000.
func Thousands(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
