package queue

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A Bolt queue's entries from Append to their end: Claim leases them,
// settle (Ack, Retry, Dead) ends or reschedules a lease still held.

// Append implements Store.
func (s *Bolt) Append(ctx context.Context, name string, e *Entry, lim Limits) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", unavailable(err)
	}
	if err := checkName(name); err != nil {
		return "", err
	}
	if err := Check(e); err != nil {
		return "", err
	}
	if e.Created.IsZero() {
		e.Created = time.Now()
	}
	if e.NextAt.IsZero() {
		e.NextAt = e.Created
	}
	e.ID = newID(e.Created)
	size := e.Size()
	due := nanos(e.NextAt)
	val := newRecord(statePending, due, [16]byte{}, e)
	var full error
	err := s.db.Batch(func(tx *bolt.Tx) error {
		full = nil
		q, err := buckets(tx, name, true)
		if err != nil {
			return err
		}
		if lim.MaxEntries > 0 && q.c.total()+1 > lim.MaxEntries {
			full = fmt.Errorf("%w: queue %q holds %d entries (limit %d)", ErrFull, name, q.c.total(), lim.MaxEntries)
			return nil
		}
		if lim.MaxBytes > 0 && q.c.bytes+size > lim.MaxBytes {
			full = fmt.Errorf("%w: queue %q holds %d bytes, the entry %d (limit %d)", ErrFull, name, q.c.bytes, size, lim.MaxBytes)
			return nil
		}
		for q.entries.Get([]byte(e.ID)) != nil || q.dead.Get([]byte(e.ID)) != nil {
			e.ID = newID(e.Created) // a collision of 64 random bits: re-encode
			val = newRecord(statePending, due, [16]byte{}, e)
		}
		if err := q.entries.Put([]byte(e.ID), val); err != nil {
			return err
		}
		if err := q.due.Put(dueKey(due, e.ID), nil); err != nil {
			return err
		}
		q.c.add(statePending, size, 1)
		return q.save()
	})
	if err != nil {
		return "", unavailable(err)
	}
	if full != nil {
		return "", full
	}
	return e.ID, nil
}

// Claim implements Store.
func (s *Bolt) Claim(ctx context.Context, name string, n int, visibility time.Duration, now time.Time) ([]Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, unavailable(err)
	}
	if n <= 0 {
		return []Lease{}, nil
	}
	if visibility <= 0 {
		visibility = time.Nanosecond
	}
	limit, deadline := nanos(now), nanos(now.Add(visibility))
	var leases []Lease
	var bad []corruption
	err := s.db.Batch(func(tx *bolt.Tx) error {
		leases, bad = []Lease{}, nil
		q, err := buckets(tx, name, false)
		if err != nil || q == nil {
			return err
		}
		type claim struct {
			key []byte
			rec record
			e   *Entry
		}
		var claims []claim
		var stale [][]byte // index keys without their entry
		var corrupt []string
		cur := q.due.Cursor()
		for k, _ := cur.First(); k != nil && len(claims) < n; k, _ = cur.Next() {
			if len(k) < 8 {
				stale = append(stale, bytes.Clone(k))
				continue
			}
			if binary.BigEndian.Uint64(k) > limit {
				break
			}
			id := k[8:]
			raw := q.entries.Get(id)
			if raw == nil {
				stale = append(stale, bytes.Clone(k))
				continue
			}
			r, e, err := decodeRecord(raw, true)
			if err == nil && e.ID != string(id) {
				err = fmt.Errorf("%w: the entry stored under this id holds another", ErrCorrupt)
			}
			if err != nil {
				corrupt = append(corrupt, string(id))
				bad = append(bad, corruption{string(id), err})
				continue
			}
			if r.due != binary.BigEndian.Uint64(k) || r.state == stateDead {
				stale = append(stale, bytes.Clone(k))
				continue
			}
			claims = append(claims, claim{bytes.Clone(k), r, e})
		}
		for _, k := range stale {
			if err := q.due.Delete(k); err != nil {
				return err
			}
		}
		for _, id := range corrupt {
			if err := q.quarantine(q.entries, id, q.entries.Get([]byte(id))); err != nil {
				return err
			}
		}
		for _, c := range claims {
			tok := newToken()
			c.e.Attempts++
			if err := q.due.Delete(c.key); err != nil {
				return err
			}
			if err := q.entries.Put([]byte(c.e.ID), newRecord(stateLeased, deadline, tok, c.e)); err != nil {
				return err
			}
			if err := q.due.Put(dueKey(deadline, c.e.ID), nil); err != nil {
				return err
			}
			q.c.add(c.rec.state, c.rec.size, -1)
			q.c.add(stateLeased, c.rec.size, 1)
			leases = append(leases, Lease{Entry: c.e, Token: hex.EncodeToString(tok[:])})
		}
		if len(claims) == 0 && len(stale) == 0 && len(corrupt) == 0 {
			return nil
		}
		return q.save()
	})
	if err != nil {
		return nil, unavailable(err)
	}
	s.report(name, bad)
	return leases, nil
}

// settle runs fn on the leased entry of l in a batched write, after checking
// the lease still holds; fn changes the entry and says where it goes.
func (s *Bolt) settle(ctx context.Context, name string, l Lease, fn func(q *qbuckets, r record, e *Entry) error) error {
	if err := ctx.Err(); err != nil {
		return unavailable(err)
	}
	if l.Entry == nil {
		return fmt.Errorf("%w: lease without entry", ErrLeaseLost)
	}
	id := l.Entry.ID
	var tok [16]byte
	if t, err := hex.DecodeString(l.Token); err != nil || len(t) != len(tok) {
		return fmt.Errorf("%w: malformed lease token", ErrLeaseLost)
	} else {
		copy(tok[:], t)
	}
	var lost error
	var bad []corruption
	err := s.db.Batch(func(tx *bolt.Tx) error {
		lost, bad = nil, nil
		q, err := buckets(tx, name, false)
		if err != nil {
			return err
		}
		if q == nil {
			lost = fmt.Errorf("%w: queue %q holds no entry %s", ErrLeaseLost, name, id)
			return nil
		}
		raw := q.entries.Get([]byte(id))
		if raw == nil {
			lost = fmt.Errorf("%w: entry %s is no longer in queue %q", ErrLeaseLost, id, name)
			return nil
		}
		r, err := parseRecord(raw)
		if err == nil && (r.state != stateLeased || r.token != tok) {
			lost = fmt.Errorf("%w: entry %s was claimed again", ErrLeaseLost, id)
			return nil
		}
		var e *Entry
		if err == nil {
			e, err = decodeEntry(r.entry, true)
		}
		if err != nil {
			bad = []corruption{{id, err}}
			lost = fmt.Errorf("%w: entry %s: %w", ErrLeaseLost, id, err)
			if err := q.quarantine(q.entries, id, raw); err != nil {
				return err
			}
			return q.save()
		}
		if err := q.due.Delete(dueKey(r.due, id)); err != nil {
			return err
		}
		q.c.add(r.state, r.size, -1)
		if err := fn(q, r, e); err != nil {
			return err
		}
		return q.save()
	})
	if err != nil {
		return unavailable(err)
	}
	s.report(name, bad)
	return lost
}

// Ack implements Store.
func (s *Bolt) Ack(ctx context.Context, name string, l Lease) error {
	return s.settle(ctx, name, l, func(q *qbuckets, r record, e *Entry) error {
		return q.entries.Delete([]byte(e.ID))
	})
}

// Retry implements Store.
func (s *Bolt) Retry(ctx context.Context, name string, l Lease, at time.Time, o Outcome) error {
	return s.settle(ctx, name, l, func(q *qbuckets, r record, e *Entry) error {
		e.NextAt, e.LastStatus, e.LastError = at, o.Status, o.Error
		due := nanos(at)
		if err := q.entries.Put([]byte(e.ID), newRecord(statePending, due, [16]byte{}, e)); err != nil {
			return err
		}
		q.c.add(statePending, r.size, 1)
		return q.due.Put(dueKey(due, e.ID), nil)
	})
}

// Dead implements Store.
func (s *Bolt) Dead(ctx context.Context, name string, l Lease, o Outcome) error {
	return s.settle(ctx, name, l, func(q *qbuckets, r record, e *Entry) error {
		e.LastStatus, e.LastError = o.Status, o.Error
		if err := q.dead.Put([]byte(e.ID), newRecord(stateDead, 0, [16]byte{}, e)); err != nil {
			return err
		}
		q.c.add(stateDead, r.size, 1)
		return q.entries.Delete([]byte(e.ID))
	})
}
