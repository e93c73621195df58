package compat

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The az_*_test.go files drive the real Azure CLI (Debian's azure-cli
// 2.45, /usr/bin/az) against mimic, as the README's "Using the real az"
// section tells users to: an operator shell after `mimic env`, and
// workloads under `mimic run`.

// azVersionCheck stops az's first-run probe of azure.microsoft.com and
// GitHub for a newer version.
const azVersionCheck = `{"versions": {"azure-cli": {"local": "2.45.0"}, "core": {"local": "2.45.0"}, "telemetry": {"local": "1.0.8"}}, "update_time": "2099-01-01 00:00:00.000000"}`

// azSwitches turn off telemetry uploads, error recommendations (a call to
// Aladdin) and survey prompts.
var azSwitches = []string{"AZURE_CORE_COLLECT_TELEMETRY=false", "AZURE_CORE_ERROR_RECOMMENDATION=off", "AZURE_CORE_SURVEY_MESSAGE=false"}

// needAz returns the az binary, or skips (fails under MIMIC_STRICT=1).
func needAz(t *testing.T) string {
	t.Helper()
	az, err := exec.LookPath("az")
	if err != nil {
		if os.Getenv("MIMIC_STRICT") == "1" {
			t.Fatal("MIMIC_STRICT=1 and the Azure CLI is missing (apt-get install azure-cli)")
		}
		t.Skip("the Azure CLI is not installed (apt-get install azure-cli)")
	}
	return az
}

// azShim is the folder of the sitecustomize.py that works around two bugs
// of Debian's azure-cli package (test/clients/azcli).
func azShim(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("MIMIC_AZCLI_SHIM")
	if dir == "" {
		dir, _ = filepath.Abs("../clients/azcli")
	}
	if _, err := os.Stat(filepath.Join(dir, "sitecustomize.py")); err != nil {
		t.Fatalf("no sitecustomize.py in %s (test/clients/azcli, or MIMIC_AZCLI_SHIM): %v", dir, err)
	}
	return dir
}

// azConfigDir is a fresh AZURE_CONFIG_DIR seeded with versionCheck.json.
func azConfigDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "versionCheck.json"), []byte(azVersionCheck), 0o600))
	return dir
}

// mimicEnv is `mimic env -o json` of a server, as environment entries.
func mimicEnv(t *testing.T, e *Env) []string {
	t.Helper()
	out, err := exec.Command(e.Binary, "env", "--home", e.Home, "-o", "json").Output()
	must(t, err)
	var m map[string]string
	must(t, json.Unmarshal(out, &m))
	var env []string
	for k, v := range m {
		env = append(env, k+"="+v)
	}
	return env
}

// azShell is an operator shell with the real az: eval "$(mimic env)", its
// own AZURE_CONFIG_DIR, the AZURE_CORE_* switches and Debian's workaround.
type azShell struct {
	t   *testing.T
	bin string
	e   *Env
	env []string
}

// newAzShell returns an operator shell for a server, logged in with
// `az login --service-principal` as the operator.
func newAzShell(t *testing.T, e *Env) *azShell {
	t.Helper()
	a := &azShell{t: t, bin: needAz(t), e: e}
	a.env = append(cleanEnv(), mimicEnv(t, e)...)
	a.env = append(a.env, azSwitches...)
	a.env = append(a.env, "AZURE_CONFIG_DIR="+azConfigDir(t), "PYTHONPATH="+azShim(t))
	p := e.Profile
	a.ok("login", "--service-principal", "-u", p.Operator.ClientID, "-p", p.Operator.ClientSecret, "--tenant", p.TenantID, "-o", "none")
	return a
}

// run runs az and returns its stdout, stderr and exit status.
func (a *azShell) run(args ...string) (string, string, int) {
	a.t.Helper()
	cmd := exec.CommandContext(ctx(a.t), a.bin, args...)
	cmd.Env = a.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	started := time.Now()
	err := cmd.Run()
	if d := time.Since(started); d > 20*time.Second {
		a.t.Logf("az %s took %s", strings.Join(args, " "), d.Round(time.Millisecond))
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		a.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// ok runs az, which must succeed, and returns its stdout.
func (a *azShell) ok(args ...string) string {
	a.t.Helper()
	out, errOut, code := a.run(args...)
	if code != 0 {
		a.t.Fatalf("az %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// json runs az -o json and decodes its output.
func (a *azShell) json(v any, args ...string) {
	a.t.Helper()
	out := a.ok(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		a.t.Fatalf("az %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// tsv runs az -o tsv and returns its trimmed output.
func (a *azShell) tsv(args ...string) string {
	a.t.Helper()
	return strings.TrimRight(a.ok(append(args, "-o", "tsv")...), "\n")
}

// fails runs az, which must exit with code and an error starting with want.
func (a *azShell) fails(code int, want string, args ...string) string {
	a.t.Helper()
	_, errOut, got := a.run(args...)
	if got != code || !strings.HasPrefix(errOut, want) {
		a.t.Fatalf("az %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), got, errOut, code, want)
	}
	return errOut
}

// azRun runs a shell script under `mimic run --as compute [flags]` with
// the real az in a fresh AZURE_CONFIG_DIR; it returns the combined output
// and the exit status.
func azRun(t *testing.T, compute string, flags []string, script string) (string, int) {
	t.Helper()
	needAz(t)
	args := append([]string{"run", "--home", env.Home, "--as", compute}, flags...)
	cmd := exec.CommandContext(ctx(t), env.Binary, append(args, "--", "sh", "-c", script)...)
	cmd.Env = append(cleanEnv(), azSwitches...)
	cmd.Env = append(cmd.Env, "AZURE_CONFIG_DIR="+azConfigDir(t), "PYTHONPATH="+azShim(t))
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}
