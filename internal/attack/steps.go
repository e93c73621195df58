package attack

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/resourceid"
)

// foothold is a compute the replay runs code on: a run of mimic's.
type foothold struct {
	computeID string
	run       struct {
		ID       string            `json:"id"`
		Secret   string            `json:"secret"`
		Platform string            `json:"platform"`
		Proxy    string            `json:"proxy"`
		Env      map[string]string `json:"env"`
	}
	// actorToken started the run; pods of a cluster are started with it.
	actorToken string
	// imds reaches IMDS through the proxy with the run's credentials.
	imds *http.Client
}

// startRun starts a run as a compute with a token: the operator's for the
// foothold, an obtained identity's for an escalation (mimic authorizes it
// like the escalation itself).
func (p *replay) startRun(ctx context.Context, computeID, token, how string) (*foothold, error) {
	return p.startRunAs(ctx, map[string]any{"compute": computeID}, computeID, token, how)
}

func (p *replay) startRunAs(ctx context.Context, req map[string]any, key, token, how string) (*foothold, error) {
	if f := p.computes[strings.ToLower(key)]; f != nil {
		return f, nil
	}
	status, body, err := p.do(ctx, p.direct, http.MethodPost, strings.TrimSuffix(p.env.ARMURL, "/")+"/mimic/v1/runs", token, req, nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusCreated {
		return nil, fmt.Errorf("%d %s", status, strings.TrimSpace(string(body)))
	}
	f := &foothold{computeID: key, actorToken: token}
	if err := json.Unmarshal(body, &f.run); err != nil {
		return nil, err
	}
	p.computes[strings.ToLower(key)] = f
	p.cleanup = append(p.cleanup, func(ctx context.Context) {
		p.do(ctx, p.direct, http.MethodDelete, strings.TrimSuffix(p.env.ARMURL, "/")+"/mimic/v1/runs/"+f.run.ID, "", nil, map[string]string{"X-Mimic-Run-Secret": f.run.Secret})
	})
	return f, nil
}

// tokenVia gets a token of an identity through a foothold's platform
// endpoint, as code there would.
func (p *replay) tokenVia(ctx context.Context, f *foothold, identity, resource string) (string, error) {
	var status int
	var body []byte
	var err error
	system := strings.EqualFold(identity, f.computeID)
	switch f.run.Platform {
	case "appservice", "functions":
		q := url.Values{"api-version": {"2019-08-01"}, "resource": {resource}}
		if !system {
			q.Set("mi_res_id", identity)
		}
		status, body, err = p.do(ctx, p.direct, http.MethodGet, f.run.Env["IDENTITY_ENDPOINT"]+"?"+q.Encode(), "", nil,
			map[string]string{"X-IDENTITY-HEADER": f.run.Env["IDENTITY_HEADER"]})
	case "aks":
		if strings.EqualFold(identity, f.run.Env["mimic.kubelet"]) || f.run.Env["AZURE_CLIENT_ID"] == "" {
			return p.imdsToken(ctx, f, identity, resource, false)
		}
		return p.federatedToken(ctx, f, resource)
	default:
		return p.imdsToken(ctx, f, identity, resource, system)
	}
	if err != nil {
		return "", err
	}
	return accessToken(status, body)
}

// imdsToken asks IMDS through the proxy with the run's credentials.
func (p *replay) imdsToken(ctx context.Context, f *foothold, identity, resource string, system bool) (string, error) {
	if f.imds == nil {
		proxyURL, err := url.Parse(f.run.Proxy)
		if err != nil {
			return "", err
		}
		proxyURL.User = url.UserPassword("run", f.run.Secret)
		f.imds = &http.Client{Timeout: p.direct.Timeout, Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
		p.clients = append(p.clients, f.imds)
	}
	q := url.Values{"api-version": {"2018-02-01"}, "resource": {resource}}
	if !system {
		q.Set("msi_res_id", identity)
	}
	status, body, err := p.do(ctx, f.imds, http.MethodGet, "http://169.254.169.254/metadata/identity/oauth2/token?"+q.Encode(), "", nil, map[string]string{"Metadata": "true"})
	if err != nil {
		return "", err
	}
	return accessToken(status, body)
}

// federatedToken trades a pod's projected token for an access token.
func (p *replay) federatedToken(ctx context.Context, f *foothold, resource string) (string, error) {
	status, body, err := p.do(ctx, p.direct, http.MethodPost, strings.TrimSuffix(p.env.ARMURL, "/")+"/mimic/v1/runs/"+f.run.ID+"/token", "", nil,
		map[string]string{"X-Mimic-Run-Secret": f.run.Secret})
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("service account token: %d %s", status, body)
	}
	var sa struct{ Token string }
	if err := json.Unmarshal(body, &sa); err != nil {
		return "", err
	}
	return p.exchange(ctx, f.run.Env["AZURE_CLIENT_ID"], sa.Token, resource)
}

// tokenError is a token endpoint's refusal.
type tokenError struct {
	status int
	body   string
}

func (e *tokenError) Error() string { return fmt.Sprintf("%d %s", e.status, e.body) }

func accessToken(status int, body []byte) (string, error) {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &out) != nil || out.AccessToken == "" {
		return "", &tokenError{status, strings.TrimSpace(string(body))}
	}
	return out.AccessToken, nil
}

// cached wraps a token source as an attacker's code would use it: each
// token is kept for the replay, and a token endpoint's 429 (IMDS limits
// each VM's requests) is retried with backoff, a few times.
func cached(src tokenSource) tokenSource {
	var mu sync.Mutex
	tokens := map[string]string{}
	return func(ctx context.Context, resource string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if t := tokens[resource]; t != "" {
			return t, nil
		}
		delay := 100 * time.Millisecond
		for attempt := 0; ; attempt++ {
			t, err := src(ctx, resource)
			var te *tokenError
			if err == nil {
				tokens[resource] = t
				return t, nil
			}
			if !errors.As(err, &te) || te.status != http.StatusTooManyRequests || attempt == 5 {
				return "", err
			}
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(delay):
			}
			delay *= 2
		}
	}
}

// oidOf reads a token's oid claim.
func oidOf(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct{ Oid string }
	json.Unmarshal(b, &c)
	return c.Oid
}

// capFederate is the step kind of a federated credential write.
const capFederate = "federatedCredentialWrite"

// actor is the identity that takes a path's last escalation: the identity
// of the last "holds" step (or of a "control" step).
func actor(path []analyzer.Step) string {
	for i := len(path) - 1; i >= 0; i-- {
		switch path[i].Kind {
		case "holds", "control", "grants", "listKeys", "accessPolicyWrite":
			return path[i].From
		}
	}
	return ""
}

// grantsFromRoleWrite replays the roleAssignmentWrite steps of a path:
// the identity that holds the role (the step before) grants itself Owner
// at the scope, with its own token.
func (p *replay) grantsFromRoleWrite(ctx context.Context, path []analyzer.Step) error {
	holder := ""
	for _, st := range path {
		switch st.Kind {
		case "holds":
			holder = st.From
		case "roleAssignmentWrite":
			if err := p.grantSelf(ctx, holder, st.From, ownerRole); err != nil {
				return err
			}
		}
	}
	return nil
}

// takeControl replays a path's role assignment writes and, before a
// control step taken after one, the Owner role the actor then grants
// itself on the target.
func (p *replay) takeControl(ctx context.Context, h analyzer.Held) error {
	if err := p.grantsFromRoleWrite(ctx, h.Path); err != nil {
		return err
	}
	if last := lastStep(h.Path); last.Kind == "control" && analyzer.ControlAfterRoleWrite(last) {
		return p.grantSelf(ctx, actor(h.Path), h.ID, ownerRole)
	}
	return nil
}

const (
	ownerRole         = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	kvSecretsUserRole = "4633458b-17de-408a-b874-0445c86b69e6"
	blobReaderRole    = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
)

// grantSelf writes a role assignment for the identity at scope with the
// identity's own token, and undoes it afterwards.
func (p *replay) grantSelf(ctx context.Context, identity, scope, role string) error {
	tok, err := p.token(ctx, identity, armResource)
	if err != nil {
		return err
	}
	sid, err := resourceid.Parse(scope)
	if err != nil {
		return err
	}
	name := newName()
	path := sid.Extension("Microsoft.Authorization", "roleAssignments", name).String()
	sub := sid.Subscription
	status, body, err := p.arm(ctx, http.MethodPut, path, "2022-04-01", tok, map[string]any{"properties": map[string]any{
		"roleDefinitionId": "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + role,
		"principalId":      oidOf(tok), "principalType": "ServicePrincipal",
	}})
	if err != nil {
		return err
	}
	if status == http.StatusConflict {
		return nil
	}
	if status >= 300 {
		return fmt.Errorf("grant itself %s at %s: %d %s", role, scope, status, body)
	}
	p.undoAsOperator(http.MethodDelete, path, "2022-04-01", nil)
	return nil
}

// undoAsOperator registers a clean-up request: method on path, sent as the
// operator when the replay ends.
func (p *replay) undoAsOperator(method, path, api string, body any) {
	p.cleanup = append(p.cleanup, func(ctx context.Context) {
		if op, err := p.env.OperatorToken(ctx, armResource); err == nil {
			p.arm(ctx, method, path, api, op, body)
		}
	})
}

// controlCompute takes control of a compute the search reached by an
// escalation: a run started with the escalating identity's token.
func (p *replay) controlCompute(ctx context.Context, h analyzer.Held) {
	if _, ok := p.computes[strings.ToLower(h.ID)]; ok {
		return
	}
	last := lastStep(h.Path)
	switch last.Kind {
	case "nodeAccess":
		cluster := p.computes[strings.ToLower(last.From)]
		if cluster == nil {
			p.note("%s: its cluster %s is not controlled", h.ID, last.From)
			return
		}
		id, err := resourceid.Parse(h.ID)
		if err != nil {
			return
		}
		ns, name, _ := strings.Cut(id.Name(), ".")
		if _, err := p.startRunAs(ctx, map[string]any{"compute": last.From, "serviceAccount": ns + "/" + name}, h.ID, cluster.actorToken, "nodeAccess"); err != nil {
			p.note("%s: %v", h.ID, err)
		}
		return
	case "runCommand", "write", "clusterAdmin", "control":
	default:
		p.note("%s: no replay for a %q step", h.ID, last.Kind)
		return
	}
	who := actor(h.Path)
	if err := p.takeControl(ctx, h); err != nil {
		p.note("%s: %v", h.ID, err)
		return
	}
	tok, err := p.token(ctx, who, armResource)
	if err != nil {
		p.note("%s: %v", h.ID, err)
		return
	}
	req := map[string]any{"compute": h.ID}
	if h.Kind == string(analyzer.Cluster) {
		req["node"] = true
	}
	if _, err := p.startRunAs(ctx, req, h.ID, tok, last.Kind); err != nil {
		p.note("%s: %s with %s's token: %v", h.ID, last.Kind, who, err)
	}
}

// obtainIdentity gets tokens for an identity the search reached.
func (p *replay) obtainIdentity(ctx context.Context, h analyzer.Held) {
	last := lastStep(h.Path)
	o := Obtained{Identity: h.ID, How: last.Kind}
	var src tokenSource
	switch last.Kind {
	case "token", "federated":
		f := p.computes[strings.ToLower(last.From)]
		if f == nil {
			o.Error = "the compute " + last.From + " is not controlled"
			break
		}
		if f.run.Platform == "aks" && last.Kind == "token" {
			f.run.Env["mimic.kubelet"] = h.ID
		}
		id := h.ID
		src = func(ctx context.Context, resource string) (string, error) { return p.tokenVia(ctx, f, id, resource) }
	case "assign", "control", capFederate:
		if last.Kind == capFederate || last.Kind == "control" && analyzer.ControlCapability(last) == capFederate {
			if err := p.takeControl(ctx, h); err != nil {
				o.Error = err.Error()
				break
			}
			src = p.federate(ctx, h, &o)
			break
		}
		if err := p.grantsFromRoleWrite(ctx, h.Path); err != nil {
			o.Error = err.Error()
			break
		}
		src = p.attach(ctx, h, &o)
	default:
		o.Error = "no replay for a " + last.Kind + " step"
	}
	if src != nil {
		src = cached(src)
		if _, err := src(ctx, armResource); err != nil {
			o.Error = err.Error()
		} else {
			o.OK = true
			p.sources[strings.ToLower(h.ID)] = src
			p.held = append(p.held, h.ID)
		}
	}
	p.report.Identities = append(p.report.Identities, o)
}

// exercise tries what a reach entry says the identity may do.
func (p *replay) exercise(ctx context.Context, r analyzer.Reach) {
	last := lastStep(r.Path)
	who := actor(r.Path)
	if p.sources[strings.ToLower(who)] == nil {
		p.record(Exercise{Resource: r.Resource, Action: "(any)", Identity: who, Detail: "the identity was not obtained"})
		return
	}
	if err := p.grantsFromRoleWrite(ctx, r.Path); err != nil {
		p.record(Exercise{Resource: r.Resource, Action: "roleAssignmentWrite", Identity: who, Detail: err.Error()})
		return
	}
	typ := strings.ToLower(r.Type)
	switch {
	case last.Kind == "roleAssignmentWrite" && typ == "microsoft.keyvault/vaults":
		if err := p.grantSelf(ctx, who, r.Resource, kvSecretsUserRole); err != nil {
			p.record(Exercise{Resource: r.Resource, Action: "roleAssignmentWrite", Identity: who, Detail: err.Error()})
			return
		}
		p.record(p.readSecrets(ctx, r.Resource, who))
	case last.Kind == "roleAssignmentWrite" && typ == "microsoft.storage/storageaccounts":
		if err := p.grantSelf(ctx, who, r.Resource, blobReaderRole); err != nil {
			p.record(Exercise{Resource: r.Resource, Action: "roleAssignmentWrite", Identity: who, Detail: err.Error()})
			return
		}
		p.record(p.readBlobs(ctx, r.Resource, who))
	case last.Kind == "accessPolicyWrite":
		p.addAccessPolicy(ctx, r.Resource, who)
		p.record(p.readSecrets(ctx, r.Resource, who))
	case last.Kind == "listKeys":
		p.listKeys(ctx, r.Resource, who)
	case typ == "microsoft.keyvault/vaults" && reaches(r.DataActions, r.NotDataActions, "Microsoft.KeyVault/vaults/secrets/getSecret/action"):
		p.record(p.asAnyHeld(ctx, who, r.Resource, kvSecretsUserRole, func(w string) Exercise { return p.readSecrets(ctx, r.Resource, w) }))
	case typ == "microsoft.storage/storageaccounts" && reaches(r.DataActions, r.NotDataActions, "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"):
		p.record(p.asAnyHeld(ctx, who, r.Resource, blobReaderRole, func(w string) Exercise { return p.readBlobs(ctx, r.Resource, w) }))
	}
	if reaches(r.Actions, r.NotActions, r.Type+"/read") && apiVersions[typ] != "" {
		p.record(p.asAnyHeld(ctx, who, r.Resource, "", func(w string) Exercise { return p.readResource(ctx, r, w) }))
	}
}

// asAnyHeld tries an action as the path's actor, then as every other
// identity the replay holds, then (given a role) as each identity that
// can grant itself that role on the resource, as an attacker would: a
// resource's actions in the blast radius are the union over every
// identity that reaches it, while its path explains one. The first
// success is the proof; without one, the actor's failure is reported.
func (p *replay) asAnyHeld(ctx context.Context, who, resource, role string, try func(identity string) Exercise) Exercise {
	first := try(who)
	if first.OK {
		return first
	}
	for _, id := range p.held {
		if strings.EqualFold(id, who) {
			continue
		}
		if e := try(id); e.OK {
			return e
		}
	}
	if role == "" {
		return first
	}
	for _, id := range p.held {
		if p.grantSelf(ctx, id, resource, role) != nil {
			continue
		}
		if e := try(id); e.OK {
			e.Detail += ", after granting itself the role " + role
			return e
		}
	}
	return first
}

// probe tries to read a data resource outside the radius with every
// identity the replay holds, after the radius' own escalations, directly
// and after trying to grant itself a reader role: the analysis is sound
// only if each attempt is refused.
func (p *replay) probe(ctx context.Context, id string) {
	rid, err := resourceid.Parse(id)
	if err != nil {
		return
	}
	var try func(who string) Exercise
	var role string
	switch strings.ToLower(rid.Type()) {
	case "microsoft.keyvault/vaults":
		try, role = func(who string) Exercise { return p.readSecrets(ctx, id, who) }, kvSecretsUserRole
	case "microsoft.storage/storageaccounts":
		try, role = func(who string) Exercise { return p.readBlobs(ctx, id, who) }, blobReaderRole
	default:
		return
	}
	for _, who := range p.held {
		p.report.Probed++
		e := try(who)
		if !e.OK && p.grantSelf(ctx, who, id, role) == nil {
			e = try(who)
			e.Detail += ", after granting itself the role " + role
		}
		if e.OK {
			p.report.Beyond = append(p.report.Beyond, e)
		}
	}
}

// reaches reports whether the analysis says an action is reached: some
// pattern grants it and no exclusion (a role's NotActions, or a deny
// assignment's patterns) takes it out.
func reaches(patterns, not []string, action string) bool {
	return authz.MatchAny(patterns, action) && !authz.MatchAny(not, action)
}

func (p *replay) record(e Exercise) { p.report.Exercised = append(p.report.Exercised, e) }

func newName() string {
	var b [16]byte
	if _, err := randRead(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
