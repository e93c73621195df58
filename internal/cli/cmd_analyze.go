package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/analyzer/report"
)

// Exit statuses of mimic analyze.
const (
	analyzeFindings = 1 // a finding at or above --fail-on
	analyzeUsage    = 2 // a usage error
	analyzeFailed   = 3 // the analysis could not run
	analyzeDiffers  = 4 // --verify: a replay differs from the analysis
)

func newAnalyzeCmd(g *globals) *cobra.Command {
	var output, failOn, window string
	var verify bool
	cmd := &cobra.Command{
		Use:   "analyze",
		Short: "Report the risky patterns of the estate's identity design, with fixes",
		Long: `Analyze the whole estate of the running mimic and report its findings: each
names the rule, the severity (low, medium, high, critical), the evidence
(identities, computes, role assignments, environments and teams with where
each label came from, paths), the blast radius it adds, and the fix as az and
mimic commands to run in order.

Rules: cross-environment-identity, subscription-scope-assignment,
automation-identity, cross-team-identity, privileged-role, escalation-path,
orphaned-assignment, unused-permission (judged on the access log of the last
--window), identity-named-after-resource, mixed-permission-sets,
identity-without-owner.

Output: table (default; a one-line summary goes to stderr), json, sarif
(SARIF 2.1.0, for code-scanning tools), markdown (a report to paste in a pull
request) or opengraph (BloodHound OpenGraph JSON of the findings' graph).

--verify then replays the blast radius of every VM, web or function app and
AKS cluster against the running mimic (as mimic attack does) and names every
difference between the static analysis and what the replay exercised. Its
table goes to stdout after a table of findings, and to stderr otherwise.

Exit status:
  0  no finding at or above --fail-on (always 0 without --fail-on)
  1  at least one finding at or above --fail-on
  2  a usage error: an unknown flag or output format, a bad --fail-on or --window
  3  the analysis could not run: mimic not answering, or the request refused
  4  --verify: a replay differs from the analysis`,
		Example: `  mimic analyze
  mimic analyze -o markdown > findings.md
  mimic analyze -o sarif > mimic.sarif --fail-on high
  mimic analyze --window 7d -o json
  mimic analyze --verify`,
		Args: noArgsUsage,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(report.FindingsFormats, output) {
				return &ExitError{Code: analyzeUsage, Err: fmt.Errorf("unknown output format %q: use %s", output, strings.Join(report.FindingsFormats, ", "))}
			}
			var threshold analyzer.Severity
			if failOn != "" {
				s, err := analyzer.ParseSeverity(failOn)
				if err != nil {
					return &ExitError{Code: analyzeUsage, Err: fmt.Errorf("--fail-on: %w", err)}
				}
				threshold = s
			}
			w, err := analyzer.ParseWindow(window)
			if err != nil {
				return &ExitError{Code: analyzeUsage, Err: fmt.Errorf("--window: %w", err)}
			}
			c, err := dial(g)
			if err != nil {
				return &ExitError{Code: analyzeFailed, Err: err}
			}
			var rep analyzer.Report
			if err := c.do(cmd.Context(), "GET", "/mimic/v1/analysis/findings?window="+url.QueryEscape(analyzer.FormatWindow(w)), nil, &rep); err != nil {
				return &ExitError{Code: analyzeFailed, Err: err}
			}
			if err := report.WriteFindings(g.stdout, &rep, output); err != nil {
				return &ExitError{Code: analyzeFailed, Err: err}
			}
			if output == "table" {
				fmt.Fprintln(g.stderr, report.SummaryLine(&rep))
			}
			if verify {
				out := g.stderr
				if output == "table" {
					out = g.stdout
				}
				confirmed, err := verifyByReplay(cmd.Context(), c, out)
				if err != nil {
					return &ExitError{Code: analyzeFailed, Err: err}
				}
				if !confirmed {
					return &ExitError{Code: analyzeDiffers, Err: errors.New("a replay differs from the analysis")}
				}
			}
			if threshold != "" {
				n := 0
				for _, f := range rep.Findings {
					if f.Severity.Rank() >= threshold.Rank() {
						n++
					}
				}
				if n > 0 {
					return &ExitError{Code: analyzeFindings, Err: fmt.Errorf("%d finding(s) at or above --fail-on %s", n, threshold)}
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", "table", "output format: "+strings.Join(report.FindingsFormats, ", "))
	f.StringVar(&failOn, "fail-on", "", "exit with status 1 if a finding is at or above this severity: low, medium, high or critical")
	f.StringVar(&window, "window", "30d", "how far back the access log counts for unused-permission, e.g. 30d or 12h")
	f.BoolVar(&verify, "verify", false, "replay every compute's blast radius against mimic and name each difference")
	cmd.SetFlagErrorFunc(flagUsageError)
	return cmd
}

// verifyByReplay replays the blast radius of every compute of the default
// subscription and writes a table of the results; it reports whether
// every replay confirmed the analysis.
func verifyByReplay(ctx context.Context, c *client, w io.Writer) (bool, error) {
	var computes []string
	for _, typ := range []string{"Microsoft.Compute/virtualMachines", "Microsoft.Web/sites", "Microsoft.ContainerService/managedClusters"} {
		ids, err := c.listIDs(ctx, typ)
		if err != nil {
			return false, err
		}
		computes = append(computes, ids...)
	}
	slices.Sort(computes)
	fmt.Fprintf(w, "\nVerification by replay: %d computes\n", len(computes))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPUTE\tIDENTITIES\tEXERCISED\tPROBES REFUSED\tRESULT")
	var differences []string
	for _, id := range computes {
		rep, err := c.replay(ctx, id)
		if err != nil {
			return false, fmt.Errorf("replay from %s: %w", id, err)
		}
		result := "confirmed"
		if !rep.Confirmed {
			result = fmt.Sprintf("%d difference(s)", len(rep.Differences))
			for _, d := range rep.Differences {
				differences = append(differences, id[strings.LastIndexByte(id, '/')+1:]+": "+d)
			}
		}
		obtained := 0
		for _, o := range rep.Identities {
			if o.OK {
				obtained++
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d/%d\t%s\n", id[strings.LastIndexByte(id, '/')+1:], obtained, len(rep.Exercised), rep.Probed-len(rep.Beyond), rep.Probed, result)
	}
	if err := tw.Flush(); err != nil {
		return false, err
	}
	for _, d := range differences {
		fmt.Fprintf(w, "  - %s\n", d)
	}
	return len(differences) == 0, nil
}
