package cli

import (
	"fmt"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mimic-emu/mimic/internal/server"
)

func newUpCmd(g *globals) *cobra.Command {
	var cfg server.Config
	var withDemo bool
	var issuerJWKS []string
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run mimic in the foreground",
		Long: `Run mimic in the foreground on loopback until SIGINT or SIGTERM.

The first start in a home creates a tenant, a default subscription, an
operator service principal with Owner on it, and a local CA. Later starts
keep all of it. Clients find the server through MIMIC_HOME/profile.json.`,
		Example: `  mimic up                          # ~/.mimic, SQLite, port 7443
  mimic up --home ./state --port 0  # any free port
  mimic up --store postgres://postgres@127.0.0.1:5432/mimic?sslmode=disable`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := g.homeDir()
			if err != nil {
				return err
			}
			cfg.Home = dir
			if cfg.OIDCIssuerJWKS, err = parseIssuerJWKS(issuerJWKS); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			srv, err := server.Open(ctx, cfg)
			if err != nil {
				return err
			}
			printWelcome(g, srv)
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ctx) }()
			if withDemo {
				loaded, err := srv.LoadDemo(ctx)
				switch {
				case err != nil:
					fmt.Fprintln(g.stderr, "ERROR:", err)
				case loaded:
					fmt.Fprintln(g.stdout, "Loaded the demo estate: try 'mimic analyze' and 'mimic blast-radius --compute pay-api-dev'.")
				default:
					fmt.Fprintln(g.stdout, "The demo estate is already loaded in this home.")
				}
			}
			err = <-served
			fmt.Fprintln(g.stderr, "mimic stopped")
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVar(&withDemo, "demo", false, "load an example estate that shows each risky identity pattern (once per home)")
	f.StringVar(&cfg.Store, "store", "", "store: a postgres:// URL or a SQLite file (default HOME/mimic.db)")
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1", "address to listen on")
	f.IntVar(&cfg.Port, "port", 7443, "HTTPS port for ARM and the token issuer (0 picks a free port)")
	f.IntVar(&cfg.ProxyPort, "proxy-port", 7480, "port of the intercepting proxy and the App Service identity endpoint (0 picks a free port)")
	f.Float64Var(&cfg.IMDSRate, "imds-rate", 20, "IMDS requests per second allowed per VM (0: no limit)")
	f.IntVar(&cfg.IMDSConcurrency, "imds-concurrency", 5, "IMDS requests at once allowed per VM (0: no limit)")
	f.DurationVar(&cfg.ClientTokenLifetime, "client-token-lifetime", 3599*time.Second, "lifetime of client-credentials tokens")
	f.DurationVar(&cfg.MITokenLifetime, "mi-token-lifetime", 24*time.Hour, "lifetime of managed identity tokens")
	f.DurationVar(&cfg.KeyRotation, "key-rotation", 7*24*time.Hour, "how long a token-signing key signs before it is replaced")
	f.BoolVar(&cfg.StrictRevocation, "strict-revocation", false, "refuse tokens of deleted identities at once (Azure honours them until they expire)")
	f.StringArrayVar(&cfg.DenyAssignments, "deny-assignments", nil, "load deny assignments from a JSON file (repeatable; Azure has no API to write them)")
	f.DurationVar(&cfg.LogRetention, "log-retention", 30*24*time.Hour, "how long sign-in and access log entries are kept (0: forever)")
	f.DurationVar(&cfg.TokenLeeway, "token-leeway", 5*time.Minute, "clock skew allowed when checking a token's expiry")
	f.DurationVar(&cfg.PropagationDelay, "rbac-propagation-delay", 0, "delay before role assignment changes take effect, as in Azure")
	f.StringArrayVar(&issuerJWKS, "oidc-issuer-jwks", nil, "ISSUER=PATH: trust the keys in the JWKS file PATH for the OIDC issuer ISSUER (exact URL) instead of fetching them; repeatable")
	return cmd
}

// parseIssuerJWKS reads --oidc-issuer-jwks values: ISSUER=PATH, where
// ISSUER is an https URL.
func parseIssuerJWKS(values []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range values {
		iss, path, ok := strings.Cut(v, "=")
		if !ok || !strings.HasPrefix(iss, "https://") || path == "" {
			return nil, fmt.Errorf("--oidc-issuer-jwks %q: use ISSUER=PATH, such as https://token.actions.githubusercontent.com=./github-jwks.json", v)
		}
		out[iss] = path
	}
	return out, nil
}

func printWelcome(g *globals, srv *server.Server) {
	p := srv.Profile
	verb := "is up"
	if srv.Created {
		verb = "is up, with a new tenant"
	}
	fmt.Fprintf(g.stdout, `mimic %s (store: %s)

  Resource Manager   %s
  Authority host     %s
  Proxy              %s
  Tenant             %s
  Subscription       %s
  Operator client    %s  (secret in %s/profile.json)
  CA certificate     %s

In a shell: eval "$(mimic env)" reaches mimic at Azure's real hostnames.
Run a program as a compute resource: mimic run --as <vm|site|cluster> -- <command>
Stop with Ctrl-C.
`, verb, srv.Store.Backend(), p.Endpoints.ResourceManager, p.Endpoints.ActiveDirectory, p.Endpoints.Proxy, p.TenantID, p.SubscriptionID,
		p.Operator.ClientID, srv.Config.Home, p.CAFile)
}
