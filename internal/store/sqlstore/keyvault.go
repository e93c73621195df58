package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/store"
)

const (
	secretCols = "SELECT s.name, s.deleted, s.purge_at, v.version, v.value, v.content_type, v.tags, v.enabled, v.nbf, v.exp, v.created, v.updated " +
		"FROM kv_secrets s JOIN kv_secret_versions v ON v.vault = s.vault AND v.name_key = s.name_key "
	qGetLatestSecret   = secretCols + "AND v.version = s.latest WHERE s.vault = ? AND s.name_key = ?"
	qGetSecretVersion  = secretCols + "WHERE s.vault = ? AND s.name_key = ? AND v.version = ?"
	qListLive          = secretCols + "AND v.version = s.latest WHERE s.vault = ? AND s.deleted = 0 AND s.name_key > ? ORDER BY s.name_key"
	qListDeleted       = secretCols + "AND v.version = s.latest WHERE s.vault = ? AND s.deleted <> 0 AND s.name_key > ? ORDER BY s.name_key"
	qListVersions      = secretCols + "WHERE s.vault = ? AND s.name_key = ? AND v.version > ? ORDER BY v.version"
	qSecretState       = "SELECT name, deleted FROM kv_secrets WHERE vault = ? AND name_key = ?"
	qSecretVersionSeen = "SELECT COUNT(*) FROM kv_secret_versions WHERE vault = ? AND name_key = ? AND version = ?"
	qInsertSecret      = "INSERT INTO kv_secrets (vault, name_key, name, latest, deleted, purge_at) VALUES (?, ?, ?, ?, 0, 0)"
	qSetLatestSecret   = "UPDATE kv_secrets SET latest = ? WHERE vault = ? AND name_key = ?"
	qInsertVersion     = "INSERT INTO kv_secret_versions (vault, name_key, version, value, content_type, tags, enabled, nbf, exp, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	qUpdateVersion     = "UPDATE kv_secret_versions SET content_type = ?, tags = ?, enabled = ?, nbf = ?, exp = ?, updated = ? WHERE vault = ? AND name_key = ? AND version = ?"
	qSetSecretDeleted  = "UPDATE kv_secrets SET deleted = ?, purge_at = ? WHERE vault = ? AND name_key = ?"
	qPurgeVersions     = "DELETE FROM kv_secret_versions WHERE vault = ? AND name_key = ?"
	qPurgeSecret       = "DELETE FROM kv_secrets WHERE vault = ? AND name_key = ?"
	qDeleteVaultVers   = "DELETE FROM kv_secret_versions WHERE vault = ?"
	qDeleteVaultSecs   = "DELETE FROM kv_secrets WHERE vault = ?"
)

func init() {
	allQueries = append(allQueries, qGetLatestSecret, qGetSecretVersion, qListLive, qListDeleted, qListVersions, qSecretState, qSecretVersionSeen,
		qInsertSecret, qSetLatestSecret, qInsertVersion, qUpdateVersion, qSetSecretDeleted, qPurgeVersions, qPurgeSecret,
		qDeleteVaultVers, qDeleteVaultSecs)
}

func scanSecret(sc interface{ Scan(...any) error }, vault string) (*store.Secret, error) {
	s := &store.Secret{Vault: vault}
	var value []byte
	var tags string
	var deleted, purgeAt, enabled, nbf, exp, created, updated int64
	if err := sc.Scan(&s.Name, &deleted, &purgeAt, &s.Version, &value, &s.ContentType, &tags, &enabled, &nbf, &exp, &created, &updated); err != nil {
		return nil, err
	}
	s.Value = string(value)
	if tags != "" {
		if err := json.Unmarshal([]byte(tags), &s.Tags); err != nil {
			return nil, fmt.Errorf("secret %s tags: %w", s.Name, err)
		}
	}
	s.Enabled = enabled != 0
	s.NotBefore, s.Expires = fromNanos(nbf), fromNanos(exp)
	s.Created, s.Updated = fromNanos(created), fromNanos(updated)
	s.Deleted, s.PurgeAt = fromNanos(deleted), fromNanos(purgeAt)
	return s, nil
}

func encodeTags(tags map[string]string) (string, error) {
	if len(tags) == 0 {
		return "", nil
	}
	b, err := json.Marshal(tags)
	return string(b), err
}

func optNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func (t *tx) GetSecret(ctx context.Context, vault, name, version string) (*store.Secret, error) {
	var row *sql.Row
	if version == "" {
		row = t.queryRow(ctx, qGetLatestSecret, vault, strings.ToLower(name))
	} else {
		row = t.queryRow(ctx, qGetSecretVersion, vault, strings.ToLower(name), strings.ToLower(version))
	}
	s, err := scanSecret(row, vault)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("secret %s/%s: %w", name, version, store.ErrNotFound)
	}
	return s, err
}

func (t *tx) AddSecretVersion(ctx context.Context, s *store.Secret) error {
	if s.Vault == "" || s.Name == "" || s.Version == "" {
		return fmt.Errorf("add secret version: vault, name and version are required")
	}
	key, version := strings.ToLower(s.Name), strings.ToLower(s.Version)
	tags, err := encodeTags(s.Tags)
	if err != nil {
		return err
	}
	var name string
	var deleted int64
	err = t.queryRow(ctx, qSecretState, s.Vault, key).Scan(&name, &deleted)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if exists && deleted != 0 {
		return fmt.Errorf("secret %s is deleted: %w", s.Name, store.ErrConflict)
	}
	if exists {
		var n int
		if err := t.queryRow(ctx, qSecretVersionSeen, s.Vault, key, version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("secret %s version %s: %w", s.Name, s.Version, store.ErrConflict)
		}
	}
	if _, err := t.exec(ctx, qInsertVersion, s.Vault, key, version, []byte(s.Value), s.ContentType, tags, boolInt(s.Enabled),
		optNanos(s.NotBefore), optNanos(s.Expires), optNanos(s.Created), optNanos(s.Updated)); err != nil {
		return fmt.Errorf("add secret version: %w", err)
	}
	if exists {
		s.Name = name
		_, err = t.exec(ctx, qSetLatestSecret, version, s.Vault, key)
	} else {
		_, err = t.exec(ctx, qInsertSecret, s.Vault, key, s.Name, version)
	}
	if err != nil {
		return fmt.Errorf("add secret version: %w", err)
	}
	s.Version = version
	s.Deleted, s.PurgeAt = time.Time{}, time.Time{}
	return nil
}

func (t *tx) UpdateSecretVersion(ctx context.Context, s *store.Secret) error {
	tags, err := encodeTags(s.Tags)
	if err != nil {
		return err
	}
	res, err := t.exec(ctx, qUpdateVersion, s.ContentType, tags, boolInt(s.Enabled), optNanos(s.NotBefore), optNanos(s.Expires), optNanos(s.Updated),
		s.Vault, strings.ToLower(s.Name), strings.ToLower(s.Version))
	if err != nil {
		return fmt.Errorf("update secret version: %w", err)
	}
	return affectedOne(res, "secret "+s.Name+"/"+s.Version)
}

func affectedOne(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

func (t *tx) listSecrets(ctx context.Context, vault, q string, limit int, args ...any) ([]*store.Secret, error) {
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Secret
	for rows.Next() {
		s, err := scanSecret(rows, vault)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (t *tx) ListSecrets(ctx context.Context, vault string, deleted bool, after string, limit int) ([]*store.Secret, error) {
	q := qListLive
	if deleted {
		q = qListDeleted
	}
	return t.listSecrets(ctx, vault, q, limit, vault, strings.ToLower(after))
}

func (t *tx) ListSecretVersions(ctx context.Context, vault, name, after string, limit int) ([]*store.Secret, error) {
	return t.listSecrets(ctx, vault, qListVersions, limit, vault, strings.ToLower(name), strings.ToLower(after))
}

func (t *tx) SetSecretDeleted(ctx context.Context, vault, name string, deleted, purgeAt time.Time) error {
	res, err := t.exec(ctx, qSetSecretDeleted, optNanos(deleted), optNanos(purgeAt), vault, strings.ToLower(name))
	if err != nil {
		return fmt.Errorf("set secret deleted: %w", err)
	}
	return affectedOne(res, "secret "+name)
}

func (t *tx) PurgeSecret(ctx context.Context, vault, name string) error {
	key := strings.ToLower(name)
	if _, err := t.exec(ctx, qPurgeVersions, vault, key); err != nil {
		return fmt.Errorf("purge secret: %w", err)
	}
	res, err := t.exec(ctx, qPurgeSecret, vault, key)
	if err != nil {
		return fmt.Errorf("purge secret: %w", err)
	}
	return affectedOne(res, "secret "+name)
}

func (t *tx) DeleteVaultSecrets(ctx context.Context, vault string) (int, error) {
	if _, err := t.exec(ctx, qDeleteVaultVers, vault); err != nil {
		return 0, fmt.Errorf("delete vault secrets: %w", err)
	}
	res, err := t.exec(ctx, qDeleteVaultSecs, vault)
	if err != nil {
		return 0, fmt.Errorf("delete vault secrets: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
