package webhookverify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// TestQueueRefusesWhatEnforceWould: behind a `webhook_verify mode
// log_only`, the requests the gate passes on although enforce mode would
// refuse them (not verified; replays) are answered as enforce would and
// never stored, unless allow_unverified; a request without webhook_verify
// placeholders (a generic buffer) and a verified new one are queued; a
// request with more header fields than an entry can hold gets 431, not an
// acknowledgement followed by its loss as a corrupt entry.
func TestQueueRefusesWhatEnforceWould(t *testing.T) {
	many := map[string]string{}
	for i := range 1<<18 + 1 {
		many["X-H"+strconv.Itoa(i)] = "v"
	}
	cases := []struct {
		name   string
		vars   map[string]string // http.webhook_verify.* placeholders set by the gate
		allow  bool
		header map[string]string
		status int
		stored bool
	}{
		{"no gate", nil, false, nil, 200, true},
		{"verified, new", map[string]string{"verified": "true", "replay": "new"}, false, nil, 200, true},
		{"verified, no replay", map[string]string{"verified": "true"}, false, nil, 200, true},
		{"log_only, not verified", map[string]string{"verified": "false"}, false, nil, 401, false},
		{"log_only, not verified, allowed", map[string]string{"verified": "false"}, true, nil, 200, true},
		{"log_only, duplicate", map[string]string{"verified": "true", "replay": "duplicate"}, false, nil, 200, false},
		{"log_only, in flight", map[string]string{"verified": "true", "replay": "in_flight"}, false, nil, 409, false},
		{"log_only, duplicate, allowed", map[string]string{"verified": "true", "replay": "duplicate"}, true, nil, 200, true},
		{"too many header fields", nil, false, many, 431, false},
	}
	app := &testApp{}
	tq := startTestQueue(t, "gate", app, nil, func(rt *queueRuntime) { rt.concurrency = 0 })
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := &Queue{Name: tq.name, AllowUnverified: c.allow, store: tq.store, workers: tq.w,
				logger: zap.NewNop(), maxSize: 1 << 20}
			before := tq.stats(t).Pending
			r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader("body"))
			for k, v := range c.header {
				r.Header[k] = []string{v}
			}
			repl := caddy.NewReplacer()
			for k, v := range c.vars {
				repl.Set("http.webhook_verify."+k, v)
			}
			r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
			w := httptest.NewRecorder()
			status := 0
			err := q.ServeHTTP(w, r, nil)
			var he caddyhttp.HandlerError
			switch {
			case errors.As(err, &he):
				status = he.StatusCode
			case err != nil:
				t.Fatal(err)
			default:
				status = w.Code
			}
			stored := tq.stats(t).Pending - before
			if status != c.status || (stored == 1) != c.stored || stored > 1 {
				t.Fatalf("status %d, %d stored; want %d, stored %v (answer %q)", status, stored, c.status, c.stored, w.Body.String())
			}
			if c.name == "log_only, duplicate" && !strings.Contains(w.Body.String(), "duplicate") {
				t.Errorf("duplicate answered %q", w.Body.String())
			}
		})
	}
}
