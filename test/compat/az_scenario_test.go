package compat

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestAzGoldenScenario runs test/scenario/golden.sh with mimic's commands
// and with the real az, each against a fresh mimic, through
// test/scenario/run.py, which fails on any difference between the two runs
// or with the expected transcript and state (test/scenario/expected*.txt).
// Without az only the mimic run is checked (and MIMIC_STRICT=1 fails).
func TestAzGoldenScenario(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		missing(t, "/usr/bin/python3 is not installed")
		t.Skip()
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import azure.identity, azure.keyvault.secrets").Run(); err != nil {
		missing(t, "Debian's python3-azure is not installed (apt-get install python3-azure)")
		t.Skip()
	}
	_, azErr := exec.LookPath("az")
	if azErr != nil {
		missing(t, "the Azure CLI is not installed (apt-get install azure-cli): only the mimic run is checked")
	}
	dir := t.TempDir()
	start := func(name string) *Env {
		e, err := Start(env.Binary, filepath.Join(dir, name))
		must(t, err)
		t.Cleanup(func() {
			if err := e.Stop(); err != nil {
				t.Errorf("stop %s: %v", name, err)
			}
		})
		return e
	}
	args := []string{"../scenario/run.py", "--mimic", env.Binary, "--mimic-home", start("mimic").Home, "--out", filepath.Join(dir, "out")}
	if azErr == nil {
		args = append(args, "--az-home", start("az").Home)
		azShim(t)
	}
	// The az run takes about a minute (az needs a second or two a command).
	c, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(c, "/usr/bin/python3", args...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("the golden scenario: %v", err)
	}
}
