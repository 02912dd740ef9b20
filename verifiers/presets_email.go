package verifiers

import "strings"

// Presets of docs/providers.md's "Email" providers table: one recipe each of the
// engine (hmac.go, recipe_*.go), its source cited in the row.
//
// Unless a row says otherwise the secret is used as its UTF-8 bytes, the
// signature covers the raw body only and there is no timestamp. Research
// behind each row: presets_notes.md; its vector: internal/presetvectors
// (the provider's published example where one exists, else signed by
// Node's crypto, verifiers/testdata/presets/sign.js).
//
// Aliases (see forwardTo in presets.go):
//   - mailchimp: Mailchimp's signed webhooks are Mailchimp Transactional's
//     (Mandrill's X-Mandrill-Signature); its Marketing audience webhooks
//     carry no signature at all.
//   - Senders without a signature, checked like postmark (Basic auth in
//     the webhook URL, or a shared header): mailjet and sparkpost (both
//     modes), and brevo, whose token option arrives as "Authorization:
//     Bearer <token>": brevo with secret and no header checks that header,
//     the secret being the token as set in Brevo (a secret already starting
//     with "Bearer " is taken as the whole header value).

func init() {
	addPresets(presetsEmail)
	RegisterSigner("autosend", signAutoSend)
	Register("mailchimp", forwardTo("mandrill"))
	Register("mailjet", forwardTo("postmark"))
	Register("sparkpost", forwardTo("postmark"))
	Register("brevo", newBrevo)
	RegisterSigner("mailchimp", signAs("mandrill"))
	for _, name := range []string{"mailjet", "sparkpost"} {
		RegisterSigner(name, signAs("postmark"))
	}
	RegisterSigner("brevo", signBrevo)
}

var presetsEmail = []Preset{
	{
		// Maildesk: X-Maildesk-Timestamp and X-Maildesk-Signature:
		// t=<unix s>,v1=<hex HMAC-SHA256(secret, t + "." + body)>; t must
		// equal the timestamp header. No delivery-id header; the JSON body's
		// eventId is "a unique ID for this event (use for idempotency)".
		Name: "maildesk",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Maildesk-Signature",
			Separator:       ",",
			Prefix:          "v1=",
			TimestampKey:    "t=",
			TimestampHeader: "X-Maildesk-Timestamp",
			Content:         "{timestamp}.{body}",
		},
		EventID: "/eventId",
		Source:  "https://maildesk.apidog.io/ (Maildesk Webhook Integration Guide)",
	},
	{
		// AutoSend: X-Webhook-Signature = hex HMAC-SHA256(secret, body).
		// X-Webhook-Timestamp (ms; older docs: s) is checked but NOT signed,
		// so it does not bound replays (HasTimestamp false).
		// X-Webhook-Delivery-Id is unsigned (logs).
		Name: "autosend",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Webhook-Signature",
			TimestampHeader: "X-Webhook-Timestamp",
			TimestampUnit:   "auto",
			IDHeader:        "X-Webhook-Delivery-Id",
		},
		Source: "https://docs.autosend.com/others/webhooks/verify-requests ; https://autosend-13920f5c.mintlify.app/others/webhooks/verify-requests",
	},
	{
		// Customer.io reporting webhooks: X-CIO-Signature = hex
		// HMAC-SHA256(signing key, "v0:" + X-CIO-Timestamp + ":" + body).
		Name:    "customerio",
		Aliases: []string{"customer.io"},
		Recipe: HMACRecipe{
			SignatureHeader: "X-CIO-Signature",
			TimestampHeader: "X-CIO-Timestamp",
			Content:         "v0:{timestamp}:{body}",
		},
		EventID: "/event_id",
		Source:  "https://customer.io/docs/journeys/webhooks-action/#securely-verify-requests",
	},
	{
		// MailerSend: Signature = hex HMAC-SHA256 of the body under the
		// webhook's signing secret.
		Name:   "mailersend",
		Recipe: HMACRecipe{SignatureHeader: "Signature"},
		Source: "MailerSend API docs, webhooks \"Security\" (Signature header)",
	},
	{
		// Mailtrap: Mailtrap-Signature = hex HMAC-SHA256 of the body under
		// the webhook's signing secret.
		Name:   "mailtrap",
		Recipe: HMACRecipe{SignatureHeader: "Mailtrap-Signature"},
		Source: "Mailtrap webhooks docs; django-anymail anymail/webhooks/mailtrap.py",
	},
	{
		// Nylas v3: X-Nylas-Signature = hex HMAC-SHA256 of the body under
		// the webhook secret. Nylas's GET ?challenge=<value> handshake is
		// answered here with the value (1 to 256 letters, digits and
		// "-._~"), never forwarded.
		Name:      "nylas",
		Recipe:    HMACRecipe{SignatureHeader: "X-Nylas-Signature"},
		Handshake: presetQueryChallenge("challenge"),
		Source:    "Nylas v3 docs, webhooks \"Verify webhook signatures\" (X-Nylas-Signature)",
	},
}

// newBrevo is postmark, with the Bearer token as default header mode.
func newBrevo(c Config) (Verifier, error) {
	if len(c.Secrets) > 0 && c.Header == "" {
		c.Header = "Authorization"
		secrets := make([]string, len(c.Secrets))
		for i, s := range c.Secrets {
			if s != "" && !strings.HasPrefix(s, "Bearer ") {
				s = "Bearer " + s
			}
			secrets[i] = s
		}
		c.Secrets = secrets
	}
	return New("postmark", c)
}

// signBrevo signs as postmark; a secret without header is Brevo's token,
// sent as "Authorization: Bearer <secret>" (see newBrevo).
func signBrevo(_ string, r SignRequest) (*Signed, error) {
	if r.Secret != "" && r.Header == "" {
		r.Header = "Authorization"
		if !strings.HasPrefix(r.Secret, "Bearer ") {
			r.Secret = "Bearer " + r.Secret
		}
	}
	return Sign("postmark", r)
}

// signAutoSend signs as AutoSend sends: the timestamp in milliseconds (its
// row reads either).
func signAutoSend(_ string, r SignRequest) (*Signed, error) {
	p, _ := LookupPreset("autosend")
	p.Recipe.TimestampUnit = "ms"
	return SignRecipe(p.Recipe, r)
}
