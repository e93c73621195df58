package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// azClient is the client of the az-style commands: ARM as the operator in
// the subscription the command names, and the data planes (Key Vault,
// Blob) at their Azure hostnames through mimic's proxy.
type azClient struct {
	*client
	sub string

	mu   sync.Mutex
	data *http.Client
}

// arm returns the call's client, connecting on first use and resolving
// --subscription (an id or a name) against the subscriptions the
// operator sees.
func (c *azCall) arm() (*azClient, error) {
	if c.client != nil {
		return c.client, nil
	}
	base, err := dial(c.g)
	if err != nil {
		return nil, err
	}
	ac := &azClient{client: base, sub: base.profile.SubscriptionID}
	if want := c.g.az.subscription; want != "" && !strings.EqualFold(want, ac.sub) {
		subs, err := ac.list(c.ctx(), "/subscriptions", "2022-12-01")
		if err != nil {
			return nil, err
		}
		found := ""
		for _, s := range subs {
			m, _ := s.(map[string]any)
			if strings.EqualFold(str(m["subscriptionId"]), want) || str(m["displayName"]) == want {
				found = str(m["subscriptionId"])
				break
			}
		}
		if found == "" {
			return nil, cliError("Subscription '%s' not found. Check the spelling and casing and try again.", want)
		}
		ac.sub = found
	}
	c.client = ac
	return ac, nil
}

func (c *azCall) ctx() context.Context { return c.cmd.Context() }

// subPath is the subscription's ARM path.
func (c *azClient) subPath() string { return "/subscriptions/" + c.sub }

// groupPath is a resource group's ARM path.
func (c *azClient) groupPath(rg string) string {
	return c.subPath() + "/resourceGroups/" + url.PathEscape(rg)
}

// resourcePath is the ARM path of a top-level resource of a group.
func (c *azClient) resourcePath(rg, typ, name string) string {
	return c.groupPath(rg) + "/providers/" + typ + "/" + url.PathEscape(name)
}

// call sends an ARM request and decodes the answer, keeping numbers as
// they were written.
func (c *azClient) call(ctx context.Context, method, path, apiVersion string, body any) (any, error) {
	var raw json.RawMessage
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	if apiVersion != "" {
		path += sep + "api-version=" + apiVersion
	}
	if err := c.do(ctx, method, path, body, &raw); err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		return nil, nil
	}
	return decodeJSON(raw)
}

// get returns a resource as a map.
func (c *azClient) get(ctx context.Context, path, apiVersion string) (map[string]any, error) {
	v, err := c.call(ctx, http.MethodGet, path, apiVersion, nil)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// put, patch and post return the answer as a map.
func (c *azClient) send(ctx context.Context, method, path, apiVersion string, body any) (map[string]any, error) {
	v, err := c.call(ctx, method, path, apiVersion, body)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	return m, nil
}

// list reads every page of a collection.
func (c *azClient) list(ctx context.Context, path, apiVersion string) ([]any, error) {
	var all []any
	next := path
	for next != "" {
		v, err := c.call(ctx, http.MethodGet, next, apiVersion, nil)
		if err != nil {
			return nil, err
		}
		page, _ := v.(map[string]any)
		if items, ok := page["value"].([]any); ok {
			all = append(all, items...)
		}
		next, apiVersion = "", ""
		if link := str(page["nextLink"]); link != "" {
			u, err := url.Parse(link)
			if err != nil {
				return nil, err
			}
			next = u.RequestURI()
		}
	}
	if all == nil {
		all = []any{}
	}
	return all, nil
}

func decodeJSON(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// dataClient is an HTTP client that reaches Azure's data-plane hostnames
// through mimic's proxy, trusting mimic's CA, as an operator shell does.
func (c *azClient) dataClient() (*http.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.data != nil {
		return c.data, nil
	}
	if c.profile.Endpoints.Proxy == "" {
		return nil, fmt.Errorf("the profile names no proxy: restart the server with a current mimic")
	}
	proxy, err := url.Parse(c.profile.Endpoints.Proxy)
	if err != nil {
		return nil, err
	}
	base, err := profileClient(c.profile)
	if err != nil {
		return nil, err
	}
	var tlsConfig *tls.Config
	if tr, ok := base.Transport.(*http.Transport); ok {
		tlsConfig = tr.TLSClientConfig
	}
	c.data = &http.Client{
		Timeout:   5 * time.Minute,
		Transport: &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: tlsConfig, ForceAttemptHTTP2: false},
	}
	return c.data, nil
}

// dataRequest sends a data-plane request and returns the answer; error
// answers are the caller's to read.
func (c *azClient) dataRequest(ctx context.Context, method, u string, header http.Header, body []byte) (*http.Response, []byte, error) {
	hc, err := c.dataClient()
	if err != nil {
		return nil, nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if body != nil {
		req.ContentLength = int64(len(body))
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp, raw, err
}

// str returns a string value of a decoded document, or "".
func str(v any) string {
	s, _ := v.(string)
	return s
}

// obj returns an object value of a decoded document, or nil.
func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// dig follows keys through nested objects.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
