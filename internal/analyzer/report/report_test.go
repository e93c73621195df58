package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/analyzer/analyzertest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

type sample struct {
	b            *analyzertest.Builder
	a            *analyzer.Analysis
	dev, ops, ci *analyzer.Radius
	rep          *analyzer.Report
}

func load(t *testing.T) *sample {
	t.Helper()
	b := analyzertest.Sample()
	a, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	s := &sample{b: b, a: a}
	radius := func(id string) *analyzer.Radius {
		r, err := a.BlastRadiusOf(id)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	s.dev = radius(b.RG("rg-payments-dev") + "/providers/Microsoft.Web/sites/pay-api-dev")
	s.ops = radius(b.RG("rg-ops") + "/providers/Microsoft.Compute/virtualMachines/vm-ops")
	s.ci = radius(b.RG("rg-identities") + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-deploy-ci")
	u := analyzer.NewUsage(analyzer.DefaultWindow, analyzertest.SampleTime)
	u.RecordingSince = analyzertest.SampleTime.Add(-90 * 24 * time.Hour)
	fs := a.Findings(analyzer.FindingsOptions{Usage: u})
	s.rep = &analyzer.Report{GeneratedAt: analyzertest.SampleTime, Window: "30d", AccessLog: u.Summary(), Summary: analyzer.Summarize(fs), Findings: fs}
	return s
}

func render(t *testing.T, fn func(*bytes.Buffer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := fn(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// golden compares output with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from its golden file (go test -update rewrites it):\n%s", name, firstDiff(string(want), string(got)))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n want: " + w + "\n  got: " + g
		}
	}
	return ""
}

func TestRadiusGolden(t *testing.T) {
	s := load(t)
	for _, f := range RadiusFormats {
		golden(t, "radius-dev."+f+".golden", render(t, func(b *bytes.Buffer) error { return WriteRadius(b, s.dev, f) }))
	}
	golden(t, "radius-ci.mermaid.golden", render(t, func(b *bytes.Buffer) error { return WriteRadius(b, s.ci, "mermaid") }))
	if err := WriteRadius(&bytes.Buffer{}, s.dev, "svg"); err == nil {
		t.Error("an unknown format is accepted")
	}
}

func TestFindingsGolden(t *testing.T) {
	s := load(t)
	ext := map[string]string{"table": "txt", "json": "json", "sarif": "sarif", "markdown": "md", "opengraph": "json"}
	for _, f := range FindingsFormats {
		golden(t, "findings-"+f+"."+ext[f]+".golden", render(t, func(b *bytes.Buffer) error { return WriteFindings(b, s.rep, f) }))
	}
	if got := SummaryLine(s.rep); !strings.HasPrefix(got, strconv.Itoa(len(s.rep.Findings))+" finding(s): ") {
		t.Errorf("summary line %q", got)
	}
}

// compile loads a schema file.
func compile(t *testing.T, path string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, doc any, what string) {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s does not validate: %v", what, err)
	}
}

func TestSARIFValidates(t *testing.T) {
	s := load(t)
	sch := compile(t, "testdata/sarif-schema-2.1.0.json")
	out := render(t, func(b *bytes.Buffer) error { return WriteFindings(b, s.rep, "sarif") })
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	validate(t, sch, doc, "the SARIF log")
	// The schema is strict: a stray property fails (the validator works).
	doc["bogus"] = true
	b, _ := json.Marshal(doc)
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if sch.Validate(inst) == nil {
		t.Error("the SARIF schema accepts an unknown top-level property")
	}
	// Every result names a rule of the driver, at its index.
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct{ ID string }
				}
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Level     string
				Locations []struct {
					LogicalLocations []struct{ FullyQualifiedName, Kind string }
					PhysicalLocation any
				}
			}
		}
	}
	json.Unmarshal(out, &log)
	run := log.Runs[0]
	if len(run.Tool.Driver.Rules) != len(analyzer.Rules()) || len(run.Results) != len(s.rep.Findings) {
		t.Fatalf("%d rules, %d results", len(run.Tool.Driver.Rules), len(run.Results))
	}
	for _, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s points at rule %d", r.RuleID, r.RuleIndex)
		}
		loc := r.Locations[0]
		if loc.PhysicalLocation != nil || loc.LogicalLocations[0].Kind != "resource" || !strings.HasPrefix(loc.LogicalLocations[0].FullyQualifiedName, "/subscriptions/") {
			t.Errorf("result %s location %+v", r.RuleID, loc)
		}
	}
}

func TestOpenGraphValidates(t *testing.T) {
	s := load(t)
	node := compile(t, "testdata/bloodhound/node.json")
	edge := compile(t, "testdata/bloodhound/edge.json")
	meta := compile(t, "testdata/bloodhound/metadata.json")
	out := render(t, func(b *bytes.Buffer) error { return WriteFindings(b, s.rep, "opengraph") })
	var doc struct {
		Metadata map[string]any `json:"metadata"`
		Graph    struct {
			Nodes []map[string]any `json:"nodes"`
			Edges []map[string]any `json:"edges"`
		} `json:"graph"`
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("the envelope: %v", err)
	}
	validate(t, meta, doc.Metadata, "metadata")
	ids := map[string]bool{}
	for _, n := range doc.Graph.Nodes {
		validate(t, node, n, "node "+n["id"].(string))
		if ids[n["id"].(string)] {
			t.Errorf("duplicate node %s", n["id"])
		}
		ids[n["id"].(string)] = true
		for k, v := range n["properties"].(map[string]any) {
			if v == nil {
				t.Errorf("node %s property %s is null", n["id"], k)
			}
		}
	}
	for _, e := range doc.Graph.Edges {
		validate(t, edge, e, "edge "+e["kind"].(string))
		for _, end := range []string{"start", "end"} {
			if v := e[end].(map[string]any)["value"].(string); !ids[v] {
				t.Errorf("edge %s %s %s is no node", e["kind"], end, v)
			}
		}
	}
	if len(doc.Graph.Nodes) == 0 || len(doc.Graph.Edges) == 0 {
		t.Fatal("an empty graph")
	}
	// A finding node per finding, attached to what it is about.
	findings := 0
	for _, n := range doc.Graph.Nodes {
		if n["kinds"].([]any)[0] == "MimicFinding" {
			findings++
		}
	}
	if findings != len(s.rep.Findings) {
		t.Errorf("%d finding nodes for %d findings", findings, len(s.rep.Findings))
	}
}

// requireTool finds a program, or skips (fails under MIMIC_STRICT=1).
func requireTool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("MIMIC_STRICT") == "1" {
			t.Fatalf("%s is missing (%s); MIMIC_STRICT=1 forbids skipping", name, install)
		}
		t.Skipf("%s is missing (%s)", name, install)
	}
	return p
}

func TestDOTRenders(t *testing.T) {
	dot := requireTool(t, "dot", "apt-get install graphviz")
	s := load(t)
	for name, r := range map[string]*analyzer.Radius{"dev": s.dev, "ops": s.ops, "ci": s.ci} {
		src := render(t, func(b *bytes.Buffer) error { return WriteRadius(b, r, "dot") })
		cmd := exec.Command(dot, "-Tsvg")
		cmd.Stdin = bytes.NewReader(src)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		svg, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Fatalf("dot -Tsvg on %s: %v %s\n%s", name, err, stderr.String(), src)
		}
		nodes := regexp.MustCompile(`(?m)^  n\d+ \[`).FindAll(src, -1)
		edges := regexp.MustCompile(`(?m)^  n\d+ -> n\d+ `).FindAll(src, -1)
		if !bytes.Contains(svg, []byte("<svg")) || bytes.Count(svg, []byte(`class="node"`)) != len(nodes) || bytes.Count(svg, []byte(`class="edge"`)) != len(edges) {
			t.Errorf("%s: the SVG does not draw the %d nodes and %d edges", name, len(nodes), len(edges))
		}
	}
}

var (
	mermaidNode  = regexp.MustCompile(`^  (n\d+)(\["|\(\["|\[\("|\{\{")([^"]*)("\]|"\]\)|"\)\]|"\}\})(:::env_\w+)?$`)
	mermaidEdge  = regexp.MustCompile(`^  (n\d+) -->\|"([^"]*)"\| (n\d+)$`)
	mermaidClass = regexp.MustCompile(`^  classDef env_\w+ fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6}$`)
	mermaidStyle = regexp.MustCompile(`^  style (n\d+) stroke-width:3px$`)
)

// TestMermaidStructure checks the flowchart line by line against the
// grammar it uses (rendering needs a browser: not here).
func TestMermaidStructure(t *testing.T) {
	s := load(t)
	for name, r := range map[string]*analyzer.Radius{"dev": s.dev, "ops": s.ops, "ci": s.ci} {
		out := string(render(t, func(b *bytes.Buffer) error { return WriteRadius(b, r, "mermaid") }))
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if lines[0] != "flowchart LR" || !strings.HasPrefix(lines[1], "  %% ") {
			t.Fatalf("%s header: %q", name, lines[:2])
		}
		nodes, edges := map[string]bool{}, 0
		for _, l := range lines[2:] {
			switch {
			case mermaidNode.MatchString(l):
				nodes[mermaidNode.FindStringSubmatch(l)[1]] = true
			case mermaidEdge.MatchString(l):
				m := mermaidEdge.FindStringSubmatch(l)
				if !nodes[m[1]] || !nodes[m[3]] {
					t.Errorf("%s: edge to an undeclared node: %s", name, l)
				}
				edges++
			case mermaidClass.MatchString(l):
			case mermaidStyle.MatchString(l):
				if !nodes[mermaidStyle.FindStringSubmatch(l)[1]] {
					t.Errorf("%s: style of an undeclared node", name)
				}
			default:
				t.Errorf("%s: unexpected line %q", name, l)
			}
		}
		if len(nodes) < 2 || edges == 0 {
			t.Errorf("%s: %d nodes, %d edges", name, len(nodes), edges)
		}
	}
	if got := mermaidText(`a "b" <c>`); got != "a #quot;b#quot; #lt;c#gt;" {
		t.Errorf("mermaidText %q", got)
	}
}

func TestMarkdownShape(t *testing.T) {
	s := load(t)
	md := string(render(t, func(b *bytes.Buffer) error { return WriteFindings(b, s.rep, "markdown") }))
	for _, want := range []string{"## mimic: managed identity findings", "| # | Severity | Rule | Subject | Finding |", "```sh\naz identity create -g rg-payments-dev -n id-payments-dev\n", "<details><summary>Paths"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if strings.Count(md, "```sh\n") != strings.Count(md, "```\n") {
		t.Errorf("unbalanced code fences")
	}
	empty := string(render(t, func(b *bytes.Buffer) error { return WriteFindings(b, &analyzer.Report{}, "markdown") }))
	if !strings.Contains(empty, "No findings.") {
		t.Errorf("empty report: %q", empty)
	}
}
