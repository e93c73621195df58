// Package clientenv composes the environment variables that point
// unmodified programs at mimic: the proxy, CA trust for each runtime, and
// credentials. `mimic env` prints them for an operator shell and
// `mimic run` sets them for a workload.
//
// The machines mimic runs on (and users' laptops) often export
// SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and NODE_EXTRA_CA_CERTS
// already, so these are always overwritten, never assumed unset. Go's
// SSL_CERT_FILE and Python's REQUESTS_CA_BUNDLE replace the system roots,
// so they point at a bundle of the system roots plus mimic's CA; Node's
// NODE_EXTRA_CA_CERTS adds to its roots, so it points at the CA alone.
package clientenv

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mimic-emu/mimic/internal/home"
)

// systemBundles are where Linux distributions keep their root bundle.
var systemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// BundlePath is the bundle of system roots plus mimic's CA in a home.
func BundlePath(dir string) string { return filepath.Join(dir, "ca-bundle.pem") }

// WriteBundle writes the system roots plus mimic's CA to the home's bundle.
func WriteBundle(dir string, p *home.Profile) (string, error) {
	ca, err := os.ReadFile(p.CAFile)
	if err != nil {
		return "", fmt.Errorf("read mimic's CA: %w", err)
	}
	var roots []byte
	for _, path := range systemBundles {
		if b, err := os.ReadFile(path); err == nil {
			roots = b
			break
		}
	}
	bundle := BundlePath(dir)
	var buf bytes.Buffer
	buf.Write(roots)
	if len(roots) > 0 && !bytes.HasSuffix(roots, []byte("\n")) {
		buf.WriteByte('\n')
	}
	buf.Write(ca)
	if err := home.WriteFileAtomic(bundle, buf.Bytes(), 0o644); err != nil {
		return "", err
	}
	return bundle, nil
}

// Trust returns the CA trust variables for Go, Python, curl and Node.
func Trust(bundle, caFile string) map[string]string {
	return map[string]string{
		"SSL_CERT_FILE":       bundle,
		"REQUESTS_CA_BUNDLE":  bundle,
		"CURL_CA_BUNDLE":      bundle,
		"NODE_EXTRA_CA_CERTS": caFile,
	}
}

// Proxy returns the proxy variables, in both cases (curl reads only the
// lower-case http_proxy), with NO_PROXY cleared: Node sends loopback
// traffic through the proxy too, and the proxy tunnels what it does not
// serve.
func Proxy(proxyURL string) map[string]string {
	return map[string]string{
		"HTTPS_PROXY": proxyURL, "https_proxy": proxyURL,
		"HTTP_PROXY": proxyURL, "http_proxy": proxyURL,
		"NO_PROXY": "", "no_proxy": "",
	}
}

// WithCredentials returns proxyURL with basic credentials.
func WithCredentials(proxyURL, user, secret string) (string, error) {
	u, err := url.Parse(proxyURL)
	if err != nil {
		return "", err
	}
	u.User = url.UserPassword(user, secret)
	return u.String(), nil
}

// Operator returns the operator's Azure SDK variables.
func Operator(p *home.Profile) map[string]string {
	return map[string]string{
		"AZURE_TENANT_ID":       p.TenantID,
		"AZURE_SUBSCRIPTION_ID": p.SubscriptionID,
		"AZURE_CLIENT_ID":       p.Operator.ClientID,
		"AZURE_CLIENT_SECRET":   p.Operator.ClientSecret,
	}
}

// Merge returns the union of maps; later ones win.
func Merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// Export renders variables as POSIX shell export lines, sorted.
func Export(env map[string]string) string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(env[k]))
	}
	return b.String()
}

// Unset renders unset lines for the variables' names, sorted.
func Unset(env map[string]string) string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return "unset " + strings.Join(keys, " ") + "\n"
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@=+,%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Environ overlays env on a process environment (KEY=VALUE entries): a
// variable in env replaces any existing entry of that name.
func Environ(base []string, env map[string]string) []string {
	out := make([]string, 0, len(base)+len(env))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := env[k]; !ok {
			out = append(out, kv)
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}
