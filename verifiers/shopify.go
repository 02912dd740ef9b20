package verifiers

// Shopify webhooks: X-Shopify-Hmac-Sha256 is the standard base64 encoding
// of HMAC-SHA256(secret, raw body); the secret is the app's client secret
// (API secret key), used verbatim. There is no timestamp, so there is no
// tolerance to set. X-Shopify-Webhook-Id is the delivery id: unsigned, for
// logs; replay protection falls back to the signature.
//
// Source: github:Shopify/shopify-app-js packages/apps/shopify-api/lib/webhooks/validate.ts
// @1eb863d5cfce6904a4c017947b6e7b8692b7776f and its tests (see shopify_test.go).
// Shopify's newer "events" deliveries also carry shopify-hmac-sha256 etc.;
// they still send the X-Shopify-* headers, which are what is read here.

func init() {
	Register("shopify", newShopify)
}

// shopifyRecipe is the Shopify scheme as a recipe of the generic engine.
var shopifyRecipe = HMACRecipe{
	SignatureHeader: "X-Shopify-Hmac-Sha256",
	Encoding:        "base64",
	IDHeader:        "X-Shopify-Webhook-Id",
}

func newShopify(c Config) (Verifier, error) {
	return recipeProvider(c, shopifyRecipe)
}
