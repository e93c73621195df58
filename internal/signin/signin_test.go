package signin

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/store/sqlstore"
)

func TestRecordFlushAndSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	s, err := sqlstore.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	l := New(s, time.Now)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				l.Record(store.SignIn{Endpoint: IMDS, Result: Success, ComputeID: fmt.Sprintf("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm%d", w)})
			}
		}(w)
	}
	wg.Wait()
	got, err := l.Query(context.Background(), store.SignInFilter{ComputeID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 500 {
		t.Fatalf("vm2 has %d entries after Query, want 500", len(got))
	}
	l.Record(store.SignIn{Endpoint: Federated, Result: Failure, ErrorCode: "AADSTS700213"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := sqlstore.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var all []*store.SignIn
	s2.View(context.Background(), func(tx store.Tx) error {
		all, err = tx.ListSignIns(context.Background(), store.SignInFilter{})
		return err
	})
	if len(all) != 2001 || all[2000].ErrorCode != "AADSTS700213" {
		t.Fatalf("after reopen: %d entries", len(all))
	}
}
