package demo

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// HTTPClient is a Client that talks to a running mimic as its operator:
// ARM at its own URL, and the data planes at Azure's hostnames through its
// proxy.
type HTTPClient struct {
	// ARMURL and AuthorityURL are the server's HTTPS base URLs.
	ARMURL, AuthorityURL string
	// Proxy is the intercepting proxy's URL.
	Proxy    string
	Tenant   string
	ClientID string
	Secret   string
	// CA trusts mimic's certificates.
	CA *x509.CertPool

	once   sync.Once
	direct *http.Client
	viaPxy *http.Client
	mu     sync.Mutex
	tokens map[string]string
}

func (c *HTTPClient) init() {
	c.once.Do(func() {
		tlsConf := &tls.Config{RootCAs: c.CA}
		c.direct = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf}}
		proxyURL, _ := url.Parse(c.Proxy)
		c.viaPxy = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf, Proxy: http.ProxyURL(proxyURL)}}
		c.tokens = map[string]string{}
	})
}

// Token gets an operator token for a resource (cached).
func (c *HTTPClient) Token(ctx context.Context, resource string) (string, error) {
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.tokens[resource]; t != "" {
		return t, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.Secret}, "scope": {strings.TrimSuffix(resource, "/") + "/.default"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.AuthorityURL, "/")+"/"+c.Tenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var out struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	if err := Send(c.direct, req, &out); err != nil {
		return "", err
	}
	if out.AccessToken == "" {
		return "", fmt.Errorf("demo: operator token for %s: %s", resource, out.Error)
	}
	c.tokens[resource] = out.AccessToken
	return out.AccessToken, nil
}

// Send sends req and decodes a JSON answer into out; a status of 400 or
// more is an error.
func Send(hc *http.Client, req *http.Request, out any) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil && len(raw) > 0 {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// request sends a request with an operator token for resource, through
// the proxy when proxied (the data planes' hostnames).
func (c *HTTPClient) request(ctx context.Context, proxied bool, method, u, resource string, body io.Reader, header http.Header, out any) error {
	tok, err := c.Token(ctx, resource)
	if err != nil {
		return err
	}
	hc := c.direct
	if proxied {
		hc = c.viaPxy
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return Send(hc, req, out)
}

// ARM implements Client.
func (c *HTTPClient) ARM(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	u := strings.TrimSuffix(c.ARMURL, "/") + "/" + strings.TrimPrefix(path, "/")
	return c.request(ctx, false, method, u, "https://management.azure.com", rd, http.Header{"Content-Type": {"application/json"}}, out)
}

// SetSecret implements Client, through Key Vault's REST API.
func (c *HTTPClient) SetSecret(ctx context.Context, vault, name, value string) error {
	b, _ := json.Marshal(map[string]string{"value": value})
	u := "https://" + vault + ".vault.azure.net/secrets/" + name + "?api-version=7.4"
	return c.request(ctx, true, http.MethodPut, u, "https://vault.azure.net", bytes.NewReader(b), http.Header{"Content-Type": {"application/json"}}, nil)
}

// PutBlob implements Client, through Blob storage's REST API.
func (c *HTTPClient) PutBlob(ctx context.Context, account, container, name, content string) error {
	base := "https://" + account + ".blob.core.windows.net/" + container
	h := http.Header{"X-Ms-Version": {"2021-12-02"}}
	if err := c.request(ctx, true, http.MethodPut, base+"?restype=container", "https://storage.azure.com", nil, h, nil); err != nil && !strings.Contains(err.Error(), "ContainerAlreadyExists") {
		return err
	}
	h = http.Header{"X-Ms-Version": {"2021-12-02"}, "X-Ms-Blob-Type": {"BlockBlob"}, "Content-Type": {"text/csv"}}
	return c.request(ctx, true, http.MethodPut, base+"/"+name, "https://storage.azure.com", strings.NewReader(content), h, nil)
}
