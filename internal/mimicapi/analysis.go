package mimicapi

import (
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/resourceid"
)

// analysisReadAction is what the analysis endpoints need at the default
// subscription: reading role assignments, as any Reader can.
const analysisReadAction = "Microsoft.Authorization/roleAssignments/read"

// analysisCache keeps the last analysis while ARM state is unchanged.
type analysisCache struct {
	mu  sync.Mutex
	gen int64
	a   *analyzer.Analysis
}

// analysis authenticates and authorizes the caller and returns the
// analysis of the current state.
func (a *API) analysis(r *http.Request) (*analyzer.Analysis, error) {
	caller, err := a.ARM.Authenticate(r)
	if err != nil {
		return nil, err
	}
	if err := a.ARM.Authorize(r.Context(), caller, analysisReadAction, resourceid.ID{Subscription: a.SubscriptionID}); err != nil {
		return nil, err
	}
	c := &a.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	gen := a.ARM.Generation.Load()
	if c.a != nil && c.gen == gen {
		return c.a, nil
	}
	e, err := analyzer.Load(r.Context(), a.Store)
	if err != nil {
		return nil, err
	}
	c.a, c.gen = analyzer.New(e), gen
	return c.a, nil
}

// blastRadius serves GET /mimic/v1/analysis/blast-radius?start=ID.
func (a *API) blastRadius(w http.ResponseWriter, r *http.Request) error {
	an, err := a.analysis(r)
	if err != nil {
		return err
	}
	start := r.URL.Query().Get("start")
	if start == "" {
		return armerr.BadRequest("InvalidQuery", "'start' names the compute or identity: a resource id or a principal id")
	}
	radius, err := an.BlastRadiusOf(start)
	if err != nil {
		return armerr.New(http.StatusNotFound, "ResourceNotFound", "%s", err.Error())
	}
	return writeJSON(w, http.StatusOK, radius)
}

// findings serves GET /mimic/v1/analysis/findings?window=30d: the findings
// of the whole estate (analyzer.Report), with unused-permission judged on
// the access log of the window (default 30 days).
func (a *API) findings(w http.ResponseWriter, r *http.Request) error {
	an, err := a.analysis(r)
	if err != nil {
		return err
	}
	usage, err := a.usage(r, "window")
	if err != nil {
		return err
	}
	fs := an.Findings(analyzer.FindingsOptions{Usage: usage})
	if fs == nil {
		fs = []analyzer.Finding{}
	}
	return writeJSON(w, http.StatusOK, analyzer.Report{GeneratedAt: usage.Now, Window: analyzer.FormatWindow(usage.Window), AccessLog: usage.Summary(),
		Summary: analyzer.Summarize(fs), Findings: fs})
}

// usage reads the access log of the window a query parameter names
// (default 30 days), ending now.
func (a *API) usage(r *http.Request, param string) (*analyzer.Usage, error) {
	window := analyzer.DefaultWindow
	if s := r.URL.Query().Get(param); s != "" {
		var err error
		if window, err = analyzer.ParseWindow(s); err != nil {
			return nil, armerr.BadRequest("InvalidQuery", "%s: %s", param, err.Error())
		}
	}
	if a.Access != nil {
		if err := a.Access.Flush(r.Context()); err != nil {
			return nil, err
		}
	}
	return analyzer.LoadUsage(r.Context(), a.Store, window, time.Now().UTC())
}

// recommend serves GET /mimic/v1/analysis/recommend?identity=&since=30d:
// least-privilege recommendations from the access log of the window
// (analyzer.RecommendReport), for one identity (resource id or principal
// id) or all.
func (a *API) recommend(w http.ResponseWriter, r *http.Request) error {
	an, err := a.analysis(r)
	if err != nil {
		return err
	}
	usage, err := a.usage(r, "since")
	if err != nil {
		return err
	}
	rep, err := an.Recommend(analyzer.RecommendOptions{Usage: usage, Identity: r.URL.Query().Get("identity")})
	if err != nil {
		return armerr.New(http.StatusNotFound, "ResourceNotFound", "%s", err.Error())
	}
	return writeJSON(w, http.StatusOK, rep)
}

// maxPlanBody bounds a plan.
const maxPlanBody = 4 << 20

// diff serves POST /mimic/v1/analysis/diff: the body is a plan
// (analyzer.Plan, or its list of changes alone); the answer is how it
// would change every blast radius (analyzer.Diff). Nothing is changed.
func (a *API) diff(w http.ResponseWriter, r *http.Request) error {
	an, err := a.analysis(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPlanBody))
	if err != nil {
		return armerr.BadRequest("InvalidPlan", "reading the plan: %s", err.Error())
	}
	plan, err := analyzer.ParsePlan(body)
	if err != nil {
		return armerr.BadRequest("InvalidPlan", "%s", err.Error())
	}
	d, err := an.Diff(plan, analyzer.DiffOptions{})
	if err != nil {
		return armerr.BadRequest("InvalidPlan", "%s", err.Error())
	}
	return writeJSON(w, http.StatusOK, d)
}
