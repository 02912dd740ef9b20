package replay

// The memory store against its size: bytes per entry, and the cost of a
// lookup (a duplicate: Reserve of an accepted key, spread at random over
// the store) and of a new delivery (Reserve and Commit; the store is at
// its bound, so each one evicts the oldest entry of its shard), at 10k,
// 100k and 1M entries (bench/README.md, "Scaling"):
//
//	go test -run '^$' -bench MemoryScaling -benchtime 200000x ./replay
//
// The store's bound is the number of entries, as with max_entries set to
// it. The key generator's cost (BenchmarkKeyGen) is in both figures.

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

func BenchmarkMemoryScaling(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		var (
			m        *Memory
			perEntry float64
			hi       uint64 // keys 1..hi were inserted, the last n/2 are surely still there
		)
		fill := func(b *testing.B) {
			if m != nil {
				return
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			m = NewMemory(MemoryOptions{MaxEntries: n, SweepInterval: -1})
			var g keyGen
			for range n {
				k := g.next()
				_, tok, _ := m.Reserve(ctx, k, time.Minute)
				m.Commit(ctx, k, tok, time.Hour)
			}
			hi = uint64(n)
			runtime.GC()
			runtime.ReadMemStats(&after)
			perEntry = float64(after.HeapAlloc-before.HeapAlloc) / float64(m.Stats().Entries)
		}
		b.Run(fmt.Sprintf("entries=%d/duplicate", n), func(b *testing.B) {
			fill(b)
			// Only keys no shard has evicted yet: the last half inserted.
			lo, span := hi-uint64(n/2), uint64(n/2)
			x := uint64(1)
			b.ReportAllocs()
			for b.Loop() {
				x = x*6364136223846793005 + 1442695040888963407
				g := keyGen{n: lo + (x>>33)%span}
				if st, _, _ := m.Reserve(ctx, g.next(), time.Minute); st != Accepted {
					b.Fatalf("Reserve = %v, want accepted", st)
				}
			}
			b.ReportMetric(perEntry, "bytes/entry")
		})
		b.Run(fmt.Sprintf("entries=%d/new", n), func(b *testing.B) {
			fill(b)
			g := keyGen{n: hi}
			defer func() { hi = g.n }()
			b.ReportAllocs()
			for b.Loop() {
				k := g.next()
				st, tok, _ := m.Reserve(ctx, k, time.Minute)
				if st != New {
					b.Fatalf("Reserve = %v, want new", st)
				}
				m.Commit(ctx, k, tok, time.Hour)
			}
			b.ReportMetric(perEntry, "bytes/entry")
		})
		if m != nil {
			m.Destruct()
			m = nil
		}
	}
}
