package blobplane

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/dataplane"
	"github.com/mimic-emu/mimic/internal/store"
)

// HostSuffix is the Blob service's DNS suffix: accounts are served at
// https://{account}.blob.core.windows.net.
const HostSuffix = ".blob.core.windows.net"

// RevisionTopic is the store revision every Blob write bumps, so that
// replicas sharing a PostgreSQL store drop cached blob properties.
const RevisionTopic = "blob"

// Config is what a Plane needs.
type Config struct {
	Store store.Store
	// Guard authenticates bearer tokens, decides data actions and writes
	// the access log.
	Guard *dataplane.Guard
	// Dir holds blob content, one directory per account (MIMIC_HOME/blobs).
	// Replicas sharing a store must share it.
	Dir string
	// Tenant is the tenant's id, named in the 401 challenge.
	Tenant string
	// Generation returns a counter that advances on every ARM write
	// (arm.Server.Generation.Load). Accounts are cached until it moves;
	// nil reads the account on every request.
	Generation func() int64
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// SmallBlob is the size up to which blob content is kept in memory
	// once read; 0 means 64 KiB, negative disables the content cache.
	SmallBlob int64
	// NoSync skips fsync of content files (tests and benchmarks only).
	NoSync bool
}

// Plane serves the Blob service of every storage account in ARM.
type Plane struct {
	cfg       Config
	challenge string

	accounts accountCache
	blobs    blobCache
	// shared: replicas may write (PostgreSQL); check the store revision on
	// each request.
	shared  bool
	lastRev atomic.Int64

	reqPrefix string
	reqSeq    atomic.Uint64
	etagSeq   atomic.Int64

	sweeping atomic.Bool
}

// New builds a plane.
func New(cfg Config) (*Plane, error) {
	if cfg.Store == nil || cfg.Guard == nil || cfg.Dir == "" {
		return nil, errors.New("blobplane: Store, Guard and Dir are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SmallBlob == 0 {
		cfg.SmallBlob = 64 << 10
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	cfg.Dir = dir
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("blobplane: %w", err)
	}
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	h := hex.EncodeToString(b[:])
	p := &Plane{
		cfg:       cfg,
		challenge: "Bearer authorization_uri=https://login.microsoftonline.com/" + cfg.Tenant + "/oauth2/authorize resource_id=" + audienceStorage,
		shared:    cfg.Store.Backend() == "postgres",
		reqPrefix: h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-",
	}
	p.lastRev.Store(-1)
	p.accounts.init()
	p.blobs.init()
	p.sweepSoon() // data of accounts deleted while mimic was down
	return p, nil
}

func (p *Plane) now() time.Time { return p.cfg.Now() }

// request is one request being served.
type request struct {
	p      *Plane
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context
	id     string
	status int

	acct      *account
	query     url.Values
	version   string
	container string
	blob      string

	// op is the routed operation; decision how it was authorized.
	op       *op
	decision authz.Decision
	// caller is the bearer token's caller; nil with SharedKey.
	caller    *dataplane.Caller
	sharedKey bool
	// createOnly: only blobs/add/action allowed the write, which may
	// create a blob but not replace one; loggedAction is that action.
	createOnly   bool
	loggedAction string
}

func (rq *request) writeHeader(status int) {
	rq.status = status
	rq.w.WriteHeader(status)
}

// newRequestID returns a GUID-shaped id: a random per-process prefix and
// a counter.
func (p *Plane) newRequestID() string {
	n := p.reqSeq.Add(1)
	var b [36]byte
	copy(b[:], p.reqPrefix)
	const digits = "0123456789abcdef"
	for i := 35; i >= 24; i-- {
		b[i] = digits[n&15]
		n >>= 4
	}
	return string(b[:])
}

var (
	serverHeader = []string{"Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0"}
	trueHeader   = []string{"true"}
)

// ServeHTTP implements http.Handler.
func (p *Plane) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq := &request{p: p, w: w, r: r, ctx: r.Context(), id: p.newRequestID()}
	h := w.Header()
	h["Server"] = serverHeader
	h["X-Ms-Request-Id"] = []string{rq.id}
	if v := r.Header["X-Ms-Client-Request-Id"]; len(v) > 0 {
		h["X-Ms-Client-Request-Id"] = v[:1]
	}
	if err := p.serve(rq); err != nil {
		var se *storageError
		if !errors.As(err, &se) {
			se = newError(http.StatusInternalServerError, "InternalError", "The server encountered an internal error. Please retry the request.")
			rq.p.logError(rq, err)
		}
		if rq.status == 0 {
			rq.writeError(se)
		}
	}
	if o := rq.op; o != nil {
		action := o.action
		if rq.loggedAction != "" {
			action = rq.loggedAction
		}
		p.cfg.Guard.Log(r, rq.caller, action, o.dataAction, o.scope, rq.decision, rq.status)
	}
}

// logError keeps the detail of an error the client sees as InternalError.
func (p *Plane) logError(rq *request, err error) {
	slog.Error("blob request failed", "method", rq.r.Method, "host", rq.r.Host, "path", rq.r.URL.Path, "err", err)
}

// accountName returns the account of a Blob host, or "".
func accountName(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	if len(host) <= len(HostSuffix) || !strings.EqualFold(host[len(host)-len(HostSuffix):], HostSuffix) {
		return ""
	}
	name := host[:len(host)-len(HostSuffix)]
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(name)
		}
	}
	return name
}

func (p *Plane) serve(rq *request) error {
	r := rq.r
	name := accountName(r.Host)
	if name == "" && r.URL.IsAbs() {
		name = accountName(r.URL.Host)
	}
	if p.shared {
		if err := p.checkRevision(rq.ctx); err != nil {
			return err
		}
	}
	acct, err := p.account(rq.ctx, name)
	if err != nil {
		return err
	}
	if acct == nil {
		// Azure has no such host name; through mimic the name resolves, and
		// the answer is Storage's for a resource that does not exist.
		return newError(http.StatusNotFound, "ResourceNotFound", msgResourceNotFound)
	}
	rq.acct = acct
	if r.URL.RawQuery != "" {
		rq.query = parseQuery(r.URL.RawQuery)
	}
	if err := rq.checkVersion(); err != nil {
		return err
	}
	op, err := rq.route()
	if err != nil {
		return err
	}
	if err := rq.authenticate(op); err != nil {
		return err
	}
	return op.run(rq)
}

// parseQuery parses a query string, decoding keys (Node percent-encodes
// some) and values; malformed pairs are kept as sent.
func parseQuery(raw string) url.Values {
	q, err := url.ParseQuery(raw)
	if err == nil {
		return q
	}
	q = url.Values{}
	for _, kv := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		q[k] = append(q[k], v)
	}
	return q
}

func (rq *request) q(key string) string {
	if rq.query == nil {
		return ""
	}
	if v, ok := rq.query[key]; ok && len(v) > 0 {
		return v[0]
	}
	return ""
}

func (rq *request) has(key string) bool {
	if rq.query == nil {
		return false
	}
	_, ok := rq.query[key]
	return ok
}

// Versions of the Blob REST API mimic answers: 2019-02-02 (the first with
// the shapes mimic implements) through 2026-12-06 (azblob 1.8's).
const (
	minVersion   = "2019-02-02"
	maxVersion   = "2026-12-06"
	bearerMin    = "2017-11-09" // the first version that accepts OAuth
	challengeMin = "2019-12-12" // anonymous requests get a 401 challenge from here on
)

func validVersion(v string) bool {
	if len(v) != 10 || v[4] != '-' || v[7] != '-' {
		return false
	}
	for i, c := range []byte(v) {
		if i != 4 && i != 7 && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// checkVersion validates x-ms-version and echoes it.
func (rq *request) checkVersion() error {
	v := rq.r.Header.Get("x-ms-version")
	if v == "" {
		return nil
	}
	if !validVersion(v) || v < minVersion || v > maxVersion {
		e := errInvalidHeader("x-ms-version", v)
		e.message += " mimic serves x-ms-version " + minVersion + " through " + maxVersion + "."
		return e
	}
	rq.version = v
	rq.w.Header()["X-Ms-Version"] = []string{v}
	return nil
}

// checkRevision drops cached blob properties when another replica wrote.
func (p *Plane) checkRevision(ctx context.Context) error {
	rev, err := p.cfg.Store.Revision(ctx, RevisionTopic)
	if err != nil {
		return err
	}
	if last := p.lastRev.Load(); last != rev {
		p.blobs.clear()
		p.lastRev.Store(rev)
	}
	return nil
}

// bumpRevision advances the store's blob revision inside a write.
func bumpRevision(ctx context.Context, tx store.Tx) error {
	_, err := tx.Bump(ctx, RevisionTopic)
	return err
}
