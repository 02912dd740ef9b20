package replay

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

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
