package compat

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
)

func groups(t *testing.T) *armresources.ResourceGroupsClient {
	c, err := armresources.NewResourceGroupsClient(sub(), env.Operator(t), env.ARMOptions())
	must(t, err)
	return c
}

// newGroup creates a resource group that is deleted when the test ends.
func newGroup(t *testing.T, prefix string, tags map[string]*string) string {
	t.Helper()
	name := uniq(t, prefix)
	_, err := groups(t).CreateOrUpdate(ctx(t), name, armresources.ResourceGroup{Location: to.Ptr("westeurope"), Tags: tags}, nil)
	must(t, err)
	t.Cleanup(func() {
		if p, err := groups(t).BeginDelete(ctx(t), name, nil); err == nil {
			p.PollUntilDone(ctx(t), nil)
		}
	})
	return name
}

func TestSubscriptions(t *testing.T) {
	c, err := armsubscriptions.NewClient(env.Operator(t), env.ARMOptions())
	must(t, err)
	pager := c.NewListPager(nil)
	var found bool
	for pager.More() {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, s := range page.Value {
			if *s.SubscriptionID == sub() {
				found = true
				if *s.TenantID != env.Profile.TenantID || *s.State != armsubscriptions.SubscriptionStateEnabled {
					t.Errorf("subscription %+v", s)
				}
			}
		}
	}
	if !found {
		t.Fatalf("default subscription %s not listed", sub())
	}
	got, err := c.Get(ctx(t), sub(), nil)
	must(t, err)
	if *got.ID != "/subscriptions/"+sub() || *got.DisplayName != "mimic" {
		t.Fatalf("Get subscription: %+v", got.Subscription)
	}
	_, err = c.Get(ctx(t), "00000000-0000-0000-0000-000000000999", nil)
	if status, code := respErr(t, err); status != 403 && code != "SubscriptionNotFound" {
		t.Fatalf("unknown subscription: %d %s", status, code)
	}
}

func TestResourceGroupLifecycle(t *testing.T) {
	rg := groups(t)
	name := uniq(t, "Rg-Life")
	created, err := rg.CreateOrUpdate(ctx(t), name, armresources.ResourceGroup{Location: to.Ptr("West Europe"), Tags: map[string]*string{"env": to.Ptr("dev")}}, nil)
	must(t, err)
	if *created.Location != "westeurope" || *created.Name != name || *created.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("created %+v", created.ResourceGroup)
	}
	if *created.ID != rgID(name) {
		t.Fatalf("id %s", *created.ID)
	}
	// Names are case-insensitive and keep their first casing.
	got, err := rg.Get(ctx(t), strings.ToUpper(name), nil)
	must(t, err)
	if *got.Name != name {
		t.Fatalf("Get with other casing returned name %q", *got.Name)
	}
	exists, err := rg.CheckExistence(ctx(t), name, nil)
	must(t, err)
	if !exists.Success {
		t.Fatal("CheckExistence = false for an existing group")
	}
	upd, err := rg.Update(ctx(t), name, armresources.ResourceGroupPatchable{Tags: map[string]*string{"env": to.Ptr("prod"), "team": to.Ptr("a")}}, nil)
	must(t, err)
	if *upd.Tags["env"] != "prod" || *upd.Tags["team"] != "a" {
		t.Fatalf("tags after update: %v", upd.Tags)
	}

	// A group holds resources; listing by tag finds it.
	ids, err := armmsi.NewUserAssignedIdentitiesClient(sub(), env.Operator(t), env.ARMOptions())
	must(t, err)
	_, err = ids.CreateOrUpdate(ctx(t), name, "inside", armmsi.Identity{Location: to.Ptr("westeurope")}, nil)
	must(t, err)
	pager := rg.NewListPager(&armresources.ResourceGroupsClientListOptions{Filter: to.Ptr("tagName eq 'team' and tagValue eq 'a'")})
	var listed []string
	for pager.More() {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, g := range page.Value {
			listed = append(listed, *g.Name)
		}
	}
	if len(listed) != 1 || listed[0] != name {
		t.Fatalf("groups tagged team=a: %v", listed)
	}

	// Deleting the group deletes what it holds.
	poller, err := rg.BeginDelete(ctx(t), name, nil)
	must(t, err)
	_, err = poller.PollUntilDone(ctx(t), nil)
	must(t, err)
	exists, err = rg.CheckExistence(ctx(t), name, nil)
	must(t, err)
	if exists.Success {
		t.Fatal("group still exists after delete")
	}
	_, err = ids.Get(ctx(t), name, "inside", nil)
	if status, code := respErr(t, err); status != 404 || code != "ResourceGroupNotFound" {
		t.Fatalf("identity in a deleted group: %d %s", status, code)
	}
	_, err = rg.Get(ctx(t), name, nil)
	if status, code := respErr(t, err); status != 404 || code != "ResourceGroupNotFound" {
		t.Fatalf("deleted group: %d %s", status, code)
	}
}

func TestResourceGroupErrors(t *testing.T) {
	rg := groups(t)
	_, err := rg.CreateOrUpdate(ctx(t), uniq(t, "rg"), armresources.ResourceGroup{Location: to.Ptr("atlantis")}, nil)
	if status, code := respErr(t, err); status != 400 || code != "LocationNotAvailableForResourceType" {
		t.Fatalf("bad location: %d %s", status, code)
	}
	_, err = rg.CreateOrUpdate(ctx(t), uniq(t, "rg"), armresources.ResourceGroup{}, nil)
	if status, code := respErr(t, err); status != 400 || code != "LocationRequired" {
		t.Fatalf("no location: %d %s", status, code)
	}
	_, err = rg.CreateOrUpdate(ctx(t), "bad*name", armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil)
	if status, code := respErr(t, err); status != 400 || code != "InvalidResourceGroup" {
		t.Fatalf("bad name: %d %s", status, code)
	}
	_, err = rg.CreateOrUpdate(ctx(t), uniq(t, "rg"), armresources.ResourceGroup{Location: to.Ptr("eastus"), Tags: map[string]*string{"a/b": to.Ptr("x")}}, nil)
	if status, code := respErr(t, err); status != 400 || code != "InvalidTagNameCharacters" {
		t.Fatalf("bad tag: %d %s", status, code)
	}
	p, err := rg.BeginDelete(ctx(t), uniq(t, "never"), nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx(t), nil)
	}
	if status, code := respErr(t, err); status != 404 || code != "ResourceGroupNotFound" {
		t.Fatalf("delete missing group: %d %s", status, code)
	}
}

// rawARM sends a request with the operator's token and returns status and body.
func rawARM(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	tok := operatorToken(t)
	req, err := http.NewRequestWithContext(ctx(t), method, env.URL(path), strings.NewReader(body))
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := env.HTTP().Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestARMRequestErrors(t *testing.T) {
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"missing api-version", "GET", "/subscriptions/" + sub() + "/resourcegroups", "", 400, "MissingApiVersionParameter"},
		{"unsupported api-version", "GET", "/subscriptions/" + sub() + "/resourcegroups?api-version=1999-01-01", "", 400, "NoRegisteredProviderFound"},
		{"malformed subscription", "GET", "/subscriptions/not-a-guid/resourcegroups?api-version=2021-04-01", "", 400, "InvalidSubscriptionId"},
		{"unknown namespace", "GET", "/subscriptions/" + sub() + "/resourceGroups/x/providers/Microsoft.Nope/things/y?api-version=2021-04-01", "", 404, "InvalidResourceNamespace"},
		{"unknown type", "GET", "/subscriptions/" + sub() + "/resourceGroups/x/providers/Microsoft.Compute/virtualMachinez/y?api-version=2024-11-01", "", 404, "InvalidResourceType"},
		{"bad json", "PUT", "/subscriptions/" + sub() + "/resourcegroups/x?api-version=2021-04-01", "{not json", 400, "InvalidRequestContent"},
		{"method", "POST", "/subscriptions/" + sub() + "/resourcegroups/x?api-version=2021-04-01", "", 405, "MethodNotAllowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := rawARM(t, tc.method, tc.path, tc.body)
			if status != tc.status || !strings.Contains(body, `"code":"`+tc.code+`"`) {
				t.Fatalf("%s %s = %d %s; want %d %s", tc.method, tc.path, status, body, tc.status, tc.code)
			}
		})
	}
}

func TestTagsAndGenericListing(t *testing.T) {
	rgName := newGroup(t, "rg-tags", nil)
	ids, err := armmsi.NewUserAssignedIdentitiesClient(sub(), env.Operator(t), env.ARMOptions())
	must(t, err)
	ident, err := ids.CreateOrUpdate(ctx(t), rgName, "tagged", armmsi.Identity{Location: to.Ptr("westeurope")}, nil)
	must(t, err)
	tags, err := armresources.NewTagsClient(sub(), env.Operator(t), env.ARMOptions())
	must(t, err)
	_, err = tags.CreateOrUpdateAtScope(ctx(t), *ident.ID, armresources.TagsResource{Properties: &armresources.Tags{Tags: map[string]*string{"owner": to.Ptr("team-a")}}}, nil)
	must(t, err)
	_, err = tags.UpdateAtScope(ctx(t), *ident.ID, armresources.TagsPatchResource{
		Operation:  to.Ptr(armresources.TagsPatchOperationMerge),
		Properties: &armresources.Tags{Tags: map[string]*string{"env": to.Ptr("dev")}},
	}, nil)
	must(t, err)
	got, err := tags.GetAtScope(ctx(t), *ident.ID, nil)
	must(t, err)
	if len(got.Properties.Tags) != 2 || *got.Properties.Tags["owner"] != "team-a" || *got.Properties.Tags["env"] != "dev" {
		t.Fatalf("tags: %v", got.Properties.Tags)
	}
	again, err := ids.Get(ctx(t), rgName, "tagged", nil)
	must(t, err)
	if *again.Tags["env"] != "dev" {
		t.Fatalf("identity tags after tags API: %v", again.Tags)
	}

	rc, err := armresources.NewClient(sub(), env.Operator(t), env.ARMOptions())
	must(t, err)
	pager := rc.NewListByResourceGroupPager(rgName, &armresources.ClientListByResourceGroupOptions{Filter: to.Ptr("resourceType eq 'Microsoft.ManagedIdentity/userAssignedIdentities'")})
	var names []string
	for pager.More() {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, r := range page.Value {
			names = append(names, *r.Name)
			if *r.Type != "Microsoft.ManagedIdentity/userAssignedIdentities" || *r.Tags["owner"] != "team-a" {
				t.Errorf("generic resource %+v", r)
			}
		}
	}
	if len(names) != 1 || names[0] != "tagged" {
		t.Fatalf("generic listing: %v", names)
	}
	byID, err := rc.GetByID(ctx(t), *ident.ID, "2023-01-31", nil)
	must(t, err)
	if *byID.Name != "tagged" {
		t.Fatalf("GetByID: %+v", byID)
	}
}
