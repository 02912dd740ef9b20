package verifiers

import (
	"strings"
	"testing"
	"time"
)

// AutoSend publishes no test vector. The fixture was signed outside the
// code under test, with OpenSSL, and cross-checked with Node's crypto:
//
//	printf '%s' '<autosendBody>' | openssl dgst -sha256 -hmac 'as_test_secret_3b7c9d'
//	node -e 'console.log(require("crypto").createHmac("sha256","as_test_secret_3b7c9d").update(process.argv[1]).digest("hex"))' '<autosendBody>'
//
// (digest("base64") of the same gives autosendSigB64). The timestamp is the
// docs' example value, 1699790400000 ms.
const (
	autosendSecret   = "as_test_secret_3b7c9d"
	autosendBody     = `{"type":"email.opened","createdAt":"2023-11-12T12:00:00.000Z","data":{"emailId":"em_01HF3Z","recipient":"jane@example.com"}}`
	autosendSig      = "23e6775fd75acd1db8554234d48a49d4c3239a344c57d247248a8defb6a224ca"
	autosendSigB64   = "I+Z3X9dazR24VUI01IpJ1MMjmjRMV9JHJIqN77aiJMo="
	autosendTSms     = "1699790400000"
	autosendDelivery = "job_12345"
)

func TestAutoSendValid(t *testing.T) {
	ts := time.UnixMilli(1699790400000)
	sig := recipeTestHex(t, autosendSig)
	tests := []struct {
		name    string
		secrets []string
		tol     time.Duration
		req     *Request
		want    Result
	}{
		{"fixture, ms timestamp", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts, "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", autosendTSms,
				"X-Webhook-Delivery-Id", autosendDelivery, "X-Webhook-Event", "email.opened"),
			Result{ID: autosendDelivery, Signature: sig, Timestamp: ts}},
		{"seconds timestamp (older docs)", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts.Add(time.Minute), "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", "1699790400",
				"X-Webhook-Delivery-Id", autosendDelivery),
			Result{ID: autosendDelivery, Signature: sig, Timestamp: ts}},
		{"ms precision kept", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts, "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", "1699790400123"),
			Result{Signature: sig, Timestamp: time.UnixMilli(1699790400123)}},
		{"timestamp is not signed: any fresh value verifies", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts.Add(time.Hour), "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", "1699794000000"),
			Result{Signature: sig, Timestamp: ts.Add(time.Hour)}},
		{"no delivery id", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts, "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", autosendTSms),
			Result{Signature: sig, Timestamp: ts}},
		{"upper-case hex, second secret", []string{"as_new_secret", autosendSecret}, 0,
			recipeTestReq(autosendBody, ts, "X-Webhook-Signature", strings.ToUpper(autosendSig), "X-Webhook-Timestamp", autosendTSms),
			Result{Signature: hmacSHA256("as_new_secret", autosendBody), Timestamp: ts, Key: 1}},
		{"tolerance off", []string{autosendSecret}, -1,
			recipeTestReq(autosendBody, ts.AddDate(1, 0, 0), "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", autosendTSms),
			Result{Signature: sig, Timestamp: ts}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New("autosend", Config{Secrets: tt.secrets, Tolerance: tt.tol})
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(tt.req)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			recipeTestResult(t, got, tt.want)
			if recipeTestHasTS(t, v) {
				t.Fatal("HasTimestamp is true for an unsigned timestamp")
			}
		})
	}
}

func TestAutoSendInvalid(t *testing.T) {
	ts := time.UnixMilli(1699790400000)
	tests := []struct {
		name    string
		secrets []string
		tol     time.Duration
		req     *Request
		want    error
	}{
		{"tampered body", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody+"\n", ts, "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", autosendTSms), ErrSignature},
		{"wrong secret", []string{"as_test_secret_3b7c9e"}, 0,
			recipeTestReq(autosendBody, ts, "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", autosendTSms), ErrSignature},
		{"stale", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts.Add(5*time.Minute+time.Millisecond), "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", autosendTSms), ErrTimestamp},
		{"future", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts.Add(-5*time.Minute-time.Millisecond), "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", autosendTSms), ErrTimestamp},
		{"future beyond a 1 min tolerance", []string{autosendSecret}, time.Minute,
			recipeTestReq(autosendBody, ts.Add(-61*time.Second), "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", autosendTSms), ErrTimestamp},
		{"missing timestamp", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts, "X-Webhook-Signature", autosendSig), ErrMalformed},
		{"duplicated timestamp", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts, "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", autosendTSms, "X-Webhook-Timestamp", autosendTSms), ErrMalformed},
		{"ISO timestamp", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts, "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", "2023-11-12T12:00:00Z"), ErrMalformed},
		{"fractional timestamp", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts, "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", "1699790400.5"), ErrMalformed},
		{"microseconds (16 digits)", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts, "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", "1699790400000000"), ErrMalformed},
		{"missing signature", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts, "X-Webhook-Timestamp", autosendTSms), ErrMalformed},
		{"duplicated signature", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts, "X-Webhook-Signature", autosendSig, "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", autosendTSms), ErrMalformed},
		{"truncated signature", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts, "X-Webhook-Signature", autosendSig[:62], "X-Webhook-Timestamp", autosendTSms), ErrMalformed},
		{"base64 signature", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts, "X-Webhook-Signature", autosendSigB64, "X-Webhook-Timestamp", autosendTSms), ErrMalformed},
		{"prefixed signature", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts, "X-Webhook-Signature", "sha256="+autosendSig, "X-Webhook-Timestamp", autosendTSms), ErrMalformed},
		{"duplicated delivery id", []string{autosendSecret}, 0,
			recipeTestReq(autosendBody, ts, "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", autosendTSms,
				"X-Webhook-Delivery-Id", "a", "X-Webhook-Delivery-Id", "b"), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New("autosend", Config{Secrets: tt.secrets, Tolerance: tt.tol})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(tt.req)
			if res != nil {
				t.Fatalf("got a result %+v", *res)
			}
			recipeTestErr(t, err, tt.want, autosendSecret, autosendSig, autosendSigB64, autosendBody)
		})
	}
}

func TestAutoSendConfig(t *testing.T) {
	p, _ := LookupPreset("autosend")
	r := p.Recipe
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no secret", Config{}, "secret"},
		{"empty secret", Config{Secrets: []string{autosendSecret, ""}}, "secret 2"},
		{"hmac recipe", Config{Secrets: []string{autosendSecret}, HMAC: &r}, "hmac"},
		{"public_key", Config{Secrets: []string{autosendSecret}, PublicKeys: []PublicKey{{Key: "k"}}}, "public_key"},
		{"url", Config{Secrets: []string{autosendSecret}, URL: "https://example.com/"}, "url"},
		{"header", Config{Secrets: []string{autosendSecret}, Header: "X-Token"}, "header"},
		{"username", Config{Secrets: []string{autosendSecret}, Username: "u"}, "username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New("autosend", tt.cfg)
			if err == nil || v != nil {
				t.Fatalf("New = %T, %v; want nil and an error", v, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
			recipeTestNoLeak(t, err, autosendSecret)
		})
	}
}
