package verifiers

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/fetch"
)

// MailChannels' public keys fetched by keyid from its key endpoint, cached
// process-wide and bounded (see mcKeyFetcher).

const (
	// mcKeyEndpoint is MailChannels' public-key endpoint; the keyid goes in
	// the id query parameter.
	mcKeyEndpoint    = "https://api.mailchannels.net/tx/v1/webhook/public-key"
	mcFetchTimeout   = 10 * time.Second
	mcMaxKeyResponse = 64 << 10

	mcKeyCacheSize  = 64                 // fetched keys kept
	mcMissCacheSize = 256                // failed lookups kept
	mcKeyTTL        = 24 * time.Hour     // a fetched key is re-fetched after this
	mcStaleTTL      = 7 * 24 * time.Hour // a trusted key outlives a failing refresh by this much
	mcUnknownTTL    = 5 * time.Minute
	mcFailureTTL    = 30 * time.Second
	mcFetchBurst    = 10          // lookups of unknown keyids allowed at once ...
	mcFetchInterval = time.Second // ... then one per interval
	mcMaxFetchKeyID = 64          // longest keyid looked up
	mcMaxFetchers   = 8           // shared fetchers kept (one per HTTP client)
)

// mcKeyFetcher fetches MailChannels' public keys by keyid and caches them.
//
// The keyid comes from the request, so an attacker chooses it. The fetcher
// is only reached for a request whose Content-Digest matches its body and
// whose created parameter is within the tolerance, both cheap for an
// attacker to arrange, so a forged request with a made-up keyid costs its
// sender nothing. The policy:
//
//   - One fetcher per (HTTP client, endpoint) is shared by every
//     mailchannels verifier of the process (mcSharedFetcher), so a config
//     reload keeps the keys already fetched: only a cold start has none.
//   - Keys enter the cache only from a MailChannels answer (mcKeyCacheSize
//     keyids, re-fetched after mcKeyTTL). A keyid MailChannels has answered
//     is "known": when its entry expires it is refreshed at once, without
//     the budget for unknown keyids (at most one refresh in flight, and
//     after a failed one none for mcFailureTTL), so forged traffic cannot
//     delay it. A known key that has verified a signature is "trusted": if
//     its refresh fails for want of an answer (network, 5xx), the old key
//     stays in use for up to mcStaleTTL past its expiry; if MailChannels
//     says the keyid is unknown, the key is dropped at once. Eviction
//     removes untrusted keys before trusted ones.
//   - Unknown keyids: only a plausible keyid (mcFetchableKeyID) is looked
//     up; failed lookups are cached (mcMissCacheSize keyids: "no such key"
//     for mcUnknownTTL, other failures for mcFailureTTL); the lookups share
//     a token bucket (mcFetchBurst, one token per mcFetchInterval) and
//     when it is empty the request gets ErrUnavailable (503) and
//     MailChannels retries later.
//   - Concurrent lookups of one keyid share a single fetch. The fetch runs
//     detached from the request that started it (bounded by mcFetchTimeout),
//     so a client that hangs up cannot cancel it; waiting requests give up
//     when their own context ends.
//
// What stays exposed: after a cold start, until the first delivery's key
// is fetched, a client that keeps the bucket empty with forged requests
// carrying made-up keyids (one per mcFetchInterval, timed just before the
// real deliveries, each costing one outbound lookup) keeps every unknown
// keyid, the real one included, answered with 503. Configuring the key
// (public_key, which turns fetching off) closes it.
//
// Time is the verification time passed in (Request.Now).
type mcKeyFetcher struct {
	client   *http.Client
	getter   *fetch.Client // bounded GETs through client
	endpoint string

	mu      sync.Mutex
	keys    map[string]*mcCachedKey
	misses  map[string]mcMiss
	flights map[string]*mcFlight
	tokens  float64
	last    time.Time
}

type mcCachedKey struct {
	key     ed25519.PublicKey
	expires time.Time // fresh until then; refreshed on the next use after it
	used    time.Time
	trusted bool      // the key has verified a signature
	retryAt time.Time // after a failed refresh: no new one before this
	err     error     // the failed refresh's error
}

// servable reports whether an expired key may still be used: it is trusted
// and within mcStaleTTL of its expiry.
func (k *mcCachedKey) servable(now time.Time) bool {
	return k.trusted && now.Before(k.expires.Add(mcStaleTTL))
}

type mcMiss struct {
	err     error
	expires time.Time
}

type mcFlight struct {
	done chan struct{}
	key  ed25519.PublicKey
	err  error
}

// mcDefaultClient is the client of every verifier configured without one,
// so that they all share one fetcher.
var mcDefaultClient = &http.Client{
	Timeout: mcFetchTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

type mcFetcherID struct {
	client   *http.Client
	endpoint string
}

// mcFetchers holds the shared fetchers, at most mcMaxFetchers (the oldest
// is dropped first; a verifier holding it keeps using it). With the default
// client there is one. The state is public keys and lookup failures, no
// secret, and no goroutine outlives a fetch.
var mcFetchers struct {
	sync.Mutex
	m     map[mcFetcherID]*mcKeyFetcher
	order []mcFetcherID
}

// mcSharedFetcher returns the process-wide fetcher for client and endpoint.
func mcSharedFetcher(client *http.Client, endpoint string) *mcKeyFetcher {
	mcFetchers.Lock()
	defer mcFetchers.Unlock()
	id := mcFetcherID{client, endpoint}
	if f, ok := mcFetchers.m[id]; ok {
		return f
	}
	if mcFetchers.m == nil {
		mcFetchers.m = map[mcFetcherID]*mcKeyFetcher{}
	}
	if len(mcFetchers.order) >= mcMaxFetchers {
		delete(mcFetchers.m, mcFetchers.order[0])
		mcFetchers.order = mcFetchers.order[1:]
	}
	f := newMCKeyFetcher(client, endpoint)
	mcFetchers.m[id] = f
	mcFetchers.order = append(mcFetchers.order, id)
	return f
}

func newMCKeyFetcher(client *http.Client, endpoint string) *mcKeyFetcher {
	return &mcKeyFetcher{
		client:   client,
		getter:   fetch.NewClient(client, fetch.Limits{Timeout: mcFetchTimeout, MaxSize: mcMaxKeyResponse}),
		endpoint: endpoint,
		keys:     map[string]*mcCachedKey{},
		misses:   map[string]mcMiss{},
		flights:  map[string]*mcFlight{},
		tokens:   mcFetchBurst,
	}
}

// mcFetchableKeyID reports whether keyID is worth asking MailChannels
// about: 1 to mcMaxFetchKeyID bytes of letters, digits and "-._~+/=:".
// MailChannels documents no keyid format (its OpenAPI Key.id is a plain
// string); the keyid in every SDK test is "mckey". The set covers names,
// UUIDs, base64 and base64url, and keeps spaces, quotes, escapes, '%',
// '?', '&' and '#' out of lookups. It does not stop made-up keyids of that
// shape: the budget does.
func mcFetchableKeyID(keyID string) bool {
	if keyID == "" || len(keyID) > mcMaxFetchKeyID {
		return false
	}
	for i := 0; i < len(keyID); i++ {
		c := keyID[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/=:", c) >= 0) {
			return false
		}
	}
	return true
}

func (f *mcKeyFetcher) get(ctx context.Context, keyID string, now time.Time) (ed25519.PublicKey, error) {
	f.mu.Lock()
	k := f.keys[keyID]
	if k != nil && now.Before(k.expires) {
		k.used = now
		f.mu.Unlock()
		return k.key, nil
	}
	if k != nil {
		// Known keyid, expired: refresh it, or serve it stale.
		if _, busy := f.flights[keyID]; busy || now.Before(k.retryAt) {
			if k.servable(now) {
				k.used = now
				f.mu.Unlock()
				return k.key, nil
			}
			if !busy {
				f.mu.Unlock()
				return nil, k.err
			}
		}
	} else {
		if !mcFetchableKeyID(keyID) {
			f.mu.Unlock()
			return nil, fmt.Errorf("%w: keyid not fetchable (unexpected length or characters)", ErrSignature)
		}
		if m, ok := f.misses[keyID]; ok {
			if now.Before(m.expires) {
				f.mu.Unlock()
				return nil, m.err
			}
			delete(f.misses, keyID)
		}
	}
	fl, busy := f.flights[keyID]
	if !busy {
		if k == nil && !f.take(now) {
			f.mu.Unlock()
			return nil, fmt.Errorf("%w: public key fetches rate limited", ErrUnavailable)
		}
		fl = &mcFlight{done: make(chan struct{})}
		f.flights[keyID] = fl
		go f.run(context.WithoutCancel(ctx), keyID, now, fl)
	}
	f.mu.Unlock()
	select {
	case <-fl.done:
		return fl.key, fl.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: public key fetch abandoned", ErrUnavailable)
	}
}

// run performs one fetch, records its outcome and releases the waiters.
func (f *mcKeyFetcher) run(ctx context.Context, keyID string, now time.Time, fl *mcFlight) {
	key, cacheFor, err := f.fetch(ctx, keyID)

	f.mu.Lock()
	delete(f.flights, keyID)
	k := f.keys[keyID]
	switch {
	case err == nil:
		f.storeKey(keyID, key, now)
	case errors.Is(err, ErrSignature):
		// MailChannels does not know the keyid (any more): drop its key.
		delete(f.keys, keyID)
		f.storeMiss(keyID, err, now.Add(cacheFor))
	case k != nil:
		k.retryAt, k.err = now.Add(cacheFor), err
		if k.servable(now) {
			k.used = now
			key, err = k.key, nil
		}
	default:
		f.storeMiss(keyID, err, now.Add(cacheFor))
	}
	f.mu.Unlock()
	fl.key, fl.err = key, err
	close(fl.done)
}

// trust marks keyID's cached key as having verified a signature, if key is
// still the one cached.
func (f *mcKeyFetcher) trust(keyID string, key ed25519.PublicKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k := f.keys[keyID]; k != nil && k.key.Equal(key) {
		k.trusted = true
	}
}

// take consumes a fetch token; f.mu is held.
func (f *mcKeyFetcher) take(now time.Time) bool {
	if f.last.IsZero() {
		f.last = now
	} else if d := now.Sub(f.last); d > 0 {
		f.tokens += float64(d) / float64(mcFetchInterval)
		if f.tokens > mcFetchBurst {
			f.tokens = mcFetchBurst
		}
		f.last = now
	}
	if f.tokens < 1 {
		return false
	}
	f.tokens--
	return true
}

// storeKey caches a fetched key; f.mu is held. A refreshed entry stays
// trusted if the key did not change. When the cache is full, entries that
// are neither fresh nor servable go first, then the least recently used
// untrusted one, then the least recently used one.
func (f *mcKeyFetcher) storeKey(keyID string, key ed25519.PublicKey, now time.Time) {
	if old, ok := f.keys[keyID]; ok {
		*old = mcCachedKey{key: key, expires: now.Add(mcKeyTTL), used: now, trusted: old.trusted && old.key.Equal(key)}
		return
	}
	if len(f.keys) >= mcKeyCacheSize {
		var lru, lruTrusted string
		for id, k := range f.keys {
			switch {
			case !now.Before(k.expires) && !k.servable(now):
				delete(f.keys, id)
			case k.trusted:
				if lruTrusted == "" || k.used.Before(f.keys[lruTrusted].used) {
					lruTrusted = id
				}
			default:
				if lru == "" || k.used.Before(f.keys[lru].used) {
					lru = id
				}
			}
		}
		if len(f.keys) >= mcKeyCacheSize {
			if lru == "" {
				lru = lruTrusted
			}
			delete(f.keys, lru)
		}
	}
	f.keys[keyID] = &mcCachedKey{key: key, expires: now.Add(mcKeyTTL), used: now}
}

// storeMiss caches a failed lookup, evicting the entry closest to expiry
// when full; f.mu is held.
func (f *mcKeyFetcher) storeMiss(keyID string, err error, expires time.Time) {
	if _, ok := f.misses[keyID]; !ok && len(f.misses) >= mcMissCacheSize {
		var first string
		var firstAt time.Time
		for id, m := range f.misses {
			if first == "" || m.expires.Before(firstAt) {
				first, firstAt = id, m.expires
			}
		}
		delete(f.misses, first)
	}
	f.misses[keyID] = mcMiss{err: err, expires: expires}
}

// fetch asks the endpoint for keyID's key. It returns how long to cache a
// failure.
func (f *mcKeyFetcher) fetch(ctx context.Context, keyID string) (ed25519.PublicKey, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, mcFetchTimeout)
	defer cancel()
	fail := func(msg string) (ed25519.PublicKey, time.Duration, error) {
		return nil, mcFailureTTL, fmt.Errorf("%w: public key fetch: %s", ErrUnavailable, msg)
	}
	u := f.endpoint + "?" + url.Values{"id": {keyID}}.Encode()
	body, err := f.getter.Get(ctx, u, http.Header{"Accept": {"application/json"}})
	var status *fetch.StatusError
	switch {
	case errors.As(err, &status) && (status.Code == http.StatusNotFound || status.Code == http.StatusBadRequest || status.Code == http.StatusGone):
		return nil, mcUnknownTTL, fmt.Errorf("%w: unknown keyid", ErrSignature)
	case err != nil:
		return fail(err.Error())
	}
	var doc struct {
		ID  any    `json:"id"`
		Key string `json:"key"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return fail("response is not the expected JSON")
	}
	if id, isString := doc.ID.(string); isString && id != "" && id != keyID {
		return fail("response is for another key id")
	}
	key, err := mcParseKey(doc.Key)
	if err != nil {
		return fail("response holds no valid Ed25519 key")
	}
	return key, 0, nil
}

// mcParseKey decodes an Ed25519 public key: PEM, base64 DER
// SubjectPublicKeyInfo, or the raw 32-byte key in base64.
func mcParseKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("empty key")
	}
	if !strings.HasPrefix(s, "-----BEGIN") {
		if b, ok := DecodeBase64(strings.Join(strings.Fields(s), "")); ok && len(b) == ed25519.PublicKeySize {
			return ed25519.PublicKey(b), nil
		}
	}
	k, err := parsePKIXText(s)
	if err != nil {
		return nil, err
	}
	ed, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("not an Ed25519 key")
	}
	return ed, nil
}
