package report

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/mimic-emu/mimic/internal/analyzer"
)

// RadiusFormats are the formats of WriteRadius.
var RadiusFormats = []string{"table", "json", "mermaid", "dot"}

// WriteRadius renders a blast radius.
func WriteRadius(w io.Writer, r *analyzer.Radius, format string) error {
	switch format {
	case "table", "":
		return radiusTable(w, r)
	case "json":
		return writeJSON(w, r)
	case "mermaid":
		return radiusMermaid(w, r)
	case "dot":
		return radiusDOT(w, r)
	}
	return fmt.Errorf("unknown output format %q: use %s", format, strings.Join(RadiusFormats, ", "))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// pathKinds summarizes a path: its step kinds.
func pathKinds(steps []analyzer.Step) string {
	kinds := make([]string, len(steps))
	for i, s := range steps {
		kinds[i] = s.Kind
	}
	return strings.Join(kinds, " > ")
}

func radiusTable(w io.Writer, r *analyzer.Radius) error {
	env := ""
	if r.Environment != "" {
		env = ", env " + r.Environment
	}
	fmt.Fprintf(w, "Blast radius of %s (%s%s): %d compute(s), %d identities, %d resource(s)\n", lastSegment(r.Start), r.StartKind, env,
		len(r.Computes), len(r.Identities), len(r.Reach))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Computes) > 0 {
		fmt.Fprintln(tw, "\nCOMPUTE\tKIND\tENV\tPATH")
		for _, h := range r.Computes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Name, h.Kind, dash(h.Environment), dash(pathKinds(h.Path)))
		}
	}
	if len(r.Identities) > 0 {
		fmt.Fprintln(tw, "\nIDENTITY\tKIND\tENV\tPATH")
		for _, h := range r.Identities {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Name, h.Kind, dash(h.Environment), dash(pathKinds(h.Path)))
		}
	}
	if len(r.Reach) > 0 {
		fmt.Fprintln(tw, "\nRESOURCE\tTYPE\tENV\tTEAM\tACTIONS\tDATA ACTIONS\tPATH")
		for _, re := range r.Reach {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", lastSegment(re.Resource), re.Type, dash(re.Environment), dash(re.Team),
				dash(shortActions(re.Type, re.Actions)), dash(shortActions(re.Type, re.DataActions)), pathKinds(re.Path))
		}
	}
	return tw.Flush()
}

// shortActions joins actions for a table: each without the resource's own
// type ("secrets/getSecret/action" on a vault; "Microsoft.Web/sites/*"
// stays whole, not a bare "*"), and at most three of them
// with a count of the rest. JSON keeps them all, whole.
func shortActions(typ string, actions []string) string {
	const shown = 3
	out := make([]string, 0, shown+1)
	for _, a := range actions {
		if len(out) == shown {
			out = append(out, fmt.Sprintf("(+%d more)", len(actions)-shown))
			break
		}
		if len(a) > len(typ)+1 && strings.EqualFold(a[:len(typ)], typ) && a[len(typ)] == '/' && a[len(typ)+1:] != "*" {
			a = a[len(typ)+1:]
		}
		out = append(out, a)
	}
	return strings.Join(out, ", ")
}

// --- Mermaid ---

var classSafe = regexp.MustCompile(`[^a-zA-Z0-9]`)

// mermaidText escapes a label for a quoted Mermaid string.
func mermaidText(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "\n", " ")
	return r.Replace(s)
}

// envColors fill nodes by environment, least to most protected.
var envColors = map[string][2]string{
	"dev": {"#e3f2fd", "#1565c0"}, "test": {"#e8f5e9", "#2e7d32"}, "qa": {"#f1f8e9", "#558b2f"},
	"uat": {"#fffde7", "#f9a825"}, "stage": {"#fff3e0", "#ef6c00"}, "prod": {"#ffebee", "#c62828"},
}

func envColor(env string) (fill, stroke string) {
	if c, ok := envColors[env]; ok {
		return c[0], c[1]
	}
	return "#f5f5f5", "#616161"
}

func radiusMermaid(w io.Writer, r *analyzer.Radius) error {
	return writeMermaid(w, radiusGraph(r), "blast radius of "+r.Start)
}

func writeMermaid(w io.Writer, g *pgraph, title string) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	fmt.Fprintf(&b, "  %%%% %s\n", strings.ReplaceAll(title, "\n", " "))
	ids := map[string]string{}
	envs := map[string]bool{}
	for i, n := range g.sortedNodes() {
		id := fmt.Sprintf("n%d", i)
		ids[n.key] = id
		label := mermaidText(n.name)
		if c := n.caption(); c != "" {
			label += "<br/><small>" + mermaidText(c) + "</small>"
		}
		open, close := "[\"", "\"]"
		switch n.primaryRole() {
		case roleIdentity:
			open, close = "([\"", "\"])"
		case roleResource:
			open, close = "[(\"", "\")]"
		case roleIssuer:
			open, close = "{{\"", "\"}}"
		}
		fmt.Fprintf(&b, "  %s%s%s%s", id, open, label, close)
		if n.env != "" {
			cls := "env_" + classSafe.ReplaceAllString(n.env, "_")
			envs[n.env] = true
			fmt.Fprintf(&b, ":::%s", cls)
		}
		b.WriteString("\n")
	}
	for _, e := range g.sortedEdges() {
		fmt.Fprintf(&b, "  %s -->|\"%s\"| %s\n", ids[e.from], mermaidText(e.label), ids[e.to])
	}
	for _, env := range sortedKeys(envs) {
		fill, stroke := envColor(env)
		fmt.Fprintf(&b, "  classDef env_%s fill:%s,stroke:%s\n", classSafe.ReplaceAllString(env, "_"), fill, stroke)
	}
	for _, n := range g.sortedNodes() {
		if n.start {
			fmt.Fprintf(&b, "  style %s stroke-width:3px\n", ids[n.key])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// --- Graphviz DOT ---

// dotString quotes a DOT string.
func dotString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func radiusDOT(w io.Writer, r *analyzer.Radius) error {
	return writeDOT(w, radiusGraph(r), "blast radius of "+r.Start)
}

func writeDOT(w io.Writer, g *pgraph, title string) error {
	var b strings.Builder
	b.WriteString("digraph mimic {\n")
	fmt.Fprintf(&b, "  label=%s;\n  labelloc=t;\n  rankdir=LR;\n", dotString(title))
	b.WriteString("  node [fontname=\"Helvetica\", fontsize=10, style=filled];\n  edge [fontname=\"Helvetica\", fontsize=9];\n")
	ids := map[string]string{}
	for i, n := range g.sortedNodes() {
		id := fmt.Sprintf("n%d", i)
		ids[n.key] = id
		shape := "box"
		switch n.primaryRole() {
		case roleIdentity:
			shape = "ellipse"
		case roleResource:
			shape = "cylinder"
		case roleIssuer:
			shape = "hexagon"
		}
		fill, stroke := envColor(n.env)
		label := n.name
		if c := n.caption(); c != "" {
			label += "\n" + c
		}
		pen := "1"
		if n.start {
			pen = "3"
		}
		fmt.Fprintf(&b, "  %s [label=%s, shape=%s, fillcolor=%s, color=%s, penwidth=%s, tooltip=%s];\n", id, dotString(label), shape,
			dotString(fill), dotString(stroke), pen, dotString(n.id))
	}
	for _, e := range g.sortedEdges() {
		style := ""
		if e.kind != "token" && e.kind != "federated" && e.kind != "holds" && e.kind != "grants" {
			style = ", color=\"#c62828\", fontcolor=\"#c62828\""
		}
		fmt.Fprintf(&b, "  %s -> %s [label=%s%s];\n", ids[e.from], ids[e.to], dotString(e.label), style)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}
