package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/store"
)

const (
	runCols          = "SELECT id, secret_hash, compute_id, service_account, created, expires FROM runs "
	qCreateRun       = "INSERT INTO runs (id, secret_hash, compute_id, service_account, created, expires) VALUES (?, ?, ?, ?, ?, ?)"
	qRunBySecret     = runCols + "WHERE secret_hash = ?"
	qGetRun          = runCols + "WHERE id = ?"
	qDeleteRun       = "DELETE FROM runs WHERE id = ?"
	qDeleteExpired   = "DELETE FROM runs WHERE expires < ?"
	qRunTaken        = "SELECT COUNT(*) FROM runs WHERE id = ? OR secret_hash = ?"
	qInsertSignIn    = "INSERT INTO signins (at, endpoint, result, error_code, message, principal_id, client_id, identity_key, identity_id, compute_key, compute_id, credential, audience) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq"
	signInCols       = "SELECT seq, at, endpoint, result, error_code, message, principal_id, client_id, identity_id, compute_id, credential, audience FROM signins"
	qDeleteSignInsTo = "DELETE FROM signins WHERE at < ?"
)

func init() {
	allQueries = append(allQueries, qCreateRun, qRunBySecret, qGetRun, qDeleteRun, qDeleteExpired, qRunTaken, qInsertSignIn, qDeleteSignInsTo)
}

func (t *tx) CreateRun(ctx context.Context, r *store.Run) error {
	var n int
	if err := t.queryRow(ctx, qRunTaken, r.ID, r.SecretHash).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("run %s: %w", r.ID, store.ErrConflict)
	}
	_, err := t.exec(ctx, qCreateRun, r.ID, r.SecretHash, r.ComputeID, r.ServiceAccount, nanos(r.Created), nanos(r.Expires))
	return err
}

func scanRun(row *sql.Row, what string) (*store.Run, error) {
	var r store.Run
	var created, expires int64
	err := row.Scan(&r.ID, &r.SecretHash, &r.ComputeID, &r.ServiceAccount, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	r.Created, r.Expires = fromNanos(created), fromNanos(expires)
	return &r, nil
}

func (t *tx) RunBySecretHash(ctx context.Context, hash string) (*store.Run, error) {
	return scanRun(t.queryRow(ctx, qRunBySecret, hash), "with that secret")
}

func (t *tx) GetRun(ctx context.Context, id string) (*store.Run, error) {
	return scanRun(t.queryRow(ctx, qGetRun, id), id)
}

func (t *tx) DeleteRun(ctx context.Context, id string) error {
	res, err := t.exec(ctx, qDeleteRun, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	return nil
}

func (t *tx) DeleteExpiredRuns(ctx context.Context, now time.Time) (int, error) {
	res, err := t.exec(ctx, qDeleteExpired, nanos(now))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t *tx) AppendSignIns(ctx context.Context, entries []*store.SignIn) error {
	for _, e := range entries {
		if e.At.IsZero() {
			e.At = time.Now().UTC()
		}
		err := t.queryRow(ctx, qInsertSignIn, nanos(e.At), e.Endpoint, e.Result, e.ErrorCode, e.Message, strings.ToLower(e.PrincipalID), e.ClientID,
			strings.ToLower(e.IdentityID), e.IdentityID, strings.ToLower(e.ComputeID), e.ComputeID, e.Credential, e.Audience).Scan(&e.Seq)
		if err != nil {
			return fmt.Errorf("append sign-in: %w", err)
		}
	}
	return nil
}

func (t *tx) ListSignIns(ctx context.Context, f store.SignInFilter) ([]*store.SignIn, error) {
	q, args := logQuery(signInCols, f)
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.SignIn
	for rows.Next() {
		var e store.SignIn
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.Endpoint, &e.Result, &e.ErrorCode, &e.Message, &e.PrincipalID, &e.ClientID,
			&e.IdentityID, &e.ComputeID, &e.Credential, &e.Audience); err != nil {
			return nil, err
		}
		e.At = fromNanos(at)
		out = append(out, &e)
	}
	return out, rows.Err()
}

func (t *tx) DeleteSignInsBefore(ctx context.Context, before time.Time) (int, error) {
	return t.deleteBefore(ctx, qDeleteSignInsTo, before)
}

// logQuery builds a log listing (the sign-in and access logs share their
// filter and key columns): cols, the filter's conditions, oldest first.
func logQuery(cols string, f store.SignInFilter) (string, []any) {
	var where []string
	var args []any
	if f.IdentityID != "" {
		where, args = append(where, "identity_key = ?"), append(args, strings.ToLower(f.IdentityID))
	}
	if f.ComputeID != "" {
		where, args = append(where, "compute_key = ?"), append(args, strings.ToLower(f.ComputeID))
	}
	if f.PrincipalID != "" {
		where, args = append(where, "principal_id = ?"), append(args, strings.ToLower(f.PrincipalID))
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, nanos(f.Since))
	}
	if f.AfterSeq > 0 {
		where, args = append(where, "seq > ?"), append(args, f.AfterSeq)
	}
	q := cols
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return q, args
}

// deleteBefore runs a log's retention delete and counts the rows it took.
func (t *tx) deleteBefore(ctx context.Context, query string, before time.Time) (int, error) {
	res, err := t.exec(ctx, query, nanos(before))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
