package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/store"
)

const (
	qInsertAccessHead = "INSERT INTO access (at, plane, method, principal_id, client_id, identity_key, identity_id, compute_key, compute_id, action, data_action, scope, allowed, assignment, role, deny, reason, status) VALUES "
	accessCols        = "SELECT seq, at, plane, method, principal_id, client_id, identity_id, compute_id, action, data_action, scope, allowed, assignment, role, deny, reason, status FROM access"
	qDeleteAccessTo   = "DELETE FROM access WHERE at < ?"
)

func init() { allQueries = append(allQueries, qDeleteAccessTo) }

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// accessChunk is how many entries one INSERT statement appends.
const accessChunk = 128

func (t *tx) AppendAccess(ctx context.Context, entries []*store.Access) error {
	for start := 0; start < len(entries); start += accessChunk {
		chunk := entries[start:min(start+accessChunk, len(entries))]
		if err := t.appendAccessChunk(ctx, chunk); err != nil {
			return fmt.Errorf("append access: %w", err)
		}
	}
	return nil
}

// appendAccessChunk appends entries with one multi-row INSERT, which costs
// a fraction of one statement per row, and reads back their sequence
// numbers in order.
func (t *tx) appendAccessChunk(ctx context.Context, entries []*store.Access) error {
	const cols = 18
	var b strings.Builder
	b.WriteString(qInsertAccessHead)
	args := make([]any, 0, cols*len(entries))
	for i, e := range entries {
		if e.At.IsZero() {
			e.At = time.Now().UTC()
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, nanos(e.At), e.Plane, e.Method, strings.ToLower(e.PrincipalID), e.ClientID,
			strings.ToLower(e.IdentityID), e.IdentityID, strings.ToLower(e.ComputeID), e.ComputeID, e.Action, boolInt(e.DataAction),
			e.Scope, boolInt(e.Allowed), e.Assignment, e.Role, e.Deny, e.Reason, e.Status)
	}
	b.WriteString(" RETURNING seq")
	rows, err := t.query(ctx, b.String(), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var seqs []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return err
		}
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(seqs) != len(entries) {
		return fmt.Errorf("inserted %d rows for %d entries", len(seqs), len(entries))
	}
	slices.Sort(seqs)
	for i, e := range entries {
		e.Seq = seqs[i]
	}
	return nil
}

func (t *tx) ListAccess(ctx context.Context, f store.AccessFilter) ([]*store.Access, error) {
	q, args := logQuery(accessCols, store.SignInFilter(f))
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Access
	for rows.Next() {
		var e store.Access
		var at, data, allowed, status int64
		if err := rows.Scan(&e.Seq, &at, &e.Plane, &e.Method, &e.PrincipalID, &e.ClientID, &e.IdentityID, &e.ComputeID, &e.Action, &data,
			&e.Scope, &allowed, &e.Assignment, &e.Role, &e.Deny, &e.Reason, &status); err != nil {
			return nil, err
		}
		e.At, e.DataAction, e.Allowed, e.Status = fromNanos(at), data == 1, allowed == 1, int(status)
		out = append(out, &e)
	}
	return out, rows.Err()
}

func (t *tx) DeleteAccessBefore(ctx context.Context, before time.Time) (int, error) {
	return t.deleteBefore(ctx, qDeleteAccessTo, before)
}
