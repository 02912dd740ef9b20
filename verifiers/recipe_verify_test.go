package verifiers

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

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
