package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/analyzer/analyzertest"
	"github.com/mimic-emu/mimic/internal/store"
)

// recommendSample is the sample estate's recommendations on an access log
// in which the shared identity read PROD's vault from the PROD site, and
// the ops identity read that site's configuration.
func recommendSample(t *testing.T) (*sample, *analyzer.RecommendReport) {
	t.Helper()
	s := load(t)
	now := analyzertest.SampleTime
	u := analyzer.NewUsage(analyzer.DefaultWindow, now)
	u.RecordingSince = now.Add(-90 * 24 * time.Hour)
	id := func(name string) *analyzer.Identity {
		for _, i := range s.a.E.Identities {
			if i.Name == name {
				return i
			}
		}
		t.Fatalf("no identity %s", name)
		return nil
	}
	shared, ops := id("id-payments-shared"), id("id-ops")
	site := s.b.RG("rg-payments-prod") + "/providers/Microsoft.Web/sites/pay-api-prod"
	vault := s.b.RG("rg-payments-prod") + "/providers/Microsoft.KeyVault/vaults/kvpayprod"
	grant := func(p string) string { return s.a.E.Engine().AssignmentsFor(p)[0].ID }
	for i := range 3 {
		u.Record(&store.Access{At: now.Add(-time.Duration(i+1) * time.Hour), Allowed: true, PrincipalID: shared.PrincipalID, ComputeID: site,
			Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", DataAction: true, Scope: vault + "/secrets/db", Assignment: grant(shared.PrincipalID)})
	}
	u.Record(&store.Access{At: now.Add(-time.Hour), Allowed: true, PrincipalID: ops.PrincipalID, ComputeID: s.b.RG("rg-ops") + "/providers/Microsoft.Compute/virtualMachines/vm-ops",
		Action: "Microsoft.Web/sites/read", Scope: site, Assignment: grant(ops.PrincipalID)})
	rep, err := s.a.Recommend(analyzer.RecommendOptions{Usage: u})
	if err != nil {
		t.Fatal(err)
	}
	return s, rep
}

func TestRecommendGolden(t *testing.T) {
	_, rep := recommendSample(t)
	ext := map[string]string{"table": "txt", "json": "json", "markdown": "md"}
	for _, f := range RecommendFormats {
		golden(t, "recommend-"+f+"."+ext[f]+".golden", render(t, func(b *bytes.Buffer) error { return WriteRecommendations(b, rep, f) }))
	}
	table := string(render(t, func(b *bytes.Buffer) error { return WriteRecommendations(b, rep, "table") }))
	for _, want := range []string{
		"environment-split         id-payments-shared",
		"blast radius: pay-api-dev: loses kvpayprod (prod); no longer holds id-payments-shared; now holds id-payments-dev",
		"Microsoft.KeyVault/vaults/secrets/getSecret/action at kvpayprod/secrets/db ×3 from pay-api-prod",
		"$ az role definition create --role-definition ",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
	if err := WriteRecommendations(&bytes.Buffer{}, rep, "sarif"); err == nil {
		t.Error("an unknown format is accepted")
	}
	if got := RecommendSummary(rep); !strings.HasPrefix(got, "5 recommendation(s), 3 preferred") {
		t.Errorf("summary line %q", got)
	}
}

func TestDiffGolden(t *testing.T) {
	s, rep := recommendSample(t)
	var split []analyzer.Change
	for _, r := range rep.Recommendations {
		if r.Kind == analyzer.RecEnvSplit {
			split = r.Plan
		}
	}
	d, err := s.a.Diff(analyzer.Plan{Changes: split}, analyzer.DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range DiffFormats {
		golden(t, "diff-split."+f+".golden", render(t, func(b *bytes.Buffer) error { return WriteDiff(b, d, f) }))
	}
	table := string(render(t, func(b *bytes.Buffer) error { return WriteDiff(b, d, "table") }))
	if !strings.Contains(table, "pay-api-dev (compute, env dev): no longer reaches prod") || !strings.Contains(table, "  -  kvpayprod") {
		t.Errorf("diff table:\n%s", table)
	}
	var back analyzer.Diff
	if err := json.Unmarshal(render(t, func(b *bytes.Buffer) error { return WriteDiff(b, d, "json") }), &back); err != nil || back.Summary != d.Summary {
		t.Errorf("json round trip: %v %+v", err, back.Summary)
	}
	// Nothing changes: the table says so.
	none, err := s.a.Diff(analyzer.Plan{Changes: []analyzer.Change{{Op: analyzer.OpRemoveAssignment, Assignment: s.a.E.Orphaned[0].ID}}}, analyzer.DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out := string(render(t, func(b *bytes.Buffer) error { return WriteDiff(b, none, "table") })); !strings.HasPrefix(out, NoChanges) {
		t.Errorf("an empty diff: %q", out)
	}
}
