package store

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// SecretVault is the Secret.Vault key of a vault resource: its id and
// creation time, so that a vault deleted and re-created with the same name
// does not see the old one's secrets. ARM can pass it to DeleteVaultSecrets
// when it deletes the vault.
func SecretVault(r *Resource) string {
	return strings.ToLower(r.ID) + "@" + strconv.FormatInt(r.Created.UnixNano(), 10)
}

// Secret is one version of a Key Vault secret, together with the state of
// the secret it belongs to.
//
// A secret is a name in a vault with an ordered set of versions, one of
// which is current (the last one added). Soft-deleting a secret keeps its
// versions and reserves its name until it is recovered or purged.
type Secret struct {
	// Vault names the vault: SecretVault of the vault resource. Compared
	// exactly.
	Vault string
	// Name is the secret's name as first set; names compare
	// case-insensitively.
	Name string
	// Version is the version id (32 hex characters); compared
	// case-insensitively, returned in lower case.
	Version string
	// Value is stored as given.
	Value       string
	ContentType string
	// Tags are nil when the version has none.
	Tags    map[string]string
	Enabled bool
	// NotBefore and Expires are zero when unset.
	NotBefore time.Time
	Expires   time.Time
	Created   time.Time
	Updated   time.Time
	// Deleted is when the secret was soft-deleted, zero while it is live;
	// PurgeAt is when it is due to be purged. They describe the secret, so
	// every version of it carries the same values.
	Deleted time.Time
	PurgeAt time.Time
}

// SecretTx holds Key Vault secrets.
type SecretTx interface {
	// GetSecret returns a version of a secret, or the current version when
	// version is "", whether the secret is live or deleted (see
	// Secret.Deleted). ErrNotFound if the secret or the version does not
	// exist.
	GetSecret(ctx context.Context, vault, name, version string) (*Secret, error)
	// AddSecretVersion adds s as its secret's new current version, creating
	// the secret if it does not exist, and sets s.Name to the secret's name
	// when it already exists. ErrConflict if the secret is deleted or the
	// version exists. Deleted and PurgeAt are ignored.
	AddSecretVersion(ctx context.Context, s *Secret) error
	// UpdateSecretVersion replaces a version's content type, tags, enabled
	// flag, NotBefore, Expires and Updated. ErrNotFound if the version does
	// not exist.
	UpdateSecretVersion(ctx context.Context, s *Secret) error
	// ListSecrets returns the current version of each secret of a vault,
	// the live ones or, with deleted set, the deleted ones, ordered by
	// lower-case name, starting after the name after (case-insensitive; ""
	// starts at the beginning), at most limit of them (0: all).
	ListSecrets(ctx context.Context, vault string, deleted bool, after string, limit int) ([]*Secret, error)
	// ListSecretVersions returns the versions of a secret, live or deleted,
	// ordered by version, starting after the version after, at most limit
	// of them (0: all). An unknown secret has no versions.
	ListSecretVersions(ctx context.Context, vault, name, after string, limit int) ([]*Secret, error)
	// SetSecretDeleted marks a secret deleted at deleted and due for purge
	// at purgeAt, or, with zero times, live again. ErrNotFound if the
	// secret does not exist.
	SetSecretDeleted(ctx context.Context, vault, name string, deleted, purgeAt time.Time) error
	// PurgeSecret deletes a secret and all its versions. ErrNotFound if the
	// secret does not exist.
	PurgeSecret(ctx context.Context, vault, name string) error
	// DeleteVaultSecrets deletes every secret of a vault, returning how many
	// there were.
	DeleteVaultSecrets(ctx context.Context, vault string) (int, error)
}
