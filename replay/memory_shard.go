package replay

import (
	"encoding/binary"
	"sync"
)

// The layout of a shard (memShard).
const (
	minTableLen  = 16        // power of two
	tagShift     = 24        // table word: tag<<24 | slot index+1
	idxMask      = 1<<24 - 1 // low 24 bits of a table word
	nilSlot      = int32(-1) // end of a list
	slotFree     = uint8(0)  // slot states
	slotInFlight = uint8(1)  //
	slotAccepted = uint8(2)  //
	slotBound    = uint8(3)  // a binding (Bind); on the accepted list
)

// slot is one entry: 56 bytes, no pointers.
type slot struct {
	key        [32]byte
	expires    int64 // nanoseconds since Memory.base
	prev, next int32 // insertion-order list; next also links the free list
	token      uint32
	state      uint8
}

// memShard is one shard of a Memory, guarded by its mutex: a slab of
// slots, an open-addressing table over it (find, tableInsert,
// tableDelete) and two intrusive lists in insertion order (pushTail,
// unlink): in-flight reservations, and accepted entries with bindings.
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

// setBody records the digest of the binding in slot i.
func (s *memShard) setBody(i int32, digest []byte) {
	if int(i) >= len(s.bodies) {
		grown := make([][32]byte, max(int(i)+1, cap(s.slots)))
		copy(grown, s.bodies)
		s.bodies = grown
	}
	copy(s.bodies[i][:], digest)
}
