package arm

import "testing"

func TestCollapseSlashes(t *testing.T) {
	for in, want := range map[string]string{
		"/subscriptions/s/resourcegroups/rg/providers/Microsoft.Compute//virtualMachines/vm1": "/subscriptions/s/resourcegroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
		"//subscriptions///s": "/subscriptions/s",
		"/subscriptions/s":    "/subscriptions/s",
	} {
		if got := collapseSlashes(in); got != want {
			t.Errorf("collapseSlashes(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestProviderPath(t *testing.T) {
	for _, tc := range []struct {
		path, sub, ns string
		ok            bool
	}{
		{"/subscriptions/s/providers/Microsoft.Compute", "s", "Microsoft.Compute", true},
		{"/subscriptions/s/providers", "s", "", true},
		{"/subscriptions/s/providers/Microsoft.Compute/virtualMachines", "", "", false},
		{"/subscriptions/s/resourceGroups/rg", "", "", false},
		{"/providers/Microsoft.Web/functionAppStacks", "", "", false},
	} {
		sub, ns, ok := providerPath(tc.path)
		if sub != tc.sub || ns != tc.ns || ok != tc.ok {
			t.Errorf("providerPath(%q) = %q %q %v", tc.path, sub, ns, ok)
		}
	}
}
