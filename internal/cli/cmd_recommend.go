package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/analyzer/report"
)

// analysisError gives a failed analysis request its exit status: the
// server refusing the input (an unknown identity, an invalid plan) is a
// usage error; anything else means the analysis could not run.
func analysisError(err error) error {
	var api *APIError
	if errors.As(err, &api) && (api.Status == http.StatusBadRequest || api.Status == http.StatusNotFound) {
		return &ExitError{Code: analyzeUsage, Err: err}
	}
	return &ExitError{Code: analyzeFailed, Err: err}
}

func newRecommendCmd(g *globals) *cobra.Command {
	var identity, since, output, planOut string
	cmd := &cobra.Command{
		Use:   "recommend [--identity NAME|ID] [--since 30d]",
		Short: "Propose least-privilege changes from the access log, with their blast radius",
		Long: `Propose, from what the identities exercised in the access log over --since,
changes that grant each only what it uses:

  remove-unused-assignment  an assignment nothing used in the window (with a
                            note when the assignment or the estate is younger
                            than the window: confidence "partial")
  narrow-scope              the same role at the smallest scope holding every use
  smaller-role              the narrowest built-in role granting every use
  custom-role               a custom role with exactly the actions and data
                            actions used, assignable only there (az role
                            definition create's JSON), when the role grants
                            far more
  environment-split         for an identity held by computes of more than one
                            environment: one identity per environment, each
                            re-granted only what that environment's computes
                            used, attached in place of the shared one, which
                            is retired

Each recommendation states its evidence (uses with counts, first and last
seen, the computes they came from), its az commands, its plan, and how that
plan changes the blast radii of the identity and its computes.
Recommendations about one assignment are alternatives; the preferred one
(marked *) goes into the combined plan. --plan-out writes that plan for
'mimic blast-radius diff --plan FILE'; one recommendation's plan is
'jq .recommendations[N].plan' of -o json.

--identity takes a user-assigned identity's name (in the default
subscription) or a resource id (a system-assigned identity is named by its
resource's id).

Output: table (default; a one-line summary goes to stderr), json, markdown.

Exit status:
  0  success
  2  a usage error: an unknown flag or output format, a bad --since, an
     unknown identity
  3  the analysis could not run: mimic not answering, or the request refused`,
		Example: `  mimic recommend
  mimic recommend --identity id-payments-shared --since 7d
  mimic recommend -o markdown > least-privilege.md
  mimic recommend --plan-out plan.json && mimic blast-radius diff --plan plan.json`,
		Args: noArgsUsage,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(report.RecommendFormats, output) {
				return &ExitError{Code: analyzeUsage, Err: fmt.Errorf("unknown output format %q: use %s", output, strings.Join(report.RecommendFormats, ", "))}
			}
			w, err := analyzer.ParseWindow(since)
			if err != nil {
				return &ExitError{Code: analyzeUsage, Err: fmt.Errorf("--since: %w", err)}
			}
			if planOut == "-" {
				return &ExitError{Code: analyzeUsage, Err: fmt.Errorf("--plan-out needs a file: the recommendations go to stdout")}
			}
			c, err := dial(g)
			if err != nil {
				return &ExitError{Code: analyzeFailed, Err: err}
			}
			q := url.Values{"since": {analyzer.FormatWindow(w)}}
			if identity != "" {
				// Reach the server first: a name that resolves to nothing
				// is then the caller's mistake.
				if _, err := c.armToken(cmd.Context()); err != nil {
					return &ExitError{Code: analyzeFailed, Err: err}
				}
				id, err := c.resolveID(cmd.Context(), "identity", identity)
				if err != nil {
					var api *APIError
					if errors.As(err, &api) {
						return analysisError(err)
					}
					return &ExitError{Code: analyzeUsage, Err: err}
				}
				q.Set("identity", id)
			}
			var rep analyzer.RecommendReport
			if err := c.do(cmd.Context(), "GET", "/mimic/v1/analysis/recommend?"+q.Encode(), nil, &rep); err != nil {
				return analysisError(err)
			}
			if err := report.WriteRecommendations(g.stdout, &rep, output); err != nil {
				return &ExitError{Code: analyzeFailed, Err: err}
			}
			if output == "table" {
				fmt.Fprintln(g.stderr, report.RecommendSummary(&rep))
			}
			if planOut != "" {
				b, err := json.MarshalIndent(rep.Plan, "", "  ")
				if err != nil {
					return &ExitError{Code: analyzeFailed, Err: err}
				}
				if err := os.WriteFile(planOut, append(b, '\n'), 0o644); err != nil {
					return &ExitError{Code: analyzeFailed, Err: err}
				}
				fmt.Fprintf(g.stderr, "wrote the %d change(s) of the preferred recommendations to %s: mimic blast-radius diff --plan %s\n", len(rep.Plan.Changes), planOut, planOut)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&identity, "identity", "", "only this identity: a name or a resource id")
	f.StringVar(&since, "since", "30d", "how far back the access log counts, e.g. 30d or 12h")
	f.StringVarP(&output, "output", "o", "table", "output format: "+strings.Join(report.RecommendFormats, ", "))
	f.StringVar(&planOut, "plan-out", "", "write the combined plan of the preferred recommendations to this file")
	cmd.SetFlagErrorFunc(flagUsageError)
	return cmd
}
