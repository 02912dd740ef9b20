package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// What the admin API and the metrics read and change in a Bolt store:
// Stats, List, Get, Requeue, Purge, Queues.

// Stats implements Store. It reads the counters and the first key of the
// entries bucket: O(1) in the size of the queue.
func (s *Bolt) Stats(ctx context.Context, name string) (Stats, error) {
	if err := ctx.Err(); err != nil {
		return Stats{}, unavailable(err)
	}
	var st Stats
	err := s.db.View(func(tx *bolt.Tx) error {
		q, err := buckets(tx, name, false)
		if err != nil || q == nil {
			return err
		}
		st = Stats{Pending: q.c.pending, InFlight: q.c.inFlight, Dead: q.c.dead, Bytes: q.c.bytes}
		k, v := q.entries.Cursor().First()
		if k == nil {
			return nil
		}
		if t, ok := idTime(k); ok {
			st.OldestPending = t
		} else if _, e, err := decodeRecord(v, false); err == nil {
			st.OldestPending = e.Created
		}
		return nil
	})
	if err != nil {
		return Stats{}, unavailable(err)
	}
	return st, nil
}

// List implements Store. A limit of zero or less lists them all.
func (s *Bolt) List(ctx context.Context, name string, dead bool, limit int, withBody bool) ([]*Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, unavailable(err)
	}
	var out []*Entry
	var bad []corruption
	err := s.db.View(func(tx *bolt.Tx) error {
		out, bad = []*Entry{}, nil
		q, err := buckets(tx, name, false)
		if err != nil || q == nil {
			return err
		}
		b := q.entries
		if dead {
			b = q.dead
		}
		cur := b.Cursor()
		for k, v := cur.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = cur.Next() {
			_, e, err := decodeRecord(v, withBody)
			if err != nil {
				bad = append(bad, corruption{string(k), err})
				continue
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	if err := s.moveAside(name, bad); err != nil {
		return nil, err
	}
	return out, nil
}

// moveAside quarantines entries a read-only transaction found corrupt.
func (s *Bolt) moveAside(name string, bad []corruption) error {
	if len(bad) == 0 {
		return nil
	}
	var moved []corruption
	err := s.db.Update(func(tx *bolt.Tx) error {
		moved = nil
		q, err := buckets(tx, name, false)
		if err != nil || q == nil {
			return err
		}
		for _, c := range bad {
			for _, b := range []*bolt.Bucket{q.entries, q.dead} {
				raw := b.Get([]byte(c.id))
				if raw == nil {
					continue
				}
				if _, _, err := decodeRecord(raw, false); err == nil {
					continue // rewritten meanwhile
				}
				if err := q.quarantine(b, c.id, raw); err != nil {
					return err
				}
				moved = append(moved, c)
			}
		}
		return q.save()
	})
	if err != nil {
		return unavailable(err)
	}
	s.report(name, moved)
	return nil
}

// Get implements Store.
func (s *Bolt) Get(ctx context.Context, name, id string) (*Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, unavailable(err)
	}
	var e *Entry
	var derr error
	err := s.db.View(func(tx *bolt.Tx) error {
		e, derr = nil, nil
		q, err := buckets(tx, name, false)
		if err != nil || q == nil {
			return err
		}
		raw := q.entries.Get([]byte(id))
		if raw == nil {
			raw = q.dead.Get([]byte(id))
		}
		if raw != nil {
			_, e, derr = decodeRecord(raw, true)
		}
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	if derr != nil {
		if err := s.moveAside(name, []corruption{{id, derr}}); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("entry %s of queue %q: %w", id, name, derr)
	}
	if e == nil {
		return nil, fmt.Errorf("%w: %s in queue %q", ErrNotFound, id, name)
	}
	return e, nil
}

// Requeue implements Store.
func (s *Bolt) Requeue(ctx context.Context, name, id string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, unavailable(err)
	}
	now := time.Now()
	var moved int
	var notFound error
	var bad []corruption
	err := s.db.Update(func(tx *bolt.Tx) error {
		q, err := buckets(tx, name, false)
		if err != nil {
			return err
		}
		if q == nil {
			if id != "" {
				notFound = fmt.Errorf("%w: no dead letter %s in queue %q", ErrNotFound, id, name)
			}
			return nil
		}
		var ids []string
		if id != "" {
			if q.dead.Get([]byte(id)) == nil {
				notFound = fmt.Errorf("%w: no dead letter %s in queue %q", ErrNotFound, id, name)
				return nil
			}
			ids = []string{id}
		} else if err := q.dead.ForEach(func(k, _ []byte) error {
			ids = append(ids, string(k))
			return nil
		}); err != nil {
			return err
		}
		for _, id := range ids {
			raw := q.dead.Get([]byte(id))
			r, e, err := decodeRecord(raw, true)
			if err != nil {
				bad = append(bad, corruption{id, err})
				if err := q.quarantine(q.dead, id, raw); err != nil {
					return err
				}
				continue
			}
			e.Attempts, e.NextAt = 0, now
			due := nanos(now)
			if err := q.entries.Put([]byte(id), newRecord(statePending, due, [16]byte{}, e)); err != nil {
				return err
			}
			if err := q.due.Put(dueKey(due, id), nil); err != nil {
				return err
			}
			if err := q.dead.Delete([]byte(id)); err != nil {
				return err
			}
			q.c.add(stateDead, r.size, -1)
			q.c.add(statePending, r.size, 1)
			moved++
		}
		return q.save()
	})
	if err != nil {
		return 0, unavailable(err)
	}
	s.report(name, bad)
	if notFound != nil {
		return 0, notFound
	}
	return moved, nil
}

// Purge implements Store.
func (s *Bolt) Purge(ctx context.Context, name, id string, dead bool) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, unavailable(err)
	}
	var n int
	var notFound error
	err := s.db.Update(func(tx *bolt.Tx) error {
		q, err := buckets(tx, name, false)
		if err != nil {
			return err
		}
		if q == nil {
			if id != "" {
				notFound = fmt.Errorf("%w: %s in queue %q", ErrNotFound, id, name)
			}
			return nil
		}
		if id != "" {
			for _, b := range []*bolt.Bucket{q.entries, q.dead} {
				raw := b.Get([]byte(id))
				if raw == nil {
					continue
				}
				if r, err := parseRecord(raw); err == nil {
					if r.state != stateDead {
						if err := q.due.Delete(dueKey(r.due, id)); err != nil {
							return err
						}
					}
					q.c.add(r.state, r.size, -1)
				} else {
					q.recount = true
				}
				if err := b.Delete([]byte(id)); err != nil {
					return err
				}
				n = 1
				return q.save()
			}
			notFound = fmt.Errorf("%w: %s in queue %q", ErrNotFound, id, name)
			return nil
		}
		if dead {
			var size int64
			if err := q.dead.ForEach(func(_, v []byte) error {
				n++
				if r, err := parseRecord(v); err == nil {
					size += r.size
				} else {
					q.recount = true
				}
				return nil
			}); err != nil {
				return err
			}
			q.c.dead, q.c.bytes = 0, q.c.bytes-size
			if err := q.root.DeleteBucket(bktDead); err != nil {
				return err
			}
			if q, err = reload(tx, name, q); err != nil {
				return err
			}
			return q.save()
		}
		n = q.entries.Stats().KeyN + q.dead.Stats().KeyN
		for _, bn := range [][]byte{bktEntries, bktDue, bktDead} {
			if err := q.root.DeleteBucket(bn); err != nil {
				return err
			}
		}
		if q, err = buckets(tx, name, false); err != nil {
			return err
		}
		q.c, q.recount = counts{}, false
		return q.save()
	})
	if err != nil {
		return 0, unavailable(err)
	}
	if notFound != nil {
		return 0, notFound
	}
	return n, nil
}

// Queues implements Store.
func (s *Bolt) Queues(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, unavailable(err)
	}
	names := []string{}
	err := s.db.View(func(tx *bolt.Tx) error {
		top := tx.Bucket(bktQueues)
		if top == nil {
			return errors.New("queue file without its top bucket")
		}
		return top.ForEachBucket(func(k []byte) error {
			q, err := buckets(tx, string(k), false)
			if err != nil {
				return err
			}
			if q != nil && q.c.total() > 0 {
				names = append(names, string(k))
			}
			return nil
		})
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return names, nil
}
