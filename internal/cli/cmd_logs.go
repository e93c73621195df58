package cli

import (
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
	cmd.AddCommand(newLogsSigninsCmd(g))
	return cmd
}

func newLogsSigninsCmd(g *globals) *cobra.Command {
	var identity, compute, output string
	var since time.Duration
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
			q := url.Values{}
			for key, v := range map[string]string{"identity": identity, "compute": compute} {
				if v == "" {
					continue
				}
				id, err := c.resolveID(cmd.Context(), key, v)
				if err != nil {
					return err
				}
				q.Set(key, id)
			}
			if since > 0 {
				q.Set("since", time.Now().Add(-since).UTC().Format(time.RFC3339Nano))
			}
			var all []mimicapi.SignIn
			for {
				var page struct {
					Value []mimicapi.SignIn `json:"value"`
				}
				if err := c.do(cmd.Context(), "GET", "/mimic/v1/logs/signins?"+q.Encode(), nil, &page); err != nil {
					return err
				}
				all = append(all, page.Value...)
				if len(page.Value) < 1000 {
					break
				}
				q.Set("after", fmt.Sprint(page.Value[len(page.Value)-1].Seq))
			}
			switch output {
			case "json":
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				if all == nil {
					all = []mimicapi.SignIn{}
				}
				return enc.Encode(all)
			case "table", "":
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "Time\tEndpoint\tResult\tError\tIdentity\tCompute\tAudience")
				for _, e := range all {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format("2006-01-02 15:04:05"), e.Endpoint, e.Result,
						e.ErrorCode, lastSegment(e.IdentityID), lastSegment(e.ComputeID), e.Audience)
				}
				return tw.Flush()
			}
			return &ExitError{Code: 2, Err: fmt.Errorf("unknown output format %q: use table or json", output)}
		},
	}
	f := cmd.Flags()
	f.StringVar(&identity, "identity", "", "only this identity (name or resource id)")
	f.StringVar(&compute, "compute", "", "only this compute (name or resource id)")
	f.DurationVar(&since, "since", 0, "only entries this recent, e.g. 1h")
	f.StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

func lastSegment(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}
