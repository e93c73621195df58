package mimicapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/demo"
	"github.com/mimic-emu/mimic/internal/server/servertest"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// call sends a request with a token ("" for none) and decodes the answer.
func call(t *testing.T, srv *servertest.Server, token, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(srv.URL(), "/")+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode
}

type apiError struct {
	Error struct{ Code, Message string } `json:"error"`
}

// The recommend and diff endpoints on the demo: as the operator, their
// answers; without a token, 401; bad input, ARM's errors.
func TestRecommendAndDiffEndpoints(t *testing.T) {
	srv := servertest.StartDemo(t)
	tok := srv.Token(t, "https://management.azure.com")

	var rep analyzer.RecommendReport
	if code := call(t, srv, tok, "GET", "/mimic/v1/analysis/recommend?since=7d", "", &rep); code != http.StatusOK {
		t.Fatalf("recommend: %d", code)
	}
	split := false
	for _, r := range rep.Recommendations {
		split = split || r.Kind == analyzer.RecEnvSplit && r.Identity.Name == demo.SharedIdentity
	}
	if !split || rep.Window != "7d" || rep.AccessLog == nil {
		t.Errorf("recommend: window %q, split %v, %d recommendation(s)", rep.Window, split, len(rep.Recommendations))
	}
	var e apiError
	if code := call(t, srv, tok, "GET", "/mimic/v1/analysis/recommend?identity=nobody", "", &e); code != http.StatusNotFound || e.Error.Code != "ResourceNotFound" {
		t.Errorf("an unknown identity: %d %+v", code, e)
	}
	if code := call(t, srv, tok, "GET", "/mimic/v1/analysis/recommend?since=soon", "", &e); code != http.StatusBadRequest || !strings.Contains(e.Error.Message, "since") {
		t.Errorf("a bad window: %d %+v", code, e)
	}
	if code := call(t, srv, "", "GET", "/mimic/v1/analysis/recommend", "", nil); code != http.StatusUnauthorized {
		t.Errorf("without a token: %d", code)
	}

	// The split's plan, posted as is: pay-api-dev no longer reaches PROD.
	var plan []analyzer.Change
	for _, r := range rep.Recommendations {
		if r.Kind == analyzer.RecEnvSplit {
			plan = r.Plan
		}
	}
	body, _ := json.Marshal(plan)
	var d analyzer.Diff
	if code := call(t, srv, tok, "POST", "/mimic/v1/analysis/diff", string(body), &d); code != http.StatusOK {
		t.Fatalf("diff: %d", code)
	}
	found := false
	for _, rd := range d.Radii {
		if rd.Name == demo.PaymentsDev {
			found = len(rd.EnvironmentsLost) == 1 && rd.EnvironmentsLost[0] == "prod"
		}
	}
	if !found || len(d.Changes) != len(plan) {
		t.Errorf("diff of the split: %+v", d.Radii)
	}
	for body, want := range map[string]string{
		`{"changes": [{"op": "detachIdentity", "identity": "id-nobody", "compute": "pay-api-dev"}]}`: `change 1 (detachIdentity): no identity "id-nobody"`,
		`{"changes": [{"op": "teleport"}]}`: `unknown op "teleport"`,
		`{`:                                 "not valid JSON",
	} {
		e = apiError{}
		if code := call(t, srv, tok, "POST", "/mimic/v1/analysis/diff", body, &e); code != http.StatusBadRequest || e.Error.Code != "InvalidPlan" || !strings.Contains(e.Error.Message, want) {
			t.Errorf("diff %s: %d %+v, want %q", body, code, e, want)
		}
	}
	if code := call(t, srv, "", "POST", "/mimic/v1/analysis/diff", "[]", nil); code != http.StatusUnauthorized {
		t.Errorf("diff without a token: %d", code)
	}
}
