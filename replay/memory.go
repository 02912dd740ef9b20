package replay

import (
	"context"
	"encoding/binary"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

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
	minTableLen     = 16        // power of two
	tagShift        = 24        // table word: tag<<24 | slot index+1
	idxMask         = 1<<24 - 1 // low 24 bits of a table word
	nilSlot         = int32(-1) // end of a list
	slotFree        = uint8(0)  // slot states
	slotInFlight    = uint8(1)  //
	slotAccepted    = uint8(2)  //
	maxNanos        = math.MaxInt64
)

// MemoryOptions configures NewMemory. The zero value is usable.
type MemoryOptions struct {
	// MaxEntries bounds the number of entries (in-flight and accepted),
	// expired ones not yet swept included; it is never exceeded. The bound
	// is split evenly among the shards, and a full shard evicts its oldest
	// entry (by time of its last Reserve or Commit) for a new key. Keys are
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
}

// MemoryStats is a snapshot of a Memory store.
type MemoryStats struct {
	Entries    int    // current entries, expired ones not yet swept included
	MaxEntries int    // the bound
	Evictions  uint64 // unexpired entries evicted because the store was full, since creation
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

	onEvict  func(uint64)
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

var _ Store = (*Memory)(nil)

// slot is one entry: 56 bytes, no pointers.
type slot struct {
	key        [32]byte
	expires    int64 // nanoseconds since Memory.base
	prev, next int32 // insertion-order list; next also links the free list
	token      uint32
	state      uint8
}

type memShard struct {
	mu       sync.Mutex
	slots    []slot
	table    []uint32 // linear probing; 0 = empty, else tag<<24 | slot index+1
	count    int
	capacity int
	head     int32 // oldest
	tail     int32 // newest
	free     int32
	seq      uint32 // last token handed out
	_        [64]byte
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
		s.head, s.tail, s.free = nilSlot, nilSlot, nilSlot
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

// Reserve implements Store. It never fails except on a non-positive TTL.
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
		s.unlink(i)
		s.pushTail(i)
	} else {
		var evicted bool
		i, evicted = s.insert(&d, now)
		if evicted {
			m.evictions.Add(1)
		}
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

// Commit implements Store. It never fails except on a non-positive TTL.
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
		s.unlink(i)
		s.pushTail(i)
	} else {
		var evicted bool
		i, evicted = s.insert(&d, now)
		if evicted {
			m.evictions.Add(1)
		}
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

// Sweep removes expired entries now and returns how many it removed. The
// sweeper goroutine calls it every SweepInterval; it locks one shard at a
// time.
func (m *Memory) Sweep() int {
	now := m.now()
	removed := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for j := range s.slots {
			if sl := &s.slots[j]; sl.state != slotFree && sl.expires <= now {
				s.remove(int32(j))
				removed++
			}
		}
		s.mu.Unlock()
	}
	return removed
}

// Stats returns the current number of entries and evictions.
func (m *Memory) Stats() MemoryStats {
	st := MemoryStats{MaxEntries: m.maxEntries, Evictions: m.evictions.Load()}
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		st.Entries += s.count
		s.mu.Unlock()
	}
	return st
}

// Destruct stops the sweeper goroutine and waits for it to return. It
// implements caddy.Destructor and may be called more than once. The store
// stays usable afterwards, but nothing sweeps it any more.
func (m *Memory) Destruct() error {
	m.stopOnce.Do(func() {
		if m.stop != nil {
			close(m.stop)
			<-m.done
		}
	})
	return nil
}

func (m *Memory) sweeper(interval time.Duration) {
	defer close(m.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	var reported uint64
	report := func() {
		if m.onEvict == nil {
			return
		}
		if e := m.evictions.Load(); e > reported {
			m.onEvict(e - reported)
			reported = e
		}
	}
	for {
		select {
		case <-m.stop:
			report()
			return
		case <-t.C:
			m.Sweep()
			report()
		}
	}
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

// home is the key's first bucket; tag is stored beside the slot index so
// most probes that miss do not touch the slab.
func home(d *[32]byte) uint64          { return binary.LittleEndian.Uint64(d[8:16]) }
func tag(d *[32]byte) uint32           { return uint32(d[16]) }
func word(d *[32]byte, i int32) uint32 { return tag(d)<<tagShift | uint32(i+1) }

// find returns the slot index holding d, or -1.
func (s *memShard) find(d *[32]byte) int32 {
	if len(s.table) == 0 {
		return nilSlot
	}
	mask := uint64(len(s.table) - 1)
	t := tag(d)
	for p := home(d) & mask; ; p = (p + 1) & mask {
		w := s.table[p]
		if w == 0 {
			return nilSlot
		}
		if w>>tagShift == t {
			if i := int32(w&idxMask) - 1; s.slots[i].key == *d {
				return i
			}
		}
	}
}

// insert takes a slot for d (a free one, a new one, or the oldest entry's)
// and links it at the tail. It reports whether an unexpired entry was
// evicted. The caller sets state, expiry and token.
func (s *memShard) insert(d *[32]byte, now int64) (int32, bool) {
	var i int32
	evicted := false
	switch {
	case s.free != nilSlot:
		i = s.free
		s.free = s.slots[i].next
	case len(s.slots) < s.capacity:
		if len(s.slots) == cap(s.slots) {
			n := min(s.capacity, max(16, 2*cap(s.slots)))
			grown := make([]slot, len(s.slots), n)
			copy(grown, s.slots)
			s.slots = grown
		}
		s.slots = s.slots[:len(s.slots)+1]
		i = int32(len(s.slots) - 1)
	default:
		i = s.head
		evicted = s.slots[i].expires > now
		s.remove(i)
		s.free = s.slots[i].next
	}
	if (s.count+1)*4 > len(s.table)*3 {
		s.growTable()
	}
	s.slots[i] = slot{key: *d}
	s.tableInsert(d, i)
	s.pushTail(i)
	s.count++
	return i, evicted
}

// remove unlinks slot i from the table and the list and frees it.
func (s *memShard) remove(i int32) {
	s.tableDelete(i)
	s.unlink(i)
	s.slots[i] = slot{next: s.free}
	s.free = i
	s.count--
}

func (s *memShard) tableInsert(d *[32]byte, i int32) {
	mask := uint64(len(s.table) - 1)
	p := home(d) & mask
	for s.table[p] != 0 {
		p = (p + 1) & mask
	}
	s.table[p] = word(d, i)
}

// tableDelete removes slot i's word by backward-shift deletion, so linear
// probing needs no tombstones.
func (s *memShard) tableDelete(i int32) {
	mask := uint64(len(s.table) - 1)
	w := word(&s.slots[i].key, i)
	p := home(&s.slots[i].key) & mask
	for s.table[p] != w {
		p = (p + 1) & mask
	}
	for q := (p + 1) & mask; s.table[q] != 0; q = (q + 1) & mask {
		h := home(&s.slots[int32(s.table[q]&idxMask)-1].key) & mask
		// The word at q may move to the hole at p unless its home lies
		// cyclically in (p, q].
		if (p < q && (h <= p || h > q)) || (p > q && h <= p && h > q) {
			s.table[p] = s.table[q]
			p = q
		}
	}
	s.table[p] = 0
}

func (s *memShard) growTable() {
	n := max(minTableLen, 2*len(s.table))
	s.table = make([]uint32, n)
	for i := range s.slots {
		if s.slots[i].state != slotFree {
			s.tableInsert(&s.slots[i].key, int32(i))
		}
	}
}

func (s *memShard) pushTail(i int32) {
	sl := &s.slots[i]
	sl.prev, sl.next = s.tail, nilSlot
	if s.tail != nilSlot {
		s.slots[s.tail].next = i
	} else {
		s.head = i
	}
	s.tail = i
}

func (s *memShard) unlink(i int32) {
	sl := &s.slots[i]
	if sl.prev != nilSlot {
		s.slots[sl.prev].next = sl.next
	} else {
		s.head = sl.next
	}
	if sl.next != nilSlot {
		s.slots[sl.next].prev = sl.prev
	} else {
		s.tail = sl.prev
	}
	sl.prev, sl.next = nilSlot, nilSlot
}
