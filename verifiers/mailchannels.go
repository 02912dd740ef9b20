package verifiers

// MailChannels Email API delivery-event webhooks: HTTP Message Signatures
// (RFC 9421) with Ed25519 over the Content-Digest (RFC 9530) of the body.
//
//	Content-Digest: sha-256=:<base64 SHA-256(body)>:
//	Signature-Input: sig_1=("content-digest");created=<unix s>;alg="ed25519";keyid="<id>"
//	Signature: sig_1=:<base64 Ed25519 signature>:
//
// Verification:
//  1. Signature-Input, Signature and Content-Digest are parsed as RFC 8941
//     dictionaries (internal/sfv, internal/httpsig); each must be sent once, without duplicated
//     keys, and the labels of Signature-Input and Signature must be the
//     same set.
//  2. Content-Digest is recomputed from the raw body: every sha-256 and
//     sha-512 member must match, at least one must be present; other
//     algorithms are ignored.
//  3. The candidate signatures are the labels whose covered components
//     include "content-digest" (so the body is bound) and whose alg is
//     "ed25519" or absent; other labels are ignored, and none at all is
//     ErrMalformed.
//  4. Per candidate: created is checked against the tolerance (and
//     expires, if present), the RFC 9421 signature base is rebuilt from the
//     covered components, with @signature-params taken verbatim from the
//     Signature-Input member, and the Ed25519 signature is checked with the
//     key for its keyid. Any one valid candidate accepts the request.
//
// Keys: configured public keys (base64 SPKI, PEM, or raw 32-byte base64),
// each optionally bound to a keyid (KeyID "" applies to every keyid). With
// no configured key, the key is fetched from MailChannels' public-key
// endpoint, once per keyid, and cached process-wide; see mcKeyFetcher.
//
// Sources: https://docs.mailchannels.net/email-api/advanced/delivery-events ;
// github:mailchannels/mailchannels-openclaw mailchannels-email-api/SKILL.md ;
// github:Yizack/mailchannels src/utils/webhooks-validator.ts ; RFC 9421 ;
// RFC 9530 ; RFC 8941.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/fetch"
	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/httpsig"
	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/sfv"
)

const (
	mcSignatureInputHeader = "Signature-Input"
	mcSignatureHeader      = "Signature"
	mcDigestHeader         = "Content-Digest"

	mcMaxSignatures = 32  // labels per Signature / Signature-Input
	mcMaxComponents = 32  // covered components per signature
	mcMaxDigests    = 16  // members of Content-Digest
	mcMaxKeyID      = 256 // bytes

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

func init() {
	Register("mailchannels", newMailChannels)
	RegisterSigner("mailchannels", signMailChannels)
}

type mcConfiguredKey struct {
	id  string
	key ed25519.PublicKey
}

type mailchannelsVerifier struct {
	cfg   Config
	keys  []mcConfiguredKey
	fetch *mcKeyFetcher // nil when keys are configured
}

func newMailChannels(c Config) (Verifier, error) {
	if err := c.Allow("public_key", "tolerance", "customer_handle"); err != nil {
		return nil, err
	}
	v := &mailchannelsVerifier{cfg: c}
	for i, pk := range c.PublicKeys {
		k, err := mcParseKey(pk.Key)
		if err != nil {
			return nil, fmt.Errorf("provider %s: public key %d: %v", c.Provider, i+1, err)
		}
		if len(pk.KeyID) > mcMaxKeyID {
			return nil, fmt.Errorf("provider %s: public key %d: key id too long", c.Provider, i+1)
		}
		v.keys = append(v.keys, mcConfiguredKey{id: pk.KeyID, key: k})
	}
	if len(v.keys) == 0 {
		client := c.HTTPClient
		if client == nil {
			client = mcDefaultClient
		}
		v.fetch = mcSharedFetcher(client, mcKeyEndpoint)
	}
	return v, nil
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

func (v *mailchannelsVerifier) HasTimestamp() bool { return true }

// mcCandidate is one signature this verifier can check.
type mcCandidate struct {
	components []string
	params     sfv.Item // the Signature-Input member (for its parameters)
	raw        string   // the member value verbatim: @signature-params
	sig        []byte
}

// checkCustomers enforces the customer_handle allow-list on a verified
// body: MailChannels signs every customer's events with the same keys and
// does not sign the target URL, so without it any MailChannels customer
// could send its own signed events here.
func (v *mailchannelsVerifier) checkCustomers(body []byte) error {
	if len(v.cfg.CustomerHandles) == 0 {
		return nil
	}
	// Each event is read with jsonMembers, not encoding/json: a second
	// customer_handle, or one in another spelling ("Customer_Handle",
	// "cuſtomer_handle") that a case-folding reader takes for it, would let
	// the upstream see another handle than the one checked.
	dec := json.NewDecoder(bytes.NewReader(body))
	bad := fmt.Errorf("%w: body is not a JSON array of events", ErrMalformed)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return bad
	}
	allowed := true
	n := 0
	for ; dec.More(); n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return bad
		}
		ev, err := jsonMembers(raw, true, "customer_handle")
		if err != nil {
			return err
		}
		var h string
		if c := ev["customer_handle"]; len(c) == 0 || c[0] != '"' || json.Unmarshal(c, &h) != nil ||
			!slices.Contains(v.cfg.CustomerHandles, h) {
			allowed = false // every event is still read for ambiguity
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim(']') || n == 0 {
		return bad
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return bad
	}
	if !allowed {
		return fmt.Errorf("%w: customer_handle not allowed", ErrForbidden)
	}
	return nil
}

func (v *mailchannelsVerifier) Verify(r *Request) (*Result, error) {
	inputHeader, err := Header(r.Header, mcSignatureInputHeader)
	if err != nil {
		return nil, err
	}
	sigHeader, err := Header(r.Header, mcSignatureHeader)
	if err != nil {
		return nil, err
	}
	digestHeader, err := Header(r.Header, mcDigestHeader)
	if err != nil {
		return nil, err
	}
	inputs, err := mcParseDict(inputHeader, mcSignatureInputHeader, mcMaxSignatures)
	if err != nil {
		return nil, err
	}
	sigs, err := mcParseDict(sigHeader, mcSignatureHeader, mcMaxSignatures)
	if err != nil {
		return nil, err
	}
	if len(inputs.Members) != len(sigs.Members) {
		return nil, fmt.Errorf("%w: labels of %s and %s differ", ErrMalformed, mcSignatureInputHeader, mcSignatureHeader)
	}
	var cands []mcCandidate
	for i := range inputs.Members {
		in := &inputs.Members[i]
		sm, ok := sigs.Get(in.Key)
		if !ok {
			return nil, fmt.Errorf("%w: labels of %s and %s differ", ErrMalformed, mcSignatureInputHeader, mcSignatureHeader)
		}
		c, ok, err := mcCandidateOf(in, sm)
		if err != nil {
			return nil, err
		}
		if ok {
			cands = append(cands, c)
		}
	}

	// The body must match Content-Digest before any signature is looked at
	// (and so before any key is fetched).
	if err := mcCheckDigest(digestHeader, r.Body); err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w: no ed25519 signature covering content-digest", ErrMalformed)
	}

	var best error
	for _, c := range cands {
		res, err := v.verifyOne(r, c)
		if err == nil {
			if err := v.checkCustomers(r.Body); err != nil {
				return nil, err
			}
			return res, nil
		}
		if best == nil || mcErrRank(err) > mcErrRank(best) {
			best = err
		}
	}
	return nil, best
}

// mcErrRank orders the failures of several candidates: the reported one
// is the failure that got furthest.
// mcErr converts an error of httpsig to this package's sentinels.
func mcErr(err error) error {
	var he *httpsig.Error
	switch {
	case !errors.As(err, &he):
		return err
	case he.Mismatch:
		return fmt.Errorf("%w: %s", ErrSignature, he.Msg)
	}
	return fmt.Errorf("%w: %s", ErrMalformed, he.Msg)
}

// mcParseDict parses a Signature-Input or Signature header.
func mcParseDict(value, name string, max int) (*sfv.Dictionary, error) {
	d, err := httpsig.ParseDictionary(value, name, max)
	return d, mcErr(err)
}

// mcCheckDigest checks Content-Digest against the body (RFC 9530).
func mcCheckDigest(value string, body []byte) error {
	return mcErr(httpsig.CheckContentDigest(value, body, mcMaxDigests))
}

func mcErrRank(err error) int {
	switch {
	case errors.Is(err, ErrUnavailable):
		return 4
	case errors.Is(err, ErrSignature):
		return 3
	case errors.Is(err, ErrTimestamp):
		return 2
	}
	return 1
}

// mcCandidateOf checks one Signature-Input member and its signature. It
// returns ok=false for a well-formed signature this verifier does not
// take (another algorithm, content-digest not covered, a component it
// cannot rebuild) and an ErrMalformed error for an invalid one.
func mcCandidateOf(in, sm *sfv.Member) (mcCandidate, bool, error) {
	list, isList := in.Value.(sfv.InnerList)
	if !isList {
		return mcCandidate{}, false, fmt.Errorf("%w: %s member is not an inner list", ErrMalformed, mcSignatureInputHeader)
	}
	sig, isBytes := sm.Value.([]byte)
	if !isBytes {
		return mcCandidate{}, false, fmt.Errorf("%w: %s member is not a byte sequence", ErrMalformed, mcSignatureHeader)
	}
	if len(list) > mcMaxComponents {
		return mcCandidate{}, false, fmt.Errorf("%w: too many covered components", ErrMalformed)
	}
	usable, digest := true, false
	seen := make(map[string]bool, len(list))
	components := make([]string, 0, len(list))
	for _, item := range list {
		name, isString := item.Value.(string)
		if !isString || name == "" {
			return mcCandidate{}, false, fmt.Errorf("%w: covered component is not a string", ErrMalformed)
		}
		if len(item.Params) > 0 {
			// ;sf, ;key, ;bs, ;req, ;tr, ;name: not rebuilt here. The
			// identifier with parameters is a different component, so it
			// does not count as covering content-digest either.
			usable = false
			continue
		}
		if seen[name] {
			return mcCandidate{}, false, fmt.Errorf("%w: covered component listed twice", ErrMalformed)
		}
		seen[name] = true
		switch {
		case name == "@signature-params":
			return mcCandidate{}, false, fmt.Errorf("%w: @signature-params listed as a covered component", ErrMalformed)
		case name[0] == '@':
			if !httpsig.Derived(name) {
				usable = false
			}
		case !httpsig.FieldName(name):
			return mcCandidate{}, false, fmt.Errorf("%w: covered component is not a lowercase field name", ErrMalformed)
		case name == "content-digest":
			digest = true
		}
		components = append(components, name)
	}
	if alg, present := in.Param("alg"); present {
		s, isString := alg.(string)
		if !isString {
			return mcCandidate{}, false, fmt.Errorf("%w: alg is not a string", ErrMalformed)
		}
		if s != "ed25519" {
			usable = false
		}
	}
	if !usable || !digest {
		return mcCandidate{}, false, nil
	}
	return mcCandidate{components: components, params: in.Item, raw: in.Raw, sig: sig}, true, nil
}

func (v *mailchannelsVerifier) verifyOne(r *Request, c mcCandidate) (*Result, error) {
	cv, ok := c.params.Param("created")
	created, isInt := cv.(int64)
	if !ok || !isInt || created < 0 {
		return nil, fmt.Errorf("%w: signature without a valid created parameter", ErrMalformed)
	}
	ts := time.Unix(created, 0)
	if err := CheckTimestamp(v.cfg, ts, r.Now); err != nil {
		return nil, err
	}
	if ev, ok := c.params.Param("expires"); ok {
		expires, isInt := ev.(int64)
		if !isInt {
			return nil, fmt.Errorf("%w: expires is not an integer", ErrMalformed)
		}
		if _, on := v.cfg.EffectiveTolerance(); on && r.Now.After(time.Unix(expires, 0)) {
			return nil, fmt.Errorf("%w: signature expired", ErrTimestamp)
		}
	}
	keyID := ""
	if kv, ok := c.params.Param("keyid"); ok {
		s, isString := kv.(string)
		if !isString || len(s) > mcMaxKeyID {
			return nil, fmt.Errorf("%w: invalid keyid", ErrMalformed)
		}
		keyID = s
	}
	if len(c.sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: %s is not an ed25519 signature", ErrMalformed, mcSignatureHeader)
	}
	base, err := httpsig.SignatureBase(httpsig.Message{Method: r.Method, URL: r.URL, Header: r.Header}, c.components, c.raw)
	if err != nil {
		return nil, mcErr(err)
	}
	// The replay material is the body's digest, which every usable
	// signature covers (through content-digest): a copy that drops or
	// breaks one of several signatures is still the same delivery.
	bodySum := sha256.Sum256(r.Body)
	res := &Result{Signature: bodySum[:], Timestamp: ts}

	if v.fetch == nil {
		applicable := false
		for i, k := range v.keys {
			if k.id != "" && k.id != keyID {
				continue
			}
			applicable = true
			if ed25519.Verify(k.key, base, c.sig) {
				res.Key = i
				return res, nil
			}
		}
		if !applicable {
			return nil, fmt.Errorf("%w: no configured public key for the signature's keyid", ErrSignature)
		}
		return nil, fmt.Errorf("%w: no configured public key verifies the signature", ErrSignature)
	}

	if keyID == "" {
		return nil, fmt.Errorf("%w: signature without keyid", ErrMalformed)
	}
	ctx := r.Context
	if ctx == nil {
		ctx = context.Background()
	}
	key, err := v.fetch.get(ctx, keyID, r.Now)
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(key, base, c.sig) {
		return nil, fmt.Errorf("%w: the keyid's public key does not verify the signature", ErrSignature)
	}
	v.fetch.trust(keyID, key)
	return res, nil
}

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

// mcDefaultKeyID is the keyid the mailchannels signer uses without one.
const mcDefaultKeyID = "local-test-key"

// signMailChannels: RFC 9421 over content-digest (RFC 9530 sha-256), in
// the shape MailChannels sends (label sig_1; created, alg, keyid).
func signMailChannels(_ string, r SignRequest) (*Signed, error) {
	k, err := parseEd25519Private(r.PrivateKey)
	if err != nil {
		return nil, err
	}
	keyID := r.KeyID
	if keyID == "" {
		keyID = mcDefaultKeyID
	}
	if !mcFetchableKeyID(keyID) {
		return nil, fmt.Errorf("key id must be 1 to %d of A-Z a-z 0-9 . _ ~ + / = : -", mcMaxFetchKeyID)
	}
	sum := sha256.Sum256(r.Body)
	digest := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
	params := fmt.Sprintf(`("content-digest");created=%d;alg="ed25519";keyid="%s"`, r.Now.Unix(), keyID)
	base := `"content-digest": ` + digest + "\n" + `"@signature-params": ` + params
	sig := ed25519.Sign(k, []byte(base))
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set(mcDigestHeader, digest)
	s.Header.Set(mcSignatureInputHeader, "sig_1="+params)
	s.Header.Set(mcSignatureHeader, "sig_1=:"+base64.StdEncoding.EncodeToString(sig)+":")
	return s, nil
}
