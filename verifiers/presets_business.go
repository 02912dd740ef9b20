package verifiers

import "fmt"

// Presets of docs/providers.md's "Business apps: CRM, documents, files, support, forms" providers table: one recipe each of the
// engine (hmac.go, recipe_*.go), its source cited in the row.
//
// Unless a row says otherwise the secret is used as its UTF-8 bytes, the
// signature covers the raw body only and there is no timestamp. Research
// behind each row: presets_notes.md; its vector: internal/presetvectors
// (the provider's published example where one exists, else signed by
// Node's crypto, verifiers/testdata/presets/sign.js).
//
// Alias (see forwardTo in presets.go): vmware is postmark in Basic mode
// only (Basic auth, as ngrok's VMware integration).

func init() {
	addPresets(presetsBusiness)
	Register("vmware", newVMware)
	RegisterSigner("vmware", signAs("postmark"))
}

var presetsBusiness = []Preset{
	{
		// BOX-SIGNATURE-PRIMARY / -SECONDARY: base64 HMAC-SHA256 of the raw
		// body followed by BOX-DELIVERY-TIMESTAMP (RFC 3339, as received),
		// under the primary and the secondary signature key (configure both
		// as secret; either matching passes). Box's SDKs allow 10 minutes.
		// BOX-DELIVERY-ID changes on retries (unsigned, logs).
		// BOX-SIGNATURE-VERSION / -ALGORITHM (1, HmacSHA256) are not checked.
		Name: "box",
		Recipe: HMACRecipe{
			SignatureHeader:  "BOX-SIGNATURE-PRIMARY",
			SignatureHeaders: []string{"BOX-SIGNATURE-SECONDARY"},
			Encoding:         "base64",
			TimestampHeader:  "BOX-DELIVERY-TIMESTAMP",
			TimestampUnit:    "rfc3339",
			IDHeader:         "BOX-DELIVERY-ID",
			Content:          "{body}{timestamp}",
		},
		Source: "https://developer.box.com/guides/webhooks/v2/signatures-v2/ ; github:box/box-node-sdk tests/lib/managers/webhooks-test.js @01672dba759d5a704c1ae4aeaab1cebcfcfd23c2 (validateMessage)",
	},
	{
		// X-DocuSign-Signature-1 .. -N (one per HMAC key of the account,
		// up to 100 at DocuSign; 32 are read here): base64 HMAC-SHA256 of the
		// raw body. Configure every key as secret. No timestamp.
		Name: "docusign",
		Recipe: HMACRecipe{
			SignatureHeader: "X-DocuSign-Signature-*",
			Encoding:        "base64",
		},
		Source: "https://developers.docusign.com/platform/webhooks/connect/hmac/ (HMAC security for Connect)",
	},
	{
		// HubSpot signature v3: X-HubSpot-Signature-v3 = base64
		// HMAC-SHA256(client secret, method + URI + body + timestamp),
		// X-HubSpot-Request-Timestamp in ms; HubSpot says reject after 5
		// minutes. The URI is the webhook URL as HubSpot calls it (url). The
		// timestamp touches the body, so the tolerance cannot be off.
		Name: "hubspot",
		Recipe: HMACRecipe{
			SignatureHeader: "X-HubSpot-Signature-v3",
			Encoding:        "base64",
			TimestampHeader: "X-HubSpot-Request-Timestamp",
			TimestampUnit:   "ms",
			Content:         "{method}{url}{body}{timestamp}",
		},
		Source: "https://developers.hubspot.com/docs/api/webhooks/validating-requests ; github:HubSpot/hubspot-api-nodejs lib/src/utils/signature (Signature.getSignature v3)",
	},
	{
		// HubSpot signature v2 (older apps, workflow webhooks):
		// X-HubSpot-Signature = hex SHA-256 of client secret + method + URI
		// + body: a plain hash, no HMAC, no timestamp; weak by design
		// (length extension, refused by the engine: lengthext.go).
		Name: "hubspot_v2",
		Recipe: HMACRecipe{
			SignatureHeader: "X-HubSpot-Signature",
			Scheme:          "hash",
			Content:         "{method}{url}{body}",
		},
		Source: "github:HubSpot/hubspot-api-nodejs test/unit/signature.spec.ts @39d11e5d36dc8fe2195548494548469b14a750c8",
	},
	{
		// HubSpot signature v1: X-HubSpot-Signature = hex SHA-256 of client
		// secret + body (plain hash, weak like v2).
		Name: "hubspot_v1",
		Recipe: HMACRecipe{
			SignatureHeader: "X-HubSpot-Signature",
			Scheme:          "hash",
		},
		Source: "github:HubSpot/hubspot-api-nodejs test/unit/signature.spec.ts @39d11e5d36dc8fe2195548494548469b14a750c8",
	},
	{
		// X-Trello-Webhook = base64 HMAC-SHA1(app secret, body + callback
		// URL) (url: the callbackURL given when the webhook was created).
		// Trello checks the callback with a HEAD, answered 200 here.
		Name: "trello",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Trello-Webhook",
			Hash:            "sha1",
			Encoding:        "base64",
			Content:         "{body}{url}",
		},
		Handshake: headHandshake,
		Source:    "https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/#webhook-signatures",
	},
	{
		// Calendly-Webhook-Signature: t=<unix s>,v1=<hex HMAC-SHA256(signing
		// key, t + "." + body)>.
		Name: "calendly",
		Recipe: HMACRecipe{
			SignatureHeader: "Calendly-Webhook-Signature",
			Separator:       ",",
			Prefix:          "v1=",
			TimestampKey:    "t=",
			Content:         "{timestamp}.{body}",
		},
		Source: "https://developer.calendly.com/api-docs/4c305798a61d3-webhook-signatures",
	},
	{
		// Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, body)>;
		// event_id is stable.
		Name: "typeform",
		Recipe: HMACRecipe{
			SignatureHeader: "Typeform-Signature",
			Prefix:          "sha256=",
			Encoding:        "base64",
		},
		EventID: "/event_id",
		Source:  "https://www.typeform.com/developers/webhooks/secure-your-webhooks/",
	},
	{
		// X-Hub-Signature: sha1=<hex HMAC-SHA1(client secret, body)>; the
		// notification's id is stable.
		Name: "intercom",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Hub-Signature",
			Prefix:          "sha1=",
			Hash:            "sha1",
		},
		EventID: "/id",
		Source:  "https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications",
	},
	{
		// Zendesk: X-Zendesk-Webhook-Signature = base64
		// HMAC-SHA256(signing secret, timestamp + body), the timestamp
		// being X-Zendesk-Webhook-Signature-Timestamp (RFC 3339).
		Name: "zendesk",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Zendesk-Webhook-Signature",
			Encoding:        "base64",
			TimestampHeader: "X-Zendesk-Webhook-Signature-Timestamp",
			TimestampUnit:   "rfc3339",
			Content:         "{timestamp}{body}",
		},
		Source: "https://developer.zendesk.com/documentation/webhooks/verifying/",
	},
}

// newVMware is postmark in Basic mode only.
func newVMware(c Config) (Verifier, error) {
	if err := c.Reject("secret", "header"); err != nil {
		return nil, fmt.Errorf("%w (it checks Basic auth: username and password)", err)
	}
	if c.Username == "" || c.Password == "" {
		return nil, fmt.Errorf("provider %s needs username and password (Basic auth)", c.Provider)
	}
	return New("postmark", c)
}
