package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mimic-emu/mimic/internal/store"
)

const (
	qCreateContainer = "INSERT INTO blob_containers (account, name, dir, metadata, etag, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?)"
	containerCols    = "SELECT account, name, dir, metadata, etag, created, modified FROM blob_containers"
	qGetContainer    = containerCols + " WHERE account = ? AND name = ?"
	qUpdateContainer = "UPDATE blob_containers SET metadata = ?, etag = ?, modified = ? WHERE account = ? AND name = ?"
	qDeleteContainer = "DELETE FROM blob_containers WHERE account = ? AND name = ?"
	qDeleteContBlobs = "DELETE FROM blobs WHERE account = ? AND container = ?"
	qContainerExists = "SELECT COUNT(*) FROM blob_containers WHERE account = ? AND name = ?"

	blobCols = "SELECT account, container, name, size, etag, created, modified, content_type, content_encoding, content_language, " +
		"content_disposition, cache_control, content_md5, metadata, blocks, file FROM blobs"
	qGetBlob    = blobCols + " WHERE account = ? AND container = ? AND name = ?"
	qInsertBlob = "INSERT INTO blobs (account, container, name, size, etag, created, modified, content_type, content_encoding, content_language, " +
		"content_disposition, cache_control, content_md5, metadata, blocks, file) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) " +
		"ON CONFLICT (account, container, name) DO UPDATE SET size = excluded.size, etag = excluded.etag, created = excluded.created, " +
		"modified = excluded.modified, content_type = excluded.content_type, content_encoding = excluded.content_encoding, " +
		"content_language = excluded.content_language, content_disposition = excluded.content_disposition, cache_control = excluded.cache_control, " +
		"content_md5 = excluded.content_md5, metadata = excluded.metadata, blocks = excluded.blocks, file = excluded.file"
	qDeleteBlob         = "DELETE FROM blobs WHERE account = ? AND container = ? AND name = ?"
	qBlobAccounts       = "SELECT DISTINCT account FROM blob_containers ORDER BY account"
	qDeleteAccountBlobs = "DELETE FROM blobs WHERE account = ?"
	qDeleteAccountConts = "DELETE FROM blob_containers WHERE account = ?"
)

func init() {
	allQueries = append(allQueries, qCreateContainer, qGetContainer, qUpdateContainer, qDeleteContainer, qDeleteContBlobs, qContainerExists,
		qGetBlob, qInsertBlob, qDeleteBlob, qBlobAccounts, qDeleteAccountBlobs, qDeleteAccountConts)
}

func encodeMetadata(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

func decodeMetadata(s string) (map[string]string, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode metadata: %w", err)
	}
	return m, nil
}

func (t *tx) CreateBlobContainer(ctx context.Context, c *store.BlobContainer) error {
	var n int
	err := t.queryRow(ctx, qContainerExists, c.Account, c.Name).Scan(&n)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("container %s: %w", c.Name, store.ErrConflict)
	}
	md, err := encodeMetadata(c.Metadata)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, qCreateContainer, c.Account, c.Name, c.Dir, md, c.ETag, nanos(c.Created), nanos(c.Modified))
	return err
}

func scanContainer(row interface{ Scan(...any) error }) (*store.BlobContainer, error) {
	var c store.BlobContainer
	var md string
	var created, modified int64
	if err := row.Scan(&c.Account, &c.Name, &c.Dir, &md, &c.ETag, &created, &modified); err != nil {
		return nil, err
	}
	var err error
	if c.Metadata, err = decodeMetadata(md); err != nil {
		return nil, err
	}
	c.Created, c.Modified = fromNanos(created), fromNanos(modified)
	return &c, nil
}

func (t *tx) GetBlobContainer(ctx context.Context, account, name string) (*store.BlobContainer, error) {
	c, err := scanContainer(t.queryRow(ctx, qGetContainer, account, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("container %s: %w", name, store.ErrNotFound)
	}
	return c, err
}

func (t *tx) UpdateBlobContainer(ctx context.Context, c *store.BlobContainer) error {
	md, err := encodeMetadata(c.Metadata)
	if err != nil {
		return err
	}
	res, err := t.exec(ctx, qUpdateContainer, md, c.ETag, nanos(c.Modified), c.Account, c.Name)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("container %s: %w", c.Name, store.ErrNotFound)
	}
	return nil
}

// nameRange turns a filter into SQL conditions on column col.
func nameRange(col string, f store.BlobFilter) (where []string, args []any) {
	from := f.From
	if f.Prefix > from {
		from = f.Prefix
	}
	if from != "" {
		where, args = append(where, col+" >= ?"), append(args, from)
	}
	if f.Prefix != "" {
		if bound := store.PrefixBound(f.Prefix); bound != "" {
			where, args = append(where, col+" < ?"), append(args, bound)
		}
	}
	return where, args
}

func (t *tx) ListBlobContainers(ctx context.Context, account string, f store.BlobFilter) ([]*store.BlobContainer, error) {
	where, args := nameRange("name", f)
	q := containerCols + " WHERE " + strings.Join(append([]string{"account = ?"}, where...), " AND ") + " ORDER BY name"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := t.query(ctx, q, append([]any{account}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.BlobContainer
	for rows.Next() {
		c, err := scanContainer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (t *tx) DeleteBlobContainer(ctx context.Context, account, name string) error {
	if _, err := t.exec(ctx, qDeleteContBlobs, account, name); err != nil {
		return err
	}
	res, err := t.exec(ctx, qDeleteContainer, account, name)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("container %s: %w", name, store.ErrNotFound)
	}
	return nil
}

func (t *tx) PutBlob(ctx context.Context, b *store.Blob) error {
	var n int
	if err := t.queryRow(ctx, qContainerExists, b.Account, b.Container).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("container %s: %w", b.Container, store.ErrNotFound)
	}
	md, err := encodeMetadata(b.Metadata)
	if err != nil {
		return err
	}
	blocks := "[]"
	if len(b.Blocks) > 0 {
		raw, err := json.Marshal(b.Blocks)
		if err != nil {
			return err
		}
		blocks = string(raw)
	}
	var md5 []byte
	if len(b.ContentMD5) > 0 {
		md5 = b.ContentMD5
	}
	_, err = t.exec(ctx, qInsertBlob, b.Account, b.Container, b.Name, b.Size, b.ETag, nanos(b.Created), nanos(b.Modified),
		b.ContentType, b.ContentEncoding, b.ContentLanguage, b.ContentDisposition, b.CacheControl, md5, md, blocks, b.File)
	return err
}

func scanBlob(row interface{ Scan(...any) error }) (*store.Blob, error) {
	var b store.Blob
	var created, modified int64
	var md, blocks string
	var md5 []byte
	if err := row.Scan(&b.Account, &b.Container, &b.Name, &b.Size, &b.ETag, &created, &modified, &b.ContentType, &b.ContentEncoding,
		&b.ContentLanguage, &b.ContentDisposition, &b.CacheControl, &md5, &md, &blocks, &b.File); err != nil {
		return nil, err
	}
	var err error
	if b.Metadata, err = decodeMetadata(md); err != nil {
		return nil, err
	}
	if blocks != "" && blocks != "[]" {
		if err := json.Unmarshal([]byte(blocks), &b.Blocks); err != nil {
			return nil, fmt.Errorf("decode block list: %w", err)
		}
	}
	if len(md5) > 0 {
		b.ContentMD5 = md5
	}
	b.Created, b.Modified = fromNanos(created), fromNanos(modified)
	return &b, nil
}

func (t *tx) GetBlob(ctx context.Context, account, container, name string) (*store.Blob, error) {
	b, err := scanBlob(t.queryRow(ctx, qGetBlob, account, container, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("blob %s/%s: %w", container, name, store.ErrNotFound)
	}
	return b, err
}

func (t *tx) ListBlobs(ctx context.Context, account, container string, f store.BlobFilter) ([]*store.Blob, error) {
	where, args := nameRange("name", f)
	q := blobCols + " WHERE " + strings.Join(append([]string{"account = ?", "container = ?"}, where...), " AND ") + " ORDER BY name"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := t.query(ctx, q, append([]any{account, container}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Blob
	for rows.Next() {
		b, err := scanBlob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func (t *tx) DeleteBlob(ctx context.Context, account, container, name string) error {
	res, err := t.exec(ctx, qDeleteBlob, account, container, name)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("blob %s/%s: %w", container, name, store.ErrNotFound)
	}
	return nil
}

func (t *tx) ListBlobAccounts(ctx context.Context) ([]string, error) {
	rows, err := t.query(ctx, qBlobAccounts)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (t *tx) DeleteBlobAccount(ctx context.Context, account string) (int, error) {
	if _, err := t.exec(ctx, qDeleteAccountBlobs, account); err != nil {
		return 0, err
	}
	res, err := t.exec(ctx, qDeleteAccountConts, account)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
