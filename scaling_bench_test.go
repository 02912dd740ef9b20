package webhookverify

// How the handler's cost grows with the work (bench/README.md, "Scaling"):
//
//	go test -run '^$' -bench 'Scaling' .
//
//   - BenchmarkScalingBody: ServeHTTP (replay off, the same delivery each
//     time) at 1 KiB, 16 KiB, 256 KiB and 1 MiB (the default max_size),
//     for an HMAC provider (github) and an Ed25519 one (standard_webhooks
//     v1a), next to their limits on this machine: HMAC-SHA256 and
//     Ed25519 verification of the same bytes, nothing else.
//   - BenchmarkScalingSecrets: github, 1 KiB, with 1, 2 and 5 secrets
//     configured (a rotation), signed with the last.
//
// As in BenchmarkServeHTTP, every iteration checks that the request
// reached the next handler and got 204.

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

var scalingSizes = []struct {
	name string
	n    int
}{{"1KiB", 1 << 10}, {"16KiB", 16 << 10}, {"256KiB", 256 << 10}, {"1MiB", 1 << 20}}

// scalingBody is a JSON body of n bytes.
func scalingBody(n int) []byte {
	const prefix, suffix = `{"id":"evt_scaling","data":"`, `"}`
	return []byte(prefix + strings.Repeat("x", n-len(prefix)-len(suffix)) + suffix)
}

// serveLoop sends req with body to h until the benchmark ends, checking
// that each one reached next and got 204.
func serveLoop(b *testing.B, h *Handler, req *http.Request, body []byte) {
	b.Helper()
	reached := 0
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		reached++
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	rb := new(benchBody)
	w := &benchWriter{h: http.Header{}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	loopWithReplacers(b, req.Context().(*benchContext), func() {
		rb.Reset(body)
		req.Body, req.ContentLength, req.GetBody = rb, int64(len(body)), nil
		clear(w.h)
		w.status = 0
		before := reached
		if err := h.ServeHTTP(w, req, next); err != nil {
			b.Fatalf("ServeHTTP: %v", err)
		}
		if w.status != http.StatusNoContent || reached != before+1 {
			b.Fatalf("status %d, next reached %d times", w.status, reached-before)
		}
	})
}

// scalingRequest is a POST with the replacer in its context.
func scalingRequest(b *testing.B, header map[string]string) *http.Request {
	ctx := &benchContext{Context: context.Background(), repl: caddy.NewReplacer()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1/hook", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.RemoteAddr = "127.0.0.1:40000"
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}

func githubSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func BenchmarkScalingBody(b *testing.B) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, sz := range scalingSizes {
		body := scalingBody(sz.n)
		b.Run("limit_hmac_sha256/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var sum [sha256.Size]byte
			m := hmac.New(sha256.New, []byte(benchSecret))
			for b.Loop() {
				m.Reset()
				m.Write(body)
				m.Sum(sum[:0])
			}
		})
		b.Run("github/"+sz.name, func(b *testing.B) {
			h := provisionBench(b, fmt.Sprintf(`{"provider":"github","secrets":[%q],"replay":{"disabled":true}}`, benchSecret))
			req := scalingRequest(b, map[string]string{
				"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": githubSignature(benchSecret, body),
			})
			serveLoop(b, h, req, body)
		})
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		msg := append([]byte("msg_scaling."+ts+"."), body...)
		sig := ed25519.Sign(priv, msg)
		b.Run("limit_ed25519/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if !ed25519.Verify(pub, msg, sig) {
					b.Fatal("ed25519: no")
				}
			}
		})
		b.Run("standard_webhooks_v1a/"+sz.name, func(b *testing.B) {
			keys, _ := json.Marshal([]map[string]string{{"key": "whpk_" + base64.StdEncoding.EncodeToString(pub)}})
			h := provisionBench(b, fmt.Sprintf(`{"provider":"standard_webhooks","public_keys":%s,"replay":{"disabled":true}}`, keys))
			req := scalingRequest(b, map[string]string{
				"webhook-id": "msg_scaling", "webhook-timestamp": ts, "webhook-signature": "v1a," + base64.StdEncoding.EncodeToString(sig),
			})
			serveLoop(b, h, req, body)
		})
	}
}

func BenchmarkScalingSecrets(b *testing.B) {
	body := scalingBody(1 << 10)
	for _, n := range []int{1, 2, 5} {
		b.Run(fmt.Sprintf("github/1KiB/secrets=%d", n), func(b *testing.B) {
			secrets := make([]string, n)
			for i := range secrets {
				secrets[i] = fmt.Sprintf("%s %d", benchSecret, i)
			}
			cfg, _ := json.Marshal(map[string]any{"provider": "github", "secrets": secrets, "replay": map[string]any{"disabled": true}})
			h := provisionBench(b, string(cfg))
			req := scalingRequest(b, map[string]string{
				"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": githubSignature(secrets[n-1], body),
			})
			serveLoop(b, h, req, body)
		})
	}
}

// benchContext is a request context whose replacer the benchmark changes
// between iterations (as Caddy makes one per request) without a new
// context or request.
type benchContext struct {
	context.Context
	repl *caddy.Replacer
}

func (c *benchContext) Value(key any) any {
	if key == caddy.ReplacerCtxKey {
		return c.repl
	}
	return c.Context.Value(key)
}

// loopWithReplacers runs serve b.N times, each with a replacer of its own
// made as Caddy's HTTP server makes one per request (NewReplacer, then
// Map of its HTTP variables), before the timer starts: that is Caddy's
// cost, not the handler's, while what the handler does to a fresh
// replacer (its static map allocated by the first Set) is counted.
func loopWithReplacers(b *testing.B, ctx *benchContext, serve func()) {
	repls := make([]*caddy.Replacer, b.N)
	for i := range repls {
		repls[i] = caddy.NewReplacer()
		repls[i].Map(func(string) (any, bool) { return nil, false })
	}
	b.ResetTimer()
	for i := range b.N {
		ctx.repl = repls[i]
		serve()
	}
}
