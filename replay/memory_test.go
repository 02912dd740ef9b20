package replay

import (
	"container/list"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// check verifies the internal invariants of every shard: the table, the
// list and the slab agree, and no shard holds more than its capacity.
func (m *Memory) check() error {
	total := 0
	for si := range m.shards {
		s := &m.shards[si]
		s.mu.Lock()
		err := s.check(m, si)
		total += s.capacity
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("shard %d: %w", si, err)
		}
	}
	if total != m.maxEntries {
		return fmt.Errorf("shard capacities sum to %d, want %d", total, m.maxEntries)
	}
	return nil
}

func (s *memShard) check(m *Memory, si int) error {
	used := 0
	for i := range s.slots {
		if s.slots[i].state != slotFree {
			used++
			if m.shard(&s.slots[i].key) != s {
				return fmt.Errorf("slot %d is in the wrong shard", i)
			}
			if got := s.find(&s.slots[i].key); got != int32(i) {
				return fmt.Errorf("find(slot %d) = %d", i, got)
			}
		}
	}
	if used != s.count {
		return fmt.Errorf("%d used slots, count %d", used, s.count)
	}
	if s.count > s.capacity || len(s.slots) > s.capacity {
		return fmt.Errorf("count %d, %d slots, capacity %d", s.count, len(s.slots), s.capacity)
	}
	words := 0
	for _, w := range s.table {
		if w != 0 {
			words++
		}
	}
	if words != s.count {
		return fmt.Errorf("%d table words, count %d", words, s.count)
	}
	if s.count > 0 && s.count*4 > len(s.table)*3 {
		return fmt.Errorf("table of %d words holds %d", len(s.table), s.count)
	}
	n := 0
	for l := range s.head {
		prev := nilSlot
		for i := s.head[l]; i != nilSlot; i = s.slots[i].next {
			if s.slots[i].state == slotFree || listOf(s.slots[i].state) != l || s.slots[i].prev != prev {
				return fmt.Errorf("list %d broken at slot %d", l, i)
			}
			prev = i
			if n++; n > s.count {
				return fmt.Errorf("lists longer than count %d", s.count)
			}
		}
		if prev != s.tail[l] {
			return fmt.Errorf("list %d ends at %d, tail %d", l, prev, s.tail[l])
		}
	}
	if n != s.count {
		return fmt.Errorf("lists of %d, count %d", n, s.count)
	}
	free := 0
	for i := s.free; i != nilSlot; i = s.slots[i].next {
		if s.slots[i].state != slotFree {
			return fmt.Errorf("used slot %d on the free list", i)
		}
		if free++; free > len(s.slots) {
			return fmt.Errorf("free list loops")
		}
	}
	if free+s.count != len(s.slots) {
		return fmt.Errorf("%d free + %d used != %d slots", free, s.count, len(s.slots))
	}
	return nil
}

func mustCheck(t testing.TB, m *Memory) {
	t.Helper()
	if err := m.check(); err != nil {
		t.Fatal(err)
	}
}

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

func TestMemorySweep(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{MaxEntries: 10_000, SweepInterval: -1, Clock: clock.Now})
	const n = 4000
	for i := range n {
		k := Key("t", fmt.Appendf(nil, "%d", i))
		tok := reserve(t, m, k, inflight, New)
		if i%2 == 0 {
			commit(t, m, k, tok, ttl)
		}
	}
	if got := m.Sweep(); got != 0 {
		t.Fatalf("Sweep removed %d fresh entries", got)
	}
	clock.Advance(inflight)
	if got := m.Sweep(); got != n/2 {
		t.Fatalf("Sweep removed %d, want %d expired reservations", got, n/2)
	}
	if st := m.Stats(); st.Entries != n/2 {
		t.Fatalf("Stats = %+v, want %d entries", st, n/2)
	}
	mustCheck(t, m)
	for i := range n {
		want := Accepted
		if i%2 == 1 {
			want = New
		}
		reserve(t, m, Key("t", fmt.Appendf(nil, "%d", i)), inflight, want)
	}
	clock.Advance(ttl)
	if got := m.Sweep(); got != n {
		t.Fatalf("Sweep removed %d, want %d", got, n)
	}
	if st := m.Stats(); st.Entries != 0 {
		t.Fatalf("Stats = %+v, want no entries", st)
	}
	mustCheck(t, m)
}

func TestMemorySweeperAndDestruct(t *testing.T) {
	clock := newFakeClock()
	evicted := make(chan uint64, 100)
	m := NewMemory(MemoryOptions{
		MaxEntries:    5,
		SweepInterval: time.Millisecond,
		Clock:         clock.Now,
		OnEvict:       func(n uint64) { evicted <- n },
	})
	for i := range 12 {
		k := Key("t", fmt.Appendf(nil, "%d", i))
		commit(t, m, k, reserve(t, m, k, inflight, New), inflight)
	}
	// The sweeper reports the 7 evictions, in one call or a few.
	var total uint64
	deadline := time.After(10 * time.Second)
	for total < 7 {
		select {
		case n := <-evicted:
			if n == 0 {
				t.Fatal("OnEvict called with 0")
			}
			total += n
		case <-deadline:
			t.Fatalf("sweeper reported %d evictions, want 7", total)
		}
	}
	// The sweeper removes expired entries by itself.
	clock.Advance(inflight)
	for m.Stats().Entries != 0 {
		select {
		case <-deadline:
			t.Fatalf("sweeper left %d expired entries", m.Stats().Entries)
		case <-time.After(time.Millisecond):
		}
	}
	if err := m.Destruct(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.done:
	default:
		t.Fatal("sweeper still running after Destruct")
	}
	if err := m.Destruct(); err != nil {
		t.Fatal("second Destruct:", err)
	}
	if total != 7 || len(evicted) != 0 {
		t.Fatalf("OnEvict reported %d (+%d calls pending), want 7", total, len(evicted))
	}
	// Still usable after Destruct.
	reserve(t, m, "after", inflight, New)
}

func TestMemoryDestructReportsPendingEvictions(t *testing.T) {
	var got, refused []uint64
	m := NewMemory(MemoryOptions{MaxEntries: 1, SweepInterval: time.Hour,
		OnEvict:  func(n uint64) { got = append(got, n) },
		OnRefuse: func(n uint64) { refused = append(refused, n) },
	})
	for i := range 4 {
		commit(t, m, fmt.Sprint(i), reserve(t, m, fmt.Sprint(i), inflight, New), ttl)
	}
	reserve(t, m, "held", inflight, New) // evicts 3
	for range 2 {
		if _, _, err := m.Reserve(ctx, "refused", inflight); !errors.Is(err, ErrFull) {
			t.Fatalf("Reserve = %v, want ErrFull", err)
		}
	}
	m.Destruct()
	if len(got) != 1 || got[0] != 4 {
		t.Fatalf("OnEvict calls = %v, want one call with 4", got)
	}
	if len(refused) != 1 || refused[0] != 2 {
		t.Fatalf("OnRefuse calls = %v, want one call with 2", refused)
	}
	// No goroutine at all with a negative interval.
	m2 := NewMemory(MemoryOptions{SweepInterval: -1})
	if m2.stop != nil || m2.Destruct() != nil {
		t.Fatal("negative SweepInterval started a sweeper")
	}
}

// model is a reference implementation of Memory's documented behaviour,
// slow and obviously correct, for TestMemoryMatchesModel.
type model struct {
	max     int
	entries map[string]*list.Element // of *modelEntry, oldest first
	order   *list.List
	evicted uint64
	refused uint64
}

type modelEntry struct {
	key     string
	state   State // InFlight or Accepted
	expires time.Time
	token   Token
}

// touch moves key to the back, or makes room for it: an expired
// reservation (the oldest one), else the oldest accepted entry, else an
// expired reservation among the oldest maxInFlightScan; an
// unexpired reservation is never evicted, and touch returns nil when only
// those are left.
func (md *model) touch(key string, now time.Time) *modelEntry {
	if el, ok := md.entries[key]; ok {
		md.order.MoveToBack(el)
		return el.Value.(*modelEntry)
	}
	if md.order.Len() == md.max {
		var victim *list.Element
		for el := md.order.Front(); el != nil; el = el.Next() {
			if e := el.Value.(*modelEntry); e.state == InFlight {
				if !e.expires.After(now) {
					victim = el
				}
				break
			}
		}
		for el := md.order.Front(); victim == nil && el != nil; el = el.Next() {
			if el.Value.(*modelEntry).state == Accepted {
				victim = el
			}
		}
		// Then an expired reservation among the oldest maxInFlightScan.
		n := 0
		for el := md.order.Front(); victim == nil && el != nil && n < maxInFlightScan; el = el.Next() {
			if e := el.Value.(*modelEntry); e.state == InFlight {
				n++
				if !e.expires.After(now) {
					victim = el
				}
			}
		}
		if victim == nil {
			md.refused++
			return nil
		}
		old := md.order.Remove(victim).(*modelEntry)
		delete(md.entries, old.key)
		if old.expires.After(now) {
			md.evicted++
		}
	}
	e := &modelEntry{key: key}
	md.entries[key] = md.order.PushBack(e)
	return e
}

// reserve returns 0 when the store is full.
func (md *model) reserve(key string, now time.Time, d time.Duration) State {
	if el, ok := md.entries[key]; ok {
		if e := el.Value.(*modelEntry); e.expires.After(now) {
			return e.state
		}
	}
	e := md.touch(key, now)
	if e == nil {
		return 0
	}
	e.state, e.expires, e.token = InFlight, now.Add(d), 0
	return New
}

// commit reports false when the store is full.
func (md *model) commit(key string, now time.Time, d time.Duration) bool {
	if el, ok := md.entries[key]; ok {
		if e := el.Value.(*modelEntry); e.state == Accepted && e.expires.After(now) {
			return true
		}
	}
	e := md.touch(key, now)
	if e == nil {
		return false
	}
	e.state, e.expires = Accepted, now.Add(d)
	return true
}

func (md *model) release(key string, tok Token) {
	if el, ok := md.entries[key]; ok {
		if e := el.Value.(*modelEntry); e.state == InFlight && e.token == tok {
			md.order.Remove(el)
			delete(md.entries, key)
		}
	}
}

func (md *model) sweep(now time.Time) {
	for key, el := range md.entries {
		if !el.Value.(*modelEntry).expires.After(now) {
			md.order.Remove(el)
			delete(md.entries, key)
		}
	}
}

// TestMemoryMatchesModel drives Memory and the model with the same random
// steps (small capacity, many keys: constant eviction, table growth and
// backward-shift deletions) and compares every answer.
func TestMemoryMatchesModel(t *testing.T) {
	for _, maxEntries := range []int{1, 7, 300, 2000} {
		t.Run(fmt.Sprint(maxEntries), func(t *testing.T) {
			clock := newFakeClock()
			m := NewMemory(MemoryOptions{MaxEntries: maxEntries, SweepInterval: -1, Clock: clock.Now})
			if len(m.shards) != 1 {
				t.Fatal("model assumes one shard")
			}
			md := &model{max: maxEntries, entries: map[string]*list.Element{}, order: list.New()}
			rng := rand.New(rand.NewPCG(1, uint64(maxEntries)))
			keys := make([]string, 3*maxEntries+5)
			for i := range keys {
				keys[i] = Key("model", fmt.Appendf(nil, "%d", i))
			}
			tokens := map[string]Token{}
			steps := 20_000
			if testing.Short() {
				steps = 5_000
			}
			for step := range steps {
				key := keys[rng.IntN(len(keys))]
				now := clock.Now()
				switch op := rng.IntN(100); {
				case op < 50:
					d := time.Duration(1+rng.IntN(100)) * time.Second
					st, tok, err := m.Reserve(ctx, key, d)
					want := md.reserve(key, now, d)
					if (want == 0) != errors.Is(err, ErrFull) || (want != 0 && (err != nil || st != want)) {
						t.Fatalf("step %d: Reserve = %v, %v; model says %v", step, st, err, want)
					}
					if st == New {
						tokens[key] = tok
						md.entries[key].Value.(*modelEntry).token = tok
					}
				case op < 70:
					d := time.Duration(1+rng.IntN(300)) * time.Second
					err := m.Commit(ctx, key, tokens[key], d)
					if ok := md.commit(key, now, d); ok != (err == nil) || (err != nil && !errors.Is(err, ErrFull)) {
						t.Fatalf("step %d: Commit = %v; model says ok %v", step, err, ok)
					}
				case op < 85:
					tok := tokens[key]
					if rng.IntN(4) == 0 {
						tok++ // a stale or foreign token
					}
					if err := m.Release(ctx, key, tok); err != nil {
						t.Fatal(err)
					}
					md.release(key, tok)
				case op < 88:
					m.Sweep()
					md.sweep(now)
				default:
					clock.Advance(time.Duration(rng.IntN(20)) * time.Second)
				}
				if step%500 == 0 {
					mustCheck(t, m)
				}
			}
			mustCheck(t, m)
			if st := m.Stats(); st.Entries != md.order.Len() || st.Evictions != md.evicted || st.Refused != md.refused {
				t.Fatalf("Stats = %+v; model has %d entries, %d evictions, %d refused", st, md.order.Len(), md.evicted, md.refused)
			}
			if maxEntries <= 7 && (md.evicted == 0 || md.refused == 0) {
				t.Fatalf("the random steps never evicted (%d) or never refused (%d)", md.evicted, md.refused)
			}
		})
	}
}

// TestMemoryConcurrent hammers a small sharded store from many goroutines
// (run it with -race), then checks the invariants and the bound.
func TestMemoryConcurrent(t *testing.T) {
	m := NewMemory(MemoryOptions{MaxEntries: 16384, SweepInterval: time.Millisecond})
	defer m.Destruct()
	if len(m.shards) < 2 {
		t.Fatal("want several shards")
	}
	var wg sync.WaitGroup
	steps := 20_000
	if testing.Short() {
		steps = 2_000
	}
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range steps {
				key := Key("c", fmt.Appendf(nil, "%d", rng.IntN(40_000)))
				st, tok, err := m.Reserve(ctx, key, time.Duration(1+rng.IntN(5))*time.Millisecond)
				if err != nil {
					t.Error(err)
					return
				}
				if st != New {
					continue
				}
				if rng.IntN(2) == 0 {
					err = m.Commit(ctx, key, tok, time.Duration(1+rng.IntN(5))*time.Millisecond)
				} else {
					err = m.Release(ctx, key, tok)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	mustCheck(t, m)
	if st := m.Stats(); st.Entries > st.MaxEntries {
		t.Fatalf("Stats = %+v: over the bound", st)
	}
}

func TestSlotSize(t *testing.T) {
	// The bytes-per-entry figures rest on this size; see BenchmarkMemoryBytesPerEntry.
	if got := unsafe.Sizeof(slot{}); got != 56 {
		t.Fatalf("slot is %d bytes, want 56", got)
	}
}

func TestMemoryResizedKeepsState(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{MaxEntries: 20, SweepInterval: -1, Clock: clock.Now})
	held := Key("t", []byte("held"))
	tokHeld := reserve(t, m, held, inflight, New)
	var accepted []string
	for i := range 10 {
		k := Key("t", fmt.Appendf(nil, "%d", i))
		commit(t, m, k, reserve(t, m, k, inflight, New), ttl)
		accepted = append(accepted, k)
		clock.Advance(time.Millisecond)
	}
	expired := Key("t", []byte("expired"))
	reserve(t, m, expired, time.Millisecond, New)
	clock.Advance(time.Millisecond)

	for _, size := range []int{100_000, 6} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			n := m.Resized(MemoryOptions{MaxEntries: size, SweepInterval: -1})
			defer n.Destruct()
			mustCheck(t, n)
			keep := accepted
			if size == 6 {
				keep = accepted[len(accepted)-5:] // the held reservation and the 5 newest
			}
			reserve(t, n, held, inflight, InFlight)
			for _, k := range keep {
				reserve(t, n, k, inflight, Accepted)
			}
			if size == 6 {
				reserve(t, n, accepted[0], inflight, New) // left out
			}
			reserve(t, n, expired, inflight, New)
			if n.Stats().MaxEntries != size {
				t.Fatalf("Stats = %+v", n.Stats())
			}
			// The reservation made in m is still ours to release.
			if err := n.Release(ctx, held, tokHeld); err != nil {
				t.Fatal(err)
			}
			tok := reserve(t, n, held, inflight, New)
			if tok == tokHeld {
				t.Fatal("token reused after a resize")
			}
			_ = n.Release(ctx, held, tok)
		})
	}
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
