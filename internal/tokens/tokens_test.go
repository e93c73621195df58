package tokens

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mimic-emu/mimic/internal/jwt"
	"github.com/mimic-emu/mimic/internal/store"
	"github.com/mimic-emu/mimic/internal/store/sqlstore"
)

const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func setup(t *testing.T) (*Keys, *Minter, *Verifier, *clock) {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	ring := jwt.NewRing()
	keys := &Keys{Store: s, Ring: ring, Now: clk.now, RotateEvery: 24 * time.Hour, MaxTokenLifetime: 24 * time.Hour}
	return keys, &Minter{Ring: ring, Tenant: tenant, Now: clk.now}, &Verifier{Ring: ring, Tenant: tenant, Now: clk.now}, clk
}

func TestKeyRotationOverlap(t *testing.T) {
	keys, minter, verifier, clk := setup(t)
	ctx := context.Background()
	if err := keys.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	first := keys.Ring.Active().ID
	old, err := minter.Mint(Subject{ObjectID: "o", ClientID: "c", Kind: store.KindUserAssigned}, "https://vault.azure.net", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A sync before the rotation is due changes nothing.
	clk.advance(time.Hour)
	if err := keys.Sync(ctx); err != nil || keys.Ring.Active().ID != first || len(keys.Ring.Keys()) != 1 {
		t.Fatalf("early sync rotated: %v, %d keys", err, len(keys.Ring.Keys()))
	}
	// Rotation: a new key signs, the old one still verifies its tokens.
	clk.advance(24 * time.Hour)
	if err := keys.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	second := keys.Ring.Active().ID
	if second == first || len(keys.Ring.Keys()) != 2 {
		t.Fatalf("after rotation: active %s (was %s), %d keys", second, first, len(keys.Ring.Keys()))
	}
	if !strings.Contains(string(keys.Ring.JWKS()), first) || !strings.Contains(string(keys.Ring.JWKS()), second) {
		t.Fatal("JWKS must publish both keys during the overlap")
	}
	clk.t = old.ExpiresOn.Add(-time.Minute)
	if _, err := verifier.Verify(old.Raw, []string{"https://vault.azure.net"}); err != nil {
		t.Fatalf("token of the replaced key during the overlap: %v", err)
	}
	fresh, err := minter.Mint(Subject{ObjectID: "o", ClientID: "c", Kind: store.KindUserAssigned}, "https://vault.azure.net", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := jwt.Parse(fresh.Raw); h.Kid != second {
		t.Fatalf("new tokens are signed by %s, want the new key %s", h.Kid, second)
	}
	// Once every token of the old key has expired, the key goes.
	clk.t = clk.t.Add(48 * time.Hour)
	if err := keys.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys.Ring.Keys() {
		if k.ID == first {
			t.Fatal("retired key kept after its tokens expired")
		}
	}
	if _, err := keys.Ring.Verify(old.Raw, jwt.VerifyOptions{Now: old.IssuedAt}); !errors.Is(err, jwt.ErrUnknownKey) {
		t.Fatalf("token of a deleted key: %v, want ErrUnknownKey", err)
	}
}

func TestKeysSurviveReload(t *testing.T) {
	keys, minter, _, _ := setup(t)
	ctx := context.Background()
	if err := keys.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	tok, err := minter.Mint(Subject{ObjectID: "o", ClientID: "c", Kind: store.KindApplication}, "https://management.azure.com/", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A second process on the same store loads the same key.
	other := &Keys{Store: keys.Store, Ring: jwt.NewRing(), Now: keys.Now, RotateEvery: keys.RotateEvery, MaxTokenLifetime: keys.MaxTokenLifetime}
	if err := other.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Ring: other.Ring, Tenant: tenant, Now: keys.Now}
	if _, err := v.Verify(tok.Raw, []string{"https://management.azure.com/"}); err != nil {
		t.Fatalf("token verified by a replica: %v", err)
	}
}

func TestClaims(t *testing.T) {
	keys, minter, verifier, _ := setup(t)
	if err := keys.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		subject  Subject
		resource string
		check    func(t *testing.T, c *jwt.Claims)
	}{
		{"client secret v1", Subject{ObjectID: "oid", ClientID: "app", Kind: store.KindApplication}, "https://management.azure.com/", func(t *testing.T, c *jwt.Claims) {
			if c.Iss != V1Issuer(tenant) || c.Ver != "1.0" || c.AppID != "app" || c.AppIDAcr != "1" || c.Azp != "" || c.XmsMirid != "" {
				t.Fatalf("%+v", c)
			}
		}},
		{"user-assigned identity", Subject{ObjectID: "oid", ClientID: "app", Kind: store.KindUserAssigned, IdentityResourceID: "/id", ComputeResourceID: "/vm"}, "https://vault.azure.net", func(t *testing.T, c *jwt.Claims) {
			if c.AppIDAcr != "2" || c.XmsMirid != "/id" || c.XmsAzRid != "/vm" || c.Idtyp != "app" || c.Sub != "oid" || c.Tid != tenant {
				t.Fatalf("%+v", c)
			}
		}},
		{"system-assigned identity", Subject{ObjectID: "oid", ClientID: "app", Kind: store.KindSystemAssigned, IdentityResourceID: "/vm", ComputeResourceID: "/vm"}, "https://vault.azure.net", func(t *testing.T, c *jwt.Claims) {
			if c.XmsMirid != "/vm" || c.XmsAzRid != "" {
				t.Fatalf("system-assigned: xms_mirid %q xms_az_rid %q", c.XmsMirid, c.XmsAzRid)
			}
		}},
		{"v2 application", Subject{ObjectID: "oid", ClientID: "app", Kind: store.KindApplication}, "api://my-api", func(t *testing.T, c *jwt.Claims) {
			if c.Iss != V2Issuer(tenant) || c.Ver != "2.0" || c.Azp != "app" || c.Azpacr != "1" || c.AppID != "" {
				t.Fatalf("%+v", c)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := minter.Mint(tc.subject, tc.resource, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			c, err := verifier.Verify(tok.Raw, []string{tc.resource})
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
			if _, err := verifier.Verify(tok.Raw, []string{"https://other"}); !errors.Is(err, jwt.ErrAudience) {
				t.Fatalf("wrong audience: %v", err)
			}
		})
	}
}

func TestResourceFromScope(t *testing.T) {
	cases := map[string]string{
		"https://management.azure.com//.default": "https://management.azure.com/",
		"https://vault.azure.net/.default":       "https://vault.azure.net",
		"api://x/.default":                       "api://x",
	}
	for scope, want := range cases {
		if got, ok := ResourceFromScope(scope); !ok || got != want {
			t.Errorf("ResourceFromScope(%q) = %q, %v", scope, got, ok)
		}
	}
	for _, bad := range []string{"https://vault.azure.net/user_impersonation", "/.default", ""} {
		if _, ok := ResourceFromScope(bad); ok {
			t.Errorf("ResourceFromScope(%q) accepted", bad)
		}
	}
}

func BenchmarkMint(b *testing.B) {
	s, _ := sqlstore.Open(context.Background(), ":memory:")
	defer s.Close()
	ring := jwt.NewRing()
	keys := &Keys{Store: s, Ring: ring, Now: time.Now, RotateEvery: time.Hour, MaxTokenLifetime: time.Hour}
	if err := keys.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
	m := &Minter{Ring: ring, Tenant: tenant, Now: time.Now}
	sub := Subject{ObjectID: "o", ClientID: "c", Kind: store.KindApplication}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Mint(sub, "https://management.azure.com/", time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
}
