package blobplane

import (
	"encoding/base64"
	"hash/maphash"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/mimic-emu/mimic/internal/store"
)

// blobKey names a blob: the account's uid, the container and the blob.
type blobKey struct {
	account, container, blob string
}

// blobEntry is a blob's properties as the read path needs them: the
// stored record, the response headers precomputed, the RBAC scope and
// condition attributes, and for small blobs the content once read.
// Entries are immutable but for the content, loaded once.
type blobEntry struct {
	b      *store.Blob
	acct   *account
	path   string // content file
	scope  string
	attrs  map[string]string
	header map[string][]string // headers every read of the blob answers with
	length []string            // Content-Length of the whole blob

	once    sync.Once
	content []byte // small blobs' content, after once
	loadErr error
}

const cacheShards = 16

// blobCache caches blob properties between writes. A write bumps gen and
// removes its blob's entry under the shard's lock; a read that started
// before the write (gen changed meanwhile) does not insert what it read.
type blobCache struct {
	seed   maphash.Seed
	gen    atomic.Int64
	shards [cacheShards]struct {
		mu sync.RWMutex
		m  map[blobKey]*blobEntry
		_  [40]byte
	}
}

// maxEntries bounds each shard; a full shard is emptied.
const maxEntries = 8192

func (c *blobCache) init() {
	c.seed = maphash.MakeSeed()
	for i := range c.shards {
		c.shards[i].m = map[blobKey]*blobEntry{}
	}
}

func (c *blobCache) shard(k blobKey) int {
	return int(maphash.String(c.seed, k.blob) % cacheShards)
}

func (c *blobCache) get(k blobKey) *blobEntry {
	s := &c.shards[c.shard(k)]
	s.mu.RLock()
	e := s.m[k]
	s.mu.RUnlock()
	return e
}

// put caches e if no write happened since gen was read.
func (c *blobCache) put(k blobKey, e *blobEntry, gen int64) {
	s := &c.shards[c.shard(k)]
	s.mu.Lock()
	if c.gen.Load() == gen {
		if len(s.m) >= maxEntries {
			s.m = map[blobKey]*blobEntry{}
		}
		s.m[k] = e
	}
	s.mu.Unlock()
}

// invalidate drops a blob's entry after a write committed.
func (c *blobCache) invalidate(k blobKey) {
	s := &c.shards[c.shard(k)]
	s.mu.Lock()
	c.gen.Add(1)
	delete(s.m, k)
	s.mu.Unlock()
}

// clear drops every entry.
func (c *blobCache) clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		c.gen.Add(1)
		s.m = map[blobKey]*blobEntry{}
		s.mu.Unlock()
	}
}

// newBlobEntry precomputes a blob's read path.
func (p *Plane) newBlobEntry(a *account, b *store.Blob) *blobEntry {
	e := &blobEntry{
		b:      b,
		acct:   a,
		path:   filepath.Join(a.dir, filepath.FromSlash(b.File)),
		scope:  a.containerScope(b.Container),
		attrs:  blobAttrs(b.Container, b.Name),
		length: []string{strconv.FormatInt(b.Size, 10)},
	}
	h := map[string][]string{
		"Etag":                  {b.ETag},
		"Last-Modified":         {httpTime(b.Modified)},
		"X-Ms-Creation-Time":    {httpTime(b.Created)},
		"X-Ms-Blob-Type":        {"BlockBlob"},
		"X-Ms-Lease-Status":     {"unlocked"},
		"X-Ms-Lease-State":      {"available"},
		"X-Ms-Server-Encrypted": trueHeader,
		"Accept-Ranges":         {"bytes"},
	}
	ct := b.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h["Content-Type"] = []string{ct}
	for k, v := range map[string]string{"Content-Encoding": b.ContentEncoding, "Content-Language": b.ContentLanguage,
		"Content-Disposition": b.ContentDisposition, "Cache-Control": b.CacheControl} {
		if v != "" {
			h[k] = []string{v}
		}
	}
	for k, v := range b.Metadata {
		h["X-Ms-Meta-"+k] = []string{v}
	}
	e.header = h
	return e
}

// md5Header is the blob's Content-MD5, base64, or "".
func (e *blobEntry) md5Header() string {
	if len(e.b.ContentMD5) == 0 {
		return ""
	}
	return base64.StdEncoding.EncodeToString(e.b.ContentMD5)
}

// small returns the content of a blob small enough to keep in memory,
// reading it once; nil for larger blobs.
func (e *blobEntry) small(limit int64) ([]byte, error) {
	if e.b.Size > limit {
		return nil, nil
	}
	e.once.Do(func() {
		data, err := os.ReadFile(e.path)
		if err == nil && int64(len(data)) != e.b.Size {
			err = errContentSize(e.path, len(data), e.b.Size)
		}
		e.content, e.loadErr = data, err
	})
	return e.content, e.loadErr
}
