package roles

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestCatalogue(t *testing.T) {
	all := Builtin()
	if len(all) != 433 {
		t.Fatalf("got %d roles, want 433", len(all))
	}
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i, d := range all {
		if !guid.MatchString(d.ID) {
			t.Errorf("%s: id %q is not a lower-case GUID", d.RoleName, d.ID)
		}
		if seen[d.ID] {
			t.Errorf("duplicate id %s", d.ID)
		}
		seen[d.ID] = true
		if d.Type != BuiltInRole {
			t.Errorf("%s: type %q", d.RoleName, d.Type)
		}
		if d.RoleName == "" || len(d.Permissions) == 0 || len(d.AssignableScopes) == 0 || d.Category == "" {
			t.Errorf("%s: incomplete definition %+v", d.ID, d)
		}
		if i > 0 && strings.ToLower(all[i-1].RoleName) > strings.ToLower(d.RoleName) {
			t.Errorf("not sorted: %q before %q", all[i-1].RoleName, d.RoleName)
		}
		for _, p := range d.Permissions {
			if p.Actions == nil || p.NotActions == nil || p.DataActions == nil || p.NotDataActions == nil {
				t.Errorf("%s: nil permission list", d.RoleName)
			}
			if (p.Condition == "") != (p.ConditionVersion == "") {
				t.Errorf("%s: condition without version or the reverse", d.RoleName)
			}
		}
		if got, ok := ByID(strings.ToUpper(d.ID)); !ok || got != d {
			t.Errorf("ByID(%s) failed", strings.ToUpper(d.ID))
		}
		if got, ok := ByName(strings.ToUpper(d.RoleName)); !ok || got != d {
			t.Errorf("ByName(%q) failed", d.RoleName)
		}
	}
}

func TestWellKnown(t *testing.T) {
	for id, name := range map[string]string{
		Owner:                               "Owner",
		Contributor:                         "Contributor",
		Reader:                              "Reader",
		UserAccessAdministrator:             "User Access Administrator",
		RoleBasedAccessControlAdministrator: "Role Based Access Control Administrator",
		KeyVaultAdministrator:               "Key Vault Administrator",
		KeyVaultSecretsOfficer:              "Key Vault Secrets Officer",
		KeyVaultSecretsUser:                 "Key Vault Secrets User",
		StorageBlobDataReader:               "Storage Blob Data Reader",
		StorageBlobDataContributor:          "Storage Blob Data Contributor",
		StorageBlobDataOwner:                "Storage Blob Data Owner",
		ManagedIdentityOperator:             "Managed Identity Operator",
		ManagedIdentityContributor:          "Managed Identity Contributor",
		VirtualMachineContributor:           "Virtual Machine Contributor",
		WebsiteContributor:                  "Website Contributor",
	} {
		d, ok := ByID(id)
		if !ok {
			t.Errorf("ByID(%s): not found (want %s)", id, name)
			continue
		}
		if d.RoleName != name {
			t.Errorf("ByID(%s) = %q, want %q", id, d.RoleName, name)
		}
		if n, ok := ByName(name); !ok || n.ID != id {
			t.Errorf("ByName(%q) mismatch", name)
		}
	}
}

func TestOwnerAndFriends(t *testing.T) {
	owner, _ := ByID(Owner)
	if len(owner.Permissions) != 1 || !slices.Equal(owner.Permissions[0].Actions, []string{"*"}) {
		t.Errorf("Owner permissions = %+v, want actions [*]", owner.Permissions)
	}
	if len(owner.Permissions[0].DataActions) != 0 {
		t.Errorf("Owner has data actions %v", owner.Permissions[0].DataActions)
	}
	contrib, _ := ByID(Contributor)
	for _, na := range []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write"} {
		if !slices.Contains(contrib.Permissions[0].NotActions, na) {
			t.Errorf("Contributor notActions lack %s", na)
		}
	}
	user, _ := ByID(KeyVaultSecretsUser)
	if !slices.Contains(user.Permissions[0].DataActions, "Microsoft.KeyVault/vaults/secrets/getSecret/action") {
		t.Errorf("Key Vault Secrets User lacks getSecret: %+v", user.Permissions)
	}
	if _, ok := ByID("/providers/Microsoft.Authorization/roleDefinitions/" + Owner); !ok {
		t.Error("ByID does not accept a full role definition id")
	}
	if _, ok := ByName("no such role"); ok {
		t.Error("ByName found a role that does not exist")
	}
}

func TestPermissionJSON(t *testing.T) {
	owner, _ := ByID(Owner)
	b, err := json.Marshal(owner.Permissions[0])
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"actions":["*"],"notActions":[],"dataActions":[],"notDataActions":[]}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

func TestEmbeddedIsVerbatim(t *testing.T) {
	// The provenance block must be intact: source and one commit per file.
	var meta struct {
		Source  string            `json:"source"`
		Commits map[string]string `json:"commits"`
		Count   int               `json:"count"`
	}
	if err := json.Unmarshal(catalogueJSON, &meta); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(meta.Source, "MicrosoftDocs/azure-docs") || len(meta.Commits) != 21 || meta.Count != 433 {
		t.Errorf("provenance = %+v", meta)
	}
}
