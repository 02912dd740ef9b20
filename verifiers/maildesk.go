package verifiers

// Maildesk webhooks: X-Maildesk-Timestamp: <unix s> and
// X-Maildesk-Signature: t=<unix s>,v1=<hex>, where
// v1 = hex(HMAC-SHA256(secret, t + "." + raw body)) and the secret (the
// Maildesk API key secret) is used verbatim. t must equal the timestamp
// header; the timestamp is signed and checked against the tolerance.
// Maildesk documents no delivery-id header; its JSON body carries
// eventId, "a unique ID for this event (use for idempotency)", the
// default replay key (EventIDPointer "/eventId").
//
// Source: https://maildesk.apidog.io/ ("Maildesk Webhook Integration Guide").
// No published test vector exists; see maildesk_test.go.

func init() {
	Register("maildesk", newMaildesk)
}

// maildeskRecipe is the Maildesk scheme as a recipe of the generic engine.
var maildeskRecipe = HMACRecipe{
	SignatureHeader: "X-Maildesk-Signature",
	Separator:       ",",
	Prefix:          "v1=",
	TimestampKey:    "t=",
	TimestampHeader: "X-Maildesk-Timestamp",
	Content:         "{timestamp}.{body}",
}

func newMaildesk(c Config) (Verifier, error) {
	return recipeProviderWithEventID(c, maildeskRecipe, "/eventId")
}
