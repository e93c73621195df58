package analyzer

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/mimic-emu/mimic/internal/aks"
	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/authorization"
	"github.com/mimic-emu/mimic/internal/arm/compute"
	"github.com/mimic-emu/mimic/internal/arm/containerservice"
	"github.com/mimic-emu/mimic/internal/arm/keyvault"
	"github.com/mimic-emu/mimic/internal/arm/msi"
	"github.com/mimic-emu/mimic/internal/arm/web"
	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/store"
)

// ComputeKind says what a compute node is.
type ComputeKind string

// Compute kinds.
const (
	VM             ComputeKind = "vm"
	WebApp         ComputeKind = "webapp"
	FunctionApp    ComputeKind = "functionapp"
	Cluster        ComputeKind = "aks"
	ServiceAccount ComputeKind = "serviceaccount"
)

// Compute is somewhere code runs: a VM, a site, an AKS cluster's nodes, or
// a pod running as one of its service accounts.
type Compute struct {
	ID   string
	Name string
	Kind ComputeKind
	// Identities are the keys (Identity.Key) of the identities code here can
	// get tokens for: attached ones, the kubelet identity of an AKS node,
	// and the federated identity of a service account.
	Identities []string
	// Cluster is a service account's cluster.
	Cluster string
	// IssuerURL is a cluster's OIDC issuer, when enabled.
	IssuerURL string
	// Subject is a service account's token subject.
	Subject string
	// Kubelet is the kubelet identity of a cluster's nodes, which its pods
	// reach through the node's IMDS.
	Kubelet string
	Tags    map[string]string
}

// IdentityKind says what an identity is.
type IdentityKind string

// Identity kinds.
const (
	UserAssigned   IdentityKind = "userAssigned"
	SystemAssigned IdentityKind = "systemAssigned"
)

// Identity is a managed identity.
type Identity struct {
	// Key is the identity's resource id: the user-assigned identity, or the
	// owning resource for a system-assigned one (as xms_mirid names it).
	Key         string
	Name        string
	Kind        IdentityKind
	PrincipalID string
	ClientID    string
	Federated   []msi.FederatedCredential
	Tags        map[string]string
}

// Resource is any ARM resource, group or subscription.
type Resource struct {
	ID   string
	Name string
	Type string
	Tags map[string]string
	// VaultAccessPolicies is true for a Key Vault in access-policy mode.
	VaultAccessPolicies bool
}

// Estate is everything the analyzer looks at, loaded from the store.
type Estate struct {
	Computes    []*Compute
	Identities  []*Identity
	Resources   []*Resource
	Assignments []authz.Assignment
	// Orphaned are assignments whose principal no longer exists.
	Orphaned []authz.Assignment
	Roles    []authz.Role
	Denies   []authz.DenyAssignment
	// SubscriptionNames maps subscription ids to display names.
	SubscriptionNames map[string]string

	engine    *authz.Engine
	overrides []Override
	// labels caches inferred labels; questions may come concurrently.
	labelsMu sync.Mutex
	labels   map[string]Labels
	// byKey indexes identities by lower-case Key and by principal id.
	identityByKey       map[string]*Identity
	identityByPrincipal map[string]*Identity
	computeByKey        map[string]*Compute
	resourceByKey       map[string]*Resource
}

// Load reads the estate from the store.
func Load(ctx context.Context, s store.Store) (*Estate, error) {
	e := &Estate{SubscriptionNames: map[string]string{}}
	roles := authz.BuiltinRoles()
	principals := map[string]*store.Principal{}
	err := s.View(ctx, func(tx store.Tx) error {
		ps, err := tx.ListPrincipals(ctx)
		if err != nil {
			return err
		}
		for _, p := range ps {
			principals[strings.ToLower(p.ObjectID)] = p
		}
		rs, err := tx.ListResources(ctx, store.ResourceFilter{})
		if err != nil {
			return err
		}
		for _, r := range rs {
			doc, err := arm.DecodeDoc(r.Body)
			if err != nil {
				return err
			}
			if err := e.add(ctx, tx, r.Type, doc, principals, &roles); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.Roles = roles
	return e, e.index()
}

// add files one stored document.
func (e *Estate) add(ctx context.Context, tx store.Tx, typ string, doc arm.Doc, principals map[string]*store.Principal, roles *[]authz.Role) error {
	id := doc.Str("id")
	tags := stringTags(doc)
	switch strings.ToLower(typ) {
	case strings.ToLower(authorization.AssignmentType):
		a := authorization.Assignment(doc)
		if principals[a.PrincipalID] == nil {
			e.Orphaned = append(e.Orphaned, a)
		}
		e.Assignments = append(e.Assignments, a)
		return nil
	case strings.ToLower(authorization.DefinitionType):
		*roles = append(*roles, authorization.CustomRole(doc))
		return nil
	case strings.ToLower(authorization.DenyType):
		e.Denies = append(e.Denies, authorization.Deny(doc))
		return nil
	case strings.ToLower(msi.FederatedType):
		return nil // read with their identity
	case "microsoft.resources/subscriptions":
		e.SubscriptionNames[strings.ToLower(doc.Str("subscriptionId"))] = doc.Str("displayName")
	case strings.ToLower(aks.ServiceAccountType):
		return e.addServiceAccount(doc)
	}
	res := &Resource{ID: id, Name: doc.Str("name"), Type: typ, Tags: tags}
	if strings.EqualFold(typ, keyvault.VaultType) {
		res.VaultAccessPolicies = !keyvault.ReadAccess(doc).RBAC
	}
	e.Resources = append(e.Resources, res)

	if strings.EqualFold(typ, msi.IdentityType) {
		props := doc.Obj("properties")
		fics, err := msi.FederatedCredentials(ctx, tx, id)
		if err != nil {
			return err
		}
		e.Identities = append(e.Identities, &Identity{Key: id, Name: doc.Str("name"), Kind: UserAssigned,
			PrincipalID: strings.ToLower(props.Str("principalId")), ClientID: strings.ToLower(props.Str("clientId")), Federated: fics, Tags: tags})
		return nil
	}
	kind, ok := computeKind(typ, doc)
	if !ok {
		return nil
	}
	c := &Compute{ID: id, Name: doc.Str("name"), Kind: kind, Tags: tags}
	if kind == Cluster {
		// Code on a cluster's nodes reaches the kubelet identity through
		// IMDS; the cluster's own identity belongs to its control plane.
		c.Kubelet = containerservice.KubeletIdentity(doc).Str("resourceId")
		if c.Kubelet != "" {
			c.Identities = []string{c.Kubelet}
		}
		c.IssuerURL = containerservice.IssuerURL(doc)
		e.Computes = append(e.Computes, c)
		return e.addSystemIdentity(doc, principals, tags)
	}
	system, users := arm.IdentityIDs(doc)
	if system {
		c.Identities = append(c.Identities, id)
	}
	c.Identities = append(c.Identities, users...)
	e.Computes = append(e.Computes, c)
	return e.addSystemIdentity(doc, principals, tags)
}

// addSystemIdentity files a resource's system-assigned identity, if any.
func (e *Estate) addSystemIdentity(doc arm.Doc, principals map[string]*store.Principal, tags map[string]string) error {
	if system, _ := arm.IdentityIDs(doc); !system {
		return nil
	}
	p := doc.Obj("identity").Str("principalId")
	e.Identities = append(e.Identities, &Identity{Key: doc.Str("id"), Name: doc.Str("name") + " (system-assigned)", Kind: SystemAssigned,
		PrincipalID: strings.ToLower(p), ClientID: strings.ToLower(principalClient(principals, p)), Tags: tags})
	return nil
}

func principalClient(ps map[string]*store.Principal, oid string) string {
	if p := ps[strings.ToLower(oid)]; p != nil {
		return p.ClientID
	}
	return ""
}

func computeKind(typ string, doc arm.Doc) (ComputeKind, bool) {
	switch {
	case strings.EqualFold(typ, compute.VMType):
		return VM, true
	case strings.EqualFold(typ, web.SiteType):
		if strings.Contains(strings.ToLower(doc.Str("kind")), "functionapp") {
			return FunctionApp, true
		}
		return WebApp, true
	case strings.EqualFold(typ, containerservice.ClusterType):
		return Cluster, true
	}
	return "", false
}

// addServiceAccount files an AKS service account as a compute: a pod that
// runs as it.
func (e *Estate) addServiceAccount(doc arm.Doc) error {
	id, err := resourceid.Parse(doc.Str("id"))
	if err != nil {
		return err
	}
	ns, name, ok := aks.SplitResourceName(id.Name())
	if !ok {
		return nil
	}
	p := doc.Obj("properties")
	c := &Compute{ID: doc.Str("id"), Name: id.Parent().Name() + "/" + ns + "/" + name, Kind: ServiceAccount,
		Cluster: id.Parent().String(), Subject: aks.Subject(ns, name), Tags: map[string]string{}}
	if clientID := p.Obj("annotations").Str(aks.AnnotationClientID); clientID != "" {
		c.Identities = append(c.Identities, "client:"+strings.ToLower(clientID))
	}
	e.Computes = append(e.Computes, c)
	return nil
}

func stringTags(doc arm.Doc) map[string]string {
	out := map[string]string{}
	for k, v := range doc.Obj("tags") {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// index builds the look-ups and resolves service accounts' identities,
// which are named by client id, and pods' node identities.
func (e *Estate) index() error {
	e.identityByKey = map[string]*Identity{}
	e.identityByPrincipal = map[string]*Identity{}
	byClient := map[string]*Identity{}
	for _, id := range e.Identities {
		e.identityByKey[strings.ToLower(id.Key)] = id
		e.identityByPrincipal[id.PrincipalID] = id
		if id.ClientID != "" {
			byClient[id.ClientID] = id
		}
	}
	e.computeByKey = map[string]*Compute{}
	for _, c := range e.Computes {
		e.computeByKey[strings.ToLower(c.ID)] = c
	}
	e.resourceByKey = map[string]*Resource{}
	for _, r := range e.Resources {
		e.resourceByKey[strings.ToLower(r.ID)] = r
	}
	for _, c := range e.Computes {
		if c.Kind != ServiceAccount {
			continue
		}
		var ids []string
		for _, ref := range c.Identities {
			if id := byClient[strings.TrimPrefix(ref, "client:")]; id != nil && federatedWith(id, c, e.computeByKey[strings.ToLower(c.Cluster)]) {
				ids = append(ids, id.Key)
			}
		}
		// A pod reaches its node's IMDS, which hands out the kubelet identity.
		if cl := e.computeByKey[strings.ToLower(c.Cluster)]; cl != nil {
			if cl.Kubelet != "" {
				ids = append(ids, cl.Kubelet)
			}
			c.Tags = cl.Tags
		}
		c.Identities = ids
	}
	sort.Slice(e.Computes, func(i, j int) bool { return e.Computes[i].ID < e.Computes[j].ID })
	engine, err := authz.New(e.Roles, e.Assignments, e.Denies)
	if err != nil {
		return err
	}
	e.engine = engine
	return nil
}

// federatedWith reports whether an identity trusts the service account's
// tokens: a credential with the cluster's issuer and the account's subject.
func federatedWith(id *Identity, sa *Compute, cluster *Compute) bool {
	if cluster == nil || cluster.IssuerURL == "" {
		return false
	}
	for _, f := range id.Federated {
		if f.Issuer == cluster.IssuerURL && f.Subject == sa.Subject {
			return true
		}
	}
	return false
}

// Engine is the estate's authorization engine.
func (e *Estate) Engine() *authz.Engine { return e.engine }

// Identity returns an identity by key or principal id.
func (e *Estate) Identity(keyOrPrincipal string) *Identity {
	if id := e.identityByKey[strings.ToLower(keyOrPrincipal)]; id != nil {
		return id
	}
	return e.identityByPrincipal[strings.ToLower(keyOrPrincipal)]
}

// Compute returns a compute by id.
func (e *Estate) Compute(id string) *Compute { return e.computeByKey[strings.ToLower(id)] }

// Resource returns a resource by id.
func (e *Estate) Resource(id string) *Resource { return e.resourceByKey[strings.ToLower(id)] }

// Assemble indexes an estate built in memory (imports, tests, generated
// estates) as Load does one read from the store. The built-in roles are
// added to e.Roles if it holds none.
func Assemble(e *Estate) (*Estate, error) {
	if len(e.Roles) == 0 {
		e.Roles = authz.BuiltinRoles()
	}
	if e.SubscriptionNames == nil {
		e.SubscriptionNames = map[string]string{}
	}
	return e, e.index()
}
