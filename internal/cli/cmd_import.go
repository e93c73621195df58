package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mimic-emu/mimic/internal/importer"
)

func newImportCmd(g *globals) *cobra.Command {
	var (
		kind, output string
		subs         []string
		batch        int
		dryRun       bool
		every        time.Duration
	)
	cmd := &cobra.Command{
		Use:   "import FILE|DIR|- ...",
		Short: "Load the JSON exports of a real Azure estate",
		Long: `Load the JSON exports of a real tenant into the running mimic, so that its
design can be analyzed offline (mimic analyze, mimic blast-radius) and
exercised in the emulator.

Each file is what one of these prints with -o json (the default):

  az identity list                         identities
  az identity federated-credential list    federated-credentials
  az role assignment list --all            role-assignments
  az role definition list                  role-definitions (built-ins are skipped)
  az vm list                               vms
  az webapp list, az functionapp list      sites
  az aks list                              aks
  az resource list                         resources (any mix of types)
  az group list, az account list           groups, subscriptions
  az graph query -q "resources | …"        graph (also Resource Graph's REST shape)
  az rest --url …/denyAssignments?…        deny-assignments

ARM's own list responses ({"value": [...]}) and single documents work too.
Each file's kind is told from its content; --kind names it instead. FILE may
be a directory (every .json file below it) or - for standard input.

Every file is read and validated before anything is written; problems name
the file, the element and the field ("assignments.json: [12].roleDefinitionId:
missing"), or the line and column of bad JSON. Documents are then sent in
dependency order, in batches, with progress on standard error. Ids, names,
tags, locations, identity blocks, principal ids and client ids are kept as
exported; tenant ids become mimic's. Subscriptions and resource groups are
created as seen, and you are made Owner of each new subscription.

Partial exports import what they can: a role assignment whose principal no
export holds is kept, orphaned, as Azure keeps it; a compute's missing
user-assigned identity is recreated from what the compute shows. Both are
reported. Importing again is safe: documents merge with what mimic holds.

--subscription moves the export into another subscription, rewriting every
id: --subscription default (mimic's default subscription) or an id, for an
export of one subscription; FROM=TO (repeatable) for several.

Importing needs Microsoft.Authorization/roleAssignments/write at mimic's
default subscription (the operator has it).`,
		Example: `  az identity list > ids.json; az role assignment list --all > ra.json; az vm list > vms.json
  mimic import ids.json ra.json vms.json
  mimic import ./export/ --subscription default
  az graph query -q "resources | where type =~ 'microsoft.compute/virtualmachines'" | mimic import -
  mimic import --dry-run ./export/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := importer.LoadOptions{}
			if kind != "" {
				f, err := importer.FormatNamed(kind)
				if err != nil {
					return &ExitError{Code: 2, Err: err}
				}
				opts.Format = &f
			}
			if output != "table" && output != "json" {
				return &ExitError{Code: 2, Err: fmt.Errorf("unknown output format %q: use table or json", output)}
			}
			var c *client
			if len(subs) > 0 {
				opts.Subscriptions = map[string]string{}
				for _, s := range subs {
					from, to, pair := strings.Cut(s, "=")
					if !pair {
						from, to = "*", s
					}
					if strings.EqualFold(to, "default") {
						if c == nil {
							var err error
							if c, err = dial(g); err != nil {
								return err
							}
						}
						to = c.profile.SubscriptionID
					}
					opts.Subscriptions[from] = to
				}
			}
			sources, cleanup, err := importer.Sources(args, cmd.InOrStdin())
			defer cleanup()
			if err != nil {
				return err
			}
			plan, err := importer.Load(sources, opts)
			if err != nil {
				return err
			}
			for _, f := range plan.Files {
				fmt.Fprintf(g.stderr, "%s: %s (%s)\n", f.Source.Name, importer.DescribeCounts(f.Counts), f.Format)
			}
			for from, to := range plan.Moves() {
				fmt.Fprintf(g.stderr, "subscription %s moves to %s\n", from, to)
			}
			if dryRun {
				printWarnings(g.stderr, plan.Warnings)
				fmt.Fprintf(g.stdout, "%s documents are valid (%s); nothing was imported (--dry-run)\n", importer.Thousands(plan.Total), importer.DescribeCounts(plan.Counts))
				return nil
			}
			if c == nil {
				if c, err = dial(g); err != nil {
					return err
				}
			}
			total := &importer.Result{Counts: map[importer.Kind]int{}, Skipped: map[string]int{}}
			for code, n := range plan.Skipped {
				total.Skipped[code] += n
			}
			// The server reports again what it finds in the elements it
			// is sent.
			total.Warnings = importer.MergeWarnings(nil, plan.OwnWarnings())
			prog := newProgress(g.stderr, plan.Total, every)
			err = plan.Send(cmd.Context(), importer.SendOptions{Size: batch}, func(ctx context.Context, b importer.Batch) error {
				var res importer.Result
				if err := c.do(ctx, "POST", "/mimic/v1/import", json.RawMessage(b.Body), &res); err != nil {
					return importFailed(prog.done, plan.Total, err)
				}
				total.Add(&res)
				prog.add(b.Count, b.Final)
				return nil
			})
			if err != nil {
				return err
			}
			printWarnings(g.stderr, total.Warnings)
			if output == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(total)
			}
			printImportSummary(g.stdout, total, prog.elapsed())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&kind, "kind", "", "the kind of every file, instead of telling it from the content: "+formatList())
	fl.StringArrayVar(&subs, "subscription", nil, "move the export into this subscription (an id, or 'default'), or FROM=TO for one of several")
	fl.IntVar(&batch, "batch", 2000, "documents per request")
	fl.BoolVar(&dryRun, "dry-run", false, "validate the files and show what they hold; import nothing")
	// How often progress is printed: tests make it frequent, so that a
	// fast import still shows progress before its end.
	fl.DurationVar(&every, "progress-interval", time.Second, "how often to print progress")
	fl.MarkHidden("progress-interval")
	fl.StringVarP(&output, "output", "o", "table", "output format of the summary: table or json")
	return cmd
}

func formatList() string {
	names := make([]string, len(importer.Formats))
	for i, f := range importer.Formats {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// importFailed says how far an import got before the server refused a
// batch: what was sent before stays imported.
func importFailed(done, total int, err error) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == "InvalidImport" {
		err = errors.New(ae.Message)
	}
	if done == 0 {
		return fmt.Errorf("import refused: %w", err)
	}
	return fmt.Errorf("import stopped after %s of %s documents (those stay imported; importing again is safe): %w",
		importer.Thousands(done), importer.Thousands(total), err)
}

// progress prints "imported 12,000/50,000 …" lines on standard error, at
// most once an interval (a second), and always at the end.
type progress struct {
	w           io.Writer
	total, done int
	start, last time.Time
	every       time.Duration
}

func newProgress(w io.Writer, total int, every time.Duration) *progress {
	now := time.Now()
	return &progress{w: w, total: total, start: now, last: now, every: every}
}

func (p *progress) add(n int, final bool) {
	p.done += n
	now := time.Now()
	if !final && now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	rate := float64(p.done) / max(now.Sub(p.start).Seconds(), 1e-3)
	pct := 100
	if p.total > 0 {
		pct = p.done * 100 / p.total
	}
	fmt.Fprintf(p.w, "imported %s/%s documents (%d%%, %s/s)\n", importer.Thousands(p.done), importer.Thousands(p.total), pct, importer.Thousands(int(rate)))
}

func (p *progress) elapsed() time.Duration { return time.Since(p.start) }

// printWarnings prints warnings, at most ten of each kind.
func printWarnings(w io.Writer, warnings []importer.Warning) {
	const perCode = 10
	shown := map[string]int{}
	more := map[string]int{}
	for _, wn := range warnings {
		if shown[wn.Code] >= perCode {
			more[wn.Code] += max(wn.Count, 1)
			continue
		}
		shown[wn.Code]++
		fmt.Fprintln(w, "WARNING:", wn.String())
	}
	codes := make([]string, 0, len(more))
	for c := range more {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		fmt.Fprintf(w, "WARNING: … and %s more %s warnings (-o json lists them all)\n", importer.Thousands(more[c]), c)
	}
}

func printImportSummary(w io.Writer, r *importer.Result, took time.Duration) {
	fmt.Fprintf(w, "imported %s documents in %s\n", importer.Thousands(r.Imported), took.Round(time.Millisecond))
	for _, k := range importer.Kinds {
		if n := r.Counts[k]; n > 0 {
			fmt.Fprintf(w, "  %-26s %s\n", k.Plural(), importer.Thousands(n))
		}
	}
	if len(r.Subscriptions) > 0 {
		fmt.Fprintf(w, "  new subscriptions          %s (you are their Owner)\n", strings.Join(r.Subscriptions, ", "))
	}
	if r.Groups > 0 {
		fmt.Fprintf(w, "  new resource groups        %s\n", importer.Thousands(r.Groups))
	}
	fmt.Fprintf(w, "  identity principals        %s\n", importer.Thousands(r.Principals))
	if r.Directory > 0 {
		fmt.Fprintf(w, "  directory principals       %s (users, groups, applications the assignments name)\n", importer.Thousands(r.Directory))
	}
	if r.Orphaned > 0 {
		fmt.Fprintf(w, "  orphaned assignments       %s\n", importer.Thousands(r.Orphaned))
	}
	if n := r.Skipped[importer.CodeBuiltinRole]; n > 0 {
		fmt.Fprintf(w, "  built-in roles skipped     %s\n", importer.Thousands(n))
	}
	if n := r.Skipped[importer.CodeUnsupportedCondition]; n > 0 {
		fmt.Fprintf(w, "  skipped (conditions)       %s\n", importer.Thousands(n))
	}
}
