package compat

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// replayReport is the part of `mimic attack -o json` the tests read.
type replayReport struct {
	From       string `json:"from"`
	Confirmed  bool   `json:"confirmed"`
	Identities []struct {
		Identity string `json:"identity"`
		OK       bool   `json:"ok"`
	} `json:"identities"`
	Exercised []struct {
		Resource string `json:"resource"`
		Action   string `json:"action"`
		Identity string `json:"identity"`
		OK       bool   `json:"ok"`
		Detail   string `json:"detail"`
	} `json:"exercised"`
	Probed      int      `json:"probed"`
	Differences []string `json:"differences"`
}

// Proof by replay on the demo, through the CLI: DEV reads PROD's secret
// through the shared identity; the isolated design's DEV app never
// touches PROD; every compute's replay confirms its blast radius.
func TestAttackTheDemo(t *testing.T) {
	home, _ := startDemo(t)
	attack := func(from string) replayReport {
		t.Helper()
		out, errOut, code := cliIn(t, home, "attack", "--from", from, "-o", "json")
		var rep replayReport
		must(t, json.Unmarshal([]byte(out), &rep))
		if code != 0 || !rep.Confirmed {
			t.Fatalf("attack --from %s: exit %d, differences %v, %s", from, code, rep.Differences, errOut)
		}
		return rep
	}
	readSecret := func(rep replayReport, vault string) *string {
		for _, e := range rep.Exercised {
			if strings.HasSuffix(e.Resource, "/"+vault) && strings.HasSuffix(e.Action, "secrets/getSecret/action") && e.OK {
				return &e.Detail
			}
		}
		return nil
	}
	dev := attack("pay-api-dev")
	if d := readSecret(dev, "kvpayprod"); d == nil || *d != "read db-password" {
		t.Errorf("pay-api-dev's replay did not read PROD's secret: %+v", dev.Exercised)
	}
	orders := attack("orders-api-dev")
	if readSecret(orders, "kvordersprod") != nil || readSecret(orders, "kvordersdev") == nil {
		t.Errorf("orders-api-dev's replay: %+v", orders.Exercised)
	}
	if orders.Probed == 0 {
		t.Errorf("orders-api-dev's replay probed nothing outside its radius")
	}

	// The table names the proof.
	out, _, code := cliIn(t, home, "attack", "--from", "pay-api-dev")
	if code != 0 || !strings.Contains(out, "read db-password") || !strings.Contains(out, "The replay confirms the analysis.") {
		t.Errorf("attack table (exit %d):\n%s", code, out)
	}
	// Usage errors exit 2; an unknown compute exits 3.
	if _, _, code := cliIn(t, home, "attack"); code != 2 {
		t.Errorf("attack without --from: exit %d", code)
	}
	if _, errOut, code := cliIn(t, home, "attack", "--from", "no-such-app"); code != 3 || !strings.Contains(errOut, "no-such-app") {
		t.Errorf("attack --from no-such-app: exit %d %s", code, errOut)
	}

	// analyze --verify: every compute's replay confirms the analysis.
	out, errOut, code := cliIn(t, home, "analyze", "--verify")
	if code != 0 || !strings.Contains(out, "Verification by replay: 7 computes") || strings.Count(out, "confirmed") != 7 {
		t.Errorf("analyze --verify: exit %d\n%s\n%s", code, out, errOut)
	}
}

// A deny assignment on PROD's vault (secrets, for everyone) takes the
// vault's secrets out of every blast radius, and the replay agrees: the
// analysis no longer claims what the data plane refuses.
func TestDenyAssignmentsInTheAnalysisAndTheReplay(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	demo, err := Start(env.Binary, home, "--demo")
	must(t, err)
	waitDemo(t, home)
	must(t, demo.Stop())
	vault := "/subscriptions/" + demo.Profile.SubscriptionID + "/resourceGroups/rg-payments-prod/providers/Microsoft.KeyVault/vaults/kvpayprod"
	deny := fmt.Sprintf(`[{"name":%q,"properties":{"denyAssignmentName":"seal PROD secrets","scope":%q,
		"permissions":[{"actions":[],"notActions":[],"dataActions":["Microsoft.KeyVault/vaults/secrets/*"],"notDataActions":[]}],
		"principals":[{"id":"00000000-0000-0000-0000-000000000000","type":"SystemDefined"}],"excludePrincipals":[],"doNotApplyToChildScopes":false}}]`,
		newGUID(), vault)
	file := filepath.Join(t.TempDir(), "deny.json")
	must(t, os.WriteFile(file, []byte(deny), 0o600))
	sealed, err := Start(env.Binary, home, "--deny-assignments", file)
	must(t, err)
	t.Cleanup(func() { sealed.Stop() })

	out, errOut, code := cliIn(t, home, "blast-radius", "--compute", "pay-api-dev", "-o", "json")
	if code != 0 {
		t.Fatalf("blast-radius: %d %s", code, errOut)
	}
	var radius struct {
		Reach []struct {
			Resource    string   `json:"resource"`
			DataActions []string `json:"dataActions"`
		} `json:"reach"`
	}
	must(t, json.Unmarshal([]byte(out), &radius))
	var reached []string
	for _, r := range radius.Reach {
		reached = append(reached, filepath.Base(r.Resource))
		if strings.HasSuffix(r.Resource, "/kvpayprod") {
			t.Errorf("the sealed vault is still in DEV's radius: %+v", r)
		}
	}
	if !slices.Contains(reached, "stpayprod") {
		t.Errorf("the deny assignment took more than the vault: %v", reached)
	}
	out, errOut, code = cliIn(t, home, "attack", "--from", "pay-api-dev", "-o", "json")
	var rep replayReport
	must(t, json.Unmarshal([]byte(out), &rep))
	if code != 0 || !rep.Confirmed {
		t.Fatalf("attack --from pay-api-dev: exit %d, differences %v, %s", code, rep.Differences, errOut)
	}
	for _, e := range rep.Exercised {
		if strings.HasSuffix(e.Resource, "/kvpayprod") && e.OK {
			t.Errorf("the replay read the sealed vault: %+v", e)
		}
	}
	if out, errOut, code := cliIn(t, home, "analyze", "--verify"); code != 0 || strings.Count(out, "confirmed") != 7 {
		t.Errorf("analyze --verify: exit %d\n%s\n%s", code, out, errOut)
	}
}
