package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mimic-emu/mimic/internal/home"
)

// client talks to the server of a home as its operator: ARM, mimic's own
// API and the token issuer, over TLS trusting mimic's CA.
type client struct {
	dir     string
	profile *home.Profile
	http    *http.Client

	mu     sync.Mutex
	tokens map[string]cachedToken // by resource
}

// dial finds the server of the home and prepares a client for it.
func dial(g *globals) (*client, error) {
	dir, err := g.homeDir()
	if err != nil {
		return nil, err
	}
	p, err := home.ReadProfile(dir)
	if err != nil {
		return nil, err
	}
	hc, err := profileClient(p)
	if err != nil {
		return nil, err
	}
	hc.Timeout = 60 * time.Second
	return &client{dir: dir, profile: p, http: hc}, nil
}

// APIError is an error answer of ARM or mimic's API.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("(%s) %s", e.Code, e.Message) }

type cachedToken struct {
	token   string
	expires time.Time
}

// armToken returns an ARM token for the operator.
func (c *client) armToken(ctx context.Context) (string, error) {
	return c.token(ctx, c.profile.Endpoints.ResourceManagerAudience)
}

// token returns the operator's token for a resource, from the server's
// own token endpoint, cached until shortly before it expires.
func (c *client) token(ctx context.Context, resource string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.tokens[resource]; t.token != "" && time.Until(t.expires) > 2*time.Minute {
		return t.token, nil
	}
	p := c.profile
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {p.Operator.ClientID},
		"client_secret": {p.Operator.ClientSecret},
		"scope":         {strings.TrimSuffix(resource, "/") + "/.default"},
	}
	u := strings.TrimSuffix(p.Endpoints.ActiveDirectory, "/") + "/" + p.TenantID + "/oauth2/v2.0/token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("mimic is not answering at %s (is 'mimic up' running?): %w", p.Endpoints.ActiveDirectory, err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", fmt.Errorf("token endpoint: %w", err)
	}
	if body.AccessToken == "" {
		return "", fmt.Errorf("the operator cannot get a token for %s: %s: %s", resource, body.Error, body.Description)
	}
	if c.tokens == nil {
		c.tokens = map[string]cachedToken{}
	}
	c.tokens[resource] = cachedToken{body.AccessToken, time.Now().Add(time.Duration(body.ExpiresIn) * time.Second)}
	return body.AccessToken, nil
}

// do sends a request to path (relative to the ARM endpoint, with its query)
// with the operator's token, and decodes a JSON answer into out. Error
// answers become *APIError.
func (c *client) do(ctx context.Context, method, path string, body, out any, header ...string) error {
	tok, err := c.armToken(ctx)
	if err != nil {
		return err
	}
	return c.send(ctx, method, path, "Bearer "+tok, body, out, header...)
}

// send is do with an explicit Authorization header ("" for none).
func (c *client) send(ctx context.Context, method, path, authorization string, body, out any, header ...string) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	u := strings.TrimSuffix(c.profile.Endpoints.ResourceManager, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("mimic is not answering at %s (is 'mimic up' running?): %w", c.profile.Endpoints.ResourceManager, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Code != "" {
			return &APIError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
		}
		return &APIError{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode), Message: strings.TrimSpace(string(raw))}
	}
	if out != nil && len(raw) > 0 {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// resolveID turns a name into a resource id through ARM's generic listing:
// an identity (kind "identity") or a compute (anything else). Ids pass
// through.
func (c *client) resolveID(ctx context.Context, kind, nameOrID string) (string, error) {
	if strings.HasPrefix(nameOrID, "/") {
		return nameOrID, nil
	}
	types := []string{"Microsoft.Compute/virtualMachines", "Microsoft.Web/sites", "Microsoft.ContainerService/managedClusters"}
	if kind == "identity" {
		types = []string{"Microsoft.ManagedIdentity/userAssignedIdentities"}
	}
	var ids []string
	for _, t := range types {
		var page struct {
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
		}
		filter := url.QueryEscape(fmt.Sprintf("resourceType eq '%s' and name eq '%s'", t, strings.ReplaceAll(nameOrID, "'", "''")))
		if err := c.do(ctx, "GET", "/subscriptions/"+c.profile.SubscriptionID+"/resources?api-version=2021-04-01&$filter="+filter, nil, &page); err != nil {
			return "", err
		}
		for _, v := range page.Value {
			ids = append(ids, v.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("no %s named %q in subscription %s", kind, nameOrID, c.profile.SubscriptionID)
	case 1:
		return ids[0], nil
	}
	return "", fmt.Errorf("%q names %d resources; pass a resource id: %s", nameOrID, len(ids), strings.Join(ids, ", "))
}
