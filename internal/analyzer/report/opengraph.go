package report

import (
	"sort"
	"strings"

	"github.com/mimic-emu/mimic/internal/analyzer"
)

// BloodHound OpenGraph: {"metadata": {"source_kind"}, "graph": {"nodes":
// [{id, kinds, properties}], "edges": [{start: {match_by, value}, end,
// kind, properties}]}}, as BloodHound's upload schema (node.json,
// edge.json, metadata.json of its jsonschema) defines it: node ids are
// strings, the first kind is the primary (display) kind, property values
// are strings, numbers, booleans or homogeneous arrays of them (never
// objects or null), edge kinds match ^[A-Za-z0-9_]+$ and edges always
// carry properties.
//
// The graph is that of the findings: their identities, computes,
// federated issuers, role assignments (as MimicHasRole edges to their
// scope), every step of their paths, and the resources their blast radius
// adds; each finding is a MimicFinding node with a MimicAffects edge to
// what it is about. Kinds are prefixed Mimic so that they never collide
// with BloodHound's own AZ kinds. Node ids are lower-case Azure resource
// ids; a system-assigned identity's id is its resource's followed by
// "#systemassigned".

// SourceKind is the OpenGraph source kind of mimic's nodes.
const SourceKind = "Mimic"

type ogGraph struct {
	Metadata ogMetadata `json:"metadata"`
	Graph    ogBody     `json:"graph"`
}

type ogMetadata struct {
	SourceKind string `json:"source_kind"`
}

type ogBody struct {
	Nodes []ogNode `json:"nodes"`
	Edges []ogEdge `json:"edges"`
}

type ogNode struct {
	ID         string         `json:"id"`
	Kinds      []string       `json:"kinds"`
	Properties map[string]any `json:"properties"`
}

type ogEdge struct {
	Start      ogRef          `json:"start"`
	End        ogRef          `json:"end"`
	Kind       string         `json:"kind"`
	Properties map[string]any `json:"properties"`
}

type ogRef struct {
	MatchBy string `json:"match_by"`
	Value   string `json:"value"`
}

// edgeKinds name path steps as OpenGraph edge kinds.
var edgeKinds = map[string]string{
	"token": "MimicCanGetToken", "federated": "MimicFederatedToken", "holds": "MimicHasRole",
	"runCommand": "MimicRunCommand", "write": "MimicWrite", "clusterAdmin": "MimicClusterAdmin",
	"assign": "MimicAssignIdentity", "federatedCredentialWrite": "MimicWriteFederatedCredential",
	"roleAssignmentWrite": "MimicWriteRoleAssignments", "nodeAccess": "MimicNodeAccess", "control": "MimicControl",
	"grants": "MimicGrants", "listKeys": "MimicListKeys", "accessPolicyWrite": "MimicWriteAccessPolicy",
	"trusts": "MimicCanFederate", "affects": "MimicAffects",
}

var computeKinds = map[string]string{"vm": "MimicVirtualMachine", "webapp": "MimicWebApp", "functionapp": "MimicFunctionApp",
	"aks": "MimicAKSCluster", "serviceaccount": "MimicServiceAccount"}

var resourceKinds = map[string]string{
	"microsoft.keyvault/vaults":                                  "MimicKeyVault",
	"microsoft.storage/storageaccounts":                          "MimicStorageAccount",
	"microsoft.resources/resourcegroups":                         "MimicResourceGroup",
	"microsoft.resources/subscriptions":                          "MimicSubscription",
	"microsoft.sql/servers":                                      "MimicSQLServer",
	"microsoft.managedidentity/userassignedidentities":           "MimicUserAssignedIdentity",
	"microsoft.compute/virtualmachines":                          "MimicVirtualMachine",
	"microsoft.web/sites":                                        "MimicWebApp",
	"microsoft.containerservice/managedclusters":                 "MimicAKSCluster",
	"microsoft.authorization/roleassignments":                    "MimicRoleAssignment",
	"microsoft.containerservice/managedclusters/serviceaccounts": "MimicServiceAccount",
}

// findingsGraph draws the findings.
func findingsGraph(rep *analyzer.Report) *pgraph {
	g := newGraph()
	for i := range rep.Findings {
		ev := &rep.Findings[i].Evidence
		for _, c := range ev.Computes {
			g.computes[strings.ToLower(c.ID)] = true
		}
		if ev.Identity != nil {
			g.identities[strings.ToLower(ev.Identity.ID)] = true
		}
	}
	label := func(n *gnode, env, team *analyzer.Label) {
		if env != nil {
			n.env = env.Value
			n.props["environment_source"] = env.Source
		}
		if team != nil {
			n.team = team.Value
			n.props["team_source"] = team.Source
		}
	}
	for i := range rep.Findings {
		f := &rep.Findings[i]
		ev := &f.Evidence
		fn := g.node(roleFinding, f.ID)
		fn.name, fn.kind = f.Title, f.Rule
		fn.props["rule"], fn.props["severity"], fn.props["message"] = f.Rule, string(f.Severity), f.Message
		fn.props["fix"], fn.props["fix_commands"] = f.Fix.Summary, append([]string{}, f.Fix.Commands...)
		var id *gnode
		if ev.Identity != nil {
			id = g.node(roleIdentity, ev.Identity.ID)
			id.name, id.kind = ev.Identity.Name, ev.Identity.Kind
			label(id, ev.Identity.Environment, ev.Identity.Team)
			if ev.Identity.PrincipalID != "" {
				id.props["principalid"] = ev.Identity.PrincipalID
			}
			if ev.Identity.ClientID != "" {
				id.props["clientid"] = ev.Identity.ClientID
			}
			g.edge(fn, id, "affects", "affects")
		}
		for _, c := range ev.Computes {
			n := g.node(roleCompute, c.ID)
			n.name, n.kind = c.Name, c.Kind
			label(n, c.Environment, c.Team)
			if id != nil && f.Rule != analyzer.RuleEscalationPath {
				// Identity rules list the identity's holders.
				g.edge(n, id, "token", "token")
			}
		}
		for _, fc := range ev.Federated {
			iss := g.node(roleIssuer, fc.Issuer)
			iss.name, iss.kind = fc.Issuer, fc.System
			if id != nil {
				e := g.edge(iss, id, "trusts", "trusts "+fc.Subject)
				e.props["subject"], e.props["credential"] = fc.Subject, fc.Name
			}
		}
		for _, a := range ev.Assignments {
			from := id
			if from == nil {
				from = g.node(rolePrincipal, a.PrincipalID)
				from.name, from.kind = a.PrincipalID, "deleted principal"
			}
			scope := g.node(roleResource, a.Scope)
			if e := g.edge(from, scope, "holds", "holds: "+a.Role); e != nil {
				e.props["role"], e.props["roledefinitionid"], e.props["roleassignmentid"] = a.Role, a.RoleID, a.ID
			}
		}
		if strings.Contains(strings.ToLower(f.Resource), "/roleassignments/") && ev.Identity == nil && len(ev.Assignments) > 0 {
			// an orphaned assignment: the finding affects its scope.
			g.edge(fn, g.node(roleResource, ev.Assignments[0].Scope), "affects", "affects")
		}
		for _, p := range ev.Paths {
			g.addPath(p.Steps)
		}
		if f.Adds != nil {
			for _, r := range f.Adds.Resources {
				n := g.node(roleResource, r.Resource)
				n.kind, n.env, n.team = r.Type, r.Environment, r.Team
			}
		}
	}
	return g
}

// OpenGraph converts a findings report into a BloodHound OpenGraph.
func OpenGraph(rep *analyzer.Report) any {
	g := findingsGraph(rep)
	// Which findings touch each node: the ones that affect it.
	findings := map[string][]string{}
	worst := map[string]analyzer.Severity{}
	for i := range rep.Findings {
		f := &rep.Findings[i]
		var keys []string
		if f.Evidence.Identity != nil {
			keys = append(keys, nodeKey(roleIdentity, f.Evidence.Identity.ID))
		}
		keys = append(keys, strings.ToLower(f.Resource))
		for _, k := range keys {
			if _, ok := g.nodes[k]; !ok || contains(findings[k], f.Rule) {
				continue
			}
			findings[k] = append(findings[k], f.Rule)
			if f.Severity.Rank() > worst[k].Rank() {
				worst[k] = f.Severity
			}
		}
	}
	out := ogGraph{Metadata: ogMetadata{SourceKind: SourceKind}, Graph: ogBody{Nodes: []ogNode{}, Edges: []ogEdge{}}}
	for _, n := range g.sortedNodes() {
		props := map[string]any{"name": n.name}
		for k, v := range n.props {
			props[k] = v
		}
		if !n.roles[roleFinding] && !n.roles[roleIssuer] && !n.roles[rolePrincipal] {
			props["resourceid"] = n.id
		}
		if n.roles[roleIssuer] {
			props["issuer"] = n.id
		}
		if n.kind != "" {
			props["type"] = n.kind
		}
		if n.env != "" {
			props["environment"] = n.env
		}
		if n.team != "" {
			props["team"] = n.team
		}
		if fs := findings[n.key]; len(fs) > 0 {
			sort.Strings(fs)
			props["findings"], props["max_severity"] = fs, string(worst[n.key])
		}
		out.Graph.Nodes = append(out.Graph.Nodes, ogNode{ID: n.key, Kinds: ogKinds(n), Properties: props})
	}
	for _, e := range g.sortedEdges() {
		props := map[string]any{"label": e.label}
		for k, v := range e.props {
			props[k] = v
		}
		kind := edgeKinds[e.kind]
		if kind == "" {
			kind = "MimicRelated"
		}
		out.Graph.Edges = append(out.Graph.Edges, ogEdge{Start: ogRef{MatchBy: "id", Value: e.from}, End: ogRef{MatchBy: "id", Value: e.to},
			Kind: kind, Properties: props})
	}
	return out
}

// ogKinds lists a node's kinds, primary first.
func ogKinds(n *gnode) []string {
	var kinds []string
	add := func(k string) {
		if k != "" && !contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	switch n.primaryRole() {
	case roleFinding:
		add("MimicFinding")
	case roleIssuer:
		add("MimicFederatedIssuer")
	case rolePrincipal:
		add("MimicDeletedPrincipal")
	case roleCompute:
		add(computeKinds[n.kind])
		add(resourceKinds[strings.ToLower(n.kind)])
		add("MimicCompute")
	case roleIdentity:
		if strings.HasSuffix(n.key, "#systemassigned") {
			add("MimicSystemAssignedIdentity")
		} else {
			add("MimicUserAssignedIdentity")
		}
		add("MimicManagedIdentity")
	default:
		add(resourceKinds[strings.ToLower(n.kind)])
	}
	if n.roles[roleCompute] && n.primaryRole() != roleCompute {
		add("MimicCompute")
	}
	if n.roles[roleResource] || n.roles[roleCompute] || (n.roles[roleIdentity] && !strings.HasSuffix(n.key, "#systemassigned")) {
		add("MimicResource")
	}
	return kinds
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
