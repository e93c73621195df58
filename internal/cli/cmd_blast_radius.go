package cli

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/analyzer/report"
)

// flagUsageError makes flag errors exit with status 2.
func flagUsageError(_ *cobra.Command, err error) error { return &ExitError{Code: 2, Err: err} }

// noArgsUsage is cobra.NoArgs exiting with status 2.
func noArgsUsage(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	return nil
}

func newBlastRadiusCmd(g *globals) *cobra.Command {
	var compute, identity, output string
	cmd := &cobra.Command{
		Use:   "blast-radius (--compute NAME|ID | --identity NAME|ID)",
		Short: "Show everything a compute or an identity can reach, and why",
		Long: `Show the blast radius of a compute (a VM, a web or function app, an AKS
cluster or service account) or of a managed identity: the fixpoint of
everything an attacker with code execution there, or holding that identity,
can reach. It lists the computes and identities within reach and, for each
resource, its environment and team, the actions and data actions, and the
shortest path that explains it: steps such as token (code on a compute gets
an identity's tokens), holds (an identity's role), write or runCommand on a
compute (which yields its identities), assign, federatedCredentialWrite,
roleAssignmentWrite, listKeys and grants.

--compute and --identity take a name (looked up in the default subscription)
or a resource id; a system-assigned identity is named by its resource's id.

Output: table (default), json, mermaid (a flowchart to paste in Markdown) or
dot (Graphviz: mimic blast-radius ... -o dot | dot -Tsvg > radius.svg).
Exit status: 0 on success, 2 for a usage error, 1 for any other error.

'mimic blast-radius diff' shows how a proposed change would alter every
blast radius, before it is made.`,
		Example: `  mimic blast-radius --compute pay-api-dev
  mimic blast-radius --identity id-deploy-ci -o json
  mimic blast-radius --compute vm-ops-runner -o dot | dot -Tsvg > ops.svg`,
		Args: noArgsUsage,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (compute == "") == (identity == "") {
				return &ExitError{Code: 2, Err: fmt.Errorf("give exactly one of --compute and --identity")}
			}
			if !slices.Contains(report.RadiusFormats, output) {
				return &ExitError{Code: 2, Err: fmt.Errorf("unknown output format %q: use %s", output, strings.Join(report.RadiusFormats, ", "))}
			}
			c, err := dial(g)
			if err != nil {
				return err
			}
			kind, name := "compute", compute
			if identity != "" {
				kind, name = "identity", identity
			}
			id, err := c.resolveID(cmd.Context(), kind, name)
			if err != nil {
				return err
			}
			var r analyzer.Radius
			if err := c.do(cmd.Context(), "GET", "/mimic/v1/analysis/blast-radius?start="+url.QueryEscape(id), nil, &r); err != nil {
				return err
			}
			return report.WriteRadius(g.stdout, &r, output)
		},
	}
	f := cmd.Flags()
	f.StringVar(&compute, "compute", "", "the compute: a name or a resource id")
	f.StringVar(&identity, "identity", "", "the managed identity: a name or a resource id")
	f.StringVarP(&output, "output", "o", "table", "output format: "+strings.Join(report.RadiusFormats, ", "))
	cmd.SetFlagErrorFunc(flagUsageError)
	cmd.AddCommand(newBlastRadiusDiffCmd(g))
	return cmd
}
