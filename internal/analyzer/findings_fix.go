package analyzer

import (
	"sort"
	"strings"

	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/resourceid"
)

// Fixes are az commands (they run against Azure, and against mimic in a
// shell prepared by `eval "$(mimic env)"`) and mimic commands. Values that
// exist only once an earlier command has run (a new identity's principal
// id) are read with az's --query in a command substitution.

// shq quotes a word for a POSIX shell when it needs it.
func shq(s string) string {
	plain := s != ""
	for i := 0; i < len(s) && plain; i++ {
		plain = shellPlain[s[i]]
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellPlain marks the bytes a shell word needs no quotes for.
var shellPlain = func() (t [256]bool) {
	for _, c := range "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=@,+-" {
		t[c] = true
	}
	return t
}()

func cmdDeleteAssignment(id string) string { return "az role assignment delete --ids " + shq(id) }

// cmdCreateAssignment grants role at scope to a principal: an object id,
// or a command substitution that prints one.
func cmdCreateAssignment(assignee, role, scope string) string {
	if !strings.HasPrefix(assignee, `"$(`) {
		assignee = shq(assignee)
	}
	return "az role assignment create --assignee-object-id " + assignee + " --assignee-principal-type ServicePrincipal --role " +
		shq(role) + " --scope " + shq(scope)
}

// newIdentity is an identity a fix creates.
type newIdentity struct{ sub, rg, name string }

func (n newIdentity) id() string {
	return "/subscriptions/" + n.sub + "/resourceGroups/" + n.rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + n.name
}
func (n newIdentity) create() string {
	return "az identity create -g " + shq(n.rg) + " -n " + shq(n.name)
}
func (n newIdentity) principal() string {
	return `"$(az identity show -g ` + shq(n.rg) + ` -n ` + shq(n.name) + ` --query principalId -o tsv)"`
}
func (n newIdentity) client() string {
	return `"$(az identity show -g ` + shq(n.rg) + ` -n ` + shq(n.name) + ` --query clientId -o tsv)"`
}

// splitName derives a new identity's name from an old one: its words
// without environment words and "shared"-like words, then the suffix.
func splitName(old, suffix string) string {
	drop := map[string]bool{"shared": true, "common": true, "all": true, "global": true, "system": true, "assigned": true}
	var keep []string
	for _, w := range tokenSplit.Split(strings.ToLower(old), -1) {
		if w == "" || drop[w] || envTokens[w] != "" {
			continue
		}
		keep = append(keep, w)
	}
	if len(keep) == 0 {
		keep = []string{"id"}
	}
	s := strings.Trim(tokenSplit.ReplaceAllString(strings.ToLower(suffix), "-"), "-")
	return strings.Join(keep, "-") + "-" + s
}

// siteCLI is the az command group of a site.
func siteCLI(c *Compute) string {
	if c.Kind == FunctionApp {
		return "az functionapp"
	}
	return "az webapp"
}

// cmdAttach attaches a new identity to a compute, as its platform wants.
func (f *findingCtx) cmdAttach(c *Compute, n newIdentity) []string {
	p := f.parts(c.ID)
	rg, name := p.rg, p.name
	switch c.Kind {
	case VM:
		return []string{"az vm identity assign -g " + shq(rg) + " -n " + shq(name) + " --identities " + shq(n.id())}
	case WebApp, FunctionApp:
		return []string{
			siteCLI(c) + " identity assign -g " + shq(rg) + " -n " + shq(name) + " --identities " + shq(n.id()),
			siteCLI(c) + " config appsettings set -g " + shq(rg) + " -n " + shq(name) + " --settings AZURE_CLIENT_ID=" + n.client(),
		}
	case Cluster:
		return []string{"az aks update -g " + shq(rg) + " -n " + shq(name) + " --assign-kubelet-identity " + shq(n.id())}
	case ServiceAccount:
		cl := f.e.computeByKey[strings.ToLower(c.Cluster)]
		if cl == nil || cl.IssuerURL == "" {
			return nil
		}
		ns, sa := serviceAccountName(c)
		return []string{
			"az identity federated-credential create -g " + shq(n.rg) + " --identity-name " + shq(n.name) + " -n " + shq(cl.Name+"-"+ns+"-"+sa) +
				" --issuer " + shq(cl.IssuerURL) + " --subject " + shq(c.Subject) + " --audiences api://AzureADTokenExchange",
			"kubectl annotate serviceaccount -n " + shq(ns) + " " + shq(sa) + " azure.workload.identity/client-id=" + n.client() + " --overwrite",
		}
	}
	return nil
}

// cmdDetach detaches an identity from a compute.
func (f *findingCtx) cmdDetach(c *Compute, id *Identity) []string {
	p := f.parts(c.ID)
	rg, name := p.rg, p.name
	switch c.Kind {
	case VM:
		return []string{"az vm identity remove -g " + shq(rg) + " -n " + shq(name) + " --identities " + shq(id.Key)}
	case WebApp, FunctionApp:
		return []string{siteCLI(c) + " identity remove -g " + shq(rg) + " -n " + shq(name) + " --identities " + shq(id.Key)}
	case ServiceAccount:
		cl := f.e.computeByKey[strings.ToLower(c.Cluster)]
		var out []string
		ip := f.parts(id.Key)
		irg, iname := ip.rg, ip.name
		for _, fc := range id.Federated {
			if cl != nil && fc.Issuer == cl.IssuerURL && fc.Subject == c.Subject {
				out = append(out, "az identity federated-credential delete -g "+shq(irg)+" --identity-name "+shq(iname)+" -n "+shq(fc.Name)+" --yes")
			}
		}
		return out
	}
	return nil // a cluster's kubelet identity is replaced, not removed
}

func serviceAccountName(c *Compute) (ns, name string) {
	parts := strings.Split(c.Name, "/")
	if len(parts) == 3 {
		return parts[1], parts[2]
	}
	return "default", c.Name
}

// splitGroup is one part of a split: a new identity for some computes,
// with some of the old identity's grants.
type splitGroup struct {
	suffix      string
	computes    []*Compute
	assignments []*authz.Assignment
	// home places the new identity: the resource group of this id.
	home string
}

// splitIdentity is a split group's new identity: named after the old one
// with the group's suffix, in the resource group of its home, else of its
// first compute, else of the old identity.
func (f *findingCtx) splitIdentity(g splitGroup, old *Identity) newIdentity {
	home := g.home
	if home == "" && len(g.computes) > 0 {
		home = g.computes[0].ID
	}
	p := f.parts(home)
	if p.rg == "" {
		p = f.parts(old.Key)
	}
	key := [2]string{old.Name, g.suffix}
	name, ok := f.splitNames[key]
	if !ok {
		name = splitName(old.Name, g.suffix)
		f.splitNames[key] = name
	}
	return newIdentity{sub: p.sub, rg: p.rg, name: name}
}

// idParts are what fixes name of a resource id: its subscription,
// resource group and name (all empty when it does not parse).
type idParts struct{ sub, rg, name string }

// parts parses an id, once per shard.
func (f *findingCtx) parts(id string) idParts {
	if p, ok := f.idParts[id]; ok {
		return p
	}
	var p idParts
	if r, err := resourceid.Parse(id); err == nil {
		p = idParts{r.Subscription, r.ResourceGroup, r.Name()}
	}
	f.idParts[id] = p
	return p
}

// splitPlan creates one identity per group, re-grants, re-attaches, and
// retires the old identity when every holder moved.
func (f *findingCtx) splitPlan(old *Identity, groups []splitGroup, retire bool) []string {
	var cmds []string
	for _, g := range groups {
		n := f.splitIdentity(g, old)
		cmds = append(cmds, n.create())
		principal := n.principal()
		for _, as := range g.assignments {
			cmds = append(cmds, cmdCreateAssignment(principal, f.role(as.RoleID).name, as.Scope))
		}
		for _, c := range g.computes {
			cmds = append(cmds, f.cmdAttach(c, n)...)
			cmds = append(cmds, f.cmdDetach(c, old)...)
		}
	}
	if retire {
		cmds = append(cmds, f.cmdRetire(old)...)
	}
	return cmds
}

// cmdRetire deletes an identity's assignments and, for a user-assigned
// one, the identity.
func (f *findingCtx) cmdRetire(id *Identity) []string {
	var cmds []string
	for _, as := range f.assignmentsOf(id) {
		cmds = append(cmds, cmdDeleteAssignment(as.ID))
	}
	if id.Kind == UserAssigned {
		cmds = append(cmds, "az identity delete --ids "+shq(id.Key))
	}
	return cmds
}

// exercised lists what a principal did under an assignment in the window:
// requests the assignment granted, or, for entries that name no
// assignment, requests its role allows under its scope.
func (f *findingCtx) exercised(as *authz.Assignment) []op {
	pu := f.usage.principal(as.PrincipalID)
	if pu == nil {
		return nil
	}
	ri := f.role(as.RoleID)
	scope := strings.ToLower(strings.TrimSuffix(as.Scope, "/"))
	var out []op
	for o := range pu.ops {
		switch {
		case o.assignment != "":
			if o.assignment == strings.ToLower(as.ID) {
				out = append(out, o)
			}
		case ri.role != nil && resourceid.KeyContains(scope, o.scope) && roleGrants(ri.role, o.action, o.data):
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].scope != out[j].scope {
			return out[i].scope < out[j].scope
		}
		return out[i].action < out[j].action
	})
	return out
}

// roleGrants reports whether a role's unconditional blocks grant an action
// or data action.
func roleGrants(r *authz.Role, action string, data bool) bool {
	for _, p := range r.Permissions {
		if p.Condition != "" {
			continue
		}
		if data {
			if authz.MatchAny(p.DataActions, action) && !authz.MatchAny(p.NotDataActions, action) {
				return true
			}
		} else if authz.MatchAny(p.Actions, action) && !authz.MatchAny(p.NotActions, action) {
			return true
		}
	}
	return false
}

// readerRole is the built-in Reader.
const readerRole = "acdd72a7-3385-48ef-bd42-f606fba81ae7"

// patternBreadth weighs an action pattern by how much it can match: an
// exact action 1, a wildcard more the nearer the root it stands ("*"
// 1000, "*/read" 300, "Microsoft.Web/*" 100, "Microsoft.Web/sites/*" 10,
// deeper ones 5).
func patternBreadth(p string) int {
	i := strings.IndexByte(p, '*')
	switch {
	case i < 0:
		return 1
	case p == "*":
		return 1000
	case i == 0:
		return 300
	}
	switch strings.Count(p[:i], "/") {
	case 1:
		return 100
	case 2:
		return 10
	}
	return 5
}

// smallestRole finds the narrowest role (by the breadth of its action and
// data action patterns) that grants every one of the actions; ties go to
// fewer wildcards, then the name.
func (f *findingCtx) smallestRole(ops []op) *authz.Role {
	reads := true
	for _, o := range ops {
		reads = reads && !o.data && strings.HasSuffix(o.action, "/read")
	}
	if r, ok := f.e.engine.Role(readerRole); ok && reads {
		return r // reads alone: Reader, the role everyone knows
	}
	var best *authz.Role
	bestScore, bestStars := 0, 0
	for i := range f.e.Roles {
		r := &f.e.Roles[i]
		ok := true
		for _, o := range ops {
			if !roleGrants(r, o.action, o.data) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		score, stars := 0, 0
		for _, p := range r.Permissions {
			for _, l := range [][]string{p.Actions, p.DataActions} {
				for _, s := range l {
					score += patternBreadth(s)
					stars += strings.Count(s, "*")
				}
			}
		}
		if best == nil || score < bestScore || score == bestScore && (stars < bestStars || stars == bestStars && r.Name < best.Name) {
			best, bestScore, bestStars = r, score, stars
		}
	}
	return best
}

// leastPrivilege proposes, from the access log, the smallest roles at the
// exercised scopes that replace an assignment: one per resource scope.
// It returns nil without usage.
func (f *findingCtx) leastPrivilege(as *authz.Assignment) (cmds []string, exercised int) {
	ops := f.exercised(as)
	if len(ops) == 0 {
		return nil, 0
	}
	byScope := map[string][]op{}
	var scopes []string
	for _, o := range ops {
		s := f.grantScope(o.scope)
		if _, ok := byScope[s]; !ok {
			scopes = append(scopes, s)
		}
		byScope[s] = append(byScope[s], o)
	}
	sort.Strings(scopes)
	for _, s := range scopes {
		if r := f.smallestRole(byScope[s]); r != nil {
			cmds = append(cmds, cmdCreateAssignment(as.PrincipalID, r.Name, f.displayID(s)))
		}
	}
	return cmds, len(ops)
}

// grantScope is where to grant a role for a request at scope: the
// top-level resource acted on (a vault for its secrets, an account for its
// containers).
func (f *findingCtx) grantScope(scope string) string {
	p, err := resourceid.Parse(scope)
	if err != nil || !p.IsResource() {
		return scope
	}
	return p.TopLevel().Key()
}

// displayID returns a resource's id in its own casing when known.
func (f *findingCtx) displayID(key string) string {
	if r := f.e.resourceByKey[strings.ToLower(key)]; r != nil {
		return r.ID
	}
	return key
}

// narrowScopes proposes the scopes at which to grant a role instead of a
// wide one: the resource groups the identity exercised it in, else those
// of its computes, else its own.
func (f *findingCtx) narrowScopes(ii int32, as *authz.Assignment) []string {
	groups := newSet(true)
	for _, o := range f.exercised(as) {
		groups.add(f.displayID(rgID(o.scope)))
	}
	if groups.len() == 0 {
		for _, ci := range f.holders[ii] {
			groups.add(f.displayID(rgID(f.g.computes[ci].ID)))
		}
	}
	if groups.len() == 0 {
		groups.add(f.displayID(rgID(f.g.ids[ii].Key)))
	}
	var out []string
	for _, g := range groups.list() {
		if g != "" && !strings.EqualFold(g, as.Scope) {
			out = append(out, g)
		}
	}
	return out
}
