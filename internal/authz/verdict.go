package authz

import (
	"maps"
	"strings"
	"sync"
	"sync/atomic"
)

// How a role relates to an action (grants it, excludes it, has it in the
// other plane, or nothing: a verdict) depends only on the action and its
// plane; for a role with conditional blocks, only whether it is nothing
// does (see query.verdict). The engine cannot
// compute that for every action at load (the vocabulary is open), so it
// memoises it as queries arrive: per plane, a map from the action, as spelt
// by callers, to a byte a role. A check then reads a byte for each
// candidate assignment instead of matching the role's patterns, and a
// refusal diagnoses only the roles that came close.
//
// The map is copied on write and read without a lock. It holds at most
// verdictActionsMax actions a plane, of at most verdictActionLen bytes;
// others are matched every time, so hostile input cannot grow it. In front
// of it, a few slots picked by the action's length and two of its bytes
// remember the actions last looked up, which spares most checks hashing
// the action.

const (
	verdictActionsMax = 1024
	verdictActionLen  = 256
	hotSlots          = 64 // a power of two
)

type verdictCache struct {
	hot [hotSlots]atomic.Pointer[verdicts]
	mu  sync.Mutex // serialises writers
	m   atomic.Pointer[map[string]*verdicts]
}

// verdicts holds, for one action, a byte for each role index (deny
// assignments are numbered after the roles): memoKnown, the verdict in bits
// 1-3, and memoConditional.
type verdicts struct {
	action string
	bits   []atomic.Uint64
}

const (
	memoKnown       = 1
	memoConditional = 16 // the role has conditional blocks: only vNone is certain
)

// at is the memo byte of index i, 0 while it is unknown.
func (v *verdicts) at(i int32) uint8 { return uint8(v.bits[i>>3].Load() >> (uint(i&7) * 8)) }

func (v *verdicts) set(i int32, b uint8) { v.bits[i>>3].Or(uint64(b) << (uint(i&7) * 8)) }

// verdictsFor finds or adds the request action's verdicts, or returns nil
// when the action is not cached (too long, or the cache is full).
func (e *Engine) verdictsFor(r *Request) *verdicts {
	c := &e.verdicts[0]
	if r.DataAction {
		c = &e.verdicts[1]
	}
	a := r.Action
	if a == "" {
		return nil
	}
	slot := &c.hot[(len(a)*7+int(a[len(a)-1])+int(a[len(a)/2])*3)&(hotSlots-1)]
	if v := slot.Load(); v != nil && v.action == a {
		return v
	}
	v := e.verdictsIn(c, a)
	if v != nil {
		slot.Store(v)
	}
	return v
}

// verdictsIn finds or adds an action's verdicts in a plane's map.
func (e *Engine) verdictsIn(c *verdictCache, action string) *verdicts {
	if m := c.m.Load(); m != nil {
		if v, ok := (*m)[action]; ok {
			return v
		}
		if len(*m) >= verdictActionsMax {
			return nil // full: no lock for what cannot be added
		}
	}
	if len(action) > verdictActionLen {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[string]*verdicts
	if m := c.m.Load(); m != nil {
		old = *m
	}
	if v, ok := old[action]; ok {
		return v
	}
	if len(old) >= verdictActionsMax {
		return nil
	}
	next := make(map[string]*verdicts, len(old)+1)
	maps.Copy(next, old)
	v := &verdicts{action: strings.Clone(action), bits: make([]atomic.Uint64, (len(e.roleList)+len(e.denies)+7)/8)}
	next[v.action] = v
	c.m.Store(&next)
	return v
}

// actionVerdicts is a request's verdicts, looked up on first use: most
// refusals never get as far as a role.
type actionVerdicts struct {
	v      *verdicts
	looked bool
}

func (av *actionVerdicts) get(e *Engine, r *Request) *verdicts {
	if !av.looked {
		av.v, av.looked = e.verdictsFor(r), true
	}
	return av.v
}
