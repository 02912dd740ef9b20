package verifiers

// Presets of docs/providers.md's "Developer tools and infrastructure" providers table: one recipe each of the
// engine (hmac.go, recipe_*.go), its source cited in the row.
//
// Unless a row says otherwise the secret is used as its UTF-8 bytes, the
// signature covers the raw body only and there is no timestamp. Research
// behind each row: presets_notes.md; its vector: internal/presetvectors
// (the provider's published example where one exists, else signed by
// Node's crypto, verifiers/testdata/presets/sign.js).

func init() {
	addPresets(presetsDevTools)
}

var presetsDevTools = []Preset{
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
		// Airtable: X-Airtable-Content-MAC: hmac-sha256=<hex HMAC-SHA256
		// of the body>, keyed with the base64-decoded macSecretBase64 of
		// the webhook.
		Name: "airtable",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Airtable-Content-MAC",
			Prefix:          "hmac-sha256=",
			SecretEncoding:  "base64",
		},
		Source: "github:gtalarico/pyairtable pyairtable/models/webhook.py @25f31b0f4ab95d3e23ab37a645483ac38c8126ca ; Airtable Web API, webhooks notification",
	},
	{
		// Alchemy Notify: X-Alchemy-Signature = hex HMAC-SHA256 of the
		// body under the webhook's signing key.
		Name:   "alchemy",
		Recipe: HMACRecipe{SignatureHeader: "X-Alchemy-Signature"},
		Source: "Alchemy Notify docs, webhook signature and security (per-webhook signing key); scheme cross-checked with independent receivers found by code search",
	},
	{
		// Asana: X-Hook-Signature = hex HMAC-SHA256 of the body under the
		// X-Hook-Secret of the webhook's handshake. The handshake itself
		// (X-Hook-Secret to echo) comes before the secret can be
		// configured: route it to the app without the gate.
		Name:   "asana",
		Recipe: HMACRecipe{SignatureHeader: "X-Hook-Signature"},
		Source: "Asana API docs, webhooks guide, \"Security\" (X-Hook-Secret, X-Hook-Signature)",
	},
	{
		// Autodesk Platform Services: x-adsk-signature: sha1hash=<hex
		// HMAC-SHA1 of the body under the secret token>.
		Name:   "autodesk",
		Recipe: HMACRecipe{SignatureHeader: "x-adsk-signature", Prefix: "sha1hash=", Hash: "sha1"},
		Source: "https://aps.autodesk.com/en/docs/webhooks/v1/tutorials/how-to-verify-payload-signature/",
	},
	{
		// Buildkite (signature mode; token mode is postmark's header mode):
		// X-Buildkite-Signature: timestamp=<s>,signature=<hex
		// HMAC-SHA256(token, timestamp + "." + body)>.
		Name: "buildkite",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Buildkite-Signature",
			Separator:       ",",
			Prefix:          "signature=",
			TimestampKey:    "timestamp=",
			Content:         "{timestamp}.{body}",
		},
		Source: "https://buildkite.com/docs/apis/webhooks",
	},
	{
		// Castle: X-Castle-Signature = base64 HMAC-SHA256 of the body
		// under the API secret.
		Name:   "castle",
		Recipe: HMACRecipe{SignatureHeader: "X-Castle-Signature", Encoding: "base64"},
		Source: "github:castle/castle-ruby lib/castle/webhooks/verify.rb @23b7b84b4e1dd3460d764880b29055c947182cc0",
	},
	{
		// CircleCI outbound webhooks: circleci-signature: v1=<hex
		// HMAC-SHA256 of the body>[,vN=...]; only v1 is checked (no
		// downgrade). The payload id is stable across retries.
		Name: "circleci",
		Recipe: HMACRecipe{
			SignatureHeader: "circleci-signature",
			Separator:       ",",
			Prefix:          "v1=",
		},
		EventID: "/id",
		Source:  "https://circleci.com/docs/guides/integration/outbound-webhooks/#validate-webhooks",
	},
	{
		// Clearbit: X-Request-Signature: sha1=<hex HMAC-SHA1 of the body>,
		// keyed with the secret API key as the dashboard shows it, "sk_"
		// included (Clearbit::Webhook.valid? keys the HMAC with
		// Clearbit.key, the whole key).
		Name: "clearbit",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Request-Signature",
			Prefix:          "sha1=",
			Hash:            "sha1",
		},
		Source: "github:clearbit/clearbit-ruby lib/clearbit/webhook.rb @9d25adb2c27c03df460f8a5d789244ba4a70a703",
	},
	{
		// Frame.io: X-Frameio-Signature: v0=<hex HMAC-SHA256(secret, "v0:"
		// + X-Frameio-Request-Timestamp + ":" + body)>.
		Name: "frameio",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Frameio-Signature",
			Prefix:          "v0=",
			TimestampHeader: "X-Frameio-Request-Timestamp",
			Content:         "v0:{timestamp}:{body}",
		},
		Source: "https://next.developer.frame.io/platform/docs/guides/webhooks#verifying-webhook-signatures",
	},
	{
		// Go1: Go1-Signature: t=<s>,v1=<hex HMAC-SHA256(secret_key, t +
		// "." + body)>. Go1's SDK allows 60 s (set tolerance 60s to match).
		Name: "go1",
		Recipe: HMACRecipe{
			SignatureHeader: "Go1-Signature",
			Separator:       ",",
			Prefix:          "v1=",
			TimestampKey:    "t=",
			Content:         "{timestamp}.{body}",
		},
		Source: "https://www.go1.com/developers/partners/concepts/webhook-signature-authentification ; github:go1com/webhook-verifier-js src/signature-verifier.ts @24f831ba936f48ea119e39f3e697df3d8f86e047",
	},
	{
		// HostedHooks: HostedHooks-Signature: t=<s>,s=<hex
		// HMAC-SHA256(endpoint secret, t + "." + body)>.
		Name: "hostedhooks",
		Recipe: HMACRecipe{
			SignatureHeader: "HostedHooks-Signature",
			Separator:       ",",
			Prefix:          "s=",
			TimestampKey:    "t=",
			Content:         "{timestamp}.{body}",
		},
		Source: "https://docs.hostedhooks.com/security/security-features/webhook-signatures",
	},
	{
		// Jira (Cloud and Data Center webhooks with a secret):
		// X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>.
		Name:   "jira",
		Recipe: HMACRecipe{SignatureHeader: "X-Hub-Signature", Prefix: "sha256="},
		Source: "https://confluence.atlassian.com/adminjiraserver/managing-webhooks-938846912.html",
	},
	{
		// LaunchDarkly: X-LD-Signature = hex HMAC-SHA256 of the body under
		// the webhook's secret.
		Name:    "launch_darkly",
		Aliases: []string{"launchdarkly"},
		Recipe:  HMACRecipe{SignatureHeader: "X-LD-Signature"},
		Source:  "https://docs.launchdarkly.com/home/connecting/webhooks#signing-webhooks",
	},
	{
		// MongoDB Atlas / Ops Manager alert webhooks: X-MMS-Signature =
		// base64 HMAC-SHA1 of the body under the webhook secret.
		Name:   "mongodb",
		Recipe: HMACRecipe{SignatureHeader: "X-MMS-Signature", Hash: "sha1", Encoding: "base64"},
		Source: "https://www.mongodb.com/docs/atlas/tutorial/webhook-integration/ (X-MMS-Signature: base64 HMAC-SHA-1 of the body)",
	},
	{
		// Mux: Mux-Signature: t=<s>,v1=<hex HMAC-SHA256(secret, t + "." +
		// body)>. The event id is /id.
		Name: "mux",
		Recipe: HMACRecipe{
			SignatureHeader: "Mux-Signature",
			Separator:       ",",
			Prefix:          "v1=",
			TimestampKey:    "t=",
			Content:         "{timestamp}.{body}",
		},
		EventID: "/id",
		Source:  "https://docs.mux.com/guides/listen-for-webhooks#verify-webhook-signatures",
	},
	{
		// PagerDuty v3: X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the
		// body>[,v1=<hex>] (several during a secret rotation). The event
		// id is /event/id.
		Name: "pagerduty",
		Recipe: HMACRecipe{
			SignatureHeader: "X-PagerDuty-Signature",
			Separator:       ",",
			Prefix:          "v1=",
		},
		EventID: "/event/id",
		Source:  "PagerDuty developer docs, v3 webhooks \"Verifying Signatures\"",
	},
	{
		// Segment Webhooks destination: X-Signature = hex HMAC-SHA1 of the
		// body under the shared secret.
		Name:   "segment",
		Recipe: HMACRecipe{SignatureHeader: "X-Signature", Hash: "sha1"},
		Source: "Segment docs, Webhooks destination, shared secret (X-Signature)",
	},
	{
		// Signal Sciences / Fastly Next-Gen WAF generic webhooks:
		// X-SigSci-Signature = hex HMAC-SHA256 of the body.
		Name:   "signal_sciences",
		Recipe: HMACRecipe{SignatureHeader: "X-SigSci-Signature"},
		Source: "https://docs.fastly.com/signalsciences/integrations/generic-webhooks",
	},
	{
		// Sonatype Nexus Repository: X-Nexus-Webhook-Signature = hex
		// HMAC-SHA1 of the body. X-Nexus-Webhook-Id is unsigned (logs).
		Name:    "sonatype",
		Aliases: []string{"nexus"},
		Recipe: HMACRecipe{
			SignatureHeader: "X-Nexus-Webhook-Signature",
			Hash:            "sha1",
			IDHeader:        "X-Nexus-Webhook-Id",
		},
		Source: "https://help.sonatype.com/repomanager3/integrations/webhooks/working-with-hmac-payloads",
	},
	{
		// Trend Micro Cloud One Conformity: hex HMAC-SHA256 of the body
		// under the webhook security token, in X-TrendMicro-Signature
		// (docs.trendmicro.com, "Cloud One Conformity webhook
		// communication") or X-Conformity-Signature (the older cloudone
		// and cloudconformity pages, still served). Both names are
		// accepted; a request with both must carry one value in both
		// (OneSignature), or it is ambiguous (400).
		Name: "trendmicro_conformity",
		Recipe: HMACRecipe{
			SignatureHeader:  "X-TrendMicro-Signature",
			SignatureHeaders: []string{"X-Conformity-Signature"},
		},
		OneSignature: true,
		Source: "https://docs.trendmicro.com/en-us/documentation/article/trend-micro-cloud-one-conformity-webhook-communication ; " +
			"https://cloudone.trendmicro.com/docs/conformity/webhook-communication/ ; " +
			"https://www.cloudconformity.com/help/communication/communication-channels/webhook-communication.html",
	},
	{
		// Vercel: x-vercel-signature = hex HMAC-SHA1 of the body under the
		// integration's client secret (or the webhook's secret).
		Name:    "vercel",
		Recipe:  HMACRecipe{SignatureHeader: "x-vercel-signature", Hash: "sha1"},
		EventID: "/id",
		Source:  "Vercel docs, webhooks \"Securing webhooks\" (x-vercel-signature, HMAC-SHA1)",
	},
	{
		// WorkOS: WorkOS-Signature: t=<ms>, v1=<hex HMAC-SHA256(secret, t
		// + "." + body)>. WorkOS's SDKs allow 180 s. The event id is /id.
		Name: "workos",
		Recipe: HMACRecipe{
			SignatureHeader: "WorkOS-Signature",
			Separator:       ",",
			Prefix:          "v1=",
			TimestampKey:    "t=",
			TimestampUnit:   "ms",
			Content:         "{timestamp}.{body}",
		},
		EventID: "/id",
		Source:  "WorkOS docs, webhooks \"Validate the requests manually\"; workos SDKs webhooks.constructEvent",
	},
}
