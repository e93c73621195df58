package blobplane

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/store"
)

// Block limits of block blobs.
const (
	maxBlockIDBytes = 64
	maxBlocks       = 50000
	maxBlockListXML = 8 << 20
)

// decodeBlockID decodes a base64 block id of at most 64 bytes.
func decodeBlockID(id string) ([]byte, bool) {
	raw, err := base64.StdEncoding.DecodeString(id)
	if err != nil || len(raw) == 0 || len(raw) > maxBlockIDBytes {
		return nil, false
	}
	return raw, true
}

func errMissingQuery(name string) *storageError {
	return newError(http.StatusBadRequest, "MissingRequiredQueryParameter",
		"A query parameter that's mandatory for this request is not specified.", "QueryParameterName", name)
}

// putBlock is Put Block: the block is kept, uncommitted, until a Put
// Block List commits it or a Put Blob or Delete Blob discards it.
func putBlock(rq *request) error {
	if !rq.has("blockid") {
		return errMissingQuery("blockid")
	}
	id := rq.q("blockid")
	raw, ok := decodeBlockID(id)
	if !ok {
		return newError(http.StatusBadRequest, "InvalidQueryParameterValue", msgInvalidQueryValue,
			"QueryParameterName", "blockid", "QueryParameterValue", id, "Reason", "Not a valid base64 string of at most 64 bytes.")
	}
	dir, err := rq.lookupContainerDir(conditions{}, false)
	if err != nil {
		return err
	}
	u, err := rq.receiveBody(dir, maxBlock)
	if err != nil {
		return err
	}
	defer u.discard()
	if err := rq.checkContentMD5(u.md5); err != nil {
		return err
	}
	staging := rq.acct.stagingDir(dir, rq.blob)
	if err := os.MkdirAll(staging, 0o700); err != nil {
		return err
	}
	if err := os.Rename(u.path, filepath.Join(staging, hex.EncodeToString(raw))); err != nil {
		return err
	}
	u.path = ""
	h := rq.w.Header()
	h["Content-Md5"] = []string{base64.StdEncoding.EncodeToString(u.md5)}
	h["X-Ms-Request-Server-Encrypted"] = trueHeader
	h["Content-Length"] = []string{"0"}
	rq.writeHeader(http.StatusCreated)
	return nil
}

// blockRef is one entry of a Put Block List body.
type blockRef struct {
	kind string // Committed, Uncommitted or Latest
	raw  []byte
}

// parseBlockList parses <BlockList><Latest>id</Latest>…</BlockList>,
// keeping the entries' order.
func parseBlockList(body []byte) ([]blockRef, error) {
	bad := newError(http.StatusBadRequest, "InvalidXmlDocument", msgInvalidXML)
	dec := xml.NewDecoder(bytes.NewReader(body))
	var refs []blockRef
	depth := 0
	var kind string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, bad
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1 && t.Name.Local == "BlockList":
			case depth == 2 && (t.Name.Local == "Committed" || t.Name.Local == "Uncommitted" || t.Name.Local == "Latest"):
				kind = t.Name.Local
				text.Reset()
			default:
				return nil, bad
			}
		case xml.CharData:
			if depth == 2 {
				text.Write(t)
			}
		case xml.EndElement:
			if depth == 2 {
				raw, ok := decodeBlockID(strings.TrimSpace(text.String()))
				if !ok {
					return nil, newError(http.StatusBadRequest, "InvalidBlockList", msgInvalidBlockList)
				}
				refs = append(refs, blockRef{kind: kind, raw: raw})
				if len(refs) > maxBlocks {
					return nil, newError(http.StatusBadRequest, "BlockCountExceedsLimit",
						"The committed block count cannot exceed the maximum limit of 50,000 blocks.")
				}
			}
			depth--
		}
	}
	if depth != 0 {
		return nil, bad
	}
	return refs, nil
}

// blockSource is where a block's bytes come from: an uncommitted block's
// file, or a range of the blob's current content.
type blockSource struct {
	path      string
	off, size int64
}

// errStale: the blob changed between reading its block list and
// committing the new one.
var errStale = errors.New("blob changed during Put Block List")

// putBlockList is Put Block List: the blob becomes the listed blocks, in
// order, taken from the uncommitted blocks (Uncommitted), the committed
// ones (Committed), or the uncommitted if there is one of that id, else
// the committed (Latest). Uncommitted blocks not listed are discarded.
func putBlockList(rq *request) error {
	body, err := io.ReadAll(io.LimitReader(rq.r.Body, maxBlockListXML+1))
	if err != nil {
		return err
	}
	if len(body) > maxBlockListXML {
		return newError(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", msgRequestBodyTooLarge)
	}
	refs, err := parseBlockList(body)
	if err != nil {
		return err
	}
	md, err := rq.metadata()
	if err != nil {
		return err
	}
	ch, err := rq.contentHeaders(false)
	if err != nil {
		return err
	}
	cond := rq.conditions()
	for attempt := 0; ; attempt++ {
		b, old, dir, err := rq.commitBlockList(refs, md, ch, cond)
		if errors.Is(err, errStale) && attempt < 5 {
			continue
		}
		if err != nil {
			return err
		}
		rq.afterWrite(old, dir, true)
		sum := md5.Sum(body)
		h := rq.w.Header()
		h["Content-Md5"] = []string{base64.StdEncoding.EncodeToString(sum[:])}
		h["X-Ms-Request-Server-Encrypted"] = trueHeader
		rq.answerWrite(http.StatusCreated, b.ETag, b.Modified)
		return nil
	}
}

// commitBlockList assembles the blocks into a new content file and
// commits it; it returns the blob, the content file it replaced and the
// container's directory.
func (rq *request) commitBlockList(refs []blockRef, md map[string]string, ch contentHeaders, cond conditions) (*store.Blob, string, string, error) {
	var dir string
	var cur *store.Blob
	err := rq.p.view(rq.ctx, func(tx store.Tx) error {
		c, err := rq.getContainer(tx)
		if err != nil {
			return err
		}
		dir = c.Dir
		return rq.checkExisting(tx, cond, false, &cur)
	})
	if err != nil {
		return nil, "", "", err
	}
	staging := rq.acct.stagingDir(dir, rq.blob)
	committed := map[string]blockSource{}
	if cur != nil {
		curPath := filepath.Join(rq.acct.dir, filepath.FromSlash(cur.File))
		off := int64(0)
		for _, blk := range cur.Blocks {
			if _, dup := committed[blk.ID]; !dup {
				committed[blk.ID] = blockSource{path: curPath, off: off, size: blk.Size}
			}
			off += blk.Size
		}
	}
	invalid := newError(http.StatusBadRequest, "InvalidBlockList", msgInvalidBlockList)
	sources := make([]blockSource, len(refs))
	blocks := make([]store.BlobBlock, len(refs))
	var size int64
	for i, ref := range refs {
		id := base64.StdEncoding.EncodeToString(ref.raw)
		var src blockSource
		found := false
		if ref.kind != "Committed" {
			path := filepath.Join(staging, hex.EncodeToString(ref.raw))
			if fi, err := os.Stat(path); err == nil {
				src, found = blockSource{path: path, size: fi.Size()}, true
			}
		}
		if !found && ref.kind != "Uncommitted" {
			src, found = committed[id]
		}
		if !found {
			return nil, "", "", invalid
		}
		sources[i], blocks[i] = src, store.BlobBlock{ID: id, Size: src.size}
		size += src.size
	}
	if size > maxBlocks*int64(maxBlock) {
		return nil, "", "", newError(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", msgRequestBodyTooLarge)
	}
	u, err := rq.p.assemble(rq.acct, dir, sources)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, "", "", errStale // a block went away meanwhile
		}
		return nil, "", "", err
	}
	defer u.discard()
	rel, err := rq.p.place(rq.acct, dir, u)
	if err != nil {
		return nil, "", "", err
	}
	now := rq.p.now().UTC()
	b := &store.Blob{Account: rq.acct.uid, Container: rq.container, Name: rq.blob, Size: size, ETag: rq.p.newETag(now),
		Created: now, Modified: now, ContentType: ch.typ, ContentEncoding: ch.encoding, ContentLanguage: ch.language,
		ContentDisposition: ch.disposition, CacheControl: ch.cacheControl, ContentMD5: ch.md5, Metadata: md, Blocks: blocks, File: rel}
	var old string
	err = rq.p.update(rq.ctx, func(tx store.Tx) error {
		old = ""
		c, err := rq.getContainer(tx)
		if err != nil {
			return err
		}
		if c.Dir != dir {
			return errContainerNotFound()
		}
		var prev *store.Blob
		if err := rq.checkExisting(tx, cond, false, &prev); err != nil {
			return err
		}
		if (prev == nil) != (cur == nil) || prev != nil && prev.ETag != cur.ETag {
			return errStale
		}
		if prev != nil {
			old, b.Created = prev.File, prev.Created
		}
		return tx.PutBlob(rq.ctx, b)
	})
	if err != nil {
		return nil, "", "", err
	}
	u.path = ""
	return b, old, dir, nil
}

// assemble concatenates sources into a new temporary file.
func (p *Plane) assemble(a *account, containerDir string, sources []blockSource) (*upload, error) {
	f, err := p.createTemp(a, containerDir, "list-*")
	if err != nil {
		return nil, err
	}
	u := &upload{path: f.Name()}
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	open := map[string]*os.File{}
	defer func() {
		for _, of := range open {
			of.Close()
		}
	}()
	for _, s := range sources {
		src := open[s.path]
		if src == nil {
			if src, err = os.Open(s.path); err != nil {
				break
			}
			open[s.path] = src
		}
		var n int64
		if n, err = io.CopyBuffer(f, io.NewSectionReader(src, s.off, s.size), *bp); err != nil {
			break
		}
		if n != s.size {
			err = io.ErrUnexpectedEOF
			break
		}
		u.size += n
	}
	if err := p.finishTemp(f, err); err != nil {
		return nil, err
	}
	return u, nil
}

// getBlockList is Get Block List: blocklisttype committed (the default),
// uncommitted or all.
func getBlockList(rq *request) error {
	kind := strings.ToLower(rq.q("blocklisttype"))
	if kind == "" {
		kind = "committed"
	}
	if kind != "committed" && kind != "uncommitted" && kind != "all" {
		return errInvalidQuery("blocklisttype", rq.q("blocklisttype"), "")
	}
	var dir string
	var b *store.Blob
	err := rq.p.view(rq.ctx, func(tx store.Tx) error {
		c, err := rq.getContainer(tx)
		if err != nil {
			return err
		}
		dir = c.Dir
		b, err = tx.GetBlob(rq.ctx, rq.acct.uid, rq.container, rq.blob)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	type staged struct {
		id   string
		size int64
		at   time.Time
	}
	var uncommitted []staged
	if entries, err := os.ReadDir(rq.acct.stagingDir(dir, rq.blob)); err == nil {
		for _, e := range entries {
			raw, err := hex.DecodeString(e.Name())
			fi, ierr := e.Info()
			if err != nil || ierr != nil {
				continue
			}
			uncommitted = append(uncommitted, staged{base64.StdEncoding.EncodeToString(raw), fi.Size(), fi.ModTime()})
		}
	}
	if b == nil && len(uncommitted) == 0 {
		return errBlobNotFound()
	}
	slices.SortStableFunc(uncommitted, func(x, y staged) int { return x.at.Compare(y.at) })
	var x strings.Builder
	x.WriteString(`<?xml version="1.0" encoding="utf-8"?><BlockList>`)
	if kind != "uncommitted" {
		x.WriteString("<CommittedBlocks>")
		if b != nil {
			for _, blk := range b.Blocks {
				x.WriteString("<Block><Name>" + blk.ID + "</Name><Size>" + strconv.FormatInt(blk.Size, 10) + "</Size></Block>")
			}
		}
		x.WriteString("</CommittedBlocks>")
	}
	if kind != "committed" {
		x.WriteString("<UncommittedBlocks>")
		for _, s := range uncommitted {
			x.WriteString("<Block><Name>" + s.id + "</Name><Size>" + strconv.FormatInt(s.size, 10) + "</Size></Block>")
		}
		x.WriteString("</UncommittedBlocks>")
	}
	x.WriteString("</BlockList>")
	h := rq.w.Header()
	if b != nil {
		h["Etag"] = []string{b.ETag}
		h["Last-Modified"] = []string{httpTime(b.Modified)}
		h["X-Ms-Blob-Content-Length"] = []string{strconv.FormatInt(b.Size, 10)}
	}
	rq.writeXML(x.String())
	return nil
}
