package replay

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestMemoryShards(t *testing.T) {
	for _, tc := range []struct {
		max, shards, entries int
	}{
		{0, 16, DefaultMaxEntries},
		{-5, 16, DefaultMaxEntries},
		{1, 1, 1},
		{10, 1, 10},
		{8191, 1, 8191},
		{8192, 2, 8192},
		{100_000, 16, 100_000},
		{1_000_000, 64, 1_000_000},
		{1_000_003, 64, 1_000_003},
		{1 << 40, 64, MaxMaxEntries},
	} {
		m := NewMemory(MemoryOptions{MaxEntries: tc.max, SweepInterval: -1})
		if len(m.shards) != tc.shards || m.maxEntries != tc.entries {
			t.Errorf("MaxEntries %d: %d shards, bound %d; want %d, %d", tc.max, len(m.shards), m.maxEntries, tc.shards, tc.entries)
		}
		if err := m.check(); err != nil {
			t.Errorf("MaxEntries %d: %v", tc.max, err)
		}
		if st := m.Stats(); st.MaxEntries != tc.entries || st.Entries != 0 || st.Evictions != 0 {
			t.Errorf("MaxEntries %d: Stats = %+v", tc.max, st)
		}
	}
}

func TestMemoryEvictsOldestAcceptedFirst(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{MaxEntries: 3, SweepInterval: -1, Clock: clock.Now})
	a, b, c, d := Key("t", []byte("a")), Key("t", []byte("b")), Key("t", []byte("c")), Key("t", []byte("d"))
	ta := reserve(t, m, a, inflight, New)
	tb := reserve(t, m, b, inflight, New)
	tc := reserve(t, m, c, inflight, New)
	commit(t, m, b, tb, ttl)
	commit(t, m, a, ta, ttl)        // a is now the most recently accepted
	reserve(t, m, d, inflight, New) // evicts b, the oldest accepted
	if st := m.Stats(); st.Entries != 3 || st.Evictions != 1 {
		t.Fatalf("after one eviction: %+v", st)
	}
	// b was evicted; looking at a, c, d changes nothing.
	reserve(t, m, a, inflight, Accepted)
	reserve(t, m, c, inflight, InFlight)
	reserve(t, m, d, inflight, InFlight)
	tb = reserve(t, m, b, inflight, New) // evicts a, the only accepted entry
	reserve(t, m, c, inflight, InFlight)
	reserve(t, m, d, inflight, InFlight)
	// Only reservations in flight are left: a new key is refused, and
	// the reservations still answer InFlight.
	if _, _, err := m.Reserve(ctx, a, inflight); !errors.Is(err, ErrFull) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Reserve in a store full of reservations: %v, want ErrFull", err)
	}
	reserve(t, m, c, inflight, InFlight)
	commit(t, m, c, tc, ttl)
	reserve(t, m, a, inflight, New) // evicts c, accepted meanwhile
	if st := m.Stats(); st.Entries != 3 || st.Evictions != 3 || st.Refused != 1 {
		t.Fatalf("after three evictions and a refusal: %+v", st)
	}
	reserve(t, m, b, inflight, InFlight)
	_ = m.Release(ctx, b, tb)
	reserve(t, m, b, inflight, New) // the released slot
	mustCheck(t, m)
}

// TestMemoryKeepsReservationsWhenFull is the replay bypass the eviction of
// reservations allowed: a delivery held by a slow upstream, then as many
// other deliveries as the store holds, then a copy of the first.
func TestMemoryKeepsReservationsWhenFull(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{MaxEntries: 10, SweepInterval: -1, Clock: clock.Now})
	slow := Key("t", []byte("slow"))
	reserve(t, m, slow, inflight, New)
	for i := range 10 {
		k := Key("t", fmt.Appendf(nil, "other %d", i))
		tok := reserve(t, m, k, inflight, New)
		commit(t, m, k, tok, ttl)
	}
	reserve(t, m, slow, inflight, InFlight)
	// Once the reservation expires it may be taken.
	clock.Advance(inflight)
	reserve(t, m, Key("t", []byte("next")), inflight, New)
	reserve(t, m, slow, inflight, New)
	mustCheck(t, m)
}

func TestMemoryExpiredEntriesAreNotCountedAsEvictions(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{MaxEntries: 2, SweepInterval: -1, Clock: clock.Now})
	reserve(t, m, "a", time.Second, New)
	reserve(t, m, "b", time.Hour, New)
	clock.Advance(time.Second)
	reserve(t, m, "c", time.Hour, New) // takes a's slot: a had expired
	if st := m.Stats(); st.Entries != 2 || st.Evictions != 0 {
		t.Fatalf("Stats = %+v, want 2 entries, 0 evictions", st)
	}
	reserve(t, m, "b", time.Hour, InFlight)
	reserve(t, m, "c", time.Hour, InFlight)
	mustCheck(t, m)
}

// TestMemoryReclaimsExpiredBehindLongReservation: routes sharing a
// namespace with different in_flight_ttl put a long reservation ahead of
// short ones; once a short one expired, a full store reuses its slot
// instead of refusing new keys with ErrFull (found in review).
func TestMemoryReclaimsExpiredBehindLongReservation(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{MaxEntries: 2, SweepInterval: -1, Clock: clock.Now})
	long, short, next := Key("t", []byte("long")), Key("t", []byte("short")), Key("t", []byte("next"))
	reserve(t, m, long, time.Hour, New)
	reserve(t, m, short, time.Second, New)
	clock.Advance(2 * time.Second)
	reserve(t, m, next, inflight, New) // takes the expired short reservation's slot
	reserve(t, m, long, time.Hour, InFlight)
	if st := m.Stats(); st.Entries != 2 || st.Refused != 0 || st.Evictions != 0 {
		t.Fatalf("after reclaiming an expired reservation: %+v", st)
	}
	mustCheck(t, m)
}

// TestMemoryBindings: a resize keeps the bindings with their digests, and
// bindings count towards MaxEntries, evicted oldest first like accepted
// entries, never in place of a reservation.
func TestMemoryBindings(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{MaxEntries: 4, SweepInterval: -1, Clock: clock.Now})
	defer m.Destruct()
	held := Key("t", []byte("held"))
	reserve(t, m, held, inflight, New)
	var keys []string
	for i := range 3 {
		k := Key("t", fmt.Appendf(nil, "%d", i))
		bind(t, m, k, body(k), ttl, true)
		keys = append(keys, k)
		clock.Advance(time.Millisecond)
	}
	n := m.Resized(MemoryOptions{MaxEntries: 4, SweepInterval: -1})
	defer n.Destruct()
	for _, k := range keys {
		bind(t, n, k, body("forged"), ttl, false)
		bind(t, n, k, body(k), ttl, true)
	}
	// Full: a new binding evicts the oldest binding, not the reservation.
	bind(t, n, Key("t", []byte("new")), body("x"), ttl, true)
	if st := n.Stats(); st.Entries != 4 || st.Evictions != 1 {
		t.Fatalf("Stats = %+v, want 4 entries and 1 eviction", st)
	}
	reserve(t, n, held, inflight, InFlight)
	bind(t, n, keys[0], body("forged"), ttl, true) // evicted: bound afresh
	bind(t, n, keys[2], body("forged"), ttl, false)
}
