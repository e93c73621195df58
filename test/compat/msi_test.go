package compat

import (
	"fmt"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
)

func identities(t *testing.T) *armmsi.UserAssignedIdentitiesClient {
	c, err := armmsi.NewUserAssignedIdentitiesClient(sub(), env.Operator(t), env.ARMOptions())
	must(t, err)
	return c
}

func ficClient(t *testing.T) *armmsi.FederatedIdentityCredentialsClient {
	c, err := armmsi.NewFederatedIdentityCredentialsClient(sub(), env.Operator(t), env.ARMOptions())
	must(t, err)
	return c
}

func newIdentity(t *testing.T, rg, name string) armmsi.Identity {
	t.Helper()
	r, err := identities(t).CreateOrUpdate(ctx(t), rg, name, armmsi.Identity{Location: to.Ptr("westeurope")}, nil)
	must(t, err)
	return r.Identity
}

func TestUserAssignedIdentityLifecycle(t *testing.T) {
	rg := newGroup(t, "rg-msi", nil)
	c := identities(t)
	created, err := c.CreateOrUpdate(ctx(t), rg, "App-Id", armmsi.Identity{Location: to.Ptr("westeurope"), Tags: map[string]*string{"env": to.Ptr("dev")}}, nil)
	must(t, err)
	p := created.Properties
	if p == nil || p.ClientID == nil || p.PrincipalID == nil || *p.TenantID != env.Profile.TenantID {
		t.Fatalf("created identity properties %+v", p)
	}
	if *created.ID != rgID(rg)+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/App-Id" || *created.Type != "Microsoft.ManagedIdentity/userAssignedIdentities" {
		t.Fatalf("created %s %s", *created.ID, *created.Type)
	}
	// An update keeps the principal.
	upd, err := c.Update(ctx(t), rg, "app-id", armmsi.IdentityUpdate{Tags: map[string]*string{"env": to.Ptr("prod")}}, nil)
	must(t, err)
	if *upd.Properties.PrincipalID != *p.PrincipalID || *upd.Properties.ClientID != *p.ClientID || *upd.Tags["env"] != "prod" || *upd.Name != "App-Id" {
		t.Fatalf("update changed the identity: %+v %+v", upd.Properties, upd.Tags)
	}
	replaced, err := c.CreateOrUpdate(ctx(t), rg, "App-Id", armmsi.Identity{Location: to.Ptr("westeurope")}, nil)
	must(t, err)
	if *replaced.Properties.PrincipalID != *p.PrincipalID || len(replaced.Tags) != 0 {
		t.Fatalf("PUT must replace tags and keep the principal: %+v", replaced)
	}
	newIdentity(t, rg, "second")
	var names []string
	for pager := c.NewListByResourceGroupPager(rg, nil); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, i := range page.Value {
			names = append(names, *i.Name)
		}
	}
	if fmt.Sprint(names) != "[App-Id second]" {
		t.Fatalf("list by group: %v", names)
	}
	inSub := 0
	for pager := c.NewListBySubscriptionPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, i := range page.Value {
			if strings.Contains(*i.ID, "/resourceGroups/"+rg+"/") {
				inSub++
			}
		}
	}
	if inSub != 2 {
		t.Fatalf("list by subscription found %d of this group's identities", inSub)
	}
	_, err = c.Delete(ctx(t), rg, "App-Id", nil)
	must(t, err)
	_, err = c.Get(ctx(t), rg, "App-Id", nil)
	if status, code := respErr(t, err); status != 404 || code != "ResourceNotFound" {
		t.Fatalf("deleted identity: %d %s", status, code)
	}
	// Re-creating the name gives a new principal.
	again := newIdentity(t, rg, "App-Id")
	if *again.Properties.PrincipalID == *p.PrincipalID || *again.Properties.ClientID == *p.ClientID {
		t.Fatal("a re-created identity kept the old principal")
	}
}

func TestUserAssignedIdentityErrors(t *testing.T) {
	rg := newGroup(t, "rg-msierr", nil)
	c := identities(t)
	_, err := c.CreateOrUpdate(ctx(t), rg, "-bad", armmsi.Identity{Location: to.Ptr("westeurope")}, nil)
	if status, code := respErr(t, err); status != 400 || code != "InvalidResourceName" {
		t.Fatalf("bad name: %d %s", status, code)
	}
	_, err = c.CreateOrUpdate(ctx(t), "no-such-group-x", "id", armmsi.Identity{Location: to.Ptr("westeurope")}, nil)
	if status, code := respErr(t, err); status != 404 || code != "ResourceGroupNotFound" {
		t.Fatalf("missing group: %d %s", status, code)
	}
	_, err = c.Get(ctx(t), rg, "absent", nil)
	if status, code := respErr(t, err); status != 404 || code != "ResourceNotFound" {
		t.Fatalf("missing identity: %d %s", status, code)
	}
	newIdentity(t, rg, "loc")
	_, err = c.CreateOrUpdate(ctx(t), rg, "loc", armmsi.Identity{Location: to.Ptr("eastus")}, nil)
	if status, code := respErr(t, err); status != 409 || code != "InvalidResourceLocation" {
		t.Fatalf("location change: %d %s", status, code)
	}
}

func TestFederatedIdentityCredentials(t *testing.T) {
	rg := newGroup(t, "rg-fic", nil)
	newIdentity(t, rg, "ci-id")
	c := ficClient(t)
	fic := func(issuer, subject string, aud ...string) armmsi.FederatedIdentityCredential {
		p := &armmsi.FederatedIdentityCredentialProperties{Issuer: to.Ptr(issuer), Subject: to.Ptr(subject)}
		for _, a := range aud {
			p.Audiences = append(p.Audiences, to.Ptr(a))
		}
		return armmsi.FederatedIdentityCredential{Properties: p}
	}
	got, err := c.CreateOrUpdate(ctx(t), rg, "ci-id", "github-main", fic("https://token.actions.githubusercontent.com", "repo:org/app:ref:refs/heads/main", "api://AzureADTokenExchange"), nil)
	must(t, err)
	if *got.Properties.Issuer != "https://token.actions.githubusercontent.com" || *got.Properties.Audiences[0] != "api://AzureADTokenExchange" ||
		*got.Type != "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials" {
		t.Fatalf("created %+v", got)
	}
	cases := []struct {
		name string
		body armmsi.FederatedIdentityCredential
		code string
	}{
		{"x", fic("https://issuer.example", "s1", "api://AzureADTokenExchange"), "BadRequest"},
		{"http-issuer", fic("http://issuer.example", "s1", "api://AzureADTokenExchange"), "BadRequest"},
		{"no-subject", fic("https://issuer.example", "", "api://AzureADTokenExchange"), "BadRequest"},
		{"two-audiences", fic("https://issuer.example", "s1", "a", "b"), "BadRequest"},
		{"duplicate", fic("https://token.actions.githubusercontent.com", "repo:org/app:ref:refs/heads/main", "api://AzureADTokenExchange"), "Conflict"},
	}
	for _, tc := range cases {
		_, err := c.CreateOrUpdate(ctx(t), rg, "ci-id", tc.name, tc.body, nil)
		if _, code := respErr(t, err); code != tc.code {
			t.Errorf("%s: code %s, want %s", tc.name, code, tc.code)
		}
	}
	for i := 1; i < 20; i++ {
		_, err := c.CreateOrUpdate(ctx(t), rg, "ci-id", fmt.Sprintf("fic-%02d", i), fic("https://issuer.example", fmt.Sprintf("s%d", i), "api://AzureADTokenExchange"), nil)
		must(t, err)
	}
	_, err = c.CreateOrUpdate(ctx(t), rg, "ci-id", "one-too-many", fic("https://issuer.example", "s21", "api://AzureADTokenExchange"), nil)
	if status, _ := respErr(t, err); status != 400 {
		t.Fatalf("21st credential: status %d", status)
	}
	n := 0
	for pager := c.NewListPager(rg, "ci-id", nil); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		n += len(page.Value)
	}
	if n != 20 {
		t.Fatalf("listed %d credentials, want 20", n)
	}
	_, err = c.Delete(ctx(t), rg, "ci-id", "github-main", nil)
	must(t, err)
	_, err = c.Get(ctx(t), rg, "ci-id", "github-main", nil)
	if status, _ := respErr(t, err); status != 404 {
		t.Fatalf("deleted credential: %d", status)
	}
	_, err = c.CreateOrUpdate(ctx(t), rg, "no-such-identity", "f1", fic("https://issuer.example", "s", "api://AzureADTokenExchange"), nil)
	if status, _ := respErr(t, err); status != 404 {
		t.Fatalf("credential of a missing identity: %d", status)
	}
	// Deleting the identity deletes its credentials.
	_, err = identities(t).Delete(ctx(t), rg, "ci-id", nil)
	must(t, err)
	newIdentity(t, rg, "ci-id")
	for pager := c.NewListPager(rg, "ci-id", nil); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		if len(page.Value) != 0 {
			t.Fatalf("a re-created identity inherited %d credentials", len(page.Value))
		}
	}
}

// armmsiSystem reads a resource's system-assigned identity through
// {id}/providers/Microsoft.ManagedIdentity/identities/default and returns
// its principal id.
func armmsiSystem(t *testing.T, resourceID string) (string, error) {
	t.Helper()
	c, err := armmsi.NewSystemAssignedIdentitiesClient(env.Operator(t), env.ARMOptions())
	must(t, err)
	r, err := c.GetByScope(ctx(t), resourceID, nil)
	if err != nil {
		return "", err
	}
	if *r.Name != "default" || *r.Properties.TenantID != env.Profile.TenantID || r.Properties.ClientID == nil {
		t.Fatalf("system identity %+v", r)
	}
	return *r.Properties.PrincipalID, nil
}
