package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/mimic-emu/mimic/internal/attack"
)

// ReplayFormats are the formats of WriteReplay.
var ReplayFormats = []string{"table", "json"}

// Replay is a replay with its verdict, as mimic attack prints it.
type Replay struct {
	*attack.Report
	// Confirmed says the replay found no difference with the analysis.
	Confirmed bool `json:"confirmed"`
	// Differences name each difference (attack.Report.Disagreements).
	Differences []string `json:"differences"`
}

// NewReplay judges a replay.
func NewReplay(r *attack.Report) *Replay {
	d := r.Disagreements()
	if d == nil {
		d = []string{}
	}
	return &Replay{Report: r, Confirmed: len(d) == 0, Differences: d}
}

// WriteReplay renders a replay.
func WriteReplay(w io.Writer, r *Replay, format string) error {
	switch format {
	case "table", "":
		return replayTable(w, r)
	case "json":
		return writeJSON(w, r)
	}
	return fmt.Errorf("unknown output format %q: use %s", format, strings.Join(ReplayFormats, ", "))
}

func okWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "REFUSED"
}

func replayTable(w io.Writer, r *Replay) error {
	fmt.Fprintf(w, "Replay from %s: %d identities obtained, %d actions exercised\n", lastSegment(r.From), countObtained(r.Identities), len(r.Exercised))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Identities) > 0 {
		fmt.Fprintln(tw, "\nIDENTITY\tBY\tRESULT")
		for _, o := range r.Identities {
			result := "obtained"
			if !o.OK {
				result = o.Error
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", lastSegment(o.Identity), o.How, result)
		}
	}
	if len(r.Exercised) > 0 {
		fmt.Fprintln(tw, "\nRESOURCE\tACTION\tAS\tRESULT\tDETAIL")
		for _, e := range r.Exercised {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", lastSegment(e.Resource), e.Action, lastSegment(e.Identity), okWord(e.OK), oneLine(e.Detail))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Probed > 0 {
		fmt.Fprintf(w, "\nOutside the radius: %d of %d probes succeeded.\n", len(r.Beyond), r.Probed)
	}
	for _, n := range r.NotReplayed {
		fmt.Fprintf(w, "Not replayed: %s\n", n)
	}
	if r.Confirmed {
		fmt.Fprintln(w, "\nThe replay confirms the analysis.")
		return nil
	}
	fmt.Fprintf(w, "\nThe replay and the analysis differ (%d):\n", len(r.Differences))
	for _, d := range r.Differences {
		fmt.Fprintf(w, "  - %s\n", oneLine(d))
	}
	return nil
}

func countObtained(os []attack.Obtained) int {
	n := 0
	for _, o := range os {
		if o.OK {
			n++
		}
	}
	return n
}

// oneLine keeps a detail on one table line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
