package webhookverify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/webhookverify/caddy-webhook-verify/replay"
	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

func TestLogOnlyMode(t *testing.T) {
	tests := []struct {
		fake         string
		body         string
		maxSize      int64
		wantStatus   int // 0: whatever next wrote (202)
		wantNext     bool
		wantVerified string
	}{
		{"ok", "x", 1 << 20, 0, true, "true"},
		{"signature", "x", 1 << 20, 0, true, "false"},
		{"malformed", "x", 1 << 20, 0, true, "false"},
		{"unavailable", "x", 1 << 20, 0, true, "false"},
		{"ok", "too large", 4, http.StatusRequestEntityTooLarge, false, "false"},
	}
	for _, tt := range tests {
		t.Run(tt.fake+"/"+tt.body, func(t *testing.T) {
			h, _ := newTestHandler(tt.maxSize)
			h.Mode = ModeLogOnly
			req := httptest.NewRequest("POST", "/hook", strings.NewReader(tt.body))
			req.Header.Set("X-Fake", tt.fake)
			w, next, repl, err := serve(h, req)
			status := w.Code
			var he caddyhttp.HandlerError
			if errors.As(err, &he) {
				status = he.StatusCode
			}
			if tt.wantStatus != 0 && status != tt.wantStatus {
				t.Errorf("status %d, want %d", status, tt.wantStatus)
			}
			if (next.called == 1) != tt.wantNext {
				t.Fatalf("next called %d times, want forwarded=%v", next.called, tt.wantNext)
			}
			if tt.wantNext && string(next.body) != tt.body {
				t.Errorf("next got %q, want the body %q", next.body, tt.body)
			}
			if v, _ := repl.GetString("http.webhook_verify.verified"); v != tt.wantVerified {
				t.Errorf("verified = %q, want %q", v, tt.wantVerified)
			}
			if e, _ := repl.GetString("http.webhook_verify.error"); (e != "") != (tt.wantVerified == "false") {
				t.Errorf("error placeholder %q", e)
			}
		})
	}
}

func TestLogOnlyReplayNeverBlocks(t *testing.T) {
	for _, mode := range []string{ModeEnforce, ModeLogOnly} {
		t.Run(mode, func(t *testing.T) {
			h, _ := newTestHandler(1 << 20)
			h.Mode = mode
			mem := replay.NewMemory(replay.MemoryOptions{SweepInterval: -1})
			defer mem.Destruct()
			h.replay = &replayState{store: mem, namespace: "fake", ttl: time.Minute, inFlightTTL: time.Minute}
			var forwarded int
			var marks []string
			for i := 0; i < 2; i++ {
				req := httptest.NewRequest("POST", "/hook", strings.NewReader("x"))
				req.Header.Set("X-Fake", "ok")
				_, next, repl, _ := serve(h, req)
				forwarded += next.called
				m, _ := repl.GetString("http.webhook_verify.replay")
				marks = append(marks, m)
			}
			want := 1
			if mode == ModeLogOnly {
				want = 2
			}
			if forwarded != want || marks[0] != "new" || marks[1] != "duplicate" {
				t.Errorf("forwarded %d (want %d), replay marks %v (want new, duplicate)", forwarded, want, marks)
			}
		})
	}
}

func observed(h *Handler, now *time.Time) *observer.ObservedLogs {
	core, logs := observer.New(zapcore.DebugLevel)
	h.logger = zap.New(core)
	h.logLimit = newLogLimiter(logBurst, logInterval, h.rejectionSummary(h.logger))
	h.logLimit.now = func() time.Time { return *now }
	return logs
}

func TestDecisionLogLines(t *testing.T) {
	now := time.Unix(1700000000, 0)
	h, _ := newTestHandler(1 << 20)
	h.Name = "hooks-a"
	logs := observed(h, &now)
	for _, fake := range []string{"ok", "signature"} {
		req := httptest.NewRequest("POST", "/hook?x=1", strings.NewReader("secret-body"))
		req.Host = "hooks.example"
		req.RemoteAddr = "192.0.2.7:4711"
		req.Header.Set("X-Fake", fake)
		serve(h, req)
	}
	entries := logs.AllUntimed()
	if len(entries) != 2 {
		t.Fatalf("%d log lines, want one per decision", len(entries))
	}
	for i, want := range []struct {
		level  zapcore.Level
		result string
	}{{zapcore.DebugLevel, "verified"}, {zapcore.InfoLevel, "signature"}} {
		e := entries[i]
		f := e.ContextMap()
		if e.Level != want.level || f["result"] != want.result {
			t.Errorf("line %d: level %v result %v, want %v %s", i, e.Level, f["result"], want.level, want.result)
		}
		for k, v := range map[string]string{"provider": "fake", "name": "hooks-a", "remote_ip": "192.0.2.7",
			"host": "hooks.example", "method": "POST", "uri": "/hook?x=1"} {
			if f[k] != v {
				t.Errorf("line %d: %s = %v, want %q", i, k, f[k], v)
			}
		}
		for k, v := range f {
			if s, ok := v.(string); ok && strings.Contains(s, "secret-body") || (k != "result" && k != "reason" && strings.Contains(s, "sig")) {
				t.Errorf("line %d: %s = %q carries the body or a signature", i, k, s)
			}
		}
	}
	if f := entries[0].ContextMap(); f["delivery_id"] != "evt_1" {
		t.Errorf("verified line delivery_id = %v", f["delivery_id"])
	}
	if f := entries[1].ContextMap(); f["reason"] == nil {
		t.Error("rejection line has no reason")
	}
}

func TestRejectionLogsRateLimited(t *testing.T) {
	now := time.Unix(1700000000, 0)
	h, _ := newTestHandler(1 << 20)
	logs := observed(h, &now)
	forge := func(n int, fake string) {
		for i := 0; i < n; i++ {
			req := httptest.NewRequest("POST", "/hook", strings.NewReader("x"))
			req.Header.Set("X-Fake", fake)
			serve(h, req)
		}
	}
	forge(1000, "signature")
	forge(5, "malformed")
	if n := logs.FilterMessage("webhook rejected").Len(); n != logBurst {
		t.Fatalf("%d rejection lines for a flood of 1005, want %d", n, logBurst)
	}
	if n := logs.FilterMessage("webhook rejections not logged one by one").Len(); n != 0 {
		t.Fatalf("summary written before the interval ended")
	}
	// The next window: its first rejection writes the last window's summary.
	now = now.Add(logInterval)
	forge(1, "signature")
	sums := logs.FilterMessage("webhook rejections not logged one by one").AllUntimed()
	if len(sums) != 1 {
		t.Fatalf("%d summary lines, want 1", len(sums))
	}
	f := sums[0].ContextMap()
	if f["suppressed"] != int64(1005-logBurst) {
		t.Errorf("suppressed = %v, want %d", f["suppressed"], 1005-logBurst)
	}
	if by, _ := f["by_result"].(map[string]any); by["signature"] != 1000-logBurst || by["malformed"] != 5 {
		t.Errorf("by_result = %v", f["by_result"])
	}
	if n := logs.FilterMessage("webhook rejected").Len(); n != logBurst+1 {
		t.Errorf("%d rejection lines, want %d", n, logBurst+1)
	}
	// Cleanup writes what is pending.
	forge(logBurst+3, "signature")
	h.closeLogs()
	if n := logs.FilterMessage("webhook rejections not logged one by one").Len(); n != 2 {
		t.Errorf("%d summary lines after Cleanup, want 2", n)
	}
}

func TestRejectionSummaryTimer(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	h, _ := newTestHandler(1 << 20)
	h.logger = zap.New(core)
	h.logLimit = newLogLimiter(1, 20*time.Millisecond, h.rejectionSummary(h.logger))
	defer h.closeLogs()
	for i := 0; i < 3; i++ {
		req := httptest.NewRequest("POST", "/hook", strings.NewReader("x"))
		serve(h, req)
	}
	// The flood stopped: the summary comes from the timer (waited for,
	// not timed).
	for i := 0; i < 200 && logs.FilterMessage("webhook rejections not logged one by one").Len() == 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	sums := logs.FilterMessage("webhook rejections not logged one by one").AllUntimed()
	if len(sums) != 1 || sums[0].ContextMap()["suppressed"] != int64(2) {
		t.Fatalf("summary lines %v, want one with suppressed 2", sums)
	}
}

func TestLookupPointer(t *testing.T) {
	tests := []struct {
		body, pointer, want string
		err                 error
	}{
		{`{"id":"evt_1","data":{"object":{"id":"in_1"}}}`, "/id", "evt_1", nil},
		{`{"data":{"object":{"id":"in_1"}},"id":"evt_1"}`, "/data/object/id", "in_1", nil},
		{`{"eventId":"01HZYX","type":"subscriber.created"}`, "/eventId", "01HZYX", nil},
		{`[{"sg_event_id":"a"},{"sg_event_id":"b"}]`, "/1/sg_event_id", "b", nil},
		{`{"n":12345678901234567890}`, "/n", "12345678901234567890", nil},
		{`{"a/b":"s","m~n":"t"}`, "/a~1b", "s", nil},
		{`{"a/b":"s","m~n":"t"}`, "/m~0n", "t", nil},
		{`{"id":"a","id":"b"}`, "/id", "", errPointerAmbiguous},
		{`{"x":{"id":"a"},"x":{"id":"b"}}`, "/x/id", "", errPointerAmbiguous},
		{`{"ID":"a"}`, "/id", "", errPointerMissing},
		{`{"id":""}`, "/id", "", errPointerNotScalar},
		{`{"id":true}`, "/id", "", errPointerNotScalar},
		{`{"id":null}`, "/id", "", errPointerNotScalar},
		{`{"id":{"a":1}}`, "/id", "", errPointerNotScalar},
		{`[1,2]`, "/01", "", errPointerMissing},
		{`token=abc&team_id=T1`, "/event_id", "", errPointerJSON},
		{`{"id":"a"`, "/id", "", errPointerJSON},
		// Anything but white space after the document is refused: a
		// reader of the body could take the second value.
		{`{"id":"a"} {"id":"b"}`, "/id", "", errPointerTrailing},
		{`{"id":"a"}x`, "/id", "", errPointerTrailing},
		{`{"id":1}1`, "/id", "", errPointerTrailing},
		{"{\"id\":\"a\"}\r\n\t ", "/id", "a", nil},
	}
	for _, tt := range tests {
		tokens, err := parsePointer(tt.pointer)
		if err != nil {
			t.Fatalf("%s: %v", tt.pointer, err)
		}
		v, err := lookupPointer(strings.NewReader(tt.body), tokens)
		if got := v.value; got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("%s in %s = %q, %v; want %q, %v", tt.pointer, tt.body, got, err, tt.want, tt.err)
		}
	}
	for _, bad := range []string{"", "id", "/a~2", "/a~"} {
		if _, err := parsePointer(bad); err == nil {
			t.Errorf("pointer %q accepted", bad)
		}
	}
}

// notBodySigner is a verifier whose signature does not cover the body.
type notBodySigner struct{ fakeVerifier }

func TestReplayKeyProvision(t *testing.T) {
	stripe, err := verifiers.New("stripe", verifiers.Config{Secrets: []string{"s"}})
	if err != nil {
		t.Fatal(err)
	}
	mailgun, err := verifiers.New("mailgun", verifiers.Config{Secrets: []string{"s"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		v       verifiers.Verifier
		key     string
		want    string // kind + pointer
		wantErr bool
	}{
		{"stripe default", stripe, "", "json /id", false},
		{"stripe signature", stripe, "signature", "signature ", false},
		{"stripe other field", stripe, "json /data/object/id", "json /data/object/id", false},
		{"mailgun default", mailgun, "", " ", false},
		{"mailgun json refused", mailgun, "json /event-data/id", "", true},
		{"unknown", stripe, "body", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{Provider: "p", verifier: tt.v, replay: &replayState{}}
			if tt.key != "" {
				h.Replay = &ReplayConfig{Key: tt.key}
			}
			err := h.provisionReplayKey()
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if got := h.replayKey.kind + " " + h.replayKey.pointer; err == nil && got != tt.want {
				t.Errorf("key source %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReplayKeyFallback(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	h := &Handler{Provider: "stripe", logger: zap.New(core)}
	h.replayKey, _ = parseReplayKey("json /id")
	res := &verifiers.Result{Signature: []byte("mac")}
	withBody := func(body string) *http.Request {
		r := httptest.NewRequest("POST", "/", nil)
		restoreBody(r, []byte(body))
		return r
	}
	material := func(r *http.Request, res *verifiers.Result) []byte {
		t.Helper()
		m, err := h.replayMaterial(r, res)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a := material(withBody(`{"id":"evt_1"}`), res)
	b := material(withBody(`{"id":"evt_1","x":1}`), &verifiers.Result{Signature: []byte("other mac")})
	if string(a) != string(b) || !strings.HasPrefix(string(a), "event:") {
		t.Errorf("same event id, materials %q and %q", a, b)
	}
	// The number 1 and the string "1" are two event ids.
	if n, s := material(withBody(`{"id":1}`), res), material(withBody(`{"id":"1"}`), res); string(n) == string(s) {
		t.Errorf("number and string ids share the material %q", n)
	}
	// Trailing data is refused, not a fallback: the app could read it.
	if m, err := h.replayMaterial(withBody(`{"id":"evt_1"}{"id":"evt_2"}`), res); !errors.Is(err, verifiers.ErrMalformed) || m != nil {
		t.Errorf("trailing data: material %q, error %v; want ErrMalformed", m, err)
	}
	fb := material(withBody(`{"type":"x"}`), res)
	if string(fb) != string(replayMaterial(res)) {
		t.Errorf("missing field: material %q, want the signature's", fb)
	}
	if logs.FilterLevelExact(zapcore.WarnLevel).Len() != 1 {
		t.Errorf("the fallback of a configured key is not logged at WARN")
	}
}

func TestCaddyfileShapeErrors(t *testing.T) {
	tests := []struct {
		name, input, wantErr string
	}{
		{"secret missing", "webhook_verify stripe {\n tolerance 1m\n}", "webhook_verify stripe: needs at least one secret, at Testfile:1"},
		{"option not taken", "webhook_verify stripe {\n secret {env.S}\n url https://example.com/x\n}", "does not take url, at Testfile:3"},
		{"hmac without signature_header", "webhook_verify hmac {\n secret {env.S}\n hash sha256\n}", "signature_header is required, at Testfile:1"},
		{"bad hash", "webhook_verify hmac {\n secret {env.S}\n signature_header X-Sig\n hash md5\n}", "at Testfile:4"},
		{"bad encoding", "webhook_verify hmac {\n secret s\n signature_header X-Sig\n encoding base32\n}", "at Testfile:4"},
		{"bad unit", "webhook_verify hmac {\n secret s\n signature_header X-Sig\n timestamp_header X-Ts hours\n}", "at Testfile:4"},
		{"literal secret of the wrong form", "webhook_verify svix {\n secret not-base64!\n}", "secret 1 is not whsec_ base64, at Testfile:2"},
		{"literal key of the wrong form", "webhook_verify sendgrid {\n public_key abc\n}", "at Testfile:2"},
		{"sendgrid without key", "webhook_verify sendgrid {\n}", "needs at least one public_key, at Testfile:1"},
		{"auto_confirm without topic", "webhook_verify sns {\n auto_confirm\n}", "at Testfile:2"},
		{"bad mode", "webhook_verify stripe {\n secret s\n mode shadow\n}", "at Testfile:3"},
		{"bad replay key", "webhook_verify stripe {\n secret s\n replay {\n key json eventId\n }\n}", "at Testfile:4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	for _, ok := range []string{
		"webhook_verify svix {\n secret {env.SVIX_SECRET}\n}",
		"webhook_verify hmac {\n secret {env.S}\n secret_encoding base64\n signature_header X-Sig\n}",
		"webhook_verify sendgrid {\n public_key {env.SG_KEY}\n}",
		"webhook_verify mailchannels {\n public_key mckey1 {file./run/mc.pem}\n customer_handle {env.MC_HANDLE}\n}",
		"webhook_verify standard_webhooks {\n public_key {env.WHPK}\n}",
		"webhook_verify sns {\n topic_arn {env.TOPIC}\n certificate /etc/sns.pem\n auto_confirm\n}",
		"webhook_verify twilio {\n secret {env.T}\n url https://{env.HOST}/sms\n}",
		"webhook_verify postmark {\n username pm\n password {env.PM}\n mode log_only\n name pm\n}",
		"webhook_verify maildesk {\n secret {env.M}\n replay {\n key json /eventId\n }\n}",
	} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(ok)); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
}

func TestLoadErrorsNameTheDirective(t *testing.T) {
	err := directiveError("stripe", errors.New("secret 1 is empty"))
	if err.Error() != "webhook_verify stripe: secret 1 is empty" {
		t.Errorf("got %q", err)
	}
	if err := directiveError("stripe", errors.New("provider stripe does not take url")); err.Error() != "webhook_verify stripe: does not take url" {
		t.Errorf("got %q", err)
	}
	_ = context.Background
}
