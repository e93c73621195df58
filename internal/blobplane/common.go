package blobplane

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/store"
)

// newETag returns a new ETag in Storage's form, "0x" and the hex of the
// time in .NET ticks (100 ns since year 1), unique in this process.
func (p *Plane) newETag(now time.Time) string {
	ticks := now.UnixNano()/100 + 621355968000000000
	for {
		last := p.etagSeq.Load()
		next := max(ticks, last+1)
		if p.etagSeq.CompareAndSwap(last, next) {
			return `"0x` + strings.ToUpper(strconv.FormatInt(next, 16)) + `"`
		}
	}
}

// conditions are a request's HTTP conditional headers.
type conditions struct {
	ifMatch, ifNoneMatch               string
	ifModifiedSince, ifUnmodifiedSince time.Time
}

func (rq *request) conditions() conditions {
	h := rq.r.Header
	c := conditions{ifMatch: h.Get("If-Match"), ifNoneMatch: h.Get("If-None-Match")}
	if v := h.Get("If-Modified-Since"); v != "" {
		c.ifModifiedSince, _ = http.ParseTime(v)
	}
	if v := h.Get("If-Unmodified-Since"); v != "" {
		c.ifUnmodifiedSince, _ = http.ParseTime(v)
	}
	return c
}

func (c conditions) none() bool {
	return c.ifMatch == "" && c.ifNoneMatch == "" && c.ifModifiedSince.IsZero() && c.ifUnmodifiedSince.IsZero()
}

// etagListHas reports whether a conditional header's list of ETags names
// etag (or is "*").
func etagListHas(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "W/"))
		if t == "*" || strings.Trim(t, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

// checkRead evaluates the conditions of a read of an existing resource:
// If-Match and If-Unmodified-Since fail with 412, If-None-Match and
// If-Modified-Since with 304.
func (c conditions) checkRead(etag string, modified time.Time) error {
	m := modified.Truncate(time.Second)
	if c.ifMatch != "" && !etagListHas(c.ifMatch, etag) ||
		!c.ifUnmodifiedSince.IsZero() && m.After(c.ifUnmodifiedSince) {
		return errConditionNotMet()
	}
	if c.ifNoneMatch != "" && etagListHas(c.ifNoneMatch, etag) ||
		!c.ifModifiedSince.IsZero() && !m.After(c.ifModifiedSince) {
		return &storageError{status: http.StatusNotModified, code: "ConditionNotMet", message: msgConditionNotMet}
	}
	return nil
}

// checkWrite evaluates the conditions of a write; exists says whether the
// target exists. If-None-Match: * on an existing blob is 409
// BlobAlreadyExists, every other failure 412.
func (c conditions) checkWrite(exists bool, etag string, modified time.Time) error {
	if !exists {
		if c.ifMatch != "" || !c.ifUnmodifiedSince.IsZero() {
			return errConditionNotMet()
		}
		return nil
	}
	if strings.TrimSpace(c.ifNoneMatch) == "*" {
		return newError(http.StatusConflict, "BlobAlreadyExists", msgBlobExists)
	}
	m := modified.Truncate(time.Second)
	if c.ifMatch != "" && !etagListHas(c.ifMatch, etag) ||
		c.ifNoneMatch != "" && etagListHas(c.ifNoneMatch, etag) ||
		!c.ifUnmodifiedSince.IsZero() && m.After(c.ifUnmodifiedSince) ||
		!c.ifModifiedSince.IsZero() && !m.After(c.ifModifiedSince) {
		return errConditionNotMet()
	}
	return nil
}

// maxMetadata is the most metadata (names and values) a resource holds.
const maxMetadata = 8 << 10

// metadata reads the request's x-ms-meta-* headers. Names must be C#
// identifiers. Go's HTTP server canonicalises header names, so a name
// comes back with its first letter (and each letter after a hyphen, which
// names cannot hold) in upper case and the rest in lower case.
func (rq *request) metadata() (map[string]string, error) {
	var m map[string]string
	size := 0
	for k, v := range rq.r.Header {
		if len(k) < len("x-ms-meta-") || !strings.EqualFold(k[:len("x-ms-meta-")], "x-ms-meta-") {
			continue
		}
		name := k[len("x-ms-meta-"):]
		if name == "" {
			return nil, newError(http.StatusBadRequest, "EmptyMetadataKey", "The key for one of the metadata key-value pairs is empty.")
		}
		if !identifier(name) {
			return nil, newError(http.StatusBadRequest, "InvalidMetadata", msgInvalidMetadata)
		}
		if m == nil {
			m = map[string]string{}
		}
		val := strings.Join(v, ",")
		m[name] = val
		size += len(name) + len(val)
	}
	if size > maxMetadata {
		return nil, newError(http.StatusBadRequest, "MetadataTooLarge", "The size of the specified metadata exceeds the maximum size permitted.")
	}
	return m, nil
}

func identifier(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// setMetadataHeaders writes x-ms-meta-* response headers.
func setMetadataHeaders(h http.Header, m map[string]string) {
	for k, v := range m {
		h["X-Ms-Meta-"+k] = []string{v}
	}
}

// view runs a read transaction.
func (p *Plane) view(ctx context.Context, fn func(tx store.Tx) error) error {
	return p.cfg.Store.View(ctx, fn)
}

// update runs a write transaction that also bumps the blob revision.
func (p *Plane) update(ctx context.Context, fn func(tx store.Tx) error) error {
	return p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return bumpRevision(ctx, tx)
	})
}

// getContainer reads a container, or returns ContainerNotFound.
func (rq *request) getContainer(tx store.Tx) (*store.BlobContainer, error) {
	c, err := tx.GetBlobContainer(rq.ctx, rq.acct.uid, rq.container)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errContainerNotFound()
	}
	return c, err
}

// created answers a write with its ETag and Last-Modified.
func (rq *request) answerWrite(status int, etag string, modified time.Time) {
	h := rq.w.Header()
	h["Etag"] = []string{etag}
	h["Last-Modified"] = []string{httpTime(modified)}
	h["Content-Length"] = []string{"0"}
	rq.writeHeader(status)
}
