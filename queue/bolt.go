package queue

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
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

// report calls OnCorrupt for each moved entry.
func (s *Bolt) report(name string, cs []corruption) {
	if s.opts.OnCorrupt == nil {
		return
	}
	for _, c := range cs {
		s.opts.OnCorrupt(name, c.id, c.err)
	}
}
