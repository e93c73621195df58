package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
)

// Roles a random estate draws from: data roles, and the control-plane
// roles that escalate (write on computes, assign identities, write role
// assignments).
var randomRoles = []string{
	roleKVSecretsUser,
	roleBlobReader,
	roleContributor,
	roleReader,
	roleWebsiteContrib,
	"9980e02c-c2be-4d73-94e8-173b1dc7cf3c", // Virtual Machine Contributor
	"f1a07417-d97a-45cb-824c-7a7467783830", // Managed Identity Operator
	"18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", // User Access Administrator
}

// RandomSize sizes a random estate.
type RandomSize struct {
	Groups, Identities, VMs, Sites, Vaults, Accounts int
	// MaxRoles is the most role assignments one identity gets (at least one).
	MaxRoles int
}

// ApplyRandom builds a random estate from seed in subscription sub: groups
// tagged dev or prod, user-assigned identities attached to random VMs and
// web apps, vaults holding a secret and storage accounts holding a blob,
// and random role assignments of each identity at the subscription, a
// group or a resource. Names end in the seed, so estates of different
// seeds can share a server. Property tests compare the analyzer with a
// replay on such estates.
func ApplyRandom(ctx context.Context, c Client, sub, tenant, operator string, seed uint64, size RandomSize) error {
	b := &builder{c: c, ctx: ctx, sub: sub, tenant: tenant, operator: operator}
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	name := func(prefix string, i int) string { return fmt.Sprintf("%s%dx%d", prefix, i, seed) }
	envs := []string{"dev", "prod"}
	var groups, scopes []string
	for i := range size.Groups {
		g := name("rg-r", i)
		if err := b.group(g, envs[rnd.IntN(len(envs))], fmt.Sprintf("team%d", rnd.IntN(3))); err != nil {
			return err
		}
		groups = append(groups, g)
		scopes = append(scopes, b.rgPath(g))
	}
	group := func() string { return groups[rnd.IntN(len(groups))] }
	var ids, principals []string
	for i := range size.Identities {
		id, _, principal, err := b.identity(group(), name("id-r", i))
		if err != nil {
			return err
		}
		ids, principals = append(ids, id), append(principals, principal)
	}
	// attached picks up to two identities; nil means none.
	attached := func() map[string]any {
		var pick []string
		for _, k := range rnd.Perm(len(ids))[:rnd.IntN(3)] {
			pick = append(pick, ids[k])
		}
		if len(pick) == 0 {
			return nil
		}
		return userIdentity(pick...)
	}
	for i := range size.VMs {
		g, n := group(), name("vm-r", i)
		if err := b.vm(g, n, attached()); err != nil {
			return err
		}
		scopes = append(scopes, b.rgPath(g)+"/providers/Microsoft.Compute/virtualMachines/"+n)
	}
	for i := range size.Sites {
		id, err := b.site(group(), name("app-r", i), attached(), nil)
		if err != nil {
			return err
		}
		scopes = append(scopes, id)
	}
	for i := range size.Vaults {
		n := name("kvr", i)
		id, err := b.vault(group(), n)
		if err != nil {
			return err
		}
		if err := b.c.SetSecret(ctx, n, "secret", fmt.Sprintf("value-%d-%d", seed, i)); err != nil {
			return err
		}
		scopes = append(scopes, id)
	}
	for i := range size.Accounts {
		n := name("str", i)
		id, err := b.account(group(), n)
		if err != nil {
			return err
		}
		if err := b.c.PutBlob(ctx, n, "data", "blob.txt", fmt.Sprintf("blob %d of %d", i, seed)); err != nil {
			return err
		}
		scopes = append(scopes, id)
	}
	scopes = append(scopes, "/subscriptions/"+sub)
	for _, principal := range principals {
		for range 1 + rnd.IntN(max(size.MaxRoles, 1)) {
			if err := b.assign(scopes[rnd.IntN(len(scopes))], randomRoles[rnd.IntN(len(randomRoles))], principal); err != nil {
				return err
			}
		}
	}
	return nil
}
