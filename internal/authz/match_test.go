package authz

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

var matchCases = []struct {
	pattern, action string
	want            bool
}{
	{"*", "Microsoft.Storage/storageAccounts/read", true},
	{"*", "", true},
	{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", true},
	{"Microsoft.ManagedIdentity/userAssignedIdentities/*/read", "Microsoft.ManagedIdentity/userAssignedIdentities/read", true},
	{"Microsoft.ManagedIdentity/userAssignedIdentities/*/read", "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read", true},
	{"Microsoft.ManagedIdentity/userAssignedIdentities/*/read", "Microsoft.ManagedIdentity/userAssignedIdentitiesread", false},
	{"a/*/*/b", "a/b", true},
	{"a/*/*/b", "a/x/b", true},
	{"Microsoft.Storage/*/read", "Microsoft.Storage/storageAccounts/read", true},
	{"Microsoft.Storage/*/read", "microsoft.storage/storageaccounts/blobservices/containers/read", true},
	{"Microsoft.Storage/*/read", "Microsoft.Storage/storageAccounts/write", false},
	{"Microsoft.Storage/*/read", "Microsoft.Storage/read", true},
	{"*/read", "Microsoft.Compute/virtualMachines/read", true},
	{"*/read", "Microsoft.Compute/virtualMachines/READ", true},
	{"*/read", "Microsoft.Compute/virtualMachines/readx", false},
	{"*/read", "/read", true},
	{"Microsoft.KeyVault/vaults/secrets/*", "Microsoft.KeyVault/vaults/secrets/getSecret/action", true},
	{"Microsoft.KeyVault/vaults/secrets/*", "Microsoft.KeyVault/vaults/secretsx", false},
	{"Microsoft.KeyVault/vaults/secrets/*", "Microsoft.KeyVault/vaults/secrets/", true},
	{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write", true},
	{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/read", false},
	{"Microsoft.Authorization/*/Write", "Microsoft.Authorization//write", true},
	{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/write", true},
	{"Microsoft.Web/sites/Read", "microsoft.web/sites/read", true},
	{"Microsoft.Web/sites/Read", "microsoft.web/sites/reads", false},
	{"Microsoft.Web/sites/Read", "microsoft.web/sites/rea", false},
	{"Microsoft.*/*/keys/*/read", "Microsoft.KeyVault/vaults/keys/k1/versions/read", true},
	{"Microsoft.*/*/keys/*/read", "Microsoft.KeyVault/vaults/secrets/s/read", false},
	{"a*b*c", "abc", true},
	{"a*b*c", "aXbYc", true},
	{"a*b*c", "acb", false},
	{"a*b*c", "ab", false},
	{"a*a", "a", false},
	{"a*a", "aa", true},
	{"**", "anything", true},
	{"a**b", "ab", true},
	{"*a*", "bab", true},
	{"*a*", "bbb", false},
	{"", "", true},
	{"", "x", false},
	{"x?y", "xzy", false}, // '?' is literal in action patterns
	{"x?y", "x?y", true},
}

func TestMatch(t *testing.T) {
	for _, tc := range matchCases {
		if got := Match(tc.pattern, tc.action); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.action, got, tc.want)
		}
		if got := referenceMatch(tc.pattern, tc.action); got != tc.want {
			t.Errorf("referenceMatch(%q, %q) = %v, want %v (the table is wrong)", tc.pattern, tc.action, got, tc.want)
		}
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	pats := []Pattern{CompilePattern("Microsoft.*/*/keys/*/read"), CompilePattern("*/read"), CompilePattern("Microsoft.Web/sites/Read")}
	n := testing.AllocsPerRun(100, func() {
		for i := range pats {
			pats[i].Match("Microsoft.KeyVault/vaults/keys/k1/versions/READ")
		}
	})
	if n != 0 {
		t.Errorf("Match allocates %v times", n)
	}
}

// referenceMatch is the obvious implementation: a regexp of the ASCII
// lower-cased pattern with each '*' turned into ".*".
func referenceMatch(pattern, action string) bool {
	low := lowerASCII(pattern)
	for strings.Contains(low, "**") {
		low = strings.ReplaceAll(low, "**", "*")
	}
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	collapsed := 0
	for i := 0; i < len(low); i++ {
		switch c := low[i]; {
		case c == '*' && i > 0 && low[i-1] == '/' && i+1 < len(low) && low[i+1] == '/' && collapsed < maxCollapse:
			// A whole-segment '*' may also match no segment.
			b.WriteString(`(?:.*/)?`)
			i++
			collapsed++
		case c == '*':
			b.WriteString(`.*`)
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`\z`)
	return regexp.MustCompile(b.String()).MatchString(lowerASCII(action))
}

func FuzzMatch(f *testing.F) {
	for _, tc := range matchCases {
		f.Add(tc.pattern, tc.action)
	}
	f.Fuzz(func(t *testing.T, pattern, action string) {
		got := Match(pattern, action)
		if !utf8.ValidString(pattern) || !utf8.ValidString(action) || len(pattern) > 200 || len(action) > 4096 {
			return // regexp needs valid UTF-8; bound the reference's cost
		}
		if want := referenceMatch(pattern, action); got != want {
			t.Errorf("Match(%q, %q) = %v, reference says %v", pattern, action, got, want)
		}
	})
}

func TestLowerWord(t *testing.T) {
	// Every byte value in every lane, against lowerByte.
	for b := range 256 {
		for lane := range 8 {
			var in, want [8]byte
			for i := range in {
				in[i], want[i] = 'Q', 'q'
			}
			in[lane], want[lane] = byte(b), lowerByte(byte(b))
			got := lowerWord(load64(string(in[:]), 0))
			if got != load64(string(want[:]), 0) {
				t.Fatalf("lowerWord(%q) = %#x, want %q", in, got, want)
			}
		}
	}
}

func TestKeyContains(t *testing.T) {
	for _, tc := range []struct {
		key, scope string
		want       bool
	}{
		{"/", "/subscriptions/s", true},
		{"/", "/", true},
		{"/subscriptions/s/resourcegroups/rg-a", "/subscriptions/S/resourceGroups/RG-A", true},
		{"/subscriptions/s/resourcegroups/rg-a", "/subscriptions/s/resourceGroups/rg-ab", false},
		{"/subscriptions/s/resourcegroups/rg-a", "/subscriptions/s/resourceGroups/rg-a/providers/Microsoft.KeyVault/vaults/v", true},
		{"/subscriptions/s/resourcegroups/rg-a", "/subscriptions/s/resourceGroups", false},
		{"/subscriptions/s/resourcegroups/grüne", "/subscriptions/s/resourceGroups/GRÜNE/x", true},
	} {
		s, _ := requestScope(tc.scope)
		en := key{scope: tc.key, tail: keyTail(tc.key)}
		if got := en.contains(s); got != tc.want {
			t.Errorf("entry %q contains %q = %v, want %v", tc.key, tc.scope, got, tc.want)
		}
	}
}

func TestLowerInto(t *testing.T) {
	var buf [64]byte
	for n := range 66 {
		s := strings.Repeat("AbZ-09/z", 9)[:n]
		low, ok := lowerInto(&buf, s)
		if n > 64 {
			if ok {
				t.Errorf("lowerInto accepted %d bytes", n)
			}
			continue
		}
		if !ok || string(low) != strings.ToLower(s) {
			t.Errorf("lowerInto(%q) = %q, %v; want %q", s, low, ok, strings.ToLower(s))
		}
	}
	for _, s := range []string{"Grüne", "abcdefghÉ", "\x80", strings.Repeat("a", 20) + "\xff"} {
		if _, ok := lowerInto(&buf, s); ok {
			t.Errorf("lowerInto(%q) took a non-ASCII string", s)
		}
	}
}
