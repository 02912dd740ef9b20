package replay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
)

// fakeClock is an injectable clock. A store whose expiry runs on another
// clock (Redis) sets onAdvance to move its entries' expiry along, and tick
// to the resolution it can honour (1ns otherwise).
type fakeClock struct {
	mu        sync.Mutex
	t         time.Time
	tick      time.Duration
	onAdvance func(time.Duration)
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), tick: time.Nanosecond}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	hook := c.onAdvance
	c.mu.Unlock()
	if hook != nil {
		hook(d)
	}
}

type storeFactory func(t testing.TB, clock *fakeClock) Store

func newTestMemory(t testing.TB, clock *fakeClock) Store {
	m := NewMemory(MemoryOptions{Clock: clock.Now, SweepInterval: -1, MaxEntries: 1000})
	t.Cleanup(func() { m.Destruct() })
	return m
}

func newTestStorage(t testing.TB, clock *fakeClock) Store {
	s := NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "test/replay", StorageOptions{Clock: clock.Now, PurgeInterval: -1})
	t.Cleanup(func() { s.Destruct() })
	return s
}

var factories = []struct {
	name string
	new  storeFactory
}{
	{"memory", newTestMemory},
	{"storage", newTestStorage},
}

var ctx = context.Background()

// reserve calls Reserve and fails the test on an error or an unexpected
// state; it returns the token.
func reserve(t testing.TB, s Store, key string, ttl time.Duration, want State) Token {
	t.Helper()
	st, tok, err := s.Reserve(ctx, key, ttl)
	if err != nil {
		t.Fatalf("Reserve(%q): %v", key, err)
	}
	if st != want {
		t.Fatalf("Reserve(%q) = %v, want %v", key, st, want)
	}
	if (tok != 0) != (st == New) {
		t.Fatalf("Reserve(%q) = %v with token %d", key, st, tok)
	}
	return tok
}

func commit(t testing.TB, s Store, key string, tok Token, ttl time.Duration) {
	t.Helper()
	if err := s.Commit(ctx, key, tok, ttl); err != nil {
		t.Fatalf("Commit(%q): %v", key, err)
	}
}

func release(t testing.TB, s Store, key string, tok Token) {
	t.Helper()
	if err := s.Release(ctx, key, tok); err != nil {
		t.Fatalf("Release(%q): %v", key, err)
	}
}

// bind calls Bind and fails the test on an error or an unexpected match.
func bind(t testing.TB, s Store, key string, digest []byte, ttl time.Duration, want bool) {
	t.Helper()
	b, ok := s.(Binder)
	if !ok {
		t.Fatalf("%T does not implement Binder", s)
	}
	match, err := b.Bind(ctx, key, digest, ttl)
	if err != nil {
		t.Fatalf("Bind(%q): %v", key, err)
	}
	if match != want {
		t.Fatalf("Bind(%q, %x) = %v, want %v", key, digest[:4], match, want)
	}
}

// body is a test digest.
func body(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

const (
	inflight = time.Minute
	ttl      = time.Hour
)

// TestStoreContract runs the same steps against every Store.
func TestStoreContract(t *testing.T) {
	for _, f := range factories {
		t.Run(f.name, func(t *testing.T) {
			for _, tc := range contractCases {
				t.Run(tc.name, func(t *testing.T) {
					clock := newFakeClock()
					tc.run(t, f.new(t, clock), clock)
				})
			}
		})
	}
}

var contractCases = []struct {
	name string
	run  func(t *testing.T, s Store, clock *fakeClock)
}{
	{"new then in flight", func(t *testing.T, s Store, _ *fakeClock) {
		k := Key("p", []byte("id-1"))
		reserve(t, s, k, inflight, New)
		reserve(t, s, k, inflight, InFlight)
		reserve(t, s, Key("p", []byte("id-2")), inflight, New)
	}},
	{"commit then accepted until ttl", func(t *testing.T, s Store, clock *fakeClock) {
		k := Key("p", []byte("id"))
		tok := reserve(t, s, k, inflight, New)
		commit(t, s, k, tok, ttl)
		reserve(t, s, k, inflight, Accepted)
		clock.Advance(ttl - clock.tick)
		reserve(t, s, k, inflight, Accepted)
		clock.Advance(clock.tick)
		reserve(t, s, k, inflight, New)
	}},
	{"accepted outlives inflight ttl", func(t *testing.T, s Store, clock *fakeClock) {
		k := Key("p", []byte("id"))
		tok := reserve(t, s, k, inflight, New)
		clock.Advance(inflight / 2)
		commit(t, s, k, tok, ttl)
		clock.Advance(inflight)
		reserve(t, s, k, inflight, Accepted)
	}},
	{"release makes the key new", func(t *testing.T, s Store, _ *fakeClock) {
		k := Key("p", []byte("id"))
		tok := reserve(t, s, k, inflight, New)
		release(t, s, k, tok)
		tok2 := reserve(t, s, k, inflight, New)
		if tok2 == tok {
			t.Fatalf("second reservation reused token %d", tok)
		}
		reserve(t, s, k, inflight, InFlight)
	}},
	{"reservation expires", func(t *testing.T, s Store, clock *fakeClock) {
		k := Key("p", []byte("id"))
		reserve(t, s, k, inflight, New)
		clock.Advance(inflight - clock.tick)
		reserve(t, s, k, inflight, InFlight)
		clock.Advance(clock.tick)
		reserve(t, s, k, inflight, New)
	}},
	{"release with another token does nothing", func(t *testing.T, s Store, _ *fakeClock) {
		k := Key("p", []byte("id"))
		tok := reserve(t, s, k, inflight, New)
		release(t, s, k, tok+1)
		release(t, s, k, 0)
		release(t, s, Key("p", []byte("other")), tok)
		reserve(t, s, k, inflight, InFlight)
	}},
	{"release never drops an accepted entry", func(t *testing.T, s Store, _ *fakeClock) {
		k := Key("p", []byte("id"))
		tok := reserve(t, s, k, inflight, New)
		commit(t, s, k, tok, ttl)
		release(t, s, k, tok)
		reserve(t, s, k, inflight, Accepted)
	}},
	{"late release does not drop a newer reservation", func(t *testing.T, s Store, clock *fakeClock) {
		k := Key("p", []byte("id"))
		a := reserve(t, s, k, inflight, New)
		clock.Advance(inflight) // a's reservation expires, a is still running
		b := reserve(t, s, k, inflight, New)
		release(t, s, k, a) // a fails late: must not free b's reservation
		reserve(t, s, k, inflight, InFlight)
		release(t, s, k, b)
		reserve(t, s, k, inflight, New)
	}},
	{"late commit wins over a newer reservation", func(t *testing.T, s Store, clock *fakeClock) {
		k := Key("p", []byte("id"))
		a := reserve(t, s, k, inflight, New)
		clock.Advance(inflight)
		b := reserve(t, s, k, inflight, New)
		commit(t, s, k, a, ttl) // a copy reached the upstream
		reserve(t, s, k, inflight, Accepted)
		release(t, s, k, b) // b fails afterwards: the key stays accepted
		reserve(t, s, k, inflight, Accepted)
		commit(t, s, k, b, ttl)
		reserve(t, s, k, inflight, Accepted)
	}},
	{"commit after the reservation vanished", func(t *testing.T, s Store, clock *fakeClock) {
		k := Key("p", []byte("id"))
		commit(t, s, k, 0, ttl)
		reserve(t, s, k, inflight, Accepted)
		k2 := Key("p", []byte("id2"))
		tok := reserve(t, s, k2, inflight, New)
		clock.Advance(2 * inflight)
		commit(t, s, k2, tok, ttl)
		reserve(t, s, k2, inflight, Accepted)
	}},
	{"commit keeps an accepted entry's expiry", func(t *testing.T, s Store, clock *fakeClock) {
		k := Key("p", []byte("id"))
		tok := reserve(t, s, k, inflight, New)
		commit(t, s, k, tok, ttl)
		clock.Advance(ttl / 2)
		commit(t, s, k, tok, 10*ttl)
		clock.Advance(ttl / 2)
		reserve(t, s, k, inflight, New)
	}},
	{"huge ttl does not overflow", func(t *testing.T, s Store, clock *fakeClock) {
		k := Key("p", []byte("id"))
		tok := reserve(t, s, k, inflight, New)
		commit(t, s, k, tok, time.Duration(math.MaxInt64))
		clock.Advance(100 * 365 * 24 * time.Hour)
		reserve(t, s, k, inflight, Accepted)
	}},
	{"keys not made by Key", func(t *testing.T, s Store, _ *fakeClock) {
		for _, k := range []string{"", "raw delivery id", "../../etc/passwd", string(make([]byte, 64)), "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"} {
			reserve(t, s, k, inflight, New)
			reserve(t, s, k, inflight, InFlight)
		}
	}},
	{"non-positive ttl is an error", func(t *testing.T, s Store, _ *fakeClock) {
		k := Key("p", []byte("id"))
		if st, _, err := s.Reserve(ctx, k, 0); err == nil || st != 0 {
			t.Fatalf("Reserve with ttl 0 = %v, %v; want an error", st, err)
		}
		tok := reserve(t, s, k, inflight, New)
		if err := s.Commit(ctx, k, tok, -time.Second); err == nil {
			t.Fatal("Commit with a negative ttl: no error")
		}
		reserve(t, s, k, inflight, InFlight)
	}},
	{"bind: the first digest stands", func(t *testing.T, s Store, _ *fakeClock) {
		k := Key("p", []byte("id"))
		bind(t, s, k, body("genuine"), ttl, true)
		bind(t, s, k, body("genuine"), ttl, true)
		bind(t, s, k, body("forged"), ttl, false)
		bind(t, s, k, body("genuine"), ttl, true)
		bind(t, s, Key("p", []byte("id2")), body("forged"), ttl, true)
		bind(t, s, Key("q", []byte("id")), body("forged"), ttl, true)
	}},
	{"bind outlives release and commit, and leaves the reservation alone", func(t *testing.T, s Store, _ *fakeClock) {
		k := Key("p", []byte("id"))
		bind(t, s, k, body("genuine"), ttl, true)
		tok := reserve(t, s, k, inflight, New) // a binding is not a reservation
		release(t, s, k, tok)                  // the upstream failed
		bind(t, s, k, body("forged"), ttl, false)
		bind(t, s, k, body("genuine"), ttl, true) // the provider's retry
		tok = reserve(t, s, k, inflight, New)
		commit(t, s, k, tok, ttl)
		bind(t, s, k, body("forged"), ttl, false)
		reserve(t, s, k, inflight, Accepted)
	}},
	{"bind expires after its ttl, not extended by a match", func(t *testing.T, s Store, clock *fakeClock) {
		k := Key("p", []byte("id"))
		bind(t, s, k, body("genuine"), ttl, true)
		clock.Advance(ttl / 2)
		bind(t, s, k, body("genuine"), 10*ttl, true)
		bind(t, s, k, body("forged"), ttl, false)
		clock.Advance(ttl/2 - clock.tick)
		bind(t, s, k, body("forged"), ttl, false)
		clock.Advance(clock.tick)
		bind(t, s, k, body("other"), ttl, true)
		bind(t, s, k, body("genuine"), ttl, false)
	}},
	{"bind refuses bad arguments", func(t *testing.T, s Store, _ *fakeClock) {
		b := s.(Binder)
		k := Key("p", []byte("id"))
		if _, err := b.Bind(ctx, k, body("x"), 0); err == nil {
			t.Error("Bind with ttl 0: no error")
		}
		if _, err := b.Bind(ctx, k, body("x")[:31], ttl); err == nil {
			t.Error("Bind with a 31-byte digest: no error")
		}
		bind(t, s, k, body("x"), ttl, true) // nothing was recorded
	}},
	{"concurrent bind of one key", func(t *testing.T, s Store, _ *fakeClock) {
		k := Key("p", []byte("id"))
		var matches atomic.Int32
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				match, err := s.(Binder).Bind(ctx, k, body(string(rune('a'+i))), ttl)
				if err != nil {
					t.Error(err)
				}
				if match {
					matches.Add(1)
				}
			})
		}
		wg.Wait()
		if n := matches.Load(); n != 1 {
			t.Fatalf("%d concurrent binds with different digests matched, want 1", n)
		}
	}},
	{"concurrent reserve of one key", func(t *testing.T, s Store, _ *fakeClock) {
		k := Key("p", []byte("id"))
		var news atomic.Int32
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				st, _, err := s.Reserve(ctx, k, inflight)
				if err != nil {
					t.Error(err)
				}
				if st == New {
					news.Add(1)
				}
			})
		}
		wg.Wait()
		if n := news.Load(); n != 1 {
			t.Fatalf("%d concurrent reservations got New, want 1", n)
		}
	}},
}

func TestStateString(t *testing.T) {
	for st, want := range map[State]string{New: "new", Accepted: "accepted", InFlight: "in_flight", 0: "invalid", 9: "invalid"} {
		if got := st.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", st, got, want)
		}
	}
}

func TestKey(t *testing.T) {
	k := Key("stripe|route-1", []byte("evt_123"))
	// Independent computation: uvarint(14) = 0x0e, then namespace, then material.
	sum := sha256.Sum256([]byte("\x0estripe|route-1evt_123"))
	if want := hex.EncodeToString(sum[:]); k != want {
		t.Fatalf("Key = %s, want %s", k, want)
	}
	if k != Key("stripe|route-1", []byte("evt_123")) {
		t.Fatal("Key is not deterministic")
	}
	distinct := [][2]string{
		{"a", "bc"}, {"ab", "c"}, {"a\x00", "bc"}, {"a", "\x00bc"}, {"", "abc"}, {"abc", ""},
		{"stripe|route-2", "evt_123"}, {"github|route-1", "evt_123"},
	}
	seen := map[string][2]string{}
	for _, in := range distinct {
		got := Key(in[0], []byte(in[1]))
		if len(got) != 64 || !isLowerHexString(got) {
			t.Fatalf("Key(%q, %q) = %q, not 64 lowercase hex digits", in[0], in[1], got)
		}
		if prev, dup := seen[got]; dup {
			t.Fatalf("Key(%q, %q) == Key(%q, %q)", in[0], in[1], prev[0], prev[1])
		}
		seen[got] = in
	}
}

func TestDigest(t *testing.T) {
	k := Key("ns", []byte("m"))
	d := digest(k)
	if hex.EncodeToString(d[:]) != k {
		t.Fatalf("digest of a Key result is not its decoding")
	}
	for _, raw := range []string{"x", "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789", k[:63] + "g"} {
		if d := digest(raw); d != sha256.Sum256([]byte(raw)) {
			t.Errorf("digest(%q) is not its SHA-256", raw)
		}
	}
}
