package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// What the admin API and the metrics read and change in a Redis store:
// Stats, List, Get, Requeue, Purge, Queues.

// Stats implements Store: one script.
func (s *Redis) Stats(ctx context.Context, name string) (Stats, error) {
	if err := checkName(name); err != nil {
		return Stats{}, err
	}
	v, err := s.run(ctx, statsScript, name)
	if err != nil {
		return Stats{}, redisErr("stats", err)
	}
	a, ok := v.([]any)
	if !ok || len(a) != 5 {
		return Stats{}, fmt.Errorf("%w: redis stats: unexpected reply", ErrUnavailable)
	}
	live, _ := a[0].(int64)
	dead, _ := a[1].(int64)
	inflight, _ := a[2].(int64)
	bytes, _ := a[3].(int64)
	st := Stats{Pending: live - inflight, InFlight: inflight, Dead: dead, Bytes: bytes}
	if ns, err := strconv.ParseInt(fmt.Sprint(a[4]), 10, 64); err == nil {
		st.OldestPending = time.Unix(0, ns)
	}
	return st, nil
}

// List implements Store: one script. Entries that do not decode are moved
// aside and left out.
func (s *Redis) List(ctx context.Context, name string, dead bool, limit int, withBody bool) ([]*Entry, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = -1 // everything, as in Bolt
	}
	v, err := s.run(ctx, listScript, name, flag(dead), limit)
	if err != nil {
		return nil, redisErr("list", err)
	}
	rows, err := parseRows(v)
	if err != nil {
		return nil, err
	}
	out := make([]*Entry, 0, len(rows))
	for _, r := range rows {
		e, err := r.entry()
		if err != nil {
			s.moveAside(ctx, name, r.id, err)
			continue
		}
		if !withBody {
			e.Body = nil
		}
		out = append(out, e)
	}
	return out, nil
}

// Get implements Store. An entry that does not decode is an error
// wrapping ErrCorrupt (and stays where it is).
func (s *Redis) Get(ctx context.Context, name, id string) (*Entry, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	v, err := s.run(ctx, getScript, name, id)
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, redisErr("get", err)
	}
	rows, err := parseRows([]any{v})
	if err != nil {
		return nil, err
	}
	return rows[0].entry()
}

// Requeue implements Store.
func (s *Redis) Requeue(ctx context.Context, name, id string) (int, error) {
	return s.batched(ctx, "requeue", name, id, func(ctx context.Context) (any, error) {
		now := time.Now()
		return s.run(ctx, requeueScript, name, id, now.UnixMicro(), now.UnixNano(), redisBatch)
	})
}

// Purge implements Store.
func (s *Redis) Purge(ctx context.Context, name, id string, dead bool) (int, error) {
	return s.batched(ctx, "purge", name, id, func(ctx context.Context) (any, error) {
		return s.run(ctx, purgeScript, name, id, flag(dead), redisBatch)
	})
}

// batched runs a Requeue or Purge script: once for one id (-1: not
// found), else again until a batch comes back short.
func (s *Redis) batched(ctx context.Context, op, name, id string, run func(context.Context) (any, error)) (int, error) {
	if err := checkName(name); err != nil {
		return 0, err
	}
	total := 0
	for {
		v, err := run(ctx)
		if err != nil {
			return total, redisErr(op, err)
		}
		n, _ := v.(int64)
		if n < 0 {
			return 0, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		total += int(n)
		if id != "" || n < redisBatch {
			return total, nil
		}
	}
}

// Queues implements Store: the queues this store's prefix has seen an
// append to, that hold at least one entry.
func (s *Redis) Queues(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	names, err := s.client.SMembers(ctx, s.registryKey()).Result()
	if err != nil {
		return nil, redisErr("smembers", err)
	}
	cmds := make([][2]*redis.IntCmd, len(names))
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			k := s.keys(n)
			cmds[i] = [2]*redis.IntCmd{p.ZCard(ctx, k[kLive]), p.ZCard(ctx, k[kDead])}
		}
		return nil
	})
	if err != nil {
		return nil, redisErr("zcard", err)
	}
	out := []string{}
	for i, n := range names {
		if cmds[i][0].Val()+cmds[i][1].Val() > 0 {
			out = append(out, n)
		}
	}
	return out, nil
}
