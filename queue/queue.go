// Package queue is the durable store of the webhook_queue Caddy handler: it
// keeps each accepted request until the app behind Caddy has taken it, so a
// webhook that was acknowledged to its provider is never lost.
//
// One entry goes through these steps:
//
//	id, err := store.Append(ctx, name, entry) // durable (fsync / Redis ack) when err == nil
//	leases, err := store.Claim(ctx, name, n, visibility, now)
//	// for each lease, deliver lease.Entry, then exactly one of:
//	store.Ack(ctx, name, lease)                       // 2xx: the entry is gone
//	store.Retry(ctx, name, lease, at, outcome)        // 5xx, 408, 429, connection error
//	store.Dead(ctx, name, lease, outcome)             // other 4xx, or retries exhausted
//
// A lease that is neither acked, retried nor killed before its visibility
// timeout ends (the worker crashed, the process was killed) makes the entry
// claimable again. Delivery is therefore at least once; the order of
// delivery is not promised.
//
// The package knows nothing of Caddy and never imports the handler. Two
// stores implement Store: Bolt (an embedded go.etcd.io/bbolt file, one
// process) and Redis (Redis Streams through go-redis, shared by several
// Caddy instances).
package queue

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Entry is one stored request and its delivery state.
type Entry struct {
	// ID is the entry's stable id, assigned by Append (unique in its queue,
	// ordered by time of append where the store can). It is sent to the app
	// with every attempt so the app can deduplicate.
	ID string
	// Method, URI (path and raw query, as in the request line), Header and
	// Body are the request as webhook_queue received it.
	Method string
	URI    string
	Header http.Header
	Body   []byte
	// Vars are the webhook_verify placeholders of the request (provider, id,
	// key, timestamp, verified, ...), without the "http.webhook_verify."
	// prefix, restored when the entry is delivered.
	Vars map[string]string
	// Created is when the entry was appended.
	Created time.Time
	// Attempts is the number of delivery attempts started so far (Claim
	// counts the attempt it hands out).
	Attempts int
	// NextAt is when the entry is next due.
	NextAt time.Time
	// LastStatus and LastError describe the last failed attempt (0 and ""
	// before any). LastError never holds a body or a secret.
	LastStatus int
	LastError  string
}

// Size is what the entry counts against a queue's MaxBytes: its body, URI
// and header bytes.
func (e *Entry) Size() int64 {
	n := int64(len(e.Body) + len(e.Method) + len(e.URI))
	for k, vs := range e.Header {
		for _, v := range vs {
			n += int64(len(k) + len(v) + 4)
		}
	}
	for k, v := range e.Vars {
		n += int64(len(k) + len(v))
	}
	return n
}

// Lease is one claimed entry. Its Token ties Ack, Retry and Dead to this
// claim: once the visibility timeout has passed and another worker claimed
// the entry again, the first lease's calls return ErrLeaseLost and change
// nothing.
type Lease struct {
	Entry *Entry
	Token string
}

// Outcome describes a failed attempt, for Retry and Dead.
type Outcome struct {
	// Status is the HTTP status the deliver handlers answered, 0 for a
	// connection error or a handler error without status.
	Status int
	// Error is a short description without body or secret.
	Error string
}

// Stats describes one queue.
type Stats struct {
	Pending  int64 // waiting to be delivered (due now or later)
	InFlight int64 // claimed and not yet settled
	Dead     int64 // dead letters
	Bytes    int64 // sum of Entry.Size over pending, in-flight and dead entries
	// OldestPending is the Created time of the oldest entry that is pending
	// or in flight; zero if there is none.
	OldestPending time.Time
}

// Limits bound a queue. Zero means no limit.
type Limits struct {
	MaxEntries int64 // pending + in flight + dead
	MaxBytes   int64 // Stats.Bytes
}

// Store is a durable queue store. Implementations are safe for concurrent use
// by several goroutines (and, for Redis, several processes). A queue is named
// by a string chosen by the user; a store holds any number of queues.
type Store interface {
	// Append stores e in queue name and returns its new id. It returns
	// only once the entry is durable (fsynced to disk, acknowledged by
	// Redis). With an error nothing is kept. Over the limits it returns an
	// error wrapping ErrFull; for an entry Check refuses, ErrInvalid.
	// Append sets e.ID, e.Created (if zero) and e.NextAt (to Created if
	// zero).
	Append(ctx context.Context, name string, e *Entry, lim Limits) (string, error)

	// Claim hands out up to n entries of queue name that are due at now
	// (NextAt <= now) or whose lease expired, each leased for visibility,
	// and counts an attempt on each (Attempts+1, stored durably before it is
	// returned). It returns an empty slice when nothing is due.
	Claim(ctx context.Context, name string, n int, visibility time.Duration, now time.Time) ([]Lease, error)

	// Ack removes a delivered entry.
	Ack(ctx context.Context, name string, l Lease) error
	// Retry makes the entry due again at at, recording o.
	Retry(ctx context.Context, name string, l Lease, at time.Time, o Outcome) error
	// Dead moves the entry to the queue's dead letters, recording o.
	Dead(ctx context.Context, name string, l Lease, o Outcome) error

	// Stats reports on queue name.
	Stats(ctx context.Context, name string) (Stats, error)
	// List returns up to limit entries of queue name, oldest first: the
	// dead letters if dead, else the pending and in-flight ones. Bodies are
	// left out (nil) unless withBody.
	List(ctx context.Context, name string, dead bool, limit int, withBody bool) ([]*Entry, error)
	// Get returns one entry (pending, in flight or dead) with its body.
	// It returns an error wrapping ErrNotFound when there is none.
	Get(ctx context.Context, name, id string) (*Entry, error)
	// Requeue makes dead letters due now (Attempts reset to 0): the one
	// with id, or all of them if id is "". It returns how many it moved.
	Requeue(ctx context.Context, name, id string) (int, error)
	// Purge deletes the entry with id (in any state), or, if id is "",
	// every dead letter if dead, else every entry of the queue. It returns
	// how many it deleted.
	Purge(ctx context.Context, name, id string, dead bool) (int, error)
	// Queues lists the names of the queues that hold at least one entry,
	// so entries of a queue that is no longer configured can be reported.
	Queues(ctx context.Context) ([]string, error)

	// Close releases the store (the file lock, the connection pool).
	Close() error
}

var (
	// ErrFull is wrapped by Append when a queue is at its limits; the
	// handler answers 503 so the provider retries later.
	ErrFull = errors.New("queue full")
	// ErrUnavailable is wrapped by every error caused by the storage itself
	// (a disk error, Redis down or refusing writes, a timeout); the handler
	// answers 503.
	ErrUnavailable = errors.New("queue store unavailable")
	// ErrInvalid is wrapped by Append (and Check) for an entry the store
	// could not give back as it was given (see Check); nothing is kept.
	ErrInvalid = errors.New("queue entry cannot be stored")
	// ErrNotFound is wrapped by Get, Requeue and Purge for an unknown id.
	ErrNotFound = errors.New("queue entry not found")
	// ErrLeaseLost is wrapped by Ack, Retry and Dead when the lease is no
	// longer held (it expired and the entry was claimed again, or the entry
	// was purged).
	ErrLeaseLost = errors.New("queue lease lost")
	// ErrCorrupt is wrapped when a stored entry cannot be decoded; stores
	// move such an entry aside (never return it from Claim, never block
	// the queue on it).
	ErrCorrupt = errors.New("queue entry corrupt")
)

// maxQueueName bounds a queue name in every store (a bolt bucket key, a
// part of Redis keys).
const maxQueueName = 1024

// checkName refuses an empty or too long queue name.
func checkName(name string) error {
	if name == "" || len(name) > maxQueueName {
		return fmt.Errorf("queue name must be 1 to %d bytes long", maxQueueName)
	}
	return nil
}
