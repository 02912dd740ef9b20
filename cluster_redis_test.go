//go:build unix

package webhookverify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/webhookverify/caddy-webhook-verify/replay"
)

// The cluster tests of the native Redis store (replay { redis { ... } }):
// two Caddy processes against one redis-server, ACLs, TLS. See
// cluster_test.go for the processes and their ports.

// TestClusterRedisNative runs two real Caddy processes against one real
// redis-server through the native Redis replay store (`replay { redis
// ... }`): copies sent to both are forwarded once, a retry after an
// upstream failure is forwarded, entries expire in Redis (PTTL), Redis
// killed means 503 and nothing forwarded, Redis back means forwarded once
// without a reload, and a Caddy started while Redis is down starts, warns
// and answers 503 until Redis is there. WEBHOOK_VERIFY_REDIS_SERVER names
// another server binary (valkey-server).
func TestClusterRedisNative(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ./cmd/caddy and runs Caddy processes; skipped with -short")
	}
	rd := startRedis(t, freePorts(t, 1)[0])
	bin := buildCaddy(t)
	up := &upstream{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	block := fmt.Sprintf("ttl 10m\nin_flight_ttl 1m\nredis redis://%s/0 {\n\tkey_prefix wvn:\n\ttimeout 1s\n}", rd.addr)
	a := startCaddy(t, bin, "a", "", block, srv.Listener.Addr().String())
	b := startCaddy(t, bin, "b", "", block, srv.Listener.Addr().String())

	ids := clusterScenarios(t, a, b, up)
	reply, err := redisDo(rd.addr, "KEYS", "*")
	if err != nil {
		t.Fatalf("redis KEYS: %v", err)
	}
	keys, _ := reply.([]any)
	if len(keys) != len(ids) {
		t.Errorf("redis holds %d keys, want %d (one per accepted delivery): %v", len(keys), len(ids), keys)
	}
	hashed := regexp.MustCompile(`^wvn:[0-9a-f]{64}$`)
	for _, k := range keys {
		s, _ := k.(string)
		if !hashed.MatchString(s) {
			t.Errorf("redis key %q is not wvn:<64 hex digits>", s)
			continue
		}
		if v, err := redisDo(rd.addr, "GET", s); err != nil || v != "a" {
			t.Errorf("GET %s = %v, %v; want a (accepted)", s, v, err)
		}
		pttl, err := redisDo(rd.addr, "PTTL", s)
		ms, _ := pttl.(int64)
		if err != nil || ms <= 0 || ms > (10*time.Minute).Milliseconds() {
			t.Errorf("PTTL %s = %v, %v; want 0 < ttl <= 10m", s, pttl, err)
		}
	}

	t.Run("unverified requests never touch redis", func(t *testing.T) {
		if _, err := redisDo(rd.addr, "CONFIG", "RESETSTAT"); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			h := signedHeaders(uniqueID("forged"), nil)
			h["webhook-signature"] = "v1," + base64.StdEncoding.EncodeToString(make([]byte, 32))
			if st, _, _ := []*caddyInstance{a, b}[i%2].postHook(t, h); st != http.StatusUnauthorized {
				t.Errorf("forged copy %d: status %d, want 401", i, st)
			}
		}
		info, err := redisDo(rd.addr, "INFO", "commandstats")
		if err != nil {
			t.Fatal(err)
		}
		s, ok := info.(string)
		if !ok || !strings.Contains(s, "# Commandstats") {
			t.Fatalf("INFO commandstats = %v", info)
		}
		for _, cmd := range []string{"cmdstat_set:", "cmdstat_get:", "cmdstat_evalsha:", "cmdstat_eval:"} {
			if strings.Contains(s, cmd) {
				t.Errorf("forged requests reached redis: %s in\n%s", cmd, s)
			}
		}
	})

	t.Run("in-flight entry expires in redis", func(t *testing.T) {
		id := uniqueID("pttl")
		done := make(chan int, 1)
		go func() {
			st, _, _ := a.send(t, id, map[string]string{"X-Test-Delay": "1s"})
			done <- st
		}()
		deadline := time.Now().Add(10 * time.Second)
		for forwarded(up, id) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		reply, _ := redisDo(rd.addr, "KEYS", "*")
		all, _ := reply.([]any)
		found := false
		for _, k := range all {
			s, _ := k.(string)
			v, _ := redisDo(rd.addr, "GET", s)
			if str, _ := v.(string); strings.HasPrefix(str, "f") {
				found = true
				pttl, _ := redisDo(rd.addr, "PTTL", s)
				if ms, _ := pttl.(int64); ms <= 0 || ms > time.Minute.Milliseconds() {
					t.Errorf("in-flight PTTL %v, want 0 < ttl <= 1m (in_flight_ttl)", pttl)
				}
			}
		}
		if !found {
			t.Error("no in-flight entry in redis while a delivery was being handled")
		}
		if st := <-done; st != 200 {
			t.Errorf("delivery: status %d, want 200", st)
		}
	})

	t.Run("outage fails closed with 503, recovery without a reload", func(t *testing.T) {
		rd.kill()
		id := uniqueID("native-outage")
		for _, c := range []*caddyInstance{a, b} {
			start := time.Now()
			if st, body, _ := c.send(t, id, nil); st != http.StatusServiceUnavailable {
				t.Errorf("%s: status %d %q with Redis down, want 503", c.name, st, body)
			}
			t.Logf("%s: 503 after %v with Redis down", c.name, time.Since(start).Round(time.Millisecond))
		}
		if n := forwarded(up, id); n != 0 {
			t.Fatalf("upstream saw %d copies while Redis was down, want 0", n)
		}
		if line := a.waitLog(t, 5*time.Second, func(e map[string]any) bool {
			return e["result"] == "replay_unavailable" && e["delivery_id"] == id
		}); line == nil {
			t.Errorf("no replay_unavailable log line for %s", id)
		}

		// A Caddy started while Redis is down starts, and warns.
		c := startCaddy(t, bin, "c", "", block, srv.Listener.Addr().String())
		if c.waitLog(t, 5*time.Second, func(e map[string]any) bool {
			msg, _ := e["msg"].(string)
			return e["level"] == "warn" && strings.Contains(msg, "redis does not answer")
		}) == nil {
			t.Errorf("no warning from a Caddy started with Redis down; log:\n%s", c.log.String())
		}
		if st, _, _ := c.send(t, id, nil); st != http.StatusServiceUnavailable {
			t.Errorf("c: status %d with Redis down, want 503", st)
		}

		rd = startRedis(t, rd.port)
		deadline := time.Now().Add(15 * time.Second)
		st, body := 0, ""
		for {
			st, body, _ = c.send(t, id, nil)
			if st != http.StatusServiceUnavailable || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if st != http.StatusOK || strings.Contains(body, "duplicate") {
			t.Fatalf("retry after Redis came back: status %d %q, want forwarded", st, body)
		}
		for _, x := range []*caddyInstance{a, b} {
			if st, body, _ := x.send(t, id, nil); st != http.StatusOK || !strings.Contains(body, "duplicate") {
				t.Errorf("copy via %s after recovery: status %d %q, want 200 duplicate", x.name, st, body)
			}
		}
		if n := forwarded(up, id); n != 1 {
			t.Errorf("upstream saw %d copies, want 1", n)
		}
		if strings.Contains(a.log.String()+c.log.String(), strings.TrimPrefix(swSecret, "whsec_")) {
			t.Error("a log contains the secret")
		}
	})
}

// TestClusterRedisNativeACL: a Redis user that may not SET gets 503 for
// every copy, and nothing is forwarded; the password given through a
// placeholder never shows in the log.
func TestClusterRedisNativeACL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ./cmd/caddy and runs Caddy processes; skipped with -short")
	}
	rd := startRedis(t, freePorts(t, 1)[0])
	const pw = "wv-acl-pass-8c1f"
	if _, err := redisDo(rd.addr, "ACL", "SETUSER", "wvnoset", "on", ">"+pw, "~*", "&*", "+@all", "-set"); err != nil {
		t.Fatalf("redis ACL SETUSER: %v", err)
	}
	t.Setenv("WV_TEST_REDIS_ACL_PW", pw)
	bin := buildCaddy(t)
	up := &upstream{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	block := fmt.Sprintf("redis redis://wvnoset@%s {\n\tpassword {env.WV_TEST_REDIS_ACL_PW}\n\ttimeout 1s\n}", rd.addr)
	c := startCaddy(t, bin, "acl", "", block, srv.Listener.Addr().String())
	id := uniqueID("native-noset")
	for i := 0; i < 2; i++ {
		if st, body, _ := c.send(t, id, nil); st != http.StatusServiceUnavailable {
			t.Errorf("copy %d with SET refused: status %d %q, want 503", i+1, st, body)
		}
	}
	if n := forwarded(up, id); n != 0 {
		t.Fatalf("upstream saw %d copies while Redis refused SET, want 0", n)
	}
	if line := c.waitLog(t, 5*time.Second, func(e map[string]any) bool {
		return e["result"] == "replay_unavailable" && e["delivery_id"] == id
	}); line == nil {
		t.Errorf("no replay_unavailable log line; log:\n%s", c.log.String())
	}
	if strings.Contains(c.log.String(), pw) {
		t.Error("the log contains the Redis password")
	}
}

// TestRedisReplayTLS provisions the native Redis store against a real
// redis-server that speaks TLS only on its TLS port (a CA and a server
// certificate made here for the name redis.test): with `tls { ca,
// server_name }` the store works; without the CA, or with another server
// name, the certificate is refused and the store is unavailable (503).
func TestRedisReplayTLS(t *testing.T) {
	dir := t.TempDir()
	caPEM, certPEM, keyPEM := testTLSFiles(t, "redis.test")
	files := map[string][]byte{"ca.pem": caPEM, "cert.pem": certPEM, "key.pem": keyPEM}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ports := freePorts(t, 2)
	startRedis(t, ports[0], "--tls-port", strconv.Itoa(ports[1]),
		"--tls-cert-file", filepath.Join(dir, "cert.pem"), "--tls-key-file", filepath.Join(dir, "key.pem"),
		"--tls-ca-cert-file", filepath.Join(dir, "ca.pem"), "--tls-auth-clients", "no")
	url := fmt.Sprintf("rediss://127.0.0.1:%d", ports[1])
	for _, tc := range []struct {
		name string
		tls  *RedisTLSConfig
		ok   bool
	}{
		{"ca and server name", &RedisTLSConfig{CA: filepath.Join(dir, "ca.pem"), ServerName: "redis.test"}, true},
		{"system roots only", &RedisTLSConfig{ServerName: "redis.test"}, false},
		{"wrong server name", &RedisTLSConfig{CA: filepath.Join(dir, "ca.pem"), ServerName: "other.test"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{logger: caddy.Log()}
			h.replay = new(replayState)
			rc := &RedisReplayConfig{URLs: []string{url}, TLS: tc.tls, Timeout: caddy.Duration(2 * time.Second)}
			if err := h.provisionRedisReplay(h.replay, rc); err != nil {
				t.Fatal(err)
			}
			defer h.Cleanup()
			k := replay.Key("tls", []byte(tc.name))
			st, tok, err := h.replay.store.Reserve(context.Background(), k, time.Minute)
			if !tc.ok {
				if !errors.Is(err, replay.ErrUnavailable) {
					t.Fatalf("Reserve = %v, %v; want ErrUnavailable (certificate refused)", st, err)
				}
				return
			}
			if err != nil || st != replay.New {
				t.Fatalf("Reserve over TLS = %v, %v", st, err)
			}
			if err := h.replay.store.Commit(context.Background(), k, tok, time.Hour); err != nil {
				t.Fatal(err)
			}
			if st, _, err := h.replay.store.Reserve(context.Background(), k, time.Minute); err != nil || st != replay.Accepted {
				t.Fatalf("second Reserve over TLS = %v, %v; want accepted", st, err)
			}
		})
	}
}

// testTLSFiles makes a CA and a server certificate for name (PEM).
func testTLSFiles(t *testing.T, name string) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test redis ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caTmpl, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
