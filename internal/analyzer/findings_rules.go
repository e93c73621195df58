package analyzer

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/resourceid"
)

// --- cross-environment-identity ---

func (f *findingCtx) crossEnvironment() []Finding {
	var out []Finding
	for i, id := range f.g.ids {
		if !f.mine(i) {
			continue
		}
		ii := int32(i)
		if f.envCount(ii) < 2 {
			continue
		}
		envs, holderEnvs := newSet(false), newSet(false)
		for _, ci := range f.holders[ii] {
			env := f.computeLabels[ci].Env.Value
			envs.add(env)
			holderEnvs.add(env)
		}
		// The identity's own grants (escalations are escalation-path's).
		for _, h := range f.heldBy(ii) {
			f.addEnvsOf(envs, h.gs)
		}
		if envs.len() < 2 {
			continue
		}
		// The entry is the least protected environment holding it: an
		// attacker's way in.
		entry := envs.list()[0]
		if holderEnvs.len() > 0 {
			entry = holderEnvs.list()[0]
		}
		var entryCompute *Compute
		for _, ci := range f.holders[ii] {
			if c := f.g.computes[ci]; f.computeLabels[ci].Env.Value == entry {
				entryCompute = c
				break
			}
		}
		add := f.newAdded([]string{entry}, nil)
		ev := Evidence{Identity: f.identityRef(id), Computes: f.holdersRefs(ii), Assignments: f.assignmentsRefs(ii),
			Environments: envs.list()}
		for _, h := range f.heldBy(ii) {
			as, gs := h.as, h.gs
			for i, n := range gs.res {
				if !add.addIdx(n, gs.flags[i] != 0) {
					continue
				}
				ev.PathsTotal++
				if len(ev.Paths) == maxListed {
					continue
				}
				res := f.resourceOf(n)
				p := PathRef{From: id.Key, To: res.ID, Environment: f.envOf[n], Team: f.teamOf[n],
					Steps: []Step{{Kind: "grants", From: id.Key, To: res.ID, Via: fmt.Sprintf("%s (%s)", f.role(as.RoleID).name, as.ID)}}}
				if entryCompute != nil {
					p.From = entryCompute.ID
					p.Steps = append([]Step{f.tokenStep(entryCompute, id)}, p.Steps...)
				}
				ev.Paths = append(ev.Paths, p)
			}
		}
		if ev.PathsTotal <= len(ev.Paths) {
			ev.PathsTotal = 0
		}
		added := add.done()
		sev := Medium
		if envs.has("prod") && envs.len() > 1 {
			sev = High
			if holderEnvs.len() > 0 && entry != "prod" && added != nil && contains(added.Environments, "prod") {
				sev = Critical
			}
		}
		msg := fmt.Sprintf("%s spans environments %s.", id.Name, joinAnd(envs.list()))
		if entryCompute != nil && added != nil {
			msg += fmt.Sprintf(" Code on %s (%s) holds its tokens and so reaches %d resource(s) in %s.", entryCompute.Name, entry, added.Total,
				strings.Join(added.Environments, ", "))
		}
		out = append(out, Finding{Rule: RuleCrossEnvironment, Severity: sev, Resource: id.Key,
			Title: fmt.Sprintf("%s spans %s", id.Name, joinAnd(envs.list())), Message: msg,
			Evidence: ev, Adds: added, Fix: f.envSplitFix(ii, entry)})
	}
	return out
}

// envSplitFix splits an identity per environment of its holders, or, when
// its holders are of one environment, removes its grants in others.
func (f *findingCtx) envSplitFix(ii int32, entry string) Fix {
	id := f.g.ids[ii]
	byEnv, unlabeled := f.holdersByEnv(ii)
	if len(byEnv) < 2 {
		home := entry
		for env := range byEnv {
			home = env
		}
		var cmds []string
		for _, a := range f.assignmentsOf(id) {
			if env := f.labelsOf(a.Scope).Env.Value; env != "" && env != home {
				cmds = append(cmds, cmdDeleteAssignment(a.ID))
			}
		}
		return Fix{Summary: fmt.Sprintf("Keep %s to %s: delete its grants in other environments, and grant those to an identity of that environment instead.", id.Name, home),
			Commands: cmds}
	}
	groups := f.envSplitGroups(id, byEnv)
	return Fix{Summary: envSplitSummary(id, groups, unlabeled), Commands: f.splitPlan(id, groups, unlabeled == 0)}
}

// holdersByEnv groups an identity's holders by environment, and counts
// those without one.
func (f *findingCtx) holdersByEnv(ii int32) (byEnv map[string][]*Compute, unlabeled int) {
	byEnv = map[string][]*Compute{}
	for _, ci := range f.holders[ii] {
		c := f.g.computes[ci]
		if env := f.computeLabels[ci].Env.Value; env != "" {
			byEnv[env] = append(byEnv[env], c)
		} else {
			unlabeled++
		}
	}
	return byEnv, unlabeled
}

// envSplitGroups makes one group per environment of the holders, least
// protected first, each with the identity's assignments whose scope is of
// that environment or of none.
func (f *findingCtx) envSplitGroups(id *Identity, byEnv map[string][]*Compute) []splitGroup {
	envs := make([]string, 0, len(byEnv))
	for env := range byEnv {
		envs = append(envs, env)
	}
	sortEnvs(envs)
	as := f.assignmentsOf(id)
	var groups []splitGroup
	for _, env := range envs {
		g := splitGroup{suffix: env, computes: byEnv[env]}
		for _, a := range as {
			if e := f.labelsOf(a.Scope).Env.Value; e == "" || e == env {
				g.assignments = append(g.assignments, a)
			}
		}
		groups = append(groups, g)
	}
	return groups
}

// envSplitSummary describes an environment split.
func envSplitSummary(id *Identity, groups []splitGroup, unlabeled int) string {
	summary := fmt.Sprintf("Split %s per environment: create %s, grant each only its environment's roles, attach it to that environment's computes, then retire %s.",
		id.Name, strings.Join(groupNames(id, groups), ", "), id.Name)
	var empty []string
	for _, g := range groups {
		if len(g.assignments) == 0 {
			empty = append(empty, g.suffix)
		}
	}
	if len(empty) > 0 {
		verb := "gets"
		if len(empty) > 1 {
			verb = "get"
		}
		summary += fmt.Sprintf(" %s %s no roles: only other environments' resources were granted; give it resources of its own.", joinAnd(empty), verb)
	}
	if unlabeled > 0 {
		summary += fmt.Sprintf(" %d holder(s) have no environment label and keep %s until labeled, so it is not deleted.", unlabeled, id.Name)
	}
	return summary
}

func groupNames(id *Identity, groups []splitGroup) []string {
	var out []string
	for _, g := range groups {
		out = append(out, splitName(id.Name, g.suffix))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// home returns the environments and teams of an identity and its holders.
func (f *findingCtx) home(ii int32) (envs, teams []string) {
	e, t := newSet(false), newSet(true)
	l := f.identityLabels[ii]
	e.add(l.Env.Value)
	t.add(l.Team.Value)
	for _, ci := range f.holders[ii] {
		l := f.computeLabels[ci]
		e.add(l.Env.Value)
		t.add(l.Team.Value)
	}
	return e.list(), t.list()
}

// --- subscription-scope-assignment ---

func (f *findingCtx) subscriptionScope() []Finding {
	var out []Finding
	for i := range f.e.Assignments {
		if !f.mine(i) {
			continue
		}
		as := &f.e.Assignments[i]
		ii, ok := f.g.identityIdx[as.PrincipalID]
		if !ok || !wideScope(as.Scope) {
			continue
		}
		id, ri := f.g.ids[ii], f.role(as.RoleID)
		sev := Medium
		if ri.data || ri.write {
			sev = High
		}
		if ri.escalates() {
			sev = Critical
		}
		homeEnvs, homeTeams := f.home(ii)
		add := f.newAdded(homeEnvs, homeTeams)
		f.addGrants(add, f.grants(as))
		added := add.done()
		var cmds []string
		scopes := f.narrowScopes(ii, as)
		for _, s := range scopes {
			cmds = append(cmds, cmdCreateAssignment(id.PrincipalID, ri.name, s))
		}
		cmds = append(cmds, cmdDeleteAssignment(as.ID))
		msg := fmt.Sprintf("%s holds %s at %s: it applies to every resource there, present and future.", id.Name, ri.name, f.describeScope(as.Scope))
		if added != nil {
			msg += fmt.Sprintf(" That is %d resource(s) beyond its own environment and team", added.Total)
			if len(added.Identities) > 0 {
				msg += fmt.Sprintf(", and %d other identities through the computes it can write", len(added.Identities))
			}
			msg += "."
		}
		out = append(out, Finding{Rule: RuleSubscriptionScope, Severity: sev, Resource: as.ID,
			Title: fmt.Sprintf("%s holds %s at %s", id.Name, ri.name, f.describeScope(as.Scope)), Message: msg,
			Evidence: Evidence{Identity: f.identityRef(id), Computes: f.holdersRefs(ii), Assignments: []AssignmentRef{f.assignmentRef(as)}},
			Adds:     added,
			Fix: Fix{Summary: fmt.Sprintf("Grant %s at %s instead, then delete the %s assignment.", ri.name, orNone(scopes), f.describeScope(as.Scope)),
				Commands: cmds}})
	}
	return out
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "no wider scope than it needs"
	}
	return strings.Join(l, ", ")
}

// --- automation-identity ---

// ciIssuers name the CI/CD systems by their issuers' hosts.
var ciIssuers = []struct {
	host   func(string) bool
	system string
}{
	{func(h string) bool { return h == "token.actions.githubusercontent.com" }, "GitHub Actions"},
	{func(h string) bool { return h == "gitlab.com" || strings.HasPrefix(h, "gitlab.") }, "GitLab CI/CD"},
	{func(h string) bool {
		return h == "vstoken.dev.azure.com" || strings.HasSuffix(h, ".vstoken.visualstudio.com")
	}, "Azure DevOps"},
	{func(h string) bool { return h == "app.terraform.io" }, "Terraform Cloud"},
	{func(h string) bool { return h == "oidc.circleci.com" }, "CircleCI"},
	{func(h string) bool { return h == "api.bitbucket.org" }, "Bitbucket Pipelines"},
	{func(h string) bool { return h == "agent.buildkite.com" }, "Buildkite"},
}

// issuerSystem classifies a federated credential's issuer: an AKS cluster
// (not automation), a known CI/CD system, or another external issuer.
func (f *findingCtx) issuerSystem(issuer string) (system string, automation bool) {
	for _, c := range f.e.Computes {
		if c.Kind == Cluster && c.IssuerURL != "" && c.IssuerURL == issuer {
			return "AKS cluster " + c.Name, false
		}
	}
	u, err := url.Parse(issuer)
	host := ""
	if err == nil {
		host = strings.ToLower(u.Hostname())
	}
	if strings.HasSuffix(host, ".oic.prod-aks.azure.com") {
		return "AKS cluster (not in the estate)", false
	}
	for _, ci := range ciIssuers {
		if ci.host(host) {
			return ci.system, true
		}
	}
	return "external OIDC issuer", true
}

// automationWords mark runners, agents and deploy identities by name.
var automationWords = map[string]bool{"runner": true, "runners": true, "agent": true, "agents": true, "ci": true, "cicd": true,
	"build": true, "builder": true, "deploy": true, "deployer": true, "deployment": true, "pipeline": true, "pipelines": true,
	"jenkins": true, "actions": true, "gha": true, "automation": true, "devops": true, "terraform": true, "github": true, "gitlab": true}

func automationWord(s string) string {
	for _, w := range tokenSplit.Split(strings.ToLower(s), -1) {
		if automationWords[w] {
			return w
		}
	}
	return ""
}

// automationHeuristic says why an unfederated identity looks like
// automation: a holder named or tagged like a runner, or its own name.
func (f *findingCtx) automationHeuristic(ii int32) string {
	for _, ci := range f.holders[ii] {
		c := f.g.computes[ci]
		if w := automationWord(c.Name); w != "" {
			return fmt.Sprintf("held by %s, named like automation (%q)", c.Name, w)
		}
		keys := make([]string, 0, len(c.Tags))
		for k := range c.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if w := automationWord(c.Tags[k]); w != "" {
				return fmt.Sprintf("held by %s, tagged %s=%s", c.Name, k, c.Tags[k])
			}
		}
	}
	if w := automationWord(f.g.ids[ii].Name); w != "" {
		return fmt.Sprintf("named like automation (%q)", w)
	}
	return ""
}

func (f *findingCtx) automation() []Finding {
	var out []Finding
	for i, id := range f.g.ids {
		if !f.mine(i) {
			continue
		}
		ii := int32(i)
		var feds []FederatedRef
		prs := false
		for _, fc := range id.Federated {
			system, auto := f.issuerSystem(fc.Issuer)
			if !auto {
				continue
			}
			feds = append(feds, FederatedRef{ID: fc.ID, Name: fc.Name, Issuer: fc.Issuer, Subject: fc.Subject, Audiences: fc.Audiences, System: system})
			if system == "GitHub Actions" && strings.Contains(fc.Subject, ":pull_request") {
				prs = true
			}
		}
		heuristic := ""
		if len(feds) == 0 {
			if heuristic = f.automationHeuristic(ii); heuristic == "" {
				continue
			}
		}
		r := f.radius(ii)
		add := f.newAdded(nil, nil)
		for _, re := range r.Reach {
			add.addReach(re)
		}
		ev := Evidence{Identity: f.identityRef(id), Computes: f.holdersRefs(ii), Federated: feds,
			Assignments: f.assignmentsRefs(ii)}
		culprits := map[string]bool{}
		var targets []string // computes its lateral movement writes
		lateral := func(h Held, kind string) {
			ev.PathsTotal++
			if len(ev.Paths) < maxListed {
				ev.Paths = append(ev.Paths, PathRef{From: id.Key, To: h.ID, Environment: h.Environment, Steps: h.Path})
			}
			for _, s := range h.Path {
				if s.Kind == "holds" {
					culprits[viaAssignment(s.Via)] = true
					break
				}
			}
			if kind == "compute" {
				add.node(false, h.ID)
				targets = append(targets, h.ID)
			} else {
				add.node(true, h.ID)
			}
		}
		for _, h := range r.Computes {
			if !f.holds(h.ID, ii) {
				lateral(h, "compute")
			}
		}
		for _, h := range r.Identities {
			if !strings.EqualFold(h.ID, id.Key) {
				lateral(h, "identity")
			}
		}
		if ev.PathsTotal <= len(ev.Paths) {
			ev.PathsTotal = 0
		}
		added := add.done()
		prod, write := false, false
		for _, re := range r.Reach {
			prod = prod || re.Environment == "prod"
		}
		for _, as := range f.assignmentsOf(id) {
			ri := f.role(as.RoleID)
			write = write || ri.write || ri.escalates()
		}
		sev := Medium
		switch {
		case len(targets) > 0 || len(r.Identities) > 1 || prs:
			sev = Critical
		case prod || write:
			sev = High
		}
		what := ""
		if len(feds) > 0 {
			systems := newSet(true)
			for _, fd := range feds {
				systems.add(fd.System)
			}
			what = "federated to " + strings.Join(systems.list(), ", ")
		} else {
			sev = sev.lower()
			what = heuristic
			ev.Notes = append(ev.Notes, "automation by heuristic: "+heuristic)
		}
		if prs {
			ev.Notes = append(ev.Notes, "a GitHub subject accepts pull_request runs: whoever opens a pull request gets its token")
		}
		msg := fmt.Sprintf("%s is automation (%s): whoever can run the pipeline holds its token.", id.Name, what)
		if n := len(targets) + len(r.Identities) - 1; n > 0 {
			msg += fmt.Sprintf(" Its roles yield %d other compute(s) and identities (lateral movement).", n)
		}
		out = append(out, Finding{Rule: RuleAutomation, Severity: sev, Resource: id.Key,
			Title: fmt.Sprintf("%s is automation (%s)", id.Name, what), Message: msg, Evidence: ev, Adds: added,
			Fix: f.automationFix(ii, feds, culprits, targets)})
	}
	return out
}

// viaAssignment extracts the assignment id of a step's via: "Role (id)".
func viaAssignment(via string) string {
	i := strings.LastIndex(via, " (")
	if i < 0 || !strings.HasSuffix(via, ")") {
		return ""
	}
	return via[i+2 : len(via)-1]
}

func (f *findingCtx) automationFix(ii int32, feds []FederatedRef, culprits map[string]bool, targets []string) Fix {
	id := f.g.ids[ii]
	p := f.parts(id.Key)
	rg, name := p.rg, p.name
	var cmds, parts []string
	for _, fd := range feds {
		if fd.System != "GitHub Actions" || strings.Contains(fd.Subject, ":environment:") {
			continue
		}
		repo := strings.SplitN(strings.TrimPrefix(fd.Subject, "repo:"), ":", 2)[0]
		cmds = append(cmds, "az identity federated-credential update -g "+shq(rg)+" --identity-name "+shq(name)+" -n "+shq(fd.Name)+
			" --issuer "+shq(fd.Issuer)+" --subject "+shq("repo:"+repo+":environment:production")+" --audiences api://AzureADTokenExchange")
		parts = append(parts, fmt.Sprintf("pin %s to a GitHub environment with required reviewers", fd.Name))
	}
	ids := make([]string, 0, len(culprits))
	for c := range culprits {
		if c != "" {
			ids = append(ids, c)
		}
	}
	sort.Strings(ids)
	for _, aid := range ids {
		as := f.assignmentByID(aid)
		if as == nil {
			continue
		}
		ri := f.role(as.RoleID)
		var scopes []string
		for _, t := range targets {
			if resourceContains(as.Scope, t) && !strings.EqualFold(t, as.Scope) {
				scopes = append(scopes, t)
			}
		}
		sort.Strings(scopes)
		for _, s := range dedupe(scopes) {
			cmds = append(cmds, cmdCreateAssignment(id.PrincipalID, ri.name, s))
		}
		cmds = append(cmds, cmdDeleteAssignment(as.ID))
		parts = append(parts, fmt.Sprintf("narrow %s from %s to the computes it deploys", ri.name, f.describeScope(as.Scope)))
	}
	summary := "Keep the pipeline's reach to what it deploys"
	if len(parts) > 0 {
		summary += ": " + strings.Join(parts, "; ")
	}
	summary += ". Deploying to a compute still yields that compute's identity: keep those identities minimal."
	return Fix{Summary: summary, Commands: cmds}
}

func dedupe(l []string) []string {
	var out []string
	for i, s := range l {
		if i == 0 || !strings.EqualFold(s, l[i-1]) {
			out = append(out, s)
		}
	}
	return out
}

// assignmentByID finds an assignment of the estate.
func (f *findingCtx) assignmentByID(id string) *authz.Assignment {
	if f.byID == nil {
		f.byID = make(map[string]*authz.Assignment, len(f.e.Assignments))
		for i := range f.e.Assignments {
			f.byID[strings.ToLower(f.e.Assignments[i].ID)] = &f.e.Assignments[i]
		}
	}
	return f.byID[strings.ToLower(id)]
}

func resourceContains(scope, id string) bool {
	return strings.HasPrefix(strings.ToLower(id)+"/", strings.ToLower(strings.TrimSuffix(scope, "/"))+"/")
}

// --- cross-team-identity ---

func (f *findingCtx) crossTeam() []Finding {
	var out []Finding
	for i, id := range f.g.ids {
		if !f.mine(i) {
			continue
		}
		ii := int32(i)
		teams := newSet(true)
		byTeam := map[string][]*Compute{}
		unlabeled := 0
		for _, ci := range f.holders[ii] {
			c := f.g.computes[ci]
			t := f.computeLabels[ci].Team.Value
			if t == "" {
				unlabeled++
				continue
			}
			teams.add(t)
			byTeam[strings.ToLower(t)] = append(byTeam[strings.ToLower(t)], c)
		}
		if teams.len() < 2 {
			continue
		}
		as := f.assignmentsOf(id)
		sev := Medium
		for _, a := range as {
			if ri := f.role(a.RoleID); ri.data || ri.write || ri.escalates() {
				sev = High
			}
		}
		add := f.newAdded(nil, nil)
		for _, ci := range f.holders[ii] {
			add.computeNode(ci)
		}
		var groups []splitGroup
		for _, t := range teams.list() {
			groups = append(groups, splitGroup{suffix: t, computes: byTeam[strings.ToLower(t)], assignments: as})
		}
		summary := fmt.Sprintf("Give each team its own identity (%s) with the same grants, attach it to that team's computes, then retire %s.",
			strings.Join(groupNames(id, groups), ", "), id.Name)
		if unlabeled > 0 {
			summary += fmt.Sprintf(" %d holder(s) have no team label and keep %s until labeled, so it is not deleted.", unlabeled, id.Name)
		}
		out = append(out, Finding{Rule: RuleCrossTeam, Severity: sev, Resource: id.Key,
			Title:   fmt.Sprintf("%s is used by teams %s", id.Name, strings.Join(teams.list(), ", ")),
			Message: fmt.Sprintf("Computes of %d teams (%s) hold %s: each team's code can act as the others', and no team owns its permissions.", teams.len(), strings.Join(teams.list(), ", "), id.Name),
			Evidence: Evidence{Identity: f.identityRef(id), Computes: f.holdersRefs(ii), Assignments: f.assignmentsRefs(ii),
				Teams: teams.list()},
			Adds: add.done(),
			Fix:  Fix{Summary: summary, Commands: f.splitPlan(id, groups, unlabeled == 0)}})
	}
	return out
}

// --- privileged-role ---

func (f *findingCtx) privilegedRole() []Finding {
	var out []Finding
	for i := range f.e.Assignments {
		if !f.mine(i) {
			continue
		}
		as := &f.e.Assignments[i]
		ii, ok := f.g.identityIdx[as.PrincipalID]
		ri := f.role(as.RoleID)
		if !ok || !ri.privileged() {
			continue
		}
		id := f.g.ids[ii]
		scope, _ := resourceid.Parse(as.Scope)
		sev := Medium
		switch {
		case ri.admin:
			sev = Critical
		case !scope.IsResource():
			sev = High
		}
		homeEnvs, homeTeams := f.home(ii)
		add := f.newAdded(homeEnvs, homeTeams)
		f.addGrants(add, f.grants(as))
		ev := Evidence{Identity: f.identityRef(id), Computes: f.holdersRefs(ii), Assignments: []AssignmentRef{f.assignmentRef(as)}}
		var fix Fix
		cmds, n := f.leastPrivilege(as)
		switch {
		case n > 0:
			fix = Fix{Summary: fmt.Sprintf("Replace %s with the smallest roles that grant what %s exercised in the window (%d distinct actions), at the resources it used them on, then delete it.", ri.name, id.Name, n),
				Commands: append(cmds, cmdDeleteAssignment(as.ID))}
		case f.usage != nil:
			fix = Fix{Summary: fmt.Sprintf("%s exercised nothing under %s in the window: delete it.", id.Name, ri.name), Commands: []string{cmdDeleteAssignment(as.ID)}}
		default:
			fix = Fix{Summary: fmt.Sprintf("Find what %s actually uses (the access log; run its workload under mimic to record one, and `mimic analyze` then proposes exact data roles), grant those data roles at those resources, then delete %s.", id.Name, ri.name),
				Commands: []string{"mimic logs access --identity " + shq(id.Key) + " --since 720h", cmdDeleteAssignment(as.ID)}}
		}
		what := "writes everything"
		if ri.admin {
			what = "writes role assignments: it can grant itself anything"
		}
		out = append(out, Finding{Rule: RulePrivilegedRole, Severity: sev, Resource: as.ID,
			Title:    fmt.Sprintf("%s holds %s at %s", id.Name, ri.name, f.describeScope(as.Scope)),
			Message:  fmt.Sprintf("%s holds %s at %s, which %s; a workload usually needs data roles only.", id.Name, ri.name, f.describeScope(as.Scope), what),
			Evidence: ev, Adds: add.done(), Fix: fix})
	}
	return out
}

// --- orphaned-assignment ---

func (f *findingCtx) orphaned() []Finding {
	var out []Finding
	for i := range f.e.Orphaned {
		if !f.mine(i) {
			continue
		}
		as := &f.e.Orphaned[i]
		ri := f.role(as.RoleID)
		sev := Low
		if ri.escalates() {
			sev = Medium
		}
		out = append(out, Finding{Rule: RuleOrphaned, Severity: sev, Resource: as.ID,
			Title:    fmt.Sprintf("%s at %s for deleted principal %s", ri.name, f.describeScope(as.Scope), as.PrincipalID),
			Message:  fmt.Sprintf("The principal %s of this %s assignment at %s no longer exists.", as.PrincipalID, ri.name, f.describeScope(as.Scope)),
			Evidence: Evidence{Assignments: []AssignmentRef{f.assignmentRef(as)}},
			Fix:      Fix{Summary: "Delete the orphaned assignment.", Commands: []string{cmdDeleteAssignment(as.ID)}}})
	}
	return out
}

// --- unused-permission ---

func (f *findingCtx) unusedPermission() []Finding {
	if f.usage == nil {
		return nil
	}
	var out []Finding
	for i, id := range f.g.ids {
		if !f.mine(i) {
			continue
		}
		ii := int32(i)
		var unused []held
		sev, full := Low, true
		since := f.usage.Since
		for _, h := range f.heldBy(ii) {
			as := h.as
			if len(f.exercised(as)) > 0 {
				continue
			}
			s, fullWindow := f.usage.observedSince(as.ID)
			v := Medium
			if f.role(as.RoleID).escalates() {
				v = High
			}
			if !fullWindow {
				v = v.lower()
				full = false
			}
			if v.Rank() > sev.Rank() {
				sev = v
			}
			if s.After(since) {
				since = s
			}
			unused = append(unused, h)
		}
		if len(unused) == 0 {
			continue
		}
		requests := 0
		if pu := f.usage.principal(id.PrincipalID); pu != nil {
			requests = pu.requests
		}
		add := f.newAdded(nil, nil)
		var cmds, roles []string
		for _, h := range unused {
			f.addGrants(add, h.gs)
			cmds = append(cmds, cmdDeleteAssignment(h.as.ID))
			roles = append(roles, f.role(h.as.RoleID).name+" at "+h.sf.desc)
		}
		refs := f.assignmentsRefs(ii)
		if len(unused) < len(refs) { // some were used: reference the others only
			refs = make([]AssignmentRef, 0, len(unused))
			for _, h := range unused {
				refs = append(refs, f.assignmentRefAt(h.as, h.sf))
			}
		}
		window := FormatWindow(f.usage.Window)
		ev := Evidence{Identity: f.identityRef(id), Computes: f.holdersRefs(ii), Assignments: refs,
			Usage: &UsageNote{Window: window, Since: since, Full: full, Requests: requests}}
		if !full {
			ev.Notes = append(ev.Notes, fmt.Sprintf("observed since %s only: the assignment or the estate is younger than the %s window", since.UTC().Format("2006-01-02 15:04 MST"), window))
		}
		out = append(out, Finding{Rule: RuleUnusedPermission, Severity: sev, Resource: id.Key,
			Title:    fmt.Sprintf("%s never used %d of its role assignment(s) in %s", id.Name, len(unused), window),
			Message:  fmt.Sprintf("The access log shows no use by %s of %s since %s.", id.Name, strings.Join(roles, "; "), since.UTC().Format("2006-01-02")),
			Evidence: ev, Adds: add.done(),
			Fix: Fix{Summary: "Delete the unused assignments.", Commands: cmds}})
	}
	return out
}

// --- identity-named-after-resource ---

var identityAffixes = struct{ prefixes, suffixes []string }{
	prefixes: []string{"id-", "mi-", "uai-", "uami-", "umi-", "msi-", "identity-", "id_", "mi_"},
	suffixes: []string{"-id", "-mi", "-uai", "-uami", "-umi", "-msi", "-identity", "_id", "_mi", "_identity"},
}

// strippedName removes an identity name's usual affixes.
func strippedName(name string) string {
	n := strings.ToLower(name)
	for _, p := range identityAffixes.prefixes {
		n = strings.TrimPrefix(n, p)
	}
	for _, s := range identityAffixes.suffixes {
		n = strings.TrimSuffix(n, s)
	}
	return n
}

func (f *findingCtx) namedAfterResource() []Finding {
	byName := map[string][]int32{}
	for ci, c := range f.g.computes {
		if c.Kind == ServiceAccount {
			continue
		}
		byName[strings.ToLower(c.Name)] = append(byName[strings.ToLower(c.Name)], int32(ci))
	}
	var out []Finding
	for i, id := range f.g.ids {
		if !f.mine(i) {
			continue
		}
		ii := int32(i)
		if id.Kind != UserAssigned {
			continue
		}
		n := strippedName(id.Name)
		named := byName[n]
		if len(n) < 3 || len(named) != 1 {
			continue
		}
		c := f.g.computes[named[0]]
		others := 0
		for _, ci := range f.holders[ii] {
			if ci != named[0] {
				others++
			}
		}
		ev := Evidence{Identity: f.identityRef(id), Computes: f.holdersRefs(ii), Assignments: f.assignmentsRefs(ii)}
		ev.Notes = append(ev.Notes, fmt.Sprintf("named after %s %s", c.Kind, c.ID))
		fd := Finding{Rule: RuleNamedAfter, Resource: id.Key, Evidence: ev}
		if others > 0 {
			fd.Severity = Medium
			fd.Title = fmt.Sprintf("%s is named after %s but %d other compute(s) hold it", id.Name, c.Name, others)
			fd.Message = fmt.Sprintf("The name of %s says it belongs to %s, but %d other compute(s) hold it: reviewers reading the name underestimate its blast radius.", id.Name, c.Name, others)
			add := f.newAdded(nil, nil)
			var cmds []string
			for _, ci := range f.holders[ii] {
				if ci == named[0] {
					continue
				}
				o := f.g.computes[ci]
				add.computeNode(ci)
				if sys := f.systemAssignedFix(id, o, false); len(sys.Commands) > 0 {
					cmds = append(cmds, sys.Commands...)
				} else {
					cmds = append(cmds, f.splitPlan(id, []splitGroup{{suffix: o.Name, computes: []*Compute{o}, assignments: f.assignmentsOf(id)}}, false)...)
				}
			}
			fd.Adds = add.done()
			fd.Fix = Fix{Summary: fmt.Sprintf("Move the other holders to identities of their own (their system-assigned ones, with the same grants), so that %s is held by %s alone.", id.Name, c.Name),
				Commands: cmds}
		} else {
			fd.Severity = Low
			fd.Title = fmt.Sprintf("%s is named after %s, its only holder", id.Name, c.Name)
			fd.Message = fmt.Sprintf("%s is held by %s alone: a system-assigned identity would be born and deleted with it and could not be attached elsewhere.", id.Name, c.Name)
			fd.Fix = f.systemAssignedFix(id, c, true)
		}
		out = append(out, fd)
	}
	return out
}

// systemAssignedFix moves a compute from a user-assigned identity to its
// system-assigned one.
func (f *findingCtx) systemAssignedFix(id *Identity, c *Compute, retire bool) Fix {
	p := f.parts(c.ID)
	rg, name := p.rg, p.name
	var enable, principal string
	var cleanup []string
	switch c.Kind {
	case VM:
		enable = "az vm identity assign -g " + shq(rg) + " -n " + shq(name)
		principal = `"$(az vm show -g ` + shq(rg) + ` -n ` + shq(name) + ` --query identity.principalId -o tsv)"`
	case WebApp, FunctionApp:
		enable = siteCLI(c) + " identity assign -g " + shq(rg) + " -n " + shq(name)
		principal = `"$(` + siteCLI(c) + ` identity show -g ` + shq(rg) + ` -n ` + shq(name) + ` --query principalId -o tsv)"`
		cleanup = append(cleanup, siteCLI(c)+" config appsettings delete -g "+shq(rg)+" -n "+shq(name)+" --setting-names AZURE_CLIENT_ID")
	default:
		return Fix{Summary: fmt.Sprintf("%s %s needs a user-assigned identity; name it for its purpose rather than after the resource when you next replace it.", c.Kind, c.Name), Commands: []string{}}
	}
	cmds := []string{enable}
	for _, as := range f.assignmentsOf(id) {
		cmds = append(cmds, cmdCreateAssignment(principal, f.role(as.RoleID).name, as.Scope))
	}
	cmds = append(cmds, cleanup...)
	cmds = append(cmds, f.cmdDetach(c, id)...)
	if retire {
		cmds = append(cmds, f.cmdRetire(id)...)
	}
	return Fix{Summary: fmt.Sprintf("Switch %s to its system-assigned identity with the same grants, then delete %s.", c.Name, id.Name), Commands: cmds}
}

// --- mixed-permission-sets ---

// permissionSet is one coherent set of an identity's grants.
type permissionSet struct {
	category string // deploy, write, data
	team     string
	as       []*authz.Assignment
}

func (f *findingCtx) mixedPermissionSets() []Finding {
	var out []Finding
	for i, id := range f.g.ids {
		if !f.mine(i) {
			continue
		}
		ii := int32(i)
		sets := map[string]*permissionSet{}
		var keys []string
		teams := newSet(true)
		deploy, data := false, false
		for _, h := range f.heldBy(ii) {
			as, ri := h.as, f.role(h.as.RoleID)
			cat := ""
			switch {
			case ri.escalates():
				cat, deploy = "deploy", true
			case ri.data:
				cat, data = "data", true
			case ri.write:
				cat = "write"
			default:
				continue // reading is no set of its own
			}
			team := h.sf.labels.Team.Value
			teams.add(team)
			key := cat + "/" + strings.ToLower(team)
			if sets[key] == nil {
				sets[key] = &permissionSet{category: cat, team: team}
				keys = append(keys, key)
			}
			sets[key].as = append(sets[key].as, as)
		}
		if !(deploy && data) && teams.len() < 2 {
			continue
		}
		sort.Strings(keys)
		sev := Medium
		if deploy && data {
			sev = High
		}
		var groups []splitGroup
		var names []string
		for _, k := range keys {
			s := sets[k]
			suffix := s.category
			if s.team != "" && teams.len() > 1 {
				suffix = s.team + "-" + s.category
			}
			g := splitGroup{suffix: suffix, assignments: s.as, home: id.Key}
			if s.category != "deploy" {
				for _, ci := range f.holders[ii] {
					c := f.g.computes[ci]
					if t := f.computeLabels[ci].Team.Value; s.team == "" || t == "" || strings.EqualFold(t, s.team) {
						g.computes = append(g.computes, c)
					}
				}
			}
			groups = append(groups, g)
			names = append(names, fmt.Sprintf("%s (%d assignment(s))", suffix, len(s.as)))
		}
		var all []*authz.Assignment
		for _, k := range keys {
			all = append(all, sets[k].as...)
		}
		what := "across teams " + strings.Join(teams.list(), ", ")
		if deploy && data {
			what = "deployment (control-plane write) together with data access"
		}
		out = append(out, Finding{Rule: RuleMixedSets, Severity: sev, Resource: id.Key,
			Title:   fmt.Sprintf("%s mixes %s", id.Name, what),
			Message: fmt.Sprintf("%s holds unrelated permission sets: %s. Every holder gets all of them.", id.Name, strings.Join(names, ", ")),
			Evidence: Evidence{Identity: f.identityRef(id), Computes: f.holdersRefs(ii), Assignments: f.assignmentRefs(all),
				Teams: teams.list()},
			Fix: Fix{Summary: fmt.Sprintf("Split %s into one identity per set (%s); the deploy set belongs to the pipeline, not to a running compute. Detach each new identity from holders that do not use its set.", id.Name, strings.Join(names, ", ")),
				Commands: f.splitPlan(id, groups, false)}})
	}
	return out
}

// --- identity-without-owner ---

func (f *findingCtx) withoutOwner() []Finding {
	var out []Finding
	for i, id := range f.g.ids {
		if !f.mine(i) {
			continue
		}
		ii := int32(i)
		if f.e.Labels(id.Key).Team.Value != "" {
			continue
		}
		sev := Low
		privileged := false
		for _, as := range f.assignmentsOf(id) {
			privileged = privileged || f.role(as.RoleID).escalates()
		}
		if privileged || len(f.holders[ii]) > 1 {
			sev = Medium
		}
		teams := newSet(true)
		for _, ci := range f.holders[ii] {
			teams.add(f.computeLabels[ci].Team.Value)
		}
		team, summary := "TEAM", "Tag it with its owning team (replace TEAM)."
		if teams.len() == 1 {
			team = teams.list()[0]
			summary = fmt.Sprintf("Tag it with its owning team: its holders belong to %s.", team)
		}
		out = append(out, Finding{Rule: RuleWithoutOwner, Severity: sev, Resource: id.Key,
			Title:    fmt.Sprintf("%s has no owner", id.Name),
			Message:  fmt.Sprintf("Neither %s nor its resource group or subscription carries a team or owner tag, and no configuration names one.", id.Name),
			Evidence: Evidence{Identity: f.identityRef(id), Computes: f.holdersRefs(ii), Teams: teams.list()},
			Fix: Fix{Summary: summary,
				Commands: []string{"az tag update --resource-id " + shq(id.Key) + " --operation Merge --tags " + shq("team="+team)}}})
	}
	return out
}
