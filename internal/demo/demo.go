// Package demo builds the example estate of `mimic up --demo`: a small
// company whose identity design shows each risky pattern the analyzer
// finds, beside the environment-isolated design it recommends.
//
//   - payments: DEV and PROD web apps share one identity, which holds PROD
//     roles (the PROD vault's secrets, the PROD invoices).
//   - ops: a VM's identity holds Contributor on the whole subscription.
//   - CI: an identity federated to GitHub Actions may write the PROD site.
//   - workers: one identity is shared by two teams' VMs.
//   - legacy: a deleted identity left an orphaned role assignment.
//   - orders: the isolated design, one identity per environment, each with
//     roles in its own environment only.
//
// Everything is created through mimic's own APIs (ARM, and the data planes
// for secrets and blobs), as an operator would, so the demo is an ordinary
// estate: the emulator serves it and the analyzer reads it.
package demo

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Client is what the demo needs of a server: ARM calls as the operator,
// and writes to the data planes.
type Client interface {
	// ARM sends a request to an ARM path (with its api-version) and
	// decodes the answer into out.
	ARM(ctx context.Context, method, path string, body, out any) error
	// SetSecret stores a secret in a vault.
	SetSecret(ctx context.Context, vault, name, value string) error
	// PutBlob stores a blob, creating its container.
	PutBlob(ctx context.Context, account, container, name, content string) error
}

// Names of the demo's main actors, for tests and documentation.
const (
	PaymentsDev      = "pay-api-dev"
	PaymentsProd     = "pay-api-prod"
	PaymentsVault    = "kvpayprod"
	PaymentsSecret   = "db-password"
	PaymentsSecretV  = "prod-db-password-0451"
	PaymentsAccount  = "stpayprod"
	OrdersDev        = "orders-api-dev"
	OrdersProd       = "orders-api-prod"
	OrdersProdVault  = "kvordersprod"
	OrdersDevVault   = "kvordersdev"
	OpsVM            = "vm-ops-runner"
	AlphaVM          = "vm-alpha-worker"
	BetaVM           = "vm-beta-worker"
	SharedIdentity   = "id-payments-shared"
	CIIdentity       = "id-deploy-ci"
	WorkersIdentity  = "id-workers-shared"
	OpsIdentity      = "id-ops-automation"
	GitHubIssuer     = "https://token.actions.githubusercontent.com"
	location         = "westeurope"
	identityAPI      = "2023-01-31"
	resourcesAPI     = "2021-04-01"
	authorizationAPI = "2022-04-01"
)

// Built-in roles the demo grants.
const (
	roleContributor      = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	roleKVSecretsUser    = "4633458b-17de-408a-b874-0445c86b69e6"
	roleKVSecretsOfficer = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
	roleBlobReader       = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
	roleBlobContributor  = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	roleWebsiteContrib   = "de139f84-1756-47ae-9be6-808fbbe84772"
	roleReader           = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
)

// builder creates the estate in one subscription.
type builder struct {
	c        Client
	ctx      context.Context
	sub      string
	tenant   string
	operator string
}

// Apply builds the demo estate in subscription sub of tenant, granting the
// operator (object id) what it needs to seed the data planes.
func Apply(ctx context.Context, c Client, sub, tenant, operator string) error {
	b := &builder{c: c, ctx: ctx, sub: sub, tenant: tenant, operator: operator}
	steps := []func() error{b.payments, b.ops, b.ci, b.workers, b.legacy, b.orders}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) rgPath(rg string) string {
	return "/subscriptions/" + b.sub + "/resourceGroups/" + rg
}

func (b *builder) put(path, api string, body, out any) error {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	if err := b.c.ARM(b.ctx, http.MethodPut, path+sep+"api-version="+api, body, out); err != nil {
		return fmt.Errorf("demo: PUT %s: %w", path, err)
	}
	return nil
}

func (b *builder) group(name, env, team string) error {
	tags := map[string]string{}
	if env != "" {
		tags["env"] = env
	}
	if team != "" {
		tags["team"] = team
	}
	return b.put(b.rgPath(name), resourcesAPI, map[string]any{"location": location, "tags": tags}, nil)
}

// identity creates a user-assigned identity and returns its id, client id
// and principal id.
func (b *builder) identity(rg, name string) (id, clientID, principalID string, err error) {
	var out struct {
		ID         string
		Properties struct{ ClientID, PrincipalID string }
	}
	err = b.put(b.rgPath(rg)+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"+name, identityAPI, map[string]any{"location": location}, &out)
	return out.ID, out.Properties.ClientID, out.Properties.PrincipalID, err
}

func (b *builder) assign(scope, role, principal string) error {
	name := guidFor(scope + role + principal)
	return b.put(scope+"/providers/Microsoft.Authorization/roleAssignments/"+name, authorizationAPI, map[string]any{
		"properties": map[string]any{
			"roleDefinitionId": "/subscriptions/" + b.sub + "/providers/Microsoft.Authorization/roleDefinitions/" + role,
			"principalId":      principal,
			"principalType":    "ServicePrincipal",
		},
	}, nil)
}

func userIdentity(ids ...string) map[string]any {
	m := map[string]any{}
	for _, id := range ids {
		m[id] = map[string]any{}
	}
	return map[string]any{"type": "UserAssigned", "userAssignedIdentities": m}
}

func (b *builder) site(rg, name string, identity map[string]any, settings map[string]string) (string, error) {
	var out struct{ ID string }
	if err := b.put(b.rgPath(rg)+"/providers/Microsoft.Web/sites/"+name, "2023-12-01",
		map[string]any{"location": location, "kind": "app", "identity": identity}, &out); err != nil {
		return "", err
	}
	if len(settings) > 0 {
		if err := b.put(out.ID+"/config/appsettings", "2023-12-01", map[string]any{"properties": settings}, nil); err != nil {
			return "", err
		}
	}
	return out.ID, nil
}

func (b *builder) vm(rg, name string, identity map[string]any) error {
	return b.put(b.rgPath(rg)+"/providers/Microsoft.Compute/virtualMachines/"+name, "2024-11-01", map[string]any{
		"location": location, "identity": identity,
		"properties": map[string]any{
			"hardwareProfile": map[string]any{"vmSize": "Standard_B2s"},
			"osProfile":       map[string]any{"computerName": name, "adminUsername": "azureuser"},
			"storageProfile":  map[string]any{"imageReference": map[string]any{"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"}},
		},
	}, nil)
}

func (b *builder) vault(rg, name string) (string, error) {
	var out struct{ ID string }
	err := b.put(b.rgPath(rg)+"/providers/Microsoft.KeyVault/vaults/"+name, "2024-11-01", map[string]any{
		"location":   location,
		"properties": map[string]any{"tenantId": b.tenant, "sku": map[string]any{"family": "A", "name": "standard"}, "enableRbacAuthorization": true},
	}, &out)
	if err != nil {
		return "", err
	}
	// The operator seeds the secrets: Owner has no data access.
	return out.ID, b.assign(out.ID, roleKVSecretsOfficer, b.operator)
}

func (b *builder) account(rg, name string) (string, error) {
	var out struct{ ID string }
	err := b.put(b.rgPath(rg)+"/providers/Microsoft.Storage/storageAccounts/"+name, "2024-01-01", map[string]any{
		"location": location, "kind": "StorageV2", "sku": map[string]any{"name": "Standard_LRS"},
	}, &out)
	if err != nil {
		return "", err
	}
	return out.ID, b.assign(out.ID, roleBlobContributor, b.operator)
}

// payments: DEV and PROD share one identity, which holds PROD roles.
func (b *builder) payments() error {
	for _, g := range [][3]string{{"rg-payments-dev", "dev", "payments"}, {"rg-payments-prod", "prod", "payments"}, {"rg-identities", "", "platform"}} {
		if err := b.group(g[0], g[1], g[2]); err != nil {
			return err
		}
	}
	id, client, principal, err := b.identity("rg-identities", SharedIdentity)
	if err != nil {
		return err
	}
	settings := map[string]string{"AZURE_CLIENT_ID": client, "VAULT_URL": "https://" + PaymentsVault + ".vault.azure.net/"}
	if _, err := b.site("rg-payments-dev", PaymentsDev, userIdentity(id), settings); err != nil {
		return err
	}
	if _, err := b.site("rg-payments-prod", PaymentsProd, userIdentity(id), settings); err != nil {
		return err
	}
	vault, err := b.vault("rg-payments-prod", PaymentsVault)
	if err != nil {
		return err
	}
	account, err := b.account("rg-payments-prod", PaymentsAccount)
	if err != nil {
		return err
	}
	if err := b.assign(vault, roleKVSecretsUser, principal); err != nil {
		return err
	}
	if err := b.assign(account, roleBlobReader, principal); err != nil {
		return err
	}
	if err := b.c.SetSecret(b.ctx, PaymentsVault, PaymentsSecret, PaymentsSecretV); err != nil {
		return err
	}
	return b.c.PutBlob(b.ctx, PaymentsAccount, "invoices", "2026-11.csv", "invoice,amount\n1001,42.00\n")
}

// ops: a VM whose identity holds Contributor on the subscription.
func (b *builder) ops() error {
	if err := b.group("rg-ops", "prod", "ops"); err != nil {
		return err
	}
	id, _, principal, err := b.identity("rg-ops", OpsIdentity)
	if err != nil {
		return err
	}
	if err := b.vm("rg-ops", OpsVM, userIdentity(id)); err != nil {
		return err
	}
	return b.assign("/subscriptions/"+b.sub, roleContributor, principal)
}

// ci: an identity federated to GitHub Actions that may write the PROD site.
func (b *builder) ci() error {
	id, _, principal, err := b.identity("rg-identities", CIIdentity)
	if err != nil {
		return err
	}
	err = b.put(id+"/federatedIdentityCredentials/github-main", identityAPI, map[string]any{"properties": map[string]any{
		"issuer": GitHubIssuer, "subject": "repo:contoso/payments:ref:refs/heads/main", "audiences": []string{"api://AzureADTokenExchange"},
	}}, nil)
	if err != nil {
		return err
	}
	return b.assign(b.rgPath("rg-payments-prod"), roleWebsiteContrib, principal)
}

// workers: one identity shared by two teams' VMs.
func (b *builder) workers() error {
	for _, g := range [][3]string{{"rg-team-alpha", "prod", "alpha"}, {"rg-team-beta", "prod", "beta"}, {"rg-shared-data", "prod", "data"}} {
		if err := b.group(g[0], g[1], g[2]); err != nil {
			return err
		}
	}
	id, _, principal, err := b.identity("rg-shared-data", WorkersIdentity)
	if err != nil {
		return err
	}
	if err := b.vm("rg-team-alpha", AlphaVM, userIdentity(id)); err != nil {
		return err
	}
	if err := b.vm("rg-team-beta", BetaVM, userIdentity(id)); err != nil {
		return err
	}
	account, err := b.account("rg-shared-data", "stshareddata")
	if err != nil {
		return err
	}
	if err := b.assign(account, roleBlobContributor, principal); err != nil {
		return err
	}
	return b.c.PutBlob(b.ctx, "stshareddata", "handoff", "alpha/batch-0001.csv", "team,batch,rows\nalpha,1,1200\n")
}

// legacy: a deleted identity leaves an orphaned role assignment.
func (b *builder) legacy() error {
	if err := b.group("rg-legacy", "test", "platform"); err != nil {
		return err
	}
	id, _, principal, err := b.identity("rg-legacy", "id-legacy-batch")
	if err != nil {
		return err
	}
	if err := b.assign(b.rgPath("rg-legacy"), roleReader, principal); err != nil {
		return err
	}
	return b.c.ARM(b.ctx, http.MethodDelete, id+"?api-version="+identityAPI, nil, nil)
}

// orders: the isolated design, one identity per environment.
func (b *builder) orders() error {
	for _, env := range []string{"dev", "prod"} {
		rg := "rg-orders-" + env
		if err := b.group(rg, env, "orders"); err != nil {
			return err
		}
		id, client, principal, err := b.identity(rg, "id-orders-"+env)
		if err != nil {
			return err
		}
		vaultName := "kvorders" + env
		if _, err := b.site(rg, "orders-api-"+env, userIdentity(id), map[string]string{"AZURE_CLIENT_ID": client, "VAULT_URL": "https://" + vaultName + ".vault.azure.net/"}); err != nil {
			return err
		}
		vault, err := b.vault(rg, vaultName)
		if err != nil {
			return err
		}
		if err := b.assign(vault, roleKVSecretsUser, principal); err != nil {
			return err
		}
		if err := b.c.SetSecret(b.ctx, vaultName, "db-password", env+"-orders-db-password"); err != nil {
			return err
		}
	}
	return nil
}

// guidFor derives a stable GUID from a string, so a re-run of the demo
// finds its role assignments instead of duplicating them.
func guidFor(s string) string {
	var h [16]byte
	// FNV-1a, spread over 16 bytes.
	var x uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		x ^= uint64(s[i])
		x *= 1099511628211
		h[i%16] ^= byte(x >> 32)
	}
	for i := range h {
		x ^= uint64(h[i])
		x *= 1099511628211
		h[i] = byte(x >> 24)
	}
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
