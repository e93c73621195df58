package accesslog

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/roles"
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/store/sqlstore"
)

// TestWriterExplainsDecisions: the engine decides without explaining a
// refusal; the log's writer works the explanation out, so each entry still
// names the grant, the nearest miss, or the deny assignment, with the
// engine's reason.
func TestWriterExplainsDecisions(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const (
		owner  = "11111111-1111-1111-1111-111111111111"
		reader = "22222222-2222-2222-2222-222222222222"
		sub    = "/subscriptions/00000000-0000-0000-0000-00000000000a"
	)
	blob := sub + "/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/acct/blobServices/default/containers/c1"
	e, err := authz.New(authz.BuiltinRoles(), []authz.Assignment{
		{ID: "owner-sub", PrincipalID: owner, RoleID: roles.Owner, Scope: sub},
		{ID: "reader-sub", PrincipalID: reader, RoleID: roles.StorageBlobDataReader, Scope: sub},
	}, []authz.DenyAssignment{{ID: "deny-c1", Name: "no c1", Scope: blob, Principals: []string{reader},
		Permissions: []authz.Permission{{DataActions: []string{"*"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	const read = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
	l := New(s, time.Now)
	defer l.Close()
	cases := []struct {
		principal, action, scope string
		data                     bool
		// the entry
		allowed                bool
		assignment, role, deny string
		reason                 string
	}{
		{owner, "Microsoft.Storage/storageAccounts/read", sub, false, true, "owner-sub", "Owner", "", "granted by role assignment owner-sub"},
		{owner, read, blob, true, false, "owner-sub", "Owner", "", "only in Actions (control plane)"},
		{reader, read, blob, true, false, "", "", "deny-c1", "blocked by deny assignment deny-c1"},
		{reader, read, sub + "/resourceGroups/other", true, true, "reader-sub", "Storage Blob Data Reader", "", "granted by role assignment reader-sub"},
		{reader, read, "not/a/scope", true, false, "", "", "", `invalid scope "not/a/scope"`},
	}
	for _, c := range cases {
		d := e.Check(authz.Request{Principals: []string{c.principal}, Action: c.action, DataAction: c.data, Scope: c.scope})
		l.Record(store.Access{Plane: Blob, PrincipalID: c.principal, Action: c.action, Scope: c.scope, DataAction: c.data}, d)
	}
	got, err := l.Query(ctx, store.AccessFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cases) {
		t.Fatalf("%d entries, want %d", len(got), len(cases))
	}
	for i, c := range cases {
		g := got[i]
		if g.Allowed != c.allowed || g.Assignment != c.assignment || g.Role != c.role || g.Deny != c.deny || !strings.Contains(g.Reason, c.reason) {
			t.Errorf("entry %d: allowed %v, assignment %q, role %q, deny %q, reason %q; want %v, %q, %q, %q, a reason with %q",
				i, g.Allowed, g.Assignment, g.Role, g.Deny, g.Reason, c.allowed, c.assignment, c.role, c.deny, c.reason)
		}
	}
}
