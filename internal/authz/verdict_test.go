package authz

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// TestVerdictsMatchDiagnosis checks the memo against the role itself, for
// every built-in role and a spread of actions in several spellings, on the
// first (computing) and second (memoised) reading.
func TestVerdictsMatchDiagnosis(t *testing.T) {
	e, err := New(BuiltinRoles(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	actions := []Request{
		{Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", DataAction: true},
		{Action: "microsoft.keyvault/VAULTS/secrets/getsecret/action", DataAction: true},
		{Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action"}, // the wrong plane
		{Action: blobRead, DataAction: true},
		{Action: blobWrite, DataAction: true},
		{Action: "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete", DataAction: true},
		{Action: "Microsoft.Compute/virtualMachines/read"},
		{Action: "Microsoft.Compute/virtualMachines/delete"},
		{Action: "Microsoft.Authorization/roleAssignments/write"},
		{Action: "Microsoft.Authorization/roleAssignments/WRITE"},
		{Action: "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"},
		{Action: "Microsoft.Storage/storageAccounts/listKeys/action"},
	}
	checked := 0
	for pass := range 2 {
		for _, r := range actions {
			if e.verdictsFor(&r) == nil {
				t.Fatalf("%s is not memoised", r.Action)
			}
			for _, cr := range e.roleList {
				q := e.newQuery(&r)
				want := cr.diagnose(&r).v
				got, conditional := q.verdict(cr.idx)
				if conditional != cr.conditional {
					t.Fatalf("role %s: memo says conditional %v", cr.role.Name, conditional)
				}
				if cr.conditional {
					if (got == vNone) != (want == vNone) {
						t.Fatalf("pass %d: conditional role %s, %s (data %v): memo says %d, the role %d", pass, cr.role.Name, r.Action, r.DataAction, got, want)
					}
					continue
				}
				if got != want {
					t.Fatalf("pass %d: role %s, %s (data %v): memo says %d, the role %d", pass, cr.role.Name, r.Action, r.DataAction, got, want)
				}
				if (want == vGranted) != cr.allows(&r) {
					t.Fatalf("role %s, %s: verdict %d but allows %v", cr.role.Name, r.Action, want, cr.allows(&r))
				}
				checked++
			}
		}
	}
	if checked < 2*len(actions)*400 {
		t.Errorf("checked only %d verdicts", checked)
	}
}

// TestVerdictCacheIsBounded feeds more distinct actions than the memo
// holds, and one too long for it: the memo stops growing and the answers
// stay right.
func TestVerdictCacheIsBounded(t *testing.T) {
	const p = "p"
	e, err := New([]Role{{ID: "r", Name: "r", Permissions: []Permission{{DataActions: []string{"Contoso.Things/*/read"}}}}},
		[]Assignment{{ID: "a", PrincipalID: p, RoleID: "r", Scope: "/subscriptions/s"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	check := func(action string, want bool) {
		t.Helper()
		r := Request{Principals: []string{p}, Action: action, DataAction: true, Scope: "/subscriptions/s/x"}
		if got := e.Allowed(r); got != want {
			t.Fatalf("Allowed(%s) = %v, want %v", action, got, want)
		}
		if d := e.Check(r); d.Allowed != want {
			t.Fatalf("Check(%s) = %v, want %v: %s", action, d.Allowed, want, d.Reason())
		}
	}
	for i := range verdictActionsMax + 100 {
		check(fmt.Sprintf("Contoso.Things/kind%d/read", i), true)
		check(fmt.Sprintf("Contoso.Things/kind%d/write", i), false)
	}
	long := "Contoso.Things/" + strings.Repeat("x", verdictActionLen) + "/read"
	check(long, true)
	m := *e.verdicts[1].m.Load()
	if len(m) != verdictActionsMax {
		t.Errorf("the data-plane memo holds %d actions, want its bound %d", len(m), verdictActionsMax)
	}
	if _, ok := m[long]; ok {
		t.Errorf("an action longer than %d bytes was memoised", verdictActionLen)
	}
	if e.verdicts[0].m.Load() != nil {
		t.Errorf("the control-plane memo was written by data actions")
	}
}

// TestConditionalRoleIsNotMemoised: a role whose block has a condition
// answers per request, even for the same action.
func TestConditionalRoleIsNotMemoised(t *testing.T) {
	const p = "p"
	e, err := New([]Role{{ID: "r", Name: "r", Permissions: []Permission{{
		DataActions: []string{blobRead}, Condition: docCondition, ConditionVersion: "2.0"}}}},
		[]Assignment{{ID: "a", PrincipalID: p, RoleID: "r", Scope: "/subscriptions/s"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		for _, c := range []struct {
			container string
			want      bool
		}{{"blobs-example-container", true}, {"other", false}} {
			r := Request{Principals: []string{p}, Action: blobRead, DataAction: true, Scope: "/subscriptions/s/x", Attributes: container(c.container)}
			if got := e.Allowed(r); got != c.want {
				t.Fatalf("Allowed in container %s = %v, want %v", c.container, got, c.want)
			}
			if d := e.Check(r); d.Allowed != c.want {
				t.Fatalf("Check in container %s = %v, want %v: %s", c.container, d.Allowed, c.want, d.Reason())
			}
		}
	}
}

// TestConcurrentChecks runs the same queries from several goroutines on a
// fresh engine, filling the memo concurrently, and compares every answer
// and reason with a sequential run on another engine (go test -race checks
// the memo's publication).
func TestConcurrentChecks(t *testing.T) {
	s := makeBenchSet(10_000)
	qs := s.queries[:2000]
	want := make([]Decision, len(qs))
	seq, err := New(s.roles, s.assignments, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range qs {
		want[i] = seq.Check(q)
	}
	e, err := New(s.roles, s.assignments, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for _, i := range rng.Perm(len(qs)) {
				d := e.Check(qs[i])
				if d.Allowed != want[i].Allowed || e.Allowed(qs[i]) != want[i].Allowed || d.Reason() != want[i].Reason() {
					errs <- fmt.Sprintf("query %d: %v %q, sequentially %v %q", i, d.Allowed, d.Reason(), want[i].Allowed, want[i].Reason())
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}
