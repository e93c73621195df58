package web

import (
	"testing"

	"github.com/mimic-emu/mimic/internal/arm"
)

func TestSkuTierAndFamily(t *testing.T) {
	for _, tc := range []struct{ name, tier, family string }{
		{"B1", "Basic", "B"}, {"S2", "Standard", "S"}, {"P1v3", "PremiumV3", "Pv3"}, {"P2v2", "PremiumV2", "Pv2"},
		{"EP1", "ElasticPremium", "EP"}, {"Y1", "Dynamic", "Y"}, {"F1", "Free", "F"}, {"I1v2", "IsolatedV2", "Iv2"},
	} {
		if got := skuTier(tc.name); got != tc.tier {
			t.Errorf("skuTier(%s) = %q, want %q", tc.name, got, tc.tier)
		}
		if got := skuFamily(tc.name); got != tc.family {
			t.Errorf("skuFamily(%s) = %q, want %q", tc.name, got, tc.family)
		}
	}
	if skuTier("Z9") != "" {
		t.Error("Z9 has a tier")
	}
}

func TestFunctionAppStacks(t *testing.T) {
	linux := functionAppStacks("linux")
	all := functionAppStacks("")
	if len(all) == 0 || len(linux) == 0 {
		t.Fatal("no stacks")
	}
	names := map[string]bool{}
	for _, s := range all {
		names[s.Str("name")] = true
		if s.Str("type") != functionAppStacksType {
			t.Errorf("type %q", s.Str("type"))
		}
	}
	for _, want := range []string{"dotnet", "node", "python", "java", "powershell"} {
		if !names[want] {
			t.Errorf("no %s stack", want)
		}
	}
	for _, s := range linux {
		for _, mj := range s.Obj("properties")["majorVersions"].([]any) {
			for _, mn := range mj.(arm.Doc)["minorVersions"].([]any) {
				settings := mn.(arm.Doc)["stackSettings"].(arm.Doc)
				if settings["windowsRuntimeSettings"] != nil || settings["linuxRuntimeSettings"] == nil {
					t.Errorf("linux listing: %v", settings)
				}
			}
		}
	}
}
