package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/mimic-emu/mimic/internal/analyzer"
)

// FindingsFormats are the formats of WriteFindings.
var FindingsFormats = []string{"table", "json", "sarif", "markdown", "opengraph"}

// Version is the tool version SARIF reports.
var Version = "dev"

// WriteFindings renders a findings report.
func WriteFindings(w io.Writer, rep *analyzer.Report, format string) error {
	switch format {
	case "table", "":
		return findingsTable(w, rep)
	case "json":
		return writeJSON(w, rep)
	case "sarif":
		return writeJSON(w, SARIF(rep))
	case "markdown", "md":
		return findingsMarkdown(w, rep)
	case "opengraph":
		return writeJSON(w, OpenGraph(rep))
	}
	return fmt.Errorf("unknown output format %q: use %s", format, strings.Join(FindingsFormats, ", "))
}

func sortStrings(l []string) { sort.Strings(l) }

// SummaryLine is a one-line count of findings by severity.
func SummaryLine(rep *analyzer.Report) string {
	s := analyzer.Summarize(rep.Findings)
	var parts []string
	for i := len(analyzer.Severities) - 1; i >= 0; i-- {
		sev := analyzer.Severities[i]
		parts = append(parts, fmt.Sprintf("%d %s", s[sev], sev))
	}
	line := fmt.Sprintf("%d finding(s): %s", len(rep.Findings), strings.Join(parts, ", "))
	if rep.AccessLog != nil {
		line += fmt.Sprintf(" (access log: %d request(s) in %s)", rep.AccessLog.Entries, rep.AccessLog.Window)
	}
	return line
}

// subject names what a finding is about, briefly: its identity's name, or
// the resource's own name.
func subject(f *analyzer.Finding) string {
	if f.Evidence.Identity != nil {
		return f.Evidence.Identity.Name
	}
	return lastSegment(f.Resource)
}

func findingsTable(w io.Writer, rep *analyzer.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tRULE\tSUBJECT\tFINDING")
	for i := range rep.Findings {
		f := &rep.Findings[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Severity, f.Rule, subject(f), f.Title)
	}
	return tw.Flush()
}

// --- Markdown ---

// mdCell escapes text for a Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// mdCode wraps text in a code span.
func mdCode(s string) string {
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

func labelText(l *analyzer.Label) string {
	if l == nil {
		return ""
	}
	return l.Value + " (" + l.Source + ")"
}

func findingsMarkdown(w io.Writer, rep *analyzer.Report) error {
	var b strings.Builder
	b.WriteString("## mimic: managed identity findings\n\n")
	s := analyzer.Summarize(rep.Findings)
	fmt.Fprintf(&b, "**%d finding(s)**: %d critical, %d high, %d medium, %d low.", len(rep.Findings), s[analyzer.Critical], s[analyzer.High], s[analyzer.Medium], s[analyzer.Low])
	if rep.AccessLog != nil {
		fmt.Fprintf(&b, " Access log: %d request(s) in the last %s.", rep.AccessLog.Entries, rep.AccessLog.Window)
	}
	b.WriteString("\n\n")
	if len(rep.Findings) == 0 {
		b.WriteString("No findings.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("| # | Severity | Rule | Subject | Finding |\n|---|---|---|---|---|\n")
	for i := range rep.Findings {
		f := &rep.Findings[i]
		fmt.Fprintf(&b, "| %d | **%s** | `%s` | %s | %s |\n", i+1, f.Severity, f.Rule, mdCell(mdCode(subject(f))), mdCell(f.Title))
	}
	for i := range rep.Findings {
		f := &rep.Findings[i]
		fmt.Fprintf(&b, "\n### %d. %s: %s\n\n", i+1, strings.ToUpper(string(f.Severity)), f.Title)
		fmt.Fprintf(&b, "Rule `%s` · %s\n\n%s\n\n", f.Rule, mdCode(f.Resource), f.Message)
		writeEvidenceMD(&b, &f.Evidence)
		writeAddedMD(&b, f.Adds)
		fmt.Fprintf(&b, "**Fix.** %s\n\n", f.Fix.Summary)
		if len(f.Fix.Commands) > 0 {
			b.WriteString("```sh\n")
			for _, c := range f.Fix.Commands {
				b.WriteString(c + "\n")
			}
			b.WriteString("```\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdLabeled writes an evidence line of a named thing with its labels.
func mdLabeled(b *strings.Builder, what, name, kind string, env, team *analyzer.Label) {
	fmt.Fprintf(b, "- %s %s (%s)", what, mdCode(name), kind)
	if env != nil {
		fmt.Fprintf(b, ", environment %s", labelText(env))
	}
	if team != nil {
		fmt.Fprintf(b, ", team %s", labelText(team))
	}
	b.WriteString("\n")
}

func writeEvidenceMD(b *strings.Builder, ev *analyzer.Evidence) {
	b.WriteString("**Evidence**\n\n")
	if id := ev.Identity; id != nil {
		mdLabeled(b, "Identity", id.Name, id.Kind, id.Environment, id.Team)
	}
	for _, c := range ev.Computes {
		mdLabeled(b, "Compute", c.Name, c.Kind, c.Environment, c.Team)
	}
	for _, a := range ev.Assignments {
		fmt.Fprintf(b, "- Role assignment: %s at %s", a.Role, mdCode(a.Scope))
		if a.Environment != nil {
			fmt.Fprintf(b, " (environment %s)", a.Environment.Value)
		}
		b.WriteString("\n")
	}
	for _, fc := range ev.Federated {
		fmt.Fprintf(b, "- Federated credential %s: %s, subject %s (%s)\n", mdCode(fc.Name), mdCode(fc.Issuer), mdCode(fc.Subject), fc.System)
	}
	if len(ev.Environments) > 0 {
		fmt.Fprintf(b, "- Environments: %s\n", strings.Join(ev.Environments, ", "))
	}
	if len(ev.Teams) > 0 {
		fmt.Fprintf(b, "- Teams: %s\n", strings.Join(ev.Teams, ", "))
	}
	if u := ev.Usage; u != nil {
		fmt.Fprintf(b, "- Access log: %d request(s) observed since %s (window %s, full window: %t)\n", u.Requests, u.Since.UTC().Format("2006-01-02 15:04 MST"), u.Window, u.Full)
	}
	for _, n := range ev.Notes {
		fmt.Fprintf(b, "- %s\n", n)
	}
	b.WriteString("\n")
	if len(ev.Paths) > 0 {
		total := len(ev.Paths)
		if ev.PathsTotal > total {
			total = ev.PathsTotal
		}
		fmt.Fprintf(b, "<details><summary>Paths (%d)</summary>\n\n", total)
		for _, p := range ev.Paths {
			fmt.Fprintf(b, "- %s\n", mdPath(p))
		}
		if ev.PathsTotal > len(ev.Paths) {
			fmt.Fprintf(b, "- … and %d more\n", ev.PathsTotal-len(ev.Paths))
		}
		b.WriteString("\n</details>\n\n")
	}
}

// mdPath writes a path as names joined by its steps.
func mdPath(p analyzer.PathRef) string {
	if len(p.Steps) == 0 {
		return mdCode(lastSegment(p.From)) + " → " + mdCode(lastSegment(p.To))
	}
	var b strings.Builder
	b.WriteString(mdCode(lastSegment(p.Steps[0].From)))
	for _, s := range p.Steps {
		fmt.Fprintf(&b, " —%s→ %s", stepLabel(s), mdCode(lastSegment(s.To)))
	}
	return b.String()
}

func writeAddedMD(b *strings.Builder, a *analyzer.Added) {
	if a == nil {
		return
	}
	b.WriteString("**Blast radius added**")
	var home []string
	home = append(home, a.HomeEnvironments...)
	home = append(home, a.HomeTeams...)
	if len(home) > 0 {
		fmt.Fprintf(b, " beyond its home (%s)", strings.Join(home, ", "))
	}
	fmt.Fprintf(b, ": %d resource(s)", a.Total)
	if len(a.Identities) > 0 {
		fmt.Fprintf(b, ", %d identit%s", len(a.Identities), map[bool]string{true: "y", false: "ies"}[len(a.Identities) == 1])
	}
	if len(a.Computes) > 0 {
		fmt.Fprintf(b, ", %d compute(s)", len(a.Computes))
	}
	if len(a.Environments) > 0 {
		fmt.Fprintf(b, "; environments %s", strings.Join(a.Environments, ", "))
	}
	if len(a.Teams) > 0 {
		fmt.Fprintf(b, "; teams %s", strings.Join(a.Teams, ", "))
	}
	b.WriteString(".\n\n")
	if len(a.Resources) > 0 {
		b.WriteString("| Resource | Type | Environment | Team | Data |\n|---|---|---|---|---|\n")
		for _, r := range a.Resources {
			data := ""
			if r.Data {
				data = "yes"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", mdCell(mdCode(lastSegment(r.Resource))), mdCell(r.Type), mdCell(r.Environment), mdCell(r.Team), data)
		}
		if a.Total > len(a.Resources) {
			fmt.Fprintf(b, "| … %d more | | | | |\n", a.Total-len(a.Resources))
		}
		b.WriteString("\n")
	}
}
