package verifiers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Vectors.
//
// Slack docs, "Verifying requests from Slack", the worked example
// (https://api.slack.com/authentication/verifying-requests-from-slack),
// also the fixture of github:slackapi/python-slack-sdk
// tests/slack_sdk/signature/test_signature_verifier.py
// @6337ddda4f839f5124459860fff2c3ce7f32bcd6 (whose MockClock pins now to the
// timestamp, and whose invalid-body case appends "------").
//
// github:slack-go/slack security_test.go @34ad5c052e446f58505ae8d81a2a72821de107cc:
// validSigningSecret, validBody, the v0 signature of newHeader(true), and the
// invalid secret and body of TestEnsure.
//
// Both reproduced with openssl, e.g.
//
//	printf '%s' 'v0:1531420618:token=...' | openssl sha256 -hmac 8f742231b10e8888abcd99yyyzzz85a5
const (
	slackDocsSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	slackDocsTS     = "1531420618"
	slackDocsBody   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	slackDocsSig    = "a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

	slackGoSecret      = "e6b19c573432dcc6b075501d51b51bb8"
	slackGoWrongSecret = "e6b19c573432dcc6b075501d51b51boo"
	slackGoTS          = "1531431954"
	slackGoBody        = `{"token":"aF5ynEYQH0dFN9imlgcADxDB","team_id":"XXXXXXXXX","api_app_id":"YYYYYYYYY","event":{"type":"app_mention","user":"AAAAAAAAA","text":"<@EEEEEEEEE> hello world","client_msg_id":"477cc591-ch73-a14z-4db8-g0cd76321bec","ts":"1531431954.000073","channel":"TTTTTTTTT","event_ts":"1531431954.000073"},"type":"event_callback","event_id":"TvBP7LRED7","event_time":1531431954,"authed_users":["EEEEEEEEE"]}`
	slackGoInvalidBody = `{"token":"12345678abcdefghlmnopqrs","team_id":"XXXXXXXXX","api_app_id":"YYYYYYYYY","event":{"type":"app_mention","user":"AAAAAAAAA","text":"<@EEEEEEEEE> hello world","client_msg_id":"477cc591-ch73-a14z-4db8-g0cd76321bec","ts":"1531431954.000073","channel":"TTTTTTTTT","event_ts":"1531431954.000073"},"type":"event_callback","event_id":"TvBP7LRED7","event_time":1531431954,"authed_users":["EEEEEEEEE"]}`
	slackGoSig         = "adada4ed31709aef585c2580ca3267678c6a8eaeb7e0c1aca3ee57b656886b2c"
)

func slackRequest(body string, now time.Time, kv ...string) *Request {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return &Request{Context: context.Background(), Method: http.MethodPost, Header: h, Body: []byte(body), Now: now}
}

func slackVerifyCases() []verifyCase {
	docs := []string{slackDocsSecret}
	docsNow := time.Unix(1531420618, 0)
	goNow := time.Unix(1531431954, 0)
	hdr := func(ts, sig string) []string {
		return []string{"X-Slack-Request-Timestamp", ts, "X-Slack-Signature", sig}
	}
	docsHdr := hdr(slackDocsTS, "v0="+slackDocsSig)

	return []verifyCase{
		{name: "docs vector", secrets: docs, body: slackDocsBody, headers: docsHdr, now: docsNow, wantSig: slackDocsSig, wantTS: 1531420618},
		{name: "python sdk: invalid body", secrets: docs, body: slackDocsBody + "------", headers: docsHdr, now: docsNow, wantErr: ErrSignature},
		{name: "python sdk: expired at the real clock", secrets: docs, body: slackDocsBody, headers: docsHdr, now: time.Now(), wantErr: ErrTimestamp},
		{name: "slack-go vector", secrets: []string{slackGoSecret}, body: slackGoBody, headers: hdr(slackGoTS, "v0="+slackGoSig), now: goNow, wantSig: slackGoSig, wantTS: 1531431954},
		{name: "slack-go invalid signing secret", secrets: []string{slackGoWrongSecret}, body: slackGoBody, headers: hdr(slackGoTS, "v0="+slackGoSig), now: goNow, wantErr: ErrSignature},
		{name: "slack-go invalid body", secrets: []string{slackGoSecret}, body: slackGoInvalidBody, headers: hdr(slackGoTS, "v0="+slackGoSig), now: goNow, wantErr: ErrSignature},
		{name: "rotation: second secret matches", secrets: []string{slackGoSecret, slackDocsSecret}, body: slackDocsBody, headers: docsHdr, now: docsNow, wantKey: 1, wantSig: slackDocsSig, wantTS: 1531420618},
		{name: "rotation: first secret matches", secrets: []string{slackGoSecret, slackDocsSecret}, body: slackGoBody, headers: hdr(slackGoTS, "v0="+slackGoSig), now: goNow, wantKey: 0, wantSig: slackGoSig, wantTS: 1531431954},
		{name: "upper-case hex", secrets: docs, body: slackDocsBody, headers: hdr(slackDocsTS, "v0="+strings.ToUpper(slackDocsSig)), now: docsNow, wantSig: slackDocsSig, wantTS: 1531420618},
		{name: "header names are case-insensitive", secrets: docs, body: slackDocsBody, headers: []string{"x-slack-request-timestamp", slackDocsTS, "x-slack-signature", "v0=" + slackDocsSig}, now: docsNow, wantSig: slackDocsSig, wantTS: 1531420618},

		// Timestamps.
		{name: "exactly 5 minutes old", secrets: docs, body: slackDocsBody, headers: docsHdr, now: docsNow.Add(5 * time.Minute), wantSig: slackDocsSig, wantTS: 1531420618},
		{name: "5 minutes and 1 second old", secrets: docs, body: slackDocsBody, headers: docsHdr, now: docsNow.Add(5*time.Minute + time.Second), wantErr: ErrTimestamp},
		{name: "exactly 5 minutes in the future", secrets: docs, body: slackDocsBody, headers: docsHdr, now: docsNow.Add(-5 * time.Minute), wantSig: slackDocsSig, wantTS: 1531420618},
		{name: "5 minutes and 1 second in the future", secrets: docs, body: slackDocsBody, headers: docsHdr, now: docsNow.Add(-5*time.Minute - time.Second), wantErr: ErrTimestamp},
		{name: "custom tolerance", secrets: docs, tol: 30 * time.Second, body: slackDocsBody, headers: docsHdr, now: docsNow.Add(31 * time.Second), wantErr: ErrTimestamp},
		{name: "tolerance off", secrets: docs, tol: -1, body: slackDocsBody, headers: docsHdr, now: time.Now(), wantSig: slackDocsSig, wantTS: 1531420618},
		{name: "tampered timestamp", secrets: docs, body: slackDocsBody, headers: hdr("1531420619", "v0="+slackDocsSig), now: docsNow, wantErr: ErrSignature},
		{name: "timestamp not a number", secrets: docs, body: slackDocsBody, headers: hdr("yesterday", "v0="+slackDocsSig), now: docsNow, wantErr: ErrMalformed},
		{name: "timestamp in milliseconds", secrets: docs, body: slackDocsBody, headers: hdr(slackDocsTS+"000", "v0="+slackDocsSig), now: docsNow, wantErr: ErrMalformed},
		{name: "fractional timestamp", secrets: docs, body: slackDocsBody, headers: hdr(slackDocsTS+".5", "v0="+slackDocsSig), now: docsNow, wantErr: ErrMalformed},

		// Metadata.
		{name: "missing timestamp", secrets: docs, body: slackDocsBody, headers: []string{"X-Slack-Signature", "v0=" + slackDocsSig}, now: docsNow, wantErr: ErrMalformed},
		{name: "missing signature", secrets: docs, body: slackDocsBody, headers: []string{"X-Slack-Request-Timestamp", slackDocsTS}, now: docsNow, wantErr: ErrMalformed},
		{name: "empty signature (slack-go newHeader(false))", secrets: docs, body: slackDocsBody, headers: hdr(slackDocsTS, ""), now: docsNow, wantErr: ErrMalformed},
		{name: "duplicated signature", secrets: docs, body: slackDocsBody, headers: append(hdr(slackDocsTS, "v0="+slackDocsSig), "X-Slack-Signature", "v0="+slackDocsSig), now: docsNow, wantErr: ErrMalformed},
		{name: "duplicated timestamp", secrets: docs, body: slackDocsBody, headers: append(hdr(slackDocsTS, "v0="+slackDocsSig), "X-Slack-Request-Timestamp", slackDocsTS), now: docsNow, wantErr: ErrMalformed},
		{name: "unknown version", secrets: docs, body: slackDocsBody, headers: hdr(slackDocsTS, "v1="+slackDocsSig), now: docsNow, wantErr: ErrMalformed},
		{name: "no version prefix", secrets: docs, body: slackDocsBody, headers: hdr(slackDocsTS, slackDocsSig), now: docsNow, wantErr: ErrMalformed},
		{name: "bolt-js invalid-signature", secrets: docs, body: slackDocsBody, headers: hdr(slackDocsTS, "v0=invalid-signature"), now: docsNow, wantErr: ErrMalformed},
		{name: "truncated to odd length", secrets: docs, body: slackDocsBody, headers: hdr(slackDocsTS, "v0="+slackDocsSig[:63]), now: docsNow, wantErr: ErrMalformed},
		{name: "truncated to 31 bytes", secrets: docs, body: slackDocsBody, headers: hdr(slackDocsTS, "v0="+slackDocsSig[:62]), now: docsNow, wantErr: ErrSignature},
		{name: "wrong secret", secrets: []string{"8f742231b10e8888abcd99yyyzzz85a6"}, body: slackDocsBody, headers: docsHdr, now: docsNow, wantErr: ErrSignature},
	}
}

// Slack's url_verification request: the payload of the Events API docs
// (https://api.slack.com/events/url_verification), signed with the docs'
// signing secret at the docs' timestamp by node's crypto, not by the code
// under test:
//
//	node -e 'const c=require("crypto");console.log(c.createHmac("sha256","8f742231b10e8888abcd99yyyzzz85a5").update("v0:1531420618:"+process.argv[1]).digest("hex"))' "$body"
const (
	slackURLVerificationBody = `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`
	slackURLVerificationSig  = "f9bd80929259f3f6d5fe3a3186c453c89cd1ad4862815a15837584f31c993652"
)

func TestSlackURLVerification(t *testing.T) {
	v, err := New("slack", Config{Secrets: []string{slackDocsSecret}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1531420618, 0)
	hdr := func(sig string) []string {
		return []string{"X-Slack-Request-Timestamp", slackDocsTS, "X-Slack-Signature", "v0=" + sig, "Content-Type", "application/json"}
	}
	res, err := v.Verify(slackRequest(slackURLVerificationBody, now, hdr(slackURLVerificationSig)...))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if res.Reply == nil {
		t.Fatal("a verified url_verification has no Reply")
	}
	if res.Reply.Status != 200 || res.Reply.Header.Get("Content-Type") != "application/json" ||
		res.Reply.Body != `{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}` {
		t.Errorf("Reply = %+v", res.Reply)
	}

	// Forged: the challenge changed, the signature kept.
	forged := strings.Replace(slackURLVerificationBody, "3eZbrw1a", "3eZbrw1b", 1)
	if res, err := v.Verify(slackRequest(forged, now, hdr(slackURLVerificationSig)...)); !errors.Is(err, ErrSignature) || res != nil {
		t.Fatalf("forged url_verification: %v, %+v; want ErrSignature", err, res)
	}
	// Stale: refused before any answer.
	if _, err := v.Verify(slackRequest(slackURLVerificationBody, now.Add(time.Hour), hdr(slackURLVerificationSig)...)); !errors.Is(err, ErrTimestamp) {
		t.Fatalf("stale url_verification: %v, want ErrTimestamp", err)
	}
	// An ordinary delivery (the docs' slash command) is not a handshake.
	res, err = v.Verify(slackRequest(slackDocsBody, now, "X-Slack-Request-Timestamp", slackDocsTS, "X-Slack-Signature", "v0="+slackDocsSig))
	if err != nil || res.Reply != nil {
		t.Fatalf("slash command: %v, Reply %+v; want a delivery", err, res)
	}
}

func TestSlackChallenge(t *testing.T) {
	for _, tc := range []struct {
		body string
		want string
		ok   bool
		err  error
	}{
		{`{"type":"url_verification","challenge":"abc"}`, "abc", true, nil},
		{`{"type":"event_callback","challenge":"abc","event":{"text":"url_verification"}}`, "", false, nil},
		{`{"type":"url_verification"}`, "", false, ErrMalformed},
		{`{"type":"url_verification","challenge":7}`, "", false, ErrMalformed},
		{`{"type":"url_verification","challenge":"` + strings.Repeat("a", slackMaxChallenge+1) + `"}`, "", false, ErrMalformed},
		{`type=url_verification&challenge=abc`, "", false, nil},
	} {
		got, ok, err := slackChallenge([]byte(tc.body))
		if got != tc.want || ok != tc.ok || !errors.Is(err, tc.err) {
			t.Errorf("slackChallenge(%.40q) = %q, %v, %v; want %q, %v, %v", tc.body, got, ok, err, tc.want, tc.ok, tc.err)
		}
	}
}
