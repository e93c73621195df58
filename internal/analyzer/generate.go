package analyzer

import (
	"fmt"
	"math/rand/v2"

	"github.com/mimic-emu/mimic/internal/authz"
)

// GenerateSize sizes a synthetic estate for [Generate].
type GenerateSize struct {
	Computes    int // VMs, web apps and function apps (2:1:1)
	Identities  int // user-assigned identities
	Assignments int // role assignments
	Seed        uint64
	// Local is the share (0 to 1) of attachments and role assignments kept
	// within the identity's own resource group, as an estate with one
	// identity per application is. The rest, and all of them at 0, are
	// drawn from the whole estate: every identity is then shared across
	// environments and teams, the worst case for the findings.
	Local float64
}

// Generate builds a synthetic estate for benchmarks and scale tests:
// computes spread over resource groups (about 50 computes a group) and
// subscriptions (about 20,000 computes each), each compute attached to one
// or two random identities, a key vault for every fifth compute, and role
// assignments to random identities, 0.2 % at subscription scope, 19.8 % at
// a resource group and 80 % at a resource. 98 % of the assignments are of
// roles that yield nothing further (Key Vault Secrets User, Reader, Storage
// Blob Data Reader), 2 % of roles that do (Virtual Machine Contributor,
// Website Contributor, Contributor). With Local, that share of the
// attachments and assignments stays within the identity's resource group
// (its subscription, for the subscription-wide ones). The same size and
// seed give the same estate. The estate is not yet indexed: pass it to [Assemble] before
// [New]. Sizes below one compute or one identity count as one.
func Generate(size GenerateSize) *Estate {
	computes, identities, assignments := max(1, size.Computes), max(1, size.Identities), max(0, size.Assignments)
	r := rand.New(rand.NewPCG(size.Seed, 1))
	e := &Estate{}
	subs := max(1, computes/20000)
	groupsPerSub := max(1, computes/subs/50)
	rg := func(i int) string {
		return fmt.Sprintf("/subscriptions/%08d-0000-0000-0000-000000000000/resourceGroups/rg-%d", i%subs, i%(subs*groupsPerSub))
	}
	for i := 0; i < identities; i++ {
		id := fmt.Sprintf("%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-%d", rg(i), i)
		e.Identities = append(e.Identities, &Identity{Key: id, Name: fmt.Sprintf("id-%d", i), Kind: UserAssigned,
			PrincipalID: fmt.Sprintf("00000000-0000-0000-0001-%012d", i), Tags: map[string]string{}})
		e.Resources = append(e.Resources, &Resource{ID: id, Name: fmt.Sprintf("id-%d", i), Type: "Microsoft.ManagedIdentity/userAssignedIdentities"})
	}
	kinds := []ComputeKind{VM, VM, WebApp, FunctionApp}
	types := map[ComputeKind]string{VM: "Microsoft.Compute/virtualMachines", WebApp: "Microsoft.Web/sites", FunctionApp: "Microsoft.Web/sites"}
	groups := subs * groupsPerSub
	local := func() bool { return size.Local > 0 && r.Float64() < size.Local }
	// inGroup draws one of n things numbered like groups (thing i lives in
	// rg(i)) from group g, if it has one.
	inGroup := func(g, n int) (int, bool) {
		if per := (n - g + groups - 1) / groups; per > 0 {
			return g + groups*r.IntN(per), true
		}
		return 0, false
	}
	for i := 0; i < computes; i++ {
		k := kinds[i%len(kinds)]
		id := fmt.Sprintf("%s/providers/%s/c-%d", rg(i), types[k], i)
		c := &Compute{ID: id, Name: fmt.Sprintf("c-%d", i), Kind: k, Tags: map[string]string{}}
		for j := 0; j < 1+r.IntN(2); j++ {
			ii, ok := 0, false
			if local() {
				ii, ok = inGroup(i%groups, identities)
			}
			if !ok {
				ii = r.IntN(identities)
			}
			c.Identities = append(c.Identities, e.Identities[ii].Key)
		}
		e.Computes = append(e.Computes, c)
		e.Resources = append(e.Resources, &Resource{ID: id, Name: c.Name, Type: types[k]})
	}
	for i := 0; i < computes/5; i++ {
		id := fmt.Sprintf("%s/providers/Microsoft.KeyVault/vaults/kv-%d", rg(i), i)
		e.Resources = append(e.Resources, &Resource{ID: id, Name: fmt.Sprintf("kv-%d", i), Type: "Microsoft.KeyVault/vaults"})
	}
	roles := []string{"4633458b-17de-408a-b874-0445c86b69e6", "acdd72a7-3385-48ef-bd42-f606fba81ae7", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
		"9980e02c-c2be-4d73-94e8-173b1dc7cf3c", "de139f84-1756-47ae-9be6-808fbbe84772", "b24988ac-6180-42a0-ab88-20f7382dd24c"}
	// The resources of each group, for local assignments.
	// (e.Resources holds the identities, the computes and the vaults, each
	// numbered from 0, thing i in rg(i).)
	var byGroup [][]string
	if size.Local > 0 {
		byGroup = make([][]string, groups)
		at := 0
		for _, n := range []int{identities, computes, computes / 5} {
			for i := 0; i < n; i++ {
				byGroup[i%groups] = append(byGroup[i%groups], e.Resources[at+i].ID)
			}
			at += n
		}
	}
	for i := 0; i < assignments; i++ {
		pi := r.IntN(identities)
		p := e.Identities[pi].PrincipalID
		g := pi % groups // the identity's own group, for local scopes
		var scope string
		switch x, near := r.IntN(1000), local(); {
		case x < 2 && near:
			scope = fmt.Sprintf("/subscriptions/%08d-0000-0000-0000-000000000000", g%subs)
		case x < 2: // rare subscription-wide roles
			scope = fmt.Sprintf("/subscriptions/%08d-0000-0000-0000-000000000000", r.IntN(subs))
		case x < 200 && near:
			scope = rg(g)
		case x < 200:
			scope = rg(r.IntN(computes))
		case near && len(byGroup[g]) > 0:
			scope = byGroup[g][r.IntN(len(byGroup[g]))]
		default:
			scope = e.Resources[r.IntN(len(e.Resources))].ID
		}
		role := roles[r.IntN(3)]
		if r.IntN(50) == 0 {
			role = roles[3+r.IntN(3)]
		}
		e.Assignments = append(e.Assignments, authz.Assignment{ID: fmt.Sprintf("/ra/%d", i), PrincipalID: p, RoleID: role, Scope: scope})
	}
	return e
}
