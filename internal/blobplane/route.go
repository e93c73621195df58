package blobplane

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/mimic-emu/mimic/internal/authz"
)

// op is a routed operation: what it needs authorized, and how to run it.
type op struct {
	name       string
	action     string
	dataAction bool
	// alt is a second data action that also permits the operation, with
	// a restriction the operation enforces (Put Blob: add/action may only
	// create).
	alt    string
	subOp  string
	scope  string
	attrs  map[string]string
	run    func(*request) error
	cached *blobEntry // the blob's cached properties, when routing found them
}

// route maps the request to an operation.
func (rq *request) route() (*op, error) {
	r := rq.r
	path := strings.TrimPrefix(r.URL.Path, "/")
	container, blob, _ := strings.Cut(path, "/")
	restype, comp := rq.q("restype"), rq.q("comp")
	a := rq.acct

	if container == "" {
		// The service.
		switch {
		case comp == "list" && restype == "" && r.Method == http.MethodGet:
			return &op{name: "ListContainers", action: ActionContainersRead, scope: a.id, run: listContainers}, nil
		case restype == "service" || restype == "account" || comp == "userdelegationkey" || comp == "blobs" || comp == "batch":
			return nil, errNotImplemented(restype + " " + comp)
		}
		if r.Method != http.MethodGet {
			return nil, newError(http.StatusMethodNotAllowed, "UnsupportedHttpVerb", msgUnsupportedHTTPVerb)
		}
		return nil, errInvalidQuery("comp", comp, "")
	}
	if blob == "" && restype != "container" {
		// A blob at the root is in the $root container.
		blob, container = container, "$root"
	}
	if err := checkContainerName(container); err != nil {
		return nil, err
	}
	rq.container = container

	if blob == "" {
		scope := a.containerScope(container)
		attrs := map[string]string{authz.AttrContainerName: container}
		ctl := func(name, action string, run func(*request) error) (*op, error) {
			return &op{name: name, action: action, scope: scope, attrs: attrs, run: run}, nil
		}
		switch r.Method {
		case http.MethodPut:
			switch comp {
			case "":
				return ctl("CreateContainer", ActionContainersWrite, createContainer)
			case "metadata":
				return ctl("SetContainerMetadata", ActionContainersWrite, setContainerMetadata)
			case "acl", "lease", "undelete", "rename":
				return nil, errNotImplemented("container " + comp)
			}
		case http.MethodDelete:
			if comp == "" {
				return ctl("DeleteContainer", ActionContainersDelete, deleteContainer)
			}
		case http.MethodGet, http.MethodHead:
			switch comp {
			case "", "metadata":
				return ctl("GetContainerProperties", ActionContainersRead, getContainerProperties)
			case "list":
				if r.Method == http.MethodGet {
					return &op{name: "ListBlobs", action: ActionBlobsRead, dataAction: true, subOp: SubOperationList, scope: scope, attrs: attrs, run: listBlobs}, nil
				}
			case "acl", "blobs":
				return nil, errNotImplemented("container " + comp)
			}
		default:
			return nil, newError(http.StatusMethodNotAllowed, "UnsupportedHttpVerb", msgUnsupportedHTTPVerb)
		}
		return nil, errInvalidQuery("comp", comp, "")
	}

	if err := checkBlobName(blob); err != nil {
		return nil, err
	}
	rq.blob = blob
	if rq.has("snapshot") || rq.has("versionid") {
		return nil, errNotImplemented("snapshots and versions")
	}
	// The blob's cached properties carry its scope and condition
	// attributes, so a cached read allocates neither.
	var cached *blobEntry
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		cached = rq.p.blobs.get(blobKey{a.uid, container, blob})
		if cached != nil && cached.acct != a {
			cached = nil
		}
	}
	data := func(name, action string, run func(*request) error) (*op, error) {
		o := &op{name: name, action: action, dataAction: true, run: run, cached: cached}
		if cached != nil {
			o.scope, o.attrs = cached.scope, cached.attrs
		} else {
			o.scope, o.attrs = a.containerScope(container), blobAttrs(container, blob)
		}
		return o, nil
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		switch comp {
		case "":
			if r.Method == http.MethodHead {
				return data("GetBlobProperties", ActionBlobsRead, getBlobProperties)
			}
			return data("GetBlob", ActionBlobsRead, getBlob)
		case "metadata":
			return data("GetBlobMetadata", ActionBlobsRead, getBlobMetadata)
		case "blocklist":
			if r.Method == http.MethodGet {
				return data("GetBlockList", ActionBlobsRead, getBlockList)
			}
		case "tags", "lease", "pagelist", "query":
			return nil, errNotImplemented("blob " + comp)
		}
	case http.MethodPut:
		switch comp {
		case "":
			if rq.r.Header.Get("x-ms-copy-source") != "" {
				return nil, errNotImplemented("Copy Blob")
			}
			o, err := data("PutBlob", ActionBlobsWrite, putBlob)
			o.alt = ActionBlobsAdd
			return o, err
		case "block":
			if rq.r.Header.Get("x-ms-copy-source") != "" {
				return nil, errNotImplemented("Put Block From URL")
			}
			return data("PutBlock", ActionBlobsWrite, putBlock)
		case "blocklist":
			return data("PutBlockList", ActionBlobsWrite, putBlockList)
		case "metadata":
			return data("SetBlobMetadata", ActionBlobsWrite, setBlobMetadata)
		case "properties":
			return data("SetBlobProperties", ActionBlobsWrite, setBlobProperties)
		case "tags", "lease", "snapshot", "tier", "copy", "page", "appendblock", "seal", "expiry", "immutabilityPolicies", "legalhold":
			return nil, errNotImplemented("blob " + comp)
		}
	case http.MethodDelete:
		if comp == "" {
			return data("DeleteBlob", ActionBlobsDelete, deleteBlob)
		}
	default:
		return nil, newError(http.StatusMethodNotAllowed, "UnsupportedHttpVerb", msgUnsupportedHTTPVerb)
	}
	return nil, errInvalidQuery("comp", comp, "")
}

// blobAttrs are the condition attributes of a blob operation.
func blobAttrs(container, blob string) map[string]string {
	return map[string]string{authz.AttrContainerName: container, authz.AttrBlobPath: blob}
}

// checkContainerName applies Azure's container naming rules: 3 to 63
// characters (else OutOfRangeInput); lower-case letters, digits and
// single hyphens, starting and ending with a letter or digit (else
// InvalidResourceName); or one of $root, $web and $logs.
func checkContainerName(name string) error {
	switch name {
	case "$root", "$web", "$logs":
		return nil
	}
	if len(name) < 3 || len(name) > 63 {
		return newError(http.StatusBadRequest, "OutOfRangeInput", msgOutOfRangeInput)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(name)-1 && name[i-1] != '-':
		default:
			return newError(http.StatusBadRequest, "InvalidResourceName", msgInvalidResourceName)
		}
	}
	return nil
}

// checkBlobName allows 1 to 1,024 characters of valid UTF-8.
func checkBlobName(name string) error {
	if !utf8.ValidString(name) {
		return newError(http.StatusBadRequest, "InvalidResourceName", msgInvalidResourceName)
	}
	if n := utf8.RuneCountInString(name); n == 0 || n > 1024 {
		return newError(http.StatusBadRequest, "OutOfRangeInput", msgOutOfRangeInput)
	}
	return nil
}
