package webhookverify

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// httpError: a refusal is answered by the gate itself on a server without
// handle_errors routes (the status, the headers already set and a line
// naming the failure's class, nothing of the detailed reason); with
// handle_errors routes, or outside a Caddy server, it is handed to Caddy
// as an error.
func TestHTTPErrorAnswersOwnRefusals(t *testing.T) {
	withRoutes := &caddyhttp.Server{Errors: &caddyhttp.HTTPErrorConfig{Routes: caddyhttp.RouteList{{}}}}
	detailed := fmt.Errorf("%w: X-Hub-Signature-256 does not match", verifiers.ErrSignature)
	tests := []struct {
		name     string
		srv      *caddyhttp.Server // nil: not in a Caddy server
		status   int
		err      error
		wantErr  bool
		wantBody string
	}{
		{"503 without handle_errors", &caddyhttp.Server{}, 503, errStoreUnavailable, false, "webhook rejected: replay cache unavailable\n"},
		{"500 without handle_errors", &caddyhttp.Server{Errors: &caddyhttp.HTTPErrorConfig{}}, 500, errors.New("x"), false, "webhook rejected: internal error\n"},
		{"401 without handle_errors", &caddyhttp.Server{}, 401, detailed, false, "webhook rejected: signature mismatch\n"},
		{"413 without handle_errors", &caddyhttp.Server{}, 413, errTooLarge, false, "webhook rejected: body too large\n"},
		{"401 with handle_errors", withRoutes, 401, detailed, true, ""},
		{"503 with handle_errors", withRoutes, 503, errStoreUnavailable, true, ""},
		{"503 outside a Caddy server", nil, 503, errStoreUnavailable, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newTestHandler(1 << 20)
			req := httptest.NewRequest("POST", "/hook", nil)
			if tt.srv != nil {
				req = req.WithContext(context.WithValue(req.Context(), caddyhttp.ServerCtxKey, tt.srv))
			}
			w := httptest.NewRecorder()
			w.Header().Set("Retry-After", "5")
			err := h.httpError(w, req, tt.status, tt.err)
			var he caddyhttp.HandlerError
			if tt.wantErr {
				if !errors.As(err, &he) || he.StatusCode != tt.status || w.Body.Len() != 0 {
					t.Fatalf("err %v, body %q, want a Caddy HTTP error %d and nothing written", err, w.Body, tt.status)
				}
				return
			}
			if err != nil || w.Code != tt.status || w.Body.String() != tt.wantBody || w.Header().Get("Retry-After") != "5" ||
				w.Header().Get("Content-Type") != "text/plain; charset=utf-8" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("err %v, answered %d %q %v; want nil, %d %q, Retry-After kept, text/plain, nosniff", err, w.Code, w.Body, w.Header(), tt.status, tt.wantBody)
			}
		})
	}
}
