// Package replay is the replay cache of the webhook_verify Caddy handler: it
// lets one copy of a verified delivery through to the upstream and answers
// the provider's retries and duplicates without forwarding them again.
//
// One delivery goes through three steps on one key:
//
//	st, tok, err := store.Reserve(ctx, key, inflightTTL)
//	switch {
//	case err != nil:       // fail closed: 503
//	case st == Accepted:   // the upstream already took a copy: 200, do not forward
//	case st == InFlight:   // another copy is being handled right now: 409
//	case st == New:        // forward, then
//		// upstream answered 2xx:
//		store.Commit(ctx, key, tok, ttl)
//		// anything else (non-2xx, an error from the next handler, a panic,
//		// the client went away):
//		store.Release(ctx, key, tok)
//	}
//
// Release makes the key new again, so the provider's retry after an upstream
// failure is forwarded instead of being lost. A reservation expires by itself
// after inflightTTL, so a request that never reaches Commit or Release (a
// crashed process) cannot block a key for ever.
//
// The Token returned by Reserve ties Commit and Release to their own
// reservation: if a reservation outlived its inflightTTL and a later copy
// reserved the key again, the first request's Release does not delete the
// second one's reservation, and no Release ever deletes an accepted entry.
//
// Bind (the Binder interface, implemented by every store of this package)
// ties a body to a key for schemes whose signature does not cover the
// whole body with a cryptographic hash (PayPal signs a CRC32 of it, Adyen
// and Mailgun a few fields): the first verified copy's SHA-256 is kept
// for the replay TTL, whether that copy is later committed or released,
// and a copy with the same key and another body is told apart from the
// provider's genuine retry:
//
//	match, err := store.(Binder).Bind(ctx, key, sha256(body), ttl)
//	// err: 503; !match: refuse the copy (401); match: Reserve as above
//
// Three stores implement Store and Binder: Memory (one process; sharded,
// bounded, O(1) per step), Storage (a certmagic.Storage shared by several
// Caddy instances) and Redis. Memory and Storage have a Destruct method, so
// they can live in a caddy.UsagePool and keep their state across config
// reloads. The package knows nothing of Caddy
// itself and never imports the handler.
//
// Keys should be made with Key, from signed material only (a signed delivery
// id, else the verified signature), namespaced per provider and route. Only
// verified requests should reach the store, so unauthenticated traffic cannot
// fill it.
package replay

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"time"
)

// State is the outcome of Reserve.
type State uint8

// The zero State is not a valid outcome: a caller that ignores Reserve's
// error never mistakes it for New.
const (
	// New: the key was absent (or expired); the caller now holds an
	// in-flight reservation and must Commit or Release it.
	New State = iota + 1
	// Accepted: a copy was committed (the upstream answered 2xx) and the
	// entry has not expired yet.
	Accepted
	// InFlight: another copy holds an unexpired reservation and has not
	// been committed or released yet.
	InFlight
)

// String returns "new", "accepted", "in_flight" or "invalid".
func (s State) String() string {
	switch s {
	case New:
		return "new"
	case Accepted:
		return "accepted"
	case InFlight:
		return "in_flight"
	}
	return "invalid"
}

// Token identifies one reservation. Reserve returns a non-zero Token with
// New, and zero otherwise.
type Token uint64

// Store is a replay cache. Implementations are safe for concurrent use.
//
// Expired entries count as absent. Commit and Release must be called with a
// context that is not cancelled when the client goes away (for example
// context.WithoutCancel(r.Context())), or a storage-backed store may be
// unable to record the outcome.
type Store interface {
	// Reserve looks key up. If it is absent or expired, Reserve records an
	// in-flight reservation that expires after inflightTTL and returns New
	// with the reservation's Token. Otherwise it returns Accepted or
	// InFlight and a zero Token, and changes nothing.
	Reserve(ctx context.Context, key string, inflightTTL time.Duration) (State, Token, error)

	// Commit records that the upstream accepted the copy reserved with tok:
	// the key is Accepted for ttl. If the reservation has expired meanwhile
	// (even if another copy reserved the key since), the key becomes
	// Accepted all the same, since a copy did reach the upstream. An entry
	// that is already Accepted is left as it is.
	Commit(ctx context.Context, key string, tok Token, ttl time.Duration) error

	// Release drops the reservation made with tok, so the key is new again.
	// It does nothing if the key is absent, accepted, or reserved with
	// another token.
	Release(ctx context.Context, key string, tok Token) error
}

// Binder is implemented by stores that can bind a body to a key; every
// store of this package does.
type Binder interface {
	// Bind records digest (a SHA-256, 32 bytes, of what a copy of the
	// delivery carries that its signature does not cover, the body) for
	// key, unless key already holds an unexpired binding; it reports
	// whether the binding key holds now equals digest (true for the first
	// call). The first binding stands for ttl from that first call: a
	// matching Bind does not extend it, and Reserve, Commit and Release
	// never touch it (a binding lives beside the key's reservation, not
	// in it), so it outlives a released copy. Bind is atomic: of several
	// concurrent calls with different digests, exactly one gets true.
	Bind(ctx context.Context, key string, digest []byte, ttl time.Duration) (match bool, err error)
}

// ErrUnavailable is wrapped by every error a storage-backed store returns
// when its storage fails (lock, load, store, delete, a timeout, a corrupt
// entry). The handler must fail closed on it (503): the provider retries
// later.
var ErrUnavailable = errors.New("replay store unavailable")

// errTTL is returned for a non-positive TTL (a programming error).
var errTTL = errors.New("replay: ttl must be positive")

// errDigest is returned by Bind for a digest that is not 32 bytes (a
// programming error).
var errDigest = errors.New("replay: bind digest must be 32 bytes (sha-256)")

// Key derives a replay key from namespace (for example the provider's name
// and the route, never a secret) and material (a signed delivery id, or the
// verified signature). It returns the lowercase hex SHA-256 of the
// length-prefixed namespace followed by the material, so different
// namespaces never share a key and the material cannot be read back from
// it. The result is 64 characters, safe as a storage path component.
func Key(namespace string, material []byte) string {
	// Hashed from one buffer on the stack (a hash.Hash would be allocated,
	// and so would the namespace's conversion to bytes): only the string
	// returned is allocated, unless namespace and material are long.
	var stack [256]byte
	b := binary.AppendUvarint(stack[:0], uint64(len(namespace)))
	b = append(append(b, namespace...), material...)
	sum := sha256.Sum256(b)
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

// digest maps a key to 32 bytes: a key made by Key (64 lowercase hex digits)
// is decoded, any other string is hashed with SHA-256.
func digest(key string) (d [sha256.Size]byte) {
	if len(key) == 2*sha256.Size {
		var bad byte
		for i := range d {
			hi, lo := unhexTable[key[2*i]], unhexTable[key[2*i+1]]
			bad |= hi | lo
			d[i] = hi<<4 | lo&0x0f
		}
		if bad&0x80 == 0 {
			return d
		}
	}
	return sha256.Sum256([]byte(key))
}

// bindDigest maps a key to the 32 bytes under which its binding is kept,
// apart from its reservation: a SHA-256 of a fixed label and digest(key).
func bindDigest(key string) [sha256.Size]byte {
	d := digest(key)
	h := sha256.New()
	h.Write([]byte("webhook_verify replay bind\x00"))
	h.Write(d[:])
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

func checkDigest(d []byte) error {
	if len(d) != sha256.Size {
		return errDigest
	}
	return nil
}

// unhexTable maps a lowercase hex digit to its value and any other byte to
// 0xff; a table rather than branches, which random digits mispredict.
var unhexTable = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c - 'a' + 10)
	}
	return t
}()

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return errTTL
	}
	return nil
}

// errCorrupt is wrapped (in ErrUnavailable) when a shared store holds an
// entry this code cannot read.
var errCorrupt = errors.New("corrupt entry")

// hashedKey is the 64-hex-digit form of key the shared stores (Caddy
// storage, Redis) keep it under.
func hashedKey(key string) string {
	d := digest(key)
	return hex.EncodeToString(d[:])
}

// newToken returns a random nonzero token, for the stores whose entries
// other processes share.
func newToken() Token {
	for {
		if t := Token(rand.Uint64()); t != 0 {
			return t
		}
	}
}
