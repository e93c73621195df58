package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/mimic-emu/mimic/internal/analyzer"
	"github.com/mimic-emu/mimic/internal/resourceid"
)

// DiffFormats are the formats of WriteDiff.
var DiffFormats = []string{"table", "json"}

// WriteDiff renders how a plan changes blast radii.
func WriteDiff(w io.Writer, d *analyzer.Diff, format string) error {
	switch format {
	case "table", "":
		return diffTable(w, d)
	case "json":
		return writeJSON(w, d)
	}
	return fmt.Errorf("unknown output format %q: use %s", format, strings.Join(DiffFormats, ", "))
}

// NoChanges is what the table says of a diff that changes nothing.
const NoChanges = "no blast radius changes"

func diffTable(w io.Writer, d *analyzer.Diff) error {
	if len(d.Radii) == 0 {
		_, err := fmt.Fprintf(w, "%s (%d change(s) applied, %d affected start(s) compared)\n", NoChanges, len(d.Changes), d.Affected)
		return err
	}
	s := d.Summary
	fmt.Fprintf(w, "Blast radius changes: %d of %d affected start(s) change; %d resource(s) lost, %d gained, %d with other actions.\n",
		s.Changed, d.Affected, s.ResourcesLost, s.ResourcesGained, s.ReachChanged)
	for i := range d.Radii {
		fmt.Fprintln(w)
		if err := radiusDiffTable(w, &d.Radii[i], ""); err != nil {
			return err
		}
	}
	return nil
}

// radiusDiffTable writes one start's changes: a heading, then a line per
// resource, identity or compute gained (+), lost (-) or changed (~).
func radiusDiffTable(w io.Writer, rd *analyzer.RadiusDiff, indent string) error {
	fmt.Fprintf(w, "%s%s\n", indent, radiusHeading(rd))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(sign, name, typ, env, what string) {
		fmt.Fprintf(tw, "%s  %s\t%s\t%s\t%s\t%s\n", indent, sign, name, typ, dash(env), what)
	}
	for _, h := range rd.IdentitiesLost {
		row("-", h.Name, "identity", h.Environment, dash(pathKinds(h.Path)))
	}
	for _, h := range rd.IdentitiesGained {
		row("+", h.Name, "identity", h.Environment, dash(pathKinds(h.Path)))
	}
	for _, h := range rd.ComputesLost {
		row("-", h.Name, "compute", h.Environment, dash(pathKinds(h.Path)))
	}
	for _, h := range rd.ComputesGained {
		row("+", h.Name, "compute", h.Environment, dash(pathKinds(h.Path)))
	}
	for _, c := range rd.Lost {
		row("-", lastSegment(c.Resource), c.Type, c.Environment, grantText(c.Type, c.ActionsRemoved, c.DataActionsRemoved))
	}
	for _, c := range rd.Gained {
		row("+", lastSegment(c.Resource), c.Type, c.Environment, grantText(c.Type, c.ActionsAdded, c.DataActionsAdded))
	}
	for _, c := range rd.Changed {
		row("~", lastSegment(c.Resource), c.Type, c.Environment, changeText(c))
	}
	return tw.Flush()
}

// radiusHeading names a start and what its environments do.
func radiusHeading(rd *analyzer.RadiusDiff) string {
	env := ""
	if rd.Environment != "" {
		env = ", env " + rd.Environment
	}
	h := fmt.Sprintf("%s (%s%s)", rd.Name, rd.StartKind, env)
	var notes []string
	if rd.Status != "" {
		notes = append(notes, rd.Status)
	}
	if rd.SameAs != "" {
		notes = append(notes, "as "+lastSegment(rd.SameAs)+", which holds the same")
	}
	if len(rd.EnvironmentsLost) > 0 {
		notes = append(notes, "no longer reaches "+strings.Join(rd.EnvironmentsLost, ", "))
	}
	if len(rd.EnvironmentsGained) > 0 {
		notes = append(notes, "now reaches "+strings.Join(rd.EnvironmentsGained, ", "))
	}
	if len(notes) > 0 {
		h += ": " + strings.Join(notes, "; ")
	}
	return h
}

// grantText writes what a gained or lost resource grants.
func grantText(typ string, actions, data []string) string {
	var parts []string
	if len(actions) > 0 {
		parts = append(parts, "actions "+shortActions(typ, actions))
	}
	if len(data) > 0 {
		parts = append(parts, "data "+shortActions(typ, data))
	}
	return strings.Join(parts, "; ")
}

// changeText writes the actions a changed resource gains and loses.
func changeText(c analyzer.ReachChange) string {
	var parts []string
	add := func(sign, what string, l []string) {
		if len(l) > 0 {
			parts = append(parts, sign+what+" "+shortActions(c.Type, l))
		}
	}
	add("+", "actions", c.ActionsAdded)
	add("-", "actions", c.ActionsRemoved)
	add("+", "data", c.DataActionsAdded)
	add("-", "data", c.DataActionsRemoved)
	return strings.Join(parts, "; ")
}

// radiusLine sums up one start's changes on a line.
func radiusLine(rd *analyzer.RadiusDiff) string {
	var parts []string
	const shown = 5
	// Resources only: their groups, subscriptions and child resources (a
	// site's configuration) go with them.
	names := func(all []analyzer.ReachChange) string {
		var l []analyzer.ReachChange
		for _, c := range all {
			if p, err := resourceid.Parse(c.Resource); err == nil && len(p.Providers) == 1 && len(p.Providers[0].Types) == 1 {
				l = append(l, c)
			}
		}
		if len(l) == 0 {
			return fmt.Sprintf("%d scope(s)", len(all))
		}
		var out []string
		for _, c := range l {
			if len(out) == shown {
				out = append(out, fmt.Sprintf("and %d more", len(l)-shown))
				break
			}
			s := lastSegment(c.Resource)
			if c.Environment != "" {
				s += " (" + c.Environment + ")"
			}
			out = append(out, s)
		}
		return strings.Join(out, ", ")
	}
	held := func(l []analyzer.Held) string {
		out := make([]string, len(l))
		for i, h := range l {
			out[i] = h.Name
		}
		return strings.Join(out, ", ")
	}
	if rd.Status != "" {
		parts = append(parts, rd.Status)
	}
	if len(rd.Lost) > 0 {
		parts = append(parts, "loses "+names(rd.Lost))
	}
	if len(rd.Gained) > 0 {
		parts = append(parts, "gains "+names(rd.Gained))
	}
	if len(rd.Changed) > 0 {
		parts = append(parts, "other actions on "+names(rd.Changed))
	}
	if len(rd.IdentitiesLost)+len(rd.ComputesLost) > 0 {
		parts = append(parts, "no longer holds "+strings.Trim(held(rd.IdentitiesLost)+", "+held(rd.ComputesLost), ", "))
	}
	if len(rd.IdentitiesGained)+len(rd.ComputesGained) > 0 {
		parts = append(parts, "now holds "+strings.Trim(held(rd.IdentitiesGained)+", "+held(rd.ComputesGained), ", "))
	}
	return rd.Name + ": " + strings.Join(parts, "; ")
}
