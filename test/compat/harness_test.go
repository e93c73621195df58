// Package compat drives a real `mimic up` with the real Azure SDK for Go.
//
// TestMain builds the mimic binary from this checkout, starts it on a free
// port in a temporary home, waits for `mimic status`, and stops it with
// SIGTERM when the tests end. Tests connect exactly as a user would: the
// profile's endpoints, the operator's client secret, and mimic's CA.
package compat

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Profile mirrors MIMIC_HOME/profile.json.
type Profile struct {
	TenantID       string `json:"tenantId"`
	SubscriptionID string `json:"subscriptionId"`
	Operator       struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
		ObjectID     string `json:"objectId"`
	} `json:"operator"`
	Endpoints struct {
		ResourceManager         string `json:"resourceManager"`
		ResourceManagerAudience string `json:"resourceManagerAudience"`
		ActiveDirectory         string `json:"activeDirectory"`
		Proxy                   string `json:"proxy"`
	} `json:"endpoints"`
	CAFile string `json:"caFile"`
}

// Env is a running mimic.
type Env struct {
	Home    string
	Binary  string
	Profile Profile
	cmd     *exec.Cmd
	client  *http.Client
}

var env *Env

// probeGo is the built Go probe (probe/main.go).
var probeGo string

func TestMain(m *testing.M) {
	code, err := runMain(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compat:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func runMain(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "mimic-compat-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "mimic")
	build := exec.Command("go", "build", "-o", bin, "./cmd/mimic")
	build.Dir = "../.."
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return 0, fmt.Errorf("build mimic: %w", err)
	}
	probeGo = filepath.Join(dir, "probe-go")
	pb := exec.Command("go", "build", "-o", probeGo, "./probe")
	pb.Stdout, pb.Stderr = os.Stderr, os.Stderr
	if err := pb.Run(); err != nil {
		return 0, fmt.Errorf("build the Go probe: %w", err)
	}
	e, err := Start(bin, filepath.Join(dir, "home"))
	if err != nil {
		return 0, err
	}
	env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		return 0, err
	}
	return code, nil
}

// Start runs `mimic up` in home on a free port and waits until it answers.
func Start(bin, home string, extra ...string) (*Env, error) {
	e := &Env{Home: home, Binary: bin}
	args := append([]string{"up", "--home", home, "--port", "0", "--proxy-port", "0"}, extra...)
	e.cmd = exec.Command(bin, args...)
	logf, err := os.Create(home + ".log")
	if err != nil {
		return nil, err
	}
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	if err := e.cmd.Start(); err != nil {
		return nil, err
	}
	status := exec.Command(bin, "status", "--home", home, "--wait", "60s")
	if out, err := status.CombinedOutput(); err != nil {
		e.cmd.Process.Kill()
		log, _ := os.ReadFile(home + ".log")
		return nil, fmt.Errorf("mimic did not come up: %v\n%s\n%s", err, out, log)
	}
	b, err := os.ReadFile(filepath.Join(home, "profile.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &e.Profile); err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(e.Profile.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	// Like azcore's default transport, attempt HTTP/2: the SDK sends some
	// $filter values unescaped, which only HTTP/2 carries as sent.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	e.client = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	return e, nil
}

// Stop stops the server with SIGTERM and waits for it.
func (e *Env) Stop() error {
	if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- e.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		e.cmd.Process.Kill()
		return fmt.Errorf("mimic did not stop within 20s of SIGTERM")
	}
}

// Kill stops the server with SIGKILL.
func (e *Env) Kill() {
	e.cmd.Process.Signal(syscall.SIGKILL)
	e.cmd.Wait()
}

// Cloud is the custom cloud configuration that points the SDK at mimic.
func (e *Env) Cloud() cloud.Configuration {
	return cloud.Configuration{
		ActiveDirectoryAuthorityHost: e.Profile.Endpoints.ActiveDirectory,
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: e.Profile.Endpoints.ResourceManager, Audience: e.Profile.Endpoints.ResourceManagerAudience},
		},
	}
}

// ClientOptions trusts mimic's CA and targets its cloud.
func (e *Env) ClientOptions() azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     e.Cloud(),
		Transport: e.client,
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}
}

// ARMOptions are the ARM client options for mimic.
func (e *Env) ARMOptions() *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: e.ClientOptions()}
}

// Operator is the operator's client-secret credential.
func (e *Env) Operator(t testing.TB) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(e.Profile.TenantID, e.Profile.Operator.ClientID, e.Profile.Operator.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: e.ClientOptions(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// HTTP is an HTTP client trusting mimic's CA.
func (e *Env) HTTP() *http.Client { return e.client }

// URL joins a path to the ARM endpoint.
func (e *Env) URL(path string) string {
	return strings.TrimSuffix(e.Profile.Endpoints.ResourceManager, "/") + path
}

// StaticToken is a credential that returns a fixed token, for calling ARM
// as a principal whose token a test obtained some other way.
type StaticToken string

// GetToken implements azcore.TokenCredential.
func (s StaticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// ctx returns a context bounded by the test's deadline.
func ctx(t testing.TB) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// sub is the default subscription's id.
func sub() string { return env.Profile.SubscriptionID }

// rgID is a resource group id in the default subscription.
func rgID(name string) string { return "/subscriptions/" + sub() + "/resourceGroups/" + name }

// uniq returns a name unique to the test.
func uniq(t testing.TB, prefix string) string {
	t.Helper()
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1_000_000_000)
}

// must fails the test on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// respErr returns the ARM error code and status of err.
func respErr(t testing.TB, err error) (int, string) {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error, got success")
	}
	re, ok := err.(*azcore.ResponseError)
	if !ok {
		t.Fatalf("expected *azcore.ResponseError, got %T: %v", err, err)
	}
	return re.StatusCode, re.ErrorCode
}

// newGUID returns a random GUID.
func newGUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
