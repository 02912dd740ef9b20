package webhookverify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/webhookverify/caddy-webhook-verify/replay"
	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// fakeVerifier accepts a request whose X-Fake header is "ok" and returns
// the error named by the header otherwise. It records the body it saw.
type fakeVerifier struct {
	seen []byte
	acts int // times an Act ran
}

func (f *fakeVerifier) Challenge() string { return `Basic realm="webhook"` }

func (f *fakeVerifier) Verify(r *verifiers.Request) (*verifiers.Result, error) {
	f.seen = append([]byte(nil), r.Body...)
	switch r.Header.Get("X-Fake") {
	case "ok":
		return &verifiers.Result{ID: "evt_1", Key: 1, Timestamp: time.Unix(1700000000, 0), Signature: []byte("sig")}, nil
	case "respond", "respond-fail":
		fail := r.Header.Get("X-Fake") == "respond-fail"
		return &verifiers.Result{SignedID: "sub_1", Act: func(context.Context) (*verifiers.Response, error) {
			f.acts++
			if fail {
				return nil, fmt.Errorf("%w: confirmation failed", verifiers.ErrUnavailable)
			}
			return &verifiers.Response{Status: 200, Body: "confirmed"}, nil
		}}, nil
	case "malformed":
		return nil, fmt.Errorf("%w: missing header X-Sig", verifiers.ErrMalformed)
	case "timestamp":
		return nil, fmt.Errorf("%w: too old", verifiers.ErrTimestamp)
	case "credentials":
		return nil, verifiers.ErrCredentials
	case "unavailable":
		return nil, verifiers.ErrUnavailable
	default:
		return nil, verifiers.ErrSignature
	}
}

// nextRecorder is the next handler: it records what reached it.
type nextRecorder struct {
	called        int
	body          []byte
	contentLength int64
	getBody       []byte
}

func (n *nextRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	n.called++
	n.body, _ = io.ReadAll(r.Body)
	n.contentLength = r.ContentLength
	if r.GetBody != nil {
		rc, _ := r.GetBody()
		n.getBody, _ = io.ReadAll(rc)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func newTestHandler(maxSize int64) (*Handler, *fakeVerifier) {
	fv := &fakeVerifier{}
	return &Handler{Provider: "fake", verifier: fv, maxSize: maxSize, Replay: &ReplayConfig{Disabled: true}}, fv
}

func serve(h *Handler, req *http.Request) (*httptest.ResponseRecorder, *nextRecorder, *caddy.Replacer, error) {
	repl := caddy.NewReplacer()
	req = req.WithContext(context.WithValue(req.Context(), caddy.ReplacerCtxKey, repl))
	w := httptest.NewRecorder()
	next := &nextRecorder{}
	err := h.ServeHTTP(w, req, next)
	return w, next, repl, err
}

func TestServeHTTPStatuses(t *testing.T) {
	tests := []struct {
		fake       string
		wantStatus int
		wantNext   bool
		wantAuth   bool
	}{
		{"ok", http.StatusAccepted, true, false},
		{"malformed", http.StatusBadRequest, false, false},
		{"timestamp", http.StatusUnauthorized, false, false},
		{"signature", http.StatusUnauthorized, false, false},
		{"credentials", http.StatusUnauthorized, false, true},
		{"unavailable", http.StatusServiceUnavailable, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.fake, func(t *testing.T) {
			h, _ := newTestHandler(1 << 20)
			req := httptest.NewRequest("POST", "/hook", strings.NewReader(`{"a":1}`))
			req.Header.Set("X-Fake", tt.fake)
			w, next, repl, err := serve(h, req)
			status := w.Code
			if err != nil {
				var he caddyhttp.HandlerError
				if !errors.As(err, &he) {
					t.Fatalf("error is not a caddyhttp.HandlerError: %v", err)
				}
				status = he.StatusCode
				if msg, _ := repl.GetString("http.webhook_verify.error"); msg == "" {
					t.Error("error placeholder not set")
				}
			}
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if (next.called == 1) != tt.wantNext {
				t.Errorf("next called %d times, want forwarded=%v", next.called, tt.wantNext)
			}
			if got := w.Header().Get("WWW-Authenticate") != ""; got != tt.wantAuth {
				t.Errorf("WWW-Authenticate present = %v, want %v", got, tt.wantAuth)
			}
		})
	}
}

func TestServeHTTPPlaceholders(t *testing.T) {
	h, _ := newTestHandler(1 << 20)
	req := httptest.NewRequest("POST", "/hook", strings.NewReader("x"))
	req.Header.Set("X-Fake", "ok")
	_, _, repl, err := serve(h, req)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"http.webhook_verify.provider":  "fake",
		"http.webhook_verify.id":        "evt_1",
		"http.webhook_verify.key":       "2",
		"http.webhook_verify.timestamp": "1700000000",
	} {
		if got, _ := repl.GetString(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestServeHTTPPlaceholdersAlwaysSet(t *testing.T) {
	h, _ := newTestHandler(1 << 20)
	req := httptest.NewRequest("POST", "/hook", strings.NewReader("x"))
	req.Header.Set("X-Fake", "respond") // a result without id or timestamp
	_, _, repl, err := serve(h, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"http.webhook_verify.id", "http.webhook_verify.timestamp"} {
		if _, ok := repl.Get(k); !ok {
			t.Errorf("%s is not set, so it would reach the upstream as literal text", k)
		}
	}
}

func TestServeHTTPBodyIdentical(t *testing.T) {
	// Bytes a JSON re-encoder would change: spacing, escapes, key order,
	// a trailing CRLF, invalid UTF-8.
	body := []byte("{ \"b\":1,  \"a\":\"\\u00e9\xff\" }\r\n")
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			h, fv := newTestHandler(1 << 20)
			var rd io.Reader = bytes.NewReader(body)
			if chunked {
				rd = io.MultiReader(rd) // hides the length from NewRequest
			}
			req := httptest.NewRequest("POST", "/hook", rd)
			if chunked {
				req.ContentLength = -1
				req.TransferEncoding = []string{"chunked"}
			}
			req.Header.Set("X-Fake", "ok")
			_, next, _, err := serve(h, req)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fv.seen, body) {
				t.Errorf("verifier saw %q", fv.seen)
			}
			if !bytes.Equal(next.body, body) || !bytes.Equal(next.getBody, body) {
				t.Errorf("next got body %q, GetBody %q", next.body, next.getBody)
			}
			if next.contentLength != int64(len(body)) {
				t.Errorf("ContentLength = %d, want %d", next.contentLength, len(body))
			}
		})
	}
}

func TestServeHTTPTooLarge(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		chunked bool
		want    int
	}{
		{"at limit", 64, false, http.StatusAccepted},
		{"declared over limit", 65, false, http.StatusRequestEntityTooLarge},
		{"chunked at limit", 64, true, http.StatusAccepted},
		{"chunked over limit", 65, true, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, fv := newTestHandler(64)
			var rd io.Reader = bytes.NewReader(bytes.Repeat([]byte("a"), tt.size))
			if tt.chunked {
				rd = io.MultiReader(rd)
			}
			req := httptest.NewRequest("POST", "/hook", rd)
			if tt.chunked {
				req.ContentLength = -1
			}
			req.Header.Set("X-Fake", "ok")
			w, next, _, err := serve(h, req)
			status := w.Code
			var he caddyhttp.HandlerError
			if errors.As(err, &he) {
				status = he.StatusCode
			}
			if status != tt.want {
				t.Fatalf("status = %d, want %d (err %v)", status, tt.want, err)
			}
			if tt.want == http.StatusRequestEntityTooLarge && (next.called != 0 || fv.seen != nil) {
				t.Error("oversized body reached the verifier or the next handler")
			}
		})
	}
}

func TestServeHTTPAct(t *testing.T) {
	h, fv := newTestHandler(1 << 20)
	req := httptest.NewRequest("POST", "/hook", strings.NewReader("x"))
	req.Header.Set("X-Fake", "respond")
	w, next, _, err := serve(h, req)
	if err != nil {
		t.Fatal(err)
	}
	if next.called != 0 || fv.acts != 1 || w.Code != 200 || w.Body.String() != "confirmed" {
		t.Errorf("next called %d, acts %d, status %d, body %q", next.called, fv.acts, w.Code, w.Body.String())
	}
}

// TestServeHTTPActBehindReplay: an action (SNS auto-confirm) runs once per
// delivery; a copy after it succeeded is a duplicate, and a copy after it
// failed runs it again.
func TestServeHTTPActBehindReplay(t *testing.T) {
	h, fv := newTestHandler(1 << 20)
	h.logger = zap.NewNop()
	mem := replay.NewMemory(replay.MemoryOptions{SweepInterval: -1})
	defer mem.Destruct()
	h.replay = &replayState{store: mem, namespace: "fake", ttl: time.Hour, inFlightTTL: time.Minute}
	send := func(mode string) (int, string) {
		req := httptest.NewRequest("POST", "/hook", strings.NewReader("x"))
		req.Header.Set("X-Fake", mode)
		w, next, _, err := serve(h, req)
		if next.called != 0 {
			t.Fatal("an action request reached the next handler")
		}
		var he caddyhttp.HandlerError
		if errors.As(err, &he) {
			return he.StatusCode, ""
		}
		return w.Code, w.Body.String()
	}
	if st, _ := send("respond-fail"); st != 503 || fv.acts != 1 {
		t.Fatalf("failed action: status %d acts %d, want 503 after 1", st, fv.acts)
	}
	if st, body := send("respond"); st != 200 || body != "confirmed" || fv.acts != 2 {
		t.Fatalf("retry: status %d %q acts %d, want the action run again", st, body, fv.acts)
	}
	if st, body := send("respond"); st != 200 || !strings.Contains(body, "duplicate") || fv.acts != 2 {
		t.Fatalf("copy: status %d %q acts %d, want a duplicate without a new action", st, body, fv.acts)
	}
}

// TestReadBodyDoesNotTrustContentLength: a client that declares a large
// body and sends nothing must not make the handler allocate that much.
func TestReadBodyDoesNotTrustContentLength(t *testing.T) {
	const declared = 8 << 20
	h, fv := newTestHandler(16 << 20)
	req := httptest.NewRequest("POST", "/hook", io.MultiReader(strings.NewReader("{"), iotest.ErrReader(io.ErrUnexpectedEOF)))
	req.ContentLength = declared
	req.Header.Set("X-Fake", "ok")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, next, _, err := serve(h, req)
	runtime.ReadMemStats(&after)
	var he caddyhttp.HandlerError
	if !errors.As(err, &he) || he.StatusCode != http.StatusBadRequest || next.called != 0 || fv.seen != nil {
		t.Fatalf("truncated body: err %v, next called %d; want 400 and nothing verified or forwarded", err, next.called)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > declared/4 {
		t.Errorf("allocated %d bytes for a body that never arrived (declared %d)", got, declared)
	}
}

// TestProvisionErrors: configuration mistakes stop the config from loading,
// with a message that names the mistake and never the secret.
func TestProvisionErrors(t *testing.T) {
	t.Setenv("WV_EMPTY", "")
	tests := []struct {
		name    string
		h       Handler
		wantErr string
	}{
		{"unknown provider", Handler{Provider: "nosuch", Secrets: []string{"s"}}, `unknown provider "nosuch"`},
		{"empty secret from the environment", Handler{Provider: "stripe", Secrets: []string{"{env.WV_EMPTY}"}}, "secret 1"},
		{"no secret", Handler{Provider: "github"}, "needs at least one secret"},
		{"option the provider does not take", Handler{Provider: "stripe", Secrets: []string{"s"}, URL: "https://x/"}, "does not take url"},
		{"tolerance without a timestamp", Handler{Provider: "github", Secrets: []string{"s"}, Tolerance: caddy.Duration(time.Minute)}, "does not take tolerance"},
		{"customer_handle on another provider", Handler{Provider: "stripe", Secrets: []string{"s"}, CustomerHandles: []string{"acme"}}, "does not take customer_handle"},
		{"missing certificate file", Handler{Provider: "sns", Certificates: []string{"/nonexistent/sns.pem"}}, "certificate 1"},
		{"bad whsec secret", Handler{Provider: "svix", Secrets: []string{"whsec_!!!not-base64"}}, "secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			h := tt.h
			err := h.Provision(ctx)
			defer h.Cleanup()
			if err == nil {
				t.Fatalf("no error, want one containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "!!!not-base64") {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
}

// handshakeVerifier is a fakeVerifier that also answers unsigned
// handshakes (GET ?challenge=) and signed ones (X-Fake: reply).
type handshakeVerifier struct{ fakeVerifier }

func (hv *handshakeVerifier) Handshake(r *verifiers.Request) (*verifiers.Response, bool, error) {
	if r.Method != http.MethodGet {
		return nil, false, nil
	}
	switch c := r.URL.Query().Get("challenge"); c {
	case "":
		return nil, false, nil
	case "bad":
		return nil, true, fmt.Errorf("%w: wrong verify token", verifiers.ErrForbidden)
	default:
		return &verifiers.Response{Status: 200, Header: http.Header{"X-Content-Type-Options": {"nosniff"}}, Body: c}, true, nil
	}
}

func (hv *handshakeVerifier) Verify(r *verifiers.Request) (*verifiers.Result, error) {
	if r.Header.Get("X-Fake") == "reply" {
		return &verifiers.Result{Signature: []byte("sig"), Reply: &verifiers.Response{
			Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: `{"challenge":"c"}`}}, nil
	}
	return hv.fakeVerifier.Verify(r)
}

// TestServeHTTPHandshakes: handshakes are answered by the handler, never
// forwarded and never recorded in the replay cache; a refused one is 403.
func TestServeHTTPHandshakes(t *testing.T) {
	hv := &handshakeVerifier{}
	h := &Handler{Provider: "fake", verifier: hv, maxSize: 1 << 20, logger: zap.NewNop()}
	mem := replay.NewMemory(replay.MemoryOptions{SweepInterval: -1})
	defer mem.Destruct()
	h.replay = &replayState{store: mem, namespace: "fake", ttl: time.Hour, inFlightTTL: time.Minute}
	tests := []struct {
		name, method, target, fake string
		wantStatus                 int
		wantBody, wantCT           string
		wantNext                   bool
	}{
		{"unsigned", "GET", "/hook?challenge=abc", "", 200, "abc", "text/plain; charset=utf-8", false},
		{"unsigned again", "GET", "/hook?challenge=abc", "", 200, "abc", "text/plain; charset=utf-8", false},
		{"refused", "GET", "/hook?challenge=bad", "", 403, "", "", false},
		{"not a handshake", "GET", "/hook", "ok", 202, "", "", true},
		{"signed", "POST", "/hook", "reply", 200, `{"challenge":"c"}`, "application/json", false},
		{"signed again", "POST", "/hook", "reply", 200, `{"challenge":"c"}`, "application/json", false},
		{"signed forged", "POST", "/hook", "bad", 401, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader("{}"))
			if tt.fake != "" {
				req.Header.Set("X-Fake", tt.fake)
			}
			w, next, _, err := serve(h, req)
			status := w.Code
			var he caddyhttp.HandlerError
			if errors.As(err, &he) {
				status = he.StatusCode
			}
			if status != tt.wantStatus || (next.called > 0) != tt.wantNext {
				t.Fatalf("status %d, next called %d; want %d, forwarded %v", status, next.called, tt.wantStatus, tt.wantNext)
			}
			if tt.wantBody != "" && (w.Body.String() != tt.wantBody || w.Header().Get("Content-Type") != tt.wantCT) {
				t.Errorf("body %q (%s), want %q (%s)", w.Body.String(), w.Header().Get("Content-Type"), tt.wantBody, tt.wantCT)
			}
		})
	}
	if st, _, _ := mem.Reserve(context.Background(), replay.Key("fake", replayMaterial(&verifiers.Result{Signature: []byte("sig")})), time.Minute); st != replay.Accepted {
		// Only the "not a handshake" delivery (signature "sig") was recorded.
		t.Errorf("the forwarded delivery is %v in the replay cache, want accepted", st)
	}
}
