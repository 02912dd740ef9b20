package queue

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/webhookverify/caddy-webhook-verify/internal/redistest"
)

var benchBody = bytes.Repeat([]byte("x"), 1024)

func benchEntry() *Entry {
	return &Entry{Method: "POST", URI: "/hooks/stripe", Body: benchBody,
		Header: map[string][]string{"Content-Type": {"application/json"}, "User-Agent": {"Stripe/1.0"}},
		Vars:   map[string]string{"provider": "stripe", "id": "evt_1", "verified": "true"}}
}

// BenchmarkBoltAppend appends 1 KiB entries from 16 goroutines per core
// (b.SetParallelism) and from one, each Append waiting for its fsync; the
// sub-benchmarks vary BoltOptions.BatchDelay.
//
//	go test -run '^$' -bench BenchmarkBoltAppend -benchtime 3s ./queue
func BenchmarkBoltAppend(b *testing.B) {
	for _, c := range []struct {
		name     string
		parallel int
		delay    time.Duration
	}{
		{"serial/delay=0.5ms", 0, 500 * time.Microsecond},
		{"serial/delay=1ms", 0, time.Millisecond},
		{"serial/delay=2ms", 0, 2 * time.Millisecond},
		{"parallel16/delay=0.5ms", 8, 500 * time.Microsecond},
		{"parallel16/delay=1ms", 8, time.Millisecond},
		{"parallel16/delay=2ms", 8, 2 * time.Millisecond},
		{"parallel16/delay=10ms", 8, 10 * time.Millisecond},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := OpenBolt(filepath.Join(b.TempDir(), "q.db"), BoltOptions{BatchDelay: c.delay})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			b.SetBytes(int64(len(benchBody)))
			b.ResetTimer()
			start := time.Now()
			if c.parallel == 0 {
				for b.Loop() {
					if _, err := s.Append(ctx, "q", benchEntry(), Limits{}); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.SetParallelism(c.parallel) // 8 × GOMAXPROCS(2) = 16 senders here
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := s.Append(ctx, "q", benchEntry(), Limits{}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
		})
	}
}

// BenchmarkBoltClaimAck claims and acks entries appended beforehand, from
// 4 workers each claiming 8 at a time (one fsync per Claim and per Ack,
// shared through batching).
func BenchmarkBoltClaimAck(b *testing.B) {
	s, err := OpenBolt(filepath.Join(b.TempDir(), "q.db"), BoltOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	// Prefill in parallel (group commits) so the setup stays short.
	var wg sync.WaitGroup
	per := (b.N + 15) / 16
	for range 16 {
		wg.Go(func() {
			for range per {
				if _, err := s.Append(ctx, "q", benchEntry(), Limits{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ResetTimer()
	start := time.Now()
	var mu sync.Mutex
	done := 0
	for range 4 {
		wg.Go(func() {
			for {
				ls, err := s.Claim(ctx, "q", 8, time.Minute, time.Now())
				if err != nil {
					b.Error(err)
					return
				}
				if len(ls) == 0 {
					return
				}
				var aw sync.WaitGroup
				for _, l := range ls {
					aw.Go(func() {
						if err := s.Ack(ctx, "q", l); err != nil {
							b.Error(err)
						}
					})
				}
				aw.Wait()
				mu.Lock()
				done += len(ls)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if done < b.N {
		b.Fatalf("delivered %d of %d", done, b.N)
	}
	b.ReportMetric(float64(done)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(done), "ns/delivery")
}

// benchPersistence are the Redis persistence settings the benchmarks run
// under.
var benchPersistence = []struct {
	name string
	args []string
}{
	{"none", nil},
	{"aof_everysec", []string{"--appendonly", "yes", "--appendfsync", "everysec"}},
	{"aof_always", []string{"--appendonly", "yes", "--appendfsync", "always"}},
}

// BenchmarkRedisAppend: parallel appends of 1 KiB entries to one queue
// (8 goroutines per GOMAXPROCS), per persistence setting.
func BenchmarkRedisAppend(b *testing.B) {
	body := strings.Repeat("x", 1024)
	for _, p := range benchPersistence {
		b.Run(p.name, func(b *testing.B) {
			r := redistest.Start(b, 0, "", p.args...)
			s := newTestStore(b, r.Client(b, &redis.Options{PoolSize: 64}), "")
			b.SetBytes(1024)
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Append(bg, "bench", testEntry(body), Limits{MaxEntries: 1 << 40}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkRedisClaimAck: parallel Claim of one entry then Ack (two round
// trips), on a queue filled beforehand.
func BenchmarkRedisClaimAck(b *testing.B) {
	r := redistest.Start(b, 0, "")
	s := newTestStore(b, r.Client(b, &redis.Options{PoolSize: 64}), "")
	body := strings.Repeat("x", 1024)
	p := s.client.Pipeline()
	if err := appendScript.Load(bg, s.client).Err(); err != nil {
		b.Fatal(err)
	}
	for range b.N + 100 {
		e := testEntry(body)
		e.Created, e.NextAt = time.Now(), time.Now()
		appendScript.Run(bg, p, s.keys("bench"), Encode(e), e.Size(), e.Created.UnixNano(), e.Created.UnixMicro(), e.NextAt.UnixMicro(), 0, 0, 0, randomHex(8))
		if p.Len() >= 1000 {
			if _, err := p.Exec(bg); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := p.Exec(bg); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ls, err := s.Claim(bg, "bench", 1, time.Minute, time.Now())
			if err != nil || len(ls) != 1 {
				b.Errorf("Claim: %d, %v", len(ls), err)
				return
			}
			if err := s.Ack(bg, "bench", ls[0]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
