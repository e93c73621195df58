package aks

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/containerservice"
	"github.com/mimic-emu/mimic/internal/issuer"
	"github.com/mimic-emu/mimic/internal/jwt"
	"github.com/mimic-emu/mimic/internal/store"
)

// privateKeyField is the private-state field of a cluster document that
// holds its service-account signing key.
const privateKeyField = "serviceAccountKey"

// IssuerHostSuffix ends the host of every AKS OIDC issuer.
const IssuerHostSuffix = ".oic.prod-aks.azure.com"

// Plane serves AKS clusters' OIDC issuers and mints their service-account
// tokens.
type Plane struct {
	Store store.Store
	// Tenant is the tenant id, the default AZURE_TENANT_ID of runs.
	Tenant string
	Now    func() time.Time

	// parsed caches signing keys by PEM, so that verifying or signing does
	// not parse a key each time.
	parsed sync.Map // string → *jwt.Key
}

// loadCluster returns the stored cluster document of id, or a RunError
// wrapping ErrClusterNotFound.
func loadCluster(ctx context.Context, tx store.Tx, id string) (arm.Doc, error) {
	r, err := tx.GetResource(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !strings.EqualFold(r.Type, containerservice.ClusterType)) {
		return nil, runErr(ErrClusterNotFound, "managed cluster '%s' does not exist", id)
	}
	if err != nil {
		return nil, err
	}
	return arm.DecodeDoc(r.Body)
}

// clusterKey returns the cluster's signing key. A cluster without one gets
// one when create is set (tx must then be a write transaction); otherwise
// clusterKey returns nil.
func (p *Plane) clusterKey(ctx context.Context, tx store.Tx, cluster arm.Doc, create bool) (*jwt.Key, error) {
	if pemText := cluster.Obj(arm.Private).Str(privateKeyField); pemText != "" {
		return p.parseKey(pemText)
	}
	if !create {
		return nil, nil
	}
	key, err := jwt.GenerateKey(p.Now())
	if err != nil {
		return nil, err
	}
	pemBytes, err := key.MarshalPEM()
	if err != nil {
		return nil, err
	}
	cluster.PrivateState()[privateKeyField] = string(pemBytes)
	body, err := json.Marshal(cluster)
	if err != nil {
		return nil, err
	}
	if err := tx.PutResource(ctx, &store.Resource{ID: cluster.Str("id"), Type: containerservice.ClusterType, Body: body}); err != nil {
		return nil, fmt.Errorf("store the cluster's signing key: %w", err)
	}
	p.parsed.Store(string(pemBytes), key)
	return key, nil
}

func (p *Plane) parseKey(pemText string) (*jwt.Key, error) {
	if k, ok := p.parsed.Load(pemText); ok {
		return k.(*jwt.Key), nil
	}
	k, err := jwt.ParseKeyPEM([]byte(pemText), time.Time{})
	if err != nil {
		return nil, fmt.Errorf("the cluster's signing key: %w", err)
	}
	p.parsed.Store(pemText, k)
	return k, nil
}

// issuerCluster finds the cluster whose enabled issuer is issuerURL,
// compared exactly when exact is set, case-insensitively otherwise (for
// requests, whose host may differ in case). It returns nil when there is
// none.
func issuerCluster(ctx context.Context, tx store.Tx, issuerURL string, exact bool) (arm.Doc, error) {
	u, err := url.Parse(issuerURL)
	if err != nil || !strings.HasSuffix(strings.ToLower(u.Host), IssuerHostSuffix) {
		return nil, nil
	}
	seg := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(seg) != 2 {
		return nil, nil
	}
	doc, err := containerservice.FindByIssuer(ctx, tx, seg[1])
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	got := containerservice.IssuerURL(doc)
	if got == "" || (exact && got != issuerURL) || (!exact && !strings.EqualFold(got, issuerURL)) {
		return nil, nil
	}
	return doc, nil
}

// IssuerKeys returns the signing keys of an AKS issuer, for the token
// issuer's federated exchange, with the cluster as the compute. It returns
// nil for issuers that are not AKS issuers; an AKS issuer that no cluster
// serves (exactly) has no keys.
func (p *Plane) IssuerKeys(ctx context.Context, issuerURL string) (*issuer.KeySet, error) {
	u, err := url.Parse(issuerURL)
	if err != nil || u.Scheme != "https" || !strings.HasSuffix(strings.ToLower(u.Hostname()), IssuerHostSuffix) {
		return nil, nil
	}
	set := &issuer.KeySet{Keys: map[string]*rsa.PublicKey{}}
	err = p.Store.View(ctx, func(tx store.Tx) error {
		doc, err := issuerCluster(ctx, tx, issuerURL, true)
		if err != nil || doc == nil {
			return err
		}
		set.ComputeID = doc.Str("id")
		k, err := p.clusterKey(ctx, tx, doc, false)
		if err != nil || k == nil {
			return err
		}
		set.Keys[k.ID] = &k.Private.PublicKey
		return nil
	})
	return set, err
}
