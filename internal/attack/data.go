package attack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/sharedkey"
)

var randRead = rand.Read

// apiVersions are the api-versions the replay reads each type with.
var apiVersions = map[string]string{
	"microsoft.keyvault/vaults":                        "2024-11-01",
	"microsoft.storage/storageaccounts":                "2024-01-01",
	"microsoft.compute/virtualmachines":                "2024-11-01",
	"microsoft.web/sites":                              "2023-12-01",
	"microsoft.containerservice/managedclusters":       "2025-02-01",
	"microsoft.managedidentity/userassignedidentities": "2023-01-31",
	"microsoft.sql/servers":                            "2021-11-01",
	"microsoft.resources/resourcegroups":               "2021-04-01",
	"microsoft.resources/subscriptions":                "2022-12-01",
}

// readResource reads a resource through ARM with the identity's token.
func (p *replay) readResource(ctx context.Context, r analyzer.Reach, who string) Exercise {
	e := Exercise{Resource: r.Resource, Action: r.Type + "/read", Identity: who}
	api := apiVersions[strings.ToLower(r.Type)]
	tok, err := p.token(ctx, who, armResource)
	if err == nil {
		e.Status, _, err = p.arm(ctx, http.MethodGet, r.Resource, api, tok, nil)
	}
	e.OK = err == nil && e.Status == http.StatusOK
	if err != nil {
		e.Detail = err.Error()
	}
	return e
}

// readSecrets lists a vault's secrets and reads one, with the identity's
// Key Vault token.
func (p *replay) readSecrets(ctx context.Context, vaultID, who string) (e Exercise) {
	e = Exercise{Resource: vaultID, Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", DataAction: true, Identity: who}
	tok, err := p.token(ctx, who, vaultResource)
	if err != nil {
		e.Detail = err.Error()
		return
	}
	base := "https://" + strings.ToLower(lastSegment(vaultID)) + ".vault.azure.net"
	status, body, err := p.do(ctx, p.proxy, http.MethodGet, base+"/secrets?api-version=7.4", tok, nil, nil)
	if err != nil || status != http.StatusOK {
		e.Status, e.Detail = status, detail(err, body)
		return
	}
	var list struct {
		Value []struct{ ID string } `json:"value"`
	}
	json.Unmarshal(body, &list)
	if len(list.Value) == 0 {
		e.Status, e.Detail = status, "the vault holds no secrets: nothing to read"
		return
	}
	status, body, err = p.do(ctx, p.proxy, http.MethodGet, list.Value[0].ID+"?api-version=7.4", tok, nil, nil)
	e.Status, e.OK = status, err == nil && status == http.StatusOK
	if !e.OK {
		e.Detail = detail(err, body)
	} else {
		e.Detail = "read " + lastSegment(list.Value[0].ID)
	}
	return
}

// readBlobs lists an account's containers and reads one blob, with the
// identity's Storage token; refused that, with an account key if the
// identity may list the keys (an attacker would). Listing a container's
// blobs is the read data action too, so an account whose containers are
// all empty still proves it; an account without containers proves nothing.
func (p *replay) readBlobs(ctx context.Context, accountID, who string) Exercise {
	e := Exercise{Resource: accountID, Action: "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", DataAction: true, Identity: who}
	tok, err := p.token(ctx, who, storageResource)
	if err != nil {
		e.Detail = err.Error()
		return e
	}
	bearer := p.readBlobsAs(ctx, e, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) })
	if bearer.OK || bearer.Status != http.StatusForbidden {
		return bearer
	}
	key, _, err := p.accountKey(ctx, accountID, who)
	if err != nil {
		return bearer
	}
	account := strings.ToLower(lastSegment(accountID))
	withKey := p.readBlobsAs(ctx, e, func(r *http.Request) { sharedkey.Authorize(r, account, key) })
	if !withKey.OK {
		return bearer
	}
	withKey.Detail += ", signed with an account key from listKeys"
	return withKey
}

// readBlobsAs reads an account's blobs with requests auth authorizes.
func (p *replay) readBlobsAs(ctx context.Context, e Exercise, auth func(*http.Request)) Exercise {
	base := "https://" + strings.ToLower(lastSegment(e.Resource)) + ".blob.core.windows.net"
	get := func(u string) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+u, nil)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("x-ms-version", "2021-12-02")
		auth(req)
		return p.send(p.proxy, req)
	}
	status, body, err := get("/?comp=list")
	if err != nil || status != http.StatusOK {
		e.Status, e.Detail = status, detail(err, body)
		return e
	}
	var containers struct {
		Names []string `xml:"Containers>Container>Name"`
	}
	xml.Unmarshal(body, &containers)
	for _, c := range containers.Names {
		status, body, err = get("/" + c + "?restype=container&comp=list")
		if err != nil || status != http.StatusOK {
			e.Status, e.Detail = status, detail(err, body)
			return e
		}
		var blobs struct {
			Names []string `xml:"Blobs>Blob>Name"`
		}
		xml.Unmarshal(body, &blobs)
		if len(blobs.Names) == 0 {
			e.Status, e.OK, e.Detail = status, true, "listed the empty container "+c
			continue
		}
		status, body, err = get("/" + c + "/" + blobs.Names[0])
		e.Status, e.OK = status, err == nil && status == http.StatusOK
		if e.OK {
			e.Detail = "read " + c + "/" + blobs.Names[0]
		} else {
			e.Detail = detail(err, body)
		}
		return e
	}
	if !e.OK {
		e.Status, e.Detail = status, "the account holds no containers: nothing to read"
	}
	return e
}

// accountKey lists a storage account's keys with the identity's ARM token
// and returns the first.
func (p *replay) accountKey(ctx context.Context, accountID, who string) ([]byte, int, error) {
	tok, err := p.token(ctx, who, armResource)
	if err != nil {
		return nil, 0, err
	}
	status, body, err := p.arm(ctx, http.MethodPost, accountID+"/listKeys", apiVersions["microsoft.storage/storageaccounts"], tok, nil)
	if err != nil || status != http.StatusOK {
		return nil, status, errors.New(detail(err, body))
	}
	var keys struct {
		Keys []struct{ Value string } `json:"keys"`
	}
	if err := json.Unmarshal(body, &keys); err != nil || len(keys.Keys) == 0 {
		return nil, status, fmt.Errorf("listKeys answered without keys: %s", detail(nil, body))
	}
	key, err := base64.StdEncoding.DecodeString(keys.Keys[0].Value)
	return key, status, err
}

// listKeys lists a storage account's keys with the identity's ARM token.
func (p *replay) listKeys(ctx context.Context, accountID, who string) {
	e := Exercise{Resource: accountID, Action: "Microsoft.Storage/storageAccounts/listkeys/action", Identity: who}
	_, status, err := p.accountKey(ctx, accountID, who)
	e.Status, e.OK = status, err == nil
	if err != nil {
		e.Detail = err.Error()
	}
	p.record(e)
}

// addAccessPolicy adds an access policy for the identity to a vault with
// the identity's own token, and removes it afterwards.
func (p *replay) addAccessPolicy(ctx context.Context, vaultID, who string) {
	e := Exercise{Resource: vaultID, Action: "Microsoft.KeyVault/vaults/accessPolicies/write", Identity: who}
	defer func() { p.record(e) }()
	tok, err := p.token(ctx, who, armResource)
	if err != nil {
		e.Detail = err.Error()
		return
	}
	body := map[string]any{"properties": map[string]any{"accessPolicies": []any{map[string]any{
		"tenantId": p.env.Tenant, "objectId": oidOf(tok), "permissions": map[string]any{"secrets": []string{"get", "list"}},
	}}}}
	api := apiVersions["microsoft.keyvault/vaults"]
	status, raw, err := p.arm(ctx, http.MethodPut, vaultID+"/accessPolicies/add", api, tok, body)
	e.Status, e.OK = status, err == nil && status < 300
	if !e.OK {
		e.Detail = detail(err, raw)
		return
	}
	p.undoAsOperator(http.MethodPut, vaultID+"/accessPolicies/remove", api, body)
}

// attach replays assign: the actor attaches the identity to a compute it
// can write (one it controls first, then any in the radius, which its
// write puts under its control), and asks that compute for tokens. The
// attachment is removed afterwards.
func (p *replay) attach(ctx context.Context, h analyzer.Held, o *Obtained) tokenSource {
	who := actor(h.Path)
	tok, err := p.token(ctx, who, armResource)
	if err != nil {
		o.Error = err.Error()
		return nil
	}
	var candidates []string
	for _, f := range p.computes {
		candidates = append(candidates, f.computeID)
	}
	slices.Sort(candidates)
	for _, c := range p.radius.Computes {
		if p.computes[strings.ToLower(c.ID)] == nil {
			candidates = append(candidates, c.ID)
		}
	}
	for _, compute := range candidates {
		if src := p.attachTo(ctx, compute, h.ID, tok, o); src != nil {
			o.Error = ""
			return src
		}
	}
	if o.Error == "" {
		o.Error = "no compute that " + who + " can write"
	}
	return nil
}

// attachTo attaches identity to compute with the actor's token tok and
// returns a token source through the compute, or nil (with o.Error set
// when the write was refused).
func (p *replay) attachTo(ctx context.Context, compute, identity, tok string, o *Obtained) tokenSource {
	id, err := resourceid.Parse(compute)
	if err != nil || !strings.EqualFold(id.Type(), "Microsoft.Compute/virtualMachines") && !strings.EqualFold(id.Type(), "Microsoft.Web/sites") {
		return nil
	}
	api := apiVersions[strings.ToLower(id.Type())]
	status, body, err := p.arm(ctx, http.MethodGet, compute, api, tok, nil)
	if err != nil || status != http.StatusOK {
		return nil
	}
	var doc struct {
		Identity struct {
			Type                   string         `json:"type"`
			UserAssignedIdentities map[string]any `json:"userAssignedIdentities"`
		} `json:"identity"`
	}
	json.Unmarshal(body, &doc)
	attached := false
	for k := range doc.Identity.UserAssignedIdentities {
		attached = attached || strings.EqualFold(k, identity)
	}
	if !attached {
		orig := doc.Identity.Type
		if orig == "" {
			orig = "None"
		}
		newType := "UserAssigned"
		if strings.Contains(orig, "SystemAssigned") {
			newType = "SystemAssigned, UserAssigned"
		}
		patch := map[string]any{"identity": map[string]any{"type": newType, "userAssignedIdentities": map[string]any{identity: map[string]any{}}}}
		status, body, err = p.arm(ctx, http.MethodPatch, compute, api, tok, patch)
		if err != nil || status >= 300 {
			o.Error = fmt.Sprintf("attach to %s: %s", compute, detail(err, body))
			return nil
		}
		undo := map[string]any{"type": orig}
		if strings.Contains(orig, "UserAssigned") {
			undo["userAssignedIdentities"] = map[string]any{identity: nil}
		}
		p.undoAsOperator(http.MethodPatch, compute, api, map[string]any{"identity": undo})
	}
	// Code on the compute: ours already, or by the same write.
	f, err := p.startRun(ctx, compute, tok, "write")
	if err != nil {
		o.Error = fmt.Sprintf("run on %s: %v", compute, err)
		return nil
	}
	return func(ctx context.Context, resource string) (string, error) {
		return p.tokenVia(ctx, f, identity, resource)
	}
}

func detail(err error, body []byte) string {
	if err != nil {
		return err.Error()
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func lastSegment(id string) string { return id[strings.LastIndexByte(id, '/')+1:] }
