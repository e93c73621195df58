// Package directory is the tenant's directory: the tenant itself, its
// service principals and their client secrets, and the first-start
// bootstrap that creates a tenant, a default subscription and an operator
// with Owner on it.
//
// Client secrets are random 256-bit values, so a SHA-256 digest is a safe
// verifier; comparisons are constant-time.
package directory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/mimic-emu/mimic/internal/store"
)

// Meta keys.
const (
	MetaTenant              = "tenant"
	MetaDefaultSubscription = "defaultSubscription"
	MetaOperator            = "operator"
	MetaCACert              = "caCert"
	MetaCAKey               = "caKey"
)

// NewGUID returns a random lower-case GUID.
func NewGUID() string { return uuid.NewString() }

// IsGUID reports whether s is a GUID in its usual 36-character form.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// NewSecret returns a client secret in Entra's style: 40 URL-safe
// characters.
func NewSecret() string {
	b := make([]byte, 30)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return strings.ReplaceAll(base64.RawURLEncoding.EncodeToString(b), "-", "~")
}

// HashSecret returns the stored verifier of a secret.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// CheckSecret reports whether secret matches a verifier from HashSecret.
func CheckSecret(hash, secret string) bool {
	want := []byte(hash)
	got := []byte(HashSecret(secret))
	return len(want) == len(got) && subtle.ConstantTimeCompare(want, got) == 1
}

// Tenant returns the tenant id, or store.ErrNotFound before bootstrap.
func Tenant(ctx context.Context, tx store.Tx) (string, error) {
	return tx.GetMeta(ctx, MetaTenant)
}

// NewApplication creates a service principal with a fresh client secret and
// returns the principal and the secret, which is shown once.
func NewApplication(ctx context.Context, tx store.Tx, displayName string) (*store.Principal, string, error) {
	secret := NewSecret()
	p := &store.Principal{
		ObjectID:    NewGUID(),
		ClientID:    NewGUID(),
		Kind:        store.KindApplication,
		DisplayName: displayName,
		SecretHash:  HashSecret(secret),
	}
	if err := tx.CreatePrincipal(ctx, p); err != nil {
		return nil, "", fmt.Errorf("create service principal %q: %w", displayName, err)
	}
	return p, secret, nil
}

// ErrNoPrincipal is returned by lookups of unknown principals.
var ErrNoPrincipal = errors.New("principal not found")
