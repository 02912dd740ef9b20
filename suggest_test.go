package webhookverify

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// TestSuggestListsKnown: every option in the "did you mean" lists is one the
// parser knows (so a suggestion never names an option that is refused).
func TestSuggestListsKnown(t *testing.T) {
	for _, opt := range directiveOptions {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("webhook_verify hmac {\n " + opt + " x\n}"))
		if err != nil && strings.Contains(err.Error(), "unrecognized") {
			t.Errorf("%s: %v", opt, err)
		}
	}
	for _, opt := range replayOptions {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("webhook_verify stripe {\n replay {\n  " + opt + " x\n }\n}"))
		if err != nil && strings.Contains(err.Error(), "unrecognized") {
			t.Errorf("replay %s: %v", opt, err)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"stripe", "stripe", 0}, {"stirpe", "stripe", 1}, {"strpe", "stripe", 1}, {"github", "gitlab", 2}, {"", "ab", 2}, {"tll", "ttl", 1}} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
