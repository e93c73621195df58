package mimicapi

import (
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
	window := analyzer.DefaultWindow
	if s := r.URL.Query().Get("window"); s != "" {
		if window, err = analyzer.ParseWindow(s); err != nil {
			return armerr.BadRequest("InvalidQuery", "%s", err.Error())
		}
	}
	if a.Access != nil {
		if err := a.Access.Flush(r.Context()); err != nil {
			return err
		}
	}
	now := time.Now().UTC()
	usage, err := analyzer.LoadUsage(r.Context(), a.Store, window, now)
	if err != nil {
		return err
	}
	fs := an.Findings(analyzer.FindingsOptions{Usage: usage})
	if fs == nil {
		fs = []analyzer.Finding{}
	}
	return writeJSON(w, http.StatusOK, analyzer.Report{GeneratedAt: now, Window: analyzer.FormatWindow(window), AccessLog: usage.Summary(),
		Summary: analyzer.Summarize(fs), Findings: fs})
}
