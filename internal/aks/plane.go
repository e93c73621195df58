package aks

import (
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"strings"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/containerservice"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/jwt"
	"github.com/mimic-emu/mimic/internal/store"
)

// ServeHTTP serves the OIDC issuers of every cluster, for requests to hosts
// under .oic.prod-aks.azure.com:
//
//	GET /{tenant}/{guid}/.well-known/openid-configuration
//	GET /{tenant}/{guid}/openid/v1/jwks
func (p *Plane) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	seg := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	var jwks bool
	switch {
	case len(seg) == 4 && seg[2] == ".well-known" && seg[3] == "openid-configuration":
	case len(seg) == 5 && seg[2] == "openid" && seg[3] == "v1" && seg[4] == "jwks":
		jwks = true
	default:
		armerr.Write(w, r, armerr.New(http.StatusNotFound, "NotFound", "The resource '%s' does not exist.", r.URL.Path))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		armerr.Write(w, r, armerr.MethodNotAllowed(r.Method, "OIDC issuer"))
		return
	}
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	issuer := "https://" + host + "/" + seg[0] + "/" + seg[1] + "/"
	var (
		doc arm.Doc
		key *jwt.Key
	)
	ctx := r.Context()
	err := p.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if doc, err = issuerCluster(ctx, tx, issuer, false); err != nil || doc == nil || !jwks {
			return err
		}
		key, err = p.clusterKey(ctx, tx, doc, false)
		return err
	})
	if err == nil && doc != nil && jwks && key == nil {
		// The key is made the first time it is needed.
		err = p.Store.Update(ctx, func(tx store.Tx) error {
			if doc, err = issuerCluster(ctx, tx, issuer, false); err != nil || doc == nil {
				return err
			}
			key, err = p.clusterKey(ctx, tx, doc, true)
			return err
		})
	}
	if err != nil {
		armerr.Write(w, r, err)
		return
	}
	if doc == nil {
		armerr.Write(w, r, armerr.New(http.StatusNotFound, "NotFound", "No OIDC issuer is served at '%s': no cluster has this issuer, or its OIDC issuer is not enabled.", issuer))
		return
	}
	issuer = containerservice.IssuerURL(doc)
	var body any
	if jwks {
		body = jwkSet(key)
	} else {
		body = map[string]any{
			"issuer":                                issuer,
			"jwks_uri":                              issuer + "openid/v1/jwks",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		armerr.Write(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=3600, public")
	w.Write(b)
}

// jwk is a public key as AKS's issuer publishes it.
type jwk struct {
	Use string `json:"use"`
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// jwkSet is the JSON Web Key Set of a cluster's signing key.
func jwkSet(k *jwt.Key) map[string][]jwk {
	pub := k.Private.PublicKey
	return map[string][]jwk{"keys": {{
		Use: "sig", Kty: "RSA", Kid: k.ID, Alg: "RS256",
		N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}}
}
