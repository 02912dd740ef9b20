package verifiers

// AutoSend webhooks: X-Webhook-Signature = hex(HMAC-SHA256(secret, raw
// body)), the webhook secret used verbatim. X-Webhook-Timestamp is the
// send time in milliseconds (older documentation showed seconds; a value
// of 13 digits or more is read as milliseconds, fewer as seconds). The
// timestamp is NOT signed: it is still required and checked against the
// tolerance (both directions), but it does not bound replays, so
// HasTimestamp is false and the replay cache falls back to the signature.
// X-Webhook-Delivery-Id is the delivery id (unsigned, for logs).
//
// Sources: https://docs.autosend.com/others/webhooks/verify-requests and
// its newer mirror https://autosend-13920f5c.mintlify.app/others/webhooks/verify-requests .
// No published test vector exists; see autosend_test.go.

func init() {
	Register("autosend", newAutoSend)
}

// autosendRecipe is the AutoSend scheme as a recipe of the generic engine.
var autosendRecipe = HMACRecipe{
	SignatureHeader: "X-Webhook-Signature",
	TimestampHeader: "X-Webhook-Timestamp",
	TimestampUnit:   "auto",
	IDHeader:        "X-Webhook-Delivery-Id",
}

func newAutoSend(c Config) (Verifier, error) {
	return recipeProvider(c, autosendRecipe)
}
