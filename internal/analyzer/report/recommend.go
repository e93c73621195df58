package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/mimic-emu/mimic/internal/analyzer"
)

// RecommendFormats are the formats of WriteRecommendations.
var RecommendFormats = []string{"table", "json", "markdown"}

// WriteRecommendations renders recommendations.
func WriteRecommendations(w io.Writer, rep *analyzer.RecommendReport, format string) error {
	switch format {
	case "table", "":
		return recommendTable(w, rep)
	case "json":
		return writeJSON(w, rep)
	case "markdown", "md":
		return recommendMarkdown(w, rep)
	}
	return fmt.Errorf("unknown output format %q: use %s", format, strings.Join(RecommendFormats, ", "))
}

// RecommendSummary is a one-line count of recommendations.
func RecommendSummary(rep *analyzer.RecommendReport) string {
	preferred := 0
	for _, r := range rep.Recommendations {
		if r.Preferred {
			preferred++
		}
	}
	line := fmt.Sprintf("%d recommendation(s), %d preferred; the combined plan has %d change(s)", len(rep.Recommendations), preferred, len(rep.Plan.Changes))
	if rep.AccessLog != nil {
		line += fmt.Sprintf(" (access log: %d request(s) in %s)", rep.AccessLog.Entries, rep.AccessLog.Window)
	}
	return line
}

func preferredMark(r *analyzer.Recommendation) string {
	if r.Preferred {
		return "*"
	}
	return ""
}

// usageText sums up a recommendation's usage evidence.
func usageText(ev *analyzer.RecommendationEvidence) string {
	if ev.Window == "" {
		return ""
	}
	s := fmt.Sprintf("%d of the identity's %d request(s) in %s were granted by it", ev.Granted, ev.Requests, ev.Window)
	if ev.Assignment == nil {
		s = fmt.Sprintf("%d request(s) by the identity in %s", ev.Requests, ev.Window)
	}
	if ev.FirstSeen != nil {
		s += fmt.Sprintf(", first %s, last %s", ev.FirstSeen.UTC().Format("2006-01-02 15:04"), ev.LastSeen.UTC().Format("2006-01-02 15:04"))
	}
	s += fmt.Sprintf("; observed since %s", ev.ObservedSince.UTC().Format("2006-01-02 15:04 MST"))
	return s
}

// scopeText names a scope briefly: a resource's name and, for a child
// such as a secret, the rest of its path ("kvpayprod/secrets/db").
func scopeText(id string) string {
	i := strings.LastIndex(strings.ToLower(id), "/providers/")
	if i < 0 {
		return lastSegment(id)
	}
	parts := strings.Split(id[i+len("/providers/"):], "/")
	if len(parts) < 3 {
		return lastSegment(id)
	}
	return strings.Join(parts[2:], "/")
}

// useText writes one use: action at resource ×count from computes.
func useText(u analyzer.Use) string {
	s := fmt.Sprintf("%s at %s ×%d", u.Action, scopeText(u.Scope), u.Count)
	if len(u.Computes) > 0 {
		names := make([]string, len(u.Computes))
		for i, c := range u.Computes {
			names[i] = lastSegment(c)
		}
		s += " from " + strings.Join(names, ", ")
	}
	return s
}

func recommendTable(w io.Writer, rep *analyzer.RecommendReport) error {
	if len(rep.Recommendations) == 0 {
		fmt.Fprintln(w, "no recommendations")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "#\tKIND\tIDENTITY\tPREFERRED\tCONFIDENCE\tRECOMMENDATION")
		for i := range rep.Recommendations {
			r := &rep.Recommendations[i]
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", i+1, r.Kind, r.Identity.Name, preferredMark(r), r.Confidence, r.Title)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for i := range rep.Recommendations {
		r := &rep.Recommendations[i]
		fmt.Fprintf(w, "\n[%d] %s\n    %s\n", i+1, r.ID, r.Summary)
		ev := &r.Evidence
		if u := usageText(ev); u != "" {
			fmt.Fprintf(w, "    usage: %s\n", u)
		}
		for _, u := range ev.Uses {
			fmt.Fprintf(w, "      %s\n", useText(u))
		}
		for _, n := range ev.Notes {
			fmt.Fprintf(w, "    note: %s\n", n)
		}
		if d := r.BlastRadius; d != nil {
			if len(d.Radii) == 0 {
				fmt.Fprintf(w, "    blast radius: %s\n", NoChanges)
			}
			for j := range d.Radii {
				fmt.Fprintf(w, "    blast radius: %s\n", radiusLine(&d.Radii[j]))
			}
		}
		for _, c := range r.Commands {
			fmt.Fprintf(w, "    $ %s\n", c)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "\nnote: %s\n", n)
	}
	return nil
}

func recommendMarkdown(w io.Writer, rep *analyzer.RecommendReport) error {
	var b strings.Builder
	b.WriteString("## mimic: least-privilege recommendations\n\n")
	fmt.Fprintf(&b, "**%s.**\n\n", RecommendSummary(rep))
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "> %s\n\n", n)
	}
	if len(rep.Recommendations) == 0 {
		b.WriteString("No recommendations.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("| # | Kind | Identity | Preferred | Confidence | Recommendation |\n|---|---|---|---|---|---|\n")
	for i := range rep.Recommendations {
		r := &rep.Recommendations[i]
		fmt.Fprintf(&b, "| %d | `%s` | %s | %s | %s | %s |\n", i+1, r.Kind, mdCell(mdCode(r.Identity.Name)), map[bool]string{true: "yes"}[r.Preferred], r.Confidence, mdCell(r.Title))
	}
	for i := range rep.Recommendations {
		r := &rep.Recommendations[i]
		fmt.Fprintf(&b, "\n### %d. %s\n\n`%s`", i+1, r.Title, r.ID)
		if r.Preferred {
			b.WriteString(" · preferred")
		}
		fmt.Fprintf(&b, " · confidence %s\n\n%s\n\n", r.Confidence, r.Summary)
		ev := &r.Evidence
		b.WriteString("**Evidence**\n\n")
		if a := ev.Assignment; a != nil {
			fmt.Fprintf(&b, "- Role assignment: %s at %s\n", a.Role, mdCode(a.Scope))
		}
		for _, a := range ev.Assignments {
			fmt.Fprintf(&b, "- Role assignment: %s at %s\n", a.Role, mdCode(a.Scope))
		}
		for _, c := range ev.Computes {
			mdLabeled(&b, "Compute", c.Name, c.Kind, c.Environment, c.Team)
		}
		if u := usageText(ev); u != "" {
			fmt.Fprintf(&b, "- Access log: %s\n", u)
		}
		for _, u := range ev.Uses {
			fmt.Fprintf(&b, "  - %s\n", mdCode(useText(u)))
		}
		for _, n := range ev.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		b.WriteString("\n")
		if d := r.BlastRadius; d != nil {
			b.WriteString("**Blast radius change**\n\n")
			if len(d.Radii) == 0 {
				b.WriteString("- " + NoChanges + "\n")
			}
			for j := range d.Radii {
				fmt.Fprintf(&b, "- %s\n", radiusLine(&d.Radii[j]))
			}
			b.WriteString("\n")
		}
		if r.RoleDefinition != nil {
			def, err := json.MarshalIndent(r.RoleDefinition, "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "**Custom role**\n\n```json\n%s\n```\n\n", def)
		}
		b.WriteString("**Commands**\n\n```sh\n")
		for _, c := range r.Commands {
			b.WriteString(c + "\n")
		}
		b.WriteString("```\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
