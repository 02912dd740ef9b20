package verifiers

// Presets of docs/providers.md's "Chat, meetings, voice and social" providers table: one recipe each of the
// engine (hmac.go, recipe_*.go), its source cited in the row.
//
// Unless a row says otherwise the secret is used as its UTF-8 bytes, the
// signature covers the raw body only and there is no timestamp. Research
// behind each row: presets_notes.md; its vector: internal/presetvectors
// (the provider's published example where one exists, else signed by
// Node's crypto, verifiers/testdata/presets/sign.js).

func init() {
	addPresets(presetsChat)
}

var presetsChat = []Preset{
	{
		// Airship Open Channel webhooks: X-UA-Signature = hex
		// HMAC-SHA256(secret, X-UA-Timestamp + ":" + body). Deliveries
		// sent with Content-Encoding: gzip are signed over the
		// decompressed JSON and do not verify at the gate.
		Name: "airship",
		Recipe: HMACRecipe{
			SignatureHeader: "X-UA-Signature",
			TimestampHeader: "X-UA-Timestamp",
			Content:         "{timestamp}:{body}",
		},
		Source: "https://support.airship.com/hc/en-us/articles/360032501831-Implementing-a-Signature-Hash-and-Validating-an-Open-Channel-Webhook",
	},
	{
		// Microsoft Teams outgoing webhooks: Authorization: HMAC <base64
		// HMAC-SHA256 of the body>, keyed with the base64-decoded security
		// token Teams shows when the webhook is created.
		Name:    "microsoft_teams",
		Aliases: []string{"teams"},
		Recipe: HMACRecipe{
			SignatureHeader: "Authorization",
			Prefix:          "HMAC ",
			Encoding:        "base64",
			SecretEncoding:  "base64",
		},
		Source: "https://docs.microsoft.com/en-us/microsoftteams/platform/concepts/outgoingwebhook ; OfficeDev msteams outgoing-webhook Node sample (Buffer(sharedSecret, \"base64\"), \"HMAC \" + digest(\"base64\"))",
	},
	{
		// Pusher Channels: X-Pusher-Signature = hex HMAC-SHA256 of the body
		// under the app secret (X-Pusher-Key names the app's key).
		Name:   "pusher",
		Recipe: HMACRecipe{SignatureHeader: "X-Pusher-Signature"},
		Source: "https://pusher.com/docs/channels/server_api/webhooks/#authentication",
	},
	{
		// TikTok: TikTok-Signature: t=<s>,s=<hex HMAC-SHA256(client
		// secret, t + "." + body)>.
		Name: "tiktok",
		Recipe: HMACRecipe{
			SignatureHeader: "TikTok-Signature",
			Separator:       ",",
			Prefix:          "s=",
			TimestampKey:    "t=",
			Content:         "{timestamp}.{body}",
		},
		Source: "https://developers.tiktok.com/doc/webhooks-verification (TikTok for Developers, \"Webhooks verification\")",
	},
	{
		// Webex: X-Spark-Signature = hex HMAC-SHA1 of the body under the
		// webhook's secret.
		Name:   "webex",
		Recipe: HMACRecipe{SignatureHeader: "X-Spark-Signature", Hash: "sha1"},
		Source: "Webex developer docs, webhooks \"Auth\" (X-Spark-Signature, HMAC-SHA1 with the webhook secret)",
	},
}
