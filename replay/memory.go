package replay

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// The in-memory store: its options and its Store and Binder methods here;
// the shard (slab, hash table, lists) in memory_shard.go, the sweeper in
// memory_sweep.go, the move to another bound in memory_resize.go.

// DefaultMaxEntries bounds a Memory store when MemoryOptions.MaxEntries is 0.
const DefaultMaxEntries = 100_000

// DefaultSweepInterval is how often a Memory store removes expired entries
// when MemoryOptions.SweepInterval is 0.
const DefaultSweepInterval = time.Minute

// MaxMaxEntries is the largest MaxEntries a Memory store accepts (larger
// values are clamped).
const MaxMaxEntries = maxShards * maxShardEntries

const (
	maxShards       = 64
	minShardEntries = 4096      // fewer shards for small stores: shards fill more evenly
	maxShardEntries = 1<<24 - 1 // slot index+1 fits in the low 24 bits of a table word
	maxNanos        = math.MaxInt64
)

// MemoryOptions configures NewMemory. The zero value is usable.
type MemoryOptions struct {
	// MaxEntries bounds the number of entries (in-flight and accepted),
	// expired ones not yet swept included; it is never exceeded. The bound
	// is split evenly among the shards. A full shard makes room for a new
	// key by evicting an expired reservation, else its oldest accepted
	// entry (by time of its Commit); an unexpired in-flight reservation is
	// never evicted, and when only those are left Reserve fails with
	// ErrFull (the handler answers 503, and the provider retries). Keys are
	// SHA-256 digests, so the shards fill evenly: the fullest start to
	// evict shortly before the whole store is full (0.34% of the entries
	// at one million). 0 means DefaultMaxEntries; at most MaxMaxEntries.
	MaxEntries int

	// SweepInterval is how often a background goroutine removes expired
	// entries and reports evictions. 0 means DefaultSweepInterval; a
	// negative value starts no goroutine (call Sweep yourself).
	SweepInterval time.Duration

	// Clock returns the current time; nil means time.Now. Tests inject a
	// fake clock.
	Clock func() time.Time

	// OnEvict, if set, is called by the sweeper goroutine (never on the
	// request path) with the number of unexpired entries evicted because
	// the store was full since the previous call; it is not called when
	// there were none. Use it to log evictions once in a while.
	OnEvict func(evicted uint64)

	// OnRefuse, if set, is called like OnEvict with the number of new
	// keys refused with ErrFull since the previous call.
	OnRefuse func(refused uint64)
}

// MemoryStats is a snapshot of a Memory store.
type MemoryStats struct {
	Entries    int    // current entries, expired ones not yet swept included
	MaxEntries int    // the bound
	Evictions  uint64 // unexpired entries evicted because the store was full, since creation
	Refused    uint64 // new keys refused with ErrFull (only reservations in flight left), since creation
}

// Memory is the in-memory Store, the default. It is split in up to 64 shards,
// each with its own mutex, an open-addressing hash table and an intrusive
// doubly linked list in insertion order over a slab of fixed-size slots, so
// every step is O(1) and the entries hold no pointers for the garbage
// collector to scan (about 65 bytes per entry at one million entries). Every
// entry expires; at most MaxEntries are kept, the oldest being evicted first
// when the store (strictly: the key's shard) is full. Evictions are counted
// (Stats) and reported through OnEvict once per sweep, never per request.
//
// Memory has a Destruct method (caddy.Destructor) that stops its sweeper,
// so it can be shared through a caddy.UsagePool across config reloads.
type Memory struct {
	shards     []memShard
	shardMask  uint64
	maxEntries int
	clock      func() time.Time
	base       time.Time // times are kept as nanoseconds since base
	evictions  atomic.Uint64
	refused    atomic.Uint64

	onEvict  func(uint64)
	onRefuse func(uint64)
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// NewMemory returns a Memory store and starts its sweeper (see
// MemoryOptions.SweepInterval). Call Destruct to stop it.
func NewMemory(opts MemoryOptions) *Memory {
	maxEntries := opts.MaxEntries
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	if maxEntries > MaxMaxEntries {
		maxEntries = MaxMaxEntries
	}
	n := 1
	for n < maxShards && maxEntries/(2*n) >= minShardEntries {
		n *= 2
	}
	m := &Memory{
		shards:     make([]memShard, n),
		shardMask:  uint64(n - 1),
		maxEntries: maxEntries,
		clock:      opts.Clock,
		onEvict:    opts.OnEvict,
		onRefuse:   opts.OnRefuse,
	}
	if m.clock == nil {
		m.clock = time.Now
	}
	m.base = m.clock()
	for i := range m.shards {
		s := &m.shards[i]
		s.capacity = maxEntries / n
		if i < maxEntries%n {
			s.capacity++
		}
		s.head = [2]int32{nilSlot, nilSlot}
		s.tail = [2]int32{nilSlot, nilSlot}
		s.free = nilSlot
	}
	interval := opts.SweepInterval
	if interval == 0 {
		interval = DefaultSweepInterval
	}
	if interval > 0 {
		m.stop = make(chan struct{})
		m.done = make(chan struct{})
		go m.sweeper(interval)
	}
	return m
}

// ErrFull is returned by Memory's Reserve (and Commit) when the key's shard
// is full of unexpired in-flight reservations, which are never evicted. It
// wraps ErrUnavailable: the handler answers 503 and the provider retries.
var ErrFull = fmt.Errorf("%w: memory store full of deliveries in flight", ErrUnavailable)

// Reserve implements Store. It fails only on a non-positive TTL and with
// ErrFull.
func (m *Memory) Reserve(_ context.Context, key string, inflightTTL time.Duration) (State, Token, error) {
	if err := checkTTL(inflightTTL); err != nil {
		return 0, 0, err
	}
	d := digest(key)
	now := m.now()
	s := m.shard(&d)
	s.mu.Lock()
	i := s.find(&d)
	if i >= 0 {
		sl := &s.slots[i]
		if sl.expires > now {
			st := InFlight
			if sl.state == slotAccepted {
				st = Accepted
			}
			s.mu.Unlock()
			return st, 0, nil
		}
	}
	i, err := m.place(s, &d, i, now, slotInFlight)
	if err != nil {
		s.mu.Unlock()
		return 0, 0, err
	}
	s.seq++
	if s.seq == 0 {
		s.seq = 1
	}
	sl := &s.slots[i]
	sl.state = slotInFlight
	sl.expires = addTTL(now, inflightTTL)
	sl.token = s.seq
	tok := Token(s.seq)
	s.mu.Unlock()
	return New, tok, nil
}

// Commit implements Store. It fails only on a non-positive TTL and, when
// the reservation was lost and no room can be made, with ErrFull.
func (m *Memory) Commit(_ context.Context, key string, tok Token, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	d := digest(key)
	now := m.now()
	s := m.shard(&d)
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(&d)
	if i >= 0 {
		sl := &s.slots[i]
		if sl.state == slotAccepted && sl.expires > now {
			return nil
		}
	}
	i, err := m.place(s, &d, i, now, slotAccepted)
	if err != nil {
		return err
	}
	sl := &s.slots[i]
	sl.state = slotAccepted
	sl.expires = addTTL(now, ttl)
	sl.token = uint32(tok)
	return nil
}

// Release implements Store. It never fails.
func (m *Memory) Release(_ context.Context, key string, tok Token) error {
	if tok == 0 || tok > math.MaxUint32 {
		return nil
	}
	d := digest(key)
	s := m.shard(&d)
	s.mu.Lock()
	if i := s.find(&d); i >= 0 {
		if sl := &s.slots[i]; sl.state == slotInFlight && sl.token == uint32(tok) {
			s.remove(i)
		}
	}
	s.mu.Unlock()
	return nil
}

// Bind implements Binder. A binding is an entry like the others: it counts
// towards MaxEntries and, once the shard is full, is evicted oldest first
// together with the accepted entries (a copy of an evicted delivery is then
// bound afresh). It fails only on bad arguments and with ErrFull.
func (m *Memory) Bind(_ context.Context, key string, digest []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, err
	}
	if err := checkDigest(digest); err != nil {
		return false, err
	}
	d := bindDigest(key)
	now := m.now()
	s := m.shard(&d)
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(&d)
	if i >= 0 {
		sl := &s.slots[i]
		if sl.expires > now && sl.state == slotBound {
			return subtle.ConstantTimeCompare(s.bodies[i][:], digest) == 1, nil
		}
	}
	i, err := m.place(s, &d, i, now, slotBound)
	if err != nil {
		return false, err
	}
	sl := &s.slots[i]
	sl.state = slotBound
	sl.expires = addTTL(now, ttl)
	sl.token = 0
	s.setBody(i, digest)
	return true, nil
}

// place puts d in state st, in slot i where find found it (moved to the
// tail of st's list), else in a slot insert takes; it counts evictions,
// and refusals (ErrFull). The caller holds s.mu and sets expiry and token.
func (m *Memory) place(s *memShard, d *[32]byte, i int32, now int64, st uint8) (int32, error) {
	if i >= 0 {
		s.unlink(i)
		s.slots[i].state = st
		s.pushTail(i)
		return i, nil
	}
	i, evicted := s.insert(d, now, st)
	if i < 0 {
		m.refused.Add(1)
		return nilSlot, ErrFull
	}
	if evicted {
		m.evictions.Add(1)
	}
	return i, nil
}

// Stats returns the current number of entries and evictions.
func (m *Memory) Stats() MemoryStats {
	st := MemoryStats{MaxEntries: m.maxEntries, Evictions: m.evictions.Load(), Refused: m.refused.Load()}
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		st.Entries += s.count
		s.mu.Unlock()
	}
	return st
}

func (m *Memory) now() int64 { return int64(m.clock().Sub(m.base)) }

func (m *Memory) shard(d *[32]byte) *memShard {
	return &m.shards[binary.LittleEndian.Uint64(d[0:8])&m.shardMask]
}

func addTTL(now int64, ttl time.Duration) int64 {
	if int64(ttl) > maxNanos-now {
		return maxNanos
	}
	return now + int64(ttl)
}

// Interface guards
var (
	_ Store  = (*Memory)(nil)
	_ Binder = (*Memory)(nil)
)
