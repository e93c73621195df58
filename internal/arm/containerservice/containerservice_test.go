package containerservice

import (
	"testing"

	"github.com/mimic-emu/mimic/internal/arm"
)

func TestIssuerURL(t *testing.T) {
	url := IssuerURLFor("westeurope", "tid", "gid")
	if url != "https://westeurope.oic.prod-aks.azure.com/tid/gid/" {
		t.Fatalf("issuer %s", url)
	}
	doc := arm.Doc{
		"properties": arm.Doc{"oidcIssuerProfile": arm.Doc{"enabled": false}},
		arm.Private:  arm.Doc{"issuerId": "gid", "issuerURL": url},
	}
	if IssuerURL(doc) != "" || IssuerID(doc) != "gid" {
		t.Errorf("disabled issuer: %q %q", IssuerURL(doc), IssuerID(doc))
	}
	doc.Obj("properties").Obj("oidcIssuerProfile")["enabled"] = true
	if IssuerURL(doc) != url {
		t.Errorf("enabled issuer: %q", IssuerURL(doc))
	}
	reg := arm.NewRegistry()
	Register(reg)
	if _, ok := (&arm.Call{}).Present(reg.Lookup(ClusterType), doc)[arm.Private]; ok {
		t.Error("present shows private state")
	}
}

func TestDefaultDNSPrefix(t *testing.T) {
	for in, want := range map[string]string{"my_cluster": "mycluster", "-a-": "a", "___": "aks"} {
		if got := defaultDNSPrefix(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
