package compat

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

const ownerRole = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"

// TestDenyAssignmentOverridesOwner loads a deny assignment from a file at
// start: it overrides Owner, is listed through ARM, is named by `mimic role
// check`, and the refusals are in the access log.
func TestDenyAssignmentOverridesOwner(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	first, err := Start(env.Binary, home)
	must(t, err)
	must(t, first.Stop())
	denyID := newGUID()
	deny := fmt.Sprintf(`[{"name":%q,"properties":{"denyAssignmentName":"protect locked","description":"nobody reads the locked group",
		"scope":"/subscriptions/%s/resourceGroups/locked",
		"permissions":[{"actions":["Microsoft.Resources/subscriptions/resourceGroups/read"],"notActions":[],"dataActions":[],"notDataActions":[]}],
		"principals":[{"id":"00000000-0000-0000-0000-000000000000","type":"SystemDefined"}],
		"excludePrincipals":[{"id":%q,"type":"ServicePrincipal"}],"doNotApplyToChildScopes":false}}]`,
		denyID, first.Profile.SubscriptionID, first.Profile.Operator.ObjectID)
	file := filepath.Join(dir, "deny.json")
	must(t, os.WriteFile(file, []byte(deny), 0o600))
	other, err := Start(env.Binary, home, "--deny-assignments", file)
	must(t, err)
	defer other.Stop()
	saved := env
	env = other
	defer func() { env = saved }()

	_, err = groups(t).CreateOrUpdate(ctx(t), "locked", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil)
	must(t, err)
	open := newGroup(t, "rg-open", nil)
	ident := newIdentity(t, open, "denied-id")
	createVM(t, open, "jump", &armcompute.VirtualMachineIdentity{Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: uaiMap(*ident.ID)})
	assign(t, "/subscriptions/"+sub(), ownerRole, *ident.Properties.PrincipalID)
	tok := runCommandToken(t, open, "jump", nil)["access_token"]
	asIdentity, err := armresources.NewResourceGroupsClient(sub(), StaticToken(tok), env.ARMOptions())
	must(t, err)
	if _, err := asIdentity.Get(ctx(t), open, nil); err != nil {
		t.Fatalf("Owner reading an ordinary group: %v", err)
	}
	_, err = asIdentity.Get(ctx(t), "locked", nil)
	if status, code := respErr(t, err); status != 403 || code != "AuthorizationFailed" {
		t.Fatalf("Owner reading the locked group: %d %s", status, code)
	}
	// The operator is excluded.
	if _, err := groups(t).Get(ctx(t), "locked", nil); err != nil {
		t.Fatalf("the excluded operator: %v", err)
	}
	// Listed through ARM.
	denies, err := armauthorization.NewDenyAssignmentsClient(sub(), env.Operator(t), env.ARMOptions())
	must(t, err)
	var names []string
	for pager := denies.NewListForResourceGroupPager("locked", nil); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, d := range page.Value {
			names = append(names, *d.Name+"="+*d.Properties.DenyAssignmentName)
		}
	}
	if len(names) != 1 || names[0] != denyID+"=protect locked" {
		t.Fatalf("deny assignments of the group: %v", names)
	}
	// mimic role check names the deny assignment.
	out, err := exec.CommandContext(ctx(t), env.Binary, "role", "check", "--home", env.Home, "--assignee", *ident.Properties.PrincipalID,
		"--action", "Microsoft.Resources/subscriptions/resourceGroups/read", "--scope", "/subscriptions/"+sub()+"/resourceGroups/locked", "-o", "json").Output()
	must(t, err)
	var check map[string]any
	must(t, json.Unmarshal(out, &check))
	if check["allowed"] != false || !strings.HasSuffix(fmt.Sprint(check["denyAssignment"]), denyID) {
		t.Fatalf("role check: %s", out)
	}
	out, err = exec.CommandContext(ctx(t), env.Binary, "role", "check", "--home", env.Home, "--assignee", *ident.Properties.PrincipalID,
		"--action", "Microsoft.Resources/subscriptions/resourceGroups/read", "--scope", rgID(open)).Output()
	must(t, err)
	if !strings.HasPrefix(string(out), "ALLOWED") || !strings.Contains(string(out), "Owner") {
		t.Fatalf("role check on the open group: %s", out)
	}
	out, err = exec.CommandContext(ctx(t), env.Binary, "role", "check", "--home", env.Home, "--assignee", *ident.Properties.PrincipalID,
		"--action", "Microsoft.Resources/subscriptions/resourceGroups/read", "--scope", rgID(open), "-o", "json").Output()
	must(t, err)
	var granted map[string]any
	must(t, json.Unmarshal(out, &granted))
	a, _ := granted["roleAssignment"].(map[string]any)
	if granted["allowed"] != true || granted["role"] != "Owner" || !strings.Contains(fmt.Sprint(a["id"]), "/roleAssignments/") ||
		a["principalId"] != *ident.Properties.PrincipalID || a["roleDefinitionId"] == nil || a["scope"] == nil {
		t.Fatalf("role check -o json on the open group: %s", out)
	}
	// The access log has both decisions.
	out, err = exec.CommandContext(ctx(t), env.Binary, "logs", "access", "--home", env.Home, "--identity", *ident.ID, "-o", "json").Output()
	must(t, err)
	var entries []map[string]any
	must(t, json.Unmarshal(out, &entries))
	var allowed, refused bool
	for _, e := range entries {
		if e["plane"] != "arm" || e["action"] != "Microsoft.Resources/subscriptions/resourceGroups/read" {
			continue
		}
		if e["allowed"] == true && e["role"] == "Owner" && e["status"] == float64(200) {
			allowed = true
		}
		if e["allowed"] == false && strings.HasSuffix(fmt.Sprint(e["denyAssignment"]), denyID) && e["status"] == float64(403) {
			refused = true
		}
	}
	if !allowed || !refused {
		t.Fatalf("access log: %s", out)
	}
	// JSON Lines export.
	out, err = exec.CommandContext(ctx(t), env.Binary, "logs", "access", "--home", env.Home, "--identity", *ident.ID, "-o", "jsonl").Output()
	must(t, err)
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != len(entries) || !json.Valid([]byte(lines[0])) {
		t.Fatalf("jsonl: %d lines for %d entries", len(lines), len(entries))
	}
}

func TestDenyAssignmentFileErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"not json":      "nope",
		"no name":       `[{"properties":{"scope":"/","principals":[{"id":"00000000-0000-0000-0000-000000000000"}],"permissions":[{"actions":["*"]}]}}]`,
		"no principals": `[{"name":"6b3c8d58-7f23-4b6f-a3bb-2a8e1e0e7a11","properties":{"scope":"/","permissions":[{"actions":["*"]}]}}]`,
	} {
		file := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		must(t, os.WriteFile(file, []byte(body), 0o600))
		cmd := exec.CommandContext(ctx(t), env.Binary, "up", "--home", filepath.Join(dir, "h-"+strings.ReplaceAll(name, " ", "-")), "--port", "0", "--proxy-port", "0", "--deny-assignments", file)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), file) {
			t.Errorf("%s: %v %s", name, err, out)
		}
	}
}
