package verifiers

// Which schemes sign the whole raw body (BodySigner), so that a replay key
// read from the body after verification is authentic, and which providers
// carry a stable event id in that body (EventIDer), their default replay
// key. Not body signers, whose bodies the handler binds to their replay
// keys (see BodySigner): mailgun (signs timestamp+token only), postmark
// (no signature), sns (signs selected message fields, not the envelope),
// twilio, mandrill and plivo (sign the URL and sorted form fields, not the
// raw body), paypal (a CRC32 of the body), adyen (a few fields of each
// item), token recipes. Presets say it in their rows (presets.go:
// Preset.EventID).

// SignsBody is true: Stripe signs t + "." + the raw body.
func (v *stripeVerifier) SignsBody() bool { return true }

// EventIDPointer is Stripe's event id, the same in every retry of an event
// ("evt_..."; Stripe: "guard against duplicated event receipts by logging
// the event IDs you've processed", docs.stripe.com/webhooks).
func (v *stripeVerifier) EventIDPointer() string { return "/id" }

// SignsBody is true: Slack signs "v0:" + timestamp + ":" + the raw body.
func (v *slackVerifier) SignsBody() bool { return true }

// EventIDPointer is the Events API's event_id, kept in Slack's retries
// (api.slack.com/apis/events-api, "Retries"). Slash commands and
// interactivity payloads are forms without it: their key falls back to
// the signature.
func (v *slackVerifier) EventIDPointer() string { return "/event_id" }

// SignsBody is true: GitHub signs the raw body (no event id in it; the
// X-GitHub-Delivery header is unsigned).
func (v *githubVerifier) SignsBody() bool { return true }

// SignsBody is true: Standard Webhooks sign id.timestamp.body; the signed
// webhook-id is already the default key.
func (v *standardWebhooks) SignsBody() bool { return true }

// SignsBody is true: SendGrid signs timestamp + the raw body.
func (v *sendgridVerifier) SignsBody() bool { return true }

// SignsBody is true: every accepted MailChannels signature covers
// content-digest, which is recomputed from the raw body.
func (v *mailchannelsVerifier) SignsBody() bool { return true }

var (
	_ BodySigner = (*stripeVerifier)(nil)
	_ EventIDer  = (*stripeVerifier)(nil)
	_ BodySigner = (*slackVerifier)(nil)
	_ EventIDer  = (*slackVerifier)(nil)
	_ BodySigner = (*githubVerifier)(nil)
	_ BodySigner = (*standardWebhooks)(nil)
	_ BodySigner = (*sendgridVerifier)(nil)
	_ BodySigner = (*mailchannelsVerifier)(nil)
)
