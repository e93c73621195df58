package cli

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/analyzer/report"
	"github.com/mimic-emu/mimic/internal/attack"
)

// Exit statuses of mimic attack (and of mimic analyze --verify).
const (
	replayDiffers = 1 // the replay and the analysis differ
	replayUsage   = 2 // a usage error
	replayFailed  = 3 // the replay could not run
)

func newAttackCmd(g *globals) *cobra.Command {
	var from, output string
	cmd := &cobra.Command{
		Use:   "attack --from COMPUTE",
		Short: "Prove a compute's blast radius by replaying it against the running mimic",
		Long: `Replay the blast radius of a compute as an attacker with code execution there
would: start a run as the compute (done as the operator), then follow every
path of the analysis through the real endpoints with the tokens obtained on
the way: the compute's token endpoint (IMDS, IDENTITY_ENDPOINT, a pod's
federated exchange), run-command and writes on other computes, role
assignments the identities grant themselves, federated credentials they
write, access policies, listKeys and the Key Vault and Blob data planes.
Every resource and action exercised is reported, with the identity used and
what came back.

The replay also probes every vault and storage account of the subscription
outside the radius with each identity it obtained: a success there is reach
the analysis missed. Whatever the replay changed (role assignments,
attached identities, access policies) is undone at the end.

A federated credential write needs an issuer whose keys the attacker holds.
The replay stands one up as an attacker would host their own: a throwaway
AKS cluster with its OIDC issuer, in a resource group of its own
(mimic-attack-…), created and deleted as the operator. The identity's
credential is written with the escalating identity's token, and a token of
the cluster's service account is exchanged for the identity's.

Exit status:
  0  the replay confirms the analysis
  1  they differ; each difference is named
  2  a usage error
  3  the replay could not run: mimic not answering, or the foothold refused`,
		Example: `  mimic attack --from pay-api-dev
  mimic attack --from vm-ops-runner -o json`,
		Args: noArgsUsage,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(report.ReplayFormats, output) {
				return &ExitError{Code: replayUsage, Err: fmt.Errorf("unknown output format %q: use %s", output, strings.Join(report.ReplayFormats, ", "))}
			}
			if from == "" {
				return &ExitError{Code: replayUsage, Err: fmt.Errorf("--from names the compute to start from")}
			}
			c, err := dial(g)
			if err != nil {
				return &ExitError{Code: replayFailed, Err: err}
			}
			id, err := c.resolveID(cmd.Context(), "compute", from)
			if err != nil {
				return &ExitError{Code: replayFailed, Err: err}
			}
			rep, err := c.replay(cmd.Context(), id)
			if err != nil {
				return &ExitError{Code: replayFailed, Err: err}
			}
			if err := report.WriteReplay(g.stdout, rep, output); err != nil {
				return &ExitError{Code: replayFailed, Err: err}
			}
			if !rep.Confirmed {
				return &ExitError{Code: replayDiffers, Err: errSilent}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "the compute to start from: a name or a resource id")
	f.StringVarP(&output, "output", "o", "table", "output format: "+strings.Join(report.ReplayFormats, ", "))
	cmd.SetFlagErrorFunc(flagUsageError)
	return cmd
}

// replayEnv is how a replay reaches the server of the profile.
func (c *client) replayEnv() (attack.Env, error) {
	p := c.profile
	pem, err := os.ReadFile(p.CAFile)
	if err != nil {
		return attack.Env{}, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return attack.Env{}, fmt.Errorf("%s holds no certificate", p.CAFile)
	}
	return attack.Env{
		ARMURL: p.Endpoints.ResourceManager, AuthorityURL: p.Endpoints.ActiveDirectory, Proxy: p.Endpoints.Proxy,
		Tenant: p.TenantID, CA: pool, OperatorToken: c.token,
	}, nil
}

// replay replays a compute's blast radius, probing the subscription's
// vaults and storage accounts outside it.
func (c *client) replay(ctx context.Context, computeID string) (*report.Replay, error) {
	env, err := c.replayEnv()
	if err != nil {
		return nil, err
	}
	var r analyzer.Radius
	if err := c.do(ctx, "GET", "/mimic/v1/analysis/blast-radius?start="+url.QueryEscape(computeID), nil, &r); err != nil {
		return nil, err
	}
	in := map[string]bool{}
	for _, re := range r.Reach {
		in[strings.ToLower(re.Resource)] = true
	}
	var probes []string
	for _, typ := range []string{"Microsoft.KeyVault/vaults", "Microsoft.Storage/storageAccounts"} {
		ids, err := c.listIDs(ctx, typ)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if !in[strings.ToLower(id)] {
				probes = append(probes, id)
			}
		}
	}
	rep, err := attack.Run(ctx, env, &r, attack.Options{Probe: probes})
	if err != nil {
		return nil, err
	}
	return report.NewReplay(rep), nil
}

// listIDs lists the ids of a type's resources in the default subscription.
func (c *client) listIDs(ctx context.Context, typ string) ([]string, error) {
	filter := url.QueryEscape(fmt.Sprintf("resourceType eq '%s'", typ))
	path := "/subscriptions/" + c.profile.SubscriptionID + "/resources?api-version=2021-04-01&$filter=" + filter
	var ids []string
	for path != "" {
		var page struct {
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
			NextLink string `json:"nextLink"`
		}
		if err := c.do(ctx, "GET", path, nil, &page); err != nil {
			return nil, err
		}
		for _, v := range page.Value {
			ids = append(ids, v.ID)
		}
		path = ""
		if page.NextLink != "" {
			u, err := url.Parse(page.NextLink)
			if err != nil {
				return nil, fmt.Errorf("bad nextLink %q: %w", page.NextLink, err)
			}
			path = u.RequestURI()
		}
	}
	return ids, nil
}
