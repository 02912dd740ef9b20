package replay

import "time"

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
