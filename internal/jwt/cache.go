package jwt

import (
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// DefaultCacheSize is the capacity of a [VerifyCache] made with a
// non-positive size. A cached managed-identity token costs about 1 KB (its
// decoded claims), so a full default cache holds about 100 MB.
const DefaultCacheSize = 100_000

// cacheShards spreads the cache over independently locked maps, so that
// concurrent requests rarely contend. Must be a power of two.
const cacheShards = 32

// VerifyCache remembers tokens that a [Ring] has verified, so that a token
// presented again is checked with a hash and a few comparisons instead of
// an RSA verification (under 1µs, mostly hashing the token, instead of
// about 40µs).
//
// Entries are keyed by the SHA-256 of the token, so memory per entry is small
// whatever the token's size. On every hit the time, issuer and audience
// checks of [VerifyOptions] are applied again against the cached claims, and
// the signing key must still be in the ring: removing a key from the ring
// revokes its cached tokens at once. Entries live until their token expires
// or the cache is full, when expired entries are swept and, if that is not
// enough, arbitrary ones are evicted.
//
// Tokens whose signature does not verify are not cached.
//
// A VerifyCache is safe for concurrent use.
type VerifyCache struct {
	ring     *Ring
	perShard int
	shards   [cacheShards]cacheShard
}

// cacheShard is one locked part of the cache.
type cacheShard struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]cacheEntry
	_  [64 - 32]byte // pad the 24-byte lock and map pointer to a cache line
}

// cacheEntry is a verified token's claims and the ID of the key that signed it.
type cacheEntry struct {
	claims *Claims
	kid    string
}

// NewVerifyCache returns a cache in front of r holding at most about
// maxEntries tokens; a non-positive maxEntries means [DefaultCacheSize].
func NewVerifyCache(r *Ring, maxEntries int) *VerifyCache {
	if maxEntries <= 0 {
		maxEntries = DefaultCacheSize
	}
	c := &VerifyCache{ring: r, perShard: max(1, maxEntries/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[[sha256.Size]byte]cacheEntry)
	}
	return c
}

// Verify is [Ring.Verify] with a cache: it returns the same claims and
// errors, and like Ring.Verify may return authentic claims together with a
// time, issuer or audience error.
//
// The returned claims may be shared with other callers and must not be
// modified.
func (c *VerifyCache) Verify(token string, o VerifyOptions) (*Claims, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if len(token) > MaxTokenSize {
		return c.ring.Verify(token, o) // rejected without hashing
	}
	sum := sumString(token)
	sh := &c.shards[sum[0]&(cacheShards-1)]
	snap := c.ring.snapshot()

	sh.mu.RLock()
	e, hit := sh.m[sum]
	sh.mu.RUnlock()
	if hit {
		if snap.byID[e.kid] == nil {
			// The key left the ring: drop the entry and verify afresh,
			// which reports ErrUnknownKey.
			sh.delete(sum)
		} else {
			err := o.check(e.claims)
			if errors.Is(err, ErrExpired) {
				sh.delete(sum)
			}
			return e.claims, err
		}
	}

	claims, kid, err := snap.verifySignature(token)
	if err != nil {
		return nil, err
	}
	err = o.check(claims)
	if !errors.Is(err, ErrExpired) {
		// Cache authentic tokens that are still valid in time, even if this
		// caller's issuer or audience refuses them: every hit re-checks.
		sh.add(sum, cacheEntry{claims: claims, kid: kid}, c.perShard, o.Now.Unix())
	}
	return claims, err
}

// Len returns the number of cached tokens.
func (c *VerifyCache) Len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

// delete removes the entry for sum.
func (sh *cacheShard) delete(sum [sha256.Size]byte) {
	sh.mu.Lock()
	delete(sh.m, sum)
	sh.mu.Unlock()
}

// add stores e under sum, making room first if the shard holds limit
// entries: it sweeps entries expired at now (Unix seconds) and, if the shard
// is still over 7/8 full, evicts arbitrary entries down to that level, so
// the cost of a sweep is spread over many insertions.
func (sh *cacheShard) add(sum [sha256.Size]byte, e cacheEntry, limit int, now int64) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[sum]; !ok && len(sh.m) >= limit {
		for k, v := range sh.m {
			if v.claims.Exp <= now {
				delete(sh.m, k)
			}
		}
		target := limit - limit/8
		for k := range sh.m {
			if len(sh.m) < target {
				break
			}
			delete(sh.m, k)
		}
	}
	sh.m[sum] = e
}
