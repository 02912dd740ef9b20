package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// A Redis queue's entries from Append to their end: Claim leases them,
// settle (Ack, Retry, Dead) ends or reschedules a lease still held.

// Append implements Store. It is one script (plus, the first time this
// process appends to a queue, an SADD to the queue registry).
func (s *Redis) Append(ctx context.Context, name string, e *Entry, lim Limits) (string, error) {
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
	e.ID = ""
	if err := s.register(ctx, name); err != nil {
		return "", err
	}
	id, err := s.appendRaw(ctx, name, Encode(e), e.Size(), e.Created, e.NextAt, lim, e.Attempts)
	if err != nil {
		return "", err
	}
	e.ID = id
	return id, nil
}

// appendRaw appends an already encoded entry (tests use it to store one
// that does not decode).
func (s *Redis) appendRaw(ctx context.Context, name string, blob []byte, size int64, created, next time.Time, lim Limits, attempts int) (string, error) {
	v, err := s.run(ctx, appendScript, name, blob, size, created.UnixNano(), created.UnixMicro(), next.UnixMicro(),
		max(lim.MaxEntries, 0), max(lim.MaxBytes, 0), attempts, randomHex(8))
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("%w: queue %q", ErrFull, name)
	}
	if err != nil {
		return "", redisErr("append", err)
	}
	id, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%w: redis append: unexpected reply %T", ErrUnavailable, v)
	}
	return id, nil
}

// registerEvery is how often a process adds a queue it appends to to the
// registry again, in case the registry was lost (a Redis restarted without
// persistence) while this process kept appending.
const registerEvery = time.Minute

// register adds name to the registry of queues, at most once per
// registerEvery.
func (s *Redis) register(ctx context.Context, name string) error {
	if at, ok := s.registered.Load(name); ok && time.Since(at.(time.Time)) < registerEvery {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.client.SAdd(ctx, s.registryKey(), name).Err(); err != nil {
		return redisErr("sadd", err)
	}
	s.registered.Store(name, time.Now())
	return nil
}

// Claim implements Store: one script, plus one per entry that does not
// decode (moved aside, not returned).
func (s *Redis) Claim(ctx context.Context, name string, n int, visibility time.Duration, now time.Time) ([]Lease, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if n <= 0 {
		return []Lease{}, nil
	}
	if visibility <= 0 {
		visibility = time.Microsecond // as Bolt: expired at once
	}
	prefix := s.consumer + "/" + randomHex(8) + "/"
	v, err := s.run(ctx, claimScript, name, now.UnixMicro(), now.Add(visibility).UnixMicro(), n, prefix)
	if err != nil {
		return nil, redisErr("claim", err)
	}
	rows, err := parseRows(v)
	if err != nil {
		return nil, err
	}
	leases := make([]Lease, 0, len(rows))
	for _, r := range rows {
		e, err := r.entry()
		if err != nil {
			s.moveAside(ctx, name, r.id, err)
			continue
		}
		leases = append(leases, Lease{Entry: e, Token: r.token})
	}
	return leases, nil
}

// settle runs the Ack, Retry or Dead script; 0 means the lease is lost.
func (s *Redis) settle(ctx context.Context, op string, sc *redis.Script, name string, l Lease, args ...any) error {
	if l.Entry == nil || l.Entry.ID == "" || l.Token == "" {
		return fmt.Errorf("%w: empty lease", ErrLeaseLost)
	}
	if err := checkName(name); err != nil {
		return err
	}
	v, err := s.run(ctx, sc, name, append([]any{l.Entry.ID, l.Token}, args...)...)
	if err != nil {
		return redisErr(op, err)
	}
	if n, _ := v.(int64); n != 1 {
		return fmt.Errorf("%w: entry %s", ErrLeaseLost, l.Entry.ID)
	}
	return nil
}

// Ack implements Store.
func (s *Redis) Ack(ctx context.Context, name string, l Lease) error {
	return s.settle(ctx, "ack", ackScript, name, l)
}

// Retry implements Store.
func (s *Redis) Retry(ctx context.Context, name string, l Lease, at time.Time, o Outcome) error {
	return s.settle(ctx, "retry", retryScript, name, l, at.UnixMicro(), at.UnixNano(), o.Status, o.Error)
}

// Dead implements Store.
func (s *Redis) Dead(ctx context.Context, name string, l Lease, o Outcome) error {
	return s.settle(ctx, "dead", deadScript, name, l, o.Status, o.Error)
}
