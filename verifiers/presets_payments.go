package verifiers

// Presets of docs/providers.md's "Payments, billing and commerce" providers table: one recipe each of the
// engine (hmac.go, recipe_*.go), its source cited in the row.
//
// Unless a row says otherwise the secret is used as its UTF-8 bytes, the
// signature covers the raw body only and there is no timestamp. Research
// behind each row: presets_notes.md; its vector: internal/presetvectors
// (the provider's published example where one exists, else signed by
// Node's crypto, verifiers/testdata/presets/sign.js).

func init() {
	addPresets(presetsPayments)
}

var presetsPayments = []Preset{
	{
		// X-Shopify-Hmac-Sha256 is base64 HMAC-SHA256 of the raw body under
		// the app's client secret, verbatim; no timestamp.
		// X-Shopify-Webhook-Id is unsigned (logs); the replay key is the
		// signature. Newer "events" deliveries still send the X-Shopify-*
		// headers read here.
		Name: "shopify",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Shopify-Hmac-Sha256",
			Encoding:        "base64",
			IDHeader:        "X-Shopify-Webhook-Id",
		},
		Source: "github:Shopify/shopify-app-js packages/apps/shopify-api/lib/webhooks/validate.ts @1eb863d5cfce6904a4c017947b6e7b8692b7776f",
	},
	{
		// Paddle Billing: Paddle-Signature: ts=<unix s>;h1=<hex>[;h1=...],
		// h1 = HMAC-SHA256(secret, ts + ":" + body), the endpoint secret
		// (pdl_ntfset_...) verbatim. Several h1 during rotation; others
		// (h2=) ignored. Paddle's SDKs default to a 5 s tolerance (set
		// `tolerance 5s` to match). The body's event_id is the replay key:
		// "make your handler idempotent using event_id as a deduplication
		// key" (developer.paddle.com/webhooks/about/how-webhooks-work; one
		// event sent to several destinations has one notification_id each).
		Name: "paddle",
		Recipe: HMACRecipe{
			SignatureHeader: "Paddle-Signature",
			Separator:       ";",
			Prefix:          "h1=",
			TimestampKey:    "ts=",
			Content:         "{timestamp}:{body}",
		},
		EventID: "/event_id",
		Source:  "https://developer.paddle.com/webhooks/signature-verification ; github:PaddleHQ/paddle-go-sdk webhook_verifier.go @299c56f8e4f7aed20ebcf4bdc4ee6fbb795ce8c6",
	},
	{
		// x-square-hmacsha256-signature = base64 HMAC-SHA256(signature key,
		// notification URL + body); the URL as registered (url). No
		// timestamp; event_id is stable.
		Name: "square",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Square-Hmacsha256-Signature",
			Encoding:        "base64",
			Content:         "{url}{body}",
		},
		EventID: "/event_id",
		Source:  "https://developer.squareup.com/docs/webhooks/step3validate ; github:square/square-nodejs-sdk src/utils/webhooksHelper.ts (WebhooksHelper.verifySignature)",
	},
	{
		// Recurly-Signature: <ms timestamp>,<hex HMAC-SHA256(key, ts + "." +
		// body)>[,<another>] (two during a key rotation); Recurly's libraries
		// allow 5 minutes.
		Name: "recurly",
		Recipe: HMACRecipe{
			SignatureHeader: "Recurly-Signature",
			Separator:       ",",
			TimestampFirst:  true,
			TimestampUnit:   "ms",
			Content:         "{timestamp}.{body}",
		},
		Source: "https://recurly.com/developers/guides/signature-verification.html",
	},
	{
		// AfterShip Tracking: aftership-hmac-sha256 = base64 HMAC-SHA256
		// of the body under the webhook secret. (Returns and Warranty
		// send as-signature-hmac-sha256: configure hmac for those.)
		Name:   "aftership",
		Recipe: HMACRecipe{SignatureHeader: "aftership-hmac-sha256", Encoding: "base64"},
		Source: "https://www.aftership.com/docs/tracking/webhook/webhook-signature",
	},
	{
		// Bolt: X-Bolt-Hmac-Sha256 = base64 HMAC-SHA256 of the body under
		// the signing secret.
		Name:   "bolt",
		Recipe: HMACRecipe{SignatureHeader: "X-Bolt-Hmac-Sha256", Encoding: "base64"},
		Source: "https://help.bolt.com/developers/webhooks/hook-verification",
	},
	{
		// Chargify / Maxio Advanced Billing:
		// X-Chargify-Webhook-Signature-Hmac-Sha-256 = hex HMAC-SHA256 of
		// the body under the site shared key. X-Chargify-Webhook-Id is
		// unsigned (logs).
		Name:    "chargify",
		Aliases: []string{"maxio"},
		Recipe: HMACRecipe{
			SignatureHeader: "X-Chargify-Webhook-Signature-Hmac-Sha-256",
			IDHeader:        "X-Chargify-Webhook-Id",
		},
		Source: "Maxio Advanced Billing (Chargify) webhook docs, \"Webhook signature\"; gist.github.com/afreeland/003026ee17ab0f6de8b3acc4b33f797b",
	},
	{
		// Coinbase Commerce: X-CC-Webhook-Signature = hex HMAC-SHA256 of
		// the body under the shared webhook secret. The event id is /id.
		Name:    "coinbase",
		Recipe:  HMACRecipe{SignatureHeader: "X-CC-Webhook-Signature"},
		EventID: "/id",
		Source:  "https://docs.cdp.coinbase.com/commerce/api-arcitecture/webhooks-security",
	},
	{
		// GoCardless: Webhook-Signature = hex HMAC-SHA256 of the body under
		// the endpoint secret.
		Name:   "gocardless",
		Recipe: HMACRecipe{SignatureHeader: "Webhook-Signature"},
		Source: "GoCardless docs, webhooks \"Verifying webhook signatures\"; gocardless-pro SDKs Webhook.parse",
	},
	{
		// Modern Treasury: X-Signature = hex HMAC-SHA256 of the body under
		// the webhook key.
		Name:   "modern_treasury",
		Recipe: HMACRecipe{SignatureHeader: "X-Signature"},
		Source: "Modern Treasury docs, \"Verifying webhooks\" (X-Signature, webhook key)",
	},
	{
		// Orb: X-Orb-Timestamp is ISO 8601 without a zone (UTC),
		// X-Orb-Signature a space-separated list of v1=<hex
		// HMAC-SHA256(secret, "v1:" + timestamp + ":" + body)>. The event
		// id is /id.
		Name: "orb",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Orb-Signature",
			Separator:       " ",
			Prefix:          "v1=",
			TimestampHeader: "X-Orb-Timestamp",
			TimestampUnit:   "iso8601",
			Content:         "v1:{timestamp}:{body}",
		},
		EventID: "/id",
		Source:  "github:orbcorp/orb-java orb-java-core/src/main/kotlin/com/withorb/api/services/blocking/WebhookServiceImpl.kt @143457bb6f9d9953def62bddc78e09ad6f42c158",
	},
	{
		// Pinwheel: X-Pinwheel-Signature: v2=<hex HMAC-SHA256(API secret,
		// "v2:" + X-Timestamp + ":" + body)>.
		Name: "pinwheel",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Pinwheel-Signature",
			Prefix:          "v2=",
			TimestampHeader: "X-Timestamp",
			Content:         "v2:{timestamp}:{body}",
		},
		Source: "Pinwheel docs, webhook signature verification (X-Pinwheel-Signature v2, X-Timestamp)",
	},
	{
		// Polar: Standard Webhooks headers, but the HMAC key is the
		// secret's own bytes (polar_whs_...), not its base64 decoding.
		Name: "polar",
		Recipe: HMACRecipe{
			SignatureHeader: "webhook-signature",
			Separator:       " ",
			Prefix:          "v1,",
			Encoding:        "base64",
			TimestampHeader: "webhook-timestamp",
			IDHeader:        "webhook-id",
			Content:         "{id}.{timestamp}.{body}",
		},
		Source: "polar-python src/polar_sdk/_webhooks/__init__.py (validate_event base64-encodes the secret for the standardwebhooks library)",
	},
	{
		// Razorpay: X-Razorpay-Signature = hex HMAC-SHA256 of the body
		// under the webhook secret. x-razorpay-event-id is unsigned (logs).
		Name: "razorpay",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Razorpay-Signature",
			IDHeader:        "x-razorpay-event-id",
		},
		Source: "Razorpay docs, \"Validate webhook signature\"; razorpay SDKs validateWebhookSignature",
	},
	{
		// Xero: x-xero-signature = base64 HMAC-SHA256 of the body under
		// the webhooks key. Xero's "intent to receive" check sends
		// wrongly signed requests and expects the 401 they get here.
		Name:   "xero",
		Recipe: HMACRecipe{SignatureHeader: "x-xero-signature", Encoding: "base64"},
		Source: "https://developer.xero.com/documentation/guides/webhooks/overview/",
	},
}
