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
	slotBound       = uint8(3)  // a binding (Bind); on the accepted list
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

var (
	_ Store  = (*Memory)(nil)
	_ Binder = (*Memory)(nil)
)

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
	head     [2]int32 // oldest, per list (listOf)
	tail     [2]int32 // newest, per list
	free     int32
	seq      uint32 // last token handed out
	// bodies holds the digests of bindings, by slot index; allocated on
	// the first Bind, so stores that bind nothing pay nothing for it.
	bodies [][32]byte
	_      [64]byte
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

// setBody records the digest of the binding in slot i.
func (s *memShard) setBody(i int32, digest []byte) {
	if int(i) >= len(s.bodies) {
		grown := make([][32]byte, max(int(i)+1, cap(s.slots)))
		copy(grown, s.bodies)
		s.bodies = grown
	}
	copy(s.bodies[i][:], digest)
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
	st := MemoryStats{MaxEntries: m.maxEntries, Evictions: m.evictions.Load(), Refused: m.refused.Load()}
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
	var reported, reportedRefused uint64
	report := func() {
		if e := m.evictions.Load(); m.onEvict != nil && e > reported {
			m.onEvict(e - reported)
			reported = e
		}
		if e := m.refused.Load(); m.onRefuse != nil && e > reportedRefused {
			m.onRefuse(e - reportedRefused)
			reportedRefused = e
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

// insert takes a slot for d (a free one, a new one, or an evicted
// entry's) in state st and links it at the tail of its list. It reports
// whether an unexpired entry was evicted. In-flight reservations are never
// evicted before they expire: when only those are left, insert returns -1.
// The caller sets expiry and token.
func (s *memShard) insert(d *[32]byte, now int64, st uint8) (int32, bool) {
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
		// An expired reservation first (the oldest reserved expires
		// first, for one in-flight TTL), then the oldest accepted entry.
		if f := s.head[listInFlight]; f != nilSlot && s.slots[f].expires <= now {
			i = f
		} else if a := s.head[listAccepted]; a != nilSlot {
			i = a
			evicted = s.slots[a].expires > now
		} else if i = s.expiredInFlight(now); i == nilSlot {
			return nilSlot, false
		}
		s.remove(i)
		s.free = s.slots[i].next
	}
	if (s.count+1)*4 > len(s.table)*3 {
		s.growTable()
	}
	s.slots[i] = slot{key: *d, state: st}
	s.tableInsert(d, i)
	s.pushTail(i)
	s.count++
	return i, evicted
}

// maxInFlightScan bounds the walk of expiredInFlight.
const maxInFlightScan = 64

// expiredInFlight returns an expired reservation among the oldest
// maxInFlightScan, or nilSlot. Reservations of one in-flight TTL expire in
// list order, so the head is checked first (insert); routes sharing a
// namespace with different in_flight_ttl can put a long reservation ahead
// of expired short ones.
func (s *memShard) expiredInFlight(now int64) int32 {
	i := s.head[listInFlight]
	for n := 0; i != nilSlot && n < maxInFlightScan; n++ {
		if s.slots[i].expires <= now {
			return i
		}
		i = s.slots[i].next
	}
	return nilSlot
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

// The two lists of a shard, each in the order of last Reserve, Commit or
// Bind: in-flight reservations, and accepted entries and bindings.
const (
	listInFlight = 0
	listAccepted = 1
)

// listOf is the list of a slot in state st: bindings are on the accepted
// list, evicted like accepted entries.
func listOf(st uint8) int {
	if st == slotInFlight {
		return listInFlight
	}
	return listAccepted
}

// pushTail links slot i at the tail of the list of its state.
func (s *memShard) pushTail(i int32) {
	sl := &s.slots[i]
	l := listOf(sl.state)
	sl.prev, sl.next = s.tail[l], nilSlot
	if s.tail[l] != nilSlot {
		s.slots[s.tail[l]].next = i
	} else {
		s.head[l] = i
	}
	s.tail[l] = i
}

// unlink takes slot i out of the list of its state.
func (s *memShard) unlink(i int32) {
	sl := &s.slots[i]
	l := listOf(sl.state)
	if sl.prev != nilSlot {
		s.slots[sl.prev].next = sl.next
	} else {
		s.head[l] = sl.next
	}
	if sl.next != nilSlot {
		s.slots[sl.next].prev = sl.prev
	} else {
		s.tail[l] = sl.prev
	}
	sl.prev, sl.next = nilSlot, nilSlot
}

// Resized returns a new Memory with opts (typically another MaxEntries)
// holding m's unexpired entries, with their states, expiry times and
// tokens, so the reservations and acceptances made through m stay in
// force. m must not be used concurrently while Resized runs (the caller
// locks); m's sweeper is stopped. Reservations are kept first; if the new
// bound is smaller than what m holds, the oldest accepted entries are left
// out (counted as evictions).
func (m *Memory) Resized(opts MemoryOptions) *Memory {
	if opts.Clock == nil {
		opts.Clock = m.clock
	}
	n := NewMemory(opts)
	_ = m.Destruct()
	now := m.now()
	shift := int64(m.base.Sub(n.base)) // old relative time + shift = new relative time
	var seq uint32
	for _, l := range []int{listInFlight, listAccepted} {
		for si := range m.shards {
			s := &m.shards[si]
			s.mu.Lock()
			seq = max(seq, s.seq)
			for i := s.head[l]; i != nilSlot; i = s.slots[i].next {
				old := &s.slots[i]
				if old.expires <= now {
					continue
				}
				ns := n.shard(&old.key)
				ns.mu.Lock()
				j, evicted := ns.insert(&old.key, now+shift, old.state)
				if j >= 0 {
					sl := &ns.slots[j]
					if old.state == slotBound {
						ns.setBody(j, s.bodies[i][:])
					}
					sl.token = old.token
					sl.expires = old.expires
					if old.expires < maxNanos {
						sl.expires = addTTL(old.expires, time.Duration(shift))
					}
				}
				ns.mu.Unlock()
				if evicted || j < 0 {
					n.evictions.Add(1)
				}
			}
			s.mu.Unlock()
		}
	}
	// Tokens handed out by m stay unique in n.
	for si := range n.shards {
		n.shards[si].seq = seq
	}
	return n
}
