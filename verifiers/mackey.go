package verifiers

import (
	"crypto/hmac"
	"crypto/subtle"
	"hash"
	"net/http"
	"net/textproto"
	"sync"
	"sync/atomic"
)

// Hot-path helpers: keyed HMAC states reused between requests, and the
// canonical form of header names looked up on every request. Neither
// changes what is computed or compared: a MACKey gives the same MAC as
// MAC, and headerValues the same values as http.Header.Values.

// MACKey is an HMAC key whose keyed states are pooled: computing a MAC
// costs no allocation once the pool is warm (hmac.New allocates the inner
// and outer hashes, their pads and the key schedule every time). Safe for
// concurrent use.
type MACKey struct {
	pool sync.Pool
}

// macState is one pooled HMAC state and its scratch space.
type macState struct {
	h       hash.Hash
	sum     []byte // the last MAC (capacity: the hash's size)
	scratch []byte // string parts copied before they are hashed
}

// maxMACScratch bounds the scratch space a pooled state keeps.
const maxMACScratch = 16 << 10

// NewMACKey returns the pooled HMAC of h under key. The key is copied.
func NewMACKey(h func() hash.Hash, key []byte) *MACKey {
	key = append([]byte(nil), key...)
	k := &MACKey{}
	k.pool.New = func() any {
		m := hmac.New(h, key)
		return &macState{h: m, sum: make([]byte, 0, m.Size())}
	}
	return k
}

// NewMACKeys returns a MACKey of h for every key, in order.
func NewMACKeys(h func() hash.Hash, keys [][]byte) []*MACKey {
	out := make([]*MACKey, len(keys))
	for i, k := range keys {
		out[i] = NewMACKey(h, k)
	}
	return out
}

// Sum appends to dst the HMAC, under the key, of the concatenation of
// strs and then parts (the same MAC as MAC(h, key, []byte(strs[0]), ...,
// parts...)). Pass a dst with room for the MAC (for example a [32]byte
// array's [:0]) and nothing is allocated.
func (k *MACKey) Sum(dst []byte, strs []string, parts ...[]byte) []byte {
	st := k.pool.Get().(*macState)
	st.h.Reset()
	if len(strs) > 0 {
		st.scratch = st.scratch[:0]
		for _, s := range strs {
			st.scratch = append(st.scratch, s...)
		}
		st.h.Write(st.scratch)
		if cap(st.scratch) > maxMACScratch {
			st.scratch = nil
		}
	}
	for _, p := range parts {
		st.h.Write(p)
	}
	st.sum = st.h.Sum(st.sum[:0])
	dst = append(dst, st.sum...)
	k.pool.Put(st)
	return dst
}

// maxCachedHeaderNames bounds canonicalHeaderNames: names come from the
// code and the configuration, never from a request, so a few dozen are
// expected.
const maxCachedHeaderNames = 512

// canonicalHeaderNames maps a header name that is not in canonical form
// ("X-GitHub-Delivery", "webhook-id") to its canonical form, so that a
// look-up does not canonicalise (and allocate) on every request. The map
// is replaced, never changed, so readers need no lock.
var (
	canonicalHeaderNames atomic.Pointer[map[string]string]
	canonicalHeaderMu    sync.Mutex
)

// canonicalHeader returns textproto.CanonicalMIMEHeaderKey(name).
func canonicalHeader(name string) string {
	if m := canonicalHeaderNames.Load(); m != nil {
		if c, ok := (*m)[name]; ok {
			return c
		}
	}
	c := textproto.CanonicalMIMEHeaderKey(name)
	if c == name {
		// Already canonical: CanonicalMIMEHeaderKey did not allocate.
		return c
	}
	canonicalHeaderMu.Lock()
	defer canonicalHeaderMu.Unlock()
	old := canonicalHeaderNames.Load()
	if old != nil && len(*old) >= maxCachedHeaderNames {
		return c
	}
	m := make(map[string]string, 1+lenOf(old))
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	m[name] = c
	canonicalHeaderNames.Store(&m)
	return c
}

func lenOf(m *map[string]string) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

// headerValues is h.Values(name) without canonicalising name on every call.
func headerValues(h http.Header, name string) []string {
	return h[canonicalHeader(name)]
}

// MatchMACKeys is MatchMAC with expected[i] the HMAC of strs then parts
// under keys[i] (see Sum), computed without allocating: every expected
// MAC is compared with every candidate in constant time, and the first
// key (in order) with a matching candidate wins. With keepFirst, first is
// a copy of the MAC under keys[0] (a replay material that does not depend
// on which key matched), else nil.
func MatchMACKeys(keys []*MACKey, candidates [][]byte, keepFirst bool, strs []string, parts ...[]byte) (key int, sig, first []byte, ok bool) {
	key = -1
	var buf [64]byte // SHA-512's size: the largest MAC a verifier uses
	for i, k := range keys {
		sum := k.Sum(buf[:0], strs, parts...)
		if i == 0 && keepFirst {
			first = append([]byte(nil), sum...)
		}
		for _, c := range candidates {
			if subtle.ConstantTimeCompare(sum, c) == 1 && key < 0 {
				key, sig = i, c
			}
		}
	}
	return key, sig, first, key >= 0
}
