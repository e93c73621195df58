package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/store"
)

// The queries, in "?" form. Every query used must be listed in allQueries
// so that it is prepared once at Open.
const (
	qGetResource    = "SELECT id, type, body, version, created, updated FROM resources WHERE rkey = ?"
	qInsertResource = "INSERT INTO resources (rkey, id, type, type_key, parent, name_key, body, version, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	qUpdateResource = "UPDATE resources SET id = ?, type = ?, type_key = ?, parent = ?, name_key = ?, body = ?, version = ?, updated = ? WHERE rkey = ?"
	qDeleteResource = "DELETE FROM resources WHERE rkey = ?"
	qListTree       = "SELECT id, type, body, version, created, updated FROM resources WHERE rkey = ? OR (rkey > ? AND rkey < ?) ORDER BY rkey"
	qDeleteTree     = "DELETE FROM resources WHERE rkey = ? OR (rkey > ? AND rkey < ?)"

	qCreatePrincipal     = "INSERT INTO principals (object_id, client_id, kind, display_name, resource_id, resource_key, secret_hash, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
	principalCols        = "SELECT object_id, client_id, kind, display_name, resource_id, secret_hash, created FROM principals "
	qGetPrincipal        = principalCols + "WHERE object_id = ?"
	qPrincipalByClient   = principalCols + "WHERE client_id = ?"
	qPrincipalByResource = principalCols + "WHERE resource_key = ? ORDER BY object_id LIMIT 1"
	qListPrincipals      = principalCols + "ORDER BY object_id"
	qDeletePrincipal     = "DELETE FROM principals WHERE object_id = ?"
	qPrincipalTaken      = "SELECT COUNT(*) FROM principals WHERE object_id = ? OR client_id = ?"

	qGetMeta   = "SELECT value FROM meta WHERE mkey = ?"
	qSetMeta   = "INSERT INTO meta (mkey, value) VALUES (?, ?) ON CONFLICT (mkey) DO UPDATE SET value = excluded.value"
	qBump      = "INSERT INTO revisions (topic, rev) VALUES (?, 1) ON CONFLICT (topic) DO UPDATE SET rev = revisions.rev + 1 RETURNING rev"
	qRevision  = "SELECT rev FROM revisions WHERE topic = ?"
	qPutKey    = "INSERT INTO signing_keys (id, pem, created, retired) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET pem = excluded.pem, created = excluded.created, retired = excluded.retired"
	qListKeys  = "SELECT id, pem, created, retired FROM signing_keys ORDER BY created, id"
	qDeleteKey = "DELETE FROM signing_keys WHERE id = ?"
)

var allQueries = []string{
	qGetResource, qInsertResource, qUpdateResource, qDeleteResource, qListTree, qDeleteTree,
	qCreatePrincipal, qGetPrincipal, qPrincipalByClient, qPrincipalByResource, qListPrincipals, qDeletePrincipal, qPrincipalTaken,
	qGetMeta, qSetMeta, qBump, qRevision, qPutKey, qListKeys, qDeleteKey,
}

type tx struct {
	s  *Store
	tx *sql.Tx
	// stmts are the prepared queries of the transaction's database.
	stmts map[string]*sql.Stmt
}

// q is a query not among the prepared ones, rebound for the dialect.
func (t *tx) q(query string) string { return rebind(t.s.dialect, query) }

func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st, ok := t.stmts[query]; ok {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, t.q(query), args...)
}

func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st, ok := t.stmts[query]; ok {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, t.q(query), args...)
}

func (t *tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := t.stmts[query]; ok {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, t.q(query), args...)
}

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// resourceKeys derives the indexed columns from a resource id.
func resourceKeys(id string) (key, parent string, err error) {
	parsed, err := resourceid.Parse(id)
	if err != nil {
		return "", "", err
	}
	if parsed.IsRoot() {
		return "", "", fmt.Errorf("the tenant root is not a resource")
	}
	return parsed.Key(), parsed.Parent().Key(), nil
}

// nameKey is the indexed, lower-case last segment of a canonical key.
func nameKey(key string) string { return key[strings.LastIndexByte(key, '/')+1:] }

// treeBounds returns the range of keys strictly below key.
func treeBounds(key string) (lo, hi string) {
	if key == "/" {
		return "/", "0"
	}
	return key + "/", key + "0" // '0' is the byte after '/'
}

func scanResource(sc interface{ Scan(...any) error }) (*store.Resource, error) {
	var r store.Resource
	var body string
	var created, updated int64
	if err := sc.Scan(&r.ID, &r.Type, &body, &r.Version, &created, &updated); err != nil {
		return nil, err
	}
	r.Body = []byte(body)
	r.Created, r.Updated = fromNanos(created), fromNanos(updated)
	return &r, nil
}

func (t *tx) GetResource(ctx context.Context, id string) (*store.Resource, error) {
	key, _, err := resourceKeys(id)
	if err != nil {
		return nil, fmt.Errorf("get resource: %w", err)
	}
	r, err := scanResource(t.queryRow(ctx, qGetResource, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("resource %s: %w", id, store.ErrNotFound)
	}
	return r, err
}

func (t *tx) CreateResource(ctx context.Context, r *store.Resource) error {
	if _, err := t.GetResource(ctx, r.ID); err == nil {
		return fmt.Errorf("resource %s: %w", r.ID, store.ErrConflict)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return t.insert(ctx, r)
}

func (t *tx) insert(ctx context.Context, r *store.Resource) error {
	key, parent, err := resourceKeys(r.ID)
	if err != nil {
		return fmt.Errorf("put resource: %w", err)
	}
	now := time.Now().UTC()
	r.Version, r.Created, r.Updated = 1, now, now
	_, err = t.exec(ctx, qInsertResource, key, r.ID, r.Type, strings.ToLower(r.Type), parent, nameKey(key), string(r.Body), r.Version, nanos(now), nanos(now))
	return err
}

func (t *tx) PutResource(ctx context.Context, r *store.Resource) error {
	old, err := t.GetResource(ctx, r.ID)
	if errors.Is(err, store.ErrNotFound) {
		if r.Version != 0 {
			return fmt.Errorf("resource %s: expected version %d, found none: %w", r.ID, r.Version, store.ErrConflict)
		}
		return t.insert(ctx, r)
	}
	if err != nil {
		return err
	}
	if r.Version != 0 && r.Version != old.Version {
		return fmt.Errorf("resource %s: expected version %d, found %d: %w", r.ID, r.Version, old.Version, store.ErrConflict)
	}
	key, parent, err := resourceKeys(r.ID)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	r.Version, r.Created, r.Updated = old.Version+1, old.Created, now
	_, err = t.exec(ctx, qUpdateResource, r.ID, r.Type, strings.ToLower(r.Type), parent, nameKey(key), string(r.Body), r.Version, nanos(now), key)
	return err
}

func (t *tx) DeleteResource(ctx context.Context, id string) error {
	key, _, err := resourceKeys(id)
	if err != nil {
		return fmt.Errorf("delete resource: %w", err)
	}
	res, err := t.exec(ctx, qDeleteResource, key)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("resource %s: %w", id, store.ErrNotFound)
	}
	return nil
}

func (t *tx) DeleteTree(ctx context.Context, id string) ([]*store.Resource, error) {
	key, _, err := resourceKeys(id)
	if err != nil {
		return nil, fmt.Errorf("delete tree: %w", err)
	}
	lo, hi := treeBounds(key)
	rows, err := t.query(ctx, qListTree, key, lo, hi)
	if err != nil {
		return nil, err
	}
	out, err := collectResources(rows)
	if err != nil {
		return nil, err
	}
	if _, err := t.exec(ctx, qDeleteTree, key, lo, hi); err != nil {
		return nil, err
	}
	return out, nil
}

func collectResources(rows *sql.Rows) ([]*store.Resource, error) {
	defer rows.Close()
	var out []*store.Resource
	for rows.Next() {
		r, err := scanResource(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (t *tx) ListResources(ctx context.Context, f store.ResourceFilter) ([]*store.Resource, error) {
	var where []string
	var args []any
	if f.Type != "" {
		where = append(where, "type_key = ?")
		args = append(args, strings.ToLower(f.Type))
	}
	if f.Scope != "" {
		scope, err := resourceid.Parse(f.Scope)
		if err != nil {
			return nil, fmt.Errorf("list resources: %w", err)
		}
		lo, hi := treeBounds(scope.Key())
		where = append(where, "rkey > ? AND rkey < ?")
		args = append(args, lo, hi)
	}
	if f.Parent != "" {
		parent, err := resourceid.Parse(f.Parent)
		if err != nil {
			return nil, fmt.Errorf("list resources: %w", err)
		}
		where = append(where, "parent = ?")
		args = append(args, parent.Key())
	}
	if f.Name != "" {
		where = append(where, "name_key = ?")
		args = append(args, strings.ToLower(f.Name))
	}
	if f.After != "" {
		after, err := resourceid.Parse(f.After)
		if err != nil {
			return nil, fmt.Errorf("list resources: %w", err)
		}
		where = append(where, "rkey > ?")
		args = append(args, after.Key())
	}
	q := "SELECT id, type, body, version, created, updated FROM resources"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY rkey"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collectResources(rows)
}

func (t *tx) CreatePrincipal(ctx context.Context, p *store.Principal) error {
	if p.ObjectID == "" || p.ClientID == "" {
		return fmt.Errorf("create principal: object id and client id are required")
	}
	var n int
	if err := t.queryRow(ctx, qPrincipalTaken, strings.ToLower(p.ObjectID), strings.ToLower(p.ClientID)).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("principal %s (client %s): %w", p.ObjectID, p.ClientID, store.ErrConflict)
	}
	if p.Created.IsZero() {
		p.Created = time.Now().UTC()
	}
	resourceKey := ""
	if p.ResourceID != "" {
		id, err := resourceid.Parse(p.ResourceID)
		if err != nil {
			return fmt.Errorf("create principal: %w", err)
		}
		resourceKey = id.Key()
	}
	_, err := t.exec(ctx, qCreatePrincipal, strings.ToLower(p.ObjectID), strings.ToLower(p.ClientID), string(p.Kind),
		p.DisplayName, p.ResourceID, resourceKey, p.SecretHash, nanos(p.Created))
	return err
}

func scanPrincipal(sc interface{ Scan(...any) error }) (*store.Principal, error) {
	var p store.Principal
	var kind string
	var created int64
	if err := sc.Scan(&p.ObjectID, &p.ClientID, &kind, &p.DisplayName, &p.ResourceID, &p.SecretHash, &created); err != nil {
		return nil, err
	}
	p.Kind = store.PrincipalKind(kind)
	p.Created = fromNanos(created)
	return &p, nil
}

func (t *tx) principal(ctx context.Context, query, arg, what string) (*store.Principal, error) {
	p, err := scanPrincipal(t.queryRow(ctx, query, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("principal with %s %s: %w", what, arg, store.ErrNotFound)
	}
	return p, err
}

func (t *tx) GetPrincipal(ctx context.Context, objectID string) (*store.Principal, error) {
	return t.principal(ctx, qGetPrincipal, strings.ToLower(objectID), "object id")
}

func (t *tx) PrincipalByClientID(ctx context.Context, clientID string) (*store.Principal, error) {
	return t.principal(ctx, qPrincipalByClient, strings.ToLower(clientID), "client id")
}

func (t *tx) PrincipalByResource(ctx context.Context, resourceID string) (*store.Principal, error) {
	id, err := resourceid.Parse(resourceID)
	if err != nil {
		return nil, fmt.Errorf("principal by resource: %w", err)
	}
	return t.principal(ctx, qPrincipalByResource, id.Key(), "resource")
}

func (t *tx) DeletePrincipal(ctx context.Context, objectID string) error {
	res, err := t.exec(ctx, qDeletePrincipal, strings.ToLower(objectID))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("principal %s: %w", objectID, store.ErrNotFound)
	}
	return nil
}

func (t *tx) ListPrincipals(ctx context.Context) ([]*store.Principal, error) {
	rows, err := t.query(ctx, qListPrincipals)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Principal
	for rows.Next() {
		p, err := scanPrincipal(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (t *tx) GetMeta(ctx context.Context, key string) (string, error) {
	var v string
	err := t.queryRow(ctx, qGetMeta, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("meta %s: %w", key, store.ErrNotFound)
	}
	return v, err
}

func (t *tx) SetMeta(ctx context.Context, key, value string) error {
	_, err := t.exec(ctx, qSetMeta, key, value)
	return err
}

func (t *tx) Bump(ctx context.Context, topic string) (int64, error) {
	var rev int64
	err := t.queryRow(ctx, qBump, topic).Scan(&rev)
	return rev, err
}

func (t *tx) PutSigningKey(ctx context.Context, k *store.SigningKey) error {
	retired := int64(0)
	if !k.Retired.IsZero() {
		retired = nanos(k.Retired)
	}
	_, err := t.exec(ctx, qPutKey, k.ID, string(k.PEM), nanos(k.Created), retired)
	return err
}

func (t *tx) ListSigningKeys(ctx context.Context) ([]*store.SigningKey, error) {
	rows, err := t.query(ctx, qListKeys)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.SigningKey
	for rows.Next() {
		var k store.SigningKey
		var pem string
		var created, retired int64
		if err := rows.Scan(&k.ID, &pem, &created, &retired); err != nil {
			return nil, err
		}
		k.PEM, k.Created, k.Retired = []byte(pem), fromNanos(created), fromNanos(retired)
		out = append(out, &k)
	}
	return out, rows.Err()
}

func (t *tx) DeleteSigningKey(ctx context.Context, id string) error {
	res, err := t.exec(ctx, qDeleteKey, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("signing key %s: %w", id, store.ErrNotFound)
	}
	return nil
}
