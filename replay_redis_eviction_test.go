//go:build unix

package webhookverify

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestProvisionRedisEviction: a Redis whose maxmemory-policy may evict
// keys with a TTL silently drops replay entries (issue 13 item 10): it is
// refused at provision unless allow_eviction is set (then a warning); a
// policy that cannot be read (an ACL without CONFIG) is a warning. Real
// redis-servers on free loopback ports.
func TestProvisionRedisEviction(t *testing.T) {
	ports := freePorts(t, 4)
	lru := startRedis(t, ports[0], "--maxmemory-policy", "allkeys-lru")
	volatile := startRedis(t, ports[1], "--maxmemory-policy", "volatile-ttl")
	safe := startRedis(t, ports[2])
	// An ACL user that may do everything but CONFIG.
	acl := startRedis(t, ports[3], "--maxmemory-policy", "allkeys-lru", "--user", "wv", "on", ">wv-pw", "~*", "&*", "+@all", "-config")
	for _, tc := range []struct {
		name  string
		url   string
		allow bool
		err   string // refused at provision with this
		warn  string // else a warning with this
	}{
		{"allkeys-lru refused", "redis://" + lru.addr, false, `maxmemory-policy is "allkeys-lru"`, ""},
		{"volatile-ttl refused", "redis://" + volatile.addr, false, `maxmemory-policy is "volatile-ttl"`, ""},
		{"allkeys-lru with allow_eviction", "redis://" + lru.addr, true, "", "may evict replay entries"},
		{"noeviction (the default)", "redis://" + safe.addr, false, "", ""},
		{"CONFIG refused by an ACL", "redis://wv:wv-pw@" + acl.addr, false, "", "could not check redis maxmemory-policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.WarnLevel)
			h := &Handler{logger: zap.New(core)}
			rs := new(replayState)
			rc := &RedisReplayConfig{URLs: []string{tc.url}, AllowEviction: tc.allow, Timeout: caddy.Duration(2 * time.Second)}
			err := h.provisionRedisReplay(rs, rc)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "noeviction") {
					t.Fatalf("err = %v, want one containing %q and the noeviction advice", err, tc.err)
				}
				if rs.redisPoolKey != "" || rs.store != nil {
					t.Fatalf("refused, but the replay state holds the client (%+v)", rs)
				}
				if strings.Contains(err.Error(), "wv-pw") {
					t.Fatalf("error %q shows the password", err)
				}
			} else if err != nil {
				t.Fatal(err)
			} else {
				h.replay = rs
				defer h.Cleanup()
			}
			var warns []string
			for _, e := range logs.All() {
				warns = append(warns, fmt.Sprint(e.Message, e.ContextMap()))
			}
			joined := strings.Join(warns, "\n")
			if tc.warn == "" && len(warns) != 0 {
				t.Errorf("warnings %q, want none", joined)
			}
			if tc.warn != "" && !strings.Contains(joined, tc.warn) {
				t.Errorf("warnings %q, want one containing %q", joined, tc.warn)
			}
			if strings.Contains(joined, "wv-pw") {
				t.Errorf("a warning shows the password: %q", joined)
			}
		})
	}
	// A refused provision leaves no client in the pool.
	h := &Handler{logger: zap.NewNop()}
	rc := &RedisReplayConfig{URLs: []string{"redis://" + lru.addr}, KeyPrefix: "refused:"}
	if err := h.provisionRedisReplay(new(replayState), rc); err == nil {
		t.Fatal("not refused")
	}
	rc.AllowEviction = true
	rs := new(replayState)
	if err := h.provisionRedisReplay(rs, rc); err != nil {
		t.Fatal(err)
	}
	if refs, ok := redisPool.References(rs.redisPoolKey); !ok || refs != 1 {
		t.Fatalf("pool references %d, want 1 (the refused provision gave its own back)", refs)
	}
	h.replay = rs
	h.Cleanup()
}
