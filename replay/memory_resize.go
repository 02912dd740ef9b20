package replay

import "time"

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
