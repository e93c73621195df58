// Package analyzertest builds small estates in memory for the analyzer's
// tests: deterministic ids, labels from tags, built-in roles by name.
package analyzertest

import (
	"fmt"
	"strings"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/arm/msi"
	"github.com/mimic-emu/mimic/internal/authz"
)

// Builder builds an estate in one subscription.
type Builder struct {
	Sub string
	E   *analyzer.Estate
	n   int
}

// New starts an estate in subscription sub, named name.
func New(sub, name string) *Builder {
	b := &Builder{Sub: sub, E: &analyzer.Estate{SubscriptionNames: map[string]string{strings.ToLower(sub): name}}}
	b.E.Resources = append(b.E.Resources, &analyzer.Resource{ID: "/subscriptions/" + sub, Name: sub, Type: "Microsoft.Resources/subscriptions", Tags: map[string]string{}})
	return b
}

func (b *Builder) guid() string {
	b.n++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", b.n)
}

// RG returns a resource group's id.
func (b *Builder) RG(name string) string {
	return "/subscriptions/" + b.Sub + "/resourceGroups/" + name
}

// Group adds a resource group with tags ("k=v" pairs).
func (b *Builder) Group(name string, tags ...string) string {
	id := b.RG(name)
	b.E.Resources = append(b.E.Resources, &analyzer.Resource{ID: id, Name: name, Type: "Microsoft.Resources/resourceGroups", Tags: tagMap(tags)})
	return id
}

func tagMap(tags []string) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		k, v, _ := strings.Cut(t, "=")
		m[k] = v
	}
	return m
}

// Resource adds a resource of a type ("Microsoft.KeyVault/vaults") in a
// group and returns its id.
func (b *Builder) Resource(rg, typ, name string, tags ...string) string {
	id := b.RG(rg) + "/providers/" + typ + "/" + name
	b.E.Resources = append(b.E.Resources, &analyzer.Resource{ID: id, Name: name, Type: typ, Tags: tagMap(tags)})
	return id
}

// Identity adds a user-assigned identity.
func (b *Builder) Identity(rg, name string, tags ...string) *analyzer.Identity {
	id := b.Resource(rg, "Microsoft.ManagedIdentity/userAssignedIdentities", name, tags...)
	g := b.guid()
	i := &analyzer.Identity{Key: id, Name: name, Kind: analyzer.UserAssigned, PrincipalID: "p" + g[1:], ClientID: "c" + g[1:], Tags: tagMap(tags)}
	b.E.Identities = append(b.E.Identities, i)
	return i
}

// Federate adds a federated credential to an identity.
func (b *Builder) Federate(i *analyzer.Identity, name, issuer, subject string) {
	i.Federated = append(i.Federated, msi.FederatedCredential{ID: i.Key + "/federatedIdentityCredentials/" + name, Name: name,
		Issuer: issuer, Subject: subject, Audiences: []string{"api://AzureADTokenExchange"}})
}

func (b *Builder) compute(rg, typ, name string, kind analyzer.ComputeKind, ids []*analyzer.Identity, tags []string) *analyzer.Compute {
	id := b.Resource(rg, typ, name, tags...)
	c := &analyzer.Compute{ID: id, Name: name, Kind: kind, Tags: tagMap(tags)}
	for _, i := range ids {
		c.Identities = append(c.Identities, i.Key)
	}
	b.E.Computes = append(b.E.Computes, c)
	return c
}

// VM adds a virtual machine holding identities.
func (b *Builder) VM(rg, name string, ids ...*analyzer.Identity) *analyzer.Compute {
	return b.compute(rg, "Microsoft.Compute/virtualMachines", name, analyzer.VM, ids, nil)
}

// TaggedVM adds a virtual machine with tags.
func (b *Builder) TaggedVM(rg, name string, tags []string, ids ...*analyzer.Identity) *analyzer.Compute {
	return b.compute(rg, "Microsoft.Compute/virtualMachines", name, analyzer.VM, ids, tags)
}

// Site adds a web app holding identities.
func (b *Builder) Site(rg, name string, ids ...*analyzer.Identity) *analyzer.Compute {
	return b.compute(rg, "Microsoft.Web/sites", name, analyzer.WebApp, ids, nil)
}

// SystemIdentity gives a compute its system-assigned identity.
func (b *Builder) SystemIdentity(c *analyzer.Compute) *analyzer.Identity {
	g := b.guid()
	i := &analyzer.Identity{Key: c.ID, Name: c.Name + " (system-assigned)", Kind: analyzer.SystemAssigned, PrincipalID: "p" + g[1:], ClientID: "c" + g[1:], Tags: c.Tags}
	b.E.Identities = append(b.E.Identities, i)
	c.Identities = append(c.Identities, c.ID)
	return i
}

// RoleID returns a built-in role's id by name.
func RoleID(name string) string {
	for _, r := range authz.BuiltinRoles() {
		if r.Name == name {
			return r.ID
		}
	}
	panic("no built-in role " + name)
}

// Assign grants a built-in role (by name) at a scope to an identity.
func (b *Builder) Assign(i *analyzer.Identity, role, scope string) authz.Assignment {
	return b.AssignPrincipal(i.PrincipalID, role, scope)
}

// AssignPrincipal grants a built-in role to a principal id.
func (b *Builder) AssignPrincipal(principal, role, scope string) authz.Assignment {
	a := authz.Assignment{ID: scope + "/providers/Microsoft.Authorization/roleAssignments/" + b.guid(), PrincipalID: principal, RoleID: RoleID(role), Scope: scope}
	b.E.Assignments = append(b.E.Assignments, a)
	return a
}

// Orphan adds an assignment whose principal does not exist.
func (b *Builder) Orphan(role, scope string) authz.Assignment {
	a := b.AssignPrincipal("d"+b.guid()[1:], role, scope)
	b.E.Orphaned = append(b.E.Orphaned, a)
	return a
}

// Build indexes the estate and analyzes it.
func (b *Builder) Build() (*analyzer.Analysis, error) {
	e, err := analyzer.Assemble(b.E)
	if err != nil {
		return nil, err
	}
	return analyzer.New(e), nil
}
