package analyzer

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mimic-emu/mimic/internal/arm/msi"
	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/resourceid"
)

// A plan is a list of proposed changes to an estate. Applying it to a copy
// of the estate (ApplyPlan) and analyzing the copy shows, before anything
// is changed in Azure, how every blast radius would change (Diff).

// Change operations.
const (
	// OpCreateIdentity creates a user-assigned identity: Identity is its
	// resource id.
	OpCreateIdentity = "createIdentity"
	// OpDeleteIdentity deletes an identity; its role assignments stay,
	// orphaned, as Azure leaves them.
	OpDeleteIdentity = "deleteIdentity"
	// OpAddAssignment grants Role at Scope to Identity (Assignment may
	// name the new assignment's id).
	OpAddAssignment = "addAssignment"
	// OpRemoveAssignment deletes the role assignment Assignment.
	OpRemoveAssignment = "removeAssignment"
	// OpAttachIdentity attaches Identity to Compute: a VM's or site's
	// user-assigned identity, an AKS cluster's kubelet identity (it
	// replaces the old one), or a service account's federated identity
	// (a federated credential for its subject is added when missing).
	OpAttachIdentity = "attachIdentity"
	// OpDetachIdentity detaches Identity from Compute (for a service
	// account: deletes the identity's federated credentials for it).
	OpDetachIdentity = "detachIdentity"
	// OpAddFederatedCredential adds a federated credential (Name, Issuer,
	// Subject) to Identity. A service account of the estate with that
	// issuer and subject can then get its tokens.
	OpAddFederatedCredential = "addFederatedCredential"
	// OpRemoveFederatedCredential deletes Identity's credential Name.
	OpRemoveFederatedCredential = "removeFederatedCredential"
	// OpCreateRole creates the custom role RoleDefinition, which later
	// changes name by its name.
	OpCreateRole = "createRole"
)

// ChangeOps lists the operations a plan may use.
var ChangeOps = []string{OpCreateIdentity, OpDeleteIdentity, OpAddAssignment, OpRemoveAssignment, OpAttachIdentity, OpDetachIdentity,
	OpAddFederatedCredential, OpRemoveFederatedCredential, OpCreateRole}

// Change is one proposed change. Identities are named by resource id,
// principal id or unique name; computes by resource id or unique name;
// roles by name, GUID or role definition id.
type Change struct {
	Op             string          `json:"op"`
	Identity       string          `json:"identity,omitempty"`
	Compute        string          `json:"compute,omitempty"`
	Role           string          `json:"role,omitempty"`
	Scope          string          `json:"scope,omitempty"`
	Assignment     string          `json:"assignment,omitempty"`
	Name           string          `json:"name,omitempty"`
	Issuer         string          `json:"issuer,omitempty"`
	Subject        string          `json:"subject,omitempty"`
	RoleDefinition *RoleDefinition `json:"roleDefinition,omitempty"`
}

// RoleDefinition is a custom role in the shape `az role definition create
// --role-definition` reads.
type RoleDefinition struct {
	Name             string   `json:"name"`
	IsCustom         bool     `json:"isCustom"`
	Description      string   `json:"description,omitempty"`
	Actions          []string `json:"actions"`
	NotActions       []string `json:"notActions"`
	DataActions      []string `json:"dataActions"`
	NotDataActions   []string `json:"notDataActions"`
	AssignableScopes []string `json:"assignableScopes"`
}

// Plan is a list of changes, applied in order.
type Plan struct {
	Changes []Change `json:"changes"`
}

// ParsePlan reads a plan: {"changes": [...]}, or the list of changes alone.
func ParsePlan(b []byte) (Plan, error) {
	var p Plan
	b = bytes.TrimSpace(b)
	dec := func(v any) error {
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields()
		return d.Decode(v)
	}
	var err error
	if len(b) > 0 && b[0] == '[' {
		err = dec(&p.Changes)
	} else {
		err = dec(&p)
	}
	if err != nil {
		return Plan{}, fmt.Errorf("the plan is not valid JSON of changes: %w", err)
	}
	if len(p.Changes) == 0 {
		return Plan{}, fmt.Errorf("the plan has no changes")
	}
	for i, c := range p.Changes {
		if !slices.Contains(ChangeOps, c.Op) {
			return Plan{}, fmt.Errorf("change %d: unknown op %q: use %s", i+1, c.Op, strings.Join(ChangeOps, ", "))
		}
	}
	return p, nil
}

// touched names what a plan changes: identities (by lower-case key) and
// computes (by lower-case id), whose blast radii, and those of whatever
// reaches them, may change.
type touched struct {
	identities map[string]bool
	computes   map[string]bool
	// grants are the identities whose own grants change: assignments
	// added or removed, identities created or deleted.
	grants map[string]bool
	// resources are the resources created or deleted (lower-case ids):
	// every grant at or above them reaches something else.
	resources map[string]bool
}

func newTouched() touched {
	return touched{identities: map[string]bool{}, computes: map[string]bool{}, grants: map[string]bool{}, resources: map[string]bool{}}
}

// grant marks an identity's grants changed.
func (t touched) grant(id *Identity) {
	t.identities[strings.ToLower(id.Key)] = true
	t.grants[strings.ToLower(id.Key)] = true
}

// ApplyPlan applies a plan to a copy of the estate and returns the copy,
// indexed. The estate itself is not changed.
func ApplyPlan(e *Estate, p Plan) (*Estate, error) {
	c, _, err := applyPlan(e, p)
	return c, err
}

func applyPlan(e *Estate, p Plan) (*Estate, touched, error) {
	t := newTouched()
	c := e.clone()
	pl := &planner{e: c, t: t, assignable: map[string][]string{}}
	for i, ch := range p.Changes {
		if err := pl.apply(ch); err != nil {
			return nil, t, fmt.Errorf("change %d (%s): %w", i+1, ch.Op, err)
		}
	}
	if _, err := Assemble(c); err != nil {
		return nil, t, err
	}
	return c, t, nil
}

// clone copies what a plan may change; resources, tags and deny
// assignments are shared. Service accounts get back the client-id
// references index resolved, so that the copy resolves them again.
func (e *Estate) clone() *Estate {
	c := &Estate{
		Resources:         slices.Clone(e.Resources),
		Assignments:       slices.Clone(e.Assignments),
		Orphaned:          slices.Clone(e.Orphaned),
		Roles:             slices.Clone(e.Roles),
		Denies:            e.Denies,
		SubscriptionNames: e.SubscriptionNames,
		overrides:         e.overrides,
	}
	for _, id := range e.Identities {
		cp := *id
		cp.Federated = slices.Clone(id.Federated)
		c.Identities = append(c.Identities, &cp)
	}
	for _, comp := range e.Computes {
		cp := *comp
		cp.Identities = slices.Clone(comp.Identities)
		if comp.Kind == ServiceAccount {
			cp.Identities = nil
			cl := e.Compute(comp.Cluster)
			for _, key := range comp.Identities {
				if id := e.Identity(key); id != nil && id.ClientID != "" && (cl == nil || !strings.EqualFold(cl.Kubelet, key)) {
					cp.Identities = append(cp.Identities, "client:"+id.ClientID)
				}
			}
		}
		c.Computes = append(c.Computes, &cp)
	}
	return c
}

// planner applies changes to a copy, whose indexes are stale until it is
// assembled: it looks things up in the slices.
type planner struct {
	e *Estate
	t touched
	// assignable are the assignable scopes of roles the plan created.
	assignable map[string][]string
}

func (pl *planner) apply(ch Change) error {
	switch ch.Op {
	case OpCreateIdentity:
		return pl.createIdentity(ch)
	case OpDeleteIdentity:
		id, err := pl.identity(ch.Identity)
		if err != nil {
			return err
		}
		pl.deleteIdentity(id)
		return nil
	case OpAddAssignment:
		return pl.addAssignment(ch)
	case OpRemoveAssignment:
		return pl.removeAssignment(ch.Assignment)
	case OpAttachIdentity, OpDetachIdentity:
		id, err := pl.identity(ch.Identity)
		if err != nil {
			return err
		}
		c, err := pl.compute(ch.Compute)
		if err != nil {
			return err
		}
		pl.t.computes[strings.ToLower(c.ID)] = true
		if ch.Op == OpAttachIdentity {
			return pl.attach(id, c)
		}
		return pl.detach(id, c)
	case OpAddFederatedCredential:
		return pl.addFederated(ch)
	case OpRemoveFederatedCredential:
		id, err := pl.identity(ch.Identity)
		if err != nil {
			return err
		}
		n := len(id.Federated)
		id.Federated = slices.DeleteFunc(id.Federated, func(f msi.FederatedCredential) bool { return strings.EqualFold(f.Name, ch.Name) })
		if len(id.Federated) == n {
			return fmt.Errorf("%s has no federated credential %q", id.Name, ch.Name)
		}
		return nil
	case OpCreateRole:
		return pl.createRole(ch.RoleDefinition)
	}
	return fmt.Errorf("unknown op %q: use %s", ch.Op, strings.Join(ChangeOps, ", "))
}

// identity finds an identity of the copy by key, principal id or unique
// name, and marks it touched.
func (pl *planner) identity(ref string) (*Identity, error) {
	id, err := lookup("identity", ref, pl.e.Identities, func(id *Identity) bool {
		return strings.EqualFold(id.Key, ref) || strings.EqualFold(id.PrincipalID, ref)
	}, func(id *Identity) string { return id.Name })
	if err == nil {
		pl.t.identities[strings.ToLower(id.Key)] = true
	}
	return id, err
}

// compute finds a compute of the copy by id or unique name.
func (pl *planner) compute(ref string) (*Compute, error) {
	return lookup("compute", ref, pl.e.Computes, func(c *Compute) bool { return strings.EqualFold(c.ID, ref) },
		func(c *Compute) string { return c.Name })
}

// lookup finds the item ref names exactly, else the only one named ref.
func lookup[T any](what, ref string, items []T, exact func(T) bool, name func(T) string) (T, error) {
	var zero T
	if ref == "" {
		return zero, fmt.Errorf("'%s' is required", what)
	}
	var byName []T
	for _, it := range items {
		if exact(it) {
			return it, nil
		}
		if strings.EqualFold(name(it), ref) {
			byName = append(byName, it)
		}
	}
	switch len(byName) {
	case 0:
		return zero, fmt.Errorf("no %s %q", what, ref)
	case 1:
		return byName[0], nil
	}
	return zero, fmt.Errorf("%q names %d of them, not one %s: use a resource id", ref, len(byName), what)
}

// plannedGUID derives a stable GUID for something a plan creates.
func plannedGUID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.ToLower(strings.Join(parts, "\x00"))))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func (pl *planner) createIdentity(ch Change) error {
	id, err := resourceid.Parse(ch.Identity)
	if err != nil || !strings.EqualFold(id.Type(), msi.IdentityType) {
		return fmt.Errorf("'identity' must be the new user-assigned identity's resource id (…/providers/%s/NAME), not %q", msi.IdentityType, ch.Identity)
	}
	key := id.String()
	for _, x := range pl.e.Identities {
		if strings.EqualFold(x.Key, key) {
			return fmt.Errorf("identity %s exists", key)
		}
	}
	pl.e.Identities = append(pl.e.Identities, &Identity{Key: key, Name: id.Name(), Kind: UserAssigned,
		PrincipalID: plannedGUID("principal", key), ClientID: plannedGUID("client", key), Tags: map[string]string{}})
	pl.e.Resources = append(pl.e.Resources, &Resource{ID: key, Name: id.Name(), Type: msi.IdentityType, Tags: map[string]string{}})
	pl.t.grant(pl.e.Identities[len(pl.e.Identities)-1])
	pl.t.resources[strings.ToLower(key)] = true
	return nil
}

func (pl *planner) deleteIdentity(id *Identity) {
	e := pl.e
	pl.t.grant(id)
	e.Identities = slices.DeleteFunc(e.Identities, func(x *Identity) bool { return x == id })
	if id.Kind == UserAssigned {
		e.Resources = slices.DeleteFunc(e.Resources, func(r *Resource) bool { return strings.EqualFold(r.ID, id.Key) })
		pl.t.resources[strings.ToLower(id.Key)] = true
	}
	for _, c := range e.Computes {
		n := len(c.Identities)
		c.Identities = slices.DeleteFunc(c.Identities, func(k string) bool {
			return strings.EqualFold(k, id.Key) || id.ClientID != "" && strings.EqualFold(k, "client:"+id.ClientID)
		})
		if strings.EqualFold(c.Kubelet, id.Key) {
			c.Kubelet = ""
		}
		if len(c.Identities) != n {
			pl.t.computes[strings.ToLower(c.ID)] = true
		}
	}
	for _, a := range e.Assignments {
		if strings.EqualFold(a.PrincipalID, id.PrincipalID) {
			e.Orphaned = append(e.Orphaned, a)
		}
	}
}

// role finds a role of the copy by GUID, definition id or name.
func (pl *planner) role(ref string) (*authz.Role, error) {
	if ref == "" {
		return nil, fmt.Errorf("'role' is required")
	}
	guid := ref
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		guid = ref[i+1:]
	}
	for i := range pl.e.Roles {
		if r := &pl.e.Roles[i]; strings.EqualFold(r.ID, guid) || strings.EqualFold(r.Name, ref) {
			return r, nil
		}
	}
	return nil, fmt.Errorf("no role %q", ref)
}

func (pl *planner) addAssignment(ch Change) error {
	id, err := pl.identity(ch.Identity)
	if err != nil {
		return err
	}
	r, err := pl.role(ch.Role)
	if err != nil {
		return err
	}
	scope, err := resourceid.Parse(ch.Scope)
	if err != nil {
		return fmt.Errorf("'scope' must be a resource id: %w", err)
	}
	if scopes, ok := pl.assignable[strings.ToLower(r.ID)]; ok && !slices.ContainsFunc(scopes, func(s string) bool {
		p, err := resourceid.Parse(s)
		return err == nil && p.Contains(scope)
	}) {
		return fmt.Errorf("role %q is not assignable at %s: its assignable scopes are %s", r.Name, scope, strings.Join(scopes, ", "))
	}
	aid := ch.Assignment
	if aid == "" {
		aid = strings.TrimSuffix(scope.String(), "/") + "/providers/Microsoft.Authorization/roleAssignments/" + plannedGUID(id.PrincipalID, r.ID, scope.Key())
	}
	for _, a := range pl.e.Assignments {
		if strings.EqualFold(a.ID, aid) {
			return fmt.Errorf("role assignment %s exists", aid)
		}
	}
	pl.e.Assignments = append(pl.e.Assignments, authz.Assignment{ID: aid, PrincipalID: id.PrincipalID, RoleID: r.ID, Scope: scope.String()})
	pl.t.grant(id)
	return nil
}

func (pl *planner) removeAssignment(aid string) error {
	if aid == "" {
		return fmt.Errorf("'assignment' is required")
	}
	e := pl.e
	i := slices.IndexFunc(e.Assignments, func(a authz.Assignment) bool { return strings.EqualFold(a.ID, aid) })
	if i < 0 {
		return fmt.Errorf("no role assignment %s", aid)
	}
	if id := pl.principal(e.Assignments[i].PrincipalID); id != nil {
		pl.t.grant(id)
	}
	e.Assignments = slices.Delete(e.Assignments, i, i+1)
	e.Orphaned = slices.DeleteFunc(e.Orphaned, func(a authz.Assignment) bool { return strings.EqualFold(a.ID, aid) })
	return nil
}

func (pl *planner) principal(p string) *Identity {
	for _, id := range pl.e.Identities {
		if strings.EqualFold(id.PrincipalID, p) {
			return id
		}
	}
	return nil
}

// cluster returns a service account's cluster.
func (pl *planner) cluster(sa *Compute) (*Compute, error) {
	for _, c := range pl.e.Computes {
		if strings.EqualFold(c.ID, sa.Cluster) {
			if c.IssuerURL == "" {
				return nil, fmt.Errorf("cluster %s has no OIDC issuer: its service accounts cannot federate", c.Name)
			}
			return c, nil
		}
	}
	return nil, fmt.Errorf("no cluster %s", sa.Cluster)
}

func (pl *planner) attach(id *Identity, c *Compute) error {
	switch c.Kind {
	case Cluster:
		c.Kubelet, c.Identities = id.Key, []string{id.Key}
	case ServiceAccount:
		cl, err := pl.cluster(c)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(id.Federated, func(f msi.FederatedCredential) bool { return f.Issuer == cl.IssuerURL && f.Subject == c.Subject }) {
			ns, sa := serviceAccountName(c)
			name := cl.Name + "-" + ns + "-" + sa
			id.Federated = append(id.Federated, msi.FederatedCredential{ID: id.Key + "/federatedIdentityCredentials/" + name, Name: name,
				Issuer: cl.IssuerURL, Subject: c.Subject, Audiences: []string{"api://AzureADTokenExchange"}})
		}
		c.Identities = appendRef(c.Identities, "client:"+id.ClientID)
	default:
		if id.Kind == SystemAssigned && !strings.EqualFold(id.Key, c.ID) {
			return fmt.Errorf("%s is the system-assigned identity of another resource", id.Name)
		}
		c.Identities = appendRef(c.Identities, id.Key)
	}
	return nil
}

func appendRef(refs []string, ref string) []string {
	if slices.ContainsFunc(refs, func(r string) bool { return strings.EqualFold(r, ref) }) {
		return refs
	}
	return append(refs, ref)
}

func (pl *planner) detach(id *Identity, c *Compute) error {
	switch c.Kind {
	case Cluster:
		if !strings.EqualFold(c.Kubelet, id.Key) {
			return fmt.Errorf("%s is not the kubelet identity of %s", id.Name, c.Name)
		}
		c.Kubelet, c.Identities = "", nil
		return nil
	case ServiceAccount:
		cl, err := pl.cluster(c)
		if err != nil {
			return err
		}
		id.Federated = slices.DeleteFunc(id.Federated, func(f msi.FederatedCredential) bool { return f.Issuer == cl.IssuerURL && f.Subject == c.Subject })
	}
	n := len(c.Identities)
	c.Identities = slices.DeleteFunc(c.Identities, func(k string) bool {
		return strings.EqualFold(k, id.Key) || strings.EqualFold(k, "client:"+id.ClientID)
	})
	if len(c.Identities) == n {
		return fmt.Errorf("%s does not hold %s", c.Name, id.Name)
	}
	return nil
}

func (pl *planner) addFederated(ch Change) error {
	id, err := pl.identity(ch.Identity)
	if err != nil {
		return err
	}
	if id.Kind != UserAssigned {
		return fmt.Errorf("only user-assigned identities have federated credentials")
	}
	if ch.Name == "" || ch.Issuer == "" || ch.Subject == "" {
		return fmt.Errorf("'name', 'issuer' and 'subject' are required")
	}
	if slices.ContainsFunc(id.Federated, func(f msi.FederatedCredential) bool { return strings.EqualFold(f.Name, ch.Name) }) {
		return fmt.Errorf("%s has a federated credential %q", id.Name, ch.Name)
	}
	id.Federated = append(id.Federated, msi.FederatedCredential{ID: id.Key + "/federatedIdentityCredentials/" + ch.Name, Name: ch.Name,
		Issuer: ch.Issuer, Subject: ch.Subject, Audiences: []string{"api://AzureADTokenExchange"}})
	// A pod of a service account with that subject can now exchange its
	// token for the identity's.
	for _, sa := range pl.e.Computes {
		if sa.Kind != ServiceAccount || sa.Subject != ch.Subject {
			continue
		}
		if cl, err := pl.cluster(sa); err == nil && cl.IssuerURL == ch.Issuer {
			sa.Identities = appendRef(sa.Identities, "client:"+id.ClientID)
			pl.t.computes[strings.ToLower(sa.ID)] = true
		}
	}
	return nil
}

func (pl *planner) createRole(d *RoleDefinition) error {
	if d == nil || d.Name == "" {
		return fmt.Errorf("'roleDefinition' with a 'name' is required")
	}
	if len(d.Actions)+len(d.DataActions) == 0 {
		return fmt.Errorf("role %q grants no actions or data actions", d.Name)
	}
	if len(d.AssignableScopes) == 0 {
		return fmt.Errorf("role %q has no assignableScopes", d.Name)
	}
	for _, s := range d.AssignableScopes {
		if _, err := resourceid.Parse(s); err != nil {
			return fmt.Errorf("role %q: assignable scope %q: %w", d.Name, s, err)
		}
	}
	if _, err := pl.role(d.Name); err == nil {
		return fmt.Errorf("a role named %q exists", d.Name)
	}
	r := authz.Role{ID: plannedGUID("role", d.Name), Name: d.Name, Permissions: []authz.Permission{{
		Actions: d.Actions, NotActions: d.NotActions, DataActions: d.DataActions, NotDataActions: d.NotDataActions}}}
	pl.e.Roles = append(pl.e.Roles, r)
	pl.assignable[strings.ToLower(r.ID)] = d.AssignableScopes
	return nil
}
