// Package mimicapi is mimic's own HTTP API, under /mimic/v1 on the main
// listener, for what Azure has no API for: starting a program as a compute
// resource, reading the logs, the analysis, and importing real estates.
//
//	POST   /mimic/v1/runs                 {"compute": NAME|ID, "serviceAccount": "NS/NAME"}
//	GET    /mimic/v1/runs/{id}            (X-Mimic-Run-Secret)
//	DELETE /mimic/v1/runs/{id}            (X-Mimic-Run-Secret)
//	POST   /mimic/v1/runs/{id}/token      (X-Mimic-Run-Secret) a fresh service-account token
//	GET    /mimic/v1/logs/signins?identity=&compute=&since=&after=&limit=
//	GET    /mimic/v1/logs/access?identity=&compute=&principal=&since=&after=&limit=
//	GET    /mimic/v1/authz/check?principal=&action=&scope=&dataAction=true
//	GET    /mimic/v1/analysis/blast-radius?start=ID
//	GET    /mimic/v1/analysis/findings?window=30d
//	GET    /mimic/v1/analysis/recommend?identity=&since=30d
//	POST   /mimic/v1/analysis/diff        analyzer.Plan: how it would change every blast radius
//	POST   /mimic/v1/import               importer.Request (batches; "final": true ends the import)
//
// Callers authenticate with an ARM token and are authorized by RBAC. To
// start a run as a compute resource, the caller needs the permission that
// yields code execution on it in Azure: runCommand on a VM, write on a site,
// cluster-admin credentials on an AKS cluster. A run's own requests
// authenticate with its secret. Errors use ARM's JSON (package armerr).
package mimicapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/accesslog"
	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/compute"
	"github.com/mimic-emu/mimic/internal/arm/containerservice"
	"github.com/mimic-emu/mimic/internal/arm/web"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/directory"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/signin"
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/workload"
)

// AKS prepares runs as AKS pods; package aks implements it.
type AKS interface {
	// PrepareRun validates that a service account of a cluster can run,
	// and returns the variables the workload-identity webhook injects.
	PrepareRun(ctx context.Context, clusterID, serviceAccount string) (map[string]string, error)
	// MintServiceAccountToken mints a projected service-account token.
	MintServiceAccountToken(ctx context.Context, clusterID, namespace, name string) (string, time.Time, error)
}

// API serves /mimic/v1.
type API struct {
	ARM     *arm.Server
	Store   store.Store
	Runs    *workload.Runs
	Signins *signin.Log
	Access  *accesslog.Log
	Authz   interface{ Engine() *authz.Engine }
	AKS     AKS
	// ProxyURL is the proxy's URL, e.g. http://127.0.0.1:7480.
	ProxyURL func() string
	// IdentityEndpoint is the App Service identity endpoint's URL.
	IdentityEndpoint func() string
	// RunTTL bounds a run's life.
	RunTTL time.Duration
	// SubscriptionID is the default subscription; reading logs needs
	// read access at it.
	SubscriptionID string

	cache analysisCache
}

// Permissions that start runs: what yields code execution on a compute.
var runPermissions = map[string]string{
	strings.ToLower(compute.VMType):               "Microsoft.Compute/virtualMachines/runCommand/action",
	strings.ToLower(web.SiteType):                 "Microsoft.Web/sites/write",
	strings.ToLower(containerservice.ClusterType): "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
}

// Mount registers the API on mux.
func (a *API) Mount(mux *http.ServeMux) {
	mux.HandleFunc("POST /mimic/v1/runs", a.handle(a.createRun))
	mux.HandleFunc("GET /mimic/v1/runs/{id}", a.handle(a.getRun))
	mux.HandleFunc("DELETE /mimic/v1/runs/{id}", a.handle(a.deleteRun))
	mux.HandleFunc("POST /mimic/v1/runs/{id}/token", a.handle(a.runToken))
	mux.HandleFunc("GET /mimic/v1/logs/signins", a.handle(a.signins))
	mux.HandleFunc("GET /mimic/v1/logs/access", a.handle(a.access))
	mux.HandleFunc("GET /mimic/v1/authz/check", a.handle(a.check))
	mux.HandleFunc("GET /mimic/v1/analysis/blast-radius", a.handle(a.blastRadius))
	mux.HandleFunc("GET /mimic/v1/analysis/findings", a.handle(a.findings))
	mux.HandleFunc("GET /mimic/v1/analysis/recommend", a.handle(a.recommend))
	mux.HandleFunc("POST /mimic/v1/analysis/diff", a.handle(a.diff))
	mux.HandleFunc("POST /mimic/v1/import", a.handle(a.importDocs))
}

func (a *API) handle(fn func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			armerr.Write(w, r, err)
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// RunRequest is the body of POST /mimic/v1/runs.
type RunRequest struct {
	Compute        string `json:"compute"`
	ServiceAccount string `json:"serviceAccount,omitempty"`
	// Node runs on an AKS cluster's nodes rather than in a pod: no service
	// account, and IMDS hands out the kubelet identity. `mimic attack`
	// uses it after a cluster-admin escalation; `mimic run` always names a
	// service account.
	Node bool `json:"node,omitempty"`
}

// RunResponse describes a started run.
type RunResponse struct {
	ID        string `json:"id"`
	Secret    string `json:"secret,omitempty"`
	ComputeID string `json:"computeId"`
	// Platform is "vm", "appservice", "functions" or "aks".
	Platform       string            `json:"platform"`
	ServiceAccount string            `json:"serviceAccount,omitempty"`
	Proxy          string            `json:"proxy"`
	Env            map[string]string `json:"env"`
	Expires        time.Time         `json:"expires"`
}

func (a *API) createRun(w http.ResponseWriter, r *http.Request) error {
	caller, err := a.ARM.Authenticate(r)
	if err != nil {
		return err
	}
	var req RunRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		return armerr.InvalidRequestContent(err.Error())
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return armerr.InvalidRequestContent(err.Error())
	}
	if strings.TrimSpace(req.Compute) == "" {
		return armerr.BadRequest("InvalidRun", "Name the compute resource to run as: a virtual machine, web app, function app or AKS cluster.")
	}
	doc, err := a.resolve(r.Context(), req.Compute)
	if err != nil {
		return err
	}
	id, err := arm.ParseDocID(doc)
	if err != nil {
		return err
	}
	if err := a.authorizeRun(r.Context(), caller, id); err != nil {
		return err
	}
	platform, env, err := a.platformEnv(r.Context(), doc, id, req.ServiceAccount, req.Node)
	if err != nil {
		return err
	}
	run, secret, err := a.Runs.Create(r.Context(), id.String(), req.ServiceAccount, a.RunTTL)
	if err != nil {
		return err
	}
	if platform == "appservice" || platform == "functions" {
		ep := a.IdentityEndpoint()
		env["IDENTITY_ENDPOINT"], env["IDENTITY_HEADER"] = ep, secret
		env["MSI_ENDPOINT"], env["MSI_SECRET"] = ep, secret
	}
	return writeJSON(w, http.StatusCreated, RunResponse{
		ID: run.ID, Secret: secret, ComputeID: run.ComputeID, Platform: platform, ServiceAccount: run.ServiceAccount,
		Proxy: a.ProxyURL(), Env: env, Expires: run.Expires,
	})
}

// authorizeRun checks the caller holds what yields code execution on the
// compute; a VM also yields it to whoever may write it (a custom script
// extension), as the analyzer counts.
func (a *API) authorizeRun(ctx context.Context, caller *arm.Caller, id resourceid.ID) error {
	err := a.ARM.Authorize(ctx, caller, runPermissions[strings.ToLower(id.Type())], id)
	if err != nil && strings.EqualFold(id.Type(), compute.VMType) {
		if a.ARM.Authorize(ctx, caller, "Microsoft.Compute/virtualMachines/write", id) == nil {
			return nil
		}
	}
	return err
}

// resolve finds a compute resource by id, or by a name unique among the
// virtual machines, sites and AKS clusters.
func (a *API) resolve(ctx context.Context, nameOrID string) (arm.Doc, error) {
	var found []arm.Doc
	err := a.Store.View(ctx, func(tx store.Tx) error {
		if strings.HasPrefix(nameOrID, "/") {
			id, err := resourceid.Parse(nameOrID)
			if err != nil {
				return armerr.BadRequest("InvalidResourceId", "%s", err.Error())
			}
			if _, ok := runPermissions[strings.ToLower(id.Type())]; !ok {
				return armerr.BadRequest("InvalidRun", "'%s' is a %s; mimic runs programs as virtual machines, web apps, function apps and AKS pods.", nameOrID, id.Type())
			}
			res, err := tx.GetResource(ctx, id.String())
			if errors.Is(err, store.ErrNotFound) {
				return armerr.New(http.StatusNotFound, "ResourceNotFound", "The compute resource '%s' was not found.", nameOrID)
			}
			if err != nil {
				return err
			}
			d, err := arm.DecodeDoc(res.Body)
			found = append(found, d)
			return err
		}
		for _, typ := range []string{compute.VMType, web.SiteType, containerservice.ClusterType} {
			docs, err := arm.FindByName(ctx, tx, typ, nameOrID)
			if err != nil {
				return err
			}
			found = append(found, docs...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch len(found) {
	case 0:
		return nil, armerr.New(http.StatusNotFound, "ResourceNotFound",
			"No virtual machine, web app, function app or AKS cluster is named '%s'.", nameOrID)
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, d := range found {
		ids[i] = d.Str("id")
	}
	return nil, armerr.BadRequest("AmbiguousCompute", "'%s' names %d compute resources; pass one of their ids: %s", nameOrID, len(found), strings.Join(ids, ", "))
}

// platformEnv is the environment a platform gives its code (the identity
// endpoint variables are added once the run's secret exists).
func (a *API) platformEnv(ctx context.Context, doc arm.Doc, id resourceid.ID, serviceAccount string, node bool) (string, map[string]string, error) {
	env := map[string]string{}
	typ := strings.ToLower(id.Type())
	if serviceAccount != "" && typ != strings.ToLower(containerservice.ClusterType) {
		return "", nil, armerr.BadRequest("InvalidRun", "--service-account applies to AKS clusters; %s is a %s.", id.Name(), id.Type())
	}
	switch typ {
	case strings.ToLower(compute.VMType):
		return "vm", env, nil
	case strings.ToLower(web.SiteType):
		var settings map[string]string
		err := a.Store.View(ctx, func(tx store.Tx) error {
			var err error
			settings, err = web.ReadAppSettings(ctx, tx, id.String())
			return err
		})
		if err != nil {
			return "", nil, err
		}
		for k, v := range settings {
			env[k] = v
			env["APPSETTING_"+k] = v
		}
		name := doc.Str("name")
		env["WEBSITE_SITE_NAME"], env["APPSETTING_WEBSITE_SITE_NAME"] = name, name
		env["WEBSITE_HOSTNAME"] = doc.Obj("properties").Str("defaultHostName")
		env["WEBSITE_RESOURCE_GROUP"] = id.ResourceGroup
		env["WEBSITE_OWNER_NAME"] = id.Subscription + "+" + id.ResourceGroup + "-" + doc.Str("location") + "webspace"
		env["WEBSITE_INSTANCE_ID"] = strings.ReplaceAll(directory.NewGUID(), "-", "")
		if strings.Contains(strings.ToLower(doc.Str("kind")), "functionapp") {
			return "functions", env, nil
		}
		return "appservice", env, nil
	case strings.ToLower(containerservice.ClusterType):
		if node && serviceAccount == "" {
			return "aks", env, nil
		}
		if serviceAccount == "" {
			return "", nil, armerr.BadRequest("InvalidRun",
				"%s is an AKS cluster: name the pod's service account with --service-account NAMESPACE/NAME.", id.Name())
		}
		if a.AKS == nil {
			return "", nil, armerr.BadRequest("InvalidRun", "AKS workload identity is not available in this server.")
		}
		wi, err := a.AKS.PrepareRun(ctx, id.String(), serviceAccount)
		if err != nil {
			return "", nil, err
		}
		for k, v := range wi {
			env[k] = v
		}
		return "aks", env, nil
	}
	return "", nil, armerr.BadRequest("InvalidRun", "%s is not a compute resource mimic can run as.", id)
}

// runBySecret authenticates a run's own request.
func (a *API) runBySecret(r *http.Request) (*store.Run, error) {
	run, err := a.Runs.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, armerr.New(http.StatusNotFound, "RunNotFound", "The run '%s' does not exist or has ended.", r.PathValue("id"))
	}
	if err != nil {
		return nil, err
	}
	secret := r.Header.Get("X-Mimic-Run-Secret")
	if !directory.CheckSecret(run.SecretHash, secret) {
		return nil, armerr.New(http.StatusUnauthorized, "InvalidRunSecret", "The X-Mimic-Run-Secret header does not match the run.")
	}
	return run, nil
}

func (a *API) getRun(w http.ResponseWriter, r *http.Request) error {
	run, err := a.runBySecret(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, RunResponse{ID: run.ID, ComputeID: run.ComputeID, ServiceAccount: run.ServiceAccount, Proxy: a.ProxyURL(), Expires: run.Expires})
}

func (a *API) deleteRun(w http.ResponseWriter, r *http.Request) error {
	run, err := a.runBySecret(r)
	if err != nil {
		return err
	}
	if err := a.Runs.Delete(r.Context(), run.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// TokenResponse is a fresh projected service-account token.
type TokenResponse struct {
	Token     string    `json:"token"`
	ExpiresOn time.Time `json:"expiresOn"`
}

func (a *API) runToken(w http.ResponseWriter, r *http.Request) error {
	run, err := a.runBySecret(r)
	if err != nil {
		return err
	}
	ns, name, ok := strings.Cut(run.ServiceAccount, "/")
	if !ok || a.AKS == nil {
		return armerr.BadRequest("InvalidRun", "The run is not an AKS pod with a service account.")
	}
	tok, exp, err := a.AKS.MintServiceAccountToken(r.Context(), run.ComputeID, ns, name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, TokenResponse{Token: tok, ExpiresOn: exp})
}
