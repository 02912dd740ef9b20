package replay

// Benchmarks. Run them with, for example:
//
//	go test -run '^$' -bench . -cpu 1 ./replay               # one core
//	go test -run '^$' -bench BytesPerEntry -benchtime 1x ./replay
//
// The one-million-entry benchmark only runs with -bench, never in the normal
// test run.

import (
	"encoding/binary"
	"encoding/hex"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/caddyserver/certmagic"
)

// keyGen makes distinct, uniformly spread keys of the form Key returns
// (64 hex digits) without hashing or allocating: splitmix64 of a counter.
// The returned string aliases the generator's buffer and is only valid
// until the next call, which is fine for Memory (it keeps no string).
type keyGen struct {
	n   uint64
	raw [32]byte
	buf [64]byte
}

func (g *keyGen) next() string {
	g.n++
	x := g.n
	for i := 0; i < 4; i++ {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		binary.LittleEndian.PutUint64(g.raw[8*i:], z^(z>>31))
	}
	hex.Encode(g.buf[:], g.raw[:])
	return unsafe.String(&g.buf[0], len(g.buf))
}

func reportOpsPerSecond(b *testing.B, opsPerIteration int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N*opsPerIteration)/s, "steps/s")
	}
}

// BenchmarkKey: deriving a key (SHA-256 of a short delivery id).
func BenchmarkKey(b *testing.B) {
	material := []byte("evt_1NirD82eZvKYlo2CIvbtLWuY")
	for b.Loop() {
		Key("stripe|srv0/route3", material)
	}
}

// BenchmarkKeyGen is the cost of the benchmarks' key generator, included in
// the figures below.
func BenchmarkKeyGen(b *testing.B) {
	var g keyGen
	for b.Loop() {
		g.next()
	}
}

// BenchmarkMemoryReserveCommit: a new delivery, Reserve then Commit, into a
// store that never fills (1<<24 entries max).
func BenchmarkMemoryReserveCommit(b *testing.B) {
	m := NewMemory(MemoryOptions{MaxEntries: 1 << 24, SweepInterval: -1})
	defer m.Destruct()
	var g keyGen
	b.ReportAllocs()
	for b.Loop() {
		k := g.next()
		_, tok, _ := m.Reserve(ctx, k, time.Minute)
		m.Commit(ctx, k, tok, time.Hour)
	}
	reportOpsPerSecond(b, 2)
}

// BenchmarkMemoryReserveCommitFull: the same into a full store, so every new
// key evicts the oldest entry.
func BenchmarkMemoryReserveCommitFull(b *testing.B) {
	const n = 1 << 16
	m := NewMemory(MemoryOptions{MaxEntries: n, SweepInterval: -1})
	defer m.Destruct()
	var g keyGen
	for range n {
		k := g.next()
		_, tok, _ := m.Reserve(ctx, k, time.Minute)
		m.Commit(ctx, k, tok, time.Hour)
	}
	b.ReportAllocs()
	for b.Loop() {
		k := g.next()
		_, tok, _ := m.Reserve(ctx, k, time.Minute)
		m.Commit(ctx, k, tok, time.Hour)
	}
	reportOpsPerSecond(b, 2)
	if m.Stats().Evictions == 0 {
		b.Fatal("no evictions")
	}
}

// BenchmarkMemoryReserveRelease: a new delivery the upstream refused.
func BenchmarkMemoryReserveRelease(b *testing.B) {
	m := NewMemory(MemoryOptions{MaxEntries: 1 << 20, SweepInterval: -1})
	defer m.Destruct()
	var g keyGen
	b.ReportAllocs()
	for b.Loop() {
		k := g.next()
		_, tok, _ := m.Reserve(ctx, k, time.Minute)
		m.Release(ctx, k, tok)
	}
	reportOpsPerSecond(b, 2)
}

// BenchmarkMemoryDuplicate: Reserve of a key already accepted (a retry).
func BenchmarkMemoryDuplicate(b *testing.B) {
	const n = 1 << 16
	m := NewMemory(MemoryOptions{MaxEntries: 1 << 20, SweepInterval: -1})
	defer m.Destruct()
	keys := make([]string, n)
	var g keyGen
	for i := range keys {
		keys[i] = string([]byte(g.next()))
		_, tok, _ := m.Reserve(ctx, keys[i], time.Minute)
		m.Commit(ctx, keys[i], tok, time.Hour)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if st, _, _ := m.Reserve(ctx, keys[i&(n-1)], time.Minute); st != Accepted {
			b.Fatal(st)
		}
		i++
	}
	reportOpsPerSecond(b, 1)
}

// BenchmarkMemoryReserveCommitParallel: Reserve+Commit from every
// GOMAXPROCS goroutine (-cpu 1,2,...).
func BenchmarkMemoryReserveCommitParallel(b *testing.B) {
	m := NewMemory(MemoryOptions{MaxEntries: 1 << 24, SweepInterval: -1})
	defer m.Destruct()
	var seed atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		g := keyGen{n: seed.Add(1) << 40}
		for pb.Next() {
			k := g.next()
			_, tok, _ := m.Reserve(ctx, k, time.Minute)
			m.Commit(ctx, k, tok, time.Hour)
		}
	})
	reportOpsPerSecond(b, 2)
}

// BenchmarkMemoryBytesPerEntry fills a store with one million accepted
// entries and reports the live heap it holds per entry (after a GC, from
// runtime.ReadMemStats before and after), with the store's bound at one
// million (a full store) and at four million (the same entries in a store
// allowed to grow further, so its slabs and tables are not at their final
// size).
func BenchmarkMemoryBytesPerEntry(b *testing.B) {
	const entries = 1_000_000
	for _, bc := range []struct {
		name       string
		maxEntries int
	}{{"full_1M", entries}, {"bound_4M", 4 * entries}} {
		b.Run(bc.name, func(b *testing.B) {
			var perEntry, retained float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				m := NewMemory(MemoryOptions{MaxEntries: bc.maxEntries, SweepInterval: -1})
				var g keyGen
				for range entries {
					k := g.next()
					_, tok, _ := m.Reserve(ctx, k, time.Minute)
					m.Commit(ctx, k, tok, time.Hour)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				// A shard evicts when it is full: in a full store the
				// fullest shards have started evicting already.
				retained = float64(m.Stats().Entries)
				perEntry = float64(after.HeapAlloc-before.HeapAlloc) / retained
				runtime.KeepAlive(m)
			}
			b.ReportMetric(perEntry, "bytes/entry")
			b.ReportMetric(retained, "entries")
		})
	}
}

// BenchmarkStorageReserveCommit: the storage-backed store over a local
// FileStorage (lock file, load, write, unlock, twice per delivery).
func BenchmarkStorageReserveCommit(b *testing.B) {
	s := NewStorage(&certmagic.FileStorage{Path: b.TempDir()}, "bench", StorageOptions{PurgeInterval: -1})
	defer s.Destruct()
	var g keyGen
	for b.Loop() {
		k := g.next()
		_, tok, err := s.Reserve(ctx, k, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Commit(ctx, k, tok, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	reportOpsPerSecond(b, 2)
}
