package replay

import (
	"fmt"
	"testing"
	"unsafe"
)

// check verifies the internal invariants of every shard: the table, the
// list and the slab agree, and no shard holds more than its capacity.
func (m *Memory) check() error {
	total := 0
	for si := range m.shards {
		s := &m.shards[si]
		s.mu.Lock()
		err := s.check(m, si)
		total += s.capacity
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("shard %d: %w", si, err)
		}
	}
	if total != m.maxEntries {
		return fmt.Errorf("shard capacities sum to %d, want %d", total, m.maxEntries)
	}
	return nil
}

func (s *memShard) check(m *Memory, si int) error {
	used := 0
	for i := range s.slots {
		if s.slots[i].state != slotFree {
			used++
			if m.shard(&s.slots[i].key) != s {
				return fmt.Errorf("slot %d is in the wrong shard", i)
			}
			if got := s.find(&s.slots[i].key); got != int32(i) {
				return fmt.Errorf("find(slot %d) = %d", i, got)
			}
		}
	}
	if used != s.count {
		return fmt.Errorf("%d used slots, count %d", used, s.count)
	}
	if s.count > s.capacity || len(s.slots) > s.capacity {
		return fmt.Errorf("count %d, %d slots, capacity %d", s.count, len(s.slots), s.capacity)
	}
	words := 0
	for _, w := range s.table {
		if w != 0 {
			words++
		}
	}
	if words != s.count {
		return fmt.Errorf("%d table words, count %d", words, s.count)
	}
	if s.count > 0 && s.count*4 > len(s.table)*3 {
		return fmt.Errorf("table of %d words holds %d", len(s.table), s.count)
	}
	n := 0
	for l := range s.head {
		prev := nilSlot
		for i := s.head[l]; i != nilSlot; i = s.slots[i].next {
			if s.slots[i].state == slotFree || listOf(s.slots[i].state) != l || s.slots[i].prev != prev {
				return fmt.Errorf("list %d broken at slot %d", l, i)
			}
			prev = i
			if n++; n > s.count {
				return fmt.Errorf("lists longer than count %d", s.count)
			}
		}
		if prev != s.tail[l] {
			return fmt.Errorf("list %d ends at %d, tail %d", l, prev, s.tail[l])
		}
	}
	if n != s.count {
		return fmt.Errorf("lists of %d, count %d", n, s.count)
	}
	free := 0
	for i := s.free; i != nilSlot; i = s.slots[i].next {
		if s.slots[i].state != slotFree {
			return fmt.Errorf("used slot %d on the free list", i)
		}
		if free++; free > len(s.slots) {
			return fmt.Errorf("free list loops")
		}
	}
	if free+s.count != len(s.slots) {
		return fmt.Errorf("%d free + %d used != %d slots", free, s.count, len(s.slots))
	}
	return nil
}

func mustCheck(t testing.TB, m *Memory) {
	t.Helper()
	if err := m.check(); err != nil {
		t.Fatal(err)
	}
}

func TestSlotSize(t *testing.T) {
	// The bytes-per-entry figures rest on this size; see BenchmarkMemoryBytesPerEntry.
	if got := unsafe.Sizeof(slot{}); got != 56 {
		t.Fatalf("slot is %d bytes, want 56", got)
	}
}
