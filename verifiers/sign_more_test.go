package verifiers

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The signers of sign_more.go have their round trips here, so
// TestSignRoundTrip's coverage check counts them.
func init() {
	for _, n := range []string{"twitch", "discord", "telnyx", "adyen", "paypal"} {
		presetsMoreSigned[n] = true
	}
}

// rfc8032Key is the PEM PKCS#8 private key of an RFC 8032 section 7.1 seed,
// built by hand (the DER prefix of discord_test.go's node command), not by
// the code under test.
func rfc8032Key(t *testing.T, seedHex string) string {
	t.Helper()
	der, err := hex.DecodeString("302e020100300506032b657004220420" + seedHex)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

const (
	rfc8032Seed1 = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60" // TEST 1
	rfc8032Seed2 = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb" // TEST 2
)

// adyenUnsigned strips the published hmacSignature from an item, for the
// signer to put back.
var adyenSigRE = regexp.MustCompile(`"hmacSignature":"[^"]*"`)

func adyenUnsigned(item string) string { return adyenSigRE.ReplaceAllString(item, `"other":"x"`) }

// adyenSigs reads the hmacSignature of each item of body.
func adyenSigs(t *testing.T, body []byte) []string {
	t.Helper()
	var m struct {
		NotificationItems []struct {
			NotificationRequestItem struct {
				AdditionalData map[string]string `json:"additionalData"`
			}
		} `json:"notificationItems"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("signed body: %v", err)
	}
	var out []string
	for _, it := range m.NotificationItems {
		out = append(out, it.NotificationRequestItem.AdditionalData["hmacSignature"])
	}
	return out
}

// TestSignMoreVectors: the signers reproduce the vectors the verifiers'
// tests cite (twitch_test.go: twitch_api2; discord_test.go and
// telnyx_test.go: node's crypto with the RFC 8032 keys, Ed25519 being
// deterministic; adyen_test.go: Adyen's SDKs).
func TestSignMoreVectors(t *testing.T) {
	now, _ := time.Parse(time.RFC3339Nano, twitchTS)
	s, err := Sign("twitch", SignRequest{Secret: twitchSecret, ID: twitchID, Body: []byte(twitchBody), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for h, want := range map[string]string{
		"Twitch-Eventsub-Message-Id": twitchID, "Twitch-Eventsub-Message-Timestamp": twitchTS,
		"Twitch-Eventsub-Message-Signature": "sha256=" + twitchSig, "Twitch-Eventsub-Message-Type": "notification",
	} {
		if got := s.Header.Get(h); got != want {
			t.Errorf("twitch %s = %q, want %q", h, got, want)
		}
	}

	unix := time.Unix(1700000000, 0)
	for _, tt := range []struct{ body, sig string }{{discordPingBody, discordPingSig}, {discordCmd, discordCmdSig}} {
		s, err := Sign("discord", SignRequest{PrivateKey: rfc8032Key(t, rfc8032Seed1), Body: []byte(tt.body), Now: unix})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Header.Get("X-Signature-Ed25519"); got != tt.sig || s.Header.Get("X-Signature-Timestamp") != discordTS {
			t.Errorf("discord signature %s, want %s", got, tt.sig)
		}
	}
	// The 32-byte seed in base64 is taken as well.
	seed, _ := hex.DecodeString(rfc8032Seed2)
	for _, key := range []string{rfc8032Key(t, rfc8032Seed2), base64.StdEncoding.EncodeToString(seed)} {
		s, err := Sign("telnyx", SignRequest{PrivateKey: key, Body: []byte(telnyxBody), Now: unix})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Header.Get("telnyx-signature-ed25519"); got != telnyxSig || s.Header.Get("telnyx-timestamp") != telnyxTS {
			t.Errorf("telnyx signature %s, want %s", got, telnyxSig)
		}
	}

	for _, tt := range []struct {
		name, key string
		items     []string
	}{
		{"go/node", adyenKeyGo, []string{adyenItemGo}},
		{"ruby", adyenKeyRuby, []string{adyenItemRb}},
		{"php", adyenKeyGo, []string{adyenItemPHP}},
		{"two items", adyenKeyGo, []string{adyenItemGo, adyenItemPHP}},
	} {
		var in, want []string
		for _, it := range tt.items {
			in = append(in, adyenUnsigned(it))
			want = append(want, adyenSigRE.FindString(it)[len(`"hmacSignature":"`):len(adyenSigRE.FindString(it))-1])
		}
		s, err := Sign("adyen", SignRequest{Secret: tt.key, Body: []byte(adyenBody(in...))})
		if err != nil {
			t.Fatalf("adyen %s: %v", tt.name, err)
		}
		if got := adyenSigs(t, s.Body); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("adyen %s: signatures %v, want %v", tt.name, got, want)
		}
		if !s.BodyRewritten {
			t.Errorf("adyen %s: body not marked rewritten", tt.name)
		}
	}
}

// TestSignPayPalVector: the signer reproduces paypal_test.go's OpenSSL
// signature (testdata/paypal: key.pem, body.json, sig.b64; the command
// is in paypal_test.go), RSA PKCS #1 v1.5 being deterministic.
func TestSignPayPalVector(t *testing.T) {
	body, sig, _, _ := paypalFixture(t)
	key, err := os.ReadFile("testdata/paypal/key.pem")
	if err != nil {
		t.Fatal(err)
	}
	now, _ := time.Parse(time.RFC3339, paypalTTime)
	s, err := Sign("paypal", SignRequest{PrivateKey: string(key), KeyID: paypalWebhook, ID: paypalTID, Body: []byte(body), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Header.Get("PAYPAL-TRANSMISSION-SIG"); got != sig {
		t.Errorf("signature %s, want %s", got, sig)
	}
	if s.Header.Get("PAYPAL-TRANSMISSION-TIME") != paypalTTime || s.Header.Get("PAYPAL-TRANSMISSION-ID") != paypalTID {
		t.Errorf("headers %v", s.Header)
	}
}

// TestSignMoreRoundTrip: each signer's delivery passes its verifier, and
// a changed body, another key and (where signed) an old timestamp do not.
func TestSignMoreRoundTrip(t *testing.T) {
	now := time.Now()
	body := []byte(`{"type":1,"data":{"id":"evt_1","n":1}}`)
	adyen := []byte(adyenBody(adyenUnsigned(adyenItemGo), adyenUnsigned(adyenItemRb)))
	dk, dk2, tk, tk2 := mustKeys(t, "discord"), mustKeys(t, "discord"), mustKeys(t, "telnyx"), mustKeys(t, "telnyx")
	pp, pp2 := mustKeys(t, "paypal"), mustKeys(t, "paypal")
	pk := func(k string) []PublicKey { return []PublicKey{{Key: k}} }
	tests := []struct {
		provider string
		req      SignRequest
		cfg      Config // the gate's
		other    Config // a gate with another secret or key
		tamper   func([]byte) []byte
	}{
		{"twitch", SignRequest{Secret: "s3cret"}, Config{Secrets: []string{"s3cret"}}, Config{Secrets: []string{"other"}},
			func(b []byte) []byte { return bytes.Replace(b, []byte("testFromUser"), []byte("testFromUsex"), 1) }},
		{"discord", SignRequest{PrivateKey: dk.PrivateKey}, Config{PublicKeys: pk(dk.PublicKey)}, Config{PublicKeys: pk(dk2.PublicKey)}, nil},
		{"telnyx", SignRequest{PrivateKey: tk.PrivateKey}, Config{PublicKeys: pk(tk.PublicKey)}, Config{PublicKeys: pk(tk2.PublicKey)}, nil},
		{"adyen", SignRequest{Secret: adyenKeyGo}, Config{Secrets: []string{adyenKeyGo}}, Config{Secrets: []string{adyenKeyRuby}},
			func(b []byte) []byte { return bytes.Replace(b, []byte("1130"), []byte("1131"), 1) }},
		{"paypal", SignRequest{PrivateKey: pp.PrivateKey, KeyID: "WH-1"}, Config{WebhookID: "WH-1", Certificates: []string{pp.Certificate}},
			Config{WebhookID: "WH-1", Certificates: []string{pp2.Certificate}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			tt.req.Now = now
			tt.req.Body = body
			switch tt.provider {
			case "adyen":
				tt.req.Body = adyen
			case "twitch": // an EventSub notification
				tt.req.Body = []byte(twitchBody)
			}
			s, err := Sign(tt.provider, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			tt.cfg.Provider, tt.other.Provider = tt.provider, tt.provider
			if _, err := signVerify(t, tt.provider, tt.cfg, "", s, now); err != nil {
				t.Fatalf("verifier refused the signed delivery: %v", err)
			}
			if tt.provider != "adyen" && !bytes.Equal(s.Body, tt.req.Body) {
				t.Errorf("body changed: %s", s.Body)
			}
			if _, err := signVerify(t, tt.provider, tt.other, "", s, now); !errors.Is(err, ErrSignature) {
				t.Errorf("another key: err = %v, want ErrSignature", err)
			}
			tampered := *s
			if tt.tamper != nil {
				tampered.Body = tt.tamper(s.Body)
			} else {
				tampered.Body = bytes.Replace(s.Body, []byte("evt_1"), []byte("evt_2"), 1)
			}
			if bytes.Equal(tampered.Body, s.Body) {
				t.Fatal("tamper changed nothing")
			}
			if _, err := signVerify(t, tt.provider, tt.cfg, "", &tampered, now); !errors.Is(err, ErrSignature) {
				t.Errorf("changed body: err = %v, want ErrSignature", err)
			}
			if v, _ := New(tt.provider, tt.cfg); v.(Timestamped).HasTimestamp() {
				if _, err := signVerify(t, tt.provider, tt.cfg, "", s, now.Add(time.Hour)); !errors.Is(err, ErrTimestamp) {
					t.Errorf("an hour later: err = %v, want ErrTimestamp", err)
				}
			}
		})
	}
}

// TestSignMoreRefusals: input the signers cannot sign is refused, and no
// error quotes the secret or key.
func TestSignMoreRefusals(t *testing.T) {
	tests := []struct {
		provider string
		req      SignRequest
		want     string
	}{
		{"twitch", SignRequest{Body: []byte("{}")}, "needs a secret"},
		{"twitch", SignRequest{Secret: "topsecret", ID: "a b", Body: []byte("{}")}, "id must be"},
		{"twitch", SignRequest{Secret: "topsecret", Body: []byte("{}")}, "must be an EventSub message"},
		{"discord", SignRequest{Body: []byte("{}")}, "needs a private key"},
		{"telnyx", SignRequest{PrivateKey: "topsecret", Body: []byte("{}")}, "private key"},
		{"paypal", SignRequest{PrivateKey: "x", Body: []byte("{}")}, "needs the webhook id"},
		{"paypal", SignRequest{PrivateKey: "x", KeyID: "a b", Body: []byte("{}")}, "webhook id must be"},
		{"paypal", SignRequest{PrivateKey: "topsecret", KeyID: "WH-1", Body: []byte("{}")}, "not PEM"},
		{"adyen", SignRequest{Secret: "topsecret", Body: []byte("{}")}, "not a hex HMAC key"},
		{"adyen", SignRequest{Secret: adyenKeyGo, Body: []byte(`{"notificationItems":[]}`)}, "no notificationItems"},
		{"adyen", SignRequest{Secret: adyenKeyGo, Body: []byte(`[1]`)}, "not an adyen notification"},
		{"adyen", SignRequest{Secret: adyenKeyGo, Body: []byte(`{"notificationItems":[{"x":1}]}`)}, "no NotificationRequestItem"},
		{"adyen", SignRequest{Secret: adyenKeyGo, Body: []byte(adyenBody(strings.Replace(adyenUnsigned(adyenItemGo), `"eventCode":"EVENT"`, `"eventCode":"EV:ENT"`, 1)))}, "contains ':'"},
		{"adyen", SignRequest{Secret: adyenKeyGo, Body: []byte(adyenBody(adyenUnsigned(adyenItemGo)) + "{}")}, "after the json"},
	}
	for _, tt := range tests {
		_, err := Sign(tt.provider, tt.req)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %q: err = %v, want %q", tt.provider, tt.req.Body, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), "topsecret") || strings.Contains(err.Error(), adyenKeyGo) {
			t.Errorf("%s: error quotes the secret: %v", tt.provider, err)
		}
	}
}

// TestGenerateKeyMore: discord's public key is hex, telnyx's base64, as
// their gates take them, and each belongs to its private key.
func TestGenerateKeyMore(t *testing.T) {
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
