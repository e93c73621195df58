package blobplane

import (
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/mimic-emu/mimic/internal/store"
)

// createContainer is Create Container: PUT /{container}?restype=container.
func createContainer(rq *request) error {
	if v := rq.r.Header.Get("x-ms-blob-public-access"); v != "" {
		// mimic has no anonymous access, so no container is public.
		return newError(http.StatusConflict, "PublicAccessNotPermitted", msgPublicAccessNotAllowed)
	}
	md, err := rq.metadata()
	if err != nil {
		return err
	}
	now := rq.p.now().UTC()
	c := &store.BlobContainer{Account: rq.acct.uid, Name: rq.container, Dir: "c-" + randomHex(12), Metadata: md,
		ETag: rq.p.newETag(now), Created: now, Modified: now}
	err = rq.p.update(rq.ctx, func(tx store.Tx) error { return tx.CreateBlobContainer(rq.ctx, c) })
	if errors.Is(err, store.ErrConflict) {
		return newError(http.StatusConflict, "ContainerAlreadyExists", msgContainerExists)
	}
	if err != nil {
		return err
	}
	rq.answerWrite(http.StatusCreated, c.ETag, c.Modified)
	return nil
}

// deleteContainer is Delete Container. Azure deletes a container in the
// background and refuses its name for a while (ContainerBeingDeleted);
// mimic deletes it at once.
func deleteContainer(rq *request) error {
	cond := rq.conditions()
	if cond.ifMatch != "" || cond.ifNoneMatch != "" {
		return newError(http.StatusBadRequest, "UnsupportedHeader", "One of the HTTP headers specified in the request is not supported.")
	}
	var dir string
	err := rq.p.update(rq.ctx, func(tx store.Tx) error {
		c, err := rq.getContainer(tx)
		if err != nil {
			return err
		}
		if !cond.ifModifiedSince.IsZero() || !cond.ifUnmodifiedSince.IsZero() {
			if err := cond.checkWrite(true, c.ETag, c.Modified); err != nil {
				return err
			}
		}
		dir = c.Dir
		return tx.DeleteBlobContainer(rq.ctx, rq.acct.uid, rq.container)
	})
	if err != nil {
		return err
	}
	rq.p.blobs.clear()
	go os.RemoveAll(rq.acct.containerDir(dir))
	rq.w.Header()["Content-Length"] = []string{"0"}
	rq.writeHeader(http.StatusAccepted)
	return nil
}

// containerHeaders are Get Container Properties' headers.
func containerHeaders(h http.Header, c *store.BlobContainer) {
	h["Etag"] = []string{c.ETag}
	h["Last-Modified"] = []string{httpTime(c.Modified)}
	h["X-Ms-Lease-Status"] = []string{"unlocked"}
	h["X-Ms-Lease-State"] = []string{"available"}
	h["X-Ms-Has-Immutability-Policy"] = []string{"false"}
	h["X-Ms-Has-Legal-Hold"] = []string{"false"}
	h["X-Ms-Default-Encryption-Scope"] = []string{"$account-encryption-key"}
	h["X-Ms-Deny-Encryption-Scope-Override"] = []string{"false"}
	h["X-Ms-Immutable-Storage-With-Versioning-Enabled"] = []string{"false"}
	setMetadataHeaders(h, c.Metadata)
}

// getContainerProperties is Get Container Properties and Get Container
// Metadata (GET or HEAD).
func getContainerProperties(rq *request) error {
	var c *store.BlobContainer
	err := rq.p.view(rq.ctx, func(tx store.Tx) error {
		var err error
		c, err = rq.getContainer(tx)
		return err
	})
	if err != nil {
		return err
	}
	h := rq.w.Header()
	containerHeaders(h, c)
	h["Content-Length"] = []string{"0"}
	rq.writeHeader(http.StatusOK)
	return nil
}

// setContainerMetadata is Set Container Metadata.
func setContainerMetadata(rq *request) error {
	md, err := rq.metadata()
	if err != nil {
		return err
	}
	cond := rq.conditions()
	var c *store.BlobContainer
	err = rq.p.update(rq.ctx, func(tx store.Tx) error {
		c, err = rq.getContainer(tx)
		if err != nil {
			return err
		}
		if !cond.ifModifiedSince.IsZero() {
			if err := cond.checkWrite(true, c.ETag, c.Modified); err != nil {
				return err
			}
		}
		now := rq.p.now().UTC()
		c.Metadata, c.ETag, c.Modified = md, rq.p.newETag(now), now
		return tx.UpdateBlobContainer(rq.ctx, c)
	})
	if err != nil {
		return err
	}
	rq.answerWrite(http.StatusOK, c.ETag, c.Modified)
	return nil
}

// listParams are the paging parameters of the list operations.
type listParams struct {
	prefix, marker, delimiter string
	max                       int
	metadata                  bool
}

// maxResults is Storage's page size bound and default.
const maxResults = 5000

func (rq *request) listParams() (listParams, error) {
	lp := listParams{prefix: rq.q("prefix"), marker: rq.q("marker"), delimiter: rq.q("delimiter"), max: maxResults}
	if v := rq.q("maxresults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			e := newError(http.StatusBadRequest, "OutOfRangeQueryParameterValue",
				"One of the query parameters specified in the request URI is outside the permissible range.",
				"QueryParameterName", "maxresults", "QueryParameterValue", v, "MinimumAllowed", "1", "MaximumAllowed", "5000")
			return lp, e
		}
		lp.max = min(n, maxResults)
	}
	for _, inc := range strings.Split(rq.q("include"), ",") {
		if strings.EqualFold(strings.TrimSpace(inc), "metadata") {
			lp.metadata = true
		}
	}
	return lp, nil
}

// listContainers is List Containers: GET /?comp=list.
func listContainers(rq *request) error {
	lp, err := rq.listParams()
	if err != nil {
		return err
	}
	from := strings.TrimPrefix(lp.marker, "/"+rq.acct.name+"/")
	var cs []*store.BlobContainer
	err = rq.p.view(rq.ctx, func(tx store.Tx) error {
		cs, err = tx.ListBlobContainers(rq.ctx, rq.acct.uid, store.BlobFilter{Prefix: lp.prefix, From: from, Limit: lp.max + 1})
		return err
	})
	if err != nil {
		return err
	}
	next := ""
	if len(cs) > lp.max {
		next = "/" + rq.acct.name + "/" + cs[lp.max].Name
		cs = cs[:lp.max]
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="https://`)
	b.WriteString(rq.acct.name + HostSuffix + `/">`)
	listHead(&b, rq, lp)
	b.WriteString("<Containers>")
	for _, c := range cs {
		b.WriteString("<Container><Name>")
		xmlEscape(&b, c.Name)
		b.WriteString("</Name><Properties><Last-Modified>" + httpTime(c.Modified) + "</Last-Modified><Etag>")
		xmlEscape(&b, c.ETag)
		b.WriteString("</Etag><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState>" +
			"<DefaultEncryptionScope>$account-encryption-key</DefaultEncryptionScope><DenyEncryptionScopeOverride>false</DenyEncryptionScopeOverride>" +
			"<HasImmutabilityPolicy>false</HasImmutabilityPolicy><HasLegalHold>false</HasLegalHold>" +
			"<ImmutableStorageWithVersioningEnabled>false</ImmutableStorageWithVersioningEnabled></Properties>")
		if lp.metadata {
			metadataXML(&b, c.Metadata)
		}
		b.WriteString("</Container>")
	}
	b.WriteString("</Containers>")
	nextMarker(&b, next)
	b.WriteString("</EnumerationResults>")
	rq.writeXML(b.String())
	return nil
}

// listHead writes the echoed request parameters of a listing.
func listHead(b *strings.Builder, rq *request, lp listParams) {
	if rq.has("prefix") {
		b.WriteString("<Prefix>")
		xmlEscape(b, lp.prefix)
		b.WriteString("</Prefix>")
	}
	if rq.has("marker") {
		b.WriteString("<Marker>")
		xmlEscape(b, lp.marker)
		b.WriteString("</Marker>")
	}
	if rq.has("maxresults") {
		b.WriteString("<MaxResults>" + strconv.Itoa(lp.max) + "</MaxResults>")
	}
	if rq.has("delimiter") {
		b.WriteString("<Delimiter>")
		xmlEscape(b, lp.delimiter)
		b.WriteString("</Delimiter>")
	}
}

func nextMarker(b *strings.Builder, next string) {
	if next == "" {
		b.WriteString("<NextMarker />")
		return
	}
	b.WriteString("<NextMarker>")
	xmlEscape(b, next)
	b.WriteString("</NextMarker>")
}

func metadataXML(b *strings.Builder, m map[string]string) {
	if len(m) == 0 {
		b.WriteString("<Metadata />")
		return
	}
	b.WriteString("<Metadata>")
	for _, k := range sortedKeys(m) {
		b.WriteString("<" + k + ">")
		xmlEscape(b, m[k])
		b.WriteString("</" + k + ">")
	}
	b.WriteString("</Metadata>")
}

// writeXML answers 200 with an XML body.
func (rq *request) writeXML(body string) {
	h := rq.w.Header()
	h["Content-Type"] = []string{"application/xml"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	rq.writeHeader(http.StatusOK)
	if rq.r.Method != http.MethodHead {
		_, _ = rq.w.Write([]byte(body))
	}
}
