//go:build unix

package replay

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

// These tests run the Redis store against a real redis-server (or
// valkey-server) started on a loopback port. Without one they are skipped,
// unless WEBHOOK_VERIFY_REQUIRE_REDIS=1, which makes them fail.
// WEBHOOK_VERIFY_REDIS_SERVER names the server binary (default:
// redis-server); .ci/run runs them once more against valkey-server when
// Debian has it.

func init() {
	factories = append(factories, struct {
		name string
		new  storeFactory
	}{"redis", newTestRedis})
}

// testRedis is a redis-server process without persistence, started by
// the suite's shared helper (internal/redistest).
type testRedis = redistest.Server

// startTestRedis starts a server on port (0: a free one) with extra
// arguments and waits until it answers PING.
func startTestRedis(t testing.TB, port int, extra ...string) *testRedis {
	t.Helper()
	return redistest.Start(t, port, "", extra...)
}

const testPrefix = "wvtest:replay:"

// newTestRedis is the contract factory. Redis expires keys on its own
// clock, so advancing the fake clock shortens the TTL of every key by as
// much (PEXPIRE, or DEL once nothing is left); the resolution is 250ms,
// which absorbs the real time a step takes.
func newTestRedis(t testing.TB, clock *fakeClock) Store {
	r := startTestRedis(t, 0)
	admin := r.Client(t, nil)
	clock.tick = 250 * time.Millisecond
	clock.onAdvance = func(d time.Duration) {
		keys, err := admin.Keys(ctx, testPrefix+"*").Result()
		if err != nil {
			t.Errorf("KEYS: %v", err)
			return
		}
		for _, k := range keys {
			left, err := admin.PTTL(ctx, k).Result()
			switch {
			case err != nil:
				t.Errorf("PTTL %s: %v", k, err)
			case left == -2*time.Millisecond || left == -2: // gone meanwhile
			case left < 0:
				t.Errorf("key %s has no expiry (PTTL %v)", k, left)
			case left-d <= 0:
				admin.Del(ctx, k)
			default:
				admin.PExpire(ctx, k, left-d)
			}
		}
	}
	return NewRedis(r.Client(t, nil), RedisOptions{Prefix: testPrefix})
}

// commandCalls returns the calls per command since the last CONFIG
// RESETSTAT, from INFO commandstats (scripts' inner commands included).
func commandCalls(t testing.TB, c *redis.Client) map[string]int {
	t.Helper()
	info, err := c.Info(ctx, "commandstats").Result()
	if err != nil {
		t.Fatalf("INFO commandstats: %v", err)
	}
	calls := map[string]int{}
	re := regexp.MustCompile(`(?m)^cmdstat_([a-z|]+):calls=(\d+)`)
	for _, m := range re.FindAllStringSubmatch(info, -1) {
		n, _ := strconv.Atoi(m[2])
		calls[m[1]] = n
	}
	return calls
}

func total(calls map[string]int, skip ...string) int {
	n := 0
	for k, v := range calls {
		skipped := false
		for _, s := range skip {
			skipped = skipped || k == s
		}
		if !skipped {
			n += v
		}
	}
	return n
}

func TestRedisCommandsPerStep(t *testing.T) {
	r := startTestRedis(t, 0)
	admin := r.Client(t, nil)
	s := NewRedis(r.Client(t, nil), RedisOptions{Prefix: testPrefix})
	// Load the scripts once (EVALSHA's fallback to EVAL), as a running
	// server would have them after the first delivery.
	warm := Key("p", []byte("warm"))
	tok := reserve(t, s, warm, inflight, New)
	commit(t, s, warm, tok, ttl)
	release(t, s, warm, 1)

	steps := []struct {
		name string
		run  func(k string)
		max  int
	}{
		{"new delivery, committed", func(k string) { commit(t, s, k, reserve(t, s, k, inflight, New), ttl) }, 4},
		{"new delivery, released", func(k string) { release(t, s, k, reserve(t, s, k, inflight, New)) }, 4},
		{"duplicate of an accepted one", func(k string) {
			commit(t, s, k, reserve(t, s, k, inflight, New), ttl)
			admin.ConfigResetStat(ctx)
			reserve(t, s, k, inflight, Accepted)
		}, 2},
		{"copy in flight", func(k string) {
			reserve(t, s, k, inflight, New)
			admin.ConfigResetStat(ctx)
			reserve(t, s, k, inflight, InFlight)
		}, 2},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := admin.ConfigResetStat(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			st.run(Key("p", []byte("cmds-"+strconv.Itoa(i))))
			calls := commandCalls(t, admin)
			// INFO itself is counted once the reply is built.
			if n := total(calls, "info", "config|resetstat"); n > st.max || n == 0 {
				t.Errorf("%d Redis commands (%v), want 1..%d", n, calls, st.max)
			}
			if calls["eval"] != 0 {
				t.Errorf("script sent with EVAL (%v), want EVALSHA once loaded", calls)
			}
		})
	}
}

func TestRedisEntries(t *testing.T) {
	r := startTestRedis(t, 0)
	admin := r.Client(t, nil)
	s := NewRedis(r.Client(t, nil), RedisOptions{Prefix: testPrefix})
	k := Key("stripe|route", []byte("evt_secretish_123"))
	rk := testPrefix + k
	if s.RedisKey(k) != rk {
		t.Fatalf("RedisKey = %q, want %q", s.RedisKey(k), rk)
	}
	tok := reserve(t, s, k, time.Minute, New)
	v, err := admin.Get(ctx, rk).Result()
	if err != nil || v != "f"+strconv.FormatUint(uint64(tok), 10) {
		t.Fatalf("in-flight value %q, %v; want f<token>", v, err)
	}
	if left := admin.PTTL(ctx, rk).Val(); left <= 50*time.Second || left > time.Minute {
		t.Errorf("in-flight PTTL %v, want just under 1m", left)
	}
	commit(t, s, k, tok, 3*time.Hour)
	if v := admin.Get(ctx, rk).Val(); v != "a" {
		t.Fatalf("accepted value %q, want a", v)
	}
	if left := admin.PTTL(ctx, rk).Val(); left <= 3*time.Hour-time.Minute || left > 3*time.Hour {
		t.Errorf("accepted PTTL %v, want just under 3h", left)
	}
	keys := admin.Keys(ctx, "*").Val()
	if len(keys) != 1 || !regexp.MustCompile(`^`+testPrefix+`[0-9a-f]{64}$`).MatchString(keys[0]) {
		t.Errorf("keys %v, want one <prefix><64 hex>", keys)
	}
	for _, key := range keys {
		if strings.Contains(key, "evt_") {
			t.Errorf("key %q holds the delivery id in clear", key)
		}
	}

	// Real expiry, by Redis's own clock.
	k2 := Key("p", []byte("short"))
	reserve(t, s, k2, 50*time.Millisecond, New)
	reserve(t, s, k2, 50*time.Millisecond, InFlight)
	time.Sleep(150 * time.Millisecond)
	tok = reserve(t, s, k2, 50*time.Millisecond, New)
	commit(t, s, k2, tok, 100*time.Millisecond)
	reserve(t, s, k2, time.Minute, Accepted)
	time.Sleep(250 * time.Millisecond)
	reserve(t, s, k2, time.Minute, New)

	// A value this store did not write is an error, not a state.
	admin.Set(ctx, s.RedisKey(Key("p", []byte("junk"))), "xyz", time.Minute)
	if _, _, err := s.Reserve(ctx, Key("p", []byte("junk")), time.Minute); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Reserve of a foreign value: %v, want ErrUnavailable", err)
	}
}

// TestRedisFailures: every refusal of Redis fails closed with
// ErrUnavailable, and the store recovers without a new client.
func TestRedisFailures(t *testing.T) {
	r := startTestRedis(t, 0)
	admin := r.Client(t, nil)
	for _, acl := range [][]string{
		{"ACL", "SETUSER", "noset", "on", ">pw", "~*", "&*", "+@all", "-set"},
		{"ACL", "SETUSER", "noscript", "on", ">pw", "~*", "&*", "+@all", "-evalsha", "-eval"},
		{"ACL", "SETUSER", "otherkeys", "on", ">pw", "~other:*", "&*", "+@all"},
	} {
		args := make([]any, len(acl))
		for i, a := range acl {
			args[i] = a
		}
		if err := admin.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("%v: %v", acl, err)
		}
	}
	store := func(user string) *Redis {
		return NewRedis(r.Client(t, &redis.Options{Username: user, Password: "pw", MaxRetries: -1, ContextTimeoutEnabled: true}),
			RedisOptions{Prefix: testPrefix, Timeout: 500 * time.Millisecond})
	}
	wantUnavailable := func(t *testing.T, what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", what, err)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: error %q shows the password", what, err)
		}
	}
	k := Key("p", []byte("id"))

	t.Run("acl without SET", func(t *testing.T) {
		_, _, err := store("noset").Reserve(ctx, k, inflight)
		wantUnavailable(t, "Reserve", err)
		if n := admin.Exists(ctx, testPrefix+k).Val(); n != 0 {
			t.Errorf("a refused reservation left %d keys", n)
		}
	})
	t.Run("acl without scripts", func(t *testing.T) {
		s := store("noscript")
		tok := reserve(t, s, Key("p", []byte("noscript")), inflight, New)
		wantUnavailable(t, "Commit", s.Commit(ctx, Key("p", []byte("noscript")), tok, ttl))
		wantUnavailable(t, "Release", s.Release(ctx, Key("p", []byte("noscript")), tok))
	})
	t.Run("acl for other keys", func(t *testing.T) {
		_, _, err := store("otherkeys").Reserve(ctx, k, inflight)
		wantUnavailable(t, "Reserve", err)
	})
	t.Run("out of memory", func(t *testing.T) {
		admin.ConfigSet(ctx, "maxmemory-policy", "noeviction")
		admin.ConfigSet(ctx, "maxmemory", "1")
		defer admin.ConfigSet(ctx, "maxmemory", "0")
		_, _, err := store("default").Reserve(ctx, Key("p", []byte("oom")), inflight)
		wantUnavailable(t, "Reserve", err)
		if err != nil && !strings.Contains(err.Error(), "OOM") {
			t.Errorf("error %q does not say OOM", err)
		}
	})
	t.Run("slow past the timeout", func(t *testing.T) {
		if err := admin.Do(ctx, "CLIENT", "PAUSE", "3000", "WRITE").Err(); err != nil {
			t.Fatal(err)
		}
		defer admin.Do(ctx, "CLIENT", "UNPAUSE")
		start := time.Now()
		_, _, err := store("default").Reserve(ctx, Key("p", []byte("slow")), inflight)
		wantUnavailable(t, "Reserve", err)
		if took := time.Since(start); took > 2500*time.Millisecond {
			t.Errorf("Reserve took %v with a 500ms timeout", took)
		}
	})
	t.Run("read-only replica", func(t *testing.T) {
		primary := startTestRedis(t, 0)
		replica := startTestRedis(t, 0, "--replicaof", "127.0.0.1", strconv.Itoa(primary.Port))
		s := NewRedis(replica.Client(t, &redis.Options{MaxRetries: -1}), RedisOptions{Prefix: testPrefix})
		_, _, err := s.Reserve(ctx, k, inflight)
		wantUnavailable(t, "Reserve", err)
		if err != nil && !strings.Contains(err.Error(), "READONLY") {
			t.Errorf("error %q does not say READONLY", err)
		}
	})
	t.Run("killed then back", func(t *testing.T) {
		rr := startTestRedis(t, 0)
		s := NewRedis(rr.Client(t, &redis.Options{DialTimeout: 300 * time.Millisecond}),
			RedisOptions{Prefix: testPrefix, Timeout: time.Second})
		a := Key("p", []byte("before"))
		commit(t, s, a, reserve(t, s, a, inflight, New), ttl)
		rr.Kill()
		_, _, err := s.Reserve(ctx, Key("p", []byte("during")), inflight)
		wantUnavailable(t, "Reserve with Redis down", err)
		wantUnavailable(t, "Ping with Redis down", s.Ping(ctx))
		startTestRedis(t, rr.Port)
		// The same client reconnects; the restarted server is empty, so
		// the delivery accepted before the crash is new again (documented).
		deadline := time.Now().Add(5 * time.Second)
		for s.Ping(ctx) != nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		reserve(t, s, Key("p", []byte("during")), inflight, New)
		reserve(t, s, a, inflight, New)
	})
}

func TestRedisURLOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		urls    []string
		cluster bool
		master  string
		check   func(*redis.UniversalOptions) bool
		err     string
	}{
		{"single", []string{"redis://127.0.0.1:6379/2"}, false, "", func(o *redis.UniversalOptions) bool {
			return len(o.Addrs) == 1 && o.Addrs[0] == "127.0.0.1:6379" && o.DB == 2 && o.TLSConfig == nil && !o.IsClusterMode
		}, ""},
		{"credentials and tls", []string{"rediss://user:p%40ss@redis.example:6380"}, false, "", func(o *redis.UniversalOptions) bool {
			return o.Username == "user" && o.Password == "p@ss" && o.TLSConfig != nil && o.TLSConfig.ServerName == "redis.example"
		}, ""},
		{"default port", []string{"redis://localhost"}, false, "", func(o *redis.UniversalOptions) bool {
			return o.Addrs[0] == "localhost:6379"
		}, ""},
		{"cluster seeds", []string{"redis://:pw@10.0.0.1:7000", "redis://:pw@10.0.0.2:7000"}, false, "", func(o *redis.UniversalOptions) bool {
			return len(o.Addrs) == 2 && o.Password == "pw" && o.MasterName == ""
		}, ""},
		{"cluster with one seed", []string{"redis://10.0.0.1:7000"}, true, "", func(o *redis.UniversalOptions) bool { return o.IsClusterMode }, ""},
		{"sentinel", []string{"redis://:pw@10.0.0.1:26379/1", "redis://:pw@10.0.0.2:26379/1"}, false, "mymaster", func(o *redis.UniversalOptions) bool {
			return o.MasterName == "mymaster" && o.DB == 1 && o.Password == "pw" && len(o.Addrs) == 2
		}, ""},
		{"no url", nil, false, "", nil, "no redis url"},
		{"http scheme", []string{"http://h:1"}, false, "", nil, "scheme"},
		{"unix scheme", []string{"unix:///tmp/r.sock"}, false, "", nil, "scheme"},
		{"no host", []string{"redis://:6379"}, false, "", nil, "no host"},
		{"bad port", []string{"redis://h:99999"}, false, "", nil, "port"},
		{"bad db", []string{"redis://h:1/x"}, false, "", nil, "database"},
		{"query", []string{"redis://h:1?pool_size=3"}, false, "", nil, "query"},
		{"mixed credentials", []string{"redis://:a@h:1", "redis://:b@h:2"}, false, "", nil, "same in every url"},
		{"mixed schemes", []string{"redis://h:1", "rediss://h:2"}, false, "", nil, "same in every url"},
		{"cluster with a db", []string{"redis://h:1/3", "redis://h:2/3"}, false, "", nil, "database"},
		{"cluster and sentinel", []string{"redis://h:1"}, true, "m", nil, "exclude"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := RedisURLOptions(tc.urls, tc.cluster, tc.master)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				for _, u := range tc.urls {
					if strings.Contains(err.Error(), u) {
						t.Errorf("error %q quotes the url", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(o) {
				t.Errorf("options %+v", o)
			}
		})
	}
}

func TestMillis(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{
		time.Nanosecond:          time.Millisecond,
		time.Millisecond:         time.Millisecond,
		time.Millisecond + 1:     2 * time.Millisecond,
		time.Hour:                time.Hour,
		time.Duration(1<<63 - 1): time.Duration(1<<63 - 1).Truncate(time.Millisecond),
		time.Duration(1<<63-1) - 10*time.Millisecond: 9223372036845 * time.Millisecond,
	} {
		if got := millis(in); got != want {
			t.Errorf("millis(%d) = %d, want %d", in, got, want)
		}
	}
}
