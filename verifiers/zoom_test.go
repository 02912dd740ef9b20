package verifiers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// Zoom publishes no signed example. The docs' endpoint.url_validation
// payload (https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint,
// plainToken "qgg8vlvZRS6UYooatFL8Aw") and a meeting.started event were
// signed with node's crypto, not the code under test:
//
//	node -e 'const c=require("crypto"); console.log(c.createHmac("sha256","Zm9vYmFyc2VjcmV0dG9rZW4").update("v0:1654503849:"+process.argv[1]).digest("hex"))' "$body"
//	node -e 'const c=require("crypto"); console.log(c.createHmac("sha256","Zm9vYmFyc2VjcmV0dG9rZW4").update("qgg8vlvZRS6UYooatFL8Aw").digest("hex"))'
const (
	zoomSecret      = "Zm9vYmFyc2VjcmV0dG9rZW4"
	zoomTS          = "1654503849"
	zoomValidation  = `{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}`
	zoomValidSig    = "5ceff7c464eafbe32bac501c65f598ca6310d50dd73977ac1a05441a9f2f2c0d"
	zoomEncrypted   = "5daa23410d6612ecfc2d3d0f255af688523accdcef494274793df42d7afb2eb8"
	zoomEvent       = `{"event":"meeting.started","payload":{"account_id":"AAAAAABBBB","object":{"id":"1234567890","uuid":"czLF6FFFoQOKgAB99DlDb9g==","host_id":"x1yCzABCDEfg23HiJKl4mN","topic":"My Meeting","type":2,"start_time":"2022-06-06T08:30:00Z","timezone":"America/Los_Angeles","duration":60}},"event_ts":1654503849680}`
	zoomEventSig    = "920e9932cf2ab51ddf46cf40ac911213367fec63090bb3be6954bb3fc55122eb"
	zoomOtherSecret = "another-secret-token"
)

func TestZoomVerify(t *testing.T) {
	now := time.Unix(1654503849, 0)
	hdr := func(ts, sig string) []string { return []string{"x-zm-request-timestamp", ts, "x-zm-signature", sig} }
	tests := []struct {
		name    string
		secrets []string
		body    string
		headers []string
		now     time.Time
		wantErr error
		reply   string
		key     int
	}{
		{name: "event", secrets: []string{zoomSecret}, body: zoomEvent, headers: hdr(zoomTS, "v0="+zoomEventSig), now: now},
		{name: "url validation answered", secrets: []string{zoomSecret}, body: zoomValidation, headers: hdr(zoomTS, "v0="+zoomValidSig), now: now,
			reply: `{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"` + zoomEncrypted + `"}`},
		{name: "url validation, second secret", secrets: []string{zoomOtherSecret, zoomSecret}, body: zoomValidation, headers: hdr(zoomTS, "v0="+zoomValidSig), now: now, key: 1,
			reply: `{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"` + zoomEncrypted + `"}`},
		{name: "forged url validation", secrets: []string{zoomSecret}, body: strings.Replace(zoomValidation, "qgg8", "qgg9", 1), headers: hdr(zoomTS, "v0="+zoomValidSig), now: now, wantErr: ErrSignature},
		{name: "unsigned url validation", secrets: []string{zoomSecret}, body: zoomValidation, headers: []string{"x-zm-request-timestamp", zoomTS}, now: now, wantErr: ErrMalformed},
		{name: "tampered event", secrets: []string{zoomSecret}, body: strings.Replace(zoomEvent, "My Meeting", "My Meetinh", 1), headers: hdr(zoomTS, "v0="+zoomEventSig), now: now, wantErr: ErrSignature},
		{name: "tampered timestamp", secrets: []string{zoomSecret}, body: zoomEvent, headers: hdr("1654503850", "v0="+zoomEventSig), now: now, wantErr: ErrSignature},
		{name: "stale", secrets: []string{zoomSecret}, body: zoomEvent, headers: hdr(zoomTS, "v0="+zoomEventSig), now: now.Add(5*time.Minute + time.Second), wantErr: ErrTimestamp},
		{name: "wrong secret", secrets: []string{zoomOtherSecret}, body: zoomEvent, headers: hdr(zoomTS, "v0="+zoomEventSig), now: now, wantErr: ErrSignature},
		{name: "no v0= prefix", secrets: []string{zoomSecret}, body: zoomEvent, headers: hdr(zoomTS, zoomEventSig), now: now, wantErr: ErrMalformed},
		{name: "no timestamp", secrets: []string{zoomSecret}, body: zoomEvent, headers: []string{"x-zm-signature", "v0=" + zoomEventSig}, now: now, wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New("zoom", Config{Secrets: tc.secrets})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(slackRequest(tc.body, tc.now, tc.headers...))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || res != nil {
					t.Fatalf("err = %v, res %+v; want %v", err, res, tc.wantErr)
				}
				for _, leak := range []string{zoomSecret, zoomEventSig[:16], zoomValidSig[:16], zoomEncrypted[:16]} {
					if strings.Contains(err.Error(), leak) {
						t.Fatalf("error %q leaks %q", err, leak)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Key != tc.key || !res.Timestamp.Equal(now) {
				t.Errorf("Key %d, Timestamp %v; want %d, %v", res.Key, res.Timestamp, tc.key, now)
			}
			switch {
			case tc.reply == "" && res.Reply != nil:
				t.Fatalf("an event got a Reply %+v", res.Reply)
			case tc.reply != "" && (res.Reply == nil || res.Reply.Body != tc.reply || res.Reply.Status != 200 || res.Reply.Header.Get("Content-Type") != "application/json"):
				t.Fatalf("Reply = %+v, want %s", res.Reply, tc.reply)
			}
		})
	}
}

func TestZoomURLValidationBounds(t *testing.T) {
	// Built with the code under test on purpose: the signature is not what
	// is tested here, the refusal of an unusable plainToken is.
	v, err := New("zoom", Config{Secrets: []string{zoomSecret}, Tolerance: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{
		`{"event":"endpoint.url_validation","payload":{}}`,
		`{"event":"endpoint.url_validation","payload":{"plainToken":12}}`,
		`{"event":"endpoint.url_validation","payload":{"plainToken":"` + strings.Repeat("a", zoomMaxToken+1) + `"}}`,
	} {
		sig := "v0=" + hexMAC(zoomSecret, "v0:"+zoomTS+":"+body)
		_, err := v.Verify(slackRequest(body, time.Now(), "x-zm-request-timestamp", zoomTS, "x-zm-signature", sig))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%.60s: err %v, want ErrMalformed", body, err)
		}
	}
}

func TestZoomConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"secret", Config{Secrets: []string{zoomSecret}}, true},
		{"tolerance", Config{Secrets: []string{zoomSecret}, Tolerance: time.Minute}, true},
		{"no secret", Config{}, false},
		{"url", Config{Secrets: []string{zoomSecret}, URL: "https://x/"}, false},
		{"verify_token", Config{Secrets: []string{zoomSecret}, VerifyToken: "t"}, false},
	} {
		if _, err := New("zoom", tc.cfg); (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// hexMAC is hex(HMAC-SHA256(key, msg)), for tests whose subject is not
// the signature (bounds of handshake values).
func hexMAC(key, msg string) string {
	return hex.EncodeToString(MAC(sha256.New, []byte(key), []byte(msg)))
}
