package webhookverify

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/redis/go-redis/v9"
)

func TestUnmarshalReplayRedis(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		want  *RedisReplayConfig
		err   string
	}{
		{
			name:  "one url",
			input: "replay {\n redis redis://127.0.0.1:6379/1\n}",
			want:  &RedisReplayConfig{URLs: []string{"redis://127.0.0.1:6379/1"}},
		},
		{
			name: "every option",
			input: `replay {
				redis rediss://10.0.0.1:7000 rediss://10.0.0.2:7000 {
					username webhooks
					password {env.REDIS_PASSWORD}
					key_prefix shop:
					timeout 500ms
					pool_size 32
					cluster
					allow_eviction
					tls {
						ca /etc/redis/ca.pem
						server_name redis.internal
					}
				}
			}`,
			want: &RedisReplayConfig{URLs: []string{"rediss://10.0.0.1:7000", "rediss://10.0.0.2:7000"},
				Username: "webhooks", Password: "{env.REDIS_PASSWORD}", KeyPrefix: "shop:",
				Timeout: caddy.Duration(500 * time.Millisecond), PoolSize: 32, Cluster: true, AllowEviction: true,
				TLS: &RedisTLSConfig{CA: "/etc/redis/ca.pem", ServerName: "redis.internal"}},
		},
		{
			name:  "sentinel",
			input: "replay {\n redis redis://s1:26379 redis://s2:26379 {\n sentinel mymaster\n }\n}",
			want:  &RedisReplayConfig{URLs: []string{"redis://s1:26379", "redis://s2:26379"}, Sentinel: "mymaster"},
		},
		{
			name:  "placeholder url checked at provision",
			input: "replay {\n redis redis://:{env.REDIS_PASSWORD}@{env.REDIS_HOST}:6379\n}",
			want:  &RedisReplayConfig{URLs: []string{"redis://:{env.REDIS_PASSWORD}@{env.REDIS_HOST}:6379"}},
		},
		{name: "no url", input: "replay {\n redis\n}", err: "at least one url"},
		{name: "bad scheme", input: "replay {\n redis http://h:1\n}", err: "redis url 1: scheme must be redis:// or rediss://, at Testfile:2"},
		{name: "bad second url", input: "replay {\n redis redis://h:1 redis://h:x\n}", err: "redis url 2"},
		{name: "bad db", input: "replay {\n redis redis://h:1/abc\n}", err: "database"},
		{name: "query", input: "replay {\n redis redis://h:1?dial_timeout=1s\n}", err: "query"},
		{name: "unknown option", input: "replay {\n redis redis://h:1 {\n\tfoo bar\n }\n}", err: `unrecognized redis option "foo", at Testfile:3`},
		{name: "unknown tls option", input: "replay {\n redis rediss://h:1 {\n tls {\n insecure_skip_verify\n }\n }\n}", err: `unrecognized redis tls option "insecure_skip_verify", at Testfile:4`},
		{name: "tls without rediss", input: "replay {\n redis redis://h:1 {\n tls {\n ca x\n }\n }\n}", err: "need rediss"},
		{name: "bad timeout", input: "replay {\n redis redis://h:1 {\n timeout -1s\n }\n}", err: "timeout"},
		{name: "bad pool size", input: "replay {\n redis redis://h:1 {\n pool_size 0\n }\n}", err: "pool_size"},
		{name: "allow_eviction takes no argument", input: "replay {\n redis redis://h:1 {\n allow_eviction yes\n }\n}", err: "Testfile:3"},
		{name: "cluster and sentinel", input: "replay {\n redis redis://h:1 {\n cluster\n sentinel m\n }\n}", err: "exclude"},
		{name: "cluster with db", input: "replay {\n redis redis://h:1/2 {\n cluster\n }\n}", err: "database"},
		{name: "mixed passwords", input: "replay {\n redis redis://:a@h:1 redis://:b@h:2\n}", err: "same in every url"},
		{name: "with storage", input: "replay {\n storage\n redis redis://h:1\n}", err: "exclude"},
		{name: "twice", input: "replay {\n redis redis://h:1\n redis redis://h:2\n}", err: "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := caddyfile.NewTestDispenser(tc.input)
			d.Next()
			h := new(Handler)
			err := h.unmarshalReplay(d)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				if strings.Contains(err.Error(), ":a@") {
					t.Errorf("error %q quotes a password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(h.Replay.Redis, tc.want) {
				t.Fatalf("got %+v, want %+v", h.Replay.Redis, tc.want)
			}
			// The JSON form round-trips.
			b, err := json.Marshal(h.Replay)
			if err != nil {
				t.Fatal(err)
			}
			var back ReplayConfig
			if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back.Redis, tc.want) {
				t.Fatalf("JSON %s did not round-trip: %v", b, err)
			}
		})
	}
}

// TestProvisionRedisReplay checks what Provision makes of the settings,
// without a server: go-redis connects lazily, and an unreachable Redis is
// a warning, not an error.
func TestProvisionRedisReplay(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte(testCAPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WV_TEST_REDIS_PW", "s3cr3t-pw")
	for _, tc := range []struct {
		name string
		rc   RedisReplayConfig
		err  string
	}{
		{"placeholders and tls", RedisReplayConfig{URLs: []string{"rediss://{env.WV_TEST_NO_SUCH_VAR}127.0.0.1:1"}, Password: "{env.WV_TEST_REDIS_PW}",
			TLS: &RedisTLSConfig{CA: ca, ServerName: "redis.test"}, Timeout: caddy.Duration(100 * time.Millisecond)}, ""},
		{"bad url after placeholders", RedisReplayConfig{URLs: []string{"{env.WV_TEST_NO_SUCH_VAR}http://h"}}, "scheme"},
		{"missing ca", RedisReplayConfig{URLs: []string{"rediss://127.0.0.1:1"}, TLS: &RedisTLSConfig{CA: ca + ".missing"}}, "tls ca"},
		{"ca without pem", RedisReplayConfig{URLs: []string{"rediss://127.0.0.1:1"}, TLS: &RedisTLSConfig{CA: notPEM}}, "no PEM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{logger: caddy.Log()}
			rs := new(replayState)
			err := h.provisionRedisReplay(rs, &tc.rc)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h.replay = rs
			defer h.Cleanup()
			if strings.Contains(rs.redisPoolKey, "s3cr3t") {
				t.Errorf("pool key %q holds the password", rs.redisPoolKey)
			}
			v, loaded, err := redisPool.LoadOrNew(rs.redisPoolKey, nil)
			if err != nil || !loaded {
				t.Fatalf("client not in the pool: %v", err)
			}
			redisPool.Delete(rs.redisPoolKey)
			o := v.(redisClient).UniversalClient.(*redis.Client).Options()
			if o.Password != "s3cr3t-pw" || o.TLSConfig == nil || o.TLSConfig.ServerName != "redis.test" || o.TLSConfig.RootCAs == nil ||
				!o.ContextTimeoutEnabled || o.ReadTimeout != 100*time.Millisecond || o.Addr != "127.0.0.1:1" {
				t.Errorf("client options %+v", o)
			}
		})
	}

	// Two handlers with the same settings share one client; it is closed
	// when the last one goes.
	rc := RedisReplayConfig{URLs: []string{"redis://127.0.0.1:1"}, Timeout: caddy.Duration(50 * time.Millisecond)}
	a, b := &Handler{logger: caddy.Log()}, &Handler{logger: caddy.Log()}
	for _, h := range []*Handler{a, b} {
		h.replay = new(replayState)
		if err := h.provisionRedisReplay(h.replay, &rc); err != nil {
			t.Fatal(err)
		}
	}
	if a.replay.redisPoolKey != b.replay.redisPoolKey {
		t.Fatal("same settings, different pool keys")
	}
	if refs, ok := redisPool.References(a.replay.redisPoolKey); !ok || refs != 2 {
		t.Fatalf("pool references %d, want 2", refs)
	}
	a.Cleanup()
	b.Cleanup()
	if _, ok := redisPool.References(a.replay.redisPoolKey); ok {
		t.Fatal("client still pooled after the last handler went")
	}
}

// testCAPEM is a self-signed certificate, only parsed (generated with
// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=redis.test -days 3650`).
const testCAPEM = `-----BEGIN CERTIFICATE-----
MIIBgDCCASWgAwIBAgIUJzSOtYGznDK/YSHZrdyPZlyJDBwwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKcmVkaXMudGVzdDAeFw0yNjEyMDEyMTAyMDFaFw0zNjExMjgy
MTAyMDFaMBUxEzARBgNVBAMMCnJlZGlzLnRlc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASuaBePpAJPuOdaf0WSYCDrwoW/gHIEixHayvOCho64OFfOpJSfSSjZ
1ZGcl7JsrfHKxRG4P1Bs3NOov1QORitEo1MwUTAdBgNVHQ4EFgQUh+LTM8++70gW
TD1+Bq2Y14Rtza8wHwYDVR0jBBgwFoAUh+LTM8++70gWTD1+Bq2Y14Rtza8wDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA7YlwBDqb7hdUn2rZVYtj
MyzpYV6LHrvtRaPoawk15zoCIQDkmsdOsHkLhhWfmsYTCYooqGnEX2j0UQXAy3en
Vo+UjQ==
-----END CERTIFICATE-----
`
