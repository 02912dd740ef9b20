package verifiers

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// Shopify vector: github:Shopify/shopify-app-js
// packages/apps/shopify-api/lib/webhooks/__tests__/validate.test.ts
// @01fe9dacefabac4c411b067e9d160da6c04b6b23 ("returns true for valid
// request": rawBody '{"foo": "bar"}', expected hmac
// 'B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=', webhookId '123456789'),
// signed with apiSecretKey 'test_secret_key' from
// packages/apps/shopify-api/lib/__tests__/test-config.ts @0a8a3384805938c15a95b93634f91cecd8020cdc.
// Reproduced with:
//
//	printf '%s' '{"foo": "bar"}' | openssl dgst -sha256 -hmac test_secret_key -binary | base64
const (
	shopifySecret = "test_secret_key"
	shopifyBody   = `{"foo": "bar"}`
	shopifySig    = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="
	shopifyID     = "123456789"
	// The same MAC in hex (wrong encoding for Shopify):
	//   printf '%s' '{"foo": "bar"}' | openssl dgst -sha256 -hmac test_secret_key
	shopifySigHex = "076ded5cdebcd60674a8858d46b82dcc113d5d20e8e72694bbac1f9a1bb76bb8"
)

func TestShopifyValid(t *testing.T) {
	sig := recipeTestB64(t, base64.StdEncoding, shopifySig)
	now := time.Now()
	tests := []struct {
		name    string
		secrets []string
		req     *Request
		want    Result
	}{
		{"shopify-app-js vector", []string{shopifySecret},
			recipeTestReq(shopifyBody, now, "X-Shopify-Hmac-Sha256", shopifySig, "X-Shopify-Webhook-Id", shopifyID,
				"X-Shopify-Topic", "products/create", "X-Shopify-Shop-Domain", "shop1.myshopify.io"),
			Result{ID: shopifyID, Signature: sig}},
		{"lower-case header names", []string{shopifySecret},
			recipeTestReq(shopifyBody, now, "x-shopify-hmac-sha256", shopifySig, "x-shopify-webhook-id", shopifyID),
			Result{ID: shopifyID, Signature: sig}},
		{"no webhook id", []string{shopifySecret},
			recipeTestReq(shopifyBody, now, "X-Shopify-Hmac-Sha256", shopifySig),
			Result{Signature: sig}},
		{"unpadded base64", []string{shopifySecret},
			recipeTestReq(shopifyBody, now, "X-Shopify-Hmac-Sha256", strings.TrimRight(shopifySig, "=")),
			Result{Signature: sig}},
		{"rotation: old secret second", []string{"new_secret_key", shopifySecret},
			recipeTestReq(shopifyBody, now, "X-Shopify-Hmac-Sha256", shopifySig, "X-Shopify-Webhook-Id", shopifyID),
			Result{ID: shopifyID, Signature: hmacSHA256("new_secret_key", shopifyBody), Key: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New("shopify", Config{Secrets: tt.secrets})
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(tt.req)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			recipeTestResult(t, got, tt.want)
			if recipeTestHasTS(t, v) {
				t.Fatal("HasTimestamp is true for a scheme without timestamp")
			}
		})
	}
}

func TestShopifyInvalid(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name    string
		secrets []string
		req     *Request
		want    error
	}{
		{"tampered body", []string{shopifySecret},
			recipeTestReq(`{"foo":"bar"}`, now, "X-Shopify-Hmac-Sha256", shopifySig), ErrSignature},
		{"empty body", []string{shopifySecret},
			recipeTestReq("", now, "X-Shopify-Hmac-Sha256", shopifySig), ErrSignature},
		{"wrong secret", []string{"test_secret_key2"},
			recipeTestReq(shopifyBody, now, "X-Shopify-Hmac-Sha256", shopifySig), ErrSignature},
		{"missing signature", []string{shopifySecret},
			recipeTestReq(shopifyBody, now, "X-Shopify-Webhook-Id", shopifyID), ErrMalformed},
		{"empty signature", []string{shopifySecret},
			recipeTestReq(shopifyBody, now, "X-Shopify-Hmac-Sha256", ""), ErrMalformed},
		{"duplicated signature", []string{shopifySecret},
			recipeTestReq(shopifyBody, now, "X-Shopify-Hmac-Sha256", shopifySig, "X-Shopify-Hmac-Sha256", shopifySig), ErrMalformed},
		{"truncated signature", []string{shopifySecret},
			recipeTestReq(shopifyBody, now, "X-Shopify-Hmac-Sha256", shopifySig[:40]), ErrMalformed},
		{"hex instead of base64", []string{shopifySecret},
			recipeTestReq(shopifyBody, now, "X-Shopify-Hmac-Sha256", shopifySigHex), ErrMalformed},
		{"signature with a prefix", []string{shopifySecret},
			recipeTestReq(shopifyBody, now, "X-Shopify-Hmac-Sha256", "sha256="+shopifySig), ErrMalformed},
		{"duplicated webhook id", []string{shopifySecret},
			recipeTestReq(shopifyBody, now, "X-Shopify-Hmac-Sha256", shopifySig, "X-Shopify-Webhook-Id", "1", "X-Shopify-Webhook-Id", "2"), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New("shopify", Config{Secrets: tt.secrets})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(tt.req)
			if res != nil {
				t.Fatalf("got a result %+v", *res)
			}
			recipeTestErr(t, err, tt.want, shopifySecret, shopifySig, shopifySigHex, shopifyBody, tt.secrets[0])
		})
	}
}

func TestShopifyConfig(t *testing.T) {
	p, _ := LookupPreset("shopify")
	r := p.Recipe
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no secret", Config{}, "secret"},
		{"empty secret", Config{Secrets: []string{""}}, "secret 1"},
		{"tolerance", Config{Secrets: []string{shopifySecret}, Tolerance: time.Minute}, "tolerance"},
		{"tolerance off", Config{Secrets: []string{shopifySecret}, Tolerance: -1}, "tolerance"},
		{"hmac recipe", Config{Secrets: []string{shopifySecret}, HMAC: &r}, "hmac"},
		{"public_key", Config{Secrets: []string{shopifySecret}, PublicKeys: []PublicKey{{Key: "k"}}}, "public_key"},
		{"url", Config{Secrets: []string{shopifySecret}, URL: "https://example.com/"}, "url"},
		{"header", Config{Secrets: []string{shopifySecret}, Header: "X-Token"}, "header"},
		{"username", Config{Secrets: []string{shopifySecret}, Username: "u"}, "username"},
		{"auto_confirm", Config{Secrets: []string{shopifySecret}, AutoConfirm: true}, "auto_confirm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New("shopify", tt.cfg)
			if err == nil || v != nil {
				t.Fatalf("New = %T, %v; want nil and an error", v, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
			recipeTestNoLeak(t, err, shopifySecret)
		})
	}
}
