// Package cli is mimic's command line. Each command lives in its own
// cmd_<verb>.go file; `mimic up` runs the server and every other command is
// a client of a running one, found through MIMIC_HOME/profile.json.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/mimic-emu/mimic/internal/home"
)

// ExitError carries a command's exit status.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// globals are the flags every command has.
type globals struct {
	home   string
	stdout io.Writer
	stderr io.Writer
	// az are the global arguments of the az-compatible commands.
	az azFlags
}

func (g *globals) homeDir() (string, error) { return home.Dir(g.home) }

// NewRoot builds the command tree.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "mimic",
		Short:         "Azure's managed-identity plane, run yourself",
		Long:          "mimic emulates Azure Resource Manager, Entra ID's token issuer and the managed identity endpoints, and shows what every identity can reach.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.home, "home", "", "mimic home directory (default $MIMIC_HOME or ~/.mimic)")
	root.AddCommand(newUpCmd(g), newStatusCmd(g), newEnvCmd(g), newRunCmd(g), newLogsCmd(g), addAzGlobals(newRoleCmd(g), g))
	root.AddCommand(addAzGlobals(newAKSCmd(g), g))
	root.AddCommand(newAccountCmd(g), newGroupCmd(g), newIdentityCmd(g), newVMCmd(g), newWebappCmd(g), newFunctionappCmd(g),
		newKeyVaultCmd(g), newStorageCmd(g), newSQLCmd(g), newResourceCmd(g), newAppServiceCmd(g))
	root.AddCommand(newImportCmd(g))
	root.AddCommand(newBlastRadiusCmd(g), newAnalyzeCmd(g), newAttackCmd(g), newRecommendCmd(g))
	return root
}

// Main runs the CLI and returns the exit status.
func Main(args []string) int {
	return run(context.Background(), args, os.Stdout, os.Stderr)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := NewRoot(stdout, stderr)
	root.SetArgs(expandAzArgs(root, args))
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Err != errSilent {
		fmt.Fprintln(stderr, "ERROR:", err)
	}
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}
