package verifiers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// signVerify sends s to a fresh verifier of provider with cfg, on reqURL
// (its query replaced by s.Query), at now.
func signVerify(t *testing.T, provider string, cfg Config, reqURL string, s *Signed, now time.Time) (*Result, error) {
	t.Helper()
	v, err := New(provider, cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", provider, err)
	}
	if reqURL == "" {
		reqURL = "https://example.com/webhook" // probeURL's path
	}
	u, err := url.Parse(reqURL)
	if err != nil {
		t.Fatal(err)
	}
	u.RawQuery = s.Query
	return v.Verify(&Request{Context: context.Background(), Method: http.MethodPost, URL: u,
		Header: s.Header.Clone(), Body: bytes.Clone(s.Body), Now: now})
}

func mustKeys(t *testing.T, provider string) *KeyPair {
	t.Helper()
	k, err := GenerateKey(provider)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSignRoundTrip signs a delivery for every signing provider and
// checks that the provider's verifier accepts it, and refuses it with
// the body changed, or verified under another secret or key.
func TestSignRoundTrip(t *testing.T) {
	now := time.Now()
	sw, sg, mc, sns := mustKeys(t, "standard_webhooks"), mustKeys(t, "sendgrid"), mustKeys(t, "mailchannels"), mustKeys(t, "sns")
	sw2, sg2, mc2, sns2 := mustKeys(t, "svix"), mustKeys(t, "sendgrid"), mustKeys(t, "mailchannels"), mustKeys(t, "sns")
	body := []byte(`{"type":"test.event","data":{"id":"evt_1","n":1}}`)
	form := []byte("CallSid=CA123&From=%2B14158675309&Body=hello+world")
	recipe := HMACRecipe{SignatureHeader: "X-Sig", Separator: ",", Prefix: "v1=", TimestampKey: "t=",
		TimestampHeader: "X-Ts", TimestampUnit: "ms", Content: "{id}:{timestamp}:{body}", IDHeader: "X-Id",
		Hash: "sha512", Encoding: "base64url", SecretEncoding: "base64"}
	pk := func(k string) []PublicKey { return []PublicKey{{Key: k}} }

	tests := []struct {
		name     string
		provider string
		req      SignRequest
		cfg      Config // verifier config that must accept
		wrong    Config // verifier config that must refuse (another secret or key)
		reqURL   string
		wantID   string // SignedID wanted, when the scheme signs one
	}{
		{name: "standard_webhooks v1", provider: "standard_webhooks", req: SignRequest{Secret: swSecret, ID: "msg_1"},
			cfg: Config{Secrets: []string{swSecret}}, wrong: Config{Secrets: []string{swOther}}, wantID: "msg_1"},
		{name: "standard_webhooks v1a", provider: "standard_webhooks", req: SignRequest{PrivateKey: sw.PrivateKey},
			cfg: Config{PublicKeys: pk(sw.PublicKey)}, wrong: Config{PublicKeys: pk(sw2.PublicKey)}},
		{name: "svix v1 and v1a", provider: "svix", req: SignRequest{Secret: swSecret, PrivateKey: sw.PrivateKey},
			cfg: Config{PublicKeys: pk(sw.PublicKey)}, wrong: Config{Secrets: []string{swOther}}},
		{name: "resend", provider: "resend", req: SignRequest{Secret: swSecret},
			cfg: Config{Secrets: []string{swSecret}}, wrong: Config{Secrets: []string{swOther}}},
		{name: "stripe", provider: "stripe", req: SignRequest{Secret: "whsec_abc"},
			cfg: Config{Secrets: []string{"whsec_abc"}}, wrong: Config{Secrets: []string{"whsec_abd"}}},
		{name: "github", provider: "github", req: SignRequest{Secret: "s"},
			cfg: Config{Secrets: []string{"s"}}, wrong: Config{Secrets: []string{"t"}}},
		{name: "slack", provider: "slack", req: SignRequest{Secret: "s"},
			cfg: Config{Secrets: []string{"s"}}, wrong: Config{Secrets: []string{"t"}}},
		{name: "shopify", provider: "shopify", req: SignRequest{Secret: "s"},
			cfg: Config{Secrets: []string{"s"}}, wrong: Config{Secrets: []string{"t"}}},
		{name: "paddle", provider: "paddle", req: SignRequest{Secret: "pdl_ntfset_x"},
			cfg: Config{Secrets: []string{"pdl_ntfset_x"}}, wrong: Config{Secrets: []string{"pdl_ntfset_y"}}},
		{name: "maildesk", provider: "maildesk", req: SignRequest{Secret: "s"},
			cfg: Config{Secrets: []string{"s"}}, wrong: Config{Secrets: []string{"t"}}},
		{name: "autosend", provider: "autosend", req: SignRequest{Secret: "s"},
			cfg: Config{Secrets: []string{"s"}}, wrong: Config{Secrets: []string{"t"}}},
		{name: "hmac recipe", provider: "hmac", req: SignRequest{Secret: "c2VjcmV0", Recipe: &recipe, ID: "dlv_9"},
			cfg: Config{Secrets: []string{"c2VjcmV0"}, HMAC: &recipe}, wrong: Config{Secrets: []string{"c2VjcmVu"}, HMAC: &recipe}, wantID: "dlv_9"},
		{name: "sendgrid", provider: "sendgrid", req: SignRequest{PrivateKey: sg.PrivateKey},
			cfg: Config{PublicKeys: pk(sg.PublicKey)}, wrong: Config{PublicKeys: pk(sg2.PublicKey)}},
		{name: "mailchannels", provider: "mailchannels", req: SignRequest{PrivateKey: mc.PrivateKey, KeyID: "k1"},
			cfg: Config{PublicKeys: []PublicKey{{KeyID: "k1", Key: mc.PublicKey}}}, wrong: Config{PublicKeys: pk(mc2.PublicKey)}},
		{name: "sns v1", provider: "sns", req: SignRequest{PrivateKey: sns.PrivateKey, Certificate: sns.Certificate, ID: "0b4f3a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"},
			cfg: Config{Certificates: []string{sns.Certificate}, TopicARNs: []string{snsDefaultTopic}}, wrong: Config{Certificates: []string{sns2.Certificate}}, wantID: "0b4f3a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"},
		{name: "ses v2, another topic", provider: "ses", req: SignRequest{PrivateKey: sns.PrivateKey, SignatureVersion: "2", TopicARN: "arn:aws-cn:sns:cn-north-1:123456789012:t"},
			cfg: Config{Certificates: []string{sns.Certificate}, TopicARNs: []string{"arn:aws-cn:sns:cn-north-1:123456789012:t"}}, wrong: Config{Certificates: []string{sns2.Certificate}}},
		{name: "mailgun", provider: "mailgun", req: SignRequest{Secret: "key-1", ID: "tok"},
			cfg: Config{Secrets: []string{"key-1"}}, wrong: Config{Secrets: []string{"key-2"}}, wantID: "tok"},
		{name: "twilio json", provider: "twilio", req: SignRequest{Secret: "tok", URL: "https://example.com/hook?a=1"},
			cfg: Config{Secrets: []string{"tok"}, URL: "https://example.com/hook"}, wrong: Config{Secrets: []string{"tol"}}, reqURL: "https://example.com/hook"},
		{name: "twilio form, url from the request", provider: "twilio", req: SignRequest{Secret: "tok", URL: "http://localhost:8080/hooks/twilio", Body: form},
			cfg: Config{Secrets: []string{"tok"}}, wrong: Config{Secrets: []string{"tol"}}, reqURL: "http://localhost:8080/hooks/twilio"},
		{name: "mandrill", provider: "mandrill", req: SignRequest{Secret: "k", URL: "https://example.com/hooks/mandrill?x=1"},
			cfg: Config{Secrets: []string{"k"}, URL: "https://example.com/hooks/mandrill?x=1"}, wrong: Config{Secrets: []string{"l"}, URL: "https://example.com/hooks/mandrill?x=1"},
			reqURL: "https://example.com/hooks/mandrill"},
		{name: "postmark basic", provider: "postmark", req: SignRequest{Username: "u", Password: "p"},
			cfg: Config{Username: "u", Password: "p"}, wrong: Config{Username: "u", Password: "q"}},
		{name: "postmark header", provider: "postmark", req: SignRequest{Header: "X-Token", Secret: "tk"},
			cfg: Config{Header: "X-Token", Secrets: []string{"tk"}}, wrong: Config{Header: "X-Token", Secrets: []string{"tl"}}},
		{name: "contentful", provider: "contentful", req: SignRequest{Secret: cfS1, URL: "https://example.com/hook?x=1", ID: "dlv-1"},
			cfg: Config{Secrets: []string{cfS1}}, wrong: Config{Secrets: []string{cfS2}}, wantID: "dlv-1", reqURL: "https://example.com/hook"},
		// zoom: signed through the recipe engine (no signer of its own).
		{name: "zoom", provider: "zoom", req: SignRequest{Secret: "zs"},
			cfg: Config{Secrets: []string{"zs"}}, wrong: Config{Secrets: []string{"zt"}}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen[Canonical(tt.provider)] = true
			req := tt.req
			if req.Body == nil {
				req.Body = body
			}
			req.Now = now
			s, err := Sign(tt.provider, req)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if s.Header.Get("Content-Type") == "" {
				t.Error("no Content-Type")
			}
			if !s.BodyRewritten && !bytes.Equal(s.Body, req.Body) {
				t.Error("body changed but BodyRewritten is false")
			}
			res, err := signVerify(t, tt.provider, tt.cfg, tt.reqURL, s, now)
			if err != nil {
				t.Fatalf("verifier refused the signed delivery: %v", err)
			}
			if tt.wantID != "" && res.SignedID != tt.wantID {
				t.Errorf("SignedID = %q, want %q", res.SignedID, tt.wantID)
			}
			// Another secret or key: refused.
			if _, err := signVerify(t, tt.provider, tt.wrong, tt.reqURL, s, now); !errors.Is(err, ErrSignature) && !errors.Is(err, ErrCredentials) && !errors.Is(err, ErrMalformed) {
				t.Errorf("other key: err = %v, want a refusal", err)
			}
			// A changed body: refused (postmark signs nothing, so it passes).
			tampered := *s
			tampered.Body = bytes.Replace(bytes.Clone(s.Body), []byte("1"), []byte("2"), 1)
			if bytes.Equal(tampered.Body, s.Body) {
				tampered.Body = append(bytes.Clone(s.Body), ' ')
			}
			_, err = signVerify(t, tt.provider, tt.cfg, tt.reqURL, &tampered, now)
			if c := Canonical(tt.provider); c == "postmark" || c == "mailgun" {
				// Neither signs the body (see their verifiers); the
				// mailgun change lands in the signature block or the data.
				return
			}
			if err == nil {
				t.Error("verifier accepted a changed body")
			}
			// Old: refused where a timestamp is signed.
			if tv, _ := New(tt.provider, tt.cfg); tv != nil {
				if ts, ok := tv.(Timestamped); ok && ts.HasTimestamp() {
					if _, err := signVerify(t, tt.provider, tt.cfg, tt.reqURL, s, now.Add(time.Hour)); !errors.Is(err, ErrTimestamp) {
						t.Errorf("an hour later: err = %v, want ErrTimestamp", err)
					}
				}
			}
		})
	}
	// Providers signed through the recipe engine without a case of their
	// own (recipe presets): a generic round trip.
	for _, n := range SignerNames() {
		if seen[Canonical(n)] || !recipeBased(n) {
			continue
		}
		seen[Canonical(n)] = true
		t.Run("recipe preset "+n, func(t *testing.T) {
			u := probeURL(n) // presets that sign a url
			s, err := Sign(n, SignRequest{Secret: probeSecret, Body: body, Now: now, URL: u})
			if err != nil {
				t.Fatal(err)
			}
			cfg := Config{Secrets: []string{probeSecret}, URL: u}
			if _, err := signVerify(t, n, cfg, "", s, now); err != nil {
				t.Fatalf("verifier refused the signed delivery: %v", err)
			}
			tampered := *s
			tampered.Body = append(bytes.Clone(s.Body), ' ')
			v, _ := New(n, cfg)
			if bs, ok := v.(BodySigner); ok && !bs.SignsBody() {
				return // a token scheme (gitlab) signs no body
			}
			if _, err := signVerify(t, n, cfg, "", &tampered, now); err == nil {
				t.Error("verifier accepted a changed body")
			}
		})
	}
	for _, n := range SignerNames() {
		if !seen[Canonical(n)] && !presetsMoreSigned[Canonical(n)] { // presets_aliases_sign_test.go
			t.Errorf("signer %s has no round-trip case", n)
		}
	}
}

// TestSignPublishedVectors: the signers reproduce the providers' published
// examples byte for byte (the same vectors the verifiers' tests cite; see
// the constants' comments in those files).
func TestSignPublishedVectors(t *testing.T) {
	mandrillForm, err := os.ReadFile("testdata/mandrill/click_with_signature.form")
	if err != nil {
		t.Fatal(err)
	}
	form := func(v url.Values) []byte { return []byte(v.Encode()) }
	swSeed := "whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=" // the Standard Webhooks Go test's seed
	tests := []struct {
		name     string
		provider string
		req      SignRequest
		header   string // header to compare
		want     string
	}{
		{"standard webhooks v1 (Standard Webhooks and Svix libraries)", "standard_webhooks",
			SignRequest{Secret: swSecret, ID: swID, Now: swNow, Body: []byte(swBody)}, "webhook-signature", "v1," + swV1},
		{"svix headers", "svix",
			SignRequest{Secret: swBareKey, ID: swID, Now: swNow, Body: []byte(swBody)}, "svix-signature", "v1," + swV1},
		{"standard webhooks v1a (Go library, seed)", "standard_webhooks",
			SignRequest{PrivateKey: swSeed, ID: swID, Now: swNow, Body: []byte(swBody)}, "webhook-signature", "v1a," + swV1a},
		{"svix v1a (svix-server whsk_)", "svix",
			SignRequest{PrivateKey: svixWhsk, ID: swID, Now: swNow, Body: []byte(swBody)}, "svix-signature", "v1a," + svixV1a},
		{"stripe (stripe-dotnet)", "stripe",
			SignRequest{Secret: stripeDotnetSecret, Now: time.Unix(stripeDotnetT, 0), Body: []byte(stripeDotnetBody)}, "Stripe-Signature", "t=1533204620,v1=" + stripeDotnetV1},
		{"stripe (stripe-go)", "stripe",
			SignRequest{Secret: stripeGoSecret, Now: time.Unix(stripeGoT, 0), Body: []byte(stripeGoBody)}, "Stripe-Signature", stripeGoHeader},
		{"github (GitHub docs)", "github",
			SignRequest{Secret: ghDocsSecret, Body: []byte(ghDocsBody)}, "X-Hub-Signature-256", "sha256=" + ghDocsSig},
		{"github (octokit)", "github",
			SignRequest{Secret: ghOctoSecret, Body: []byte(ghOctoBody)}, "X-Hub-Signature-256", "sha256=" + ghOctoSig},
		{"slack (Slack docs)", "slack",
			SignRequest{Secret: slackDocsSecret, Now: time.Unix(1531420618, 0), Body: []byte(slackDocsBody)}, "X-Slack-Signature", "v0=" + slackDocsSig},
		{"slack (slack-go)", "slack",
			SignRequest{Secret: slackGoSecret, Now: time.Unix(1531431954, 0), Body: []byte(slackGoBody)}, "X-Slack-Signature", "v0=" + slackGoSig},
		{"shopify (shopify-app-js)", "shopify",
			SignRequest{Secret: shopifySecret, Body: []byte(shopifyBody)}, "X-Shopify-Hmac-Sha256", shopifySig},
		{"paddle (paddle-go-sdk)", "paddle",
			SignRequest{Secret: paddleGoSecret, Now: time.Unix(paddleGoTS, 0), Body: []byte(paddleGoBody)}, "Paddle-Signature", paddleGoHeader},
		{"paddle (paddle-node-sdk)", "paddle",
			SignRequest{Secret: paddleNodeSecret, Now: time.Unix(paddleNodeTS, 0), Body: []byte(paddleNodeBody)}, "Paddle-Signature", paddleNodeHeader},
		{"maildesk (independent, maildesk_test.go)", "maildesk",
			SignRequest{Secret: maildeskSecret, Now: time.Unix(maildeskTS, 0), Body: []byte(maildeskBody)}, "X-Maildesk-Signature", maildeskHeader},
		{"autosend (independent, autosend_test.go)", "autosend",
			SignRequest{Secret: autosendSecret, Now: time.UnixMilli(1699790400000), Body: []byte(autosendBody)}, "X-Webhook-Signature", autosendSig},
		{"hmac recipe, github docs", "hmac",
			SignRequest{Secret: rcGhSecret, Recipe: &recipeGitHub, Body: []byte(rcGhBody)}, "X-Hub-Signature-256", "sha256=" + rcGhSig256},
		{"hmac recipe, stripe-dotnet", "hmac",
			SignRequest{Secret: rcStripeSecret, Recipe: &recipeStripe, Now: time.Unix(rcStripeTS, 0), Body: []byte(stripeDotnetBody)}, "Stripe-Signature", "t=1533204620,v1=" + rcStripeV1},
		{"hmac recipe, standard webhooks", "hmac",
			SignRequest{Secret: rcSwSecret, Recipe: &recipeStandard, ID: rcSwID, Now: time.Unix(rcSwTS, 0), Body: []byte(rcSwBody)}, "webhook-signature", "v1," + rcSwSig},
		{"hmac recipe, sha512 base64url ms id (independent)", "hmac",
			SignRequest{Secret: rcX5Secret, Recipe: &recipeX5, ID: rcX5ID, Now: time.UnixMilli(1700000000123), Body: []byte(rcX5Body)}, "X-Sig", "sha512=" + rcX5Sig},
		{"zoom (independent, zoom_test.go)", "zoom",
			SignRequest{Secret: zoomSecret, Now: time.Unix(1654503849, 0), Body: []byte(zoomEvent)}, "x-zm-signature", "v0=" + zoomEventSig},
		{"twilio form (twilio-python)", "twilio",
			SignRequest{Secret: twilioToken, URL: twilioURL, Body: form(twilioPyParams)}, "X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{"twilio json bodySHA256 (twilio-go)", "twilio",
			SignRequest{Secret: twilioToken, URL: "https://mycompany.com/myapp.php", Body: []byte(twilioBody)}, "X-Twilio-Signature", "y77kIzt2vzLz71DgmJGsen2scGs="},
		{"mandrill (mandrill-rails)", "mandrill",
			SignRequest{Secret: mandrillKey, URL: mandrillURL, Body: mandrillForm}, "X-Mandrill-Signature", mandrillSig},
		{"mandrill with query (independent, mandrill_test.go)", "mandrill",
			SignRequest{Secret: "k-independent", URL: mandrillQueryURL, Body: []byte(`[{"event":"send","_id":"abc"}]`)}, "X-Mandrill-Signature", mandrillQuerySig},
		{"postmark basic (RFC 7617 section 2)", "postmark",
			SignRequest{Username: "Aladdin", Password: "open sesame"}, "Authorization", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Sign(tt.provider, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Header.Get(tt.header); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.header, got, tt.want)
			}
		})
	}

	// Twilio: the query the JSON delivery must carry is the go vector's.
	s, _ := Sign("twilio", SignRequest{Secret: twilioToken, URL: "https://mycompany.com/myapp.php", Body: []byte(twilioBody)})
	if s.Query != "bodySHA256="+twilioBodyHash {
		t.Errorf("twilio query = %q", s.Query)
	}
	// Mandrill: the JSON body becomes the form of the independent vector.
	s, _ = Sign("mandrill", SignRequest{Secret: "k-independent", URL: mandrillQueryURL, Body: []byte(`[{"event":"send","_id":"abc"}]`)})
	if !bytes.Equal(s.Body, mandrillQueryBody) || s.Query != "source=mc" {
		t.Errorf("mandrill body %q query %q", s.Body, s.Query)
	}
}

// TestSignMailgunVector: the signature block of mailgun-php's vector.
func TestSignMailgunVector(t *testing.T) {
	s, err := Sign("mailgun", SignRequest{Secret: mailgunKey, ID: mailgunToken, Now: time.Unix(1403645220, 0),
		Body: []byte(`{"event-data":{"id":"` + mailgunEventID + `","event":"delivered"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Signature map[string]string `json:"signature"`
		EventData map[string]string `json:"event-data"`
	}
	if err := json.Unmarshal(s.Body, &got); err != nil {
		t.Fatalf("body %s: %v", s.Body, err)
	}
	want := map[string]string{"timestamp": mailgunTimestamp, "token": mailgunToken, "signature": mailgunSig}
	for k, v := range want {
		if got.Signature[k] != v {
			t.Errorf("signature.%s = %q, want %q", k, got.Signature[k], v)
		}
	}
	if got.EventData["id"] != mailgunEventID {
		t.Errorf("event-data not kept: %s", s.Body)
	}
	res, err := signVerify(t, "mailgun", Config{Secrets: []string{mailgunKey}, Tolerance: -1}, "", s, time.Now())
	if err != nil || res.ID != mailgunEventID {
		t.Fatalf("verify: %v %+v", err, res)
	}
}

// TestSignMailChannelsVector: the digest and Signature-Input of the
// fixture in mailchannels_test.go (made with openssl), signed with the
// RFC 9421 Appendix B.1.4 test-key-ed25519 private key; the signature is
// the one openssl makes of that signature base with that key:
//
//	printf '"content-digest": %s\n"@signature-params": %s' "$D1" "$P1" > base1   # as in mailchannels_test.go
//	openssl pkeyutl -sign -inkey rfc9421-ed25519.pem -rawin -in base1 | base64 -w0
func TestSignMailChannelsVector(t *testing.T) {
	const rfcPriv = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n"
	const wantSig = "sig_1=:+bPfuS6s/76finTtAcKbd2nSwf8GXmtH+n1cL2Gv1tvNKxw/m06/h3y44vyP9VkB4ttbQMQvzU7gm1mB9hI1AQ==:"
	s, err := Sign("mailchannels", SignRequest{PrivateKey: rfcPriv, KeyID: "mckey", Now: time.Unix(mcCreated1, 0), Body: []byte(mcBody1)})
	if err != nil {
		t.Fatal(err)
	}
	for h, want := range map[string]string{"Content-Digest": mcDigest1, "Signature-Input": mcInput1, "Signature": wantSig} {
		if got := s.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	// The RFC's public key verifies it through the verifier.
	if _, err := signVerify(t, "mailchannels", Config{PublicKeys: []PublicKey{{KeyID: "mckey", Key: rfc9421Ed25519Key}}}, "", s, time.Unix(mcCreated1, 0)); err != nil {
		t.Fatal(err)
	}
}

// TestSignSNSVector: the signatures openssl makes of the string to sign
// (sign_fixtures_test.go), and the envelope the verifier reads.
func TestSignSNSVector(t *testing.T) {
	for _, tc := range []struct{ version, want string }{{"1", signSNSSigV1}, {"2", signSNSSigV2}, {"", signSNSSigV1}} {
		ts, _ := time.Parse(time.RFC3339Nano, "2012-05-02T00:54:06.655Z")
		s, err := Sign("sns", SignRequest{PrivateKey: signSNSKey, ID: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", Now: ts,
			TopicARN: "arn:aws:sns:us-west-2:123456789012:MyTopic", SignatureVersion: tc.version, Body: []byte(`{"hello":"world"}`)})
		if err != nil {
			t.Fatal(err)
		}
		m, err := snsParse(s.Body)
		if err != nil {
			t.Fatalf("envelope: %v\n%s", err, s.Body)
		}
		if m["Signature"] != tc.want {
			t.Errorf("version %q: Signature = %q, want %q", tc.version, m["Signature"], tc.want)
		}
		if m["Message"] != `{"hello":"world"}` || m["Type"] != "Notification" || !strings.HasPrefix(m["SigningCertURL"], "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-") {
			t.Errorf("envelope fields: %v", m)
		}
	}
}

// TestSignRefusals: bad input gets one clear error, which never quotes a
// secret or a key.
func TestSignRefusals(t *testing.T) {
	sg := mustKeys(t, "sendgrid")
	mc := mustKeys(t, "mailchannels")
	body := []byte(`{}`)
	tests := []struct {
		name, provider string
		req            SignRequest
		want           string
	}{
		{"unknown provider", "nope", SignRequest{Secret: "s3cr3t"}, `unknown provider "nope"`},
		{"github without secret", "github", SignRequest{}, "needs a secret"},
		{"stripe without secret", "stripe", SignRequest{}, "needs a secret"},
		{"hmac without recipe", "hmac", SignRequest{Secret: "s3cr3t"}, "needs an hmac recipe"},
		{"hmac recipe error", "hmac", SignRequest{Secret: "s3cr3t", Recipe: &HMACRecipe{SignatureHeader: "X", Hash: "md5"}}, `hash "md5" is not one of`},
		{"hmac bad base64 secret", "hmac", SignRequest{Secret: "s3cr3t!!", Recipe: &HMACRecipe{SignatureHeader: "X", SecretEncoding: "base64"}}, "secret 1 is not valid base64"},
		{"standard webhooks nothing", "standard_webhooks", SignRequest{}, "needs a secret"},
		{"standard webhooks whpk as key", "standard_webhooks", SignRequest{PrivateKey: "whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g="}, "whpk_ key is public"},
		{"standard webhooks bad secret", "standard_webhooks", SignRequest{Secret: "whsec_!!s3cr3t"}, "not whsec_ base64"},
		{"sendgrid without key", "sendgrid", SignRequest{}, "needs a private key"},
		{"sendgrid with ed25519 key", "sendgrid", SignRequest{PrivateKey: mc.PrivateKey}, "not an ECDSA P-256 key"},
		{"mailchannels with ecdsa key", "mailchannels", SignRequest{PrivateKey: sg.PrivateKey}, "not an Ed25519 key"},
		{"mailchannels bad key id", "mailchannels", SignRequest{PrivateKey: mc.PrivateKey, KeyID: `a"b`}, "key id must be"},
		{"sns with ecdsa key", "sns", SignRequest{PrivateKey: sg.PrivateKey}, "not an RSA key"},
		{"sns bad topic", "sns", SignRequest{PrivateKey: signSNSKey, TopicARN: "arn:aws:s3:::b"}, "not an sns topic arn"},
		{"sns foreign certificate", "sns", SignRequest{PrivateKey: signSNSKey, Certificate: mustKeys(t, "sns").Certificate}, "does not hold the private key"},
		{"sns version", "sns", SignRequest{PrivateKey: signSNSKey, SignatureVersion: "3"}, "signature version"},
		{"mailgun body not json", "mailgun", SignRequest{Secret: "s3cr3t", Body: []byte("a=b")}, "not JSON"},
		{"twilio without url", "twilio", SignRequest{Secret: "s3cr3t"}, "needs the url"},
		{"twilio relative url", "twilio", SignRequest{Secret: "s3cr3t", URL: "/hook"}, "absolute http or https url"},
		{"mandrill repeated field", "mandrill", SignRequest{Secret: "s3cr3t", URL: "https://e.com/", Body: []byte("a=1&a=2")}, "repeats a form field"},
		{"postmark nothing", "postmark", SignRequest{}, "needs username and password"},
		{"postmark half basic", "postmark", SignRequest{Username: "u"}, "needs both username and password"},
		{"private key not pem", "sendgrid", SignRequest{PrivateKey: "s3cr3t"}, "private key is not PEM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.Body == nil {
				tt.req.Body = body
			}
			_, err := Sign(tt.provider, tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "PRIVATE") {
				t.Errorf("error quotes the secret or key: %v", err)
			}
		})
	}
	if _, err := Sign("sns", SignRequest{PrivateKey: signSNSKey, Body: []byte{0xff}}); err == nil {
		t.Error("sns accepted a non-UTF-8 message")
	}
}

// TestGenerateKey: each pair is in the form the gate takes, and the
// private half signs what the public half verifies.
func TestGenerateKey(t *testing.T) {
	// Each provider registers its own generator: none may go missing.
	if got, want := strings.Join(KeygenProviders(), ","), "discord,mailchannels,paypal,sendgrid,sns,standard_webhooks,telnyx"; got != want {
		t.Errorf("KeygenProviders() = %s, want %s", got, want)
	}
	for _, p := range KeygenProviders() {
		k := mustKeys(t, p)
		if p == "sns" || p == "paypal" {
			if k.Certificate == "" || k.PublicKey != "" {
				t.Errorf("sns pair: %+v", k)
			}
			continue
		}
		if k.PublicKey == "" || k.PrivateKey == "" {
			t.Errorf("%s pair incomplete", p)
		}
	}
	if _, err := GenerateKey("github"); err == nil || !strings.Contains(err.Error(), "uses no key pair") {
		t.Errorf("github: %v", err)
	}
	if _, err := GenerateKey("nope"); err == nil {
		t.Error("unknown provider accepted")
	}
	k := mustKeys(t, "svix")
	if !strings.HasPrefix(k.PrivateKey, "whsk_") || !strings.HasPrefix(k.PublicKey, "whpk_") {
		t.Errorf("svix pair: %s", k.PublicKey)
	}
	// The whsk_ form is seed ‖ public key, as Svix prints it.
	priv, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(k.PrivateKey, "whsk_"))
	pub, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(k.PublicKey, "whpk_"))
	if len(priv) != 64 || !bytes.Equal(priv[32:], pub) {
		t.Error("whsk_ is not seed || public key")
	}
}

// BenchmarkSign: the cost of one signed delivery (1 KiB body).
func BenchmarkSign(b *testing.B) {
	body := bytes.Repeat([]byte("a"), 1024)
	sg, mc := mustKeysB(b, "sendgrid"), mustKeysB(b, "mailchannels")
	for _, bc := range []struct {
		name, provider string
		req            SignRequest
	}{
		{"github", "github", SignRequest{Secret: "s"}},
		{"standard_webhooks", "standard_webhooks", SignRequest{Secret: swSecret, ID: "msg_1"}},
		{"sendgrid", "sendgrid", SignRequest{PrivateKey: sg.PrivateKey}},
		{"mailchannels", "mailchannels", SignRequest{PrivateKey: mc.PrivateKey}},
		{"sns", "sns", SignRequest{PrivateKey: signSNSKey}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bc.req.Body = body
			for b.Loop() {
				if _, err := Sign(bc.provider, bc.req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func mustKeysB(b *testing.B, provider string) *KeyPair {
	k, err := GenerateKey(provider)
	if err != nil {
		b.Fatal(err)
	}
	return k
}
