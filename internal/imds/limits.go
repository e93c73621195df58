package imds

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/mimic-emu/mimic/internal/tokens"
)

// limiter is one VM's token bucket (requests per second) and semaphore
// (requests at once).
type limiter struct {
	mu       sync.Mutex
	rate     float64
	burst    float64
	tokens   float64
	last     time.Time
	inFlight int
	max      int
}

func newLimiter(rate float64, concurrency int, now time.Time) *limiter {
	return &limiter{rate: rate, burst: rate, tokens: rate, last: now, max: concurrency}
}

// acquire takes a slot; ok is false when either limit is exceeded.
func (l *limiter) acquire(now time.Time) (release func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate > 0 {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
		l.last = now
		if l.tokens < 1 {
			return nil, false
		}
	}
	if l.max > 0 && l.inFlight >= l.max {
		return nil, false
	}
	if l.rate > 0 {
		l.tokens--
	}
	l.inFlight++
	return func() {
		l.mu.Lock()
		l.inFlight--
		l.mu.Unlock()
	}, true
}

// cacheKey names a cached token: the identity, the VM that asked (its id is
// in the token) and the resource.
type cacheKey struct {
	principal, compute, resource string
}

// tokenCache keeps IMDS tokens until shortly before they expire. Workloads
// choose the resource strings, so the cache is bounded: past maxCached
// entries it starts over.
type tokenCache struct {
	m sync.Map // cacheKey → tokens.Token
	n atomic.Int64
}

const maxCached = 100_000

func (c *tokenCache) get(k cacheKey, now time.Time) (tokens.Token, bool) {
	v, ok := c.m.Load(k)
	if !ok {
		return tokens.Token{}, false
	}
	t := v.(tokens.Token)
	if t.ExpiresOn.Sub(now) < refreshBefore {
		c.m.Delete(k)
		return tokens.Token{}, false
	}
	return t, true
}

func (c *tokenCache) put(k cacheKey, t tokens.Token) {
	if c.n.Add(1) > maxCached {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(k, t)
}
