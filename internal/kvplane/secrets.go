package kvplane

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/store"
)

// Limits.
const (
	// maxValue is Key Vault's limit on a secret value: 25 KB.
	maxValue = 25 * 1024
	// maxBody bounds request bodies.
	maxBody = 256 << 10
	// pageSize is Key Vault's default and largest maxresults.
	pageSize = 25
)

func (c *call) ctx() context.Context { return c.r.Context() }

func (c *call) now() time.Time { return c.p.Now().UTC() }

func (c *call) fail(e *kvError) int {
	writeError(c.w, e)
	return e.status
}

// failStore answers a store failure, or the Key Vault error it carries.
func (c *call) failStore(err error) int {
	var ke *kvError
	if errors.As(err, &ke) {
		return c.fail(ke)
	}
	slog.Error("key vault: store", "vault", c.v.name, "op", c.rt.op.name, "err", err)
	return c.fail(errInternal)
}

func (c *call) ok(status int, j *jbuf) int {
	writeBody(c.w, status, j.b)
	putBuf(j)
	return status
}

// gone reports whether a deleted secret is past its scheduled purge date,
// and so, as in Azure, purged.
func gone(s *store.Secret, now time.Time) bool {
	return !s.Deleted.IsZero() && !s.PurgeAt.IsZero() && !now.Before(s.PurgeAt)
}

// newVersion returns a version id: 32 hex digits, the first 16 the
// creation time in nanoseconds, so that versions sort by creation.
func newVersion(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	rand.Read(b[8:])
	return hex.EncodeToString(b[:])
}

// ---- rendering ----

type shape uint8

const (
	withValue   shape = 1 << iota // the bundle carries the value
	withVersion                   // the id names the version
	asDeleted                     // recoveryId, deletedDate, scheduledPurgeDate
	asItem                        // a list item: tags only when set
)

func (c *call) secretID(j *jbuf, s *store.Secret, version bool) {
	j.b = append(j.b, `"https://`...)
	j.b = append(j.b, c.v.host...)
	j.b = append(j.b, "/secrets/"...)
	j.b = append(j.b, s.Name...) // names are letters, digits and hyphens
	if version {
		j.byte('/')
		j.b = append(j.b, s.Version...)
	}
	j.byte('"')
}

// appendSecret writes a secret bundle, deleted bundle or list item.
func (c *call) appendSecret(j *jbuf, s *store.Secret, sh shape) {
	j.byte('{')
	first := true
	if sh&withValue != 0 {
		j.key("value", true)
		j.str(s.Value)
		first = false
	}
	j.key("id", first)
	c.secretID(j, s, sh&withVersion != 0)
	if s.ContentType != "" {
		j.key("contentType", false)
		j.str(s.ContentType)
	}
	j.raw(`,"attributes":{"enabled":`)
	if s.Enabled {
		j.raw("true")
	} else {
		j.raw("false")
	}
	if !s.NotBefore.IsZero() {
		j.raw(`,"nbf":`)
		j.int(s.NotBefore.Unix())
	}
	if !s.Expires.IsZero() {
		j.raw(`,"exp":`)
		j.int(s.Expires.Unix())
	}
	j.raw(`,"created":`)
	j.int(s.Created.Unix())
	j.raw(`,"updated":`)
	j.int(s.Updated.Unix())
	j.raw(`,"recoveryLevel":`)
	j.str(c.v.recoveryLevel)
	if c.v.softDelete {
		j.raw(`,"recoverableDays":`)
		j.int(c.v.retentionDays)
	}
	j.byte('}')
	if len(s.Tags) > 0 || sh&asItem == 0 {
		j.raw(`,"tags":{`)
		keys := make([]string, 0, len(s.Tags))
		for k := range s.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			j.key(k, i == 0)
			j.str(s.Tags[k])
		}
		j.byte('}')
	}
	if sh&asDeleted != 0 {
		if !s.Deleted.IsZero() {
			j.raw(`,"recoveryId":"https://`)
			j.raw(c.v.host)
			j.raw("/deletedsecrets/")
			j.raw(s.Name)
			j.raw(`","deletedDate":`)
			j.int(s.Deleted.Unix())
			j.raw(`,"scheduledPurgeDate":`)
			j.int(s.PurgeAt.Unix())
		}
	}
	j.byte('}')
}

// reply writes one secret.
func (c *call) reply(s *store.Secret, sh shape) int {
	j := getBuf()
	c.appendSecret(j, s, sh|withVersion)
	return c.ok(http.StatusOK, j)
}

// ---- reading ----

// view runs fn in a read transaction.
func (c *call) view(fn func(tx store.Tx) error) error { return c.p.store.View(c.ctx(), fn) }

// write runs fn in a write transaction, then answers with reply.
func (c *call) write(fn func(tx store.Tx) error, reply func() int) int {
	if err := c.p.store.Update(c.ctx(), fn); err != nil {
		return c.failStore(err)
	}
	return reply()
}

// live reads a version (the latest for "") of the request's secret, which
// must exist and not be deleted: otherwise SecretNotFound.
func (c *call) live(tx store.Tx, version string) (*store.Secret, error) {
	if version != "" && !validVersion(version) {
		return nil, errSecretNotFound(c.rt.name + "/" + version)
	}
	s, err := tx.GetSecret(c.ctx(), c.v.key, c.rt.name, version)
	if errors.Is(err, store.ErrNotFound) || err == nil && !s.Deleted.IsZero() {
		id := c.rt.name
		if version != "" {
			id += "/" + version
		}
		return nil, errSecretNotFound(id)
	}
	return s, err
}

// deleted reads the request's secret, which must be in the deleted state
// (and not past its purge date): otherwise "Deleted Secret not found".
func (c *call) deleted(tx store.Tx, now time.Time) (*store.Secret, error) {
	s, err := tx.GetSecret(c.ctx(), c.v.key, c.rt.name, "")
	if errors.Is(err, store.ErrNotFound) || err == nil && (s.Deleted.IsZero() || gone(s, now)) {
		return nil, errDeletedNotFound()
	}
	return s, err
}

// current reads the secret a name names, for a write that creates
// versions: nil if there is none, after purging one whose purge date
// has passed.
func (c *call) current(tx store.Tx, name string, now time.Time) (*store.Secret, error) {
	s, err := tx.GetSecret(c.ctx(), c.v.key, name, "")
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case gone(s, now):
		return nil, tx.PurgeSecret(c.ctx(), c.v.key, name)
	}
	return s, nil
}

func (c *call) get() int {
	var s *store.Secret
	err := c.view(func(tx store.Tx) error {
		var err error
		s, err = c.live(tx, c.rt.version)
		return err
	})
	if err != nil {
		return c.failStore(err)
	}
	if !s.Enabled {
		return c.fail(errDisabled())
	}
	return c.reply(s, withValue)
}

func (c *call) getDeleted() int {
	var s *store.Secret
	err := c.view(func(tx store.Tx) error {
		var err error
		s, err = c.deleted(tx, c.now())
		return err
	})
	if err != nil {
		return c.failStore(err)
	}
	return c.reply(s, asDeleted)
}

// page reads maxresults and $skiptoken.
func (c *call) page() (limit int, after string, e *kvError) {
	limit = pageSize
	if c.q.hasMax {
		n, err := strconv.Atoi(c.q.maxResults)
		if err != nil || n < 1 || n > pageSize {
			return 0, "", errBadParameter("The value '%s' is not valid for maxresults: it must be an integer from 1 to %d.", c.q.maxResults, pageSize)
		}
		limit = n
	}
	if c.q.skipToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(c.q.skipToken)
		if err != nil || len(b) == 0 {
			return 0, "", errBadParameter("The $skiptoken '%s' is not valid.", c.q.skipToken)
		}
		after = string(b)
	}
	return limit, after, nil
}

// listing describes a paged listing.
type listing struct {
	// path is the listing's path, for nextLink.
	path  string
	shape shape
	// fetch reads up to limit items after a position.
	fetch func(tx store.Tx, after string, limit int) ([]*store.Secret, error)
	// position is an item's position, which $skiptoken carries.
	position func(s *store.Secret) string
	// keep filters a page, or is nil.
	keep func(page []*store.Secret) []*store.Secret
}

// paged answers a listing: a page of maxresults items and, when more
// follow, a nextLink with the api-version and a $skiptoken.
func (c *call) paged(l listing) int {
	limit, after, e := c.page()
	if e != nil {
		return c.fail(e)
	}
	var items []*store.Secret
	err := c.view(func(tx store.Tx) error {
		var err error
		items, err = l.fetch(tx, after, limit+1)
		return err
	})
	if err != nil {
		return c.failStore(err)
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		next = "https://" + c.v.host + l.path + "?api-version=" + url.QueryEscape(c.q.apiVersion) +
			"&$skiptoken=" + base64.RawURLEncoding.EncodeToString([]byte(l.position(items[limit-1]))) + "&maxresults=" + strconv.Itoa(limit)
	}
	if l.keep != nil {
		items = l.keep(items)
	}
	j := getBuf()
	j.raw(`{"value":[`)
	for i, s := range items {
		if i > 0 {
			j.byte(',')
		}
		c.appendSecret(j, s, l.shape|asItem)
	}
	j.raw(`],"nextLink":`)
	if next == "" {
		j.raw("null")
	} else {
		j.str(next)
	}
	j.byte('}')
	return c.ok(http.StatusOK, j)
}

func byName(s *store.Secret) string { return strings.ToLower(s.Name) }

func (c *call) list(deleted bool) int {
	l := listing{path: "/secrets", position: byName,
		fetch: func(tx store.Tx, after string, limit int) ([]*store.Secret, error) {
			return tx.ListSecrets(c.ctx(), c.v.key, deleted, after, limit)
		}}
	if deleted {
		now := c.now()
		l.path, l.shape = "/deletedsecrets", asDeleted
		l.keep = func(page []*store.Secret) []*store.Secret {
			return slices.DeleteFunc(page, func(s *store.Secret) bool { return gone(s, now) })
		}
	}
	return c.paged(l)
}

func (c *call) listVersions() int {
	return c.paged(listing{path: "/secrets/" + c.rt.name + "/versions", shape: withVersion,
		fetch: func(tx store.Tx, after string, limit int) ([]*store.Secret, error) {
			return tx.ListSecretVersions(c.ctx(), c.v.key, c.rt.name, after, limit)
		},
		position: func(s *store.Secret) string { return s.Version },
		keep: func(page []*store.Secret) []*store.Secret {
			if len(page) > 0 && !page[0].Deleted.IsZero() {
				return nil // a deleted secret's versions are not listed
			}
			return page
		}})
}

// ---- writing ----

// attributesBody is the attributes object of a set or update.
type attributesBody struct {
	Enabled   *bool  `json:"enabled"`
	NotBefore *int64 `json:"nbf"`
	Expires   *int64 `json:"exp"`
}

// secretBody is the body of a set or update.
type secretBody struct {
	Value       *string            `json:"value"`
	ContentType *string            `json:"contentType"`
	Tags        *map[string]string `json:"tags"`
	Attributes  *attributesBody    `json:"attributes"`
}

func (c *call) readBody() ([]byte, *kvError) {
	b, err := io.ReadAll(io.LimitReader(c.r.Body, maxBody+1))
	if err != nil {
		return nil, errBadParameter("The request body could not be read: %v", err)
	}
	if len(b) > maxBody {
		return nil, errBadParameter("The request body exceeds %d bytes.", maxBody)
	}
	return b, nil
}

func (c *call) decodeBody() (*secretBody, *kvError) {
	b, e := c.readBody()
	if e != nil {
		return nil, e
	}
	var body secretBody
	if len(strings.TrimSpace(string(b))) == 0 {
		return &body, nil
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return nil, errBadParameter("The request body is not valid: %v", err)
	}
	return &body, nil
}

// apply sets the attributes, content type and tags a body carries.
func (b *secretBody) apply(s *store.Secret) {
	if b.ContentType != nil {
		s.ContentType = *b.ContentType
	}
	if b.Tags != nil {
		s.Tags = *b.Tags
		if len(s.Tags) == 0 {
			s.Tags = nil
		}
	}
	if a := b.Attributes; a != nil {
		if a.Enabled != nil {
			s.Enabled = *a.Enabled
		}
		if a.NotBefore != nil {
			s.NotBefore = time.Unix(*a.NotBefore, 0).UTC()
		}
		if a.Expires != nil {
			s.Expires = time.Unix(*a.Expires, 0).UTC()
		}
	}
}

func (c *call) set() int {
	body, e := c.decodeBody()
	if e != nil {
		return c.fail(e)
	}
	if body.Value == nil {
		return c.fail(errBadParameter("The property 'value' is required: the secret's value."))
	}
	if len(*body.Value) > maxValue {
		return c.fail(errBadParameter("The secret value is %d bytes; Key Vault takes at most %d.", len(*body.Value), maxValue))
	}
	now := c.now()
	at := now.Truncate(time.Second)
	s := &store.Secret{Vault: c.v.key, Version: newVersion(now), Value: *body.Value, Enabled: true, Created: at, Updated: at}
	body.apply(s)
	return c.write(func(tx store.Tx) error {
		cur, err := c.current(tx, c.rt.name, now)
		if err != nil {
			return err
		}
		if cur != nil && !cur.Deleted.IsZero() {
			return errDeletedConflict(cur.Name)
		}
		s.Name = c.rt.name
		return tx.AddSecretVersion(c.ctx(), s)
	}, func() int { return c.reply(s, withValue) })
}

func (c *call) update() int {
	body, e := c.decodeBody()
	if e != nil {
		return c.fail(e)
	}
	var s *store.Secret
	return c.write(func(tx store.Tx) error {
		var err error
		if s, err = c.live(tx, c.rt.version); err != nil {
			return err
		}
		body.apply(s)
		s.Updated = c.now().Truncate(time.Second)
		return tx.UpdateSecretVersion(c.ctx(), s)
	}, func() int { return c.reply(s, 0) })
}

func (c *call) delete() int {
	now := c.now()
	var s *store.Secret
	return c.write(func(tx store.Tx) error {
		var err error
		if s, err = c.live(tx, ""); err != nil {
			return err
		}
		if !c.v.softDelete {
			return tx.PurgeSecret(c.ctx(), c.v.key, c.rt.name)
		}
		s.Deleted = now.Truncate(time.Second)
		s.PurgeAt = s.Deleted.Add(time.Duration(c.v.retentionDays) * 24 * time.Hour)
		return tx.SetSecretDeleted(c.ctx(), c.v.key, c.rt.name, s.Deleted, s.PurgeAt)
	}, func() int { return c.reply(s, asDeleted) })
}

func (c *call) recover() int {
	now := c.now()
	var s *store.Secret
	return c.write(func(tx store.Tx) error {
		var err error
		if s, err = c.deleted(tx, now); err != nil {
			return err
		}
		s.Deleted, s.PurgeAt = time.Time{}, time.Time{}
		return tx.SetSecretDeleted(c.ctx(), c.v.key, c.rt.name, time.Time{}, time.Time{})
	}, func() int { return c.reply(s, 0) })
}

func (c *call) purge() int {
	if !c.v.purgeable() {
		return c.fail(errPurgeProtected(c.v))
	}
	now := c.now()
	return c.write(func(tx store.Tx) error {
		if _, err := c.deleted(tx, now); err != nil {
			return err
		}
		return tx.PurgeSecret(c.ctx(), c.v.key, c.rt.name)
	}, func() int {
		c.w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	})
}

// ---- backup and restore ----

// backupFormat names mimic's backup blobs. They are not Azure's (which are
// encrypted and bound to the geography); they hold the versions in clear.
const backupFormat = "mimic-keyvault-secret-backup/1"

type backupBlob struct {
	Format   string          `json:"format"`
	Name     string          `json:"name"`
	Versions []backupVersion `json:"versions"`
}

type backupVersion struct {
	Version     string            `json:"version"`
	Value       string            `json:"value"`
	ContentType string            `json:"contentType,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Enabled     bool              `json:"enabled"`
	NotBefore   int64             `json:"nbf,omitempty"`
	Expires     int64             `json:"exp,omitempty"`
	Created     int64             `json:"created"`
	Updated     int64             `json:"updated"`
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func timeOrZero(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

func (c *call) backup() int {
	var list []*store.Secret
	err := c.view(func(tx store.Tx) error {
		var err error
		list, err = tx.ListSecretVersions(c.ctx(), c.v.key, c.rt.name, "", 0)
		return err
	})
	if err != nil {
		return c.failStore(err)
	}
	if len(list) == 0 || !list[0].Deleted.IsZero() {
		return c.fail(errSecretNotFound(c.rt.name))
	}
	blob := backupBlob{Format: backupFormat, Name: list[0].Name}
	for _, s := range list {
		blob.Versions = append(blob.Versions, backupVersion{Version: s.Version, Value: s.Value, ContentType: s.ContentType, Tags: s.Tags,
			Enabled: s.Enabled, NotBefore: unixOrZero(s.NotBefore), Expires: unixOrZero(s.Expires), Created: s.Created.Unix(), Updated: s.Updated.Unix()})
	}
	raw, err := json.Marshal(blob)
	if err != nil {
		return c.failStore(err)
	}
	j := getBuf()
	j.raw(`{"value":`)
	j.str(base64.RawURLEncoding.EncodeToString(raw))
	j.byte('}')
	return c.ok(http.StatusOK, j)
}

func (c *call) restore() int {
	b, e := c.readBody()
	if e != nil {
		return c.fail(e)
	}
	var req struct {
		Value string `json:"value"`
	}
	var blob backupBlob
	bad := errBadParameter("The backup blob is invalid or corrupt: restore takes the value a backup of this mimic returned.")
	if err := json.Unmarshal(b, &req); err != nil || req.Value == "" {
		return c.fail(bad)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(req.Value, "="))
	if err != nil || json.Unmarshal(raw, &blob) != nil || blob.Format != backupFormat || !validName(blob.Name) || len(blob.Versions) == 0 {
		return c.fail(bad)
	}
	sort.Slice(blob.Versions, func(i, k int) bool {
		return strings.ToLower(blob.Versions[i].Version) < strings.ToLower(blob.Versions[k].Version)
	})
	for _, bv := range blob.Versions {
		if !validVersion(bv.Version) || len(bv.Value) > maxValue {
			return c.fail(bad)
		}
	}
	now := c.now()
	var last *store.Secret
	return c.write(func(tx store.Tx) error {
		cur, err := c.current(tx, blob.Name, now)
		if err != nil {
			return err
		}
		if cur != nil {
			return newError(http.StatusConflict, "Conflict", "",
				"Secret %s already exists in this vault, live or in the deleted state; a backup can only be restored under a name that is free.", cur.Name)
		}
		for _, bv := range blob.Versions {
			last = &store.Secret{Vault: c.v.key, Name: blob.Name, Version: bv.Version, Value: bv.Value, ContentType: bv.ContentType, Tags: bv.Tags,
				Enabled: bv.Enabled, NotBefore: timeOrZero(bv.NotBefore), Expires: timeOrZero(bv.Expires),
				Created: time.Unix(bv.Created, 0).UTC(), Updated: time.Unix(bv.Updated, 0).UTC()}
			if err := tx.AddSecretVersion(c.ctx(), last); err != nil {
				return err
			}
		}
		return nil
	}, func() int { return c.reply(last, 0) })
}
