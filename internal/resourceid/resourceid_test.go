package resourceid

import (
	"errors"
	"testing"
)

var parseCases = []struct {
	name    string
	in      string
	str     string // expected String(); "" means same as in
	typ     string
	resName string
	parent  string
	wantErr bool
}{
	{name: "root", in: "/", str: "/", parent: "/"},
	{name: "subscription", in: "/subscriptions/S1", typ: "Microsoft.Resources/subscriptions", resName: "S1", parent: "/"},
	{name: "group keyword casing", in: "/SUBSCRIPTIONS/S1/resourcegroups/Rg-A", str: "/subscriptions/S1/resourceGroups/Rg-A", typ: "Microsoft.Resources/resourceGroups", resName: "Rg-A", parent: "/subscriptions/S1"},
	{name: "identity", in: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/Id1", typ: "Microsoft.ManagedIdentity/userAssignedIdentities", resName: "Id1", parent: "/subscriptions/s/resourceGroups/rg"},
	{name: "child", in: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1/federatedIdentityCredentials/f1", typ: "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials", resName: "f1", parent: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"},
	{name: "extension", in: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v/providers/Microsoft.Authorization/roleAssignments/ra", typ: "Microsoft.Authorization/roleAssignments", resName: "ra", parent: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v"},
	{name: "tenant level", in: "/providers/Microsoft.Authorization/roleDefinitions/abc", typ: "Microsoft.Authorization/roleDefinitions", resName: "abc", parent: "/"},
	{name: "subscription provider", in: "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/x", typ: "Microsoft.Authorization/roleAssignments", resName: "x", parent: "/subscriptions/s"},
	{name: "trailing slash", in: "/subscriptions/s/", str: "/subscriptions/s", typ: "Microsoft.Resources/subscriptions", resName: "s", parent: "/"},
	{name: "empty", in: "", wantErr: true},
	{name: "relative", in: "subscriptions/s", wantErr: true},
	{name: "double slash", in: "/subscriptions//resourceGroups/x", wantErr: true},
	{name: "dangling type", in: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines", wantErr: true},
	{name: "bare provider", in: "/subscriptions/s/providers/Microsoft.Compute", wantErr: true},
	{name: "garbage keyword", in: "/subscriptions/s/foo/bar", wantErr: true},
	{name: "control char", in: "/subscriptions/s\n", wantErr: true},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := Parse(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Parse(%q) = %v, want error", tc.in, id)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("error %v does not match ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			want := tc.str
			if want == "" {
				want = tc.in
			}
			if got := id.String(); got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
			if got := id.Type(); got != tc.typ {
				t.Errorf("Type() = %q, want %q", got, tc.typ)
			}
			if got := id.Name(); got != tc.resName {
				t.Errorf("Name() = %q, want %q", got, tc.resName)
			}
			if got := id.Parent().String(); got != tc.parent {
				t.Errorf("Parent() = %q, want %q", got, tc.parent)
			}
		})
	}
}

func TestParsePathTails(t *testing.T) {
	cases := []struct {
		in, tail, base, tailType string
	}{
		{"/subscriptions", "subscriptions", "/", ""},
		{"/subscriptions/s/resourcegroups", "resourcegroups", "/subscriptions/s", ""},
		{"/subscriptions/s/resourceGroups/rg/resources", "resources", "/subscriptions/s/resourceGroups/rg", ""},
		{"/subscriptions/s/providers/Microsoft.ManagedIdentity/userAssignedIdentities", "userAssignedIdentities", "/subscriptions/s", "Microsoft.ManagedIdentity/userAssignedIdentities"},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i/federatedIdentityCredentials", "federatedIdentityCredentials", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i", "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/listKeys", "listKeys", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a", "Microsoft.Storage/storageAccounts/listKeys"},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v/providers/Microsoft.Authorization/roleAssignments", "roleAssignments", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v", "Microsoft.Authorization/roleAssignments"},
		{"/subscriptions/s/resourceGroups/rg", "", "/subscriptions/s/resourceGroups/rg", ""},
	}
	for _, tc := range cases {
		p, err := ParsePath(tc.in)
		if err != nil {
			t.Fatalf("ParsePath(%q): %v", tc.in, err)
		}
		if p.Tail != tc.tail {
			t.Errorf("ParsePath(%q).Tail = %q, want %q", tc.in, p.Tail, tc.tail)
		}
		if got := p.Base().String(); got != tc.base {
			t.Errorf("ParsePath(%q).Base() = %q, want %q", tc.in, got, tc.base)
		}
		if got := p.TailType(); got != tc.tailType {
			t.Errorf("ParsePath(%q).TailType() = %q, want %q", tc.in, got, tc.tailType)
		}
	}
}

func TestContainsWholeSegments(t *testing.T) {
	a := MustParse("/subscriptions/s/resourceGroups/rg-a")
	cases := []struct {
		other string
		want  bool
	}{
		{"/subscriptions/s/resourceGroups/rg-a", true},
		{"/subscriptions/S/RESOURCEGROUPS/RG-A", true},
		{"/subscriptions/s/resourceGroups/rg-a/providers/Microsoft.KeyVault/vaults/v", true},
		{"/subscriptions/s/resourceGroups/rg-ab", false},
		{"/subscriptions/s/resourceGroups/rg-ab/providers/Microsoft.KeyVault/vaults/v", false},
		{"/subscriptions/s", false},
	}
	for _, tc := range cases {
		if got := a.Contains(MustParse(tc.other)); got != tc.want {
			t.Errorf("%s contains %s = %v, want %v", a, tc.other, got, tc.want)
		}
	}
	if !(ID{}).Contains(a) {
		t.Error("root must contain everything")
	}
}

func TestNavigation(t *testing.T) {
	vm := MustParse("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1")
	sys := vm.Extension("Microsoft.ManagedIdentity", "identities", "default")
	if got, want := sys.String(), vm.String()+"/providers/Microsoft.ManagedIdentity/identities/default"; got != want {
		t.Fatalf("Extension = %q, want %q", got, want)
	}
	if !sys.Target().Equal(vm) {
		t.Fatalf("Target = %s", sys.Target())
	}
	fic := MustParse("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i").Child("federatedIdentityCredentials", "f")
	if fic.Type() != "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials" {
		t.Fatalf("Child type = %q", fic.Type())
	}
	if got := fic.TopLevel().Name(); got != "i" {
		t.Fatalf("TopLevel name = %q", got)
	}
	if got := fic.ResourceGroupID().String(); got != "/subscriptions/s/resourceGroups/rg" {
		t.Fatalf("ResourceGroupID = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.in)
	}
	f.Add("/subscriptions/s/resourceGroups/rg/providers/A.B/c/d/e/f/providers/X.Y/z/w")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		base := p.Base()
		// The display form must reparse to the same key.
		again, err := Parse(base.String())
		if err != nil {
			t.Fatalf("Parse(%q) of Base of %q: %v", base.String(), s, err)
		}
		if again.Key() != base.Key() {
			t.Fatalf("round trip of %q: %q != %q", s, again.Key(), base.Key())
		}
		if !base.Parent().Contains(base) {
			t.Fatalf("parent of %q does not contain it", base)
		}
		_ = base.Type()
		_ = base.Name()
	})
}
