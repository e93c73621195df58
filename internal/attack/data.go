package attack

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/resourceid"
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
func (p *replay) readResource(ctx context.Context, r analyzer.Reach, who string) {
	api := apiVersions[strings.ToLower(r.Type)]
	if api == "" {
		return
	}
	tok, err := p.token(ctx, who, armResource)
	e := Exercise{Resource: r.Resource, Action: r.Type + "/read", Identity: who}
	if err == nil {
		e.Status, _, err = p.arm(ctx, http.MethodGet, r.Resource, api, tok, nil)
	}
	e.OK = err == nil && e.Status == http.StatusOK
	if err != nil {
		e.Detail = err.Error()
	}
	p.record(e)
}

// readSecrets lists a vault's secrets and reads one, with the identity's
// Key Vault token.
func (p *replay) readSecrets(ctx context.Context, vaultID, who string) {
	e := Exercise{Resource: vaultID, Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", DataAction: true, Identity: who}
	defer func() { p.record(e) }()
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
		e.Status, e.Detail = status, "the vault holds no secrets"
		return
	}
	status, body, err = p.do(ctx, p.proxy, http.MethodGet, list.Value[0].ID+"?api-version=7.4", tok, nil, nil)
	e.Status, e.OK = status, err == nil && status == http.StatusOK
	if !e.OK {
		e.Detail = detail(err, body)
	} else {
		e.Detail = "read " + lastSegment(list.Value[0].ID)
	}
}

// readBlobs lists an account's containers and reads one blob, with the
// identity's Storage token.
func (p *replay) readBlobs(ctx context.Context, accountID, who string) {
	e := Exercise{Resource: accountID, Action: "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", DataAction: true, Identity: who}
	defer func() { p.record(e) }()
	tok, err := p.token(ctx, who, storageResource)
	if err != nil {
		e.Detail = err.Error()
		return
	}
	h := map[string]string{"x-ms-version": "2021-12-02"}
	base := "https://" + strings.ToLower(lastSegment(accountID)) + ".blob.core.windows.net"
	status, body, err := p.do(ctx, p.proxy, http.MethodGet, base+"/?comp=list", tok, nil, h)
	if err != nil || status != http.StatusOK {
		e.Status, e.Detail = status, detail(err, body)
		return
	}
	var containers struct {
		Names []string `xml:"Containers>Container>Name"`
	}
	xml.Unmarshal(body, &containers)
	for _, c := range containers.Names {
		status, body, err = p.do(ctx, p.proxy, http.MethodGet, base+"/"+c+"?restype=container&comp=list", tok, nil, h)
		if err != nil || status != http.StatusOK {
			e.Status, e.Detail = status, detail(err, body)
			return
		}
		var blobs struct {
			Names []string `xml:"Blobs>Blob>Name"`
		}
		xml.Unmarshal(body, &blobs)
		if len(blobs.Names) == 0 {
			continue
		}
		status, body, err = p.do(ctx, p.proxy, http.MethodGet, base+"/"+c+"/"+blobs.Names[0], tok, nil, h)
		e.Status, e.OK = status, err == nil && status == http.StatusOK
		if e.OK {
			e.Detail = "read " + c + "/" + blobs.Names[0]
		} else {
			e.Detail = detail(err, body)
		}
		return
	}
	e.Status, e.Detail = status, "the account holds no blobs"
}

// listKeys lists a storage account's keys with the identity's ARM token.
func (p *replay) listKeys(ctx context.Context, accountID, who string) {
	e := Exercise{Resource: accountID, Action: "Microsoft.Storage/storageAccounts/listkeys/action", Identity: who}
	tok, err := p.token(ctx, who, armResource)
	var body []byte
	if err == nil {
		e.Status, body, err = p.arm(ctx, http.MethodPost, accountID+"/listKeys", apiVersions["microsoft.storage/storageaccounts"], tok, nil)
	}
	e.OK = err == nil && e.Status == http.StatusOK && strings.Contains(string(body), `"keys"`)
	if !e.OK {
		e.Detail = detail(err, body)
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
	p.cleanup = append(p.cleanup, func(ctx context.Context) {
		if op, err := p.env.OperatorToken(ctx, armResource); err == nil {
			p.arm(ctx, http.MethodPut, vaultID+"/accessPolicies/remove", api, op, body)
		}
	})
}

// attach replays assign/action: the actor attaches the identity to a
// compute the replay controls and the actor can write, then asks that
// compute for tokens. The attachment is removed afterwards.
func (p *replay) attach(ctx context.Context, h analyzer.Held, o *Obtained) tokenSource {
	who := actor(h.Path)
	tok, err := p.token(ctx, who, armResource)
	if err != nil {
		o.Error = err.Error()
		return nil
	}
	for _, f := range p.computes {
		id, err := resourceid.Parse(f.computeID)
		if err != nil {
			continue
		}
		api := apiVersions[strings.ToLower(id.Type())]
		if api == "" || (!strings.EqualFold(id.Type(), "Microsoft.Compute/virtualMachines") && !strings.EqualFold(id.Type(), "Microsoft.Web/sites")) {
			continue
		}
		status, body, err := p.arm(ctx, http.MethodGet, f.computeID, api, tok, nil)
		if err != nil || status != http.StatusOK {
			continue
		}
		var doc struct {
			Identity struct {
				Type string `json:"type"`
			} `json:"identity"`
		}
		json.Unmarshal(body, &doc)
		orig := doc.Identity.Type
		if orig == "" {
			orig = "None"
		}
		newType := "UserAssigned"
		if strings.Contains(orig, "SystemAssigned") {
			newType = "SystemAssigned, UserAssigned"
		}
		patch := map[string]any{"identity": map[string]any{"type": newType, "userAssignedIdentities": map[string]any{h.ID: map[string]any{}}}}
		status, body, err = p.arm(ctx, http.MethodPatch, f.computeID, api, tok, patch)
		if err != nil || status >= 300 {
			o.Error = fmt.Sprintf("attach to %s: %s", f.computeID, detail(err, body))
			continue
		}
		compute, identity := f.computeID, h.ID
		p.cleanup = append(p.cleanup, func(ctx context.Context) {
			op, err := p.env.OperatorToken(ctx, armResource)
			if err != nil {
				return
			}
			undo := map[string]any{"type": orig}
			if strings.Contains(orig, "UserAssigned") {
				undo["userAssignedIdentities"] = map[string]any{identity: nil}
			}
			p.arm(ctx, http.MethodPatch, compute, api, op, map[string]any{"identity": undo})
		})
		o.Error = ""
		return func(ctx context.Context, resource string) (string, error) {
			return p.tokenVia(ctx, f, identity, resource)
		}
	}
	if o.Error == "" {
		o.Error = "no controlled compute that " + who + " can write"
	}
	return nil
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
