package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The cli_*_test.go files drive mimic's az-compatible commands, the built
// binary against the shared server, as a user's shell would.

// cli runs `mimic --home HOME args…` and returns its stdout, stderr and
// exit status. Standard input is not a terminal, as in CI.
func cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return cliAt(t, env.Home, args...)
}

// cliAt runs mimic against another home.
func cliAt(t *testing.T, home string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(env.Binary, append([]string{"--home", home}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// cliOK runs a command that must succeed and returns its stdout.
func cliOK(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := cli(t, args...)
	if code != 0 {
		t.Fatalf("mimic %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// cliJSON runs a command that must succeed and decodes its JSON output.
func cliJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := cliOK(t, args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("mimic %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// cliTSV runs a command with -o tsv and returns its trimmed output.
func cliTSV(t *testing.T, args ...string) string {
	t.Helper()
	return strings.TrimRight(cliOK(t, append(args, "-o", "tsv")...), "\n")
}

// cliFails runs a command that must fail with an exit status and an
// error whose first line starts with want.
func cliFails(t *testing.T, code int, want string, args ...string) string {
	t.Helper()
	out, errOut, got := cli(t, args...)
	if got != code || !strings.HasPrefix(errOut, want) {
		t.Fatalf("mimic %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), got, errOut, code, want)
	}
	if out != "" {
		t.Fatalf("mimic %s printed %q on failure", strings.Join(args, " "), out)
	}
	return errOut
}

// cliName is a name unique to the test made of lower-case letters and
// digits (storage accounts allow nothing else).
func cliName(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1_000_000_000)
}

// cliGroup creates a resource group with the CLI and deletes it after the
// test.
func cliGroup(t *testing.T) string {
	t.Helper()
	rg := cliName("rg-cli-")
	cliOK(t, "group", "create", "-n", rg, "-l", "westeurope", "-o", "none")
	t.Cleanup(func() { cli(t, "group", "delete", "-n", rg, "--yes", "--no-wait") })
	return rg
}
