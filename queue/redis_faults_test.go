package queue

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/webhookverify/caddy-webhook-verify/internal/redistest"
)

// The Redis store when Redis fails or holds what it should not: down,
// refusing writes, a read-only replica, an evicting policy, corrupt
// entries, a restart with and without persistence.

// TestRedisUnavailable: Redis down (and a Redis refusing writes) fails
// every operation with ErrUnavailable; nothing is kept of a failed append.
func TestRedisUnavailable(t *testing.T) {
	r := redistest.Start(t, 0, "")
	c := r.Client(t, &redis.Options{MaxRetries: -1, DialTimeout: 300 * time.Millisecond, ContextTimeoutEnabled: true})
	s, err := NewRedis(c, RedisOptions{Prefix: testPrefix, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const q = "down"
	mustAppend(t, s, q, testEntry("before"))
	l := claimAt(t, s, q, 1, time.Minute, time.Now(), 1)[0]

	t.Run("out of memory", func(t *testing.T) {
		admin := r.Client(t, nil)
		admin.ConfigSet(bg, "maxmemory-policy", "noeviction")
		admin.ConfigSet(bg, "maxmemory", "1")
		defer admin.ConfigSet(bg, "maxmemory", "0")
		_, err := s.Append(bg, q, testEntry("oom"), Limits{})
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "OOM") {
			t.Fatalf("Append on a full Redis: %v, want ErrUnavailable (OOM)", err)
		}
	})
	statsAre(t, s, q, 0, 1, 0)

	r.Kill()
	start := time.Now()
	if _, err := s.Append(bg, q, testEntry("during"), Limits{}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Append with Redis down: %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Append with Redis down took %v", took)
	}
	checks := map[string]error{
		"Ack":      s.Ack(bg, q, l),
		"Retry":    s.Retry(bg, q, l, time.Now(), Outcome{}),
		"Dead":     s.Dead(bg, q, l, Outcome{}),
		"CheckEv.": CheckEviction(bg, c),
	}
	_, checks["Claim"] = s.Claim(bg, q, 1, time.Minute, time.Now())
	_, checks["Stats"] = s.Stats(bg, q)
	_, checks["List"] = s.List(bg, q, false, 1, false)
	_, checks["Get"] = s.Get(bg, q, l.Entry.ID)
	_, checks["Requeue"] = s.Requeue(bg, q, "")
	_, checks["Purge"] = s.Purge(bg, q, "", false)
	_, checks["Queues"] = s.Queues(bg)
	for name, err := range checks {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s with Redis down: %v, want ErrUnavailable", name, err)
		}
	}
	// The same client works again once Redis is back.
	redistest.Start(t, r.Port, "")
	deadline := time.Now().Add(5 * time.Second)
	for c.Ping(bg).Err() != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	mustAppend(t, s, q, testEntry("after"))
	statsAre(t, s, q, 1, 0, 0) // the restarted server had no persistence
}

// TestRedisReadOnlyReplica: a replica refuses the append (READONLY), and
// so does a primary short of its min-replicas-to-write (NOREPLICAS).
func TestRedisReadOnlyReplica(t *testing.T) {
	primary := redistest.Start(t, 0, "")
	replica := redistest.Start(t, 0, "", "--replicaof", "127.0.0.1", strconv.Itoa(primary.Port))
	s := newTestStore(t, replica.Client(t, &redis.Options{MaxRetries: -1}), "")
	_, err := s.Append(bg, "q", testEntry("x"), Limits{})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "READONLY") {
		t.Fatalf("Append to a replica: %v, want ErrUnavailable (READONLY)", err)
	}
	// A primary told to refuse writes without a replica keeping up.
	lone := redistest.Start(t, 0, "", "--min-replicas-to-write", "1")
	s = newTestStore(t, lone.Client(t, &redis.Options{MaxRetries: -1}), "")
	if _, err := s.Append(bg, "q", testEntry("x"), Limits{}); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "NOREPLICAS") {
		t.Fatalf("Append without the replicas min-replicas-to-write asks for: %v, want ErrUnavailable (NOREPLICAS)", err)
	}
}

// TestRedisCheckEviction: the maxmemory-policies that could evict entries
// are refused, an ACL that denies CONFIG is told apart.
func TestRedisCheckEviction(t *testing.T) {
	r := redistest.Start(t, 0, "")
	admin := r.Client(t, nil)
	for _, tc := range []struct {
		policy string
		want   error
	}{
		{"noeviction", nil},
		{"volatile-lru", nil},
		{"volatile-ttl", nil},
		{"allkeys-lru", ErrEvicting},
		{"allkeys-lfu", ErrEvicting},
		{"allkeys-random", ErrEvicting},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			if err := admin.ConfigSet(bg, "maxmemory-policy", tc.policy).Err(); err != nil {
				t.Fatal(err)
			}
			err := CheckEviction(bg, admin)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("CheckEviction: %v, want %v", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), tc.policy) {
				t.Errorf("error %q does not name the policy", err)
			}
		})
	}
	t.Run("config denied by acl", func(t *testing.T) {
		admin.ConfigSet(bg, "maxmemory-policy", "allkeys-lru")
		if err := admin.Do(bg, "ACL", "SETUSER", "noconfig", "on", ">pw", "~*", "&*", "+@all", "-config").Err(); err != nil {
			t.Fatal(err)
		}
		c := r.Client(t, &redis.Options{Username: "noconfig", Password: "pw"})
		err := CheckEviction(bg, c)
		if !errors.Is(err, ErrEvictionUnchecked) || errors.Is(err, ErrEvicting) || errors.Is(err, ErrUnavailable) {
			t.Fatalf("CheckEviction without CONFIG: %v, want ErrEvictionUnchecked alone", err)
		}
	})
}

// TestRedisCorrupt: an entry whose stored bytes do not decode is moved
// aside (to {q}:bad), never returned and never blocks the entries behind
// it.
func TestRedisCorrupt(t *testing.T) {
	r := redistest.Start(t, 0, "")
	admin := r.Client(t, nil)
	var reported []string
	s, err := NewRedis(r.Client(t, nil), RedisOptions{Prefix: testPrefix, OnCorrupt: func(q, id string, err error) {
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("OnCorrupt called with %v, want ErrCorrupt", err)
		}
		reported = append(reported, q+"/"+id)
	}})
	if err != nil {
		t.Fatal(err)
	}
	const q = "bad"
	now := time.Now()
	var badIDs []string
	for _, blob := range []string{"\x00garbage\xff", ""} {
		id, err := s.appendRaw(bg, q, []byte(blob), 10, now, now, Limits{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		badIDs = append(badIDs, id)
	}
	good := mustAppend(t, s, q, testEntry("good"))
	// A stream entry written by someone else, outside the schedule, is
	// never claimed either.
	admin.XAdd(bg, &redis.XAddArgs{Stream: s.keys(q)[kStream], Values: []string{"e", "junk"}})
	statsAre(t, s, q, 3, 0, 0)

	now = time.Now()
	ls := claimAt(t, s, q, 1, time.Minute, now, 0) // the first bad one, moved aside
	ls = claimAt(t, s, q, 10, time.Minute, now, 1)
	if ls[0].Entry.ID != good {
		t.Fatalf("claimed %s, want the good entry %s", ls[0].Entry.ID, good)
	}
	statsAre(t, s, q, 0, 1, 0)
	if len(reported) != 2 || reported[0] != q+"/"+badIDs[0] || reported[1] != q+"/"+badIDs[1] {
		t.Fatalf("reported %v, want %v", reported, badIDs)
	}
	aside, err := admin.XRange(bg, s.keys(q)[kAside], "-", "+").Result()
	if err != nil || len(aside) != 2 || aside[0].Values["id"] != badIDs[0] || aside[0].Values["e"] != "\x00garbage\xff" {
		t.Fatalf("aside stream = %+v, %v", aside, err)
	}
	if st, _ := s.Stats(bg, q); st.Bytes != ls[0].Entry.Size() {
		t.Fatalf("bytes %d after moving aside, want %d", st.Bytes, ls[0].Entry.Size())
	}
	// List moves a corrupt entry aside too; Get reports it.
	id, _ := s.appendRaw(bg, q, []byte("junk"), 1, now, now, Limits{}, 0)
	if _, err := s.Get(bg, q, id); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get of a corrupt entry: %v, want ErrCorrupt", err)
	}
	if l, err := s.List(bg, q, false, 10, false); err != nil || len(l) != 1 || l[0].ID != good {
		t.Fatalf("List = %+v, %v; want the good entry only", l, err)
	}
	statsAre(t, s, q, 0, 1, 0)
}

// TestRedisPersistence: what an acknowledged entry survives, per Redis
// persistence setting, when redis-server is killed (SIGKILL) and
// restarted on the same directory. With appendfsync everysec, Redis
// postpones the AOF write by up to about 2s while a background fsync runs,
// and answers meanwhile: a kill at once lost all 20 acknowledged entries
// in 3 runs of 20 here (see the Redis type's doc), so that case first
// waits until Redis reports its AOF buffer written (settle). A power cut
// is not simulated.
func TestRedisPersistence(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		settle   bool
		survives bool
	}{
		{"aof always", []string{"--appendonly", "yes", "--appendfsync", "always"}, false, true},
		{"aof everysec, once the aof buffer is written", []string{"--appendonly", "yes", "--appendfsync", "everysec"}, true, true},
		{"no persistence", nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := redistest.Start(t, 0, dir, tc.args...)
			s := newTestStore(t, r.Client(t, &redis.Options{MaxRetries: -1}), "")
			const q, n = "durable", 20
			for i := range n {
				mustAppend(t, s, q, testEntry(strconv.Itoa(i)))
			}
			l := claimAt(t, s, q, 1, time.Minute, time.Now(), 1)[0]
			if tc.settle {
				// Wait until Redis has written its AOF buffer (it may
				// postpone the write while a background fsync runs).
				admin := r.Client(t, nil)
				start, deadline := time.Now(), time.Now().Add(15*time.Second)
				written := regexp.MustCompile(`(?m)^aof_buffer_length:0\r?$`)
				for !written.MatchString(admin.Info(bg, "persistence").Val()) {
					if time.Now().After(deadline) {
						t.Fatal("the AOF buffer was not written within 15s")
					}
					time.Sleep(20 * time.Millisecond)
				}
				t.Logf("AOF buffer written %v after the last append", time.Since(start))
			}
			r.Kill()
			r2 := redistest.Start(t, r.Port, dir, tc.args...)
			s2 := newTestStore(t, r2.Client(t, nil), "")
			st, err := s2.Stats(bg, q)
			if err != nil {
				t.Fatal(err)
			}
			if tc.survives {
				if st.Pending != n-1 || st.InFlight != 1 {
					t.Fatalf("after kill -9: %+v, want %d pending, 1 in flight", st, n-1)
				}
				if err := s2.Ack(bg, q, l); err != nil {
					t.Fatalf("Ack of a lease taken before the crash: %v", err)
				}
			} else if st.Pending+st.InFlight != 0 {
				t.Fatalf("after kill -9 without persistence: %+v, want empty", st)
			}
		})
	}
}
