package compat

import (
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
)

func roleDefinitions(t *testing.T) *armauthorization.RoleDefinitionsClient {
	c, err := armauthorization.NewRoleDefinitionsClient(env.Operator(t), env.ARMOptions())
	must(t, err)
	return c
}

func TestBuiltinRoleDefinitions(t *testing.T) {
	scope := "/subscriptions/" + sub()
	c := roleDefinitions(t)
	var all, builtin int
	for pager := c.NewListPager(scope, nil); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, d := range page.Value {
			all++
			if *d.Properties.RoleType == "BuiltInRole" {
				builtin++
			}
		}
	}
	if builtin != 433 {
		t.Fatalf("%d built-in roles listed (of %d), want Azure's 433", builtin, all)
	}
	var found []*armauthorization.RoleDefinition
	for pager := c.NewListPager(scope, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("roleName eq 'Key Vault Secrets User'")}); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		found = append(found, page.Value...)
	}
	if len(found) != 1 || *found[0].Name != kvSecretsUserRole || *found[0].ID != scope+"/providers/Microsoft.Authorization/roleDefinitions/"+kvSecretsUserRole {
		t.Fatalf("Key Vault Secrets User: %+v", found)
	}
	perms := found[0].Properties.Permissions[0]
	var hasGet bool
	for _, a := range perms.DataActions {
		hasGet = hasGet || *a == "Microsoft.KeyVault/vaults/secrets/getSecret/action"
	}
	if !hasGet {
		t.Fatalf("Key Vault Secrets User data actions: %v", perms.DataActions)
	}
	owner, err := c.Get(ctx(t), scope, "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", nil)
	must(t, err)
	if *owner.Properties.RoleName != "Owner" || *owner.Properties.Permissions[0].Actions[0] != "*" {
		t.Fatalf("Owner: %+v", owner.Properties)
	}
	_, err = c.Get(ctx(t), scope, "00000000-1111-2222-3333-444444444444", nil)
	if status, code := respErr(t, err); status != 404 || code != "RoleDefinitionDoesNotExist" {
		t.Fatalf("unknown role: %d %s", status, code)
	}
}

func TestRoleAssignmentLifecycle(t *testing.T) {
	rg := newGroup(t, "rg-ra", nil)
	ident := newIdentity(t, rg, "reader")
	pid := *ident.Properties.PrincipalID
	scope := rgID(rg)
	c := roleAssignments(t)
	created := assign(t, scope, readerRole, pid)
	if *created.Properties.Scope != scope || *created.Properties.PrincipalID != pid || *created.Properties.PrincipalType != "ServicePrincipal" ||
		!strings.HasSuffix(*created.Properties.RoleDefinitionID, "/"+readerRole) || *created.Type != "Microsoft.Authorization/roleAssignments" {
		t.Fatalf("created %+v", created.Properties)
	}
	got, err := c.GetByID(ctx(t), *created.ID, nil)
	must(t, err)
	if *got.Name != *created.Name {
		t.Fatalf("GetByID: %+v", got)
	}
	// The same principal, role and scope under another name: 409.
	_, err = c.Create(ctx(t), scope, newGUID(), armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr("/subscriptions/" + sub() + "/providers/Microsoft.Authorization/roleDefinitions/" + readerRole),
		PrincipalID:      to.Ptr(pid),
	}}, nil)
	if status, code := respErr(t, err); status != 409 || code != "RoleAssignmentExists" {
		t.Fatalf("duplicate: %d %s", status, code)
	}

	// Listing: at scope, for the principal, from the subscription.
	listed := func(scope string, filter *string) []string {
		var ids []string
		for pager := c.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: filter}); pager.More(); {
			page, err := pager.NextPage(ctx(t))
			must(t, err)
			for _, a := range page.Value {
				if *a.Properties.PrincipalID == pid {
					ids = append(ids, *a.Name)
				}
			}
		}
		return ids
	}
	subScope := "/subscriptions/" + sub()
	if ids := listed(scope, to.Ptr("atScope()")); len(ids) != 1 {
		t.Fatalf("atScope() at the group: %v", ids)
	}
	if ids := listed(subScope, to.Ptr("atScope()")); len(ids) != 0 {
		t.Fatalf("atScope() at the subscription must not include assignments below it: %v", ids)
	}
	if ids := listed(subScope, to.Ptr("principalId eq '"+pid+"'")); len(ids) != 1 {
		t.Fatalf("principalId filter at the subscription: %v", ids)
	}
	if ids := listed(subScope, to.Ptr("assignedTo('"+pid+"')")); len(ids) != 1 {
		t.Fatalf("assignedTo filter: %v", ids)
	}
	// The operator's Owner at the subscription shows at the group's atScope().
	var ownerSeen bool
	for pager := c.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr("atScope()")}); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, a := range page.Value {
			ownerSeen = ownerSeen || *a.Properties.PrincipalID == env.Profile.Operator.ObjectID
		}
	}
	if !ownerSeen {
		t.Fatal("inherited Owner assignment not listed at the group")
	}
	_, err = c.Delete(ctx(t), scope, *created.Name, nil)
	must(t, err)
	if ids := listed(scope, nil); len(ids) != 0 {
		t.Fatalf("deleted assignment still listed: %v", ids)
	}
	_, err = c.Get(ctx(t), scope, *created.Name, nil)
	if status, _ := respErr(t, err); status != 404 {
		t.Fatalf("deleted assignment: %d", status)
	}
}

func TestRoleAssignmentErrors(t *testing.T) {
	rg := newGroup(t, "rg-raerr", nil)
	scope := rgID(rg)
	ident := newIdentity(t, rg, "xid")
	c := roleAssignments(t)
	create := func(name, role, principal string, ptype *armauthorization.PrincipalType, cond *string) error {
		props := &armauthorization.RoleAssignmentProperties{
			RoleDefinitionID: to.Ptr("/subscriptions/" + sub() + "/providers/Microsoft.Authorization/roleDefinitions/" + role),
			PrincipalID:      to.Ptr(principal), PrincipalType: ptype, Condition: cond,
		}
		if cond != nil {
			props.ConditionVersion = to.Ptr("2.0")
		}
		_, err := c.Create(ctx(t), scope, name, armauthorization.RoleAssignmentCreateParameters{Properties: props}, nil)
		return err
	}
	unknown := "12345678-1234-1234-1234-123456789012"
	cases := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"name not a guid", create("not-a-guid", readerRole, *ident.Properties.PrincipalID, nil, nil), 400, "InvalidRoleAssignmentId"},
		{"unknown role", create(newGUID(), "00000000-1111-2222-3333-444444444444", *ident.Properties.PrincipalID, nil, nil), 400, "RoleDefinitionDoesNotExist"},
		{"unknown principal", create(newGUID(), readerRole, unknown, nil, nil), 400, "PrincipalNotFound"},
		{"wrong principal type", create(newGUID(), readerRole, *ident.Properties.PrincipalID, to.Ptr(armauthorization.PrincipalTypeUser), nil), 400, "UnmatchedPrincipalType"},
		{"bad condition", create(newGUID(), "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", *ident.Properties.PrincipalID, nil, to.Ptr("@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals")), 400, "InvalidConditionExpression"},
		{"unevaluable condition", create(newGUID(), "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", *ident.Properties.PrincipalID, nil, to.Ptr("@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:env<$key_case_sensitive$>] StringEquals 'x'")), 400, "InvalidConditionExpression"},
	}
	for _, tc := range cases {
		if status, code := respErr(t, tc.err); status != tc.status || code != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, status, code, tc.status, tc.code)
		}
	}
	// With principalType given, an unknown principal is accepted (Azure's
	// answer to replication delay), and the assignment is an orphan.
	if err := create(newGUID(), readerRole, unknown, to.Ptr(armauthorization.PrincipalTypeServicePrincipal), nil); err != nil {
		t.Fatalf("unknown principal with principalType: %v", err)
	}
	// A valid condition on a storage container is accepted.
	cond := "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'logs'))"
	if err := create(newGUID(), "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", *ident.Properties.PrincipalID, nil, to.Ptr(cond)); err != nil {
		t.Fatalf("valid condition refused: %v", err)
	}
}

func TestOrphanedAssignments(t *testing.T) {
	rg := newGroup(t, "rg-orphan", nil)
	ident := newIdentity(t, rg, "doomed")
	pid := *ident.Properties.PrincipalID
	a := assign(t, rgID(rg), readerRole, pid)
	_, err := identities(t).Delete(ctx(t), rg, "doomed", nil)
	must(t, err)
	// The assignment stays, marked as orphaned.
	got, err := roleAssignments(t).GetByID(ctx(t), *a.ID, nil)
	must(t, err)
	if *got.Properties.PrincipalType != "Unknown" || *got.Properties.PrincipalID != pid {
		t.Fatalf("orphaned assignment: %+v", got.Properties)
	}
	var seen bool
	for pager := roleAssignments(t).NewListForScopePager(rgID(rg), nil); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, x := range page.Value {
			if *x.Name == *a.Name {
				seen = *x.Properties.PrincipalType == "Unknown"
			}
		}
	}
	if !seen {
		t.Fatal("orphaned assignment not listed as Unknown")
	}
	// A re-created identity of the same name is a new principal: the
	// orphan does not grant it anything.
	again := newIdentity(t, rg, "doomed")
	if *again.Properties.PrincipalID == pid {
		t.Fatal("same principal after re-creation")
	}
}

func TestCustomRoles(t *testing.T) {
	rg := newGroup(t, "rg-custom", nil)
	scope := rgID(rg)
	c := roleDefinitions(t)
	guid := newGUID()
	name := uniq(t, "Secret Reader")
	def, err := c.CreateOrUpdate(ctx(t), scope, guid, armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
		RoleName: to.Ptr(name), Description: to.Ptr("reads secrets"),
		Permissions: []*armauthorization.Permission{{
			Actions:     []*string{to.Ptr("Microsoft.KeyVault/vaults/read")},
			DataActions: []*string{to.Ptr("Microsoft.KeyVault/vaults/secrets/*")}, NotDataActions: []*string{to.Ptr("Microsoft.KeyVault/vaults/secrets/delete")},
		}},
		AssignableScopes: []*string{to.Ptr(scope)},
	}}, nil)
	must(t, err)
	if *def.Properties.RoleType != "CustomRole" || *def.Name != guid {
		t.Fatalf("custom role %+v", def.Properties)
	}
	var customs []string
	for pager := c.NewListPager(scope, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("type eq 'CustomRole'")}); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, d := range page.Value {
			customs = append(customs, *d.Properties.RoleName)
		}
	}
	if len(customs) == 0 || !strings.Contains(strings.Join(customs, ","), name) {
		t.Fatalf("custom roles listed: %v", customs)
	}
	_, err = c.CreateOrUpdate(ctx(t), scope, newGUID(), armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
		RoleName: to.Ptr(name), Permissions: []*armauthorization.Permission{{Actions: []*string{to.Ptr("*/read")}}}, AssignableScopes: []*string{to.Ptr(scope)},
	}}, nil)
	if status, code := respErr(t, err); status != 409 || code != "RoleDefinitionWithSameNameExists" {
		t.Fatalf("duplicate role name: %d %s", status, code)
	}
	ident := newIdentity(t, rg, "custom-user")
	a := assign(t, scope, guid, *ident.Properties.PrincipalID)
	_, err = c.Delete(ctx(t), scope, guid, nil)
	if status, code := respErr(t, err); status != 409 || code != "RoleDefinitionHasAssignments" {
		t.Fatalf("delete a role in use: %d %s", status, code)
	}
	_, err = roleAssignments(t).DeleteByID(ctx(t), *a.ID, nil)
	must(t, err)
	_, err = c.Delete(ctx(t), scope, guid, nil)
	must(t, err)
	_, err = c.Get(ctx(t), scope, guid, nil)
	if status, _ := respErr(t, err); status != 404 {
		t.Fatalf("deleted custom role: %d", status)
	}
}

func TestPermissionsListing(t *testing.T) {
	rg := newGroup(t, "rg-perm", nil)
	c, err := armauthorization.NewPermissionsClient(sub(), env.Operator(t), env.ARMOptions())
	must(t, err)
	var actions []string
	for pager := c.NewListForResourceGroupPager(rg, nil); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, p := range page.Value {
			for _, a := range p.Actions {
				actions = append(actions, *a)
			}
		}
	}
	if len(actions) != 1 || actions[0] != "*" {
		t.Fatalf("operator's actions at a group: %v", actions)
	}
}
