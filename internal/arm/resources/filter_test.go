package resources

import "testing"

func TestParseFilterResourceGroup(t *testing.T) {
	f, err := parseFilter("resourceGroup eq 'rg-1' and resourceType eq 'Microsoft.Web/sites'", "resourcegroup")
	if err != nil || f["resourcegroup"] != "rg-1" || f["resourcetype"] != "Microsoft.Web/sites" {
		t.Fatalf("%v %v", f, err)
	}
	// Only the listings that take it.
	if _, err := parseFilter("resourceGroup eq 'rg-1'"); err == nil {
		t.Fatal("resourceGroup accepted where it is not supported")
	}
}
