package blobplane

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/storage"
	"github.com/mimic-emu/mimic/internal/store"
)

// Token audiences Storage accepts: the storage resource (with or without
// its trailing slash), its application id, and the account's own endpoint.
const (
	audienceStorage = "https://storage.azure.com"
	storageAppID    = "e406a681-f3d4-42a8-90b6-c2b029497af1"
)

// account is what the plane needs of an ARM storage account.
type account struct {
	name string
	// id is the ARM id; scope its blob service
	// ({id}/blobServices/default), where container scopes hang.
	id    string
	scope string
	// uid keys the account's containers and content: a digest of its id
	// and its creation, so a re-created account starts empty.
	uid string
	// dir is the account's content directory.
	dir       string
	keys      [][]byte
	sharedKey bool
	audiences []string
	// gen is the ARM generation the account was read at.
	gen int64
}

// accountCache caches accounts (and their absence) by name until the ARM
// generation moves.
type accountCache struct {
	mu sync.RWMutex
	m  map[string]*account // nil value: no such account
}

func (c *accountCache) init() { c.m = map[string]*account{} }

func (p *Plane) generation() (int64, bool) {
	if p.cfg.Generation == nil {
		return 0, false
	}
	return p.cfg.Generation(), true
}

// account returns the named account, or nil if ARM has none.
func (p *Plane) account(ctx context.Context, name string) (*account, error) {
	if name == "" {
		return nil, nil
	}
	gen, cacheable := p.generation()
	if cacheable {
		p.accounts.mu.RLock()
		a, ok := p.accounts.m[name]
		p.accounts.mu.RUnlock()
		if ok && a.gen == gen {
			if a.id == "" {
				return nil, nil
			}
			return a, nil
		}
	}
	a, err := p.loadAccount(ctx, name)
	if err != nil {
		return nil, err
	}
	if a == nil {
		a = &account{name: name}
	} else {
		a.dir = filepath.Join(p.cfg.Dir, a.uid)
	}
	a.gen = gen
	if cacheable {
		p.accounts.mu.Lock()
		prev := p.accounts.m[name]
		p.accounts.m[name] = a
		p.accounts.mu.Unlock()
		if prev != nil && prev.uid != a.uid && prev.uid != "" {
			// The account was deleted or re-created: its content is orphaned.
			p.sweepSoon()
		}
	}
	if a.id == "" {
		return nil, nil
	}
	return a, nil
}

// loadAccount reads an account from ARM.
func (p *Plane) loadAccount(ctx context.Context, name string) (*account, error) {
	var res *store.Resource
	err := p.cfg.Store.View(ctx, func(tx store.Tx) error {
		rs, err := tx.ListResources(ctx, store.ResourceFilter{Type: storage.AccountType, Name: name})
		if err != nil || len(rs) == 0 {
			return err
		}
		res = rs[0]
		return nil
	})
	if err != nil || res == nil {
		return nil, err
	}
	doc, err := arm.DecodeDoc(res.Body)
	if err != nil {
		return nil, err
	}
	if eps := doc.Obj("properties").Obj("primaryEndpoints"); eps != nil && eps.Str("blob") == "" {
		return nil, nil // a FileStorage account has no Blob service
	}
	return newAccount(name, res, doc), nil
}

// accountUID derives an account's storage key from its id and creation
// time (which the store sets when the resource is first written).
func accountUID(res *store.Resource) string {
	sum := sha256.Sum256([]byte(strings.ToLower(res.ID) + "\n" + strconv.FormatInt(res.Created.UnixNano(), 10)))
	return hex.EncodeToString(sum[:12])
}

func newAccount(name string, res *store.Resource, doc arm.Doc) *account {
	a := &account{
		name:      name,
		id:        res.ID,
		scope:     res.ID + "/blobServices/default",
		uid:       accountUID(res),
		sharedKey: storage.SharedKeyAllowed(doc),
	}
	endpoint := "https://" + name + HostSuffix
	a.audiences = []string{audienceStorage, audienceStorage + "/", storageAppID, endpoint, endpoint + "/"}
	for _, k := range []string{"key1", "key2"} {
		if v := storage.Keys(doc)[k]; v != "" {
			if raw, err := base64.StdEncoding.DecodeString(v); err == nil {
				a.keys = append(a.keys, raw)
			}
		}
	}
	return a
}

// containerScope is the RBAC scope of a container.
func (a *account) containerScope(container string) string {
	return a.scope + "/containers/" + container
}
