// Package testenv holds helpers shared by mimic's tests: the rule that a
// missing dependency fails in CI instead of skipping, and the PostgreSQL
// database that CI provides.
package testenv

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Strict reports whether missing test dependencies must fail rather than
// skip. CI and the Makefile set MIMIC_STRICT=1.
func Strict() bool { return os.Getenv("MIMIC_STRICT") == "1" }

// Missing skips the test because something it needs is absent, or fails it
// in strict mode, where every dependency must be present.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if Strict() {
		t.Fatalf("MIMIC_STRICT=1 and a test dependency is missing: "+format, args...)
	}
	t.Skipf("skipped: "+format, args...)
}

// PostgresDSN returns the PostgreSQL URL tests may use (MIMIC_TEST_POSTGRES),
// or skips (fails in strict mode) when none is configured.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("MIMIC_TEST_POSTGRES")
	if dsn == "" {
		Missing(t, "MIMIC_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return dsn
}

// PostgresSchema returns a PostgreSQL URL (PostgresDSN's) whose
// search_path is a fresh schema named prefix and random hex, dropped when
// the test ends, so that tests never see each other's rows.
func PostgresSchema(t testing.TB, prefix string) string {
	t.Helper()
	base := PostgresDSN(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [6]byte
	rand.Read(b[:])
	schema := prefix + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		Missing(t, "cannot create a schema in %s: %v", base, err)
	}
	t.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
