package databench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/mimic-emu/mimic/internal/demo"
	"github.com/mimic-emu/mimic/internal/home"
)

// Built-in roles the harness grants the operator (Owner has no data
// actions).
const (
	roleBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	roleKVSecretsOfficer    = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
)

// blobVersion is the x-ms-version of every Blob request, to mimic and to
// Azurite alike.
const blobVersion = "2021-12-02"

// pprofOverlay is added to cmd/mimic (through go build -overlay, leaving
// the checkout untouched) for -cpuprofile runs: a pprof listener on a free
// loopback port, named in the file DATABENCH_PPROF_ADDR names. mimic
// itself exposes no pprof.
const pprofOverlay = `package main

import (
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	path := os.Getenv("DATABENCH_PPROF_ADDR")
	if path == "" {
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return
	}
	os.WriteFile(path, []byte(ln.Addr().String()), 0o600)
	go http.Serve(ln, nil)
}
`

// buildMimic builds cmd/mimic from the module at src into dir, with the
// pprof listener when withPprof.
func buildMimic(ctx context.Context, src, dir string, withPprof bool, log io.Writer) (string, error) {
	bin := filepath.Join(dir, "mimic")
	args := []string{"build", "-o", bin}
	if withPprof {
		file := filepath.Join(dir, "zz_databench_pprof.go")
		if err := os.WriteFile(file, []byte(pprofOverlay), 0o600); err != nil {
			return "", err
		}
		ov, _ := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(src, "cmd", "mimic", "zz_databench_pprof.go"): file}})
		ovFile := filepath.Join(dir, "overlay.json")
		if err := os.WriteFile(ovFile, ov, 0o600); err != nil {
			return "", err
		}
		args = append(args, "-overlay", ovFile)
	}
	args = append(args, "./cmd/mimic")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = src
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build mimic in %s: %w\n%s", src, err, out.Bytes())
	}
	fmt.Fprintf(log, "built mimic in %.1fs\n", time.Since(start).Seconds())
	return bin, nil
}

// mimicServer is a running `mimic up` and its operator's client (the one
// the demo loads through: ARM at mimic's URL, the data planes at Azure's
// hostnames through the proxy).
type mimicServer struct {
	proc      *process
	home      string
	prof      *home.Profile
	ca        *x509.CertPool
	proxyURL  *url.URL
	pprofAddr string
	op        *demo.HTTPClient
}

// startMimic runs `mimic up` on free ports in a new home under dir and
// waits until it answers.
func startMimic(ctx context.Context, bin, dir string, withPprof bool) (*mimicServer, error) {
	homeDir := filepath.Join(dir, "mimic-home")
	cmd := exec.Command(bin, "up", "--home", homeDir, "--port", "0", "--proxy-port", "0")
	cmd.Env = append(os.Environ(), "MIMIC_HOME="+homeDir)
	pprofFile := filepath.Join(dir, "pprof-addr")
	if withPprof {
		cmd.Env = append(cmd.Env, "DATABENCH_PPROF_ADDR="+pprofFile)
	}
	p, err := startProcess("mimic", cmd, filepath.Join(dir, "mimic.log"))
	if err != nil {
		return nil, err
	}
	m := &mimicServer{proc: p, home: homeDir}
	fail := func(err error) (*mimicServer, error) {
		p.stop(5 * time.Second)
		return nil, fmt.Errorf("%w\nmimic's log:\n%s", err, p.tail())
	}
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	status := exec.CommandContext(wctx, bin, "status", "--home", homeDir, "--wait", "80s")
	if out, err := status.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("mimic did not come up: %v: %s", err, bytes.TrimSpace(out)))
	}
	if m.prof, err = home.ReadProfile(homeDir); err != nil {
		return fail(err)
	}
	pem, err := os.ReadFile(m.prof.CAFile)
	if err != nil {
		return fail(err)
	}
	m.ca = x509.NewCertPool()
	if !m.ca.AppendCertsFromPEM(pem) {
		return fail(errors.New("profile.json's caFile holds no certificate"))
	}
	if m.proxyURL, err = url.Parse(m.prof.Endpoints.Proxy); err != nil || m.prof.Endpoints.Proxy == "" {
		return fail(fmt.Errorf("profile.json's proxy %q: %v", m.prof.Endpoints.Proxy, err))
	}
	m.op = &demo.HTTPClient{ARMURL: m.prof.Endpoints.ResourceManager, AuthorityURL: m.prof.Endpoints.ActiveDirectory, Proxy: m.prof.Endpoints.Proxy,
		Tenant: m.prof.TenantID, ClientID: m.prof.Operator.ClientID, Secret: m.prof.Operator.ClientSecret, CA: m.ca}
	if withPprof {
		a, err := os.ReadFile(pprofFile)
		if err != nil {
			return fail(fmt.Errorf("the pprof build wrote no address: %w", err))
		}
		m.pprofAddr = string(a)
	}
	return m, nil
}

func (m *mimicServer) stop() { m.proc.stop(20 * time.Second) }

// armPut PUTs a JSON body at an ARM path (with its api-version).
func (m *mimicServer) armPut(ctx context.Context, path, api string, body, out any) error {
	return m.op.ARM(ctx, http.MethodPut, path+"?api-version="+api, body, out)
}

// assign grants role to the operator at scope.
func (m *mimicServer) assign(ctx context.Context, scope, role string) error {
	return m.armPut(ctx, scope+"/providers/Microsoft.Authorization/roleAssignments/"+newGUID(), "2022-04-01", map[string]any{
		"properties": map[string]any{
			"roleDefinitionId": "/subscriptions/" + m.prof.SubscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/" + role,
			"principalId":      m.prof.Operator.ObjectID,
			"principalType":    "ServicePrincipal",
		},
	}, nil)
}

// estate is what setup created: the blob's and the secret's URLs, and the
// operator's bearer tokens for them.
type estate struct {
	blobURL, blobToken     string
	secretURL, vaultToken  string
	secretValue            string
	account, vault, tenant string
}

// setup creates, as the operator through ARM and the data planes, a
// resource group, a storage account with a container and a blob of
// content, and a vault with a secret; it grants the operator the data
// roles and waits until both data planes answer it.
func (m *mimicServer) setup(ctx context.Context, content []byte) (*estate, error) {
	suffix := randomHex(4)
	e := &estate{account: "mimicbench" + suffix, vault: "kvbench" + suffix, tenant: m.prof.TenantID, secretValue: "s3cret-" + randomHex(8)}
	rg := "/subscriptions/" + m.prof.SubscriptionID + "/resourceGroups/rg-databench"
	if err := m.armPut(ctx, rg, "2021-04-01", map[string]any{"location": "westeurope"}, nil); err != nil {
		return nil, err
	}
	var acct struct{ ID string }
	if err := m.armPut(ctx, rg+"/providers/Microsoft.Storage/storageAccounts/"+e.account, "2024-01-01", map[string]any{
		"location": "westeurope", "kind": "StorageV2", "sku": map[string]any{"name": "Standard_LRS"},
	}, &acct); err != nil {
		return nil, err
	}
	if acct.ID == "" {
		return nil, errors.New("the storage account PUT returned no id")
	}
	var vault struct{ ID string }
	if err := m.armPut(ctx, rg+"/providers/Microsoft.KeyVault/vaults/"+e.vault, "2024-11-01", map[string]any{
		"location":   "westeurope",
		"properties": map[string]any{"tenantId": m.prof.TenantID, "sku": map[string]any{"family": "A", "name": "standard"}, "enableRbacAuthorization": true},
	}, &vault); err != nil {
		return nil, err
	}
	if vault.ID == "" {
		return nil, errors.New("the vault PUT returned no id")
	}
	if err := m.assign(ctx, acct.ID, roleBlobDataContributor); err != nil {
		return nil, err
	}
	if err := m.assign(ctx, vault.ID, roleKVSecretsOfficer); err != nil {
		return nil, err
	}

	// Role assignments reach the data planes' engine a moment after ARM
	// answers: retry the writes (the container's creation tolerates a
	// container already made).
	e.blobURL = "https://" + e.account + ".blob.core.windows.net/cont1/b1"
	if err := retry(ctx, func() error { return m.op.PutBlob(ctx, e.account, "cont1", "b1", string(content)) }); err != nil {
		return nil, fmt.Errorf("put the blob: %w", err)
	}
	e.secretURL = "https://" + e.vault + ".vault.azure.net/secrets/bench?api-version=7.4"
	if err := retry(ctx, func() error { return m.op.SetSecret(ctx, e.vault, "bench", e.secretValue) }); err != nil {
		return nil, fmt.Errorf("set the secret: %w", err)
	}
	var err error
	if e.blobToken, err = m.op.Token(ctx, "https://storage.azure.com"); err != nil {
		return nil, err
	}
	if e.vaultToken, err = m.op.Token(ctx, "https://vault.azure.net"); err != nil {
		return nil, err
	}
	return e, nil
}

// retry calls fn until it succeeds, for up to 15 seconds.
func retry(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := fn()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newGUID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
