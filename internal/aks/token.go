package aks

import (
	"context"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/containerservice"
	"github.com/mimic-emu/mimic/internal/arm/msi"
	"github.com/mimic-emu/mimic/internal/jwt"
	"github.com/mimic-emu/mimic/internal/store"
)

// Projected token lifetimes: the webhook's default and the range its
// expiration annotation may choose from.
const (
	DefaultTokenLifetime = time.Hour
	MaxTokenLifetime     = 24 * time.Hour
)

// saClaims are the claims of a projected service-account token, as the
// kubelet projects them.
type saClaims struct {
	Aud        []string   `json:"aud"`
	Exp        int64      `json:"exp"`
	Iat        int64      `json:"iat"`
	Iss        string     `json:"iss"`
	Jti        string     `json:"jti"`
	Kubernetes kubeClaims `json:"kubernetes.io"`
	Nbf        int64      `json:"nbf"`
	Sub        string     `json:"sub"`
}

type kubeClaims struct {
	Namespace      string  `json:"namespace"`
	ServiceAccount kubeRef `json:"serviceaccount"`
}

type kubeRef struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

// MintServiceAccountToken signs a projected token for the service account
// namespace/name of the cluster clusterID, as the kubelet writes it into a
// pod. Errors are *RunError values wrapping ErrClusterNotFound,
// ErrOIDCIssuerDisabled or ErrServiceAccountNotFound, or store errors.
func (p *Plane) MintServiceAccountToken(ctx context.Context, clusterID, namespace, name string) (token string, expires time.Time, err error) {
	err = p.Store.Update(ctx, func(tx store.Tx) error {
		cluster, err := loadCluster(ctx, tx, clusterID)
		if err != nil {
			return err
		}
		sa, err := loadServiceAccount(ctx, tx, cluster, namespace, name)
		if err != nil {
			return err
		}
		token, expires, err = p.mint(ctx, tx, cluster, sa)
		return err
	})
	return token, expires, err
}

// mint signs a token for the stored service account sa of cluster, in a
// write transaction (the cluster's key may be made on the way).
func (p *Plane) mint(ctx context.Context, tx store.Tx, cluster, sa arm.Doc) (string, time.Time, error) {
	issuer := containerservice.IssuerURL(cluster)
	if issuer == "" {
		return "", time.Time{}, issuerDisabled(cluster)
	}
	key, err := p.clusterKey(ctx, tx, cluster, true)
	if err != nil {
		return "", time.Time{}, err
	}
	props := sa.Obj("properties")
	ns, name := props.Str("namespace"), props.Str("name")
	now := p.Now().UTC().Truncate(time.Second)
	exp := now.Add(tokenLifetime(props.Obj("annotations").Str(AnnotationTokenExpiration)))
	raw, err := jwt.Sign(key, saClaims{
		Aud: []string{msi.DefaultAudience}, Iss: issuer, Sub: Subject(ns, name),
		Iat: now.Unix(), Nbf: now.Unix(), Exp: exp.Unix(), Jti: uuid.NewString(),
		Kubernetes: kubeClaims{Namespace: ns, ServiceAccount: kubeRef{Name: name, UID: props.Str("uid")}},
	})
	return raw, exp, err
}

// tokenLifetime reads the expiration annotation (seconds), clamped to
// what the webhook allows; empty or invalid means the default.
func tokenLifetime(annotation string) time.Duration {
	n, err := strconv.ParseInt(annotation, 10, 64)
	if err != nil || n <= 0 {
		return DefaultTokenLifetime
	}
	d := time.Duration(min(n, int64(MaxTokenLifetime/time.Second))) * time.Second
	return max(d, DefaultTokenLifetime)
}
