package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mimic-emu/mimic/internal/clientenv"
	"github.com/mimic-emu/mimic/internal/home"
)

func newEnvCmd(g *globals) *cobra.Command {
	var unset bool
	var output string
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print the environment of an operator shell",
		Long: `Print export lines that point an operator shell at mimic: the intercepting
proxy, CA trust for Go, Python, curl and Node, the tenant and subscription,
and the operator's client id and secret.

After eval "$(mimic env)", the SDKs' DefaultAzureCredential and
'az login --service-principal' reach mimic at Azure's real hostnames.
An operator shell gets no managed identity tokens: start workloads with
'mimic run --as <compute>'.`,
		Example: `  eval "$(mimic env)"
  eval "$(mimic env --unset)"   # back to normal
  mimic env -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := g.homeDir()
			if err != nil {
				return err
			}
			p, err := home.ReadProfile(dir)
			if err != nil {
				return err
			}
			bundle, err := clientenv.WriteBundle(dir, p)
			if err != nil {
				return err
			}
			env := clientenv.Merge(clientenv.Proxy(p.Endpoints.Proxy), clientenv.Trust(bundle, p.CAFile), clientenv.Operator(p))
			switch {
			case unset:
				fmt.Fprint(g.stdout, clientenv.Unset(env))
			case output == "json":
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(env)
			case output == "" || output == "sh":
				fmt.Fprint(g.stdout, clientenv.Export(env))
			default:
				return &ExitError{Code: 2, Err: fmt.Errorf("unknown output format %q: use sh or json", output)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&unset, "unset", false, "print unset lines instead")
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: sh (default) or json")
	return cmd
}
