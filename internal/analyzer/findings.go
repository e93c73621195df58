package analyzer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Findings: the risky patterns of an estate's identity design, each with
// its evidence, the blast radius it adds and the fix as commands.
//
// Cost. Findings computes what it needs once: which computes hold each
// identity, each role's capabilities, and the environments under every
// scope (one bottom-up pass over the scope tree). Blast radii are computed
// only where a rule needs one, at most once per identity: identities whose
// computes or grants span more than one environment, automation
// identities, and holders of write-everything roles. escalation-path runs
// one multi-source search per (environment, team) class of starts that can
// escalate at all (a start holds an identity with a capability role, or is
// an AKS cluster), not one per compute, so 100k computes in a few dozen
// classes cost a few dozen searches. Evidence lists are capped (maxListed)
// with totals beside them, and what they list is picked without sorting
// what they count. Each identity's grant sets, references and scope facts
// are worked out once and shared by its findings, and the radius a
// finding adds is built on marks by epoch rather than maps (findings_added),
// so that a subscription-wide grant costs each finding a pass over arrays.

// Severity ranks findings.
type Severity string

// Severities, lowest first.
const (
	Low      Severity = "low"
	Medium   Severity = "medium"
	High     Severity = "high"
	Critical Severity = "critical"
)

// Severities lists them lowest first.
var Severities = []Severity{Low, Medium, High, Critical}

// Rank orders severities: low 1 … critical 4, unknown 0.
func (s Severity) Rank() int {
	for i, x := range Severities {
		if x == s {
			return i + 1
		}
	}
	return 0
}

// lower returns the next lower severity (low stays low).
func (s Severity) lower() Severity {
	if r := s.Rank(); r > 1 {
		return Severities[r-2]
	}
	return Low
}

// ParseSeverity reads a severity name.
func ParseSeverity(s string) (Severity, error) {
	v := Severity(strings.ToLower(strings.TrimSpace(s)))
	if v.Rank() == 0 {
		return "", fmt.Errorf("unknown severity %q: use low, medium, high or critical", s)
	}
	return v, nil
}

// ParseWindow reads a window: "30d", "12h", "90m", or any Go duration.
func ParseWindow(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("invalid window %q: use a number of days such as 30d, or a duration such as 12h", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid window %q: use a number of days such as 30d, or a duration such as 12h", s)
	}
	return d, nil
}

// FormatWindow writes a window as ParseWindow reads it, in days when whole.
func FormatWindow(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return d.String()
}

// DefaultWindow is how far back unused-permission looks in the access log.
const DefaultWindow = 30 * 24 * time.Hour

// maxListed caps the resources and paths a finding lists; totals say how
// many there are.
const maxListed = 25

// Rule describes one rule: its id, what it finds, and why it has the
// severities it has.
type Rule struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Title           string   `json:"title"`
	Description     string   `json:"description"`
	Rationale       string   `json:"severityRationale"`
	Fix             string   `json:"fix"`
	DefaultSeverity Severity `json:"defaultSeverity"`
}

// Rule ids.
const (
	RuleCrossEnvironment  = "cross-environment-identity"
	RuleSubscriptionScope = "subscription-scope-assignment"
	RuleAutomation        = "automation-identity"
	RuleCrossTeam         = "cross-team-identity"
	RulePrivilegedRole    = "privileged-role"
	RuleEscalationPath    = "escalation-path"
	RuleOrphaned          = "orphaned-assignment"
	RuleUnusedPermission  = "unused-permission"
	RuleNamedAfter        = "identity-named-after-resource"
	RuleMixedSets         = "mixed-permission-sets"
	RuleWithoutOwner      = "identity-without-owner"
)

var rules = []Rule{
	{ID: RuleCrossEnvironment, Name: "CrossEnvironmentIdentity", DefaultSeverity: Critical,
		Title:       "One identity spans more than one environment",
		Description: "An identity is held by computes of more than one environment, or its role assignments reach resources of more than one environment (environments from tags, names or configuration, each with its source). Code in the least protected environment holding it gets everything it grants in the others.",
		Rationale:   "critical when a non-production compute holds it and it reaches production; high when it spans production and non-production otherwise; medium when it spans only non-production environments. Environments are trust boundaries: non-production is deployed to by more people with weaker review, so its compromise must not reach production.",
		Fix:         "Split it: one identity per environment, created in that environment's resource group, granted only what that environment uses, attached to that environment's computes; then retire the shared identity."},
	{ID: RuleSubscriptionScope, Name: "SubscriptionScopeAssignment", DefaultSeverity: Critical,
		Title:       "Role assignment at subscription scope or wider",
		Description: "A managed identity holds a role at a subscription, a management group or the tenant root: it applies to every resource there, present and future.",
		Rationale:   "critical when the role writes everything, assigns roles, or yields code execution on computes (and so every other identity); high when it grants data access or other writes; medium when it only reads. The scope multiplies whatever the role grants across every workload in the subscription.",
		Fix:         "Grant the role at the resource groups or resources the identity uses (from the access log when there is one), then delete the wide assignment."},
	{ID: RuleAutomation, Name: "AutomationIdentity", DefaultSeverity: High,
		Title:       "Identity used by automation (CI/CD)",
		Description: "An identity is federated to an issuer that is not one of the estate's AKS clusters (GitHub Actions, GitLab, Azure DevOps, Terraform Cloud, CircleCI, Bitbucket, Buildkite, or any other external issuer), or, by heuristic, is attached to a compute named or tagged like a runner or build agent, or is itself named like a CI/deploy identity. Its lateral-movement paths come from its blast radius.",
		Rationale:   "critical when its blast radius yields other identities or computes (lateral movement), or when a GitHub subject accepts pull requests; high when it reaches production or holds any write capability; medium otherwise. Heuristic matches (no federation) are one level lower. Whoever can run the pipeline holds the token; CI systems are high-value targets and tokens leak through logs and forks.",
		Fix:         "Pin the federated subject to a protected environment, narrow role scopes to exactly what the pipeline deploys, and keep the identities of the computes it deploys minimal: deploying code to a compute yields that compute's identity."},
	{ID: RuleCrossTeam, Name: "CrossTeamIdentity", DefaultSeverity: High,
		Title:       "One identity used by more than one team",
		Description: "Computes of different teams or owners (team/owner tags, or configuration) hold the same identity: each team's code can act as the other's, and nobody owns its permission set.",
		Rationale:   "high when the identity grants data access or write capabilities (one team's compromise is the other's breach); medium when it only reads. Ownership ambiguity also means a permission change for one team silently changes the other's.",
		Fix:         "Give each team its own identity with the same grants, attach it to that team's computes, and retire the shared one."},
	{ID: RulePrivilegedRole, Name: "PrivilegedRole", DefaultSeverity: High,
		Title:       "Write-everything role held by a managed identity",
		Description: "A managed identity holds Owner, Contributor, User Access Administrator, Role Based Access Control Administrator, or another role that writes everything (actions '*') or writes role assignments. Workloads usually need data-plane roles only.",
		Rationale:   "critical when the role writes role assignments (the identity can grant itself anything); high when it writes everything at a resource group or wider; medium at a single resource. Control-plane write on computes yields their identities, so the role's real reach is larger than its scope.",
		Fix:         "Replace it with the data roles the identity uses at the resources it uses them on (derived from the access log when there is one), then delete it."},
	{ID: RuleEscalationPath, Name: "EscalationPath", DefaultSeverity: High,
		Title:       "Escalation from one environment or team into another's resources",
		Description: "From the computes (and unattached identities) of one environment and team, a path through at least one escalation step (run-command or write on a compute, assigning an identity, writing federated credentials, writing role assignments, listing storage keys, writing a vault's access policies, or a cluster's nodes running any service account) reaches resources, identities or computes of another environment or team.",
		Rationale:   "critical when it reaches production from a non-production (or unlabeled) start; high otherwise. Escalation paths are how a breach of one workload becomes a breach of another team's or environment's data.",
		Fix:         "Remove or narrow the role assignment that grants the escalation step (or move the federation to a cluster of the identity's own environment)."},
	{ID: RuleOrphaned, Name: "OrphanedAssignment", DefaultSeverity: Low,
		Title:       "Role assignment of a deleted principal",
		Description: "A role assignment whose principal no longer exists (principal type Unknown).",
		Rationale:   "medium when the role is privileged (tokens issued before the delete still verify until they expire, with these grants), low otherwise: it grants nothing to new tokens but hides the design's intent and clutters reviews.",
		Fix:         "Delete the assignment."},
	{ID: RuleUnusedPermission, Name: "UnusedPermission", DefaultSeverity: Medium,
		Title:       "Role assignments never exercised in the window",
		Description: "Role assignments of an identity none of whose actions or data actions the identity exercised in the access log within the window (default 30 days).",
		Rationale:   "medium when the assignment and the access log are older than the window (a full window was observed); high when such an unused assignment is privileged (writes everything, assigns roles, or yields computes). When the assignment or the estate is younger than the window, the observation is partial and the severity is one level lower.",
		Fix:         "Delete the unused assignments."},
	{ID: RuleNamedAfter, Name: "IdentityNamedAfterResource", DefaultSeverity: Low,
		Title:       "User-assigned identity named after one resource",
		Description: "A user-assigned identity's name is a compute's name (after common affixes such as id-, mi-, -identity). Used by that compute alone it should be system-assigned (its lifecycle tied to the compute); used by others, its name misleads reviewers about who holds it.",
		Rationale:   "medium when computes other than the named one hold it (the name hides its real blast radius); low when only the named compute holds it.",
		Fix:         "Held only by the named compute: switch to its system-assigned identity, re-grant, detach and delete the user-assigned one. Held by others too: give each of them its own identity."},
	{ID: RuleMixedSets, Name: "MixedPermissionSets", DefaultSeverity: Medium,
		Title:       "Unrelated permission sets on one identity",
		Description: "One identity holds unrelated permission sets: control-plane write (deployment) together with data access (runtime), or data or write access to resources of more than one team.",
		Rationale:   "high when a write capability that yields computes is mixed with data access (whatever deploys can also read the data); medium otherwise. Every holder gets the union of the sets, which cannot be narrowed without splitting the identity.",
		Fix:         "Split it: one identity per permission set, attached to the computes that need that set."},
	{ID: RuleWithoutOwner, Name: "IdentityWithoutOwner", DefaultSeverity: Low,
		Title:       "Identity without an owner",
		Description: "No team or owner label on the identity: no team/owner tag on it, its resource group or subscription, and no configuration.",
		Rationale:   "medium when it is privileged or shared by several computes; low otherwise. Nobody reviews, rotates or retires an identity nobody owns.",
		Fix:         "Tag it (or its resource group) with its owning team."},
}

// Rules returns the rule catalogue, ordered by id.
func Rules() []Rule {
	out := append([]Rule(nil), rules...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// RuleByID returns a rule of the catalogue.
func RuleByID(id string) (Rule, bool) {
	for _, r := range rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

// Finding is one risky pattern.
type Finding struct {
	// ID is a stable fingerprint of the finding: the same pattern on the
	// same resources has the same id from one run to the next.
	ID       string   `json:"id"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	// Resource is the Azure resource id the finding is about: an identity,
	// or a role assignment.
	Resource string   `json:"resource"`
	Message  string   `json:"message"`
	Evidence Evidence `json:"evidence"`
	// Adds is the blast radius the pattern adds beyond its home.
	Adds *Added `json:"blastRadiusAdded,omitempty"`
	Fix  Fix    `json:"fix"`
}

// Fix is how to remove a finding.
type Fix struct {
	Summary string `json:"summary"`
	// Commands are mimic and az commands to run in order, in a shell.
	Commands []string `json:"commands"`
}

// Evidence is what a finding rests on.
type Evidence struct {
	Identity    *IdentityRef    `json:"identity,omitempty"`
	Computes    []ComputeRef    `json:"computes,omitempty"`
	Assignments []AssignmentRef `json:"assignments,omitempty"`
	Federated   []FederatedRef  `json:"federatedCredentials,omitempty"`
	// Environments and Teams are the distinct labels involved.
	Environments []string  `json:"environments,omitempty"`
	Teams        []string  `json:"teams,omitempty"`
	Paths        []PathRef `json:"paths,omitempty"`
	// PathsTotal counts the paths when Paths is truncated.
	PathsTotal int        `json:"pathsTotal,omitempty"`
	Usage      *UsageNote `json:"usage,omitempty"`
	Notes      []string   `json:"notes,omitempty"`
}

// IdentityRef names an identity with its labels.
type IdentityRef struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	PrincipalID string `json:"principalId,omitempty"`
	ClientID    string `json:"clientId,omitempty"`
	Environment *Label `json:"environment,omitempty"`
	Team        *Label `json:"team,omitempty"`
}

// ComputeRef names a compute with its labels.
type ComputeRef struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Environment *Label `json:"environment,omitempty"`
	Team        *Label `json:"team,omitempty"`
}

// AssignmentRef is a role assignment with its scope's labels.
type AssignmentRef struct {
	ID          string `json:"id"`
	Role        string `json:"role"`
	RoleID      string `json:"roleId"`
	Scope       string `json:"scope"`
	PrincipalID string `json:"principalId"`
	Environment *Label `json:"environment,omitempty"`
	Team        *Label `json:"team,omitempty"`
	// Created is when the assignment was made, when known.
	Created *time.Time `json:"created,omitempty"`
}

// FederatedRef is a federated credential, with the CI/CD system its issuer
// belongs to.
type FederatedRef struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Issuer    string   `json:"issuer"`
	Subject   string   `json:"subject"`
	Audiences []string `json:"audiences,omitempty"`
	System    string   `json:"system,omitempty"`
}

// PathRef is one explaining path from a start to a target.
type PathRef struct {
	From        string `json:"from"`
	To          string `json:"to"`
	Environment string `json:"environment,omitempty"`
	Team        string `json:"team,omitempty"`
	Steps       []Step `json:"steps"`
}

// UsageNote is what the access log showed.
type UsageNote struct {
	Window string    `json:"window"`
	Since  time.Time `json:"observedSince"`
	// Full is true when the whole window was observed.
	Full bool `json:"fullWindow"`
	// Requests counts the identity's allowed requests in the window.
	Requests int `json:"requests"`
}

// Added is the blast radius a finding adds beyond a home: the
// environments and teams the identity (or start) belongs to.
type Added struct {
	HomeEnvironments []string        `json:"homeEnvironments,omitempty"`
	HomeTeams        []string        `json:"homeTeams,omitempty"`
	Environments     []string        `json:"environments,omitempty"`
	Teams            []string        `json:"teams,omitempty"`
	Resources        []AddedResource `json:"resources"`
	// Total counts the resources when Resources is truncated.
	Total      int      `json:"total"`
	Identities []string `json:"identities,omitempty"`
	Computes   []string `json:"computes,omitempty"`
}

// AddedResource is one resource a finding's blast radius adds.
type AddedResource struct {
	Resource    string `json:"resource"`
	Type        string `json:"type"`
	Environment string `json:"environment,omitempty"`
	Team        string `json:"team,omitempty"`
	Data        bool   `json:"dataAccess,omitempty"`
}

// FindingsOptions tunes Findings.
type FindingsOptions struct {
	// Usage is the access log over the window (LoadUsage). Without it,
	// unused-permission is not evaluated and fixes cannot use exercised
	// actions.
	Usage *Usage
	// Rules restricts the rules run; empty runs all.
	Rules []string
}

// Report is the answer of the findings API and of `mimic analyze -o json`.
type Report struct {
	GeneratedAt time.Time        `json:"generatedAt"`
	Window      string           `json:"window"`
	AccessLog   *UsageSummary    `json:"accessLog,omitempty"`
	Summary     map[Severity]int `json:"summary"`
	Findings    []Finding        `json:"findings"`
}

// Summarize counts findings by severity.
func Summarize(fs []Finding) map[Severity]int {
	out := map[Severity]int{}
	for _, s := range Severities {
		out[s] = 0
	}
	for _, f := range fs {
		out[f.Severity]++
	}
	return out
}

// Findings runs the rules over the estate. The result is sorted: severity
// (highest first), rule, resource, title.
//
// Large estates are split into shards, one per processor: each takes
// every n-th identity, assignment and escalation class, with caches of
// its own, over one shared index.
func (a *Analysis) Findings(opts FindingsOptions) []Finding {
	x := newFindingIndex(a, opts)
	shards := 1
	if len(a.g.ids) >= shardFrom {
		shards = max(1, min(runtime.GOMAXPROCS(0), maxShards))
	}
	fs := make([]*findingCtx, shards)
	for k := range shards {
		fs[k] = x.shard(k, shards)
	}
	// First every shard works out its identities' grants (read by all
	// shards' rules), then the rules run.
	var wg sync.WaitGroup
	for _, f := range fs {
		wg.Go(func() {
			for ii := range x.g.ids {
				if f.mine(ii) {
					f.heldBy(int32(ii))
				}
			}
		})
	}
	wg.Wait()
	parts := make([][]Finding, shards)
	for k, f := range fs {
		wg.Go(func() { parts[k] = f.findings(opts) })
	}
	wg.Wait()
	out := slices.Concat(parts...)
	SortFindings(out)
	return out
}

// Sharding: below shardFrom identities one shard is quicker than
// building two sets of caches; more than maxShards stop paying on the
// estates measured.
var shardFrom, maxShards = 1000, 4

// findings runs the wanted rules over a shard.
func (f *findingCtx) findings(opts FindingsOptions) []Finding {
	run := map[string]bool{}
	for _, r := range opts.Rules {
		run[r] = true
	}
	want := func(id string) bool { return len(run) == 0 || run[id] }
	var out []Finding
	for _, r := range []struct {
		id string
		fn func() []Finding
	}{
		{RuleCrossEnvironment, f.crossEnvironment},
		{RuleSubscriptionScope, f.subscriptionScope},
		{RuleAutomation, f.automation},
		{RuleCrossTeam, f.crossTeam},
		{RulePrivilegedRole, f.privilegedRole},
		{RuleEscalationPath, f.escalationPaths},
		{RuleOrphaned, f.orphaned},
		{RuleUnusedPermission, f.unusedPermission},
		{RuleNamedAfter, f.namedAfterResource},
		{RuleMixedSets, f.mixedPermissionSets},
		{RuleWithoutOwner, f.withoutOwner},
	} {
		if want(r.id) {
			out = append(out, r.fn()...)
		}
	}
	for i := range out {
		fd := &out[i]
		fd.ID = fingerprint(fd)
		if fd.Fix.Commands == nil {
			fd.Fix.Commands = []string{}
		}
	}
	return out
}

// SortFindings orders findings: severity (highest first), rule, resource,
// title, id.
func SortFindings(fs []Finding) {
	// The resource keys are folded once, not at every comparison.
	type keyed struct {
		f        *Finding
		rank     int
		resource string
	}
	ks := make([]keyed, len(fs))
	for i := range fs {
		ks[i] = keyed{&fs[i], fs[i].Severity.Rank(), strings.ToLower(fs[i].Resource)}
	}
	sort.SliceStable(ks, func(i, j int) bool {
		x, y := ks[i], ks[j]
		if x.rank != y.rank {
			return x.rank > y.rank
		}
		if x.f.Rule != y.f.Rule {
			return x.f.Rule < y.f.Rule
		}
		if x.resource != y.resource {
			return x.resource < y.resource
		}
		if x.f.Title != y.f.Title {
			return x.f.Title < y.f.Title
		}
		return x.f.ID < y.f.ID
	})
	sorted := make([]Finding, len(fs))
	for i, k := range ks {
		sorted[i] = *k.f
	}
	copy(fs, sorted)
}

// fingerprint derives a finding's stable id from its rule, resource and
// the ids its evidence names.
func fingerprint(f *Finding) string {
	// The hash of the parts joined by NULs, ids folded, written through a
	// buffer rather than built as one string.
	h := sha256.New()
	var buf [512]byte
	n := 0
	put := func(c byte) {
		if n == len(buf) {
			h.Write(buf[:n])
			n = 0
		}
		buf[n] = c
		n++
	}
	first := true
	write := func(s string, fold bool) {
		if fold && strings.IndexFunc(s, func(r rune) bool { return r >= utf8.RuneSelf }) >= 0 {
			s, fold = strings.ToLower(s), false
		}
		if !first {
			put(0)
		}
		first = false
		for i := 0; i < len(s); i++ {
			c := s[i]
			if fold && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			put(c)
		}
	}
	write(f.Rule, false)
	write(f.Resource, true)
	for _, c := range f.Evidence.Computes {
		write(c.ID, true)
	}
	for _, as := range f.Evidence.Assignments {
		write(as.ID, true)
	}
	for _, l := range [][]string{f.Evidence.Environments, f.Evidence.Teams} {
		for _, s := range l {
			write(s, false)
		}
	}
	h.Write(buf[:n])
	return f.Rule + "/" + hex.EncodeToString(h.Sum(nil))[:16]
}
