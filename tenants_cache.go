package webhookverify

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"golang.org/x/time/rate"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// The cache of secret_from: a tenant's verifier, built from the secrets
// looked up for it, kept for the ttl in a bounded LRU; a tenant without a
// secret kept for negative_ttl, a failed look-up for tenantErrorTTL, both
// in a second LRU of their own, so that requests for made-up tenants
// cannot evict the known ones. Look-ups are shared by the concurrent
// requests for one tenant, run detached from the request that started
// them (a client hanging up does not cancel it for the others), at most
// MaxLookups at once and, beyond a burst, at most LookupRate started a
// second (the patterns of verifiers/internal/fetch, with expiry).

// tenantErrorTTL is how long a failed look-up (a storage error, an
// unusable secret) is answered without a new look-up.
const tenantErrorTTL = time.Second

// tenantSlotWait is how long a look-up waits for a free slot before the
// request is answered 503.
const tenantSlotWait = 2 * time.Second

// tenantLookupTimeout bounds one look-up (the storage read and building
// the verifier).
const tenantLookupTimeout = 5 * time.Second

// errTenantBusy and errTenantRate: no look-up was made; never remembered.
var (
	errTenantBusy = fmt.Errorf("%w: secret_from: too many secret look-ups at once", verifiers.ErrUnavailable)
	errTenantRate = fmt.Errorf("%w: secret_from: secret look-ups rate limited", verifiers.ErrUnavailable)
)

// tenantLoad looks a tenant's secrets up and builds its verifier: nil and
// no error when the tenant has no secret.
type tenantLoad func(ctx context.Context, key string) (verifiers.Verifier, error)

// tenantPool keeps the caches of secret_from routes across config reloads
// (a reload does not start every tenant's look-up again), one per route
// config (tenantPoolKey).
var tenantPool = caddy.NewUsagePool()

// pooledTenantCache is a tenantCache in tenantPool; it holds no goroutine
// or connection of its own.
type pooledTenantCache struct{ *tenantCache }

// Destruct implements caddy.Destructor.
func (pooledTenantCache) Destruct() error { return nil }

// tenantCache holds the tenants' verifiers. The zero value is not usable:
// use newTenantCache.
type tenantCache struct {
	ttl, negativeTTL time.Duration
	now              func() time.Time // tests move it

	mu      sync.Mutex
	loads   []tenantLoader // the handlers sharing the cache; the last one's is used
	nextID  int
	known   *expiringLRU // verifiers
	missing *expiringLRU // tenants without a secret, failed look-ups
	flights map[string]*tenantFlight
	limiter *rate.Limiter
	slots   chan struct{}
}

type tenantLoader struct {
	id   int
	load tenantLoad
}

type tenantFlight struct {
	done chan struct{}
	v    verifiers.Verifier
	err  error
}

// newTenantCache returns an empty cache with the source's limits
// (defaults filled in).
func newTenantCache(s SecretSource, load tenantLoad) *tenantCache {
	s = s.withDefaults()
	c := &tenantCache{
		ttl: time.Duration(s.TTL), negativeTTL: time.Duration(s.NegativeTTL), now: time.Now,
		nextID: 1,
		known:  newExpiringLRU(s.MaxTenants), missing: newExpiringLRU(s.MaxTenants),
		flights: map[string]*tenantFlight{},
		limiter: rate.NewLimiter(rate.Limit(s.LookupRate), lookupBurst(s.LookupRate)),
		slots:   make(chan struct{}, s.MaxLookups),
	}
	if load != nil {
		c.loads = []tenantLoader{{load: load}}
	}
	return c
}

// lookupBurst is the token bucket of lookup_rate: two seconds' worth.
func lookupBurst(r float64) int {
	return max(1, int(2*r))
}

// get returns the verifier of tenant key: cached, or nil (no secret) or
// the remembered failure, or the result of a look-up shared by every
// concurrent caller for key; a caller whose ctx ends stops waiting with
// ErrUnavailable.
func (c *tenantCache) get(ctx context.Context, key string) (verifiers.Verifier, error) {
	c.mu.Lock()
	now := c.now()
	if e, ok := c.known.get(key, now); ok {
		c.mu.Unlock()
		return e.v, nil
	}
	if e, ok := c.missing.get(key, now); ok {
		c.mu.Unlock()
		return nil, e.err
	}
	fl, busy := c.flights[key]
	if !busy {
		if !c.limiter.AllowN(now, 1) {
			c.mu.Unlock()
			return nil, errTenantRate
		}
		if len(c.loads) == 0 {
			c.mu.Unlock()
			return nil, errTenantBusy
		}
		fl = &tenantFlight{done: make(chan struct{})}
		c.flights[key] = fl
		go c.run(context.WithoutCancel(ctx), key, fl, c.loads[len(c.loads)-1].load)
	}
	c.mu.Unlock()
	select {
	case <-fl.done:
		return fl.v, fl.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: cancelled", verifiers.ErrUnavailable)
	}
}

// run makes one look-up in a slot and records its result.
func (c *tenantCache) run(ctx context.Context, key string, fl *tenantFlight, load tenantLoad) {
	wait := time.NewTimer(tenantSlotWait)
	select {
	case c.slots <- struct{}{}:
		wait.Stop()
		lctx, cancel := context.WithTimeout(ctx, tenantLookupTimeout)
		fl.v, fl.err = load(lctx, key)
		cancel()
		<-c.slots
	case <-wait.C:
		fl.err = errTenantBusy
	}
	c.mu.Lock()
	delete(c.flights, key)
	now := c.now()
	switch {
	case fl.err == nil && fl.v != nil:
		c.missing.remove(key)
		c.known.put(key, tenantEntry{v: fl.v}, now.Add(c.ttl))
	case fl.err == nil:
		c.known.remove(key)
		c.missing.put(key, tenantEntry{}, now.Add(c.negativeTTL))
	case !errors.Is(fl.err, errTenantBusy):
		// A tenant known before keeps no stale verifier past its ttl
		// (it has expired, or it would not have been looked up).
		c.known.remove(key)
		c.missing.put(key, tenantEntry{err: fl.err}, now.Add(tenantErrorTTL))
	}
	c.mu.Unlock()
	close(fl.done)
}

// addLoad makes load the one look-ups use (the newest config's), until
// the function returned is called (its handler's Cleanup).
func (c *tenantCache) addLoad(load tenantLoad) (remove func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.nextID
	c.nextID++
	c.loads = append(c.loads, tenantLoader{id: id, load: load})
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.loads = slices.DeleteFunc(c.loads, func(l tenantLoader) bool { return l.id == id })
	}
}

// size returns the number of known tenants and of remembered misses
// (expired ones not yet dropped included).
func (c *tenantCache) size() (known, missing int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.known.ll.Len(), c.missing.ll.Len()
}

// tenantEntry is what the cache remembers of a tenant: its verifier, or
// nothing (no secret), or why its look-up failed.
type tenantEntry struct {
	v   verifiers.Verifier
	err error
}

// expiringLRU is a least-recently-used map of at most max entries, each
// with an expiry; not safe for concurrent use.
type expiringLRU struct {
	max int
	ll  *list.List // of *lruItem, most recent first
	m   map[string]*list.Element
}

type lruItem struct {
	key     string
	e       tenantEntry
	expires time.Time
}

func newExpiringLRU(max int) *expiringLRU {
	return &expiringLRU{max: max, ll: list.New(), m: map[string]*list.Element{}}
}

// get returns key's entry unless it is missing or expired (an expired one
// is dropped), and marks it recently used.
func (l *expiringLRU) get(key string, now time.Time) (tenantEntry, bool) {
	el, ok := l.m[key]
	if !ok {
		return tenantEntry{}, false
	}
	it := el.Value.(*lruItem)
	if !now.Before(it.expires) {
		l.ll.Remove(el)
		delete(l.m, key)
		return tenantEntry{}, false
	}
	l.ll.MoveToFront(el)
	return it.e, true
}

// put sets key's entry, dropping the least recently used one when full.
func (l *expiringLRU) put(key string, e tenantEntry, expires time.Time) {
	if el, ok := l.m[key]; ok {
		it := el.Value.(*lruItem)
		it.e, it.expires = e, expires
		l.ll.MoveToFront(el)
		return
	}
	if l.ll.Len() >= l.max {
		last := l.ll.Back()
		l.ll.Remove(last)
		delete(l.m, last.Value.(*lruItem).key)
	}
	l.m[key] = l.ll.PushFront(&lruItem{key: key, e: e, expires: expires})
}

// remove drops key's entry, if any.
func (l *expiringLRU) remove(key string) {
	if el, ok := l.m[key]; ok {
		l.ll.Remove(el)
		delete(l.m, key)
	}
}
