package webhookverify

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// httpError: a 5xx the gate causes is answered by the gate itself on a
// server without handle_errors routes (Caddy would log the request's
// headers at ERROR); everything else is handed to Caddy as an error.
func TestHTTPErrorAnswersOwn5xx(t *testing.T) {
	withRoutes := &caddyhttp.Server{Errors: &caddyhttp.HTTPErrorConfig{Routes: caddyhttp.RouteList{{}}}}
	tests := []struct {
		name    string
		srv     *caddyhttp.Server // nil: not in a Caddy server
		status  int
		wantErr bool
	}{
		{"503 without handle_errors", &caddyhttp.Server{}, 503, false},
		{"500 without handle_errors", &caddyhttp.Server{Errors: &caddyhttp.HTTPErrorConfig{}}, 500, false},
		{"401 without handle_errors", &caddyhttp.Server{}, 401, true},
		{"409 without handle_errors", &caddyhttp.Server{}, 409, true},
		{"503 with handle_errors", withRoutes, 503, true},
		{"503 outside a Caddy server", nil, 503, true},
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
			err := h.httpError(w, req, tt.status, errors.New("x"))
			var he caddyhttp.HandlerError
			if tt.wantErr {
				if !errors.As(err, &he) || he.StatusCode != tt.status {
					t.Fatalf("err %v, want a Caddy HTTP error %d", err, tt.status)
				}
				return
			}
			if err != nil || w.Code != tt.status || w.Body.Len() != 0 || w.Header().Get("Retry-After") != "5" {
				t.Errorf("err %v, answered %d %q %v; want nil, %d with no body, headers kept", err, w.Code, w.Body, w.Header(), tt.status)
			}
		})
	}
}
