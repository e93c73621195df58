package authz

import (
	"errors"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/mimic-emu/mimic/internal/roles"
)

const (
	blobRead     = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
	blobWrite    = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
	docCondition = "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'} AND NOT SubOperationMatches{'Blob.List'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'blobs-example-container'))"
)

func container(name string) map[string]string {
	return map[string]string{AttrContainerName: name}
}

func TestConditionEval(t *testing.T) {
	cases := []struct {
		name string
		expr string
		req  Request
		want bool
	}{
		{"doc: read in the container", docCondition, Request{Action: blobRead, Attributes: container("blobs-example-container")}, true},
		{"doc: read elsewhere", docCondition, Request{Action: blobRead, Attributes: container("other")}, false},
		{"doc: read, attribute missing", docCondition, Request{Action: blobRead}, false},
		{"doc: list is not restricted", docCondition, Request{Action: blobRead, SubOperation: "Blob.List", Attributes: container("other")}, true},
		{"doc: write is not restricted", docCondition, Request{Action: blobWrite}, true},
		{"doc: attribute key case-insensitive", docCondition, Request{Action: blobRead, Attributes: map[string]string{strings.ToUpper(AttrContainerName): "blobs-example-container"}}, true},
		{"request form finds resource value", "@Request[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'c1'", Request{Attributes: container("c1")}, true},
		{"StringEquals is case-sensitive", "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'C1'", Request{Attributes: container("c1")}, false},
		{"StringEqualsIgnoreCase", "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] stringequalsignorecase 'C1'", Request{Attributes: container("c1")}, true},
		{"StringNotEquals", "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringNotEquals 'c1'", Request{Attributes: container("c2")}, true},
		{"StringNotEquals, missing stays closed", "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringNotEquals 'c1'", Request{}, false},
		{"NOT of missing stays closed", "NOT (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'c1')", Request{}, false},
		{"StringStartsWith", "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringStartsWith 'logs/'", Request{Attributes: map[string]string{AttrBlobPath: "logs/a.txt"}}, true},
		{"StringNotStartsWith", "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringNotStartsWith 'logs/'", Request{Attributes: map[string]string{AttrBlobPath: "logs/a.txt"}}, false},
		{"StringLike", "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLike 'a*c?'", Request{Attributes: map[string]string{AttrBlobPath: "abcd"}}, true},
		{"StringLike case", "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLike 'A*C?'", Request{Attributes: map[string]string{AttrBlobPath: "abcd"}}, false},
		{"StringLikeIgnoreCase", "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLikeIgnoreCase 'A*C?'", Request{Attributes: map[string]string{AttrBlobPath: "abcd"}}, true},
		{"StringLike anchored", "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLike 'a*c'", Request{Attributes: map[string]string{AttrBlobPath: "abcd"}}, false},
		{"StringLike escaped star", `@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLike 'a\*'`, Request{Attributes: map[string]string{AttrBlobPath: "ab"}}, false},
		{"StringNotLike", "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringNotLike '*.txt'", Request{Attributes: map[string]string{AttrBlobPath: "a.bin"}}, true},
		{"&& and ||", "ActionMatches{'*/read'} && (SubOperationMatches{'Blob.List'} || ActionMatches{'x'})", Request{Action: "a/read", SubOperation: "blob.list"}, true},
		{"ForAnyOfAnyValues strings", "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] ForAnyOfAnyValues:StringEquals {'a', 'b'}", Request{Attributes: container("b")}, true},
		{"ForAnyOfAllValues strings", "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] ForAnyOfAllValues:StringNotEquals {'a', 'b'}", Request{Attributes: container("b")}, false},
		{"GuidEquals bare set, id and dashes ignored", "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {4bad4d9e2a13488894bbc8432f6f3040, " + roles.Reader + "}",
			Request{Attributes: map[string]string{AttrRequestRoleDefinitionID: "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/4BAD4D9E-2A13-4888-94BB-C8432F6F3040"}}, true},
		{"GuidNotEquals", "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] GuidNotEquals '" + roles.Owner + "'", Request{Attributes: map[string]string{AttrRequestRoleDefinitionID: roles.Owner}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCondition(tc.expr, "2.0")
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Eval(tc.req); got != tc.want {
				t.Errorf("Eval = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBuiltinRoleConditionsParse(t *testing.T) {
	n := 0
	for _, d := range roles.Builtin() {
		for _, p := range d.Permissions {
			if p.Condition == "" {
				continue
			}
			n++
			c, err := ParseCondition(p.Condition, p.ConditionVersion)
			if err != nil {
				t.Errorf("%s: %v", d.RoleName, err)
				continue
			}
			// Reading is not constrained by these conditions.
			if !c.Eval(Request{Action: "Microsoft.Authorization/roleAssignments/read"}) {
				t.Errorf("%s: condition blocks a read", d.RoleName)
			}
			// Writing an assignment without saying which role fails closed.
			if c.Eval(Request{Action: "Microsoft.Authorization/roleAssignments/write"}) {
				t.Errorf("%s: condition allows an unconstrained write", d.RoleName)
			}
		}
	}
	if n == 0 {
		t.Fatal("no built-in role has a condition; the test is stale")
	}
	kvdaa, _ := roles.ByName("Key Vault Data Access Administrator")
	c, err := ParseCondition(kvdaa.Permissions[0].Condition, "2.0")
	if err != nil {
		t.Fatal(err)
	}
	write := func(role string) Request {
		return Request{Action: "Microsoft.Authorization/roleAssignments/write", Attributes: map[string]string{AttrRequestRoleDefinitionID: role}}
	}
	if !c.Eval(write(roles.KeyVaultSecretsUser)) {
		t.Error("Key Vault Data Access Administrator cannot assign Key Vault Secrets User")
	}
	if c.Eval(write(roles.Owner)) {
		t.Error("Key Vault Data Access Administrator can assign Owner")
	}
}

func TestParseConditionErrors(t *testing.T) {
	const cn = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name]"
	cases := []struct {
		expr, version string
		pos           int
		msg           string
	}{
		{"", "2.0", 1, "invalid condition: empty condition"},
		{cn + " StringEquals 'x'", "1.0", 0, `invalid condition: unsupported condition version "1.0" (only "2.0" is supported)`},
		{"@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>] StringEquals 'x'", "2.0", 1,
			`invalid condition: unknown attribute "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>]" at position 1`},
		{cn + " StringSoundsLike 'x'", "2.0", 75, `invalid condition: unknown operator "StringSoundsLike" at position 75`},
		{cn + " ForAnyOfAnyValues:StringSoundsLike {'x'}", "2.0", 93, `invalid condition: unknown operator "ForAnyOfAnyValues:StringSoundsLike" at position 93`},
		{cn + " NumericEquals 3", "2.0", 75, `invalid condition: unknown operator "NumericEquals" at position 75`},
		{cn + " GuidEquals 'x'", "2.0", 75, `invalid condition: operator "GuidEquals" does not apply to string attribute ` + cn + ` at position 75`},
		{cn + " StringEquals {'a', 'b'}", "2.0", 88, `invalid condition: operator "StringEquals" takes a single value; use ForAnyOfAnyValues:StringEquals for a set at position 88`},
		{cn + " StringEquals 'x", "2.0", 88, `invalid condition: unterminated string literal at position 88`},
		{cn + " StringEquals x", "2.0", 88, `invalid condition: expected a quoted string value but found "x" at position 88`},
		{"Exists " + cn, "2.0", 1, `invalid condition: unexpected "Exists": expected an attribute, a function, NOT or '(' at position 1`},
		{"ResourceMatches{'x'}", "2.0", 1, `invalid condition: unknown function "ResourceMatches" at position 1`},
		{"ActionMatches('x')", "2.0", 14, `invalid condition: expected '{' after ActionMatches but found "(" at position 14`},
		{"(ActionMatches{'x'}", "2.0", 20, `invalid condition: expected ')' but found end of condition at position 20`},
		{"ActionMatches{'x'} AND ActionMatches{'y'} OR ActionMatches{'z'}", "2.0", 43, `invalid condition: "OR" mixed with AND without parentheses; group them explicitly at position 43`},
		{"ActionMatches{'x'})", "2.0", 19, `invalid condition: unexpected ")" after the end of the expression at position 19`},
		{"ActionMatches{'x'} AND", "2.0", 23, `invalid condition: unexpected end of condition: expected an expression at position 23`},
		{"ActionMatches{'x'} # comment", "2.0", 20, `invalid condition: unexpected character "#" at position 20`},
		{"@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {not-a-guid}", "2.0", 98, `invalid condition: invalid GUID "not-a-guid" at position 98`},
		{"@Resource", "2.0", 1, `invalid condition: malformed attribute "@Resource" (want @Source[name]) at position 1`},
	}
	for _, tc := range cases {
		_, err := ParseCondition(tc.expr, tc.version)
		var ce *ConditionError
		if !errors.As(err, &ce) {
			t.Errorf("ParseCondition(%q): err = %v, want a *ConditionError", tc.expr, err)
			continue
		}
		if err.Error() != tc.msg || ce.Pos != tc.pos {
			t.Errorf("ParseCondition(%q):\n got %q (pos %d)\nwant %q (pos %d)", tc.expr, err.Error(), ce.Pos, tc.msg, tc.pos)
		}
	}
}

func TestConditionEvalDoesNotAllocate(t *testing.T) {
	c, err := ParseCondition(docCondition, "2.0")
	if err != nil {
		t.Fatal(err)
	}
	r := Request{Action: blobRead, Attributes: container("blobs-example-container")}
	if n := testing.AllocsPerRun(100, func() { c.eval(&r, nil) }); n != 0 {
		t.Errorf("eval allocates %v times", n)
	}
}

// FuzzParseCondition checks that the parser never panics, that it either
// returns a condition or a *ConditionError with a position inside the input,
// and that what it accepts evaluates without panicking.
func FuzzParseCondition(f *testing.F) {
	f.Add(docCondition)
	f.Add("@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {4bad4d9e2a13488894bbc8432f6f3040}")
	f.Add(`@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLikeIgnoreCase 'a\*?*'`)
	f.Add("!(ActionMatches{'*'} || SubOperationMatches{'Blob.List'}) && NOT ActionMatches{'x'}")
	for _, d := range roles.Builtin() {
		for _, p := range d.Permissions {
			if p.Condition != "" {
				f.Add(p.Condition)
			}
		}
	}
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := ParseCondition(expr, "2.0")
		if err != nil {
			var ce *ConditionError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConditionError", err)
			}
			if ce.Pos < 1 || ce.Pos > len([]rune(expr))+1 {
				t.Fatalf("position %d outside %q", ce.Pos, expr)
			}
			return
		}
		for _, v := range []string{"", "a", "blobs-example-container", roles.Owner, "logs/x.log"} {
			c.Eval(Request{Action: blobRead, SubOperation: "Blob.List", Attributes: map[string]string{
				AttrContainerName: v, AttrBlobPath: v, AttrRequestRoleDefinitionID: v, AttrRequestPrincipalType: v,
			}})
		}
	})
}

func TestLikeAgainstRegexp(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	gen := func(alpha string, n int) string {
		b := make([]byte, rng.IntN(n+1))
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	for range 20000 {
		pat, s := gen(`ab*?\`, 7), gen("abAB*?", 7)
		var re strings.Builder
		re.WriteString(`(?s)\A`)
		for i := 0; i < len(pat); i++ {
			switch c := pat[i]; {
			case c == '\\' && i+1 < len(pat) && (pat[i+1] == '*' || pat[i+1] == '?'):
				re.WriteString(regexp.QuoteMeta(pat[i+1 : i+2]))
				i++
			case c == '*':
				re.WriteString(".*")
			case c == '?':
				re.WriteString(".")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString(`\z`)
		want := regexp.MustCompile(re.String()).MatchString(s)
		l := compileLike(pat)
		if got := l.match(s, false); got != want {
			t.Fatalf("like %q on %q = %v, regexp %v", pat, s, got, want)
		}
		wantFold := regexp.MustCompile("(?i)" + re.String()).MatchString(s)
		if got := l.match(s, true); got != wantFold {
			t.Fatalf("like (ignore case) %q on %q = %v, regexp %v", pat, s, got, wantFold)
		}
	}
}
