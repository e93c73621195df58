package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mimic-emu/mimic/internal/mimicapi"
)

func newRoleCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "role", Short: "Role definitions, assignments and decisions"}
	cmd.AddCommand(newRoleCheckCmd(g), newRoleDefinitionCmd(g), newRoleAssignmentCmd(g))
	return cmd
}

func newRoleCheckCmd(g *globals) *cobra.Command {
	var assignee, action, scope, output string
	var dataAction string
	var attrs []string
	cmd := &cobra.Command{
		Use:   "check --assignee OBJECT_ID --action ACTION --scope SCOPE",
		Short: "Explain whether a principal may perform an action at a scope",
		Long: `Ask mimic's authorization engine what Azure RBAC decides for a principal,
an action (or data action) and a scope, and why: the role assignment that
grants it, the deny assignment that blocks it, or why nothing grants it.
Data actions are recognised by their shape (…/secrets/getSecret/action,
…/blobs/read); say --data-action=true|false to be explicit. Conditions'
attributes can be given with --attribute KEY=VALUE.`,
		Example: `  mimic role check --assignee 3b1f… --action Microsoft.KeyVault/vaults/secrets/getSecret/action \
      --scope /subscriptions/…/resourceGroups/prod/providers/Microsoft.KeyVault/vaults/prod-kv
  mimic role check --assignee 3b1f… --action Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read \
      --scope /subscriptions/…/storageAccounts/data/blobServices/default/containers/logs \
      --attribute '@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name]=logs' -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if assignee == "" || action == "" || scope == "" {
				return &ExitError{Code: 2, Err: fmt.Errorf("--assignee, --action and --scope are required")}
			}
			q := url.Values{"principal": {assignee}, "action": {action}, "scope": {scope}}
			if dataAction != "" {
				b, err := strconv.ParseBool(dataAction)
				if err != nil {
					return &ExitError{Code: 2, Err: fmt.Errorf("--data-action must be true or false")}
				}
				q.Set("dataAction", strconv.FormatBool(b))
			}
			for _, a := range attrs {
				k, v, ok := strings.Cut(a, "=")
				if !ok {
					return &ExitError{Code: 2, Err: fmt.Errorf("--attribute %q: want KEY=VALUE", a)}
				}
				q.Set(k, v)
			}
			c, err := dial(g)
			if err != nil {
				return err
			}
			var res mimicapi.Check
			if err := c.do(cmd.Context(), "GET", "/mimic/v1/authz/check?"+q.Encode(), nil, &res); err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			verdict := "DENIED"
			if res.Allowed {
				verdict = "ALLOWED"
			}
			kind := "action"
			if res.DataAction {
				kind = "data action"
			}
			fmt.Fprintf(g.stdout, "%s: %s %s at %s\n  %s\n", verdict, kind, res.Action, res.Scope, res.Reason)
			if res.Assignment != nil {
				fmt.Fprintf(g.stdout, "  role assignment %s\n  role %s at %s\n", res.Assignment.ID, res.Role, res.Assignment.Scope)
			}
			if res.Deny != "" {
				fmt.Fprintf(g.stdout, "  deny assignment %s\n", res.Deny)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&assignee, "assignee", "", "the principal's object id")
	f.StringVar(&action, "action", "", "the action or data action")
	f.StringVar(&scope, "scope", "", "the scope: a resource, group or subscription id")
	f.StringVar(&dataAction, "data-action", "", "whether the action is a data action (default: guessed from its shape)")
	f.StringArrayVar(&attrs, "attribute", nil, "a condition attribute, KEY=VALUE (repeatable)")
	f.StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}
