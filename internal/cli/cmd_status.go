package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/mimic-emu/mimic/internal/home"
)

func newStatusCmd(g *globals) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Exit 0 once the server of this home answers",
		Example: `  mimic status
  mimic up & mimic status --wait 30s   # in CI`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := g.homeDir()
			if err != nil {
				return err
			}
			deadline := time.Now().Add(wait)
			for {
				p, err := checkStatus(cmd.Context(), dir)
				if err == nil {
					fmt.Fprintf(g.stdout, "mimic is up at %s (tenant %s, pid %d)\n", p.Endpoints.ResourceManager, p.TenantID, p.PID)
					return nil
				}
				if !time.Now().Before(deadline) {
					return &ExitError{Code: 1, Err: fmt.Errorf("mimic is not running in %s: %w", dir, err)}
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(200 * time.Millisecond):
				}
			}
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 0, "keep trying this long before giving up")
	return cmd
}

// checkStatus asks the server named in the home's profile for its health
// and checks that it is the instance that wrote the profile.
func checkStatus(ctx context.Context, dir string) (*home.Profile, error) {
	p, err := home.ReadProfile(dir)
	if err != nil {
		return nil, err
	}
	client, err := profileClient(p)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.Endpoints.ResourceManager+"mimic/health", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var health struct {
		Status     string `json:"status"`
		InstanceID string `json:"instanceId"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&health); err != nil {
		return nil, fmt.Errorf("health endpoint: %w", err)
	}
	if health.Status != "ok" || health.InstanceID != p.InstanceID {
		return nil, errors.New("another server answers at " + p.Endpoints.ResourceManager)
	}
	return p, nil
}

// profileClient is an HTTP client that trusts the profile's CA.
func profileClient(p *home.Profile) (*http.Client, error) {
	pem, err := os.ReadFile(p.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", p.CAFile)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, nil
}
