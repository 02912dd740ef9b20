package replay

import (
	"fmt"
	"testing"
	"time"
)

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
