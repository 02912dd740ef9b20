package webhookverify

import (
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// End-to-end tests of issue 13's forgeries that steer the gate with what
// the signature does not cover (items 5 and 8, and log_only's header):
// each is sent through Caddy as an attacker holding one captured genuine
// delivery would send it, and must neither be accepted nor reach the
// upstream; the genuine deliveries still pass.

// Square vectors for the url binding: the body of internal/presetvectors'
// square vector, signed for two notification URLs with
//
//	printf '%s' "$url$body" | openssl dgst -sha256 -hmac sq0wbs-test-signature-key -binary | base64
const (
	fgSquareKey     = "sq0wbs-test-signature-key"
	fgSquareBody    = `{"merchant_id":"MLW8N8ARZSMS2","type":"payment.updated","event_id":"6a8f5f28-54a1-4eb0-a98a-3111513fd4fc","created_at":"2023-11-14T22:13:20Z","data":{"type":"payment","id":"KkAkhdMsgzn59SM8A89WgKwekxLZY"}}`
	fgSquareSigHook = "VYhXqwNNSSow28rTUi9+xrQyZwz+whG7X9rsyI0WzKc=" // https://example.com/square/hook
	fgSquareSigSq2  = "wf34Wkro8HQv6olyDOSw2c/H5RLolMlMU3Oau7hDtDU=" // https://example.com/sq2/hook

	// Twitch's revocation example (verifiers/twitch_test.go, signed by node).
	fgTwitchRevID   = "84c1e79a-2a4b-4c13-ba0b-4312293e9308"
	fgTwitchRevTS   = "2019-11-16T10:11:12.634234626Z"
	fgTwitchRevBody = `{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"authorization_revoked","type":"channel.follow","cost":1,"version":"1","condition":{"broadcaster_user_id":"12826"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2019-11-16T10:11:12.634234626Z"}}`
	fgTwitchRevSig  = "11ec3b13f6de07a98300c1f700d2587eee6b05033a6eca65312eff387e0a9dd0"
)

// fgCase is one request of these tests and what must become of it.
type fgCase struct {
	name    string
	path    string
	headers map[string]string
	body    string
	status  int
	// upPath is where the upstream must see it ("": nowhere, and no
	// request may reach the upstream on path either).
	upPath string
	// reply, when set, is the answer the gate itself must give.
	reply string
}

// fgRun sends the cases in order against a Caddy running config (with
// %[1]s the upstream's address and %[2]s a replay namespace nonce).
func fgRun(t *testing.T, config string, cases []fgCase) (*upstream, *caddytest.Tester) {
	t.Helper()
	up := &upstream{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	tc := newTester(t)
	tc.InitServer(globalOptions()+fmt.Sprintf(config, srv.Listener.Addr().String(), strconv.FormatInt(time.Now().UnixNano(), 36)), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(up.requests(c.path))
			beforeUp := len(up.requests(c.upPath))
			status, body, _ := e2eDo(t, tc, "POST", c.path, c.headers, []byte(c.body))
			if status != c.status {
				t.Fatalf("status %d (%q), want %d", status, body, c.status)
			}
			if c.reply != "" && body != c.reply {
				t.Errorf("answer %q, want %q", body, c.reply)
			}
			if c.upPath == "" {
				if n := len(up.requests(c.path)) - before; n != 0 {
					t.Fatalf("forwarded to the upstream (%d requests at %s)", n, c.path)
				}
				return
			}
			got := up.requests(c.upPath)
			if len(got) != beforeUp+1 || string(got[len(got)-1].body) != c.body {
				t.Fatalf("the upstream saw %d requests at %s, want the body once more", len(got)-beforeUp, c.upPath)
			}
		})
	}
	return up, tc
}

// TestIntegrationTwitchKind (issue 13, item 5): the message kind is the
// signed body's. A captured webhook_callback_verification re-sent with
// Twitch-Eventsub-Message-Type notification (or revocation) used to be
// forwarded as an event; it is refused with 400. Genuine notifications,
// verifications and revocations still work.
func TestIntegrationTwitchKind(t *testing.T) {
	if testing.Short() {
		t.Skip("caddytest integration test")
	}
	config := `
http://localhost:` + strconv.Itoa(testHTTPPort) + ` {
	handle /twitch {
		webhook_verify twitch {
			secret ` + e2eTwitchSecret + `
			tolerance off
			replay {
				namespace fg-twitch-%[2]s
			}
		}
		reverse_proxy %[1]s
	}
}
`
	th := func(id, ts, sig, typ string) map[string]string {
		return map[string]string{"Twitch-Eventsub-Message-Id": id, "Twitch-Eventsub-Message-Timestamp": ts,
			"Twitch-Eventsub-Message-Signature": "sha256=" + sig, "Twitch-Eventsub-Message-Type": typ, "Content-Type": "application/json"}
	}
	ver := func(typ string) map[string]string { return th(e2eTwitchVerID, e2eTwitchVerTS, e2eTwitchVerSig, typ) }
	rev := func(typ string) map[string]string { return th(fgTwitchRevID, fgTwitchRevTS, fgTwitchRevSig, typ) }
	note := func(typ string) map[string]string { return th(e2eTwitchID, e2eTwitchTS, e2eTwitchSig, typ) }
	_, _ = fgRun(t, config, []fgCase{
		{name: "verification relabelled notification", path: "/twitch", headers: ver("notification"), body: e2eTwitchVerBody, status: 400},
		{name: "verification relabelled revocation", path: "/twitch", headers: ver("revocation"), body: e2eTwitchVerBody, status: 400},
		{name: "revocation relabelled notification", path: "/twitch", headers: rev("notification"), body: fgTwitchRevBody, status: 400},
		{name: "notification relabelled revocation", path: "/twitch", headers: note("revocation"), body: e2eTwitchBody, status: 400},
		{name: "notification relabelled verification", path: "/twitch", headers: note("webhook_callback_verification"), body: e2eTwitchBody, status: 400},
		{name: "genuine verification", path: "/twitch", headers: ver("webhook_callback_verification"), body: e2eTwitchVerBody, status: 200, reply: "pogchamp-kappa-360noscope-vohiyo"},
		{name: "genuine notification", path: "/twitch", headers: note("notification"), body: e2eTwitchBody, status: 200, upPath: "/twitch"},
		{name: "genuine revocation", path: "/twitch", headers: rev("revocation"), body: fgTwitchRevBody, status: 200, upPath: "/twitch"},
	})
}

// TestIntegrationURLBinding (issue 13, item 8): Square signs the
// configured notification URL, not the request's path. A genuine event
// posted to another path under the route used to be forwarded there; it
// is refused with 401 (the signature does not cover that path). The path
// compared is the one the request reached Caddy with, so handle_path (or
// uri strip_prefix) in front of the gate changes nothing; url_path names
// the path when a proxy in front of Caddy moves it.
func TestIntegrationURLBinding(t *testing.T) {
	if testing.Short() {
		t.Skip("caddytest integration test")
	}
	config := `
http://localhost:` + strconv.Itoa(testHTTPPort) + ` {
	handle /square/* {
		webhook_verify square {
			secret ` + fgSquareKey + `
			url https://example.com/square/hook
			replay {
				namespace fg-square-%[2]s
			}
		}
		reverse_proxy %[1]s
	}
	handle /internal/* {
		webhook_verify square {
			secret ` + fgSquareKey + `
			url https://example.com/square/hook
			url_path /internal/hook
			replay {
				namespace fg-internal-%[2]s
			}
		}
		reverse_proxy %[1]s
	}
	handle_path /sq2/* {
		webhook_verify square {
			secret ` + fgSquareKey + `
			url https://example.com/sq2/hook
			replay {
				namespace fg-sq2-%[2]s
			}
		}
		reverse_proxy %[1]s
	}
}
`
	h := func(sig string) map[string]string {
		return map[string]string{"X-Square-Hmacsha256-Signature": sig, "Content-Type": "application/json"}
	}
	_, _ = fgRun(t, config, []fgCase{
		{name: "genuine event on another path", path: "/square/admin/delete-everything", headers: h(fgSquareSigHook), body: fgSquareBody, status: 401},
		{name: "genuine event, trailing slash", path: "/square/hook/", headers: h(fgSquareSigHook), body: fgSquareBody, status: 401},
		{name: "genuine event, path escaped otherwise", path: "/square/%68ook", headers: h(fgSquareSigHook), body: fgSquareBody, status: 401},
		{name: "genuine event, query added", path: "/square/hook?admin=1", headers: h(fgSquareSigHook), body: fgSquareBody, status: 401},
		{name: "genuine event", path: "/square/hook", headers: h(fgSquareSigHook), body: fgSquareBody, status: 200, upPath: "/square/hook"},
		{name: "handle_path: another path", path: "/sq2/other", headers: h(fgSquareSigSq2), body: fgSquareBody, status: 401},
		{name: "url_path: the url's path", path: "/internal/square/hook", headers: h(fgSquareSigHook), body: fgSquareBody, status: 401},
		{name: "url_path: the path as sent", path: "/internal/hook", headers: h(fgSquareSigHook), body: fgSquareBody, status: 200, upPath: "/internal/hook"},
		{name: "handle_path: the path as sent", path: "/sq2/hook", headers: h(fgSquareSigSq2), body: fgSquareBody, status: 200, upPath: "/hook"},
	})
}

// TestIntegrationLogOnlyVerifiedHeader (issue 13, smaller): in log_only
// mode the gate forwards everything, so a client-sent X-Webhook-Verified
// (the name the docs suggest for header_up) used to reach the upstream
// when the route did not set it; the gate removes it. With header_up the
// gate's own value arrives.
func TestIntegrationLogOnlyVerifiedHeader(t *testing.T) {
	if testing.Short() {
		t.Skip("caddytest integration test")
	}
	config := `
http://localhost:` + strconv.Itoa(testHTTPPort) + ` {
	handle /shadow {
		webhook_verify github {
			secret ` + strconv.Quote(e2eGhDocsSecret) + `
			mode log_only
			replay off
		}
		reverse_proxy %[1]s
	}
	handle /shadow-marked {
		webhook_verify github {
			secret ` + strconv.Quote(e2eGhDocsSecret) + `
			mode log_only
			replay off
		}
		reverse_proxy %[1]s {
			header_up X-Webhook-Verified {http.webhook_verify.verified}
		}
	}
	handle /enforce {
		webhook_verify github {
			secret ` + strconv.Quote(e2eGhDocsSecret) + `
			replay off
		}
		reverse_proxy %[1]s
	}
}
`
	up, tc := fgRun(t, config, nil)
	forged := map[string]string{"X-Hub-Signature-256": "sha256=" + strings.Repeat("0", 64), "X-Webhook-Verified": "true", "Content-Type": "application/json"}
	genuine := map[string]string{"X-Hub-Signature-256": "sha256=" + e2eGhDocsSig, "X-Webhook-Verified": "false", "Content-Type": "text/plain"}
	for _, tt := range []struct {
		name, path string
		headers    map[string]string
		body, want string
	}{
		{"forged, no header_up", "/shadow", forged, "x", ""},
		{"forged, header_up", "/shadow-marked", forged, "x", "false"},
		{"genuine, no header_up", "/shadow", genuine, e2eGhDocsBody, ""},
		{"genuine, header_up", "/shadow-marked", genuine, e2eGhDocsBody, "true"},
		{"enforce, genuine (the provider's own headers pass)", "/enforce", genuine, e2eGhDocsBody, "false"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(up.requests(tt.path))
			status, body, _ := e2eDo(t, tc, "POST", tt.path, tt.headers, []byte(tt.body))
			if status != 200 {
				t.Fatalf("status %d (%q), want 200 (log_only forwards)", status, body)
			}
			got := up.requests(tt.path)
			if len(got) != before+1 {
				t.Fatalf("the upstream saw %d requests, want 1", len(got)-before)
			}
			if v := got[len(got)-1].header.Values("X-Webhook-Verified"); strings.Join(v, ",") != tt.want {
				t.Errorf("X-Webhook-Verified at the upstream %q, want %q", v, tt.want)
			}
		})
	}
}
