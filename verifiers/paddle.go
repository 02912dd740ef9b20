package verifiers

// Paddle Billing webhooks: Paddle-Signature: ts=<unix s>;h1=<hex>[;h1=...]
// where h1 = hex(HMAC-SHA256(secret, ts + ":" + raw body)) and the secret is
// the notification destination's endpoint secret key (pdl_ntfset_...),
// used verbatim. Several h1 entries may be sent (secret rotation); other
// entries (h2=...) are ignored. The timestamp is signed and checked
// against the tolerance (Paddle's SDKs default to 5 seconds; the default
// here is the project-wide one, set `tolerance 5s` to match them). Paddle
// sends no delivery-id header; the body's event_id is the default replay
// key (Paddle: "make your handler idempotent using event_id as a
// deduplication key", developer.paddle.com/webhooks/about/how-webhooks-work;
// one event sent to several destinations has one notification_id each).
//
// Sources: https://developer.paddle.com/webhooks/signature-verification ;
// github:PaddleHQ/paddle-go-sdk webhook_verifier.go, and the Go, Python and
// Node SDK tests cited in paddle_test.go.

func init() {
	Register("paddle", newPaddle)
}

// paddleRecipe is the Paddle Billing scheme as a recipe of the generic engine.
var paddleRecipe = HMACRecipe{
	SignatureHeader: "Paddle-Signature",
	Separator:       ";",
	Prefix:          "h1=",
	TimestampKey:    "ts=",
	Content:         "{timestamp}:{body}",
}

func newPaddle(c Config) (Verifier, error) {
	return recipeProviderWithEventID(c, paddleRecipe, "/event_id")
}
