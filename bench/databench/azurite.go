package databench

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/demo"
)

// ErrNoNode means node or npm is not installed: Azurite cannot run.
var ErrNoNode = errors.New("databench: Azurite needs node and npm on PATH (Debian: apt-get install nodejs npm)")

// stampFile, in node_modules, holds the SHA-256 of package.json and
// package-lock.json as of the last npm ci (the convention of .ci/run).
const stampFile = ".mimic-lock-sha256"

// CheckNode returns ErrNoNode unless node and npm are on PATH.
func CheckNode() error {
	for _, c := range []string{"node", "npm"} {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Errorf("%w: %s not found", ErrNoNode, c)
		}
	}
	return nil
}

// ensureAzurite installs bench/node's pinned packages with npm ci when
// node_modules is missing or was built from another package.json or lock
// file (its stamp says), and returns Azurite's Blob entry point and
// version.
func ensureAzurite(ctx context.Context, nodeDir string, log io.Writer) (mainJS, version string, err error) {
	if err := CheckNode(); err != nil {
		return "", "", err
	}
	var manifest []byte
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(nodeDir, f))
		if err != nil {
			return "", "", fmt.Errorf("databench: the pinned Azurite: %w", err)
		}
		manifest = append(manifest, b...)
	}
	sum := sha256.Sum256(manifest)
	want := hex.EncodeToString(sum[:])
	stamp := filepath.Join(nodeDir, "node_modules", stampFile)
	bin := filepath.Join(nodeDir, "node_modules", ".bin", "azurite-blob")
	got, _ := os.ReadFile(stamp)
	if _, err := os.Stat(bin); err != nil || strings.TrimSpace(string(got)) != want {
		fmt.Fprintf(log, "npm ci in %s\n", nodeDir)
		start := time.Now()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = nodeDir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return "", "", fmt.Errorf("databench: npm ci in %s: %w\n%s", nodeDir, err, out.Bytes())
		}
		if err := os.WriteFile(stamp, []byte(want+"\n"), 0o644); err != nil {
			return "", "", err
		}
		fmt.Fprintf(log, "npm ci: %.0fs\n", time.Since(start).Seconds())
	}
	// Run node on the script itself (not through the .bin shim), so that
	// the process the harness watches and stops is Azurite's.
	mainJS, err = filepath.EvalSymlinks(bin)
	if err != nil {
		return "", "", err
	}
	var pkg struct{ Version string }
	b, err := os.ReadFile(filepath.Join(nodeDir, "node_modules", "azurite", "package.json"))
	if err == nil {
		json.Unmarshal(b, &pkg)
	}
	return mainJS, pkg.Version, nil
}

// azuriteAccount is Azurite's built-in account, addressed path-style.
const azuriteAccount = "devstoreaccount1"

// azuriteServer is a running azurite-blob.
type azuriteServer struct {
	proc *process
	base string // https://127.0.0.1:PORT/devstoreaccount1
	ca   *x509.CertPool
	hc   *http.Client
}

var listening = regexp.MustCompile(`successfully listens on (https://[0-9.]+:[0-9]+)`)

// startAzurite runs azurite-blob over HTTPS on a free port, with OAuth
// (basic), a self-signed certificate for 127.0.0.1 and its data in dir.
func startAzurite(ctx context.Context, mainJS, dir string, extra []string) (*azuriteServer, error) {
	certFile, keyFile := filepath.Join(dir, "azurite-cert.pem"), filepath.Join(dir, "azurite-key.pem")
	ca, err := selfSigned(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	loc := filepath.Join(dir, "azurite")
	if err := os.MkdirAll(loc, 0o700); err != nil {
		return nil, err
	}
	args := []string{mainJS, "--blobHost", "127.0.0.1", "--blobPort", "0", "--oauth", "basic", "--cert", certFile, "--key", keyFile,
		"--skipApiVersionCheck", "--loose", "--disableTelemetry"}
	if !slices.Contains(extra, "--inMemoryPersistence") {
		// Azurite refuses both.
		args = append(args, "--location", loc)
	}
	args = append(args, extra...)
	cmd := exec.Command("node", args...)
	cmd.Dir = dir
	p, err := startProcess("azurite", cmd, filepath.Join(dir, "azurite.log"))
	if err != nil {
		return nil, err
	}
	a := &azuriteServer{proc: p, ca: ca}
	deadline := time.Now().Add(60 * time.Second)
	for a.base == "" {
		b, _ := os.ReadFile(filepath.Join(dir, "azurite.log"))
		if m := listening.FindSubmatch(b); m != nil {
			a.base = string(m[1]) + "/" + azuriteAccount
			break
		}
		if p.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			p.stop(5 * time.Second)
			return nil, fmt.Errorf("azurite did not start listening: %s", p.tail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	a.hc = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca}}}
	return a, nil
}

func (a *azuriteServer) stop() {
	if a.hc != nil {
		a.hc.CloseIdleConnections()
	}
	a.proc.stop(10 * time.Second)
}

// setup creates container cont1 and blob b1 with content, with a bearer
// token, and returns the blob's URL.
func (a *azuriteServer) setup(ctx context.Context, token string, content []byte) (string, error) {
	do := func(method, u string, body []byte, h http.Header) error {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header = h
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-Ms-Version", blobVersion)
		return demo.Send(a.hc, req, nil)
	}
	if err := do(http.MethodPut, a.base+"/cont1?restype=container", nil, http.Header{}); err != nil {
		return "", fmt.Errorf("azurite: create the container: %w", err)
	}
	u := a.base + "/cont1/b1"
	if err := do(http.MethodPut, u, content, http.Header{"X-Ms-Blob-Type": {"BlockBlob"}, "Content-Type": {"application/octet-stream"}}); err != nil {
		return "", fmt.Errorf("azurite: put the blob: %w", err)
	}
	return u, nil
}

// azuriteToken mints a bearer token that Azurite's --oauth basic accepts.
// Azurite decodes the JWT without checking its signature; it requires
// iat, nbf and exp (now within [nbf, exp]), an issuer starting with
// https://sts.windows.net/ and the audience https://storage.azure.com
// (src/blob/authentication/BlobTokenAuthenticator.ts). The token has the
// claims of an Entra v1 app token, as mimic's own tokens do, and a real
// RS256 signature by a throwaway key, so that both servers parse tokens of
// about the same size.
func azuriteToken(tenant, objectID, clientID string, now time.Time) (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	header := map[string]string{"alg": "RS256", "typ": "JWT", "kid": "databench"}
	nbf := now.Add(-5 * time.Minute).Unix()
	claims := map[string]any{
		"aud": "https://storage.azure.com", "iss": "https://sts.windows.net/" + tenant + "/",
		"iat": nbf, "nbf": nbf, "exp": now.Add(2 * time.Hour).Unix(),
		"appid": clientID, "appidacr": "1", "idtyp": "app", "oid": objectID, "sub": objectID, "tid": tenant,
		"uti": randomHex(11), "rh": "0." + randomHex(24) + ".", "ver": "1.0",
	}
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(header) + "." + enc(claims)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", err
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// selfSigned writes a self-signed ECDSA P-256 certificate for 127.0.0.1
// (the key type of the certificates mimic's CA mints) and returns a pool
// that trusts it.
func selfSigned(certFile, keyFile string) (*x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool, nil
}
