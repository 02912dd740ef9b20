package verifiers

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Vectors.
//
// v1 (HMAC-SHA256): the "sign" test shared by the Standard Webhooks
// reference libraries and the Svix libraries:
//   - github:standard-webhooks/standard-webhooks libraries/go/webhook_test.go
//     @449485caf9c0303530c19524fbe4096680aafcf1 (TestWebhookSign), same values
//     in libraries/python/tests/test_webhooks.py @33d368b20c5543357f4f27fd13bed0703b8c5204
//     and libraries/javascript/src/webhook.test.ts @10d3e46d720c4e5861a792bec25792a04ad4e2b3;
//   - github:svix/svix-webhooks go/webhook_test.go @048f87ed05f4ed7878c7c56fd4f2838409a2a9c8
//     (TestWebhookSign), and server/svix-server/src/worker.rs
//     @007776097e5bfc31ddb9f5c8e4b57715840ddcc9 (test_generate_msg_headers_with_signing_key).
//
// The bogus signature "Ceo5qEr0..." and the multi-signature header come from
// the "invalid signature" and "valid multi sig" cases of the same test files.
//
// v1a (Ed25519):
//   - Svix: server/svix-server/src/worker.rs @007776097e5bfc31ddb9f5c8e4b57715840ddcc9
//     (test_asymmetric_key_signing). The whsk_ key there is base64(seed ||
//     public key); svixPK below is its last 32 bytes, and openssl derives the
//     same public key from the seed:
//     printf '302e020100300506032b657004220420%s' <seed hex> | xxd -r -p > k.der
//     openssl pkey -inform DER -in k.der -pubout -outform DER | tail -c 32 | base64
//   - Standard Webhooks: libraries/go/webhook_asymmetric_test.go
//     @5fb2ce9369bd9533ed635c0c84f8d7b0dac3a5bf (TestAsymmetricWebhookSign),
//     seed "VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk="; swPK was derived
//     from that seed with the openssl commands above, and
//     openssl pkeyutl -sign -inkey k.der -keyform DER -rawin -in <content>
//     reproduces both published v1a signatures.
//
// Large payloads: github:svix/svix-webhooks csharp/Svix.Tests/WebhookTest.cs
// @18cf625ec3c2fd4b333ad68fb03f1091f72c8e71 (VerifyWebhookSignWithLargePayloadWorks).
const (
	swSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	swBareKey   = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	swOther     = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // 24 zero bytes, not the signer
	swID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	swTS        = "1614265330"
	swBody      = `{"test": 2432232314}`
	swV1        = "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	swBogus     = "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
	swPK        = "whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g="
	swV1a       = "tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag=="
	svixPK      = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
	svixV1a     = "hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="
	svixWhsk    = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg=="
	swTSUnix    = 1614265330
	swTolerance = 5 * time.Minute
)

var swNow = time.Unix(swTSUnix, 0)

// swStd returns the webhook-* headers of the reference message with the
// given signature list.
func swStd(sig string) []string {
	return []string{"webhook-id", swID, "webhook-timestamp", swTS, "webhook-signature", sig}
}

// swSvix returns the svix-* headers of the reference message.
func swSvix(sig string) []string {
	return []string{"svix-id", swID, "svix-timestamp", swTS, "svix-signature", sig}
}

func swRequest(body string, now time.Time, kv []string) *Request {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return &Request{Context: context.Background(), Method: http.MethodPost, Header: h, Body: []byte(body), Now: now}
}

func swConfig(secrets, keys []string, tol time.Duration) Config {
	c := Config{Provider: "standard_webhooks", Secrets: secrets, Tolerance: tol}
	for _, k := range keys {
		c.PublicKeys = append(c.PublicKeys, PublicKey{Key: k})
	}
	return c
}

func TestStandardWebhooksVerify(t *testing.T) {
	one := []string{swSecret}
	pk := []string{swPK}
	multi := strings.Join([]string{"v1," + swBogus, "v2," + swBogus, "v1," + swV1, "v1," + swBogus}, " ")
	tooMany := strings.Repeat("v1,"+swBogus+" ", swMaxEntries) + "v1," + swV1
	maxOK := strings.Repeat("v1,"+swBogus+" ", swMaxEntries-1) + "v1," + swV1

	tests := []struct {
		name    string
		secrets []string
		keys    []string
		tol     time.Duration
		headers []string
		body    string
		now     time.Time
		wantErr error
		wantKey int
		wantSig string // base64 of the signature that matched
		wantTS  int64  // 0: swTSUnix
	}{
		// v1 published vector.
		{name: "v1 vector, webhook-* headers", secrets: one, headers: swStd("v1," + swV1), wantSig: swV1},
		{name: "v1 vector, bare base64 secret", secrets: []string{swBareKey}, headers: swStd("v1," + swV1), wantSig: swV1},
		{name: "v1 vector, svix-* headers", secrets: one, headers: swSvix("v1," + swV1), wantSig: swV1},
		{name: "header names are case-insensitive", secrets: one, headers: []string{"Webhook-Id", swID, "WEBHOOK-TIMESTAMP", swTS, "Webhook-Signature", "v1," + swV1}, wantSig: swV1},
		{name: "library multi-signature header", secrets: one, headers: swStd(multi), wantSig: swV1},
		{name: "entries without a comma are skipped", secrets: one, headers: swStd("v1 garbage v1," + swV1), wantSig: swV1},
		{name: "extra spaces between entries", secrets: one, headers: swStd("v2,x   v1," + swV1), wantSig: swV1},
		{name: "rotation: second secret matches", secrets: []string{swOther, swSecret}, headers: swStd("v1," + swV1), wantKey: 1, wantSig: swV1},
		{name: "32 entries accepted", secrets: one, headers: swStd(maxOK), wantSig: swV1},

		// Header selection between svix-* and webhook-*.
		{name: "both header sets with equal values", secrets: one, headers: append(swSvix("v1,"+swV1), swStd("v1,"+swV1)...), wantSig: swV1},
		{name: "incomplete svix set falls back to webhook-*", secrets: one, headers: append([]string{"svix-id", swID}, swStd("v1,"+swV1)...), wantSig: swV1},
		{name: "svix and webhook ids differ", secrets: one, headers: append(swSvix("v1,"+swV1), "webhook-id", "msg_other", "webhook-timestamp", swTS, "webhook-signature", "v1,"+swV1), wantErr: ErrMalformed},
		{name: "svix and webhook signatures differ", secrets: one, headers: append(swSvix("v1,"+swV1), swStd("v1,"+swBogus)...), wantErr: ErrMalformed},
		{name: "partial svix id differs from webhook id", secrets: one, headers: append([]string{"svix-id", "msg_other"}, swStd("v1,"+swV1)...), wantErr: ErrMalformed},
		{name: "mixed incomplete sets", secrets: one, headers: []string{"svix-id", swID, "webhook-timestamp", swTS, "svix-signature", "v1," + swV1}, wantErr: ErrMalformed},
		{name: "incomplete svix set alone", secrets: one, headers: []string{"svix-id", swID, "svix-timestamp", swTS}, wantErr: ErrMalformed},

		// Missing and duplicated metadata.
		{name: "missing webhook-id", secrets: one, headers: swStd("v1," + swV1)[2:], wantErr: ErrMalformed},
		{name: "missing webhook-timestamp", secrets: one, headers: []string{"webhook-id", swID, "webhook-signature", "v1," + swV1}, wantErr: ErrMalformed},
		{name: "missing webhook-signature", secrets: one, headers: swStd("v1," + swV1)[:4], wantErr: ErrMalformed},
		{name: "empty webhook-signature", secrets: one, headers: swStd(""), wantErr: ErrMalformed},
		{name: "no headers", secrets: one, wantErr: ErrMalformed},
		{name: "duplicated webhook-signature", secrets: one, headers: append(swStd("v1,"+swV1), "webhook-signature", "v1,"+swV1), wantErr: ErrMalformed},
		{name: "duplicated svix-id", secrets: one, headers: append(swSvix("v1,"+swV1), "svix-id", swID), wantErr: ErrMalformed},
		{name: "more than 32 entries", secrets: one, headers: swStd(tooMany), wantErr: ErrMalformed},

		// Malformed signatures.
		{name: "only unknown versions", secrets: one, headers: swStd("v2," + swV1 + " v1b," + swV1), wantErr: ErrMalformed},
		{name: "partial signature v1,", secrets: one, headers: swStd("v1,"), wantErr: ErrMalformed},
		{name: "header cut to 8 characters", secrets: one, headers: swStd(("v1," + swV1)[:8]), wantErr: ErrMalformed},
		{name: "signature not base64", secrets: one, headers: swStd("v1,!!not*base64!!"), wantErr: ErrMalformed},
		{name: "no comma at all", secrets: one, headers: swStd(swV1), wantErr: ErrMalformed},

		// Signature mismatches.
		{name: "library invalid signature", secrets: one, headers: swStd("v1," + swBogus), wantErr: ErrSignature},
		{name: "truncated but decodable signature", secrets: one, headers: swStd("v1," + swV1[:len(swV1)-2]), wantErr: ErrSignature},
		{name: "hex instead of base64", secrets: one, headers: swStd("v1,83484cf52b04f8e4cf2531adfed9882ad4b2665137b852442d594d20e2c9d4e1"), wantErr: ErrSignature},
		{name: "tampered body", secrets: one, headers: swStd("v1," + swV1), body: `{"test": 2432232315}`, wantErr: ErrSignature},
		{name: "body with trailing newline", secrets: one, headers: swStd("v1," + swV1), body: swBody + "\n", wantErr: ErrSignature},
		{name: "tampered id", secrets: one, headers: []string{"webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJel", "webhook-timestamp", swTS, "webhook-signature", "v1," + swV1}, wantErr: ErrSignature},
		{name: "tampered timestamp", secrets: one, headers: []string{"webhook-id", swID, "webhook-timestamp", "1614265331", "webhook-signature", "v1," + swV1}, wantErr: ErrSignature},
		{name: "timestamp with leading zero is not the signed string", secrets: one, headers: []string{"webhook-id", swID, "webhook-timestamp", "0" + swTS, "webhook-signature", "v1," + swV1}, wantErr: ErrSignature},
		{name: "wrong secret", secrets: []string{swOther}, headers: swStd("v1," + swV1), wantErr: ErrSignature},

		// Timestamps.
		{name: "exactly 5 minutes old", secrets: one, headers: swStd("v1," + swV1), now: swNow.Add(swTolerance), wantSig: swV1},
		{name: "5 minutes and 1 second old", secrets: one, headers: swStd("v1," + swV1), now: swNow.Add(swTolerance + time.Second), wantErr: ErrTimestamp},
		{name: "exactly 5 minutes in the future", secrets: one, headers: swStd("v1," + swV1), now: swNow.Add(-swTolerance), wantSig: swV1},
		{name: "5 minutes and 1 second in the future", secrets: one, headers: swStd("v1," + swV1), now: swNow.Add(-swTolerance - time.Second), wantErr: ErrTimestamp},
		{name: "custom tolerance", secrets: one, tol: 10 * time.Second, headers: swStd("v1," + swV1), now: swNow.Add(11 * time.Second), wantErr: ErrTimestamp},
		{name: "tolerance off", secrets: one, tol: -1, headers: swStd("v1," + swV1), now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), wantSig: swV1},
		{name: "stale timestamp with bad signature is a timestamp error", secrets: one, headers: swStd("v1," + swBogus), now: swNow.Add(time.Hour), wantErr: ErrTimestamp},
		{name: "timestamp not a number", secrets: one, headers: []string{"webhook-id", swID, "webhook-timestamp", "hello", "webhook-signature", "v1," + swV1}, wantErr: ErrMalformed},
		{name: "fractional timestamp", secrets: one, headers: []string{"webhook-id", swID, "webhook-timestamp", swTS + ".0", "webhook-signature", "v1," + swV1}, wantErr: ErrMalformed},
		{name: "negative timestamp", secrets: one, headers: []string{"webhook-id", swID, "webhook-timestamp", "-1", "webhook-signature", "v1," + swV1}, wantErr: ErrMalformed},
		{name: "timestamp in milliseconds", secrets: one, headers: []string{"webhook-id", swID, "webhook-timestamp", swTS + "000", "webhook-signature", "v1," + swV1}, wantErr: ErrMalformed},

		// v1a published vectors.
		{name: "v1a Standard Webhooks vector", keys: pk, headers: swStd("v1a," + swV1a), wantSig: swV1a},
		{name: "v1a Svix vector", keys: []string{svixPK}, headers: swSvix("v1a," + svixV1a), wantSig: svixV1a},
		{name: "v1a second public key matches", keys: []string{svixPK, swPK}, headers: swStd("v1a," + swV1a), wantKey: 1, wantSig: swV1a},
		{name: "v1a bare base64 public key", keys: []string{strings.TrimPrefix(swPK, "whpk_")}, headers: swStd("v1a," + swV1a), wantSig: swV1a},
		{name: "v1a Svix rotation header", keys: []string{svixPK}, headers: swStd("v1a," + swV1a + " v1a," + svixV1a), wantSig: svixV1a},
		{name: "v1a index follows the secrets", secrets: one, keys: pk, headers: swStd("v1," + swBogus + " v1a," + swV1a), wantKey: 1, wantSig: swV1a},
		{name: "v1 checked before v1a", secrets: one, keys: pk, headers: swStd("v1a," + swV1a + " v1," + swV1), wantKey: 0, wantSig: swV1},
		{name: "v1a by another key", keys: pk, headers: swStd("v1a," + svixV1a), wantErr: ErrSignature},
		{name: "v1a with bogus v1 and foreign v1a", secrets: one, keys: pk, headers: swStd("v1," + swBogus + " v1a," + svixV1a), wantErr: ErrSignature},
		{name: "v1a tampered body", keys: pk, headers: swStd("v1a," + swV1a), body: `{"test": 2432232315}`, wantErr: ErrSignature},
		{name: "v1a signature truncated to 63 bytes", keys: pk, headers: swStd("v1a," + base64.StdEncoding.EncodeToString(swMustB64(swV1a)[:63])), wantErr: ErrMalformed},
		{name: "v1a only, public keys not configured", secrets: one, headers: swStd("v1a," + swV1a), wantErr: ErrMalformed},
		{name: "v1 only, secrets not configured", keys: pk, headers: swStd("v1," + swV1), wantErr: ErrMalformed},
		{name: "v1a stale", keys: pk, headers: swStd("v1a," + swV1a), now: swNow.Add(-time.Hour), wantErr: ErrTimestamp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New("standard_webhooks", swConfig(tc.secrets, tc.keys, tc.tol))
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			body := tc.body
			if body == "" {
				body = swBody
			}
			now := tc.now
			if now.IsZero() {
				now = swNow
			}
			res, err := v.Verify(swRequest(body, now, tc.headers))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if res != nil {
					t.Fatalf("result %+v returned with error", res)
				}
				for _, leak := range []string{swV1, swBogus, swV1a, svixV1a, swBareKey, swBody} {
					if strings.Contains(err.Error(), leak) {
						t.Fatalf("error %q leaks %q", err, leak)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			wantTS := time.Unix(swTSUnix, 0)
			if tc.wantTS != 0 {
				wantTS = time.Unix(tc.wantTS, 0)
			}
			if res.ID != swID || res.SignedID != swID {
				t.Errorf("ID, SignedID = %q, %q, want %q", res.ID, res.SignedID, swID)
			}
			if !res.Timestamp.Equal(wantTS) {
				t.Errorf("Timestamp = %v, want %v", res.Timestamp, wantTS)
			}
			if res.Key != tc.wantKey {
				t.Errorf("Key = %d, want %d", res.Key, tc.wantKey)
			}
			if got := base64.StdEncoding.EncodeToString(res.Signature); got != tc.wantSig {
				t.Errorf("Signature = %s, want %s", got, tc.wantSig)
			}
			if res.Act != nil {
				t.Error("Act is set, want nil")
			}
		})
	}
}

func swMustB64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Svix's C# large-payload vectors: a body of n bytes 'a', signed with the
// reference secret, id and timestamp.
func TestStandardWebhooksLargePayloads(t *testing.T) {
	v, err := New("svix", swConfig([]string{swSecret}, nil, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		size int
		sig  string
	}{
		{1024 * 1024, "txpEUxqWZJ5nteTnymUVa+7C4NHpBeXJ6CsBAW0c3/A="},
		{256 * 1024, "Mw4Pe2WgApuT7NSqnSq0PQPV9gbLdggCl9B865x5Xh0="},
		{256*1024 - 1, "NTItnqyWMoFhk2Bbe5V/BMdcFRWgcSQaTgqLHX7FC7c="},
	} {
		body := strings.Repeat("a", tc.size)
		res, err := v.Verify(swRequest(body, swNow, swSvix("v1,"+tc.sig)))
		if err != nil {
			t.Fatalf("size %d: %v", tc.size, err)
		}
		if got := base64.StdEncoding.EncodeToString(res.Signature); got != tc.sig {
			t.Fatalf("size %d: Signature = %s, want %s", tc.size, got, tc.sig)
		}
		// One byte less must not verify.
		if _, err := v.Verify(swRequest(body[1:], swNow, swSvix("v1,"+tc.sig))); !errors.Is(err, ErrSignature) {
			t.Fatalf("size %d, body shortened: err = %v, want ErrSignature", tc.size, err)
		}
	}
}

func TestStandardWebhooksNames(t *testing.T) {
	for _, name := range []string{"standard_webhooks", "svix", "resend"} {
		if got := Canonical(name); got != "standard_webhooks" {
			t.Errorf("Canonical(%q) = %q, want standard_webhooks", name, got)
		}
		// Resend delivers through Svix, with svix-* headers and a whsec_ secret.
		v, err := New(name, Config{Secrets: []string{swSecret}})
		if err != nil {
			t.Fatalf("New(%q): %v", name, err)
		}
		for _, h := range [][]string{swSvix("v1," + swV1), swStd("v1," + swV1)} {
			if _, err := v.Verify(swRequest(swBody, swNow, h)); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

func TestStandardWebhooksConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"secret only", swConfig([]string{swSecret}, nil, 0), true},
		{"public key only", swConfig(nil, []string{swPK}, 0), true},
		{"secret and public key", swConfig([]string{swSecret}, []string{swPK}, 0), true},
		{"tolerance is taken", swConfig([]string{swSecret}, nil, time.Minute), true},
		{"empty config", Config{}, false},
		{"empty secret", swConfig([]string{""}, nil, 0), false},
		{"empty secret after a good one", swConfig([]string{swSecret, ""}, nil, 0), false},
		{"bare prefix", swConfig([]string{"whsec_"}, nil, 0), false},
		{"secret not base64", swConfig([]string{"whsec_not*base64!"}, nil, 0), false},
		{"public key given as secret", swConfig([]string{swPK}, nil, 0), false},
		{"private key given as secret", swConfig([]string{svixWhsk}, nil, 0), false},
		{"private key given as public key", swConfig(nil, []string{svixWhsk}, 0), false},
		{"public key too short", swConfig(nil, []string{"whpk_" + base64.StdEncoding.EncodeToString(make([]byte, 16))}, 0), false},
		{"public key not base64", swConfig(nil, []string{"whpk_***"}, 0), false},
		{"empty public key", swConfig(nil, []string{""}, 0), false},
		{"public key with key id", Config{PublicKeys: []PublicKey{{KeyID: "k1", Key: swPK}}}, false},
		{"hmac recipe", Config{Secrets: []string{swSecret}, HMAC: &HMACRecipe{}}, false},
		{"url", Config{Secrets: []string{swSecret}, URL: "https://example.com/"}, false},
		{"topic_arn", Config{Secrets: []string{swSecret}, TopicARNs: []string{"arn:aws:sns:us-east-1:1:t"}}, false},
		{"certificate", Config{Secrets: []string{swSecret}, Certificates: []string{"pem"}}, false},
		{"auto_confirm", Config{Secrets: []string{swSecret}, AutoConfirm: true}, false},
		{"username", Config{Secrets: []string{swSecret}, Username: "u"}, false},
		{"password", Config{Secrets: []string{swSecret}, Password: "p"}, false},
		{"header", Config{Secrets: []string{swSecret}, Header: "X-Token"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New("svix", tc.cfg)
			if tc.ok {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			for _, s := range append(tc.cfg.Secrets, "MfKQ9r8G", "6Xb/dCcH", "ZlN4eg7d") {
				if len(s) >= 8 && strings.Contains(err.Error(), s) {
					t.Fatalf("error %q contains key material", err)
				}
			}
		})
	}
}
