package queue

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The Bolt file's layout (see Bolt): records and their keys, ids and
// tokens, a queue's buckets and counters, and the quarantine of records
// that do not decode.

// Bucket and key names.
var (
	bktQueues  = []byte("queues")
	bktEntries = []byte("entries")
	bktDue     = []byte("due")
	bktDead    = []byte("dead")
	bktCorrupt = []byte("corrupt")
	keyCounts  = []byte("counts")
)

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
