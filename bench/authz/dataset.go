package authz

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/mimic-emu/mimic/authzkit"
)

// Dataset is one synthetic estate and its queries. Everything in it is
// derived from the size alone (fixed seeds), so every engine, every process
// and every run sees the same data.
type Dataset struct {
	N           int
	Roles       []authzkit.Role
	Assignments []authzkit.Assignment
	Denies      []authzkit.DenyAssignment
	Queries     []Query
	// Sample indexes the queries every engine must answer identically.
	Sample []int
	// ordered is Queries with the sample first, the order of the timed
	// passes: the cold pass answers the sample before anything else.
	ordered []Query

	// DroppedRoles counts the built-in roles left out because a permission
	// block carries a condition (see the package documentation).
	DroppedRoles int
	Principals   int
	Scopes       int // distinct assignment scopes
}

// Query is one authorization question, as a caller would ask it: display
// case, a single principal.
type Query struct {
	Principal string
	Action    string
	Data      bool // a data action
	Scope     string

	principals []string // {Principal}, built once so that adapters need not allocate it

	// The same question pre-lowered, and the action's index in Vocabulary,
	// for the plain map index (which, as the floor, does no folding and no
	// pattern matching).
	lp, lscope string
	act        int
}

// Plane is "d" for a data action, "c" for a control-plane action: the key the
// peers' encodings use.
func (q *Query) Plane() string { return planeOf(q.Data) }

// Action is one entry of the query vocabulary.
type Action struct {
	Name string
	Data bool
}

// Vocabulary is every action the queries ask about. It is chosen to cross
// both planes, the built-in roles' NotActions (Contributor and
// Microsoft.Authorization/*/Write), the custom roles' NotDataActions, the
// deny assignments' patterns, and the "/*/" segment wildcard (Managed
// Identity Operator's …/userAssignedIdentities/*/assign/action).
var Vocabulary = []Action{
	{"Microsoft.KeyVault/vaults/secrets/getSecret/action", true},
	{"Microsoft.KeyVault/vaults/secrets/setSecret/action", true},
	{"Microsoft.KeyVault/vaults/secrets/delete", true},
	{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", true},
	{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", true},
	{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete", true},
	{"Microsoft.Compute/virtualMachines/read", false},
	{"Microsoft.Compute/virtualMachines/write", false},
	{"Microsoft.Compute/virtualMachines/delete", false},
	{"Microsoft.Storage/storageAccounts/listKeys/action", false},
	{"Microsoft.Storage/storageAccounts/read", false},
	{"Microsoft.Authorization/roleAssignments/write", false},
	{"Microsoft.Web/sites/write", false},
	{"Microsoft.KeyVault/vaults/read", false},
	{"Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", false},
	{"Microsoft.Resources/subscriptions/resourceGroups/read", false},
}

// Well-known built-in role GUIDs the generator favours.
var commonRoles = []string{
	"8e3af657-a8ff-443c-a75c-2fe8c4bcb635", // Owner
	"b24988ac-6180-42a0-ab88-20f7382dd24c", // Contributor
	"acdd72a7-3385-48ef-bd42-f606fba81ae7", // Reader
	"4633458b-17de-408a-b874-0445c86b69e6", // Key Vault Secrets User
	"b86a8fe4-44ce-4948-aee5-eccb2c155cd7", // Key Vault Secrets Officer
	"2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", // Storage Blob Data Reader
	"ba92f5b4-2d11-453d-a403-e96b0029c9fe", // Storage Blob Data Contributor
	"9980e02c-c2be-4d73-94e8-173b1dc7cf3c", // Virtual Machine Contributor
	"de139f84-1756-47ae-9be6-808fbbe84772", // Website Contributor
	"f1a07417-d97a-45cb-824c-7a7467783830", // Managed Identity Operator
	"18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", // User Access Administrator
}

// denyTemplates are the permission blocks deny assignments draw from, in
// the style of managed applications' and blueprints' deny assignments.
var denyTemplates = [][]authzkit.Permission{
	{{Actions: []string{"*"}, NotActions: []string{"*/read", "Microsoft.Storage/storageAccounts/listKeys/action"}}},
	{{Actions: []string{"Microsoft.Storage/storageAccounts/listKeys/action", "Microsoft.Compute/*/delete"}}},
	{{DataActions: []string{"Microsoft.KeyVault/vaults/secrets/*"}, NotDataActions: []string{"Microsoft.KeyVault/vaults/secrets/getSecret/action"}}},
	{{Actions: []string{"Microsoft.Web/sites/write"}, DataActions: []string{"Microsoft.Storage/*/blobs/delete", "Microsoft.Storage/*/blobs/write"}}},
	{{Actions: []string{"Microsoft.Authorization/*/write"}}, {DataActions: []string{"*"}, NotDataActions: []string{"*/read"}}},
}

// SampleSize is how many queries the agreement check asks every engine.
const SampleSize = 2000

// QueryCount is the number of distinct queries per size.
const QueryCount = 10_000

var datasets sync.Map // int -> *Dataset

// Generate returns the dataset of n role assignments, building it on first
// use (and keeping it for the process: datasets are shared, read-only).
//
// The estate follows research/peers.md §3 and internal/authz's own
// benchmark: 50 subscriptions × 20 resource groups × 20 resources; n/10
// principals; assignments 1 % at the root, 9 % on subscriptions, 25 % on
// groups and 65 % on resources; half the assignments use a common built-in
// role, half any role (the 421 unconditional built-in roles and 40 custom
// wildcard roles with NotActions and NotDataActions); 0.1 % name a role that
// does not exist (orphaned); one assignment scope in ten is spelt in lower
// case. max(20, n/5,000) deny assignments, each grown from a seed
// assignment: on its scope or its subscription or group, for its principal
// (and up to two others) or, one in four, for Everyone (some excluding a
// principal), a third of them not applying to child scopes, with a deny
// template that preferably blocks something the seed's role grants.
//
// Queries: half aimed at an existing assignment's subtree (one in five of
// those at a deny's seed), half random; an aimed query asks, one time in
// two, for an action its assignment's role grants (at a seed, one the deny
// blocks); a quarter are at a child resource; one in eight spells the
// principal or the action in another case.
func Generate(n int) *Dataset {
	if v, ok := datasets.Load(n); ok {
		return v.(*Dataset)
	}
	ds := generate(n)
	v, _ := datasets.LoadOrStore(n, ds)
	return v.(*Dataset)
}

func guid(rng *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff)
}

func generate(n int) *Dataset {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	ds := &Dataset{N: n}
	for _, r := range authzkit.BuiltinRoles() {
		if hasCondition(r) {
			ds.DroppedRoles++
			continue
		}
		ds.Roles = append(ds.Roles, r)
	}
	for i := range 40 {
		ns := []string{"Microsoft.Compute", "Microsoft.Storage", "Microsoft.KeyVault", "Microsoft.Web"}[i%4]
		ds.Roles = append(ds.Roles, authzkit.Role{ID: guid(rng), Name: fmt.Sprintf("custom-%d", i), Permissions: []authzkit.Permission{{
			Actions:        []string{ns + "/*/read", ns + "/*/write", "Microsoft.Resources/subscriptions/resourceGroups/read"},
			NotActions:     []string{ns + "/*/delete"},
			DataActions:    []string{ns + "/*"},
			NotDataActions: []string{"*/delete"},
		}}})
	}

	type resource struct{ sub, rg, id string }
	types := []string{"Microsoft.KeyVault/vaults/kv", "Microsoft.Storage/storageAccounts/st", "Microsoft.Compute/virtualMachines/vm", "Microsoft.Web/sites/app", "Microsoft.ManagedIdentity/userAssignedIdentities/id"}
	var subs, rgs []string
	var res []resource
	rgRes := map[string][]string{}  // by lower-cased group id
	subRes := map[string][]string{} // by lower-cased subscription id
	for si := range 50 {
		sub := "/subscriptions/" + guid(rng)
		subs = append(subs, sub)
		for gi := range 20 {
			rg := fmt.Sprintf("%s/resourceGroups/RG-%02d", sub, gi)
			rgs = append(rgs, rg)
			for ri := range 20 {
				t := types[(si+gi+ri)%len(types)]
				id := fmt.Sprintf("%s/providers/%s%04d", rg, t, ri)
				res = append(res, resource{sub, rg, id})
				rgRes[strings.ToLower(rg)] = append(rgRes[strings.ToLower(rg)], id)
				subRes[strings.ToLower(sub)] = append(subRes[strings.ToLower(sub)], id)
			}
		}
	}
	principals := make([]string, max(n/10, 100))
	for i := range principals {
		principals[i] = guid(rng)
	}
	ds.Principals = len(principals)
	scopes := map[string]bool{}
	ds.Assignments = make([]authzkit.Assignment, n)
	for i := range ds.Assignments {
		var scope string
		switch x := rng.IntN(100); {
		case x < 1:
			scope = "/"
		case x < 10:
			scope = subs[rng.IntN(len(subs))]
		case x < 35:
			scope = rgs[rng.IntN(len(rgs))]
		default:
			scope = res[rng.IntN(len(res))].id
		}
		if rng.IntN(10) == 0 {
			scope = strings.ToLower(scope)
		}
		scopes[strings.ToLower(scope)] = true
		role := commonRoles[rng.IntN(len(commonRoles))]
		switch x := rng.IntN(1000); {
		case x == 0:
			role = guid(rng) // orphaned: no such role
		case x < 500:
			role = ds.Roles[rng.IntN(len(ds.Roles))].ID
		}
		ds.Assignments[i] = authzkit.Assignment{ID: guid(rng), PrincipalID: principals[rng.IntN(len(principals))], RoleID: role, Scope: scope}
	}
	ds.Scopes = len(scopes)

	// What each role grants of the vocabulary, so that aimed queries can
	// ask for something the assignment's role allows (and a deny blocks).
	grants := map[string][]int{}
	for _, r := range ds.Roles {
		for i, a := range Vocabulary {
			if refRoleAllows(r.Permissions, &Query{Action: a.Name, Data: a.Data}) {
				grants[strings.ToLower(r.ID)] = append(grants[strings.ToLower(r.ID)], i)
			}
		}
	}

	// Deny assignments grow from seed assignments: the deny covers the
	// seed's scope (or is on it exactly), and names the seed's principal or
	// Everyone, so that queries aimed at a seed can meet it.
	var seeds []authzkit.Assignment
	for i := range max(20, n/5_000) {
		a := ds.Assignments[rng.IntN(n)]
		for a.Scope == "/" {
			a = ds.Assignments[rng.IntN(n)]
		}
		seeds = append(seeds, a)
		scope := a.Scope
		if rng.IntN(2) == 0 {
			scope = ancestorAt(scope, rng.IntN(2)) // its subscription or group
		}
		d := authzkit.DenyAssignment{
			ID:                      guid(rng),
			Name:                    fmt.Sprintf("deny-%d", i),
			Scope:                   scope,
			Permissions:             denyTemplate(rng, grants[strings.ToLower(a.RoleID)]),
			DoNotApplyToChildScopes: rng.IntN(3) == 0,
		}
		if i%4 == 0 {
			d.Principals = []string{authzkit.Everyone}
			if rng.IntN(2) == 0 {
				d.ExcludePrincipals = []string{ds.Assignments[rng.IntN(n)].PrincipalID}
			}
			if rng.IntN(4) == 0 {
				d.ExcludePrincipals = append(d.ExcludePrincipals, a.PrincipalID)
			}
		} else {
			d.Principals = []string{a.PrincipalID}
			for range rng.IntN(3) {
				d.Principals = append(d.Principals, ds.Assignments[rng.IntN(n)].PrincipalID)
			}
		}
		ds.Denies = append(ds.Denies, d)
	}

	// What each deny blocks of the vocabulary.
	blocks := make([]*actionTable, len(ds.Denies))
	for i, d := range ds.Denies {
		blocks[i] = vocabTable(d.Permissions)
	}
	qrng := rand.New(rand.NewPCG(2, uint64(n)))
	ds.Queries = make([]Query, QueryCount)
	for i := range ds.Queries {
		var p, scope string
		act := qrng.IntN(len(Vocabulary))
		if i%2 == 0 {
			a := ds.Assignments[qrng.IntN(len(ds.Assignments))]
			g := grants[strings.ToLower(a.RoleID)]
			if qrng.IntN(5) == 0 {
				// At a deny's seed, asking for something both the role
				// grants and the deny blocks, when there is such a thing.
				k := qrng.IntN(len(seeds))
				a = seeds[k]
				g = grants[strings.ToLower(a.RoleID)]
				var both []int
				for _, x := range g {
					if blocks[k][x] {
						both = append(both, x)
					}
				}
				if len(both) > 0 && qrng.IntN(4) != 0 {
					g = both
					act = g[qrng.IntN(len(g))]
				}
			}
			if len(g) > 0 && qrng.IntN(2) == 0 {
				act = g[qrng.IntN(len(g))]
			}
			p = a.PrincipalID
			la := strings.ToLower(a.Scope)
			switch {
			case la == "/":
				scope = res[qrng.IntN(len(res))].id
			case strings.Contains(la, "/providers/"):
				scope = a.Scope
			case strings.Contains(la, "/resourcegroups/"):
				l := rgRes[la]
				scope = l[qrng.IntN(len(l))]
			default:
				l := subRes[la]
				scope = l[qrng.IntN(len(l))]
			}
		} else {
			p = principals[qrng.IntN(len(principals))]
			scope = res[qrng.IntN(len(res))].id
		}
		if qrng.IntN(4) == 0 {
			scope += "/secrets/s1" // a child resource
		}
		name := Vocabulary[act].Name
		switch qrng.IntN(16) {
		case 0:
			p = strings.ToUpper(p)
		case 1:
			name = strings.ToLower(name)
		}
		ds.Queries[i] = Query{
			Principal: p, Action: name, Data: Vocabulary[act].Data, Scope: scope,
			principals: []string{p},
			lp:         strings.ToLower(p), lscope: strings.ToLower(scope), act: act,
		}
	}
	srng := rand.New(rand.NewPCG(3, uint64(n)))
	ds.Sample = srng.Perm(len(ds.Queries))[:min(SampleSize, len(ds.Queries))]
	inSample := make([]bool, len(ds.Queries))
	for _, i := range ds.Sample {
		inSample[i] = true
		ds.ordered = append(ds.ordered, ds.Queries[i])
	}
	for i := range ds.Queries {
		if !inSample[i] {
			ds.ordered = append(ds.ordered, ds.Queries[i])
		}
	}
	return ds
}

// denyTemplate picks a deny template, preferring one that blocks something
// the seed's role grants.
func denyTemplate(rng *rand.Rand, grants []int) []authzkit.Permission {
	var fit [][]authzkit.Permission
	for _, t := range denyTemplates {
		tab := vocabTable(t)
		for _, x := range grants {
			if tab[x] {
				fit = append(fit, t)
				break
			}
		}
	}
	if len(fit) == 0 || rng.IntN(4) == 0 {
		return denyTemplates[rng.IntN(len(denyTemplates))]
	}
	return fit[rng.IntN(len(fit))]
}

// ancestorAt cuts a scope after its subscription (depth 0) or resource group
// (depth 1), or returns it whole if it is not that deep.
func ancestorAt(scope string, depth int) string {
	segs := 2 + 2*depth // "subscriptions/{id}" [+ "resourceGroups/{name}"]
	for i := 1; i < len(scope); i++ {
		if scope[i] == '/' {
			segs--
			if segs == 0 {
				return scope[:i]
			}
		}
	}
	return scope
}

func hasCondition(r authzkit.Role) bool {
	for _, p := range r.Permissions {
		if p.Condition != "" {
			return true
		}
	}
	return false
}
