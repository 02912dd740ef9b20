package webhookverify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/webhookverify/caddy-webhook-verify/replay"
	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// downStore is a replay store whose every step fails, as Redis down.
type downStore struct{}

var errDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

func (downStore) Reserve(context.Context, string, time.Duration) (replay.State, replay.Token, error) {
	var tok replay.Token
	return 0, tok, errDown
}
func (downStore) Commit(context.Context, string, replay.Token, time.Duration) error { return errDown }
func (downStore) Release(context.Context, string, replay.Token) error               { return errDown }

// A replay store failure is an operator's problem: logged at ERROR, limited
// apart from rejections, so a flood of forged requests that used up the
// rejection lines cannot hide it; answered 503 with Retry-After.
func TestStoreFailuresLoggedApart(t *testing.T) {
	now := time.Unix(1700000000, 0)
	h, _ := newTestHandler(1 << 20)
	h.replay = &replayState{store: downStore{}, namespace: "fake", ttl: time.Minute, inFlightTTL: time.Minute}
	logs := observed(h, &now)
	h.storeLog = newLogLimiter(logBurst, logInterval, h.storeFailureSummary(h.logger))
	h.storeLog.now = func() time.Time { return now }
	send := func(n int, fake string) (statuses map[int]int) {
		statuses = map[int]int{}
		for range n {
			req := httptest.NewRequest("POST", "/hook", strings.NewReader("x"))
			req.Header.Set("X-Fake", fake)
			w, next, _, err := serve(h, req)
			if next.called != 0 {
				t.Fatalf("%s: forwarded", fake)
			}
			st := w.Code
			var he caddyhttp.HandlerError
			if errors.As(err, &he) {
				st = he.StatusCode
			}
			if fake == "ok" && w.Header().Get("Retry-After") != retryAfter {
				t.Errorf("store failure answered without Retry-After: %v", w.Header())
			}
			statuses[st]++
		}
		return statuses
	}
	send(1000, "signature") // the rejection lines of this window are used up
	if st := send(3, "ok"); st[http.StatusServiceUnavailable] != 3 {
		t.Fatalf("store failures answered %v, want 503", st)
	}
	lines := logs.FilterMessage("webhook replay store unavailable").AllUntimed()
	if len(lines) != 3 {
		t.Fatalf("%d store failure lines after a flood of rejections, want 3", len(lines))
	}
	for _, l := range lines {
		if f := l.ContextMap(); l.Level != zapcore.ErrorLevel || f["result"] != "replay_unavailable" || !strings.Contains(f["reason"].(string), "connection refused") {
			t.Errorf("store failure line: level %v, fields %v", l.Level, f)
		}
	}
	// Store failures are bounded too, with their own summary at ERROR.
	send(2*logBurst, "ok")
	if n := logs.FilterMessage("webhook replay store unavailable").Len(); n != logBurst {
		t.Errorf("%d store failure lines for %d failures in one window, want %d", n, 2*logBurst+3, logBurst)
	}
	now = now.Add(logInterval)
	send(1, "ok")
	sums := logs.FilterMessage("webhook replay store failures not logged one by one").AllUntimed()
	if len(sums) != 1 || sums[0].Level != zapcore.ErrorLevel || sums[0].ContextMap()["suppressed"] != int64(2*logBurst+3-logBurst) {
		t.Errorf("store failure summaries: %v", sums)
	}
	h.closeLogs()
	rs := logs.FilterMessage("webhook rejections not logged one by one").AllUntimed()
	if len(rs) != 1 || rs[0].ContextMap()["suppressed"] != int64(1000-logBurst) {
		t.Errorf("rejection summaries %v, want one of %d (the store failures are not in it)", rs, 1000-logBurst)
	}
}

// The load warning names the header that carries a secret and gives the
// log filter; Authorization (redacted by Caddy) and signature schemes get
// none.
func TestCredentialLogWarning(t *testing.T) {
	tests := []struct {
		provider string
		cfg      verifiers.Config
		want     string // the filter, "" for no warning
	}{
		{"gitlab", verifiers.Config{Secrets: []string{"t"}}, "log {\n\tformat filter {\n\t\trequest>headers>X-Gitlab-Token delete\n\t}\n}"},
		{"postmark", verifiers.Config{Secrets: []string{"t"}, Header: "x-buildkite-token"}, "log {\n\tformat filter {\n\t\trequest>headers>X-Buildkite-Token delete\n\t}\n}"},
		{"postmark", verifiers.Config{Username: "u", Password: "p"}, ""},
		{"brevo", verifiers.Config{Secrets: []string{"t"}}, ""},
		{"github", verifiers.Config{Secrets: []string{"t"}}, ""},
		{"meta", verifiers.Config{Secrets: []string{"t"}, VerifyToken: "vt"}, "log {\n\tformat filter {\n\t\trequest>uri query {\n\t\t\tdelete hub.verify_token\n\t\t}\n\t}\n}"},
		{"meta", verifiers.Config{Secrets: []string{"t"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			v, err := verifiers.New(tt.provider, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			core, logs := observer.New(zapcore.DebugLevel)
			h := &Handler{Provider: tt.provider, verifier: v, logger: zap.New(core), VerifyToken: tt.cfg.VerifyToken}
			h.warnCredentialLogs()
			lines := logs.AllUntimed()
			if tt.want == "" {
				if len(lines) != 0 {
					t.Errorf("warned: %v", lines)
				}
				return
			}
			if len(lines) != 1 || lines[0].Level != zapcore.WarnLevel || lines[0].ContextMap()["caddyfile"] != tt.want {
				t.Errorf("lines %v, want one WARN with the filter %q", lines, tt.want)
			}
		})
	}
}

func TestLogURI(t *testing.T) {
	for in, want := range map[string]string{
		"/hook":         "/hook",
		"/hook?a=1&b=2": "/hook?a=1&b=2",
		"/?hub.mode=subscribe&hub.verify_token=s3cret&hub.challenge=1": "/?hub.mode=subscribe&hub.verify_token=REDACTED&hub.challenge=1",
		"/?hub%2Everify_token=s3cret":                                  "/?hub.verify_token=REDACTED",
		"/?hub.verify_token":                                           "/?hub.verify_token=REDACTED",
		"/?x=hub.verify_token":                                         "/?x=hub.verify_token",
	} {
		if got := logURI(in); got != want {
			t.Errorf("logURI(%q) = %q, want %q", in, got, want)
		}
	}
}
