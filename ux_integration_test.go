package webhookverify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// wvPlaceholders are every placeholder the handler documents.
var wvPlaceholders = []string{"provider", "verified", "id", "timestamp", "key", "replay", "error"}

// placeholderHeaders is a header_up line per placeholder.
func placeholderHeaders() string {
	var b strings.Builder
	for _, p := range wvPlaceholders {
		fmt.Fprintf(&b, "\t\t\theader_up X-Wv-%s {http.webhook_verify.%s}\n", p, p)
	}
	return b.String()
}

// TestIntegrationPlaceholdersAlwaysSet: every documented placeholder is set
// on every request that passes the gate, verified or not, replay on or off,
// and on a refused one (handle_errors), so none reaches the app or the
// client as literal text ("{http.webhook_verify.error}" on a verified
// delivery, "{http.webhook_verify.replay}" on a rejected one).
func TestIntegrationPlaceholdersAlwaysSet(t *testing.T) {
	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	var errBody strings.Builder
	for _, p := range wvPlaceholders {
		fmt.Fprintf(&errBody, "%s=[{http.webhook_verify.%s}] ", p, p)
	}
	cfg := globalOptions() + fmt.Sprintf(`
http://localhost:%[1]d {
	handle /ph/shadow {
		webhook_verify github {
			secret "%[2]s"
			mode log_only
		}
		reverse_proxy %[3]s {
%[4]s		}
	}
	handle /ph/shadow-noreplay {
		webhook_verify github {
			secret "%[2]s"
			mode log_only
			replay off
		}
		reverse_proxy %[3]s {
%[4]s		}
	}
	handle /ph/enforce {
		webhook_verify github {
			secret "%[2]s"
		}
		reverse_proxy %[3]s
	}
	handle_errors {
		respond "%[5]s"
	}
}
`, testHTTPPort, ghSecret, srv.Listener.Addr().String(), placeholderHeaders(), strings.ReplaceAll(errBody.String(), `"`, `\"`))
	tc := newTester(t)
	tc.InitServer(cfg, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	// A body of this run (the replay cache outlives config loads).
	body := []byte(fmt.Sprintf(`{"run":%d}`, time.Now().UnixNano()))
	m := hmac.New(sha256.New, []byte(ghSecret))
	m.Write(body)
	sig := "sha256=" + hex.EncodeToString(m.Sum(nil))
	for _, tt := range []struct {
		name, path, sig string
		want            map[string]string
	}{
		{"verified, replay on", "/ph/shadow", sig, map[string]string{"verified": "true", "error": "", "replay": "new", "key": "1"}},
		{"forged, replay on", "/ph/shadow", "sha256=" + strings.Repeat("0", 64), map[string]string{"verified": "false", "replay": "", "id": "", "key": "", "timestamp": ""}},
		{"verified, replay off", "/ph/shadow-noreplay", sig, map[string]string{"verified": "true", "error": "", "replay": ""}},
		{"forged, replay off", "/ph/shadow-noreplay", "sha256=" + strings.Repeat("0", 64), map[string]string{"verified": "false", "replay": ""}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(up.requests(tt.path))
			post(t, tc, tt.path, map[string]string{"X-Hub-Signature-256": tt.sig}, body)
			got := up.requests(tt.path)
			if len(got) != before+1 {
				t.Fatalf("upstream saw %d, want %d", len(got), before+1)
			}
			h := got[len(got)-1].header
			for _, p := range wvPlaceholders {
				v := h.Get("X-Wv-" + p)
				if strings.Contains(v, "{") {
					t.Errorf("%s reached the app as %q", p, v)
				}
				if want, ok := tt.want[p]; ok && v != want {
					t.Errorf("%s = %q, want %q", p, v, want)
				}
			}
		})
	}
	t.Run("refused, handle_errors", func(t *testing.T) {
		status, msg := post(t, tc, "/ph/enforce", map[string]string{"X-Hub-Signature-256": "sha256=" + strings.Repeat("0", 64)}, []byte(ghBody))
		if status != 401 || strings.Contains(msg, "{") || !strings.Contains(msg, "replay=[]") || !strings.Contains(msg, "verified=[false]") {
			t.Errorf("refused: %d %q, want 401 with every placeholder replaced", status, msg)
		}
	})
}

// TestIntegrationShadowLogs: in log_only mode the verified lines are written
// at INFO, Caddy's default level, so "switch to enforce once the logs show
// only verified" can be followed without DEBUG; and the documented log block (docs/metrics.md)
// (the gate's logger alone at DEBUG) writes enforce's verified lines without
// reverse_proxy's DEBUG lines (which copy every request header, signatures
// included). Caddy then writes the gate's lines to that log only.
func TestIntegrationShadowLogs(t *testing.T) {
	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	dir := t.TempDir()
	site := fmt.Sprintf(`
http://localhost:%[1]d {
	handle /sl/shadow {
		webhook_verify github {
			secret "%[2]s"
			mode log_only
			replay off
		}
		reverse_proxy %[3]s
	}
	handle /sl/enforce {
		webhook_verify github {
			secret "%[2]s"
			replay off
		}
		reverse_proxy %[3]s
	}
}
`, testHTTPPort, ghSecret, srv.Listener.Addr().String())
	verified := func(lines []caddyLogLine, mode string) int {
		n := 0
		for _, l := range lines {
			if l.Msg == "webhook verified" && l.Logger == "http.handlers.webhook_verify" && (l.fields["mode"] == mode || (mode == "" && l.fields["mode"] == nil)) {
				n++
			}
		}
		return n
	}
	send := func(tc *caddytest.Tester) {
		for _, path := range []string{"/sl/shadow", "/sl/enforce"} {
			if status, msg := post(t, tc, path, map[string]string{"X-Hub-Signature-256": ghSig}, []byte(ghBody)); status != 200 {
				t.Fatalf("%s: %d %q", path, status, msg)
			}
		}
	}

	t.Run("default level", func(t *testing.T) {
		mainLog := filepath.Join(dir, "caddy.log")
		tc := newTester(t)
		tc.InitServer(logsGlobal(fmt.Sprintf("\tlog {\n\t\toutput file %q\n\t\tformat json\n\t\tlevel INFO\n\t}", mainLog))+site, "caddyfile")
		if t.Failed() {
			t.FailNow()
		}
		send(tc)
		lines := readCaddyLog(t, mainLog)
		if n := verified(lines, ModeLogOnly); n != 1 {
			t.Errorf("log_only: %d verified lines at INFO, want 1", n)
		}
		if n := verified(lines, ""); n != 0 {
			t.Errorf("enforce: %d verified lines at INFO, want 0 (DEBUG)", n)
		}
	})

	t.Run("the gate's logger at DEBUG", func(t *testing.T) {
		gateLog := filepath.Join(dir, "gate.log")
		tc := newTester(t)
		tc.InitServer(logsGlobal(fmt.Sprintf("\tlog gate {\n\t\tinclude http.handlers.webhook_verify\n\t\tlevel DEBUG\n\t\toutput file %q\n\t\tformat json\n\t}", gateLog))+site, "caddyfile")
		if t.Failed() {
			t.FailNow()
		}
		send(tc)
		lines := readCaddyLog(t, gateLog)
		if n := verified(lines, ""); n != 1 {
			t.Errorf("enforce: %d verified lines, want 1", n)
		}
		for _, l := range lines {
			if l.Logger != "http.handlers.webhook_verify" || strings.Contains(l.raw, ghSig) {
				t.Errorf("a line of %s: %s", l.Logger, l.raw)
			}
		}
	})
}
