package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/authorization"
	"github.com/mimic-emu/mimic/internal/resourceid"
)

// Request is the body of POST /mimic/v1/import: a batch of items, and
// whether it is the import's last.
type Request struct {
	Items []Item `json:"items"`
	// Final ends the import: the server reloads the authorization engine
	// at once (between batches it catches up within seconds).
	Final bool `json:"final,omitempty"`
}

// LoadOptions steer the client side of an import.
type LoadOptions struct {
	// Format forces the kind of every file; nil detects each file's.
	Format *Format
	// Subscriptions moves the export's subscriptions: export id → the id
	// to import into. The key "*" stands for the export's only
	// subscription.
	Subscriptions map[string]string
	// MaxErrors bounds the errors listed per file (default 20).
	MaxErrors int
}

// File is one export file, as validated.
type File struct {
	Source Source
	// Format is the file's format: forced, or what its content says.
	Format string
	Counts map[Kind]int
	Total  int
}

// Plan is a validated import, ready to send.
type Plan struct {
	Files []*File
	// Total counts the documents to send; Counts by kind.
	Total  int
	Counts map[Kind]int
	// Skipped counts elements not imported, by note code (built-in roles,
	// conditions mimic cannot evaluate).
	Skipped map[string]int
	// Warnings are the client side's remarks.
	Warnings []Warning
	// Subscriptions are those the export names, before any move.
	Subscriptions []string

	opts  LoadOptions
	remap map[string]string // lower export id → target
	// own are the warnings the server will not repeat: on whole files,
	// and on elements that are not sent.
	own []Warning
}

// OwnWarnings are the client side's warnings that the server does not
// repeat when it validates what it is sent: those on whole files, and on
// elements that are skipped.
func (p *Plan) OwnWarnings() []Warning { return p.own }

// LoadError lists every problem of every file.
type LoadError struct{ Errors []error }

func (e *LoadError) Error() string {
	lines := make([]string, len(e.Errors))
	for i, err := range e.Errors {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Load reads and validates every file. Nothing is sent; all problems are
// returned at once, in a *LoadError.
func Load(sources []Source, opts LoadOptions) (*Plan, error) {
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = 20
	}
	p := &Plan{Counts: map[Kind]int{}, Skipped: map[string]int{}, opts: opts}
	subs := map[string]string{}
	var errs []error
	for _, src := range sources {
		f := &File{Source: src, Counts: map[Kind]int{}}
		fileErr := &FileError{Source: src.Name}
		var hint Kind
		if opts.Format != nil {
			hint = opts.Format.Kind
		}
		first := true
		var fatal error
		c, err := scan(src, func(i int, v any) error {
			if first && opts.Format == nil {
				first = false
				if m, ok := v.(map[string]any); ok {
					hint = Classify(m)
					if hint == "" {
						fatal = fmt.Errorf("%s: cannot tell what this export holds: its first document has no \"type\" and none of the fields of a role assignment (roleDefinitionId, principalId), a role definition (roleName, permissions), a federated credential (issuer, subject) or a subscription (cloudName); name it with --kind (%s)", src.Name, formatNames())
						return errStop
					}
				}
			}
			it, notes, err := p.normalize(hint, v)
			if err != nil {
				fe := asFieldError(err)
				fe.Index = i
				if len(fileErr.Errors) < opts.MaxErrors {
					fileErr.Errors = append(fileErr.Errors, fe)
				} else {
					fileErr.More++
				}
				return nil
			}
			for _, n := range notes {
				if n.Skip {
					p.Skipped[n.Code]++
					if n.Code == CodeBuiltinRole {
						continue
					}
				}
				w := Warning{Source: src.Name, Index: i, Field: n.Field, Code: n.Code, Message: n.Msg, Count: 1}
				p.Warnings = append(p.Warnings, w)
				if n.Skip {
					p.own = append(p.own, w)
				}
			}
			if it == nil {
				return nil
			}
			f.Counts[it.Kind]++
			f.Total++
			for _, s := range SubscriptionsOf(it) {
				subs[strings.ToLower(s)] = s
			}
			return nil
		})
		switch {
		case fatal != nil:
			errs = append(errs, fatal)
			continue
		case err != nil:
			errs = append(errs, err)
			continue
		case len(fileErr.Errors) > 0:
			errs = append(errs, fileErr)
			continue
		}
		for _, n := range c.Notes {
			w := Warning{Source: src.Name, Index: -1, Code: CodePartialExport, Message: n, Count: 1}
			p.Warnings, p.own = append(p.Warnings, w), append(p.own, w)
		}
		f.Format = fileFormat(opts.Format, c, f.Counts)
		if f.Total == 0 {
			w := Warning{Source: src.Name, Index: -1, Code: CodePartialExport, Message: "no documents to import", Count: 1}
			p.Warnings, p.own = append(p.Warnings, w), append(p.own, w)
		}
		p.Files = append(p.Files, f)
		p.Total += f.Total
		for k, n := range f.Counts {
			p.Counts[k] += n
		}
	}
	for _, s := range subs {
		p.Subscriptions = append(p.Subscriptions, s)
	}
	sort.Strings(p.Subscriptions)
	if err := p.buildRemap(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, &LoadError{Errors: errs}
	}
	return p, nil
}

var errStop = errors.New("stop")

func asFieldError(err error) *FieldError {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe
	}
	return &FieldError{Msg: err.Error()}
}

func formatNames() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// fileFormat names what a file held.
func fileFormat(forced *Format, c *container, counts map[Kind]int) string {
	if forced != nil {
		return forced.Name
	}
	if c.Shape == "graph" {
		return "graph"
	}
	if len(counts) == 1 {
		for k := range counts {
			for _, f := range Formats {
				if f.Kind == k {
					return f.Name
				}
			}
		}
	}
	return "resources"
}

// normalize normalizes one element: kinds the element says itself win over
// the file's hint, except that a forced format admits no other kind.
func (p *Plan) normalize(hint Kind, v any) (*Item, []Note, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Normalize(hint, v)
	}
	kind := hint
	if p.opts.Format == nil || p.opts.Format.Kind == "" {
		if own := Classify(m); own != "" {
			kind = own
		}
	}
	return Normalize(kind, m)
}

// SubscriptionsOf lists the subscriptions an item lives in or refers to.
func SubscriptionsOf(it *Item) []string {
	var out []string
	add := func(s string) {
		if rid, err := resourceid.Parse(s); err == nil && rid.Subscription != "" {
			out = append(out, rid.Subscription)
		}
	}
	add(it.Doc.Str("id"))
	if it.Kind == RoleAssignment || it.Kind == DenyAssignment {
		add(it.Doc.Obj("properties").Str("scope"))
	}
	if it.Kind == Subscription {
		out = append(out, it.Doc.Str("subscriptionId"))
	}
	return out
}

// buildRemap checks the subscription moves against the export.
func (p *Plan) buildRemap() error {
	if len(p.opts.Subscriptions) == 0 {
		return nil
	}
	p.remap = map[string]string{}
	for from, to := range p.opts.Subscriptions {
		if !authorization.IsGUID(to) {
			return fmt.Errorf("--subscription: %q is not a subscription id", to)
		}
		if from == "*" {
			switch len(p.Subscriptions) {
			case 0:
				return fmt.Errorf("--subscription %s: the export names no subscription", to)
			case 1:
				from = p.Subscriptions[0]
			default:
				return fmt.Errorf("--subscription %s: the export spans %d subscriptions (%s); move each with --subscription FROM=TO", to, len(p.Subscriptions), strings.Join(p.Subscriptions, ", "))
			}
		}
		if !authorization.IsGUID(from) {
			return fmt.Errorf("--subscription: %q is not a subscription id", from)
		}
		p.remap[strings.ToLower(from)] = to
	}
	return nil
}

// Moves returns the subscription moves in effect: export id → target.
func (p *Plan) Moves() map[string]string {
	out := map[string]string{}
	for _, s := range p.Subscriptions {
		if to, ok := p.remap[strings.ToLower(s)]; ok {
			out[s] = to
		}
	}
	return out
}

// Batch is one request's worth of items, encoded.
type Batch struct {
	// Body is the encoded Request.
	Body []byte
	// Count is the number of items in it; Final marks the last.
	Count int
	Final bool
}

// SendOptions bound the batches.
type SendOptions struct {
	// Size is the most items per batch (default 2000); Bytes the most
	// encoded bytes (default 8 MiB).
	Size  int
	Bytes int
}

// Send reads the files again and hands the items to send in write order,
// in batches; the last batch is Final (and may be empty). It never holds
// more than one batch in memory.
func (p *Plan) Send(ctx context.Context, opts SendOptions, send func(context.Context, Batch) error) error {
	if opts.Size <= 0 {
		opts.Size = 2000
	}
	if opts.Bytes <= 0 {
		opts.Bytes = 8 << 20
	}
	// One batch is in flight while the next is read and encoded: the
	// server's store and the client's parsing overlap.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan Batch)
	sent := make(chan error, 1)
	go func() {
		var err error
		for b := range batches {
			if err == nil {
				if err = send(ctx, b); err != nil {
					cancel()
				}
			}
		}
		sent <- err
	}()
	var buf bytes.Buffer
	count := 0
	reset := func() {
		buf.Reset()
		buf.WriteString(`{"items":[`)
		count = 0
	}
	flush := func(final bool) error {
		if final {
			buf.WriteString(`],"final":true}`)
		} else {
			buf.WriteString(`]}`)
		}
		b := Batch{Body: append([]byte(nil), buf.Bytes()...), Count: count, Final: final}
		reset()
		select {
		case batches <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	finish := func(err error) error {
		close(batches)
		if serr := <-sent; serr != nil {
			return serr
		}
		return err
	}
	reset()
	// Within a kind, `az resource list` files go last: their rows lack the
	// properties other exports have, and merge into them.
	files := make([]*File, 0, len(p.Files))
	for _, generic := range []bool{false, true} {
		for _, f := range p.Files {
			if (f.Format == "resources") == generic {
				files = append(files, f)
			}
		}
	}
	for _, phase := range Kinds {
		for _, f := range files {
			if f.Counts[phase] == 0 {
				continue
			}
			var hint Kind
			if p.opts.Format != nil {
				hint = p.opts.Format.Kind
			}
			first := true
			_, err := scan(f.Source, func(i int, v any) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				if first && p.opts.Format == nil {
					first = false
					if m, ok := v.(map[string]any); ok {
						hint = Classify(m)
					}
				}
				it, _, err := p.normalize(hint, v)
				if err != nil || it == nil || it.Kind != phase {
					return nil
				}
				it.Source, it.Index = f.Source.Name, i
				if len(p.remap) > 0 {
					it.Doc = moveSubscriptions(map[string]any(it.Doc), p.remap).(map[string]any)
				}
				b, err := json.Marshal(it)
				if err != nil {
					return err
				}
				if count > 0 && (count >= opts.Size || buf.Len()+len(b) > opts.Bytes) {
					if err := flush(false); err != nil {
						return err
					}
				}
				if count > 0 {
					buf.WriteByte(',')
				}
				buf.Write(b)
				count++
				return nil
			})
			if err != nil {
				return finish(err)
			}
		}
	}
	return finish(flush(true))
}

// moveSubscriptions rewrites every reference to a moved subscription: ids
// and scopes ("/subscriptions/{id}…", in values and in keys such as
// userAssignedIdentities') and bare subscription ids.
func moveSubscriptions(v any, remap map[string]string) any {
	switch x := v.(type) {
	case string:
		return moveString(x, remap)
	case arm.Doc:
		return arm.Doc(moveSubscriptions(map[string]any(x), remap).(map[string]any))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[moveString(k, remap)] = moveSubscriptions(e, remap)
		}
		return out
	case []string:
		for i, e := range x {
			x[i] = moveString(e, remap)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = moveSubscriptions(e, remap)
		}
		return x
	}
	return v
}

func moveString(s string, remap map[string]string) string {
	if len(s) == 36 {
		if to, ok := remap[strings.ToLower(s)]; ok {
			return to
		}
		return s
	}
	lower := strings.ToLower(s)
	if !strings.Contains(lower, "/subscriptions/") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, "/subscriptions/")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		start := i + len("/subscriptions/")
		b.WriteString(s[:start])
		if len(s) >= start+36 {
			if to, ok := remap[lower[start:start+36]]; ok && (len(s) == start+36 || s[start+36] == '/') {
				b.WriteString(to)
				s, lower = s[start+36:], lower[start+36:]
				continue
			}
		}
		s, lower = s[start:], lower[start:]
	}
}
