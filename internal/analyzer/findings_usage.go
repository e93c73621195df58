package analyzer

import (
	"context"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/authorization"
	"github.com/mimic-emu/mimic/internal/store"
)

// Usage is what the access log shows identities exercised within a
// window, with when each role assignment was made: what unused-permission
// and least-privilege fixes need.
type Usage struct {
	Window time.Duration
	// Since is the window's start; Now its end.
	Since, Now time.Time
	// RecordingSince is when the estate began recording (its oldest
	// subscription); before it, nothing could have been logged.
	RecordingSince time.Time
	// Entries counts the allowed requests read.
	Entries int

	principals map[string]*principalUsage
	created    map[string]time.Time // lower-case assignment id → created
}

// UsageSummary describes a Usage for reports.
type UsageSummary struct {
	Window         string    `json:"window"`
	Since          time.Time `json:"since"`
	RecordingSince time.Time `json:"recordingSince,omitzero"`
	Entries        int       `json:"entries"`
}

// Summary describes the usage for reports.
func (u *Usage) Summary() *UsageSummary {
	if u == nil {
		return nil
	}
	return &UsageSummary{Window: FormatWindow(u.Window), Since: u.Since, RecordingSince: u.RecordingSince, Entries: u.Entries}
}

// op is one exercised action at one scope.
type op struct {
	action string // lower case
	data   bool
	scope  string // lower case
	// assignment is the granting assignment (lower case), when logged.
	assignment string
}

type principalUsage struct {
	requests    int
	assignments map[string]int // lower-case assignment id → requests it granted
	ops         map[op]int
	// stats says when and from which computes each op was seen.
	stats map[op]*opStats
}

// NewUsage starts an empty usage over [now-window, now]; Record adds
// entries. LoadUsage builds one from a store.
func NewUsage(window time.Duration, now time.Time) *Usage {
	return &Usage{Window: window, Since: now.Add(-window), Now: now, principals: map[string]*principalUsage{}, created: map[string]time.Time{}}
}

// Record counts one access log entry; denied entries and entries outside
// the window are ignored.
func (u *Usage) Record(e *store.Access) {
	if !e.Allowed || e.PrincipalID == "" || e.At.Before(u.Since) || e.At.After(u.Now) {
		return
	}
	p := strings.ToLower(e.PrincipalID)
	pu := u.principals[p]
	if pu == nil {
		pu = &principalUsage{assignments: map[string]int{}, ops: map[op]int{}}
		u.principals[p] = pu
	}
	pu.requests++
	if e.Assignment != "" {
		pu.assignments[strings.ToLower(e.Assignment)]++
	}
	o := op{strings.ToLower(e.Action), e.DataAction, strings.ToLower(strings.TrimSuffix(e.Scope, "/")), strings.ToLower(e.Assignment)}
	pu.ops[o]++
	pu.note(o, e)
	u.Entries++
}

// SetCreated records when a role assignment was made.
func (u *Usage) SetCreated(assignmentID string, t time.Time) {
	u.created[strings.ToLower(assignmentID)] = t
}

// Created returns when a role assignment was made, if known.
func (u *Usage) Created(assignmentID string) (time.Time, bool) {
	if u == nil || len(u.created) == 0 {
		return time.Time{}, false
	}
	t, ok := u.created[strings.ToLower(assignmentID)]
	return t, ok
}

// observedSince is when observation of an assignment began: the latest of
// the window's start, the estate's recording start and the assignment's
// creation. full reports whether that is the window's start.
func (u *Usage) observedSince(assignmentID string) (since time.Time, full bool) {
	since = u.Since
	if u.RecordingSince.After(since) {
		since = u.RecordingSince
	}
	if t, ok := u.Created(assignmentID); ok && t.After(since) {
		since = t
	}
	return since, !since.After(u.Since)
}

func (u *Usage) principal(p string) *principalUsage {
	if u == nil {
		return nil
	}
	return u.principals[strings.ToLower(p)]
}

// LoadUsage reads the access log of the window ending now, and when each
// role assignment was made (its createdOn, else when the store wrote it).
// Flush any batching writer first.
func LoadUsage(ctx context.Context, s store.Store, window time.Duration, now time.Time) (*Usage, error) {
	if window <= 0 {
		window = DefaultWindow
	}
	u := NewUsage(window, now)
	err := s.View(ctx, func(tx store.Tx) error {
		var after int64
		for {
			page, err := tx.ListAccess(ctx, store.AccessFilter{Since: u.Since, AfterSeq: after, Limit: 10000})
			if err != nil {
				return err
			}
			for _, e := range page {
				u.Record(e)
				after = e.Seq
			}
			if len(page) < 10000 {
				break
			}
		}
		subs, err := tx.ListResources(ctx, store.ResourceFilter{Type: "Microsoft.Resources/subscriptions"})
		if err != nil {
			return err
		}
		for _, r := range subs {
			if u.RecordingSince.IsZero() || r.Created.Before(u.RecordingSince) {
				u.RecordingSince = r.Created
			}
		}
		as, err := tx.ListResources(ctx, store.ResourceFilter{Type: authorization.AssignmentType})
		if err != nil {
			return err
		}
		for _, r := range as {
			created := r.Created
			if doc, err := arm.DecodeDoc(r.Body); err == nil {
				if t, err := time.Parse(time.RFC3339Nano, doc.Obj("properties").Str("createdOn")); err == nil {
					created = t
				}
			}
			u.SetCreated(r.ID, created)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
