package verifiers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// ---- shared test helpers of the hmac family (recipe, shopify, paddle,
// maildesk, autosend); prefixed to stay clear of other providers' tests.

// recipeTestReq builds a Request; kv are header name/value pairs, added in
// order (so a name given twice is a duplicated header).
func recipeTestReq(body string, now time.Time, kv ...string) *Request {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return &Request{
		Context: context.Background(),
		Method:  http.MethodPost,
		URL:     &url.URL{Scheme: "https", Host: "example.com", Path: "/webhook"},
		Header:  h,
		Body:    []byte(body),
		Now:     now,
	}
}

// hmacSHA256 is the HMAC-SHA256 of the concatenated parts, from the
// standard library: the replay material a list-form HMAC verifier reports
// is the MAC under the first configured secret.
func hmacSHA256(secret string, parts ...string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func recipeTestHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex fixture: %v", err)
	}
	return b
}

func recipeTestB64(t *testing.T, enc *base64.Encoding, s string) []byte {
	t.Helper()
	b, err := enc.DecodeString(s)
	if err != nil {
		t.Fatalf("bad base64 fixture: %v", err)
	}
	return b
}

var recipeTestSentinels = []error{ErrMalformed, ErrTimestamp, ErrSignature, ErrCredentials, ErrUnavailable}

// recipeTestErr asserts that err wraps want and no other sentinel, and that
// its text reveals none of the given secrets, signatures or body.
func recipeTestErr(t *testing.T, err, want error, leaks ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", want)
	}
	for _, s := range recipeTestSentinels {
		if got := errors.Is(err, s); got != (s == want) {
			t.Fatalf("error %q: errors.Is(%v) = %v", err, s, got)
		}
	}
	recipeTestNoLeak(t, err, leaks...)
}

func recipeTestNoLeak(t *testing.T, err error, leaks ...string) {
	t.Helper()
	for _, l := range leaks {
		if len(l) >= 6 && strings.Contains(err.Error(), l) {
			t.Fatalf("error %q leaks %q", err, l)
		}
	}
}

// recipeTestResult compares the fields of a Result.
func recipeTestResult(t *testing.T, got *Result, want Result) {
	t.Helper()
	if got == nil {
		t.Fatal("nil result")
	}
	if got.ID != want.ID || got.SignedID != want.SignedID || got.Key != want.Key ||
		!got.Timestamp.Equal(want.Timestamp) || !bytes.Equal(got.Signature, want.Signature) || got.Act != nil {
		t.Fatalf("result = %+v, want %+v", *got, want)
	}
}

func recipeTestHasTS(t *testing.T, v Verifier) bool {
	t.Helper()
	ts, ok := v.(Timestamped)
	if !ok {
		t.Fatalf("%T does not implement Timestamped", v)
	}
	return ts.HasTimestamp()
}

// ---- fixtures

// GitHub: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
// ("Testing the webhook payload validation"): secret "It's a Secret to
// Everybody", payload "Hello, World!" -> sha256=757107ea....
const (
	rcGhSecret   = "It's a Secret to Everybody"
	rcGhBody     = "Hello, World!"
	rcGhSig256   = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	rcGhDelivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
	// The docs give no vector for the legacy X-Hub-Signature (sha1); this one
	// was made independently of the code under test with:
	//   printf 'Hello, World!' | openssl dgst -sha1 -hmac "It's a Secret to Everybody"
	rcGhSig1 = "01dc10d0c83e72ed246219cdd91669667fe2ca59"
)

// Stripe: github:stripe/stripe-dotnet src/StripeTests/Services/Events/EventUtilityTest.cs
// @04a2fb3d77ba9e6ec1b85defe52c9f2fb98785b4 (secret "webhook_secret",
// t=1533204620, v1 and v0 values) and the signed body
// src/StripeTests/Resources/event_test_signature.json
// @946a38088f3546e0e50437c72f2898e398cb40ef (with its final newline, LF line
// ends). Reproduced with the command given in that test:
//
//	(echo -n "1533204620." && cat event_test_signature.json) | openssl sha256 -hmac "webhook_secret"
const (
	rcStripeSecret = "webhook_secret"
	rcStripeTS     = 1533204620
	rcStripeV1     = "2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7"
	rcStripeV0     = "63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef"
	rcStripeHeader = "t=1533204620,v1=" + rcStripeV1 + ",v0=" + rcStripeV0
)

// Standard Webhooks: github:standard-webhooks/standard-webhooks
// libraries/go/webhook_test.go TestWebhookSign @f291c226dc31ec448ad83b560ba2bb6e91a2485a.
const (
	rcSwSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	rcSwID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	rcSwTS     = 1614265330
	rcSwBody   = `{"test": 2432232314}`
	rcSwSig    = "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// A synthetic scheme exercising sha512, base64url, a base64 secret, {id},
// a millisecond timestamp and literal text. Signed independently with:
//
//	printf 'v2|dlv_0001|1700000000123|{"ok":true}' \
//	  | openssl dgst -sha512 -hmac secret-key-for-tests -binary | base64 -w0 | tr '+/' '-_' | tr -d '='
const (
	rcX5Secret = "c2VjcmV0LWtleS1mb3ItdGVzdHM=" // base64("secret-key-for-tests")
	rcX5ID     = "dlv_0001"
	rcX5TS     = "1700000000123"
	rcX5Body   = `{"ok":true}`
	rcX5Sig    = "ZWsysspnb2Y0x93VPKwspWXHyGFSxsYC_nSl2NRc_q4mb1it1dKF-ulsbzmuGhOu9E78t_9NvECi2XRr3cEE6Q"
)

// ---- recipes a user would write for these schemes

var (
	recipeGitHub  = HMACRecipe{SignatureHeader: "X-Hub-Signature-256", Prefix: "sha256=", IDHeader: "X-GitHub-Delivery"}
	recipeGitHub1 = HMACRecipe{SignatureHeader: "X-Hub-Signature", Prefix: "sha1=", Hash: "sha1"}
	recipeStripe  = HMACRecipe{
		SignatureHeader: "Stripe-Signature", Separator: ",", Prefix: "v1=", TimestampKey: "t=",
		Content: "{timestamp}.{body}",
	}
	recipeStandard = HMACRecipe{
		SignatureHeader: "webhook-signature", Separator: " ", Prefix: "v1,",
		Encoding: "base64", SecretEncoding: "whsec", Content: "{id}.{timestamp}.{body}",
		TimestampHeader: "webhook-timestamp", IDHeader: "webhook-id",
	}
	recipeX5 = HMACRecipe{
		SignatureHeader: "X-Sig", Prefix: "sha512=", Hash: "sha512", Encoding: "base64url",
		SecretEncoding: "base64", Content: "v2|{id}|{timestamp}|{body}",
		TimestampHeader: "X-Ts", TimestampUnit: "ms", IDHeader: "X-Id",
	}
)

// with returns a copy of r changed by f.
func (r HMACRecipe) with(f func(*HMACRecipe)) HMACRecipe {
	f(&r)
	return r
}

func newRecipeForTest(t *testing.T, r HMACRecipe, tol time.Duration, secrets ...string) Verifier {
	t.Helper()
	v, err := New("hmac", Config{Secrets: secrets, HMAC: &r, Tolerance: tol})
	if err != nil {
		t.Fatalf("New(hmac): %v", err)
	}
	return v
}

func TestRecipeValid(t *testing.T) {
	stripeNow := time.Unix(rcStripeTS+100, 0)
	swNow := time.Unix(rcSwTS, 0)
	x5Now := time.UnixMilli(1700000000123)
	tests := []struct {
		name    string
		recipe  HMACRecipe
		secrets []string
		tol     time.Duration
		req     *Request
		want    Result
		hasTS   bool
	}{
		{
			name: "github docs vector", recipe: recipeGitHub, secrets: []string{rcGhSecret},
			req:  recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature-256", "sha256="+rcGhSig256, "X-GitHub-Delivery", rcGhDelivery),
			want: Result{ID: rcGhDelivery, Signature: recipeTestHex(t, rcGhSig256)},
		},
		{
			name: "github without delivery id", recipe: recipeGitHub, secrets: []string{rcGhSecret},
			req:  recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature-256", "sha256="+rcGhSig256),
			want: Result{Signature: recipeTestHex(t, rcGhSig256)},
		},
		{
			name: "github upper-case hex", recipe: recipeGitHub, secrets: []string{rcGhSecret},
			req:  recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature-256", "sha256="+strings.ToUpper(rcGhSig256)),
			want: Result{Signature: recipeTestHex(t, rcGhSig256)},
		},
		{
			name: "github rotation: second secret matches", recipe: recipeGitHub, secrets: []string{"new secret", rcGhSecret},
			req:  recipeTestReq(rcGhBody, time.Now(), "x-hub-signature-256", "sha256="+rcGhSig256),
			want: Result{Signature: hmacSHA256("new secret", rcGhBody), Key: 1},
		},
		{
			name:    "checked but unsigned timestamp: HasTimestamp is false",
			recipe:  recipeGitHub.with(func(r *HMACRecipe) { r.TimestampHeader = "X-Ts" }),
			secrets: []string{rcGhSecret},
			req:     recipeTestReq(rcGhBody, time.Unix(1700000060, 0), "X-Hub-Signature-256", "sha256="+rcGhSig256, "X-Ts", "1700000000"),
			want:    Result{Signature: recipeTestHex(t, rcGhSig256), Timestamp: time.Unix(1700000000, 0)},
		},
		{
			name: "github legacy sha1", recipe: recipeGitHub1, secrets: []string{rcGhSecret},
			req:  recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature", "sha1="+rcGhSig1),
			want: Result{Signature: recipeTestHex(t, rcGhSig1)},
		},
		{
			name: "stripe dotnet vector", recipe: recipeStripe, secrets: []string{rcStripeSecret},
			req:   recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", rcStripeHeader),
			want:  Result{Signature: recipeTestHex(t, rcStripeV1), Timestamp: time.Unix(rcStripeTS, 0)},
			hasTS: true,
		},
		{
			name: "stripe: bad v1 first, unknown and undecodable entries ignored", recipe: recipeStripe,
			secrets: []string{"whsec_other", rcStripeSecret},
			req: recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature",
				"v1="+strings.Repeat("de", 32)+", v1=zz ,t=1533204620,,v9=x,v1="+rcStripeV1+",v0="+rcStripeV0),
			want:  Result{Signature: hmacSHA256("whsec_other", fmt.Sprint(rcStripeTS), ".", stripeDotnetBody), Timestamp: time.Unix(rcStripeTS, 0), Key: 1},
			hasTS: true,
		},
		{
			name: "stripe at exactly the tolerance (old side)", recipe: recipeStripe, secrets: []string{rcStripeSecret},
			req:   recipeTestReq(stripeDotnetBody, time.Unix(rcStripeTS+300, 0), "Stripe-Signature", rcStripeHeader),
			want:  Result{Signature: recipeTestHex(t, rcStripeV1), Timestamp: time.Unix(rcStripeTS, 0)},
			hasTS: true,
		},
		{
			name: "stripe at exactly the tolerance (future side)", recipe: recipeStripe, secrets: []string{rcStripeSecret},
			req:   recipeTestReq(stripeDotnetBody, time.Unix(rcStripeTS-300, 0), "Stripe-Signature", rcStripeHeader),
			want:  Result{Signature: recipeTestHex(t, rcStripeV1), Timestamp: time.Unix(rcStripeTS, 0)},
			hasTS: true,
		},
		{
			name: "stripe, tolerance off: years old passes", recipe: recipeStripe, secrets: []string{rcStripeSecret}, tol: -1,
			req:  recipeTestReq(stripeDotnetBody, time.Unix(rcStripeTS, 0).AddDate(5, 0, 0), "Stripe-Signature", rcStripeHeader),
			want: Result{Signature: recipeTestHex(t, rcStripeV1), Timestamp: time.Unix(rcStripeTS, 0)},
		},
		{
			name:    "stripe, timestamp_unit auto reads 10 digits as seconds",
			recipe:  recipeStripe.with(func(r *HMACRecipe) { r.TimestampUnit = "auto" }),
			secrets: []string{rcStripeSecret},
			req:     recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", rcStripeHeader),
			want:    Result{Signature: recipeTestHex(t, rcStripeV1), Timestamp: time.Unix(rcStripeTS, 0)},
			hasTS:   true,
		},
		{
			name:    "stripe with a timestamp header equal to t",
			recipe:  recipeStripe.with(func(r *HMACRecipe) { r.TimestampHeader = "X-Ts" }),
			secrets: []string{rcStripeSecret},
			req:     recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", rcStripeHeader, "X-Ts", "1533204620"),
			want:    Result{Signature: recipeTestHex(t, rcStripeV1), Timestamp: time.Unix(rcStripeTS, 0)},
			hasTS:   true,
		},
		{
			// The v1a (Ed25519) entry is a placeholder: it must be skipped.
			name: "standard webhooks vector", recipe: recipeStandard, secrets: []string{rcSwSecret},
			req: recipeTestReq(rcSwBody, swNow, "webhook-id", rcSwID, "webhook-timestamp", "1614265330",
				"webhook-signature", "v1a,"+strings.Repeat("A", 86)+"== v1,"+rcSwSig),
			want:  Result{ID: rcSwID, SignedID: rcSwID, Signature: recipeTestB64(t, base64.StdEncoding, rcSwSig), Timestamp: time.Unix(rcSwTS, 0)},
			hasTS: true,
		},
		{
			name:    "standard webhooks, unpadded signature, bare base64 secret",
			recipe:  recipeStandard.with(func(r *HMACRecipe) { r.SecretEncoding = "base64" }),
			secrets: []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
			req: recipeTestReq(rcSwBody, swNow, "webhook-id", rcSwID, "webhook-timestamp", "1614265330",
				"webhook-signature", "v1,"+strings.TrimRight(rcSwSig, "=")),
			want:  Result{ID: rcSwID, SignedID: rcSwID, Signature: recipeTestB64(t, base64.StdEncoding, rcSwSig), Timestamp: time.Unix(rcSwTS, 0)},
			hasTS: true,
		},
		{
			name: "sha512 base64url base64-secret ms timestamp", recipe: recipeX5, secrets: []string{rcX5Secret},
			req:   recipeTestReq(rcX5Body, x5Now, "X-Sig", "sha512="+rcX5Sig, "X-Ts", rcX5TS, "X-Id", rcX5ID),
			want:  Result{ID: rcX5ID, SignedID: rcX5ID, Signature: recipeTestB64(t, base64.RawURLEncoding, rcX5Sig), Timestamp: x5Now},
			hasTS: true,
		},
		{
			name:    "sha512 fixture, timestamp_unit auto reads 13 digits as ms",
			recipe:  recipeX5.with(func(r *HMACRecipe) { r.TimestampUnit = "auto" }),
			secrets: []string{rcX5Secret},
			req:     recipeTestReq(rcX5Body, x5Now, "X-Sig", "sha512="+rcX5Sig+"==", "X-Ts", rcX5TS, "X-Id", rcX5ID),
			want:    Result{ID: rcX5ID, SignedID: rcX5ID, Signature: recipeTestB64(t, base64.RawURLEncoding, rcX5Sig), Timestamp: x5Now},
			hasTS:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newRecipeForTest(t, tt.recipe, tt.tol, tt.secrets...)
			got, err := v.Verify(tt.req)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			recipeTestResult(t, got, tt.want)
			if h := recipeTestHasTS(t, v); h != tt.hasTS {
				t.Fatalf("HasTimestamp = %v, want %v", h, tt.hasTS)
			}
		})
	}
}

func TestRecipeInvalid(t *testing.T) {
	stripeNow := time.Unix(rcStripeTS+100, 0)
	swNow := time.Unix(rcSwTS, 0)
	x5Now := time.UnixMilli(1700000000123)
	sw := func(kv ...string) []string {
		base := map[string]string{"webhook-id": rcSwID, "webhook-timestamp": "1614265330", "webhook-signature": "v1," + rcSwSig}
		for i := 0; i+1 < len(kv); i += 2 {
			base[kv[i]] = kv[i+1]
		}
		var out []string
		for k, v := range base {
			if v != "<absent>" {
				out = append(out, k, v)
			}
		}
		return out
	}
	tests := []struct {
		name    string
		recipe  HMACRecipe
		secrets []string
		tol     time.Duration
		req     *Request
		want    error
	}{
		// signature_header
		{"missing signature header", recipeGitHub, []string{rcGhSecret}, 0,
			recipeTestReq(rcGhBody, time.Now()), ErrMalformed},
		{"empty signature header", recipeGitHub, []string{rcGhSecret}, 0,
			recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature-256", " "), ErrMalformed},
		{"duplicated signature header", recipeGitHub, []string{rcGhSecret}, 0,
			recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature-256", "sha256="+rcGhSig256, "X-Hub-Signature-256", "sha256="+rcGhSig256), ErrMalformed},
		{"signature in another header", recipeGitHub, []string{rcGhSecret}, 0,
			recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature", "sha256="+rcGhSig256), ErrMalformed},
		// body and secret
		{"tampered body", recipeGitHub, []string{rcGhSecret}, 0,
			recipeTestReq(rcGhBody+" ", time.Now(), "X-Hub-Signature-256", "sha256="+rcGhSig256), ErrSignature},
		{"wrong secret", recipeGitHub, []string{"It's a secret to everybody"}, 0,
			recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature-256", "sha256="+rcGhSig256), ErrSignature},
		{"wrong signature of the right size", recipeGitHub, []string{rcGhSecret}, 0,
			recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64)), ErrSignature},
		// prefix (non-list form)
		{"missing prefix", recipeGitHub, []string{rcGhSecret}, 0,
			recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature-256", rcGhSig256), ErrMalformed},
		{"other prefix", recipeGitHub, []string{rcGhSecret}, 0,
			recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature-256", "sha1="+rcGhSig256), ErrMalformed},
		{"truncated signature (odd hex)", recipeGitHub, []string{rcGhSecret}, 0,
			recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature-256", "sha256="+rcGhSig256[:63]), ErrMalformed},
		{"truncated signature (31 bytes)", recipeGitHub, []string{rcGhSecret}, 0,
			recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature-256", "sha256="+rcGhSig256[:62]), ErrMalformed},
		{"empty signature after prefix", recipeGitHub, []string{rcGhSecret}, 0,
			recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature-256", "sha256="), ErrMalformed},
		// hash
		{"sha1 signature where sha256 is configured", recipeGitHub, []string{rcGhSecret}, 0,
			recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature-256", "sha256="+rcGhSig1), ErrMalformed},
		{"sha256 signature where sha1 is configured", recipeGitHub1, []string{rcGhSecret}, 0,
			recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature", "sha1="+rcGhSig256), ErrMalformed},
		{"sha512 configured for a sha256 scheme", recipeGitHub.with(func(r *HMACRecipe) { r.Hash = "sha512" }), []string{rcGhSecret}, 0,
			recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature-256", "sha256="+rcGhSig256), ErrMalformed},
		// encoding
		{"hex signature where base64 is configured", recipeGitHub.with(func(r *HMACRecipe) { r.Encoding = "base64" }), []string{rcGhSecret}, 0,
			recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature-256", "sha256="+rcGhSig256), ErrMalformed},
		{"base64 signature where hex is configured", recipeStandard.with(func(r *HMACRecipe) { r.Encoding = "hex" }), []string{rcSwSecret}, 0,
			recipeTestReq(rcSwBody, swNow, sw()...), ErrMalformed},
		{"base64 signature where base64url is configured", recipeStandard.with(func(r *HMACRecipe) { r.Encoding = "base64url" }), []string{rcSwSecret}, 0,
			recipeTestReq(rcSwBody, swNow, sw()...), ErrMalformed},
		{"base64url signature where base64 is configured", recipeX5.with(func(r *HMACRecipe) { r.Encoding = "base64" }), []string{rcX5Secret}, 0,
			recipeTestReq(rcX5Body, x5Now, "X-Sig", "sha512="+rcX5Sig, "X-Ts", rcX5TS, "X-Id", rcX5ID), ErrMalformed},
		{"non-canonical base64 (non-zero padding bits)", recipeStandard, []string{rcSwSecret}, 0,
			recipeTestReq(rcSwBody, swNow, sw("webhook-signature", "v1,"+strings.TrimSuffix(rcSwSig, "E=")+"F=")...), ErrMalformed},
		{"unsigned timestamp still checked", recipeGitHub.with(func(r *HMACRecipe) { r.TimestampHeader = "X-Ts" }), []string{rcGhSecret}, 0,
			recipeTestReq(rcGhBody, time.Unix(1700000000, 0), "X-Hub-Signature-256", "sha256="+rcGhSig256, "X-Ts", "1600000000"), ErrTimestamp},
		// secret_encoding
		{"whsec secret used raw", recipeStandard.with(func(r *HMACRecipe) { r.SecretEncoding = "raw" }), []string{rcSwSecret}, 0,
			recipeTestReq(rcSwBody, swNow, sw()...), ErrSignature},
		{"base64 secret used raw", recipeX5.with(func(r *HMACRecipe) { r.SecretEncoding = "" }), []string{rcX5Secret}, 0,
			recipeTestReq(rcX5Body, x5Now, "X-Sig", "sha512="+rcX5Sig, "X-Ts", rcX5TS, "X-Id", rcX5ID), ErrSignature},
		// content
		{"content without the timestamp", recipeStripe.with(func(r *HMACRecipe) { r.Content = "{body}" }), []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", rcStripeHeader), ErrSignature},
		{"content with another literal", recipeStripe.with(func(r *HMACRecipe) { r.Content = "{timestamp}:{body}" }), []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", rcStripeHeader), ErrSignature},
		{"content literal prefix changed", recipeX5.with(func(r *HMACRecipe) { r.Content = "v3|{id}|{timestamp}|{body}" }), []string{rcX5Secret}, 0,
			recipeTestReq(rcX5Body, x5Now, "X-Sig", "sha512="+rcX5Sig, "X-Ts", rcX5TS, "X-Id", rcX5ID), ErrSignature},
		// separator / list form
		{"list: no v1 entry (only v0)", recipeStripe, []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", "t=1533204620,v0="+rcStripeV0), ErrMalformed},
		{"list: only an undecodable v1", recipeStripe, []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", "t=1533204620,v1=not-hex"), ErrMalformed},
		{"list: only a truncated v1", recipeStripe, []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", "t=1533204620,v1="+rcStripeV1[:62]), ErrMalformed},
		{"list: wrong separator", recipeStripe, []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", "t=1533204620;v1="+rcStripeV1), ErrMalformed},
		{"list: too many entries", recipeStripe, []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", rcStripeHeader+strings.Repeat(",v0=00", 31)), ErrMalformed},
		{"list: valid v1 only as 33rd entry", recipeStripe, []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", "t=1533204620"+strings.Repeat(",v0=00", 31)+",v1="+rcStripeV1), ErrMalformed},
		{"list: tampered body", recipeStripe, []string{rcStripeSecret}, 0,
			recipeTestReq(strings.TrimSuffix(stripeDotnetBody, "\n"), stripeNow, "Stripe-Signature", rcStripeHeader), ErrSignature},
		{"list: wrong secret", recipeStripe, []string{"whsec_webhook_secret"}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", rcStripeHeader), ErrSignature},
		{"list: v0 is not accepted as v1", recipeStripe, []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", "t=1533204620,v1="+rcStripeV0), ErrSignature},
		// timestamp_key
		{"list: missing t", recipeStripe, []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", "v1="+rcStripeV1), ErrMalformed},
		{"list: duplicated t", recipeStripe, []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", "t=1533204620,"+rcStripeHeader), ErrMalformed},
		{"list: empty t", recipeStripe, []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", "t=,v1="+rcStripeV1), ErrMalformed},
		{"list: non-numeric t", recipeStripe, []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", "t=1533204620.0,v1="+rcStripeV1), ErrMalformed},
		{"list: negative t", recipeStripe, []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", "t=-1533204620,v1="+rcStripeV1), ErrMalformed},
		{"list: tampered t (within tolerance)", recipeStripe, []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", "t=1533204621,v1="+rcStripeV1), ErrSignature},
		{"list: stale t", recipeStripe, []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, time.Unix(rcStripeTS+301, 0), "Stripe-Signature", rcStripeHeader), ErrTimestamp},
		{"list: future t", recipeStripe, []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, time.Unix(rcStripeTS-301, 0), "Stripe-Signature", rcStripeHeader), ErrTimestamp},
		{"list: stale t with custom tolerance", recipeStripe, []string{rcStripeSecret}, 5 * time.Second,
			recipeTestReq(stripeDotnetBody, time.Unix(rcStripeTS+6, 0), "Stripe-Signature", rcStripeHeader), ErrTimestamp},
		// timestamp_header together with timestamp_key
		{"timestamp header disagrees with t", recipeStripe.with(func(r *HMACRecipe) { r.TimestampHeader = "X-Ts" }), []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", rcStripeHeader, "X-Ts", "1533204621"), ErrMalformed},
		{"timestamp header missing while t is present", recipeStripe.with(func(r *HMACRecipe) { r.TimestampHeader = "X-Ts" }), []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", rcStripeHeader), ErrMalformed},
		{"t missing while the timestamp header is present", recipeStripe.with(func(r *HMACRecipe) { r.TimestampHeader = "X-Ts" }), []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", "v1="+rcStripeV1, "X-Ts", "1533204620"), ErrMalformed},
		// timestamp_header
		{"missing timestamp header", recipeStandard, []string{rcSwSecret}, 0,
			recipeTestReq(rcSwBody, swNow, sw("webhook-timestamp", "<absent>")...), ErrMalformed},
		{"duplicated timestamp header", recipeStandard, []string{rcSwSecret}, 0,
			recipeTestReq(rcSwBody, swNow, append(sw(), "webhook-timestamp", "1614265330")...), ErrMalformed},
		{"non-numeric timestamp header", recipeStandard, []string{rcSwSecret}, 0,
			recipeTestReq(rcSwBody, swNow, sw("webhook-timestamp", "1614265330e0")...), ErrMalformed},
		{"stale timestamp header", recipeStandard, []string{rcSwSecret}, 0,
			recipeTestReq(rcSwBody, swNow.Add(5*time.Minute+time.Second), sw()...), ErrTimestamp},
		{"future timestamp header", recipeStandard, []string{rcSwSecret}, 0,
			recipeTestReq(rcSwBody, swNow.Add(-5*time.Minute-time.Second), sw()...), ErrTimestamp},
		{"tampered timestamp header", recipeStandard, []string{rcSwSecret}, 0,
			recipeTestReq(rcSwBody, swNow, sw("webhook-timestamp", "1614265331")...), ErrSignature},
		// timestamp_unit
		{"ms timestamp where s is configured", recipeX5.with(func(r *HMACRecipe) { r.TimestampUnit = "s" }), []string{rcX5Secret}, 0,
			recipeTestReq(rcX5Body, x5Now, "X-Sig", "sha512="+rcX5Sig, "X-Ts", rcX5TS, "X-Id", rcX5ID), ErrMalformed},
		{"s timestamp where ms is configured", recipeStripe.with(func(r *HMACRecipe) { r.TimestampUnit = "ms" }), []string{rcStripeSecret}, 0,
			recipeTestReq(stripeDotnetBody, stripeNow, "Stripe-Signature", rcStripeHeader), ErrTimestamp},
		// id_header
		{"signed id missing", recipeStandard, []string{rcSwSecret}, 0,
			recipeTestReq(rcSwBody, swNow, sw("webhook-id", "<absent>")...), ErrMalformed},
		{"signed id duplicated", recipeStandard, []string{rcSwSecret}, 0,
			recipeTestReq(rcSwBody, swNow, append(sw(), "webhook-id", rcSwID)...), ErrMalformed},
		{"signed id tampered", recipeStandard, []string{rcSwSecret}, 0,
			recipeTestReq(rcSwBody, swNow, sw("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJel")...), ErrSignature},
		{"unsigned id duplicated", recipeGitHub, []string{rcGhSecret}, 0,
			recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature-256", "sha256="+rcGhSig256, "X-GitHub-Delivery", "a", "X-GitHub-Delivery", "b"), ErrMalformed},
		// standard webhooks list specifics
		{"list: only v1a entries", recipeStandard, []string{rcSwSecret}, 0,
			recipeTestReq(rcSwBody, swNow, sw("webhook-signature", "v1a,"+rcSwSig)...), ErrMalformed},
		{"list: v2 entry carrying the right MAC is ignored", recipeStandard, []string{rcSwSecret}, 0,
			recipeTestReq(rcSwBody, swNow, sw("webhook-signature", "v2,"+rcSwSig)...), ErrMalformed},
		{"list: wrong v1 only", recipeStandard, []string{rcSwSecret}, 0,
			recipeTestReq(rcSwBody, swNow, sw("webhook-signature", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")...), ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newRecipeForTest(t, tt.recipe, tt.tol, tt.secrets...)
			res, err := v.Verify(tt.req)
			if res != nil {
				t.Fatalf("got a result %+v", *res)
			}
			leaks := append([]string{string(tt.req.Body)}, tt.secrets...)
			leaks = append(leaks, rcGhSig256, rcGhSig1, rcStripeV1, rcStripeV0, rcSwSig, rcX5Sig)
			recipeTestErr(t, err, tt.want, leaks...)
		})
	}
}

func TestRecipeConfig(t *testing.T) {
	ok := recipeStripe
	tests := []struct {
		name string
		cfg  Config
		want string // a fragment of the error
	}{
		{"no recipe", Config{Secrets: []string{"s3cr3t-value"}}, "hmac recipe"},
		{"no signature header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{}}, "signature_header"},
		{"blank signature header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "  "}}, "signature_header"},
		{"invalid signature header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X Sig"}}, "signature_header"},
		{"invalid timestamp header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", TimestampHeader: "X:Ts"}}, "timestamp_header"},
		{"invalid id header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", IDHeader: "X/Id"}}, "id_header"},
		{"timestamp header is the signature header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", TimestampHeader: "x-sig"}}, "timestamp_header"},
		{"id header is the timestamp header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", TimestampHeader: "X-Ts", IDHeader: "x-ts"}}, "id_header"},
		{"unknown hash", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Hash: "md5"}}, "hash"},
		{"upper-case hash", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Hash: "SHA256"}}, "hash"},
		{"unknown encoding", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Encoding: "base32"}}, "encoding"},
		{"unknown secret encoding", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", SecretEncoding: "base32"}}, "secret_encoding"},
		{"unknown timestamp unit", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", TimestampHeader: "X-Ts", TimestampUnit: "us"}}, "timestamp_unit"},
		{"timestamp unit without timestamp", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", TimestampUnit: "ms"}}, "timestamp_unit"},
		{"unknown placeholder", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Content: "{body}.{nonce}"}}, "{nonce}"},
		{"unclosed placeholder", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Content: "{body"}}, "unclosed"},
		{"empty placeholder", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Content: "{}{body}"}}, "placeholder"},
		{"content without body", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", TimestampHeader: "X-Ts", Content: "{timestamp}"}}, "{body}"},
		{"timestamp placeholder without a source", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Content: "{timestamp}.{body}"}}, "{timestamp}"},
		{"id placeholder without id header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Content: "{id}.{body}"}}, "{id}"},
		{"timestamp key without separator", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", TimestampKey: "t="}}, "timestamp_key"},
		{"timestamp key equals prefix", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Separator: ",", TimestampKey: "v1=", Prefix: "v1="}}, "timestamp_key"},
		{"tolerance without timestamp", Config{Secrets: []string{"s3cr3t-value"}, Tolerance: time.Minute, HMAC: &recipeGitHub}, "tolerance"},
		{"no secret", Config{HMAC: &ok}, "secret"},
		{"empty secret", Config{Secrets: []string{"s3cr3t-value", ""}, HMAC: &ok}, "secret 2"},
		{"invalid base64 secret", Config{Secrets: []string{"s3cr3t-value!"}, HMAC: &recipeX5}, "secret 1"},
		{"invalid whsec secret", Config{Secrets: []string{"whsec_s3cr3t-value!"}, HMAC: &recipeStandard}, "secret 1"},
		{"empty whsec secret", Config{Secrets: []string{"whsec_"}, HMAC: &recipeStandard}, "secret 1"},
		{"public_key", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &ok, PublicKeys: []PublicKey{{Key: "k"}}}, "public_key"},
		{"url", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &ok, URL: "https://example.com/"}, "url"},
		{"topic_arn", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &ok, TopicARNs: []string{"arn:aws:sns:x"}}, "topic_arn"},
		{"certificate", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &ok, Certificates: []string{"pem"}}, "certificate"},
		{"auto_confirm", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &ok, AutoConfirm: true}, "auto_confirm"},
		{"username", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &ok, Username: "u"}, "username"},
		{"password", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &ok, Password: "p4ssw0rd-value"}, "password"},
		{"header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &ok, Header: "X-Token"}, "header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New("hmac", tt.cfg)
			if err == nil || v != nil {
				t.Fatalf("New = %T, %v; want nil and an error", v, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
			if err.Error() != strings.ToLower(err.Error()[:1])+err.Error()[1:] {
				t.Fatalf("error %q does not start in lower case", err)
			}
			recipeTestNoLeak(t, err, "s3cr3t-value", "p4ssw0rd-value")
		})
	}
}

// TestRecipeTemplate checks the precompiled form of content templates.
func TestRecipeTemplate(t *testing.T) {
	parts, err := recipeParseContent("v0:{timestamp}:{body}}{id}")
	if err != nil {
		t.Fatal(err)
	}
	want := []recipePart{
		{kind: recipeLiteral, lit: []byte("v0:")}, {kind: recipeTimestamp},
		{kind: recipeLiteral, lit: []byte(":")}, {kind: recipeBody},
		{kind: recipeLiteral, lit: []byte("}")}, {kind: recipeID},
	}
	if len(parts) != len(want) {
		t.Fatalf("parts = %+v", parts)
	}
	for i := range want {
		if parts[i].kind != want[i].kind || !bytes.Equal(parts[i].lit, want[i].lit) {
			t.Fatalf("part %d = %+v, want %+v", i, parts[i], want[i])
		}
	}
}

// TestRecipeDefaults: an empty recipe apart from the header means hex
// HMAC-SHA256 of the body with the secret used raw; the registry knows the
// provider by name.
func TestRecipeDefaults(t *testing.T) {
	if !Known("hmac") || Canonical("hmac") != "hmac" {
		t.Fatal("hmac is not registered")
	}
	v := newRecipeForTest(t, HMACRecipe{SignatureHeader: "X-Hub-Signature-256"}, 0, rcGhSecret)
	res, err := v.Verify(recipeTestReq(rcGhBody, time.Now(), "X-Hub-Signature-256", rcGhSig256))
	if err != nil {
		t.Fatal(err)
	}
	recipeTestResult(t, res, Result{Signature: recipeTestHex(t, rcGhSig256)})
	if recipeTestHasTS(t, v) {
		t.Fatal("HasTimestamp without a timestamp")
	}
}

// TestRecipeExpressesProviders shows that the fixed HMAC providers are
// plain recipes: the recipe a user would write in the Caddyfile (spelled
// out here, not taken from the provider) gives the same verdict and the
// same Result as the named provider, on valid and on invalid requests.
func TestRecipeExpressesProviders(t *testing.T) {
	type check struct {
		name  string
		valid bool // the named provider accepts it
		req   *Request
	}
	md := time.Unix(maildeskTS, 0)
	as := time.UnixMilli(1699790400000)
	cases := []struct {
		provider string
		recipe   HMACRecipe
		secrets  []string
		checks   []check
	}{
		{
			provider: "maildesk",
			recipe: HMACRecipe{
				SignatureHeader: "X-Maildesk-Signature", Separator: ",", Prefix: "v1=", TimestampKey: "t=",
				TimestampHeader: "X-Maildesk-Timestamp", Content: "{timestamp}.{body}",
			},
			secrets: []string{"mdk_other", maildeskSecret},
			checks: []check{
				{"valid", true, recipeTestReq(maildeskBody, md, "X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", maildeskHeader)},
				{"two v1", true, recipeTestReq(maildeskBody2, time.Unix(maildeskTS2, 0), "X-Maildesk-Timestamp", "1718035260", "X-Maildesk-Signature", maildeskHeader2)},
				{"t mismatch", false, recipeTestReq(maildeskBody, md, "X-Maildesk-Timestamp", "1718035201", "X-Maildesk-Signature", maildeskHeader)},
				{"stale", false, recipeTestReq(maildeskBody, md.Add(time.Hour), "X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", maildeskHeader)},
				{"tampered", false, recipeTestReq(maildeskBody+"x", md, "X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", maildeskHeader)},
			},
		},
		{
			provider: "autosend",
			recipe: HMACRecipe{
				SignatureHeader: "X-Webhook-Signature", TimestampHeader: "X-Webhook-Timestamp",
				TimestampUnit: "auto", IDHeader: "X-Webhook-Delivery-Id",
			},
			secrets: []string{autosendSecret},
			checks: []check{
				{"valid", true, recipeTestReq(autosendBody, as, "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", autosendTSms, "X-Webhook-Delivery-Id", autosendDelivery)},
				{"valid (seconds)", true, recipeTestReq(autosendBody, as, "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", "1699790400")},
				{"stale", false, recipeTestReq(autosendBody, as.Add(time.Hour), "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", autosendTSms)},
				{"no timestamp", false, recipeTestReq(autosendBody, as, "X-Webhook-Signature", autosendSig)},
				{"tampered", false, recipeTestReq(autosendBody+" ", as, "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", autosendTSms)},
			},
		},
		{
			provider: "paddle",
			recipe: HMACRecipe{
				SignatureHeader: "Paddle-Signature", Separator: ";", Prefix: "h1=", TimestampKey: "ts=",
				Content: "{timestamp}:{body}",
			},
			secrets: paddlePySecrets,
			checks: []check{
				{"valid", true, recipeTestReq(paddlePyBody, time.Unix(paddlePyTS, 0), "Paddle-Signature", paddlePyHeader)},
				{"tampered", false, recipeTestReq(paddlePyBody+"!", time.Unix(paddlePyTS, 0), "Paddle-Signature", paddlePyHeader)},
				{"no ts", false, recipeTestReq(paddlePyBody, time.Unix(paddlePyTS, 0), "Paddle-Signature", "h1="+paddlePyH1)},
			},
		},
		{
			provider: "shopify",
			recipe:   HMACRecipe{SignatureHeader: "X-Shopify-Hmac-Sha256", Encoding: "base64", IDHeader: "X-Shopify-Webhook-Id"},
			secrets:  []string{shopifySecret},
			checks: []check{
				{"valid", true, recipeTestReq(shopifyBody, time.Now(), "X-Shopify-Hmac-Sha256", shopifySig, "X-Shopify-Webhook-Id", shopifyID)},
				{"hex", false, recipeTestReq(shopifyBody, time.Now(), "X-Shopify-Hmac-Sha256", shopifySigHex)},
			},
		},
	}
	for _, c := range cases {
		named, err := New(c.provider, Config{Secrets: c.secrets})
		if err != nil {
			t.Fatalf("New(%s): %v", c.provider, err)
		}
		recipe := newRecipeForTest(t, c.recipe, 0, c.secrets...)
		if recipeTestHasTS(t, named) != recipeTestHasTS(t, recipe) {
			t.Fatalf("%s: HasTimestamp differs", c.provider)
		}
		for _, ch := range c.checks {
			t.Run(c.provider+"/"+ch.name, func(t *testing.T) {
				want, werr := named.Verify(ch.req)
				got, gerr := recipe.Verify(ch.req)
				if (werr == nil) != ch.valid {
					t.Fatalf("provider %s: error %v, want valid=%v", c.provider, werr, ch.valid)
				}
				if werr != nil {
					var sentinel error
					for _, s := range recipeTestSentinels {
						if errors.Is(werr, s) {
							sentinel = s
						}
					}
					recipeTestErr(t, gerr, sentinel)
					return
				}
				if gerr != nil {
					t.Fatalf("provider accepts, recipe says %v", gerr)
				}
				recipeTestResult(t, got, *want)
			})
		}
	}
}
