package verifiers

import (
	"fmt"
	"net/http"
)

// Presets of the helper "presets": ngrok's provider ids and other
// providers users name, each one recipe of the engine (hmac.go, recipe_*.go) with its
// source cited. verifiers/presets_notes.md has the research behind each
// row; the vectors (internal/presetvectors) are the providers' published
// examples where any exist, else signed by Node's crypto
// (verifiers/testdata/presets/sign.js). Unless a row says otherwise the
// secret is used as its UTF-8 bytes, the signature covers the raw body
// only and there is no timestamp.

func init() {
	addPresets(presetsCatalog)
}

var presetsCatalog = []Preset{
	// ---- ngrok's provider ids

	{
		// AfterShip Tracking: aftership-hmac-sha256 = base64 HMAC-SHA256
		// of the body under the webhook secret. (Returns and Warranty
		// send as-signature-hmac-sha256: configure hmac for those.)
		Name:   "aftership",
		Recipe: HMACRecipe{SignatureHeader: "aftership-hmac-sha256", Encoding: "base64"},
		Source: "https://www.aftership.com/docs/tracking/webhook/webhook-signature",
	},
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
		// Alchemy Notify: X-Alchemy-Signature = hex HMAC-SHA256 of the
		// body under the webhook's signing key.
		Name:   "alchemy",
		Recipe: HMACRecipe{SignatureHeader: "X-Alchemy-Signature"},
		Source: "Alchemy Notify docs, webhook signature and security (per-webhook signing key); scheme cross-checked with independent receivers found by code search",
	},
	{
		// Autodesk Platform Services: x-adsk-signature: sha1hash=<hex
		// HMAC-SHA1 of the body under the secret token>.
		Name:   "autodesk",
		Recipe: HMACRecipe{SignatureHeader: "x-adsk-signature", Prefix: "sha1hash=", Hash: "sha1"},
		Source: "https://aps.autodesk.com/en/docs/webhooks/v1/tutorials/how-to-verify-payload-signature/",
	},
	{
		// Bolt: X-Bolt-Hmac-Sha256 = base64 HMAC-SHA256 of the body under
		// the signing secret.
		Name:   "bolt",
		Recipe: HMACRecipe{SignatureHeader: "X-Bolt-Hmac-Sha256", Encoding: "base64"},
		Source: "https://help.bolt.com/developers/webhooks/hook-verification",
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
		// Coinbase Commerce: X-CC-Webhook-Signature = hex HMAC-SHA256 of
		// the body under the shared webhook secret. The event id is /id.
		Name:    "coinbase",
		Recipe:  HMACRecipe{SignatureHeader: "X-CC-Webhook-Signature"},
		EventID: "/id",
		Source:  "https://docs.cdp.coinbase.com/commerce/api-arcitecture/webhooks-security",
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
		// Modern Treasury: X-Signature = hex HMAC-SHA256 of the body under
		// the webhook key.
		Name:   "modern_treasury",
		Recipe: HMACRecipe{SignatureHeader: "X-Signature"},
		Source: "Modern Treasury docs, \"Verifying webhooks\" (X-Signature, webhook key)",
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
		// Pusher Channels: X-Pusher-Signature = hex HMAC-SHA256 of the body
		// under the app secret (X-Pusher-Key names the app's key).
		Name:   "pusher",
		Recipe: HMACRecipe{SignatureHeader: "X-Pusher-Signature"},
		Source: "https://pusher.com/docs/channels/server_api/webhooks/#authentication",
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
		// Webex: X-Spark-Signature = hex HMAC-SHA1 of the body under the
		// webhook's secret.
		Name:   "webex",
		Recipe: HMACRecipe{SignatureHeader: "X-Spark-Signature", Hash: "sha1"},
		Source: "Webex developer docs, webhooks \"Auth\" (X-Spark-Signature, HMAC-SHA1 with the webhook secret)",
	},
	{
		// Xero: x-xero-signature = base64 HMAC-SHA256 of the body under
		// the webhooks key. Xero's "intent to receive" check sends
		// wrongly signed requests and expects the 401 they get here.
		Name:   "xero",
		Recipe: HMACRecipe{SignatureHeader: "x-xero-signature", Encoding: "base64"},
		Source: "https://developer.xero.com/documentation/guides/webhooks/overview/",
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

	// ---- Beyond ngrok

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
		// GoCardless: Webhook-Signature = hex HMAC-SHA256 of the body under
		// the endpoint secret.
		Name:   "gocardless",
		Recipe: HMACRecipe{SignatureHeader: "Webhook-Signature"},
		Source: "GoCardless docs, webhooks \"Verifying webhook signatures\"; gocardless-pro SDKs Webhook.parse",
	},
	{
		// Segment Webhooks destination: X-Signature = hex HMAC-SHA1 of the
		// body under the shared secret.
		Name:   "segment",
		Recipe: HMACRecipe{SignatureHeader: "X-Signature", Hash: "sha1"},
		Source: "Segment docs, Webhooks destination, shared secret (X-Signature)",
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
		// Asana: X-Hook-Signature = hex HMAC-SHA256 of the body under the
		// X-Hook-Secret of the webhook's handshake. The handshake itself
		// (X-Hook-Secret to echo) comes before the secret can be
		// configured: route it to the app without the gate.
		Name:   "asana",
		Recipe: HMACRecipe{SignatureHeader: "X-Hook-Signature"},
		Source: "Asana API docs, webhooks guide, \"Security\" (X-Hook-Secret, X-Hook-Signature)",
	},
	{
		// MailerSend: Signature = hex HMAC-SHA256 of the body under the
		// webhook's signing secret.
		Name:   "mailersend",
		Recipe: HMACRecipe{SignatureHeader: "Signature"},
		Source: "MailerSend API docs, webhooks \"Security\" (Signature header)",
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
		// Nylas v3: X-Nylas-Signature = hex HMAC-SHA256 of the body under
		// the webhook secret. Nylas's GET ?challenge=<value> handshake is
		// answered here with the value (1 to 256 letters, digits and
		// "-._~"), never forwarded.
		Name:      "nylas",
		Recipe:    HMACRecipe{SignatureHeader: "X-Nylas-Signature"},
		Handshake: presetQueryChallenge("challenge"),
		Source:    "Nylas v3 docs, webhooks \"Verify webhook signatures\" (X-Nylas-Signature)",
	},
	{
		// Mailtrap: Mailtrap-Signature = hex HMAC-SHA256 of the body under
		// the webhook's signing secret.
		Name:   "mailtrap",
		Recipe: HMACRecipe{SignatureHeader: "Mailtrap-Signature"},
		Source: "Mailtrap webhooks docs; django-anymail anymail/webhooks/mailtrap.py",
	},
}

// presetQueryChallenge answers an unsigned GET handshake that carries its
// challenge in the query parameter name, by echoing it as text/plain
// (nosniff). The value must be 1 to 256 of A-Z a-z 0-9 - . _ ~ and sent
// once (else 400). A GET without the parameter is not a handshake.
func presetQueryChallenge(name string) func(r *Request) (*Response, bool, error) {
	return func(r *Request) (*Response, bool, error) {
		if r.Method != http.MethodGet || r.URL == nil {
			return nil, false, nil
		}
		vals, ok := r.URL.Query()[name]
		if !ok {
			return nil, false, nil
		}
		if len(vals) != 1 || !presetSafeToken(vals[0], 256) {
			return nil, true, fmt.Errorf("%w: %s is not 1 to 256 of A-Z a-z 0-9 - . _ ~, sent once", ErrMalformed, name)
		}
		h := http.Header{}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		return &Response{Status: http.StatusOK, Header: h, Body: vals[0]}, true, nil
	}
}

// presetSafeToken reports whether s is 1 to max unreserved URI characters
// (RFC 3986: letters, digits, "-", ".", "_", "~").
func presetSafeToken(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}
