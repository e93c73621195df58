package blobplane

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/mimic-emu/mimic/internal/store"
)

// Limits of block blobs (x-ms-version 2019-12-12 and later).
const (
	maxPutBlob  = 5000 << 20
	maxBlock    = 4000 << 20
	maxRangeMD5 = 4 << 20
)

func (rq *request) key() blobKey { return blobKey{rq.acct.uid, rq.container, rq.blob} }

// entry returns the blob's read path: cached, or read from the store and
// cached. A missing blob is BlobNotFound, or ContainerNotFound when its
// container is missing too.
func (rq *request) entry() (*blobEntry, error) {
	if rq.op.cached != nil {
		return rq.op.cached, nil
	}
	p := rq.p
	gen := p.blobs.gen.Load()
	var b *store.Blob
	err := p.view(rq.ctx, func(tx store.Tx) error {
		var err error
		b, err = tx.GetBlob(rq.ctx, rq.acct.uid, rq.container, rq.blob)
		if errors.Is(err, store.ErrNotFound) {
			if _, err := rq.getContainer(tx); err != nil {
				return err
			}
			return errBlobNotFound()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	e := p.newBlobEntry(rq.acct, b)
	p.blobs.put(rq.key(), e, gen)
	return e, nil
}

// retryRead runs a read of the blob's content again when the content file
// vanished under it (the blob was overwritten or deleted meanwhile).
func (rq *request) retryRead(fn func(e *blobEntry) error) error {
	for attempt := 0; ; attempt++ {
		e, err := rq.entry()
		if err != nil {
			return err
		}
		err = fn(e)
		if !errors.Is(err, fs.ErrNotExist) || rq.status != 0 || attempt == 3 {
			return err
		}
		rq.op.cached = nil
		rq.p.blobs.invalidate(rq.key())
	}
}

// getBlob is Get Blob, with Range or x-ms-range.
func getBlob(rq *request) error {
	return rq.retryRead(func(e *blobEntry) error { return rq.serveBlob(e, true) })
}

// getBlobProperties is Get Blob Properties (HEAD).
func getBlobProperties(rq *request) error {
	return rq.retryRead(func(e *blobEntry) error { return rq.serveBlob(e, false) })
}

// serveBlob answers a read of a blob's content (or, without body, its
// properties).
func (rq *request) serveBlob(e *blobEntry, content bool) error {
	b := e.b
	if h := rq.r.Header; len(h["If-Match"])+len(h["If-None-Match"])+len(h["If-Modified-Since"])+len(h["If-Unmodified-Since"]) > 0 {
		if err := rq.conditions().checkRead(b.ETag, b.Modified); err != nil {
			return err
		}
	}
	off, n := int64(0), b.Size
	status := http.StatusOK
	h := rq.w.Header()
	if content {
		rng, ranged, err := rq.requestRange()
		if err != nil {
			return err
		}
		if ranged {
			var ok bool
			if off, n, ok = rng.resolve(b.Size); !ok {
				h["Content-Range"] = []string{"bytes */" + strconv.FormatInt(b.Size, 10)}
				return newError(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", msgInvalidRange)
			}
			status = http.StatusPartialContent
		}
	}
	// Small blobs come from memory; the file is read once.
	var data []byte
	if content && rq.r.Method != http.MethodHead {
		var err error
		if data, err = e.small(rq.p.cfg.SmallBlob); err != nil {
			return err
		}
	}
	var f *os.File
	if content && data == nil && n > 0 && rq.r.Method != http.MethodHead {
		var err error
		if f, err = os.Open(e.path); err != nil {
			return err
		}
		defer f.Close()
	}

	for k, v := range e.header {
		h[k] = v
	}
	if !content {
		h["X-Ms-Access-Tier"] = []string{"Hot"}
		h["X-Ms-Access-Tier-Inferred"] = trueHeader
	}
	md5h := e.md5Header()
	if status == http.StatusPartialContent {
		h["Content-Range"] = []string{"bytes " + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(off+n-1, 10) + "/" + strconv.FormatInt(b.Size, 10)}
		h["Content-Length"] = []string{strconv.FormatInt(n, 10)}
		if strings.EqualFold(rq.r.Header.Get("x-ms-range-get-content-md5"), "true") {
			if n > maxRangeMD5 {
				return newError(http.StatusBadRequest, "OutOfRangeInput", "The requested range is larger than 4 MiB, the most Content-MD5 covers.")
			}
			sum, err := rangeMD5(data, f, off, n)
			if err != nil {
				return err
			}
			h["Content-Md5"] = []string{base64.StdEncoding.EncodeToString(sum)}
		}
		if md5h != "" {
			h["X-Ms-Blob-Content-Md5"] = []string{md5h}
		}
	} else {
		h["Content-Length"] = e.length
		if md5h != "" {
			h["Content-Md5"] = []string{md5h}
		}
	}
	rq.writeHeader(status)
	if !content || rq.r.Method == http.MethodHead || n == 0 {
		return nil
	}
	if data != nil {
		_, err := rq.w.Write(data[off : off+n])
		return ignoreClientGone(err)
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return ignoreClientGone(err)
	}
	bp := copyBuffers.Get().(*[]byte)
	_, err := io.CopyBuffer(rq.w, io.LimitReader(f, n), *bp)
	copyBuffers.Put(bp)
	return ignoreClientGone(err)
}

// ignoreClientGone drops errors from writing the body: the status is sent
// and the client, not the plane, gave up.
func ignoreClientGone(error) error { return nil }

// rangeMD5 hashes n bytes at off, from memory or the file.
func rangeMD5(data []byte, f *os.File, off, n int64) ([]byte, error) {
	h := md5.New()
	if data != nil {
		h.Write(data[off : off+n])
	} else if _, err := io.Copy(h, io.NewSectionReader(f, off, n)); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// getBlobMetadata is Get Blob Metadata.
func getBlobMetadata(rq *request) error {
	e, err := rq.entry()
	if err != nil {
		return err
	}
	h := rq.w.Header()
	h["Etag"] = []string{e.b.ETag}
	h["Last-Modified"] = []string{httpTime(e.b.Modified)}
	setMetadataHeaders(h, e.b.Metadata)
	h["Content-Length"] = []string{"0"}
	rq.writeHeader(http.StatusOK)
	return nil
}

// contentHeaders are a blob's content properties from a request:
// x-ms-blob-content-* (Put Blob also takes the standard headers).
type contentHeaders struct {
	typ, encoding, language, disposition, cacheControl string
	md5                                                []byte
	md5Set                                             bool
}

func (rq *request) contentHeaders(standard bool) (contentHeaders, error) {
	h := rq.r.Header
	pick := func(ms, std string) string {
		if v := h.Get(ms); v != "" || !standard {
			return v
		}
		return h.Get(std)
	}
	c := contentHeaders{
		typ:          pick("x-ms-blob-content-type", "Content-Type"),
		encoding:     pick("x-ms-blob-content-encoding", "Content-Encoding"),
		language:     pick("x-ms-blob-content-language", "Content-Language"),
		disposition:  pick("x-ms-blob-content-disposition", "Content-Disposition"),
		cacheControl: pick("x-ms-blob-cache-control", "Cache-Control"),
	}
	if v := h.Get("x-ms-blob-content-md5"); v != "" {
		sum, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(sum) != md5.Size {
			return c, errInvalidMD5("x-ms-blob-content-md5", v)
		}
		c.md5, c.md5Set = sum, true
	}
	return c, nil
}

func errInvalidMD5(header, v string) *storageError {
	return newError(http.StatusBadRequest, "InvalidMd5",
		"The MD5 value specified in the request is invalid. The MD5 value must be 128 bits and Base64-encoded.", "HeaderName", header, "HeaderValue", v)
}

// checkContentMD5 verifies the request's Content-MD5 against sum.
func (rq *request) checkContentMD5(sum []byte) error {
	v := rq.r.Header.Get("Content-MD5")
	if v == "" {
		return nil
	}
	want, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(want) != md5.Size {
		return errInvalidMD5("Content-MD5", v)
	}
	if !bytes.Equal(want, sum) {
		return newError(http.StatusBadRequest, "Md5Mismatch", msgMd5Mismatch,
			"UserSpecifiedMd5", v, "ServerCalculatedMd5", base64.StdEncoding.EncodeToString(sum))
	}
	return nil
}

// receiveBody streams the request body into the container's directory.
func (rq *request) receiveBody(containerDir string, limit int64) (*upload, error) {
	want := rq.r.ContentLength
	if want < 0 {
		return nil, newError(http.StatusLengthRequired, "MissingContentLengthHeader", msgMissingContentLength)
	}
	if want > limit {
		return nil, newError(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", msgRequestBodyTooLarge,
			"MaxLimit", strconv.FormatInt(limit, 10))
	}
	u, err := rq.p.receive(rq.acct, containerDir, rq.r.Body, limit, want)
	if errors.Is(err, errTooLarge) {
		return nil, newError(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", msgRequestBodyTooLarge)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, newError(http.StatusBadRequest, "InvalidInput", "One of the request inputs is not valid.")
	}
	return u, err
}

// lookupContainerDir reads the container's directory, and the blob if it
// exists, checking the request's conditions early so that a doomed upload
// is refused before its body is read.
func (rq *request) lookupContainerDir(cond conditions, createOnly bool) (string, error) {
	var dir string
	err := rq.p.view(rq.ctx, func(tx store.Tx) error {
		c, err := rq.getContainer(tx)
		if err != nil {
			return err
		}
		dir = c.Dir
		if cond.none() && !createOnly {
			return nil
		}
		return rq.checkExisting(tx, cond, createOnly, nil)
	})
	return dir, err
}

// checkExisting applies a write's conditions (and the create-only
// restriction of blobs/add/action) to the blob as stored; prev receives it.
func (rq *request) checkExisting(tx store.Tx, cond conditions, createOnly bool, prev **store.Blob) error {
	b, err := tx.GetBlob(rq.ctx, rq.acct.uid, rq.container, rq.blob)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	exists := err == nil
	if prev != nil {
		*prev = b
	}
	var etag string
	var b0 store.Blob
	if exists {
		etag, b0 = b.ETag, *b
	}
	if err := cond.checkWrite(exists, etag, b0.Modified); err != nil {
		return err
	}
	if createOnly && exists {
		// blobs/add/action creates blobs; overwriting needs blobs/write.
		return newError(http.StatusForbidden, "AuthorizationPermissionMismatch", msgPermissionMismatch)
	}
	return nil
}

// putBlob is Put Blob for block blobs.
func putBlob(rq *request) error {
	switch bt := rq.r.Header.Get("x-ms-blob-type"); bt {
	case "BlockBlob":
	case "":
		return newError(http.StatusBadRequest, "MissingRequiredHeader", msgMissingHeader, "HeaderName", "x-ms-blob-type")
	case "PageBlob", "AppendBlob":
		return errNotImplemented(bt + "s (mimic serves block blobs)")
	default:
		return errInvalidHeader("x-ms-blob-type", bt)
	}
	md, err := rq.metadata()
	if err != nil {
		return err
	}
	ch, err := rq.contentHeaders(true)
	if err != nil {
		return err
	}
	cond := rq.conditions()
	dir, err := rq.lookupContainerDir(cond, rq.createOnly)
	if err != nil {
		return err
	}
	u, err := rq.receiveBody(dir, maxPutBlob)
	if err != nil {
		return err
	}
	defer u.discard()
	if err := rq.checkContentMD5(u.md5); err != nil {
		return err
	}
	sum := u.md5
	if ch.md5Set {
		if !bytes.Equal(ch.md5, u.md5) {
			return newError(http.StatusBadRequest, "Md5Mismatch", msgMd5Mismatch,
				"UserSpecifiedMd5", base64.StdEncoding.EncodeToString(ch.md5), "ServerCalculatedMd5", base64.StdEncoding.EncodeToString(u.md5))
		}
	}
	rel, err := rq.p.place(rq.acct, dir, u)
	if err != nil {
		return err
	}
	now := rq.p.now().UTC()
	b := &store.Blob{Account: rq.acct.uid, Container: rq.container, Name: rq.blob, Size: u.size, ETag: rq.p.newETag(now),
		Created: now, Modified: now, ContentType: ch.typ, ContentEncoding: ch.encoding, ContentLanguage: ch.language,
		ContentDisposition: ch.disposition, CacheControl: ch.cacheControl, ContentMD5: sum, Metadata: md, File: rel}
	old, err := rq.commit(dir, cond, rq.createOnly, b)
	if err != nil {
		return err
	}
	u.path = "" // committed: keep the file
	rq.afterWrite(old, dir, true)
	h := rq.w.Header()
	h["Content-Md5"] = []string{base64.StdEncoding.EncodeToString(u.md5)}
	h["X-Ms-Request-Server-Encrypted"] = trueHeader
	rq.answerWrite(http.StatusCreated, b.ETag, b.Modified)
	return nil
}

// commit writes b in a transaction that re-checks the container (the
// same one the content was written into) and the conditions, and returns
// the content file b replaced.
func (rq *request) commit(dir string, cond conditions, createOnly bool, b *store.Blob) (string, error) {
	var old string
	err := rq.p.update(rq.ctx, func(tx store.Tx) error {
		old = ""
		c, err := rq.getContainer(tx)
		if err != nil {
			return err
		}
		if c.Dir != dir {
			return errContainerNotFound() // deleted and created again meanwhile
		}
		var prev *store.Blob
		if err := rq.checkExisting(tx, cond, createOnly, &prev); err != nil {
			return err
		}
		if prev != nil {
			old = prev.File
		}
		return tx.PutBlob(rq.ctx, b)
	})
	return old, err
}

// afterWrite runs after a committed write of the request's blob: the
// cached properties go, the replaced content file is removed, and with
// discardBlocks the blob's uncommitted blocks too.
func (rq *request) afterWrite(oldFile, dir string, discardBlocks bool) {
	rq.p.blobs.invalidate(rq.key())
	rq.acct.removeContent(oldFile)
	if discardBlocks {
		os.RemoveAll(rq.acct.stagingDir(dir, rq.blob))
	}
}

// deleteBlob is Delete Blob.
func deleteBlob(rq *request) error {
	cond := rq.conditions()
	var old, dir string
	err := rq.p.update(rq.ctx, func(tx store.Tx) error {
		c, b, err := rq.existingBlob(tx, cond)
		if err != nil {
			return err
		}
		dir, old = c.Dir, b.File
		return tx.DeleteBlob(rq.ctx, rq.acct.uid, rq.container, rq.blob)
	})
	if err != nil {
		return err
	}
	rq.afterWrite(old, dir, true)
	rq.w.Header()["Content-Length"] = []string{"0"}
	rq.writeHeader(http.StatusAccepted)
	return nil
}

// existingBlob reads the request's container and blob for a write to
// the blob, applying the write's conditions.
func (rq *request) existingBlob(tx store.Tx, cond conditions) (*store.BlobContainer, *store.Blob, error) {
	c, err := rq.getContainer(tx)
	if err != nil {
		return nil, nil, err
	}
	b, err := tx.GetBlob(rq.ctx, rq.acct.uid, rq.container, rq.blob)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errBlobNotFound()
	}
	if err != nil {
		return nil, nil, err
	}
	return c, b, cond.checkWrite(true, b.ETag, b.Modified)
}

// modifyBlob changes an existing blob's properties in a transaction.
func (rq *request) modifyBlob(change func(b *store.Blob)) (*store.Blob, error) {
	cond := rq.conditions()
	var b *store.Blob
	err := rq.p.update(rq.ctx, func(tx store.Tx) error {
		var err error
		if _, b, err = rq.existingBlob(tx, cond); err != nil {
			return err
		}
		change(b)
		now := rq.p.now().UTC()
		b.ETag, b.Modified = rq.p.newETag(now), now
		return tx.PutBlob(rq.ctx, b)
	})
	if err != nil {
		return nil, err
	}
	rq.p.blobs.invalidate(rq.key())
	return b, nil
}

// setBlobMetadata is Set Blob Metadata: the metadata is replaced.
func setBlobMetadata(rq *request) error {
	md, err := rq.metadata()
	if err != nil {
		return err
	}
	b, err := rq.modifyBlob(func(b *store.Blob) { b.Metadata = md })
	if err != nil {
		return err
	}
	rq.w.Header()["X-Ms-Request-Server-Encrypted"] = trueHeader
	rq.answerWrite(http.StatusOK, b.ETag, b.Modified)
	return nil
}

// setBlobProperties is Set Blob Properties: every content property is
// replaced by the request's (absent ones are cleared).
func setBlobProperties(rq *request) error {
	ch, err := rq.contentHeaders(false)
	if err != nil {
		return err
	}
	b, err := rq.modifyBlob(func(b *store.Blob) {
		b.ContentType, b.ContentEncoding, b.ContentLanguage = ch.typ, ch.encoding, ch.language
		b.ContentDisposition, b.CacheControl, b.ContentMD5 = ch.disposition, ch.cacheControl, ch.md5
	})
	if err != nil {
		return err
	}
	rq.answerWrite(http.StatusOK, b.ETag, b.Modified)
	return nil
}

// listBlobs is List Blobs: GET /{container}?restype=container&comp=list,
// with prefix, delimiter (BlobPrefix entries), maxresults and marker.
func listBlobs(rq *request) error {
	lp, err := rq.listParams()
	if err != nil {
		return err
	}
	from := ""
	if lp.marker != "" {
		var ok bool
		if from, ok = decodeMarker(lp.marker); !ok {
			return errInvalidQuery("marker", lp.marker, "")
		}
	}
	type item struct {
		b      *store.Blob
		prefix string
	}
	var items []item
	err = rq.p.view(rq.ctx, func(tx store.Tx) error {
		if _, err := rq.getContainer(tx); err != nil {
			return err
		}
		items = items[:0]
		cursor, skip := from, ""
		for len(items) <= lp.max {
			// One more row than the page needs for the next marker, and
			// one for the row the cursor repeats.
			limit := lp.max + 2 - len(items)
			batch, err := tx.ListBlobs(rq.ctx, rq.acct.uid, rq.container, store.BlobFilter{Prefix: lp.prefix, From: cursor, Limit: limit})
			if err != nil {
				return err
			}
			jumped := false
			for _, b := range batch {
				if b.Name == skip {
					continue
				}
				if lp.delimiter != "" {
					rest := b.Name[len(lp.prefix):]
					if i := strings.Index(rest, lp.delimiter); i >= 0 {
						pfx := lp.prefix + rest[:i+len(lp.delimiter)]
						items = append(items, item{prefix: pfx})
						// Continue after the prefix's other blobs.
						next := store.PrefixBound(pfx)
						if next == "" {
							return nil
						}
						cursor, skip, jumped = next, "", true
						break
					}
				}
				items = append(items, item{b: b})
				cursor, skip = b.Name, b.Name
				if len(items) > lp.max {
					break
				}
			}
			if !jumped && len(batch) < limit {
				break // no more blobs
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	next := ""
	if len(items) > lp.max {
		last := items[lp.max]
		name := last.prefix
		if last.b != nil {
			name = last.b.Name
		}
		next = encodeMarker(name)
		items = items[:lp.max]
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="https://`)
	b.WriteString(rq.acct.name + HostSuffix + `/" ContainerName="`)
	xmlEscape(&b, rq.container)
	b.WriteString(`">`)
	listHead(&b, rq, lp)
	b.WriteString("<Blobs>")
	for _, it := range items {
		if it.b == nil {
			b.WriteString("<BlobPrefix><Name>")
			xmlEscape(&b, it.prefix)
			b.WriteString("</Name></BlobPrefix>")
			continue
		}
		blobXML(&b, it.b, lp.metadata)
	}
	b.WriteString("</Blobs>")
	nextMarker(&b, next)
	b.WriteString("</EnumerationResults>")
	rq.writeXML(b.String())
	return nil
}

// blobXML writes a <Blob> of a listing.
func blobXML(b *strings.Builder, bl *store.Blob, metadata bool) {
	el := func(name, v string) {
		if v == "" {
			b.WriteString("<" + name + " />")
			return
		}
		b.WriteString("<" + name + ">")
		xmlEscape(b, v)
		b.WriteString("</" + name + ">")
	}
	b.WriteString("<Blob><Name>")
	xmlEscape(b, bl.Name)
	b.WriteString("</Name><Properties>")
	el("Creation-Time", httpTime(bl.Created))
	el("Last-Modified", httpTime(bl.Modified))
	el("Etag", strings.Trim(bl.ETag, `"`))
	el("Content-Length", strconv.FormatInt(bl.Size, 10))
	ct := bl.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	el("Content-Type", ct)
	el("Content-Encoding", bl.ContentEncoding)
	el("Content-Language", bl.ContentLanguage)
	el("Content-CRC64", "")
	md5 := ""
	if len(bl.ContentMD5) > 0 {
		md5 = base64.StdEncoding.EncodeToString(bl.ContentMD5)
	}
	el("Content-MD5", md5)
	el("Cache-Control", bl.CacheControl)
	el("Content-Disposition", bl.ContentDisposition)
	b.WriteString("<BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred>" +
		"<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted></Properties>")
	if metadata {
		metadataXML(b, bl.Metadata)
	}
	b.WriteString("<OrMetadata /></Blob>")
}

// Markers are opaque to clients; mimic's carry the name the next page
// starts at: "2!{length}!{base64 of the name}".
func encodeMarker(name string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(name))
	return "2!" + strconv.Itoa(len(enc)) + "!" + enc
}

func decodeMarker(m string) (string, bool) {
	rest, ok := strings.CutPrefix(m, "2!")
	if !ok {
		return "", false
	}
	n, enc, ok := strings.Cut(rest, "!")
	if !ok || n != strconv.Itoa(len(enc)) {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", false
	}
	return string(raw), true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
