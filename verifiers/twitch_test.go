package verifiers

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The notification vector of the twitch_api2 crate's verify_request test
// (src/eventsub/mod.rs; the crate now lives at github:twitch-rs/twitch_api):
// secret "secretabcd", message id, timestamp 2021-02-19T23:47:00.8091512Z,
// the 458-byte channel.follow body and its signature d10f5bd9..., reproduced
// with node before being copied here. The same crate's verification
// request body (test_verification_response, compacted) was signed with
// node's crypto, not the code under test:
//
//	node -e 'console.log(require("crypto").createHmac("sha256","secretabcd").update("e76c6bd4-55c9-4987-8304-da1588d8988b"+"2019-11-16T10:11:12.123Z"+process.argv[1]).digest("hex"))' "$body"
//
// The revocation body is the example of Twitch's "Revoking your
// subscription" (dev.twitch.tv/docs/eventsub/handling-webhook-events,
// compacted), and the two odd bodies are made up; all three signed by
// node with the id and timestamp below:
//
//	node -e 'console.log(require("crypto").createHmac("sha256","secretabcd").update("84c1e79a-2a4b-4c13-ba0b-4312293e9308"+"2019-11-16T10:11:12.634234626Z"+process.argv[1]).digest("hex"))' "$body"
const (
	twitchSecret   = "secretabcd"
	twitchID       = "ae2ff348-e102-16be-a3eb-6830c1bf38d2"
	twitchTS       = "2021-02-19T23:47:00.8091512Z"
	twitchBody     = `{"subscription":{"id":"ae2ff348-e102-16be-a3eb-6830c1bf38d2","status":"enabled","type":"channel.follow","version":"1","condition":{"broadcaster_user_id":"44429626"},"transport":{"method":"webhook","callback":"null"},"created_at":"2021-02-19T23:47:00.7621315Z"},"event":{"user_id":"28408015","user_login":"testFromUser","user_name":"testFromUser","broadcaster_user_id":"44429626","broadcaster_user_login":"44429626","broadcaster_user_name":"testBroadcaster"}}`
	twitchSig      = "d10f5bd9474b7ac7bd7105eb79c2d52768b4d0cd2a135982c3bf5a1d59a78823"
	twitchVerID    = "e76c6bd4-55c9-4987-8304-da1588d8988b"
	twitchVerTS    = "2019-11-16T10:11:12.123Z"
	twitchVerBody  = `{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"webhook_callback_verification_pending","type":"channel.follow","version":"1","cost":1,"condition":{"broadcaster_user_id":"12826"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2019-11-16T10:11:12.123Z"}}`
	twitchVerSig   = "84609d21bec5008d0b4ea06c72c38cfa7c59e16102ed98cbc9ba0d7e4f27b391"
	twitchChallVal = "pogchamp-kappa-360noscope-vohiyo"
	twitchRevID    = "84c1e79a-2a4b-4c13-ba0b-4312293e9308"
	twitchRevTS    = "2019-11-16T10:11:12.634234626Z"
	twitchRevBody  = `{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"authorization_revoked","type":"channel.follow","cost":1,"version":"1","condition":{"broadcaster_user_id":"12826"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2019-11-16T10:11:12.634234626Z"}}`
	twitchRevSig   = "11ec3b13f6de07a98300c1f700d2587eee6b05033a6eca65312eff387e0a9dd0"
	// A challenge with the status enabled, and a body of no kind.
	twitchOddChallBody = `{"challenge":"abc","subscription":{"id":"x","status":"enabled","type":"channel.follow"}}`
	twitchOddChallSig  = "b604416da2b4a9b9854fcfa71ed24d6cb65c6997f842c9f85be5c678a8c8f5f0"
	twitchNoKindBody   = `{"subscription":{"id":"x","status":"enabled","type":"channel.follow"}}`
	twitchNoKindSig    = "fcccb00ab96b12ad4dfd7d1817c3bd38bbabbd0a89ae005c60ca9d210175a065"
)

func TestTwitchVerify(t *testing.T) {
	now, _ := time.Parse(time.RFC3339Nano, twitchTS)
	verNow, _ := time.Parse(time.RFC3339Nano, twitchVerTS)
	h := func(id, ts, sig, typ string) []string {
		return []string{"Twitch-Eventsub-Message-Id", id, "Twitch-Eventsub-Message-Timestamp", ts,
			"Twitch-Eventsub-Message-Signature", sig, "Twitch-Eventsub-Message-Type", typ, "Twitch-Eventsub-Message-Retry", "0"}
	}
	note := h(twitchID, twitchTS, "sha256="+twitchSig, "notification")
	verNote := func(typ string) []string { return h(twitchVerID, twitchVerTS, "sha256="+twitchVerSig, typ) }
	rev := func(sig, typ string) []string { return h(twitchRevID, twitchRevTS, "sha256="+sig, typ) }
	revNow, _ := time.Parse(time.RFC3339Nano, twitchRevTS)
	tests := []struct {
		name    string
		secrets []string
		body    string
		headers []string
		now     time.Time
		tol     time.Duration
		wantErr error
		reply   bool
		key     int
	}{
		{name: "twitch_api2 notification", secrets: []string{twitchSecret}, body: twitchBody, headers: note, now: now},
		{name: "revocation is forwarded", secrets: []string{twitchSecret}, body: twitchRevBody, headers: rev(twitchRevSig, "revocation"), now: revNow},
		// The kind is the signed body's; an unsigned header that says
		// otherwise is refused (issue 13, item 5).
		{name: "verification relabelled as notification", secrets: []string{twitchSecret}, body: twitchVerBody, headers: verNote("notification"), now: verNow, wantErr: ErrMalformed},
		{name: "verification relabelled as revocation", secrets: []string{twitchSecret}, body: twitchVerBody, headers: verNote("revocation"), now: verNow, wantErr: ErrMalformed},
		{name: "notification relabelled as revocation", secrets: []string{twitchSecret}, body: twitchBody, headers: h(twitchID, twitchTS, "sha256="+twitchSig, "revocation"), now: now, wantErr: ErrMalformed},
		{name: "revocation relabelled as notification", secrets: []string{twitchSecret}, body: twitchRevBody, headers: rev(twitchRevSig, "notification"), now: revNow, wantErr: ErrMalformed},
		{name: "revocation relabelled as verification", secrets: []string{twitchSecret}, body: twitchRevBody, headers: rev(twitchRevSig, "webhook_callback_verification"), now: revNow, wantErr: ErrMalformed},
		{name: "unknown type", secrets: []string{twitchSecret}, body: twitchBody, headers: h(twitchID, twitchTS, "sha256="+twitchSig, "Notification"), now: now, wantErr: ErrMalformed},
		{name: "challenge with status enabled", secrets: []string{twitchSecret}, body: twitchOddChallBody, headers: rev(twitchOddChallSig, "webhook_callback_verification"), now: revNow, wantErr: ErrMalformed},
		{name: "challenge with status enabled as notification", secrets: []string{twitchSecret}, body: twitchOddChallBody, headers: rev(twitchOddChallSig, "notification"), now: revNow, wantErr: ErrMalformed},
		{name: "body of no kind", secrets: []string{twitchSecret}, body: twitchNoKindBody, headers: rev(twitchNoKindSig, "notification"), now: revNow, wantErr: ErrMalformed},
		{name: "body of no kind as revocation", secrets: []string{twitchSecret}, body: twitchNoKindBody, headers: rev(twitchNoKindSig, "revocation"), now: revNow, wantErr: ErrMalformed},
		{name: "rotation", secrets: []string{"old-secret", twitchSecret}, body: twitchBody, headers: note, now: now, key: 1},
		{name: "verification answered", secrets: []string{twitchSecret}, body: twitchVerBody, headers: h(twitchVerID, twitchVerTS, "sha256="+twitchVerSig, "webhook_callback_verification"), now: verNow, reply: true},
		{name: "forged verification", secrets: []string{twitchSecret}, body: strings.Replace(twitchVerBody, "pogchamp", "pogchomp", 1), headers: h(twitchVerID, twitchVerTS, "sha256="+twitchVerSig, "webhook_callback_verification"), now: verNow, wantErr: ErrSignature},
		{name: "notification relabelled as verification", secrets: []string{twitchSecret}, body: twitchBody, headers: h(twitchID, twitchTS, "sha256="+twitchSig, "webhook_callback_verification"), now: now, wantErr: ErrMalformed},
		{name: "tampered body", secrets: []string{twitchSecret}, body: strings.Replace(twitchBody, "testFromUser", "testFromUsex", 1), headers: note, now: now, wantErr: ErrSignature},
		{name: "tampered id", secrets: []string{twitchSecret}, body: twitchBody, headers: h("ae2ff348-e102-16be-a3eb-6830c1bf38d3", twitchTS, "sha256="+twitchSig, "notification"), now: now, wantErr: ErrSignature},
		{name: "9 minutes old", secrets: []string{twitchSecret}, body: twitchBody, headers: note, now: now.Add(9 * time.Minute)},
		{name: "11 minutes old", secrets: []string{twitchSecret}, body: twitchBody, headers: note, now: now.Add(11 * time.Minute), wantErr: ErrTimestamp},
		{name: "custom tolerance", secrets: []string{twitchSecret}, body: twitchBody, headers: note, now: now.Add(2 * time.Minute), tol: time.Minute, wantErr: ErrTimestamp},
		{name: "unix timestamp", secrets: []string{twitchSecret}, body: twitchBody, headers: h(twitchID, "1613778420", "sha256="+twitchSig, "notification"), now: now, wantErr: ErrMalformed},
		{name: "lower-case t", secrets: []string{twitchSecret}, body: twitchBody, headers: h(twitchID, strings.Replace(twitchTS, "T", "t", 1), "sha256="+twitchSig, "notification"), now: now, wantErr: ErrMalformed},
		{name: "id with a space", secrets: []string{twitchSecret}, body: twitchBody, headers: h("a b", twitchTS, "sha256="+twitchSig, "notification"), now: now, wantErr: ErrMalformed},
		{name: "no type", secrets: []string{twitchSecret}, body: twitchBody, headers: note[:6], now: now, wantErr: ErrMalformed},
		{name: "no prefix", secrets: []string{twitchSecret}, body: twitchBody, headers: h(twitchID, twitchTS, twitchSig, "notification"), now: now, wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New("twitch", Config{Secrets: tc.secrets, Tolerance: tc.tol})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(slackRequest(tc.body, tc.now, tc.headers...))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || res != nil {
					t.Fatalf("err %v, res %+v; want %v", err, res, tc.wantErr)
				}
				if strings.Contains(err.Error(), twitchSig[:16]) || strings.Contains(err.Error(), twitchSecret) {
					t.Fatalf("error %q leaks", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Key != tc.key || res.SignedID == "" || res.SignedID != res.ID {
				t.Errorf("result %+v", res)
			}
			if tc.reply != (res.Reply != nil) {
				t.Fatalf("Reply %+v, want one: %v", res.Reply, tc.reply)
			}
			if tc.reply && (res.Reply.Body != twitchChallVal || !strings.HasPrefix(res.Reply.Header.Get("Content-Type"), "text/plain")) {
				t.Errorf("Reply %+v", res.Reply)
			}
		})
	}
}

func BenchmarkTwitchVerify(b *testing.B) {
	v, err := New("twitch", Config{Secrets: []string{twitchSecret}, Tolerance: -1})
	if err != nil {
		b.Fatal(err)
	}
	r := slackRequest(twitchBody, time.Now(), "Twitch-Eventsub-Message-Id", twitchID, "Twitch-Eventsub-Message-Timestamp", twitchTS,
		"Twitch-Eventsub-Message-Signature", "sha256="+twitchSig, "Twitch-Eventsub-Message-Type", "notification")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSignTwitchKind: the signer names the body's kind in
// Twitch-Eventsub-Message-Type (so its deliveries pass the gate), and
// refuses a body of no kind.
func TestSignTwitchKind(t *testing.T) {
	now, _ := time.Parse(time.RFC3339Nano, twitchVerTS)
	for body, want := range map[string]string{twitchBody: "notification", twitchVerBody: "webhook_callback_verification", twitchRevBody: "revocation"} {
		s, err := Sign("twitch", SignRequest{Secret: twitchSecret, Body: []byte(body), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Header.Get("Twitch-Eventsub-Message-Type"); got != want {
			t.Errorf("type %q, want %q", got, want)
		}
		if _, err := signVerify(t, "twitch", Config{Secrets: []string{twitchSecret}}, "", s, now); err != nil {
			t.Errorf("%s: %v", want, err)
		}
	}
	if _, err := Sign("twitch", SignRequest{Secret: twitchSecret, Body: []byte(`{"id":"evt_1"}`), Now: now}); err == nil {
		t.Error("a body of no kind was signed")
	}
}
