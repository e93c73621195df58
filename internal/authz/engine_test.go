package authz

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/roles"
)

// A testdata file: roles (built-in names as strings, or custom definitions),
// assignments whose "role" is a role name from this file or a raw id, deny
// assignments, and the requests to check.
type suite struct {
	Description string            `json:"description"`
	Roles       []json.RawMessage `json:"roles"`
	Assignments []struct {
		ID               string `json:"id"`
		PrincipalID      string `json:"principalId"`
		Role             string `json:"role"`
		Scope            string `json:"scope"`
		Condition        string `json:"condition"`
		ConditionVersion string `json:"conditionVersion"`
	} `json:"assignments"`
	DenyAssignments []struct {
		ID                      string       `json:"id"`
		Name                    string       `json:"name"`
		Scope                   string       `json:"scope"`
		Principals              []string     `json:"principals"`
		ExcludePrincipals       []string     `json:"excludePrincipals"`
		Permissions             []Permission `json:"permissions"`
		DoNotApplyToChildScopes bool         `json:"doNotApplyToChildScopes"`
	} `json:"denyAssignments"`
	Cases []struct {
		Name         string            `json:"name"`
		Principals   []string          `json:"principals"`
		Action       string            `json:"action"`
		DataAction   bool              `json:"dataAction"`
		Scope        string            `json:"scope"`
		SubOperation string            `json:"subOperation"`
		Attributes   map[string]string `json:"attributes"`
		Allowed      bool              `json:"allowed"`
		Assignment   string            `json:"assignment"` // granting (or closest-miss) assignment id
		Deny         string            `json:"deny"`       // blocking deny assignment id
		Reason       string            `json:"reason"`     // substring of Decision.Reason
	} `json:"cases"`
}

func loadSuite(t *testing.T, path string) (*Engine, *suite) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s suite
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var rs []Role
	byName := map[string]string{}
	for _, raw := range s.Roles {
		var name string
		if json.Unmarshal(raw, &name) == nil {
			d, ok := roles.ByName(name)
			if !ok {
				t.Fatalf("%s: no built-in role %q", path, name)
			}
			rs = append(rs, RoleFromDefinition(d))
		} else {
			var r struct {
				ID          string       `json:"id"`
				Name        string       `json:"name"`
				Permissions []Permission `json:"permissions"`
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatalf("%s: role %s: %v", path, raw, err)
			}
			rs = append(rs, Role{ID: r.ID, Name: r.Name, Permissions: r.Permissions})
		}
		byName[strings.ToLower(rs[len(rs)-1].Name)] = rs[len(rs)-1].ID
	}
	var as []Assignment
	for _, a := range s.Assignments {
		id, ok := byName[strings.ToLower(a.Role)]
		if !ok {
			id = a.Role
		}
		as = append(as, Assignment{ID: a.ID, PrincipalID: a.PrincipalID, RoleID: id, Scope: a.Scope, Condition: a.Condition, ConditionVersion: a.ConditionVersion})
	}
	var ds []DenyAssignment
	for _, d := range s.DenyAssignments {
		ds = append(ds, DenyAssignment(d))
	}
	e, err := New(rs, as, ds)
	if err != nil {
		t.Fatalf("%s: New: %v", path, err)
	}
	return e, &s
}

func TestTestdata(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			e, s := loadSuite(t, f)
			if len(s.Cases) == 0 {
				t.Fatal("no cases")
			}
			for _, c := range s.Cases {
				t.Run(c.Name, func(t *testing.T) {
					req := Request{Principals: c.Principals, Action: c.Action, DataAction: c.DataAction, Scope: c.Scope, SubOperation: c.SubOperation, Attributes: c.Attributes}
					d := e.Check(req)
					if e.Allowed(req) != d.Allowed {
						t.Errorf("Allowed disagrees with Check")
					}
					if d.Allowed != c.Allowed {
						t.Errorf("Allowed = %v, want %v; reason: %s", d.Allowed, c.Allowed, d.Reason())
					}
					if d.Reason() == "" {
						t.Error("empty reason")
					}
					if c.Reason != "" && !strings.Contains(d.Reason(), c.Reason) {
						t.Errorf("reason\n  %s\ndoes not contain\n  %s", d.Reason(), c.Reason)
					}
					as, role, why := d.Explain()
					if why != d.Reason() {
						t.Errorf("Explain's reason %q is not Reason's %q", why, d.Reason())
					}
					if c.Assignment != "" && (as == nil || as.ID != c.Assignment || role == nil) {
						t.Errorf("explained by assignment %v (role %v), want %s; reason: %s", as, role, c.Assignment, why)
					}
					if d.Allowed && (d.Assignment == nil || d.Role == nil || as != d.Assignment) {
						t.Error("allowed without naming the assignment and role")
					}
					if !d.Allowed && d.Assignment != nil {
						t.Errorf("refused, with Assignment %s set: a near miss is Explain's", d.Assignment.ID)
					}
					if deny := d.Denied(); c.Deny != "" && (deny == nil || deny.ID != c.Deny) {
						t.Errorf("deny = %v, want %s; reason: %s", deny, c.Deny, d.Reason())
					}
					if deny := d.Denied(); c.Deny == "" && deny != nil {
						t.Errorf("unexpected deny %s", deny.ID)
					}
				})
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	reader := RoleFromDefinition(mustRole(t, roles.Reader))
	cases := []struct {
		name    string
		roles   []Role
		as      []Assignment
		ds      []DenyAssignment
		wantErr string
	}{
		{"bad condition", []Role{reader}, []Assignment{{ID: "a1", PrincipalID: "p", RoleID: roles.Reader, Scope: "/", Condition: "@Resource[x] StringEquals 'y'"}}, nil,
			`role assignment a1: invalid condition: unknown attribute "@Resource[x]" at position 1`},
		{"bad version", []Role{reader}, []Assignment{{ID: "a1", PrincipalID: "p", RoleID: roles.Reader, Scope: "/", Condition: "ActionMatches{'x'}", ConditionVersion: "1.0"}}, nil,
			`role assignment a1: invalid condition: unsupported condition version "1.0"`},
		{"duplicate role", []Role{reader, {ID: strings.ToUpper(roles.Reader), Name: "again"}}, nil, nil, "duplicate role id " + roles.Reader},
		{"role without id", []Role{{Name: "x"}}, nil, nil, `role "x" has no id`},
		{"bad role condition", []Role{{ID: "r", Name: "R", Permissions: []Permission{{Actions: []string{"*"}, Condition: "Foo{'x'}", ConditionVersion: "2.0"}}}}, nil, nil,
			`role R (r): invalid condition: unknown function "Foo" at position 1`},
		{"relative scope", []Role{reader}, []Assignment{{ID: "a1", PrincipalID: "p", RoleID: roles.Reader, Scope: "subscriptions/s"}}, nil, `role assignment a1: invalid scope "subscriptions/s"`},
		{"no principal", []Role{reader}, []Assignment{{ID: "a1", RoleID: roles.Reader, Scope: "/"}}, nil, "role assignment a1: no principal id"},
		{"deny condition", nil, nil, []DenyAssignment{{ID: "d", Scope: "/", Principals: []string{Everyone}, Permissions: []Permission{{Actions: []string{"*"}, Condition: "x"}}}}, "deny assignment d: conditions on deny assignments are not supported"},
		{"deny without principals", nil, nil, []DenyAssignment{{ID: "d", Scope: "/"}}, "deny assignment d: no principals"},
	}
	for _, tc := range cases {
		_, err := New(tc.roles, tc.as, tc.ds)
		if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
			t.Errorf("%s: err = %v, want prefix %q", tc.name, err, tc.wantErr)
		}
	}
}

func mustRole(t testing.TB, id string) *roles.Definition {
	d, ok := roles.ByID(id)
	if !ok {
		t.Fatalf("no role %s", id)
	}
	return d
}

func TestAllBuiltinRolesCompile(t *testing.T) {
	e, err := New(BuiltinRoles(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := e.Role(strings.ToUpper(roles.Owner)); !ok || r.Name != "Owner" {
		t.Errorf("Role(Owner) = %v, %v", r, ok)
	}
}

func TestPermissionsAndAssignmentsFor(t *testing.T) {
	const p, g = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
	cond := "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'c'"
	e, err := New(BuiltinRoles(), []Assignment{
		{ID: "a1", PrincipalID: p, RoleID: roles.Reader, Scope: "/subscriptions/s"},
		{ID: "a2", PrincipalID: p, RoleID: roles.Reader, Scope: "/subscriptions/s/resourceGroups/rg"}, // same role: listed once
		{ID: "a3", PrincipalID: g, RoleID: roles.StorageBlobDataReader, Scope: "/subscriptions/s/resourceGroups/rg", Condition: cond},
		{ID: "a4", PrincipalID: p, RoleID: roles.Owner, Scope: "/subscriptions/s/resourceGroups/rg-ab"},
		{ID: "a5", PrincipalID: p, RoleID: "unknown", Scope: "/"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	perms := e.Permissions([]string{p, g}, "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Storage/storageAccounts/x")
	if len(perms) != 2 {
		t.Fatalf("got %d permission blocks, want 2: %+v", len(perms), perms)
	}
	if !slices.Equal(perms[0].Actions, []string{"*/read"}) || perms[0].Condition != "" {
		t.Errorf("first block = %+v, want Reader's", perms[0])
	}
	if perms[1].Condition != cond || perms[1].ConditionVersion != "2.0" || len(perms[1].DataActions) != 1 {
		t.Errorf("second block = %+v, want Storage Blob Data Reader's with the condition", perms[1])
	}
	if got := e.Permissions([]string{"nobody"}, "/"); got == nil || len(got) != 0 {
		t.Errorf("Permissions for nobody = %#v, want empty", got)
	}

	as := e.AssignmentsFor(strings.ToUpper(p))
	var ids []string
	for _, a := range as {
		ids = append(ids, a.ID)
	}
	if want := []string{"a5", "a1", "a2", "a4"}; !slices.Equal(ids, want) {
		t.Errorf("AssignmentsFor = %v, want %v (sorted by scope)", ids, want)
	}
}

func TestCheckDoesNotAllocate(t *testing.T) {
	const p = "11111111-1111-1111-1111-111111111111"
	e, err := New(BuiltinRoles(), []Assignment{
		{ID: "a1", PrincipalID: p, RoleID: roles.KeyVaultSecretsUser, Scope: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"},
		{ID: "a2", PrincipalID: p, RoleID: roles.StorageBlobDataReader, Scope: "/subscriptions/s", Condition: docCondition},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := []Request{
		{Principals: []string{strings.ToUpper(p)}, Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", DataAction: true,
			Scope: "/subscriptions/s/resourceGroups/RG/providers/Microsoft.KeyVault/vaults/kv/secrets/x"},
		{Principals: []string{p}, Action: blobRead, DataAction: true, Scope: "/subscriptions/s/resourceGroups/rg",
			Attributes: map[string]string{AttrContainerName: "blobs-example-container"}},
	}
	for _, r := range reqs {
		if d := e.Check(r); !d.Allowed {
			t.Fatalf("not allowed: %s", d.Reason())
		}
		if n := testing.AllocsPerRun(200, func() { e.Check(r) }); n != 0 {
			t.Errorf("Check(%s) allocates %v times on the allow path", r.Action, n)
		}
	}
	refused := Request{Principals: []string{p, "33333333-3333-3333-3333-333333333333"}, Action: blobWrite, DataAction: true, Scope: "/subscriptions/s/resourceGroups/rg"}
	if n := testing.AllocsPerRun(200, func() { e.Allowed(refused) }); n != 0 {
		t.Errorf("Allowed allocates %v times on a refusal", n)
	}
	if n := testing.AllocsPerRun(200, func() { e.Check(refused) }); n != 0 {
		t.Errorf("Check allocates %v times on a refusal; its reason is written on demand", n)
	}
	d := e.Check(refused)
	if n := testing.AllocsPerRun(200, func() { _ = d.Reason() }); n != 1 {
		t.Errorf("a refusal's Reason allocates %v times, want 1 (one concatenation)", n)
	}
}

// TestAgainstReference checks the index (both the linear scan and the
// per-ancestor binary search) against a brute-force evaluation over every
// assignment, on random data with up to 200 assignments per principal.
func TestAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	customRoles := []Role{
		{ID: "r-all", Name: "all", Permissions: []Permission{{Actions: []string{"*"}}}},
		{ID: "r-read", Name: "read", Permissions: []Permission{{Actions: []string{"*/read"}}}},
		{ID: "r-kv", Name: "kv", Permissions: []Permission{{DataActions: []string{"Microsoft.KeyVault/vaults/secrets/*"}, NotDataActions: []string{"*/setSecret/action"}}}},
		{ID: "r-vm", Name: "vm", Permissions: []Permission{{Actions: []string{"Microsoft.Compute/*"}, NotActions: []string{"Microsoft.Compute/*/delete"}}}},
	}
	actions := []struct {
		name string
		data bool
	}{
		{"Microsoft.Compute/virtualMachines/read", false},
		{"Microsoft.Compute/virtualMachines/delete", false},
		{"Microsoft.Compute/virtualMachines/write", false},
		{"Microsoft.KeyVault/vaults/secrets/getSecret/action", true},
		{"Microsoft.KeyVault/vaults/secrets/setSecret/action", true},
	}
	var scopes []string
	scopes = append(scopes, "/")
	for s := range 3 {
		sub := fmt.Sprintf("/subscriptions/Sub%d", s)
		scopes = append(scopes, sub)
		for g := range 4 {
			rg := fmt.Sprintf("%s/resourceGroups/rg-%d", sub, g)
			scopes = append(scopes, rg, rg+"0") // rg-1 and rg-10: segment boundaries matter
			for v := range 3 {
				vault := fmt.Sprintf("%s/providers/Microsoft.KeyVault/vaults/kv%d", rg, v)
				scopes = append(scopes, vault, vault+"/secrets/s1", fmt.Sprintf("%s/providers/Microsoft.Compute/virtualMachines/vm%d", rg, v))
			}
		}
	}
	principals := []string{"p0", "p1", "p2", "p3", "p4"}
	sizes := []int{0, 3, 24, 25, 200}
	var as []Assignment
	for i, p := range principals {
		for j := range sizes[i] {
			as = append(as, Assignment{ID: fmt.Sprintf("%s-%d", p, j), PrincipalID: p, RoleID: customRoles[rng.IntN(len(customRoles))].ID, Scope: scopes[rng.IntN(len(scopes))]})
		}
	}
	e, err := New(customRoles, as, nil)
	if err != nil {
		t.Fatal(err)
	}
	roleByID := map[string]Role{}
	for _, r := range customRoles {
		roleByID[r.ID] = r
	}
	allows := func(r Role, action string, data bool) bool {
		for _, p := range r.Permissions {
			pos, neg := p.Actions, p.NotActions
			if data {
				pos, neg = p.DataActions, p.NotDataActions
			}
			in := slices.ContainsFunc(pos, func(pat string) bool { return referenceMatch(pat, action) })
			out := slices.ContainsFunc(neg, func(pat string) bool { return referenceMatch(pat, action) })
			if in && !out {
				return true
			}
		}
		return false
	}
	for range 20000 {
		ps := []string{principals[rng.IntN(len(principals))]}
		if rng.IntN(3) == 0 {
			// Groups: more than four principals are counted otherwise.
			for range 1 + rng.IntN(6) {
				ps = append(ps, principals[rng.IntN(len(principals))])
			}
		}
		act := actions[rng.IntN(len(actions))]
		scope := scopes[rng.IntN(len(scopes))]
		if rng.IntN(2) == 0 {
			scope = strings.ToUpper(scope)
		}
		want := false
		for _, a := range as {
			if slices.Contains(ps, a.PrincipalID) && resourceid.KeyContains(strings.ToLower(a.Scope), strings.ToLower(scope)) && allows(roleByID[a.RoleID], act.name, act.data) {
				want = true
				break
			}
		}
		req := Request{Principals: ps, Action: act.name, DataAction: act.data, Scope: scope}
		d := e.Check(req)
		if d.Allowed != want || e.Allowed(req) != want {
			t.Fatalf("Check(%v, %s, %s) = %v, reference %v; reason %s", ps, act.name, scope, d.Allowed, want, d.Reason())
		}
		if d.Allowed && !resourceid.KeyContains(strings.ToLower(d.Assignment.Scope), strings.ToLower(scope)) {
			t.Fatalf("granting assignment %s at %s does not contain %s", d.Assignment.ID, d.Assignment.Scope, scope)
		}
		if as, _, _ := d.Explain(); d.Allowed || as != nil {
			continue
		}
		// A plain refusal counts the assignments that apply.
		total, applying := 0, 0
		for _, p := range ps {
			for _, a := range as {
				if a.PrincipalID == p {
					total++
					if resourceid.KeyContains(strings.ToLower(a.Scope), strings.ToLower(scope)) {
						applying++
					}
				}
			}
		}
		says := fmt.Sprintf(" (%d role assignment(s) apply at this scope;", applying)
		switch {
		case total == 0:
			says = "(it has no role assignments)"
		case applying == 0:
			says = fmt.Sprintf(" (it has %d role assignment(s), none at or above this scope)", total)
		}
		if !strings.Contains(d.Reason(), says) {
			t.Fatalf("Check(%v, %s, %s): reason %q does not say %q", ps, act.name, scope, d.Reason(), says)
		}
	}
}

func FuzzScopeContains(f *testing.F) {
	f.Add("/subscriptions/s/resourceGroups/rg-a", "/subscriptions/S/resourceGroups/RG-AB")
	f.Add("/", "/x")
	f.Add("/a/b/", "/A/B/c")
	f.Add("/a/ⱥ", "/a/Ⱥ/x")   // lower-casing lengthens the rune
	f.Add("/a/ß/b", "/a/ẞ/B") // and shortens it
	f.Add("/a/k/b", "/A/K/b") // Kelvin sign: lower-cases to ASCII
	f.Add("/subscriptions/s/x", "/subscriptions/S/X//")
	f.Add("/", "//")
	f.Add("/subscriptions/s/resourceGroups/grüne", "/subscriptions/s/resourceGroups/GRÜNE/providers/x")
	f.Fuzz(func(t *testing.T, assigned, requested string) {
		k, ok1 := scopeKey(assigned)
		if !ok1 {
			return
		}
		en := key{scope: k, tail: keyTail(k)}
		s, ok2 := requestScope(requested)
		q := query{r: Request{Scope: requested}}
		if got := q.contains(&en); got != (ok2 && resourceid.KeyContains(k, strings.ToLower(s))) {
			t.Errorf("query for %q: key %q contains it = %v", requested, k, got)
		}
		q = query{r: Request{Scope: requested}}
		if got := q.containsFront(&en); got != (ok2 && resourceid.KeyContains(k, strings.ToLower(s))) {
			t.Errorf("query for %q: key %q contains it, compared from the front = %v", requested, k, got)
		}
		q = query{r: Request{Scope: requested}}
		if got := q.at(&en); got != (ok2 && strings.ToLower(s) == k) {
			t.Errorf("query for %q: it is key %q's scope = %v", requested, k, got)
		}
		// The same questions again, on one query that keeps what it
		// learnt of the scope from one to the next.
		in, at := ok2 && resourceid.KeyContains(k, strings.ToLower(s)), ok2 && strings.ToLower(s) == k
		q = query{r: Request{Scope: requested}}
		if q.contains(&en) != in || q.at(&en) != at || q.containsFront(&en) != in || q.contains(&en) != in {
			t.Errorf("query for %q against key %q: answers change as it learns the scope", requested, k)
		}
		if !ok2 {
			return
		}
		want := resourceid.KeyContains(k, strings.ToLower(s))
		if got := en.contains(s); got != want {
			t.Errorf("key %q contains %q = %v, KeyContains says %v", k, s, got, want)
		}
	})
}

func TestDenyAssignmentsAt(t *testing.T) {
	const p, q, g = "11111111-1111-1111-1111-111111111111", "33333333-3333-3333-3333-333333333333", "22222222-2222-2222-2222-222222222222"
	rg := "/subscriptions/s/resourceGroups/rg"
	kv := rg + "/providers/Microsoft.KeyVault/vaults/kv"
	secrets := []Permission{{DataActions: []string{"Microsoft.KeyVault/vaults/secrets/*"}}}
	e, err := New(BuiltinRoles(), nil, []DenyAssignment{
		{ID: "named", Scope: rg, Principals: []string{p}, Permissions: secrets},
		{ID: "everyone", Scope: "/subscriptions/s", Principals: []string{Everyone}, ExcludePrincipals: []string{g}, Permissions: secrets},
		{ID: "here-only", Scope: rg, Principals: []string{q}, Permissions: secrets, DoNotApplyToChildScopes: true},
		{ID: "sibling", Scope: rg + "-ab", Principals: []string{p}, Permissions: secrets},
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(principals []string, scope string) []string {
		var out []string
		for _, d := range e.DenyAssignmentsAt(principals, scope) {
			out = append(out, d.ID)
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		principals []string
		scope      string
		want       []string
	}{
		{[]string{p}, kv, []string{"everyone", "named"}},
		{[]string{strings.ToUpper(p)}, strings.ToUpper(kv), []string{"everyone", "named"}},
		{[]string{p, g}, kv, []string{"named"}}, // a group of the caller is excluded from Everyone's
		{[]string{q}, rg, []string{"everyone", "here-only"}},
		{[]string{q}, kv, []string{"everyone"}}, // DoNotApplyToChildScopes
		{[]string{p}, "/subscriptions/s", []string{"everyone"}},
		{[]string{p}, "not a scope", nil},
	} {
		if got := ids(c.principals, c.scope); !slices.Equal(got, c.want) {
			t.Errorf("DenyAssignmentsAt(%v, %s) = %v, want %v", c.principals, c.scope, got, c.want)
		}
	}
}
