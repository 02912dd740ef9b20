package replay

import (
	"container/list"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

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
