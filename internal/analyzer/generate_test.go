package analyzer

import (
	"strings"
	"testing"
)

// TestGenerateLocal checks that a local estate keeps attachments in the
// compute's resource group and assignments under the identity's own group
// or subscription, and that the default draws from the whole estate.
func TestGenerateLocal(t *testing.T) {
	spread := func(local float64) (foreign int) {
		e := Generate(GenerateSize{Computes: 2000, Identities: 1000, Assignments: 5000, Seed: 5, Local: local})
		byPrincipal := map[string]*Identity{}
		for _, id := range e.Identities {
			byPrincipal[id.PrincipalID] = id
		}
		for _, c := range e.Computes {
			for _, key := range c.Identities {
				if !strings.EqualFold(rgID(key), rgID(c.ID)) {
					foreign++
				}
			}
		}
		for _, as := range e.Assignments {
			id := byPrincipal[as.PrincipalID]
			if !resourceContains(rgID(id.Key), as.Scope) && !resourceContains(as.Scope, id.Key) {
				foreign++
			}
		}
		return foreign
	}
	if n := spread(1); n != 0 {
		t.Errorf("Local 1: %d attachments or assignments outside the identity's group or subscription", n)
	}
	if n := spread(0); n < 1000 {
		t.Errorf("Local 0: only %d attachments or assignments outside the identity's group: not drawn from the whole estate", n)
	}
}
