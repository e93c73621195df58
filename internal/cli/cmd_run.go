package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mimic-emu/mimic/internal/clientenv"
	"github.com/mimic-emu/mimic/internal/mimicapi"
)

// identityVars are variables that would make a workload authenticate as
// something other than its compute; `mimic run` removes them, because a
// real VM, site or pod does not have them unless the platform sets them.
var identityVars = []string{
	"AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_CLIENT_CERTIFICATE_PATH",
	"AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_USERNAME", "AZURE_PASSWORD", "AZURE_FEDERATED_TOKEN_FILE",
	"AZURE_AUTHORITY_HOST", "AZURE_SUBSCRIPTION_ID", "AZURE_POD_IDENTITY_AUTHORITY_HOST",
	"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET",
}

func newRunCmd(g *globals) *cobra.Command {
	var as, serviceAccount string
	var keepEnv bool
	cmd := &cobra.Command{
		Use:   "run --as COMPUTE [--service-account NAMESPACE/NAME] -- COMMAND [ARGS...]",
		Short: "Run a program as a VM, web app, function app or AKS pod",
		Long: `Run a program as if it ran on a compute resource, with exactly the
environment that platform gives its code:

  VM           tokens from IMDS (http://169.254.169.254) through mimic's proxy
  web app,     IDENTITY_ENDPOINT/IDENTITY_HEADER, MSI_ENDPOINT/MSI_SECRET,
  function app WEBSITE_SITE_NAME and the site's app settings
  AKS pod      what the workload identity webhook injects: AZURE_CLIENT_ID,
               AZURE_TENANT_ID, AZURE_AUTHORITY_HOST and a projected
               service-account token in AZURE_FEDERATED_TOKEN_FILE, refreshed
               before it expires

Azure's hostnames reach mimic through the proxy, with the proxy's
credentials naming this run; CA trust is set for Go, Python, Node and curl.
Identity variables inherited from the shell (AZURE_CLIENT_SECRET…) are
removed unless --keep-env. COMPUTE is a name unique among the VMs, sites
and clusters, or a resource id. Starting a run needs the permission that
yields code execution there in Azure (runCommand, site write, cluster admin
credentials). Signals are forwarded; the exit status is the program's.`,
		Example: `  mimic run --as web-prod -- python3 app.py
  mimic run --as vm1 -- curl -s -H Metadata:true 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net'
  mimic run --as aks1 --service-account default/app -- node worker.js`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if as == "" {
				return &ExitError{Code: 2, Err: errors.New("--as is required: the name or id of a VM, web app, function app or AKS cluster")}
			}
			c, err := dial(g)
			if err != nil {
				return err
			}
			code, err := runAs(cmd.Context(), c, as, serviceAccount, keepEnv, args)
			if err != nil {
				return err
			}
			if code != 0 {
				return &ExitError{Code: code, Err: errSilent}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&as, "as", "", "the compute resource to run as: a name or a resource id")
	f.StringVar(&serviceAccount, "service-account", "", "the pod's service account, NAMESPACE/NAME (AKS)")
	f.BoolVar(&keepEnv, "keep-env", false, "keep identity variables inherited from the shell")
	return cmd
}

// errSilent is an exit status without a message: the program spoke.
var errSilent = errors.New("")

func runAs(ctx context.Context, c *client, as, serviceAccount string, keepEnv bool, args []string) (int, error) {
	var run mimicapi.RunResponse
	if err := c.do(ctx, "POST", "/mimic/v1/runs", mimicapi.RunRequest{Compute: as, ServiceAccount: serviceAccount}, &run); err != nil {
		return 0, err
	}
	secret := run.Secret
	defer func() {
		end, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.send(end, "DELETE", "/mimic/v1/runs/"+run.ID, "", nil, nil, "X-Mimic-Run-Secret", secret)
	}()
	proxyURL, err := clientenv.WithCredentials(run.Proxy, "run", secret)
	if err != nil {
		return 0, err
	}
	bundle, err := clientenv.WriteBundle(c.dir, c.profile)
	if err != nil {
		return 0, err
	}
	env := clientenv.Merge(clientenv.Proxy(proxyURL), clientenv.Trust(bundle, c.profile.CAFile), run.Env)
	base := os.Environ()
	if !keepEnv {
		base = without(base, identityVars)
	}
	if run.Platform == "aks" {
		dir, err := os.MkdirTemp("", "mimic-run-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		tokenFile := filepath.Join(dir, "azure-identity-token")
		exp, err := writeServiceAccountToken(ctx, c, run.ID, secret, tokenFile)
		if err != nil {
			return 0, err
		}
		env["AZURE_FEDERATED_TOKEN_FILE"] = tokenFile
		refresh, stop := context.WithCancel(ctx)
		defer stop()
		go refreshServiceAccountToken(refresh, c, run.ID, secret, tokenFile, exp)
	}
	child := exec.Command(args[0], args[1:]...)
	child.Env = clientenv.Environ(base, env)
	child.Stdin, child.Stdout, child.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := child.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", args[0], err)
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	go func() {
		for s := range sigs {
			child.Process.Signal(s)
		}
	}()
	err = child.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	}
	return 0, err
}

func without(env []string, names []string) []string {
	drop := map[string]bool{}
	for _, n := range names {
		drop[n] = true
	}
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	return out
}

// writeServiceAccountToken fetches a fresh projected token into path, as
// the kubelet writes it: atomically, readable by the pod only.
func writeServiceAccountToken(ctx context.Context, c *client, runID, secret, path string) (time.Time, error) {
	var tok mimicapi.TokenResponse
	if err := c.send(ctx, "POST", "/mimic/v1/runs/"+runID+"/token", "", nil, &tok, "X-Mimic-Run-Secret", secret); err != nil {
		return time.Time{}, fmt.Errorf("service account token: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(tok.Token), 0o600); err != nil {
		return time.Time{}, err
	}
	return tok.ExpiresOn, os.Rename(tmp, path)
}

// refreshServiceAccountToken rewrites the token at 80% of its life, as the
// kubelet does.
func refreshServiceAccountToken(ctx context.Context, c *client, runID, secret, path string, exp time.Time) {
	for {
		wait := time.Until(exp) * 4 / 5
		if wait < time.Second {
			wait = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		next, err := writeServiceAccountToken(ctx, c, runID, secret, path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mimic run: refreshing the service account token:", err)
			exp = time.Now().Add(30 * time.Second)
			continue
		}
		exp = next
	}
}
