package verifiers

// presetsRecipe are providers whose scheme is one recipe, written with the
// table (see presets.go for how to add a row). Each row cites its source;
// its test vector is in internal/presetvectors.
var presetsRecipe = []Preset{
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
		// X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>;
		// X-Request-UUID is the delivery id (unsigned).
		Name: "bitbucket",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Hub-Signature",
			Prefix:          "sha256=",
			IDHeader:        "X-Request-UUID",
		},
		Source: "https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/#Secure-webhooks",
	},
	{
		// X-Gitlab-Token carries the webhook's secret token itself (compared
		// in constant time); nothing is signed. X-Gitlab-Event-UUID is the
		// delivery id (unsigned). The replay key is the body's digest.
		Name: "gitlab",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Gitlab-Token",
			Scheme:          "token",
			IDHeader:        "X-Gitlab-Event-UUID",
		},
		Source: "https://docs.gitlab.com/user/project/integrations/webhooks/#validate-payloads-by-using-a-secret-token",
	},
	{
		// Heroku app webhooks: Heroku-Webhook-Hmac-SHA256 = base64
		// HMAC-SHA256(secret, body); Heroku-Webhook-Id (unsigned); the body's
		// id is the event's.
		Name: "heroku",
		Recipe: HMACRecipe{
			SignatureHeader: "Heroku-Webhook-Hmac-SHA256",
			Encoding:        "base64",
			IDHeader:        "Heroku-Webhook-Id",
		},
		EventID: "/id",
		Source:  "https://devcenter.heroku.com/articles/app-webhooks#securing-webhook-requests",
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
		// Linear-Signature = hex HMAC-SHA256(secret, body); the body's
		// webhookTimestamp (ms) is checked (Linear's SDK: 60 s). Linear-Delivery
		// is unsigned.
		Name: "linear",
		Recipe: HMACRecipe{
			SignatureHeader: "Linear-Signature",
			TimestampField:  "/webhookTimestamp",
			TimestampUnit:   "ms",
			IDHeader:        "Linear-Delivery",
		},
		Source: "https://linear.app/developers/webhooks#securing-webhooks ; github:linear/linear packages/sdk/src/webhooks/client.ts",
	},
	{
		// Sentry integration platform: Sentry-Hook-Signature = hex
		// HMAC-SHA256(client secret, body). Sentry-Hook-Timestamp is not
		// signed and not read.
		Name: "sentry",
		Recipe: HMACRecipe{
			SignatureHeader: "Sentry-Hook-Signature",
		},
		Source: "https://docs.sentry.io/organization/integrations/integration-platform/webhooks/#verifying-the-signature",
	},
	{
		// HCP Terraform / Terraform Enterprise notifications:
		// X-TFE-Notification-Signature = hex HMAC-SHA512(token, body).
		Name:    "terraform",
		Aliases: []string{"terraform_cloud", "hcp_terraform"},
		Recipe: HMACRecipe{
			SignatureHeader: "X-TFE-Notification-Signature",
			Hash:            "sha512",
		},
		Source: "https://developer.hashicorp.com/terraform/cloud-docs/api-docs/notification-configurations#notification-authenticity",
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
}

func init() {
	addPresets(presetsRecipe)
}
