package aks

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/containerservice"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/store"
)

// ServiceAccountType is mimic's own resource type for service accounts.
const ServiceAccountType = containerservice.ClusterType + "/serviceAccounts"

// TokenPermission is what POST {serviceAccountId}/token requires: the
// action that yields cluster-admin credentials, with which any service
// account's token can be requested from Kubernetes.
const TokenPermission = containerservice.ClusterType + "/listClusterAdminCredential/action"

// APIVersion is the api-version mimic's clients use for service accounts;
// every managed-cluster api-version is accepted.
const APIVersion = "2025-02-01"

// Register adds the service account type, with its token action, to r.
func (p *Plane) Register(r *arm.Registry) {
	r.Register(&arm.Type{
		Name: ServiceAccountType, APIVersions: append([]string(nil), containerservice.APIVersions...),
		Placement: arm.ChildOf, Parent: containerservice.ClusterType,
		Prepare: prepareServiceAccount,
		Actions: map[string]*arm.Action{"token": {Permission: TokenPermission, Handle: p.tokenAction}},
	})
}

// ServiceAccountID is the resource id of a service account of a cluster.
func ServiceAccountID(clusterID, namespace, name string) string {
	return clusterID + "/serviceAccounts/" + ResourceName(namespace, name)
}

// prepareServiceAccount validates a service account as Kubernetes would
// and keeps its uid across updates.
func prepareServiceAccount(c *arm.Call, old, doc arm.Doc) error {
	ns, name, ok := SplitResourceName(doc.Str("name"))
	if !ok {
		return armerr.BadRequest("InvalidResourceName",
			"The service account resource name '%s' is invalid: name it {namespace}.{name}, such as 'default.app'.", doc.Str("name"))
	}
	in := doc.Obj("properties")
	for field, want := range map[string]string{"namespace": ns, "name": name} {
		if got := in.Str(field); got != "" && got != want {
			return armerr.BadRequest("InvalidServiceAccount",
				"properties.%s is '%s' but the resource name '%s' says '%s'.", field, got, doc.Str("name"), want)
		}
	}
	sa := ServiceAccount{Namespace: ns, Name: name}
	var err error
	if sa.Annotations, err = stringMap(in, "annotations"); err != nil {
		return err
	}
	if sa.Labels, err = stringMap(in, "labels"); err != nil {
		return err
	}
	if err := sa.Validate(); err != nil {
		return armerr.BadRequest("InvalidServiceAccount", "Service account '%s/%s': %s.", ns, name, err.Error())
	}
	uid := old.Obj("properties").Str("uid")
	if uid == "" {
		uid = arm.NewGUID()
	}
	props := arm.Doc{"namespace": ns, "name": name, "uid": uid, "subject": sa.Subject()}
	if len(sa.Annotations) > 0 {
		props["annotations"] = sa.Annotations
	}
	if len(sa.Labels) > 0 {
		props["labels"] = sa.Labels
	}
	for k := range doc {
		switch k {
		case "id", "name", "type":
		default:
			delete(doc, k)
		}
	}
	doc["properties"] = props
	return nil
}

// stringMap reads an object of strings under key.
func stringMap(d arm.Doc, key string) (map[string]string, error) {
	raw, present := d[key]
	if !present || raw == nil {
		return nil, nil
	}
	obj := d.Obj(key)
	if obj == nil {
		return nil, armerr.InvalidRequestContent("properties." + key + " must be an object of strings")
	}
	out := make(map[string]string, len(obj))
	for k, v := range obj {
		s, ok := v.(string)
		if !ok {
			return nil, armerr.InvalidRequestContent("properties." + key + "." + k + " must be a string")
		}
		out[k] = s
	}
	return out, nil
}

// tokenAction serves POST {serviceAccountId}/token: a projected token, as
// `kubectl create token` returns it to a cluster admin.
func (p *Plane) tokenAction(c *arm.Call, sa arm.Doc) error {
	id, err := arm.ParseDocID(sa)
	if err != nil {
		return err
	}
	cluster, err := c.Load(id.Parent())
	if err != nil {
		return err
	}
	tok, exp, err := p.mint(c.Ctx, c.Tx, cluster, sa)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"token": tok, "expiresOn": exp.UTC().Format(time.RFC3339)})
}

// loadServiceAccount returns the stored service account namespace/name of
// cluster, or a RunError wrapping ErrServiceAccountNotFound.
func loadServiceAccount(ctx context.Context, tx store.Tx, cluster arm.Doc, namespace, name string) (arm.Doc, error) {
	r, err := tx.GetResource(ctx, ServiceAccountID(cluster.Str("id"), namespace, name))
	if errors.Is(err, store.ErrNotFound) {
		id, _ := arm.ParseDocID(cluster)
		return nil, runErr(ErrServiceAccountNotFound,
			"service account %s/%s does not exist in cluster '%s'; create it with: mimic aks serviceaccount apply -g %s --cluster %s -f sa.yaml",
			namespace, name, cluster.Str("name"), id.ResourceGroup, cluster.Str("name"))
	}
	if err != nil {
		return nil, err
	}
	return arm.DecodeDoc(r.Body)
}
