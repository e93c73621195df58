package sqlstore

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/store/storetest"
	"github.com/mimic-emu/mimic/internal/testenv"
)

func openT(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open(%q): %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLiteFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openT(t, filepath.Join(t.TempDir(), "mimic.db"))
	})
}

func TestSQLiteMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openT(t, ":memory:") })
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openT(t, testenv.PostgresSchema(t, "mimic_test_")) })
}

func TestMigrationsAreIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	s := openT(t, path)
	ctx := context.Background()
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.SetMeta(ctx, "k", "v") }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := openT(t, path)
	var v string
	if err := s2.View(ctx, func(tx store.Tx) error { var err error; v, err = tx.GetMeta(ctx, "k"); return err }); err != nil || v != "v" {
		t.Fatalf("after reopen: %q, %v", v, err)
	}
}

func TestRebind(t *testing.T) {
	if got := rebind(postgres, "a = ? AND b = ?"); got != "a = $1 AND b = $2" {
		t.Fatalf("rebind = %q", got)
	}
	if got := rebind(sqlite, "a = ?"); got != "a = ?" {
		t.Fatalf("sqlite rebind = %q", got)
	}
}

// The durability test re-executes the test binary as a writer that prints
// "ack N" after each committed Update, kills it with SIGKILL mid-stream, and
// checks that every acknowledged write is in the reopened store.
const childEnv = "MIMIC_DURABILITY_CHILD_DSN"

func TestMain(m *testing.M) {
	if dsn := os.Getenv(childEnv); dsn != "" {
		os.Exit(durabilityChild(dsn))
	}
	os.Exit(m.Run())
}

func durabilityChild(dsn string) int {
	ctx := context.Background()
	s, err := Open(ctx, dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 1; ; i++ {
		id := fmt.Sprintf("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-%d", i)
		err := s.Update(ctx, func(tx store.Tx) error {
			return tx.PutResource(ctx, &store.Resource{ID: id, Type: "Microsoft.ManagedIdentity/userAssignedIdentities", Body: json.RawMessage(`{"i":` + strconv.Itoa(i) + `}`)})
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		fmt.Fprintf(out, "ack %d\n", i)
		out.Flush()
	}
}

func testKill9(t *testing.T, dsn string) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dsn)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := 0
	sc := bufio.NewScanner(stdout)
	deadline := time.Now().Add(30 * time.Second)
	for acked < 40 && sc.Scan() && time.Now().Before(deadline) {
		n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "ack "))
		if err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		acked = n
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if acked < 40 {
		t.Fatalf("child acknowledged only %d writes", acked)
	}
	s := openT(t, dsn)
	ctx := context.Background()
	err = s.View(ctx, func(tx store.Tx) error {
		for i := 1; i <= acked; i++ {
			id := fmt.Sprintf("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-%d", i)
			r, err := tx.GetResource(ctx, id)
			if err != nil {
				return fmt.Errorf("acknowledged write %d lost after kill -9: %w", i, err)
			}
			if want := `{"i":` + strconv.Itoa(i) + `}`; string(r.Body) != want {
				return fmt.Errorf("write %d reads back as %s", i, r.Body)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestKill9SQLite(t *testing.T) { testKill9(t, filepath.Join(t.TempDir(), "durable.db")) }

func TestKill9Postgres(t *testing.T) { testKill9(t, testenv.PostgresSchema(t, "mimic_test_")) }
