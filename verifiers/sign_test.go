package verifiers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
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
	dk, dk2, tk, tk2 := mustKeys(t, "discord"), mustKeys(t, "discord"), mustKeys(t, "telnyx"), mustKeys(t, "telnyx")
	pp, pp2 := mustKeys(t, "paypal"), mustKeys(t, "paypal")
	adyen := []byte(adyenBody(adyenUnsigned(adyenItemGo), adyenUnsigned(adyenItemRb)))
	const swAlias, swAliasOther = "whsec_" + "c3RhbmRhcmQtd2ViaG9va3MtdGVzdC1rZXk=", "whsec_b3RoZXI="
	const aliasURL = "https://example.com/hook"
	pk := func(k string) []PublicKey { return []PublicKey{{Key: k}} }

	tests := []struct {
		name     string
		provider string
		req      SignRequest
		cfg      Config // verifier config that must accept
		wrong    Config // verifier config that must refuse (another secret or key)
		reqURL   string
		wantID   string              // SignedID wanted, when the scheme signs one
		tamper   func([]byte) []byte // the change to the body; nil: the first "1" made "2"
		unsigned bool                // credentials only: a changed body still passes
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
			cfg: Config{Username: "u", Password: "p"}, wrong: Config{Username: "u", Password: "q"}, unsigned: true},
		{name: "postmark header", provider: "postmark", req: SignRequest{Header: "X-Token", Secret: "tk"},
			cfg: Config{Header: "X-Token", Secrets: []string{"tk"}}, wrong: Config{Header: "X-Token", Secrets: []string{"tl"}}, unsigned: true},
		{name: "contentful", provider: "contentful", req: SignRequest{Secret: cfS1, URL: "https://example.com/hook?x=1", ID: "dlv-1"},
			cfg: Config{Secrets: []string{cfS1}}, wrong: Config{Secrets: []string{cfS2}}, wantID: "dlv-1", reqURL: "https://example.com/hook"},
		// zoom: signed through the recipe engine (no signer of its own).
		{name: "zoom", provider: "zoom", req: SignRequest{Secret: "zs"},
			cfg: Config{Secrets: []string{"zs"}}, wrong: Config{Secrets: []string{"zt"}}},
		{name: "twitch", provider: "twitch", req: SignRequest{Secret: "s3cret", Body: []byte(twitchBody)}, // an EventSub notification
			cfg: Config{Secrets: []string{"s3cret"}}, wrong: Config{Secrets: []string{"other"}},
			tamper: func(b []byte) []byte { return bytes.Replace(b, []byte("testFromUser"), []byte("testFromUsex"), 1) }},
		{name: "discord", provider: "discord", req: SignRequest{PrivateKey: dk.PrivateKey},
			cfg: Config{PublicKeys: pk(dk.PublicKey)}, wrong: Config{PublicKeys: pk(dk2.PublicKey)}},
		{name: "telnyx", provider: "telnyx", req: SignRequest{PrivateKey: tk.PrivateKey},
			cfg: Config{PublicKeys: pk(tk.PublicKey)}, wrong: Config{PublicKeys: pk(tk2.PublicKey)}},
		{name: "adyen", provider: "adyen", req: SignRequest{Secret: adyenKeyGo, Body: adyen},
			cfg: Config{Secrets: []string{adyenKeyGo}}, wrong: Config{Secrets: []string{adyenKeyRuby}},
			tamper: func(b []byte) []byte { return bytes.Replace(b, []byte("1130"), []byte("1131"), 1) }},
		{name: "paypal", provider: "paypal", req: SignRequest{PrivateKey: pp.PrivateKey, KeyID: "WH-1"},
			cfg: Config{WebhookID: "WH-1", Certificates: []string{pp.Certificate}}, wrong: Config{WebhookID: "WH-1", Certificates: []string{pp2.Certificate}}},
		// The aliases' signers (presets_<group>.go) and the own-code presets'.
		{name: "brex", provider: "brex", req: SignRequest{Secret: swAlias},
			cfg: Config{Secrets: []string{swAlias}}, wrong: Config{Secrets: []string{swAliasOther}}, reqURL: aliasURL},
		{name: "clerk", provider: "clerk", req: SignRequest{Secret: swAlias},
			cfg: Config{Secrets: []string{swAlias}}, wrong: Config{Secrets: []string{swAliasOther}}, reqURL: aliasURL},
		{name: "loops", provider: "loops", req: SignRequest{Secret: swAlias},
			cfg: Config{Secrets: []string{swAlias}}, wrong: Config{Secrets: []string{swAliasOther}}, reqURL: aliasURL},
		{name: "openai", provider: "openai", req: SignRequest{Secret: swAlias},
			cfg: Config{Secrets: []string{swAlias}}, wrong: Config{Secrets: []string{swAliasOther}}, reqURL: aliasURL},
		{name: "replicate", provider: "replicate", req: SignRequest{Secret: swAlias},
			cfg: Config{Secrets: []string{swAlias}}, wrong: Config{Secrets: []string{swAliasOther}}, reqURL: aliasURL},
		{name: "mailchimp", provider: "mailchimp", req: SignRequest{Secret: "k", URL: aliasURL},
			cfg: Config{Secrets: []string{"k"}, URL: aliasURL}, wrong: Config{Secrets: []string{"x"}, URL: aliasURL}, reqURL: aliasURL},
		{name: "mailjet", provider: "mailjet", req: SignRequest{Username: "u", Password: "p"},
			cfg: Config{Username: "u", Password: "p"}, wrong: Config{Username: "u", Password: "q"}, reqURL: aliasURL, unsigned: true},
		{name: "sparkpost", provider: "sparkpost", req: SignRequest{Username: "u", Password: "p"},
			cfg: Config{Username: "u", Password: "p"}, wrong: Config{Username: "u", Password: "q"}, reqURL: aliasURL, unsigned: true},
		{name: "vmware", provider: "vmware", req: SignRequest{Username: "u", Password: "p"},
			cfg: Config{Username: "u", Password: "p"}, wrong: Config{Username: "u", Password: "q"}, reqURL: aliasURL, unsigned: true},
		{name: "brevo", provider: "brevo", req: SignRequest{Secret: "tok"},
			cfg: Config{Secrets: []string{"tok"}}, wrong: Config{Secrets: []string{"other"}}, reqURL: aliasURL, unsigned: true},
		{name: "graphcms", provider: "graphcms", req: SignRequest{Secret: "s"},
			cfg: Config{Secrets: []string{"s"}}, wrong: Config{Secrets: []string{"x"}}, reqURL: aliasURL},
		{name: "hygraph", provider: "hygraph", req: SignRequest{Secret: "s", KeyID: "staging-2"},
			cfg: Config{Secrets: []string{"s"}}, wrong: Config{Secrets: []string{"x"}}, reqURL: aliasURL},
		{name: "plivo", provider: "plivo", req: SignRequest{Secret: "tok", URL: "https://example.com/plivo?a=b", Body: []byte("CallUUID=1&Event=StartApp")},
			cfg: Config{Secrets: []string{"tok"}, URL: "https://example.com/plivo"}, wrong: Config{Secrets: []string{"x"}, URL: "https://example.com/plivo"},
			reqURL: "https://internal/plivo"},
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
			if _, err := signVerify(t, tt.provider, tt.wrong, tt.reqURL, s, now); !errors.Is(err, ErrSignature) && !errors.Is(err, ErrCredentials) {
				t.Errorf("other key: err = %v, want a refusal", err)
			}
			// A changed body: refused, unless only credentials are checked.
			tampered := *s
			if tt.tamper != nil {
				tampered.Body = tt.tamper(s.Body)
			} else {
				tampered.Body = bytes.Replace(bytes.Clone(s.Body), []byte("1"), []byte("2"), 1)
			}
			if bytes.Equal(tampered.Body, s.Body) {
				tampered.Body = append(bytes.Clone(s.Body), ' ')
			}
			_, err = signVerify(t, tt.provider, tt.cfg, tt.reqURL, &tampered, now)
			if tt.unsigned {
				if err != nil {
					t.Errorf("credentials-only provider refused a changed body: %v", err)
				}
				return
			}
			if Canonical(tt.provider) == "mailgun" {
				// It signs no body (see its verifier); the change lands in
				// the signature block or the data.
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
		if !seen[Canonical(n)] {
			t.Errorf("signer %s has no round-trip case", n)
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
		{"twitch without secret", "twitch", SignRequest{}, "needs a secret"},
		{"twitch bad id", "twitch", SignRequest{Secret: "s3cr3t", ID: "a b"}, "id must be"},
		{"twitch not eventsub", "twitch", SignRequest{Secret: "s3cr3t"}, "must be an EventSub message"},
		{"discord without key", "discord", SignRequest{}, "needs a private key"},
		{"telnyx bad key", "telnyx", SignRequest{PrivateKey: "s3cr3t"}, "private key"},
		{"paypal without webhook id", "paypal", SignRequest{PrivateKey: "x"}, "needs the webhook id"},
		{"paypal bad webhook id", "paypal", SignRequest{PrivateKey: "x", KeyID: "a b"}, "webhook id must be"},
		{"paypal key not pem", "paypal", SignRequest{PrivateKey: "s3cr3t", KeyID: "WH-1"}, "not PEM"},
		{"adyen key not hex", "adyen", SignRequest{Secret: "s3cr3t"}, "not a hex HMAC key"},
		{"adyen no items", "adyen", SignRequest{Secret: adyenKeyGo, Body: []byte(`{"notificationItems":[]}`)}, "no notificationItems"},
		{"adyen not a notification", "adyen", SignRequest{Secret: adyenKeyGo, Body: []byte(`[1]`)}, "not an adyen notification"},
		{"adyen item without request item", "adyen", SignRequest{Secret: adyenKeyGo, Body: []byte(`{"notificationItems":[{"x":1}]}`)}, "no NotificationRequestItem"},
		{"adyen colon in a signed field", "adyen", SignRequest{Secret: adyenKeyGo, Body: []byte(adyenBody(strings.Replace(adyenUnsigned(adyenItemGo), `"eventCode":"EVENT"`, `"eventCode":"EV:ENT"`, 1)))}, "contains ':'"},
		{"adyen trailing data", "adyen", SignRequest{Secret: adyenKeyGo, Body: []byte(adyenBody(adyenUnsigned(adyenItemGo)) + "{}")}, "after the json"},
		{"plivo json body", "plivo", SignRequest{Secret: "s3cr3t", URL: "https://example.com/p", Body: []byte(`{"a":1}`)}, "body must be a form"},
		{"hygraph bad environment", "graphcms", SignRequest{Secret: "s3cr3t", KeyID: `a"b`}, "must be letters, digits"},
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
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "PRIVATE") || strings.Contains(err.Error(), adyenKeyGo) {
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
	// discord's public key is hex, telnyx's base64, as their gates take
	// them, and each belongs to its private key.
	for _, p := range []string{"discord", "telnyx"} {
		k := mustKeys(t, p)
		var pub []byte
		var err error
		if p == "discord" {
			pub, err = hex.DecodeString(k.PublicKey)
		} else {
			pub, err = base64.StdEncoding.DecodeString(k.PublicKey)
		}
		if err != nil || len(pub) != 32 {
			t.Fatalf("%s public key %q", p, k.PublicKey)
		}
		priv, err := parseEd25519Private(k.PrivateKey)
		if err != nil || !bytes.Equal(priv[32:], pub) {
			t.Errorf("%s: private key %v does not hold the public key", p, err)
		}
		if _, err := New(p, Config{Provider: p, PublicKeys: []PublicKey{{Key: k.PublicKey}}}); err != nil {
			t.Errorf("%s gate refuses the public key: %v", p, err)
		}
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
