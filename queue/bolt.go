package queue

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// BoltOptions tune a Bolt store. The zero value is ready to use.
type BoltOptions struct {
	// LockTimeout is how long OpenBolt waits for the file lock held by
	// another process before it gives up (default 1s).
	LockTimeout time.Duration
	// BatchDelay is how long a write waits for other concurrent writes to
	// share its commit and fsync (default 1ms: on a shared 2-core machine
	// 0.5ms to 2ms gave the same 2,500 to 4,000 parallel appends a second,
	// 10ms less than half). Writes arriving while a commit is on its way
	// to disk join the next one whatever the delay.
	BatchDelay time.Duration
	// MaxBatchSize is the number of writes that commits a batch at once,
	// without waiting for BatchDelay (default 256).
	MaxBatchSize int
	// OnCorrupt, when set, is called (outside any transaction) for every
	// stored entry that could not be decoded, after it was moved to the
	// queue's corrupt bucket. err wraps ErrCorrupt and holds no entry data.
	OnCorrupt func(queue, id string, err error)
}

// Bolt is a Store in one go.etcd.io/bbolt file, for one process: OpenBolt
// takes an exclusive lock on the file. Every write (Append, Claim, Ack,
// Retry, Dead) goes through bolt's batching, so concurrent writes share one
// commit and one fsync (group commit), and returns once that commit is on
// disk.
//
// Each queue is a bucket holding: "entries" (pending and in-flight entries
// by id; ids begin with the creation time, so the first key is the oldest),
// "due" (an index keyed by the big-endian due time and the id: NextAt for a
// pending entry, the lease deadline for an in-flight one, so Claim finds due
// entries and expired leases in one ordered walk), "dead" (dead letters by
// id), "corrupt" (entries that could not be decoded, kept for inspection)
// and the counters Stats reports, updated in the same transaction as the
// entries.
//
// An in-flight entry whose lease expired counts as in flight until it is
// claimed again (or the file is opened again: OpenBolt releases every
// lease).
type Bolt struct {
	db   *bolt.DB
	path string
	opts BoltOptions
}

var _ Store = (*Bolt)(nil)

// Bucket and key names.
var (
	bktQueues  = []byte("queues")
	bktEntries = []byte("entries")
	bktDue     = []byte("due")
	bktDead    = []byte("dead")
	bktCorrupt = []byte("corrupt")
	keyCounts  = []byte("counts")
)

// maxQueueName bounds a queue name (a bolt bucket key).
const maxQueueName = 1024

// OpenBolt opens (creating it and its directory if needed) the queue file at
// path. When another process holds the file it waits opts.LockTimeout, then
// returns an error saying the file is in use. Every error wraps
// ErrUnavailable.
//
// Entries left in flight (leased) in the file are made due at once: with
// the lock held, their leases can only be those of a process that died
// during the attempt. Their Attempts are kept.
func OpenBolt(path string, opts BoltOptions) (*Bolt, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.BatchDelay <= 0 {
		opts.BatchDelay = time.Millisecond
	}
	if opts.MaxBatchSize <= 0 {
		opts.MaxBatchSize = 256
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the directory of queue file %s: %w: %w", path, ErrUnavailable, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: opts.LockTimeout,
		// The freelist is rebuilt at open instead of being written by
		// every commit: fewer pages per fsync.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("queue file %s is in use by another process (one Caddy process per queue file): %w", path, ErrUnavailable)
	}
	if err != nil {
		return nil, fmt.Errorf("opening queue file %s: %w: %w", path, ErrUnavailable, err)
	}
	db.MaxBatchDelay = opts.BatchDelay
	db.MaxBatchSize = opts.MaxBatchSize
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bktQueues)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("initialising queue file %s: %w: %w", path, ErrUnavailable, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return releaseLeases(tx, time.Now()) }); err != nil {
		db.Close()
		return nil, fmt.Errorf("releasing the leases of queue file %s: %w: %w", path, ErrUnavailable, err)
	}
	return &Bolt{db: db, path: path, opts: opts}, nil
}

// releaseLeases makes every entry in flight due at now. It runs at open:
// the file lock admits one process, so a lease found then was handed out
// by a process that died during the attempt (kill -9, a crash, a power
// cut), and waiting out its visibility timeout would only delay the entry.
// Attempts is kept (the interrupted attempt was started). Queues whose
// counters say nothing is in flight are skipped, so an open reads only the
// queues a crash left leases in.
func releaseLeases(tx *bolt.Tx, now time.Time) error {
	top := tx.Bucket(bktQueues)
	var names [][]byte
	if err := top.ForEachBucket(func(k []byte) error {
		names = append(names, bytes.Clone(k))
		return nil
	}); err != nil {
		return err
	}
	due := nanos(now)
	for _, name := range names {
		q, err := buckets(tx, string(name), false)
		if err != nil {
			return err
		}
		if q == nil || (!q.recount && q.c.inFlight == 0) {
			continue
		}
		type leased struct {
			id  []byte
			rec record
		}
		var ls []leased
		if err := q.entries.ForEach(func(k, v []byte) error {
			if r, err := parseRecord(v); err == nil && r.state == stateLeased {
				r.entry = bytes.Clone(r.entry)
				ls = append(ls, leased{bytes.Clone(k), r})
			}
			return nil // a corrupt record is moved aside when Claim meets it
		}); err != nil {
			return err
		}
		for _, l := range ls {
			if err := q.due.Delete(dueKey(l.rec.due, string(l.id))); err != nil {
				return err
			}
			v := make([]byte, recordHeader, recordHeader+len(l.rec.entry))
			v[0] = statePending
			binary.BigEndian.PutUint64(v[1:9], due)
			binary.BigEndian.PutUint64(v[9:17], uint64(l.rec.size))
			v = append(v, l.rec.entry...)
			if err := q.entries.Put(l.id, v); err != nil {
				return err
			}
			if err := q.due.Put(dueKey(due, string(l.id)), nil); err != nil {
				return err
			}
			q.c.add(stateLeased, l.rec.size, -1)
			q.c.add(statePending, l.rec.size, 1)
		}
		if len(ls) > 0 || q.recount {
			if err := q.save(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Path returns the file the store was opened on.
func (s *Bolt) Path() string { return s.path }

// Close releases the file and its lock. Calls after Close fail with
// ErrUnavailable.
func (s *Bolt) Close() error {
	if err := s.db.Close(); err != nil {
		return unavailable(err)
	}
	return nil
}

func unavailable(err error) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

func checkName(name string) error {
	if name == "" || len(name) > maxQueueName {
		return fmt.Errorf("queue name must be 1 to %d bytes long", maxQueueName)
	}
	return nil
}

// Record states.
const (
	statePending = 1
	stateLeased  = 2
	stateDead    = 3
)

// recordHeader is the size of a record's fixed header: state (1), due time
// in Unix nanoseconds (8, the time in the due index key), Entry.Size (8),
// lease token (16, zero unless leased).
const recordHeader = 1 + 8 + 8 + 16

// record is one stored value of the entries or dead bucket: a fixed header
// then Encode(entry).
type record struct {
	state byte
	due   uint64
	size  int64
	token [16]byte
	entry []byte // the encoded entry; aliases bolt memory when parsed
}

func parseRecord(b []byte) (record, error) {
	if len(b) < recordHeader {
		return record{}, fmt.Errorf("%w: record of %d bytes", ErrCorrupt, len(b))
	}
	r := record{
		state: b[0],
		due:   binary.BigEndian.Uint64(b[1:9]),
		size:  int64(binary.BigEndian.Uint64(b[9:17])),
		entry: b[recordHeader:],
	}
	copy(r.token[:], b[17:33])
	if r.state < statePending || r.state > stateDead || r.size < 0 {
		return record{}, fmt.Errorf("%w: record state %d, size %d", ErrCorrupt, r.state, r.size)
	}
	return r, nil
}

// newRecord encodes e behind a record header.
func newRecord(state byte, due uint64, token [16]byte, e *Entry) []byte {
	b := make([]byte, recordHeader, recordHeader+encodedSizeHint(e))
	b[0] = state
	binary.BigEndian.PutUint64(b[1:9], due)
	binary.BigEndian.PutUint64(b[9:17], uint64(e.Size()))
	copy(b[17:33], token[:])
	return appendEntry(b, e)
}

// nanos is t as Unix nanoseconds for an index key, clamped to what fits:
// times before 1970 sort first, times after 2262 last.
func nanos(t time.Time) uint64 {
	if t.Before(time.Unix(0, 0)) {
		return 0
	}
	if t.After(time.Unix(0, math.MaxInt64)) {
		return math.MaxInt64
	}
	return uint64(t.UnixNano())
}

func dueKey(due uint64, id string) []byte {
	k := make([]byte, 8+len(id))
	binary.BigEndian.PutUint64(k, due)
	copy(k[8:], id)
	return k
}

// newID returns a fresh id: 16 hex digits of the creation time in Unix
// nanoseconds, then 16 hex digits of randomness, so ids sort by creation.
func newID(created time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], nanos(created))
	rand.Read(b[8:])
	return hex.EncodeToString(b[:])
}

// idTime is the creation time encoded in an id, if any.
func idTime(id []byte) (time.Time, bool) {
	if len(id) != 32 {
		return time.Time{}, false
	}
	var b [8]byte
	if _, err := hex.Decode(b[:], id[:16]); err != nil {
		return time.Time{}, false
	}
	n := binary.BigEndian.Uint64(b[:])
	if n == 0 || n >= math.MaxInt64 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(n)).UTC(), true
}

func newToken() (tok [16]byte) {
	rand.Read(tok[:])
	return tok
}

// counts are the counters of one queue, stored under keyCounts.
type counts struct {
	pending, inFlight, dead, bytes int64
}

func (c counts) total() int64 { return c.pending + c.inFlight + c.dead }

// add counts (sign 1) or uncounts (sign -1) a record.
func (c *counts) add(state byte, size int64, sign int64) {
	switch state {
	case statePending:
		c.pending += sign
	case stateLeased:
		c.inFlight += sign
	case stateDead:
		c.dead += sign
	}
	c.bytes += sign * size
}

// qbuckets are the buckets of one queue within a transaction.
type qbuckets struct {
	root, entries, due, dead, corrupt *bolt.Bucket
	c                                 counts
	recount                           bool // counts are to be rebuilt before saving
}

// buckets returns the buckets of queue name, creating them if create (in a
// writable transaction); nil if the queue does not exist and !create.
func buckets(tx *bolt.Tx, name string, create bool) (*qbuckets, error) {
	top := tx.Bucket(bktQueues)
	if top == nil {
		return nil, errors.New("queue file without its top bucket")
	}
	root := top.Bucket([]byte(name))
	if root == nil {
		if !create {
			return nil, nil
		}
		var err error
		if root, err = top.CreateBucket([]byte(name)); err != nil {
			return nil, err
		}
	}
	q := &qbuckets{root: root}
	for _, p := range []struct {
		b    **bolt.Bucket
		name []byte
	}{{&q.entries, bktEntries}, {&q.due, bktDue}, {&q.dead, bktDead}, {&q.corrupt, bktCorrupt}} {
		*p.b = root.Bucket(p.name)
		if *p.b == nil && tx.Writable() {
			var err error
			if *p.b, err = root.CreateBucket(p.name); err != nil {
				return nil, err
			}
		}
		if *p.b == nil {
			return nil, fmt.Errorf("queue %q without its %s bucket", name, p.name)
		}
	}
	if v := root.Get(keyCounts); len(v) == 32 {
		q.c = counts{
			pending:  int64(binary.BigEndian.Uint64(v[0:])),
			inFlight: int64(binary.BigEndian.Uint64(v[8:])),
			dead:     int64(binary.BigEndian.Uint64(v[16:])),
			bytes:    int64(binary.BigEndian.Uint64(v[24:])),
		}
	} else if v != nil {
		q.recount = true
	}
	return q, nil
}

// save writes the counters (rebuilding them first if they were lost).
func (q *qbuckets) save() error {
	if q.recount {
		q.c = counts{}
		for _, b := range []*bolt.Bucket{q.entries, q.dead} {
			if err := b.ForEach(func(k, v []byte) error {
				if r, err := parseRecord(v); err == nil {
					q.c.add(r.state, r.size, 1)
				}
				return nil
			}); err != nil {
				return err
			}
		}
		q.recount = false
	}
	v := make([]byte, 32)
	binary.BigEndian.PutUint64(v[0:], uint64(q.c.pending))
	binary.BigEndian.PutUint64(v[8:], uint64(q.c.inFlight))
	binary.BigEndian.PutUint64(v[16:], uint64(q.c.dead))
	binary.BigEndian.PutUint64(v[24:], uint64(q.c.bytes))
	return q.root.Put(keyCounts, v)
}

// corruption is an entry moved aside, reported after the commit.
type corruption struct {
	id  string
	err error
}

// quarantine moves the raw value of id from bucket from (entries or dead)
// to the corrupt bucket, drops its due index key, and fixes the counters.
func (q *qbuckets) quarantine(from *bolt.Bucket, id string, raw []byte) error {
	val := append([]byte(nil), raw...)
	if err := q.corrupt.Put([]byte(id), val); err != nil {
		return err
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
	return from.Delete([]byte(id))
}

// report calls OnCorrupt for each moved entry.
func (s *Bolt) report(name string, cs []corruption) {
	if s.opts.OnCorrupt == nil {
		return
	}
	for _, c := range cs {
		s.opts.OnCorrupt(name, c.id, c.err)
	}
}

// decodeRecord parses and decodes a stored value, skipping the body copy
// unless withBody.
func decodeRecord(raw []byte, withBody bool) (record, *Entry, error) {
	r, err := parseRecord(raw)
	if err != nil {
		return r, nil, err
	}
	e, err := decodeEntry(r.entry, withBody)
	if err != nil {
		return r, nil, err
	}
	return r, e, nil
}

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

// reload gets the buckets of a queue again after some were replaced,
// keeping the counters computed so far.
func reload(tx *bolt.Tx, name string, old *qbuckets) (*qbuckets, error) {
	q, err := buckets(tx, name, false)
	if err != nil {
		return nil, err
	}
	q.c, q.recount = old.c, old.recount
	return q, nil
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
