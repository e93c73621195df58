package analyzer

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// TestFingerprintIsTheHashOfItsParts checks the streamed fingerprint
// against its definition, the hash of the rule, the folded ids and the
// labels joined by NULs, on ids long enough to fill its buffer, and with
// letters only Unicode folds.
func TestFingerprintIsTheHashOfItsParts(t *testing.T) {
	long := "/subscriptions/S/resourceGroups/" + strings.Repeat("Rg-Ä", 200)
	for _, f := range []Finding{
		{Rule: RuleOrphaned, Resource: "/RA/1"},
		{Rule: RuleCrossEnvironment, Resource: long, Evidence: Evidence{
			Computes:     []ComputeRef{{ID: "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Web/sites/Ä"}, {ID: long}},
			Assignments:  []AssignmentRef{{ID: "/RA/2"}},
			Environments: []string{"dev", "Prod"}, Teams: []string{"Payments"}}},
	} {
		parts := []string{f.Rule, strings.ToLower(f.Resource)}
		for _, c := range f.Evidence.Computes {
			parts = append(parts, strings.ToLower(c.ID))
		}
		for _, as := range f.Evidence.Assignments {
			parts = append(parts, strings.ToLower(as.ID))
		}
		parts = append(append(parts, f.Evidence.Environments...), f.Evidence.Teams...)
		sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
		if want, got := f.Rule+"/"+hex.EncodeToString(sum[:])[:16], fingerprint(&f); got != want {
			t.Errorf("%s: fingerprint %s, want %s", f.Rule, got, want)
		}
	}
}
