package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/analyzer/report"
)

// diffFlags are blast-radius diff's single-change flags.
type diffFlags struct {
	plan                 string
	add, remove, deletes []string
	attach, to           string
	detach, from         string
}

// parseAddAssignment reads IDENTITY=ROLE@SCOPE.
func parseAddAssignment(s string) (analyzer.Change, error) {
	who, rest, ok := strings.Cut(s, "=")
	role, scope, ok2 := strings.Cut(rest, "@/")
	if !ok || !ok2 || who == "" || role == "" {
		return analyzer.Change{}, fmt.Errorf("--add-assignment %q: use IDENTITY=ROLE@SCOPE, e.g. id-app='Key Vault Secrets User@/subscriptions/…/vaults/kv1'", s)
	}
	return analyzer.Change{Op: analyzer.OpAddAssignment, Identity: who, Role: role, Scope: "/" + scope}, nil
}

// changes builds the plan: the file's changes, then the flags'.
func (d *diffFlags) changes(stdin io.Reader) (analyzer.Plan, error) {
	var p analyzer.Plan
	if d.plan != "" {
		var b []byte
		var err error
		if d.plan == "-" {
			b, err = io.ReadAll(stdin)
		} else {
			b, err = os.ReadFile(d.plan)
		}
		if err != nil {
			return p, fmt.Errorf("--plan: %w", err)
		}
		if p, err = analyzer.ParsePlan(b); err != nil {
			return p, fmt.Errorf("--plan %s: %w", d.plan, err)
		}
	}
	for _, s := range d.add {
		ch, err := parseAddAssignment(s)
		if err != nil {
			return p, err
		}
		p.Changes = append(p.Changes, ch)
	}
	if (d.attach == "") != (d.to == "") {
		return p, fmt.Errorf("--attach IDENTITY and --to COMPUTE go together")
	}
	if d.attach != "" {
		p.Changes = append(p.Changes, analyzer.Change{Op: analyzer.OpAttachIdentity, Identity: d.attach, Compute: d.to})
	}
	if (d.detach == "") != (d.from == "") {
		return p, fmt.Errorf("--detach IDENTITY and --from COMPUTE go together")
	}
	if d.detach != "" {
		p.Changes = append(p.Changes, analyzer.Change{Op: analyzer.OpDetachIdentity, Identity: d.detach, Compute: d.from})
	}
	for _, id := range d.remove {
		p.Changes = append(p.Changes, analyzer.Change{Op: analyzer.OpRemoveAssignment, Assignment: id})
	}
	for _, id := range d.deletes {
		p.Changes = append(p.Changes, analyzer.Change{Op: analyzer.OpDeleteIdentity, Identity: id})
	}
	if len(p.Changes) == 0 {
		return p, fmt.Errorf("no change to diff: give --plan FILE or a change flag (--add-assignment, --remove-assignment, --attach/--to, --detach/--from, --delete-identity)")
	}
	return p, nil
}

func newBlastRadiusDiffCmd(g *globals) *cobra.Command {
	var d diffFlags
	var output string
	cmd := &cobra.Command{
		Use:   "diff (--plan FILE|- | change flags)",
		Short: "Show how a proposed change alters every blast radius, before it is made",
		Long: `Apply proposed changes to a copy of the estate (nothing is changed), analyze
it, and show for every compute and identity whose blast radius changes what
it gains (+) and loses (-): resources with their environments, actions and
data actions, identities and computes, and the environments it no longer
(or newly) reaches. Only starts that reach something the plan touches can
change, and only those are compared.

The plan is JSON: {"changes": [...]} or the list alone, applied in order;
'mimic recommend -o json' has one per recommendation and a combined one
('mimic recommend --plan-out FILE'). Each change has an "op":

  createIdentity             identity (the new user-assigned identity's id)
  deleteIdentity             identity
  addAssignment              identity, role (name or id), scope
  removeAssignment           assignment (the role assignment's id)
  attachIdentity             identity, compute (a VM's or site's identity, an
                             AKS cluster's kubelet identity, a service
                             account's federated identity)
  detachIdentity             identity, compute
  addFederatedCredential     identity, name, issuer, subject
  removeFederatedCredential  identity, name
  createRole                 roleDefinition (az role definition create's JSON:
                             name, actions, dataActions, …, assignableScopes)

Identities are named by resource id, principal id or a unique name; computes
by resource id or unique name. Example plan, giving pay-api-dev its own
identity on a DEV vault instead of the shared one:

  {"changes": [
    {"op": "createIdentity", "identity": "/subscriptions/SUB/resourceGroups/rg-payments-dev/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-payments-dev"},
    {"op": "addAssignment", "identity": "id-payments-dev", "role": "Key Vault Secrets User",
     "scope": "/subscriptions/SUB/resourceGroups/rg-payments-dev/providers/Microsoft.KeyVault/vaults/kvpaydev"},
    {"op": "attachIdentity", "identity": "id-payments-dev", "compute": "pay-api-dev"},
    {"op": "detachIdentity", "identity": "id-payments-shared", "compute": "pay-api-dev"}
  ]}

Single changes need no file; they follow the plan's changes, in this order:
  --add-assignment 'IDENTITY=ROLE@SCOPE'  grant a role (repeatable)
  --attach IDENTITY --to COMPUTE          attach an identity
  --detach IDENTITY --from COMPUTE        detach an identity
  --remove-assignment ID                  delete a role assignment (repeatable)
  --delete-identity IDENTITY              delete an identity (repeatable)

Output: table (default; "no blast radius changes" when nothing changes) or json.

Exit status:
  0  success, whether or not anything changes
  2  a usage error: an unknown flag or output format, no change, an unreadable
     or invalid plan, a change naming something that does not exist
  3  the analysis could not run: mimic not answering, or the request refused`,
		Example: `  mimic blast-radius diff --detach id-payments-shared --from pay-api-dev
  mimic blast-radius diff --remove-assignment /subscriptions/…/roleAssignments/… -o json
  mimic blast-radius diff --add-assignment 'id-ops-automation=Reader@/subscriptions/…/resourceGroups/rg-ops'
  mimic recommend --plan-out plan.json && mimic blast-radius diff --plan plan.json
  mimic recommend -o json | jq '.recommendations[0].plan' | mimic blast-radius diff --plan -`,
		Args: noArgsUsage,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(report.DiffFormats, output) {
				return &ExitError{Code: analyzeUsage, Err: fmt.Errorf("unknown output format %q: use %s", output, strings.Join(report.DiffFormats, ", "))}
			}
			plan, err := d.changes(cmd.InOrStdin())
			if err != nil {
				return &ExitError{Code: analyzeUsage, Err: err}
			}
			c, err := dial(g)
			if err != nil {
				return &ExitError{Code: analyzeFailed, Err: err}
			}
			var out analyzer.Diff
			if err := c.do(cmd.Context(), "POST", "/mimic/v1/analysis/diff", plan, &out); err != nil {
				return analysisError(err)
			}
			if err := report.WriteDiff(g.stdout, &out, output); err != nil {
				return &ExitError{Code: analyzeFailed, Err: err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&d.plan, "plan", "", "the plan: a JSON file, or - for standard input")
	f.StringArrayVar(&d.add, "add-assignment", nil, "grant a role: IDENTITY=ROLE@SCOPE (repeatable)")
	f.StringArrayVar(&d.remove, "remove-assignment", nil, "delete a role assignment, by id (repeatable)")
	f.StringArrayVar(&d.deletes, "delete-identity", nil, "delete an identity (repeatable)")
	f.StringVar(&d.attach, "attach", "", "attach this identity (with --to)")
	f.StringVar(&d.to, "to", "", "the compute --attach attaches to")
	f.StringVar(&d.detach, "detach", "", "detach this identity (with --from)")
	f.StringVar(&d.from, "from", "", "the compute --detach detaches from")
	f.StringVarP(&output, "output", "o", "table", "output format: "+strings.Join(report.DiffFormats, ", "))
	cmd.SetFlagErrorFunc(flagUsageError)
	return cmd
}
