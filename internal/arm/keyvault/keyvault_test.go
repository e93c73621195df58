package keyvault

import (
	"testing"

	"github.com/mimic-emu/mimic/internal/arm"
)

func TestReadAccess(t *testing.T) {
	doc, err := arm.DecodeDoc([]byte(`{"properties":{"tenantId":"t","enableRbacAuthorization":false,"accessPolicies":[
		{"tenantId":"t","objectId":"o1","permissions":{"secrets":["Get","list"]}},
		{"tenantId":"t","objectId":"o2","permissions":{"keys":["all"]}}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	a := ReadAccess(doc)
	if a.RBAC || a.TenantID != "t" || len(a.Policies) != 2 {
		t.Fatalf("access %+v", a)
	}
	if !a.Policies[0].Allows("secrets", "get") || a.Policies[0].Allows("secrets", "set") || a.Policies[0].Allows("keys", "get") {
		t.Errorf("policy o1 %+v", a.Policies[0])
	}
	if !a.Policies[1].Allows("keys", "wrapKey") || a.Policies[1].Allows("secrets", "get") {
		t.Errorf("policy o2 %+v", a.Policies[1])
	}
}

func TestParsePoliciesCanonicalCase(t *testing.T) {
	doc, _ := arm.DecodeDoc([]byte(`{"p":[{"tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","objectId":"11111111-1111-1111-1111-111111111111","permissions":{"keys":["WRAPKEY","get","Get"]}}]}`))
	pols, err := parsePolicies(doc["p"])
	if err != nil {
		t.Fatal(err)
	}
	if got := pols[0].Permissions["keys"]; len(got) != 2 || got[0] != "wrapKey" || got[1] != "get" {
		t.Errorf("keys %v", got)
	}
}
