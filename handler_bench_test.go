package webhookverify

// Benchmarks of Handler.ServeHTTP. Run them with, for example:
//
//	go test -run '^$' -bench ServeHTTP -benchmem .
//
// The handler is built as Caddy builds it (JSON fields, Provision with a
// caddy.Context, Validate), verifies a GitHub delivery of 1 KiB and passes
// it to a next handler that only answers 204. Every iteration checks that
// the request reached the next handler and got 204, so a rejection path
// cannot be measured by mistake.
//
// Variants:
//   - replay=off: replay protection disabled.
//   - replay=memory: the in-memory replay cache; every iteration is
//     a new delivery (its body carries a counter), so each one reserves,
//     forwards and commits. Signing it is part of the iteration: the
//     benchmark keeps the HMAC state of the fixed part of the body and only
//     hashes the last bytes, and BenchmarkServeHTTPSigner measures that
//     share (subtract it). replay=off signs the same way, so the two are
//     comparable. max_entries is raised from its default (100,000) so
//     that the cache does not fill during a run (a full cache evicts, and
//     logs a warning through the development logger Provision gets here);
//     the full-cache path is measured in replay/bench_test.go
//     (BenchmarkMemoryReserveCommitFull).
//   - replay=memory_duplicate: the same delivery over and over: after the
//     first, each is answered 200 "duplicate" without reaching next.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// benchReplay is the replay configuration of the replay=memory variants.
const benchReplay = `{"max_entries":4194304}`

const (
	benchSecret = "It's a Secret to Everybody" // GitHub's documented example secret
	benchSize   = 1 << 10
	benchCtrLen = 16 // hex digits of the per-delivery counter at the end of the body
)

// benchSigner signs GitHub deliveries whose bodies differ only in their
// last bytes: it keeps the HMAC-SHA256 inner state after the fixed prefix
// and the outer state after the key block, so a signature costs a few
// SHA-256 blocks whatever the body size, and allocates only the header
// string.
type benchSigner struct {
	inner, outer []byte // marshaled sha256 states
	h            hash.Hash
	sum          [sha256.Size]byte
	hdr          [len("sha256=") + 2*sha256.Size]byte
}

func newBenchSigner(secret, prefix []byte) *benchSigner {
	key := secret
	if len(key) > sha256.BlockSize {
		k := sha256.Sum256(key)
		key = k[:]
	}
	ipad := make([]byte, sha256.BlockSize)
	opad := make([]byte, sha256.BlockSize)
	copy(ipad, key)
	copy(opad, key)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	s := &benchSigner{h: sha256.New()}
	s.h.Write(ipad)
	s.h.Write(prefix)
	s.inner, _ = s.h.(encoding.BinaryMarshaler).MarshalBinary()
	s.h.Reset()
	s.h.Write(opad)
	s.outer, _ = s.h.(encoding.BinaryMarshaler).MarshalBinary()
	copy(s.hdr[:], "sha256=")
	return s
}

// sign returns the X-Hub-Signature-256 value of prefix + tail.
func (s *benchSigner) sign(tail []byte) string {
	u := s.h.(encoding.BinaryUnmarshaler)
	_ = u.UnmarshalBinary(s.inner)
	s.h.Write(tail)
	in := s.h.Sum(s.sum[:0])
	_ = u.UnmarshalBinary(s.outer)
	s.h.Write(in)
	hex.Encode(s.hdr[len("sha256="):], s.h.Sum(s.sum[:0]))
	return string(s.hdr[:])
}

// benchDelivery is a 1 KiB GitHub delivery whose counter can be bumped.
type benchDelivery struct {
	body   []byte
	ctr    []byte // the counter digits inside body
	tail   []byte // body from the counter on
	n      uint64
	signer *benchSigner
}

func newBenchDelivery(b *testing.B) *benchDelivery {
	prefix := `{"action":"opened","repository":{"full_name":"octo/bench"},"text":"`
	suffix := `","n":"`
	end := `"}`
	pad := benchSize - len(prefix) - len(suffix) - benchCtrLen - len(end)
	body := []byte(prefix + strings.Repeat("x", pad) + suffix + strings.Repeat("0", benchCtrLen) + end)
	if len(body) != benchSize || !json.Valid(body) {
		b.Fatalf("bad bench body (%d bytes)", len(body))
	}
	at := len(body) - benchCtrLen - len(end)
	d := &benchDelivery{body: body, ctr: body[at : at+benchCtrLen], tail: body[at:]}
	d.signer = newBenchSigner([]byte(benchSecret), body[:at])
	// The fast signer must agree with crypto/hmac.
	m := hmac.New(sha256.New, []byte(benchSecret))
	m.Write(body)
	if got, want := d.signer.sign(d.tail), "sha256="+hex.EncodeToString(m.Sum(nil)); got != want {
		b.Fatalf("signer: %s, crypto/hmac: %s", got, want)
	}
	return d
}

// next makes the body a new delivery and returns its signature.
func (d *benchDelivery) next() string {
	d.n++
	const digits = "0123456789abcdef"
	for i, x := len(d.ctr)-1, d.n; i >= 0; i, x = i-1, x>>4 {
		d.ctr[i] = digits[x&15]
	}
	return d.signer.sign(d.tail)
}

// benchWriter is a reusable ResponseWriter that keeps the status.
type benchWriter struct {
	h      http.Header
	status int
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

// SetReadDeadline and SetWriteDeadline succeed, as they do on a real
// server's connection (http.ResponseController would otherwise build an
// error each time, which a real request does not pay).
func (w *benchWriter) SetReadDeadline(time.Time) error  { return nil }
func (w *benchWriter) SetWriteDeadline(time.Time) error { return nil }

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}

// benchBody is a reusable request body.
type benchBody struct{ bytes.Reader }

func (*benchBody) Close() error { return nil }

// provisionBench builds the handler from JSON, as Caddy does.
func provisionBench(b *testing.B, cfg string) *Handler {
	b.Helper()
	h := new(Handler)
	if err := json.Unmarshal([]byte(cfg), h); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	b.Cleanup(func() {
		_ = h.Cleanup()
		cancel()
	})
	if err := h.Provision(ctx); err != nil {
		b.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		b.Fatal(err)
	}
	// Without a loaded config, caddy.Context.Logger is zap's development
	// logger (debug level, to stderr), which would write a line per
	// request. Caddy's default log is at INFO: use that level, discarded.
	h.logger = zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	return h
}

func BenchmarkServeHTTP(b *testing.B) {
	variants := []struct {
		name   string
		replay string // JSON of the replay field
		unique bool   // a new delivery every iteration
		status int    // expected status
		next   bool   // whether next must be reached
	}{
		{"replay=off", `{"disabled":true}`, true, http.StatusNoContent, true},
		{"replay=memory", benchReplay, true, http.StatusNoContent, true},
		{"replay=memory_duplicate", benchReplay, false, http.StatusOK, false},
	}
	for _, v := range variants {
		b.Run("github/1KiB/"+v.name, func(b *testing.B) {
			h := provisionBench(b, fmt.Sprintf(`{"provider":"github","secrets":[%q],"replay":%s}`, benchSecret, v.replay))
			if (v.replay == benchReplay) != (h.replay != nil) {
				b.Fatalf("replay cache provisioned: %v", h.replay != nil)
			}
			d := newBenchDelivery(b)
			sig := d.next()

			reached := 0
			next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				reached++
				w.WriteHeader(http.StatusNoContent)
				return nil
			})
			ctx := &benchContext{Context: context.Background(), repl: caddy.NewReplacer()}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1/hooks/github", nil)
			if err != nil {
				b.Fatal(err)
			}
			req.RemoteAddr = "127.0.0.1:40000"
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", "issues")
			req.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
			req.Header.Set("X-Hub-Signature-256", sig)
			sigHdr := req.Header["X-Hub-Signature-256"]
			body := new(benchBody)
			w := &benchWriter{h: http.Header{}}

			serve := func() {
				if v.unique {
					sigHdr[0] = d.next()
				}
				body.Reset(d.body)
				req.Body = body
				req.ContentLength = int64(len(d.body))
				req.GetBody = nil
				clear(w.h)
				w.status = 0
				before := reached
				if err := h.ServeHTTP(w, req, next); err != nil {
					b.Fatalf("ServeHTTP: %v", err)
				}
				if w.status != v.status || (reached > before) != v.next {
					b.Fatalf("status %d, next reached: %v; want %d, %v", w.status, reached > before, v.status, v.next)
				}
			}
			if !v.unique {
				// The first delivery is forwarded and committed; the
				// loop measures its copies.
				body.Reset(d.body)
				req.Body = body
				req.ContentLength = int64(len(d.body))
				if err := h.ServeHTTP(w, req, next); err != nil || w.status != http.StatusNoContent {
					b.Fatalf("first delivery: status %d, %v", w.status, err)
				}
			}
			b.SetBytes(benchSize)
			b.ReportAllocs()
			loopWithReplacers(b, ctx, serve)
		})
	}
}

// BenchmarkServeHTTPSigner is the share of the benchmark's own signing in
// the replay=off and replay=memory iterations of BenchmarkServeHTTP.
func BenchmarkServeHTTPSigner(b *testing.B) {
	d := newBenchDelivery(b)
	b.ReportAllocs()
	for b.Loop() {
		if len(d.next()) != 71 {
			b.Fatal("bad signature header")
		}
	}
}
