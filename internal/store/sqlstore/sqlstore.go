// Package sqlstore implements store.Store on SQLite (pure Go,
// modernc.org/sqlite) and PostgreSQL (pgx), with one set of queries.
//
// Queries are written once with "?" placeholders and rebound to "$n" for
// PostgreSQL. Migrations are embedded per dialect under migrations/ and run
// in order at Open, each in its own transaction, recorded in
// schema_migrations. PostgreSQL takes an advisory lock while migrating so
// that replicas starting together do not race.
//
// SQLite runs in WAL mode with synchronous=FULL, so a committed transaction
// is on disk before Update returns and survives kill -9 and power loss. One
// connection writes (transactions begin IMMEDIATE, so writers never deadlock
// on lock upgrades) and a pool of read-only connections serves View.
// PostgreSQL runs Update at SERIALIZABLE isolation and retries the function
// on serialization failures.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/mimic-emu/mimic/internal/store"
)

//go:embed migrations
var migrations embed.FS

type dialect int

const (
	sqlite dialect = iota
	postgres
)

// Store is a SQL-backed store.Store.
type Store struct {
	dialect dialect
	write   *sql.DB
	read    *sql.DB
	// Every query of allQueries prepared once on each database (the
	// SELECTs only on a separate read database), keyed by their "?" form:
	// a transaction uses them through Tx.StmtContext, which prepares a
	// statement once per connection instead of once per use.
	writeStmts, readStmts map[string]*sql.Stmt
}

var _ store.Store = (*Store)(nil)

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens (creating and migrating as needed) the store named by dsn: a
// postgres:// URL, ":memory:", or a SQLite file path.
func Open(ctx context.Context, dsn string) (*Store, error) {
	var s *Store
	var err error
	if IsPostgres(dsn) {
		s, err = openPostgres(dsn)
	} else {
		s, err = openSQLite(dsn)
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// prepare prepares allQueries, once the schema is migrated.
func (s *Store) prepare(ctx context.Context) error {
	s.writeStmts, s.readStmts = map[string]*sql.Stmt{}, map[string]*sql.Stmt{}
	for _, q := range allQueries {
		st, err := s.write.PrepareContext(ctx, rebind(s.dialect, q))
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		s.writeStmts[q] = st
		if s.read == s.write {
			s.readStmts[q] = st
			continue
		}
		if !strings.HasPrefix(q, "SELECT") {
			continue // the read database is query-only
		}
		if st, err = s.read.PrepareContext(ctx, rebind(s.dialect, q)); err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		s.readStmts[q] = st
	}
	return nil
}

func openSQLite(path string) (*Store, error) {
	pragmas := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	if path == ":memory:" {
		// Every connection to ":memory:" is a separate database, so one
		// connection serves reads and writes.
		db, err := sql.Open("sqlite", "file::memory:?"+pragmas+"&_txlock=immediate")
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		return newStore(sqlite, db, db), nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	u := url.URL{Scheme: "file", Path: abs}
	base := u.String() + "?" + pragmas + "&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	write, err := sql.Open("sqlite", base+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	// Force the write connection open first so WAL mode is set before any
	// reader connects.
	if err := write.Ping(); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", abs, err)
	}
	read, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(8)
	return newStore(sqlite, write, read), nil
}

func openPostgres(dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return newStore(postgres, db, db), nil
}

func newStore(d dialect, write, read *sql.DB) *Store {
	return &Store{dialect: d, write: write, read: read}
}

// rebind turns "?" placeholders into "$1", "$2"… for PostgreSQL.
func rebind(d dialect, q string) string {
	if d != postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Backend implements store.Store.
func (s *Store) Backend() string {
	if s.dialect == postgres {
		return "postgres"
	}
	return "sqlite"
}

// Close implements store.Store.
func (s *Store) Close() error {
	var err error
	for _, st := range s.writeStmts {
		err = errors.Join(err, st.Close())
	}
	if s.read != s.write { // otherwise readStmts are writeStmts
		for _, st := range s.readStmts {
			err = errors.Join(err, st.Close())
		}
	}
	err = errors.Join(err, s.write.Close())
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

const maxSerializationRetries = 100

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	opts := &sql.TxOptions{}
	if s.dialect == postgres {
		opts.Isolation = sql.LevelSerializable
	}
	for attempt := 0; ; attempt++ {
		err := s.run(ctx, s.write, opts, fn)
		if err == nil || !s.retryable(err) || attempt >= maxSerializationRetries {
			return err
		}
		// Back off a random little while so that conflicting writers
		// spread out; they are usually quick.
		backoff := time.Duration(rand.Int64N(int64(min(attempt+1, 20)) * int64(time.Millisecond)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
	}
}

// View implements store.Store.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: s.dialect == postgres}
	if s.dialect == postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	return s.run(ctx, s.read, opts, fn)
}

func (s *Store) run(ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(store.Tx) error) error {
	sqlTx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	t := &tx{s: s, tx: sqlTx, stmts: s.readStmts}
	if db == s.write {
		t.stmts = s.writeStmts
	}
	if err := fn(t); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (s *Store) retryable(err error) bool {
	if s.dialect != postgres {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	return false
}

// Revision implements store.Store.
func (s *Store) Revision(ctx context.Context, topic string) (int64, error) {
	var rev int64
	err := s.readStmts[qRevision].QueryRowContext(ctx, topic).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return rev, err
}

func (s *Store) migrate(ctx context.Context) error {
	dir := "migrations/sqlite"
	if s.dialect == postgres {
		dir = "migrations/postgres"
	}
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)

	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if s.dialect == postgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(736642)"); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied BIGINT NOT NULL)"); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	applied := map[string]bool{}
	rows, err := tx.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, name := range names {
		if applied[name] {
			continue
		}
		body, err := migrations.ReadFile(dir + "/" + name)
		if err != nil {
			return err
		}
		for _, stmt := range splitStatements(string(body)) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, rebind(s.dialect, "INSERT INTO schema_migrations (version, applied) VALUES (?, ?)"), name, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return tx.Commit()
}

// splitStatements splits a migration on semicolons that end a line. The
// migrations hold no procedural code, so this is enough.
func splitStatements(sqlText string) []string {
	var out []string
	for _, part := range strings.Split(sqlText, ";\n") {
		if p := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(part), ";")); p != "" {
			out = append(out, p)
		}
	}
	return out
}
