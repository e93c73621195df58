package analyzertest

import "time"

// SampleSub is the sample estate's subscription.
const SampleSub = "00000000-0000-4000-8000-00000000c0de"

// Sample builds a small estate that shows the main patterns, with fixed
// ids: DEV and PROD web apps sharing an identity with a PROD vault role,
// an ops VM whose identity is Contributor on the subscription, a CI
// identity federated to GitHub Actions with Website Contributor on PROD,
// and an orphaned assignment.
func Sample() *Builder {
	b := New(SampleSub, "contoso")
	b.Group("rg-payments-dev", "env=dev", "team=payments")
	b.Group("rg-payments-prod", "env=prod", "team=payments")
	b.Group("rg-identities", "team=platform")
	b.Group("rg-ops", "env=prod", "team=ops")
	shared := b.Identity("rg-identities", "id-payments-shared")
	b.Site("rg-payments-dev", "pay-api-dev", shared)
	b.Site("rg-payments-prod", "pay-api-prod", shared)
	vault := b.Resource("rg-payments-prod", "Microsoft.KeyVault/vaults", "kvpayprod")
	b.Assign(shared, "Key Vault Secrets User", vault)
	ops := b.Identity("rg-ops", "id-ops")
	b.VM("rg-ops", "vm-ops", ops)
	b.Assign(ops, "Contributor", "/subscriptions/"+SampleSub)
	ci := b.Identity("rg-identities", "id-deploy-ci")
	b.Federate(ci, "github-main", "https://token.actions.githubusercontent.com", "repo:contoso/payments:ref:refs/heads/main")
	b.Assign(ci, "Website Contributor", b.RG("rg-payments-prod"))
	b.Orphan("Reader", b.RG("rg-ops"))
	return b
}

// SampleTime is the fixed "now" of the sample's reports.
var SampleTime = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
