package compat

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// postgresDSN returns a DSN on a fresh schema of the test database, dropped
// when the test ends.
func postgresDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv("MIMIC_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("MIMIC_STRICT") == "1" {
			t.Fatal("MIMIC_STRICT=1 and MIMIC_TEST_POSTGRES is not set")
		}
		t.Skip("MIMIC_TEST_POSTGRES is not set")
	}
	db, err := sql.Open("pgx", base)
	must(t, err)
	t.Cleanup(func() { db.Close() })
	var b [6]byte
	rand.Read(b[:])
	schema := "mimic_compat_" + hex.EncodeToString(b[:])
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() { db.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	must(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestPostgresStore runs mimic on PostgreSQL, and a second replica on the
// same database sees the first one's tenant, resources and tokens.
func TestPostgresStore(t *testing.T) {
	dsn := postgresDSN(t)
	first, err := Start(env.Binary, filepath.Join(t.TempDir(), "a"), "--store", dsn)
	must(t, err)
	defer first.Stop()
	saved := env
	defer func() { env = saved }()
	env = first
	rg := uniq(t, "rg-pg")
	_, err = groups(t).CreateOrUpdate(ctx(t), rg, armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil)
	must(t, err)
	ident, err := identities(t).CreateOrUpdate(ctx(t), rg, "pg-id", armmsi.Identity{Location: to.Ptr("eastus")}, nil)
	must(t, err)
	tok := operatorToken(t)

	second, err := Start(env.Binary, filepath.Join(t.TempDir(), "b"), "--store", dsn)
	must(t, err)
	defer second.Stop()
	if second.Profile.TenantID != first.Profile.TenantID || second.Profile.Operator != first.Profile.Operator {
		t.Fatalf("replica has another tenant: %+v vs %+v", second.Profile, first.Profile)
	}
	env = second
	got, err := identities(t).Get(ctx(t), rg, "pg-id", nil)
	must(t, err)
	if *got.Properties.PrincipalID != *ident.Properties.PrincipalID {
		t.Fatalf("replica reads another identity: %+v", got.Properties)
	}
	if resp, body := armWith(t, "Bearer "+tok); resp.StatusCode != 200 {
		t.Fatalf("replica refuses the first replica's token: %d %v", resp.StatusCode, body)
	}
}
