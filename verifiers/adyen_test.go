package verifiers

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Adyen's library test vectors (key, item fields, hmacSignature), put in
// the JSON notification envelope of Adyen's docs
// (https://docs.adyen.com/development-resources/webhooks/webhook-types/#standard-webhooks):
//
//   - go: github:Adyen/adyen-go-api-library src/hmacvalidator/hmacvalidator_test.go
//     @045e75aaf40edd7d148d3177e97d8eb9dc466895 (also
//     github:Adyen/adyen-node-api-library src/__tests__/hmacValidator.spec.ts
//     @bd8fa55cef1bf522a1fd138600c29adcd4649338): signed string
//     "pspReference:originalReference:merchantAccount:reference:1000:EUR:EVENT:true".
//   - ruby: github:Adyen/adyen-ruby-api-library spec/utils/hmac_validator_spec.rb
//     (no originalReference: "7914073381342284::TestMerchant:TestPayment-1407325143704:1130:EUR:AUTHORISATION:true").
//   - php: github:Adyen/adyen-php-api-library tests/Adyen/Util/HmacSignatureTest.php
//     (the same item under the go key).
//
// Each reproduced with openssl before being copied:
//
//	printf '%s' "$signed" | openssl dgst -sha256 -mac HMAC -macopt hexkey:$key -binary | base64
const (
	adyenKeyGo   = "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00"
	adyenKeyRuby = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
	adyenItemGo  = `{"NotificationRequestItem":{"additionalData":{"hmacSignature":"ipnxGCaUZ4l8TUW75a71/ghd2Fe5ffvX0pV4TLTntIc="},"amount":{"currency":"EUR","value":1000},"eventCode":"EVENT","eventDate":"1970-01-01T00:00:00+01:00","merchantAccountCode":"merchantAccount","merchantReference":"reference","originalReference":"originalReference","paymentMethod":"VISA","pspReference":"pspReference","reason":"reason","success":"true"}}`
	adyenItemRb  = `{"NotificationRequestItem":{"additionalData":{"hmacSignature":"coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="},"amount":{"value":1130,"currency":"EUR"},"pspReference":"7914073381342284","eventCode":"AUTHORISATION","merchantAccountCode":"TestMerchant","merchantReference":"TestPayment-1407325143704","paymentMethod":"visa","success":"true"}}`
	adyenItemPHP = `{"NotificationRequestItem":{"additionalData":{"hmacSignature":"Ny9gS2veKo5E4w8/OL6xz1/wvT/hYkAXy1xNc/QvO4I="},"amount":{"value":1130,"currency":"EUR"},"pspReference":"7914073381342284","eventCode":"AUTHORISATION","merchantAccountCode":"TestMerchant","merchantReference":"TestPayment-1407325143704","success":"true"}}`
)

func adyenBody(items ...string) string {
	return `{"live":"false","notificationItems":[` + strings.Join(items, ",") + `]}`
}

func TestAdyenVerify(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		body    string
		wantErr error
		key     int
	}{
		{"go/node vector", []string{adyenKeyGo}, adyenBody(adyenItemGo), nil, 0},
		{"ruby vector", []string{adyenKeyRuby}, adyenBody(adyenItemRb), nil, 0},
		{"php vector", []string{adyenKeyGo}, adyenBody(adyenItemPHP), nil, 0},
		{"lower-case hex key", []string{strings.ToLower(adyenKeyGo)}, adyenBody(adyenItemGo), nil, 0},
		{"rotation", []string{adyenKeyRuby, adyenKeyGo}, adyenBody(adyenItemGo), nil, 1},
		{"two items, both verify", []string{adyenKeyGo}, adyenBody(adyenItemGo, adyenItemPHP), nil, 0},
		{"two items, two keys", []string{adyenKeyGo, adyenKeyRuby}, adyenBody(adyenItemRb, adyenItemGo), nil, 1},
		{"unsigned field changed (not signed by Adyen)", []string{adyenKeyGo}, adyenBody(strings.Replace(adyenItemGo, `"reason":"reason"`, `"reason":"other"`, 1)), nil, 0},

		{"ruby invalid hmac", []string{adyenKeyRuby}, adyenBody(strings.Replace(adyenItemRb, "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0=", "invalidHMACsign", 1)), ErrMalformed, 0},
		{"one item of two forged", []string{adyenKeyGo}, adyenBody(adyenItemGo, strings.Replace(adyenItemPHP, "1130", "1131", 1)), ErrSignature, 0},
		{"amount changed", []string{adyenKeyGo}, adyenBody(strings.Replace(adyenItemGo, "1000", "1001", 1)), ErrSignature, 0},
		{"success changed", []string{adyenKeyGo}, adyenBody(strings.Replace(adyenItemGo, `"success":"true"`, `"success":"false"`, 1)), ErrSignature, 0},
		{"wrong key", []string{adyenKeyRuby}, adyenBody(adyenItemGo), ErrSignature, 0},
		// The signed string is the same when colons move between fields:
		// refused before any MAC.
		{"colon in pspReference", []string{adyenKeyGo}, adyenBody(strings.Replace(adyenItemGo, `"pspReference":"pspReference"`, `"pspReference":"psp:Reference"`, 1)), ErrMalformed, 0},
		{"colon in eventCode", []string{adyenKeyGo}, adyenBody(strings.Replace(adyenItemGo, `"eventCode":"EVENT"`, `"eventCode":"EV:ENT"`, 1)), ErrMalformed, 0},
		{"fractional amount", []string{adyenKeyGo}, adyenBody(strings.Replace(adyenItemGo, "1000", "1000.0", 1)), ErrMalformed, 0},
		{"exponent amount", []string{adyenKeyGo}, adyenBody(strings.Replace(adyenItemGo, "1000", "1e3", 1)), ErrMalformed, 0},
		{"amount as string", []string{adyenKeyGo}, adyenBody(strings.Replace(adyenItemGo, "1000", `"1000"`, 1)), ErrMalformed, 0},
		// Duplicate and case-variant keys (Go's encoding/json matches
		// keys without case and keeps the last).
		{"duplicated pspReference", []string{adyenKeyGo}, adyenBody(strings.Replace(adyenItemGo, `"reason":"reason"`, `"reason":"reason","pspReference":"other"`, 1)), ErrMalformed, 0},
		{"case-variant duplicate", []string{adyenKeyGo}, adyenBody(strings.Replace(adyenItemGo, `"reason":"reason"`, `"reason":"reason","PSPreference":"other"`, 1)), ErrMalformed, 0},
		{"case-variant only", []string{adyenKeyGo}, adyenBody(strings.Replace(adyenItemGo, `"pspReference":`, `"PspReference":`, 1)), ErrMalformed, 0},
		{"duplicated amount value", []string{adyenKeyGo}, adyenBody(strings.Replace(adyenItemGo, `"value":1000`, `"value":1000,"Value":5`, 1)), ErrMalformed, 0},
		{"duplicated hmacSignature", []string{adyenKeyGo}, adyenBody(strings.Replace(adyenItemGo, `"hmacSignature":`, `"hmacSignature":"x","hmacSignature":`, 1)), ErrMalformed, 0},
		{"duplicated notificationItems", []string{adyenKeyGo}, `{"notificationItems":[` + adyenItemGo + `],"notificationItems":[]}`, ErrMalformed, 0},
		{"non-ascii key", []string{adyenKeyGo}, adyenBody(strings.Replace(adyenItemGo, `"reason":`, `"reaſon":`, 1)), ErrMalformed, 0},
		{"no signature", []string{adyenKeyGo}, adyenBody(strings.Replace(adyenItemGo, `"hmacSignature"`, `"other"`, 1)), ErrMalformed, 0},
		{"no items", []string{adyenKeyGo}, adyenBody(), ErrMalformed, 0},
		{"not json", []string{adyenKeyGo}, "notificationItems=1", ErrMalformed, 0},
		{"trailing data", []string{adyenKeyGo}, adyenBody(adyenItemGo) + "{}", ErrMalformed, 0},
		// One captured item repeated (unsigned fields changed or not)
		// would be a batch no replay key has seen.
		{"item repeated", []string{adyenKeyGo}, adyenBody(adyenItemGo, adyenItemGo), ErrMalformed, 0},
		{"item repeated, unsigned field changed", []string{adyenKeyGo}, adyenBody(adyenItemGo, strings.Replace(adyenItemGo, `"reason":"reason"`, `"reason":"other"`, 1)), ErrMalformed, 0},
		{"item repeated after another", []string{adyenKeyGo}, adyenBody(adyenItemGo, adyenItemPHP, adyenItemGo), ErrMalformed, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New("adyen", Config{Secrets: tc.secrets})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(slackRequest(tc.body, time.Now(), "Content-Type", "application/json"))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || res != nil {
					t.Fatalf("err %v, res %+v; want %v", err, res, tc.wantErr)
				}
				for _, l := range []string{adyenKeyGo[:16], adyenKeyRuby[:16], "ipnxGCaU", "coqCmt"} {
					if strings.Contains(err.Error(), l) {
						t.Fatalf("error %q leaks %q", err, l)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Key != tc.key || len(res.Signature) != 32 || res.SignedID != "" {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

// TestAdyenReplayKey: the replay key covers every item's signed fields and
// nothing else.
func TestAdyenReplayKey(t *testing.T) {
	v, err := New("adyen", Config{Secrets: []string{adyenKeyGo}})
	if err != nil {
		t.Fatal(err)
	}
	key := func(body string) string {
		res, err := v.Verify(slackRequest(body, time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		return string(res.Signature)
	}
	a := key(adyenBody(adyenItemGo))
	if b := key(adyenBody(strings.Replace(adyenItemGo, `"reason":"reason"`, `"reason":"other"`, 1))); a != b {
		t.Error("a copy with an unsigned field changed has another replay key")
	}
	if c := key(adyenBody(adyenItemGo, adyenItemPHP)); a == c {
		t.Error("a body with one more item has the same replay key")
	}
	// Each item is its own replay key, whatever batch it comes in; a
	// batch of one keeps the key it had before items were keyed apart.
	items := func(body string) [][]byte {
		res, err := v.Verify(slackRequest(body, time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		return res.Items
	}
	one, two := items(adyenBody(adyenItemGo)), items(adyenBody(adyenItemPHP, adyenItemGo))
	if len(one) != 1 || string(one[0]) != a {
		t.Errorf("a batch of one: items %x, want its signature digest", one)
	}
	if len(two) != 2 || string(two[1]) != string(one[0]) || string(two[0]) == string(two[1]) {
		t.Errorf("items %x: want the second to be the first batch's item", two)
	}
	if changed := items(adyenBody(strings.Replace(adyenItemGo, `"reason":"reason"`, `"reason":"other"`, 1))); string(changed[0]) != string(one[0]) {
		t.Error("an unsigned field changed changes the item's replay key")
	}
}

func TestAdyenConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"hex key", Config{Secrets: []string{adyenKeyGo}}, true},
		{"no key", Config{}, false},
		{"not hex", Config{Secrets: []string{"not-a-hex-key"}}, false},
		{"tolerance", Config{Secrets: []string{adyenKeyGo}, Tolerance: 1}, false},
	} {
		_, err := New("adyen", tc.cfg)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok %v", tc.name, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "not-a-hex") {
			t.Errorf("%s: error %q shows the secret", tc.name, err)
		}
	}
}

func BenchmarkAdyenVerify(b *testing.B) {
	v, err := New("adyen", Config{Secrets: []string{adyenKeyGo}})
	if err != nil {
		b.Fatal(err)
	}
	r := slackRequest(adyenBody(adyenItemGo), time.Now())
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}
