package queue

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
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
