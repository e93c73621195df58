package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mimic-emu/mimic/internal/mimicapi"
)

func newLogsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Show mimic's logs",
	}
	cmd.AddCommand(newLogsSigninsCmd(g), newLogsAccessCmd(g))
	return cmd
}

// logFlags are the filters both logs take.
type logFlags struct {
	identity, compute, output string
	since                     time.Duration
}

func (f *logFlags) add(cmd *cobra.Command, formats string) {
	fl := cmd.Flags()
	fl.StringVar(&f.identity, "identity", "", "only this identity (name or resource id)")
	fl.StringVar(&f.compute, "compute", "", "only this compute (name or resource id)")
	fl.DurationVar(&f.since, "since", 0, "only entries this recent, e.g. 1h")
	fl.StringVarP(&f.output, "output", "o", "table", "output format: "+formats)
}

// fetchLog reads every page of a log endpoint.
func fetchLog[T any](ctx context.Context, c *client, path string, f *logFlags, seq func(T) int64) ([]T, error) {
	q := url.Values{}
	for key, v := range map[string]string{"identity": f.identity, "compute": f.compute} {
		if v == "" {
			continue
		}
		id, err := c.resolveID(ctx, key, v)
		if err != nil {
			return nil, err
		}
		q.Set(key, id)
	}
	if f.since > 0 {
		q.Set("since", time.Now().Add(-f.since).UTC().Format(time.RFC3339Nano))
	}
	all := []T{}
	for {
		var page struct {
			Value []T `json:"value"`
		}
		if err := c.do(ctx, "GET", path+"?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Value...)
		if len(page.Value) < 1000 {
			return all, nil
		}
		q.Set("after", fmt.Sprint(seq(page.Value[len(page.Value)-1])))
	}
}

// writeEntries renders log entries as JSON, JSON Lines or a table.
func writeEntries[T any](g *globals, output string, entries []T, header string, row func(T) string) error {
	switch output {
	case "json":
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(entries)
	case "jsonl":
		enc := json.NewEncoder(g.stdout)
		for _, e := range entries {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	case "table", "":
		tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, header)
		for _, e := range entries {
			fmt.Fprintln(tw, row(e))
		}
		return tw.Flush()
	}
	return &ExitError{Code: 2, Err: fmt.Errorf("unknown output format %q: use table, json or jsonl", output)}
}

func newLogsAccessCmd(g *globals) *cobra.Command {
	var f logFlags
	cmd := &cobra.Command{
		Use:   "access",
		Short: "Show every authorization decision",
		Long: `Show the access log: every control-plane (ARM) and data-plane (Key Vault,
Blob) request's authorization decision, with the caller's principal and
identity, the compute it came from, the action or data action, the scope, the
decision with the role assignment that granted it or the reason it was
refused, and the status answered. -o jsonl exports JSON Lines.`,
		Example: `  mimic logs access --identity app-id --since 1h
  mimic logs access --compute vm1 -o jsonl > access.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := dial(g)
			if err != nil {
				return err
			}
			entries, err := fetchLog(cmd.Context(), c, "/mimic/v1/logs/access", &f, func(e mimicapi.Access) int64 { return e.Seq })
			if err != nil {
				return err
			}
			return writeEntries(g, f.output, entries, "Time\tPlane\tDecision\tStatus\tAction\tScope\tIdentity\tCompute\tWhy",
				func(e mimicapi.Access) string {
					decision, why := "denied", e.Reason
					if e.Allowed {
						decision, why = "allowed", e.Role
					}
					return fmt.Sprintf("%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s", e.Time.Local().Format("2006-01-02 15:04:05"), e.Plane, decision, e.Status,
						e.Action, e.Scope, lastSegment(e.IdentityID), lastSegment(e.ComputeID), why)
				})
		},
	}
	f.add(cmd, "table, json or jsonl")
	return cmd
}

func newLogsSigninsCmd(g *globals) *cobra.Command {
	var f logFlags
	cmd := &cobra.Command{
		Use:   "signins",
		Short: "Show every token issued or refused",
		Long: `Show the sign-in log: every token mimic issued or refused, with the time,
the compute, the identity, the federated credential, the audience, the
endpoint (imds, appservice, federated, clientsecret), the result and the
error code. --identity and --compute take a resource id or a name.`,
		Example: `  mimic logs signins --since 1h
  mimic logs signins --compute vm1 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := dial(g)
			if err != nil {
				return err
			}
			entries, err := fetchLog(cmd.Context(), c, "/mimic/v1/logs/signins", &f, func(e mimicapi.SignIn) int64 { return e.Seq })
			if err != nil {
				return err
			}
			return writeEntries(g, f.output, entries, "Time\tEndpoint\tResult\tError\tIdentity\tCompute\tAudience",
				func(e mimicapi.SignIn) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", e.Time.Local().Format("2006-01-02 15:04:05"), e.Endpoint, e.Result,
						e.ErrorCode, lastSegment(e.IdentityID), lastSegment(e.ComputeID), e.Audience)
				})
		},
	}
	f.add(cmd, "table, json or jsonl")
	return cmd
}

func lastSegment(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}
