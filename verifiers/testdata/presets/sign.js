// Independent signer for the preset test vectors (helper "presets").
//
// Run: node verifiers/testdata/presets/sign.js > verifiers/testdata/presets/vectors.json
//
// Each vector is signed here with Node's crypto, following the provider's own
// documentation or SDK (cited per row), never with the Go code under test.
// Published vectors (castle, circleci, orb, airtable) are copied from the
// providers' SDK tests and docs and only re-checked here: the script fails if
// its own computation disagrees with the published signature.
"use strict";
const crypto = require("crypto");

const hmac = (hash, key, data, enc) =>
  crypto.createHmac(hash, key).update(data).digest(enc);

// NOW is the verification time of every timestamped vector.
const NOW = 1767225600; // 2026-01-01T00:00:00Z
const TS = String(NOW - 30);
const TS_MS = String((NOW - 30) * 1000);
const ISO = new Date((NOW - 30) * 1000).toISOString().replace(".000Z", "Z"); // 2025-12-31T23:59:30Z

const body = (provider) =>
  JSON.stringify({ id: "evt_" + provider + "_1", type: "test.event", data: { provider, n: 1 } });

const rows = [];
const add = (r) => {
  if (r.published && r.published !== r.computed) {
    throw new Error(r.name + ": published " + r.published + " != computed " + r.computed);
  }
  delete r.computed;
  rows.push(r);
};

// Body-only HMAC presets: [name, header, hash, encoding, prefix, secret]
const bodyOnly = [
  ["aftership", "aftership-hmac-sha256", "sha256", "base64", "", "aftership-webhook-secret"],
  ["alchemy", "X-Alchemy-Signature", "sha256", "hex", "", "whsec_alchemy_signing_key"],
  ["autodesk", "x-adsk-signature", "sha1", "hex", "sha1hash=", "autodesk-secret-token"],
  ["bolt", "X-Bolt-Hmac-Sha256", "sha256", "base64", "", "bolt-signing-secret"],
  ["chargify", "X-Chargify-Webhook-Signature-Hmac-Sha-256", "sha256", "hex", "", "chargify-site-shared-key"],
  ["coinbase", "X-CC-Webhook-Signature", "sha256", "hex", "", "coinbase-commerce-shared-secret"],
  ["jira", "X-Hub-Signature", "sha256", "hex", "sha256=", "jira-webhook-secret"],
  ["launch_darkly", "X-LD-Signature", "sha256", "hex", "", "launchdarkly-secret"],
  ["modern_treasury", "X-Signature", "sha256", "hex", "", "modern-treasury-webhook-key"],
  ["mongodb", "X-MMS-Signature", "sha1", "base64", "", "mongodb-atlas-webhook-secret"],
  ["pagerduty", "X-PagerDuty-Signature", "sha256", "hex", "v1=", "pagerduty-webhook-secret"],
  ["pusher", "X-Pusher-Signature", "sha256", "hex", "", "pusher-app-secret"],
  ["signal_sciences", "X-SigSci-Signature", "sha256", "hex", "", "sigsci-signing-key"],
  ["sonatype", "X-Nexus-Webhook-Signature", "sha1", "hex", "", "nexus-webhook-secret"],
  ["trendmicro_conformity", "X-TrendMicro-Signature", "sha256", "hex", "", "conformity-security-token"],
  ["webex", "X-Spark-Signature", "sha1", "hex", "", "webex-webhook-secret"],
  ["xero", "x-xero-signature", "sha256", "base64", "", "xero-webhooks-key"],
  ["vercel", "x-vercel-signature", "sha1", "hex", "", "vercel-integration-secret"],
  ["razorpay", "X-Razorpay-Signature", "sha256", "hex", "", "razorpay-webhook-secret"],
  ["gocardless", "Webhook-Signature", "sha256", "hex", "", "gocardless-webhook-secret"],
  ["segment", "X-Signature", "sha1", "hex", "", "segment-shared-secret"],
  ["asana", "X-Hook-Signature", "sha256", "hex", "", "asana-x-hook-secret"],
  ["mailersend", "Signature", "sha256", "hex", "", "mailersend-signing-secret"],
  ["nylas", "X-Nylas-Signature", "sha256", "hex", "", "nylas-webhook-secret"],
  ["mailtrap", "Mailtrap-Signature", "sha256", "hex", "", "mailtrap-signing-secret"],
];
for (const [name, header, hash, enc, prefix, secret] of bodyOnly) {
  const b = body(name);
  add({ name, secrets: [secret], headers: { [header]: prefix + hmac(hash, secret, b, enc) }, body: b });
}

// Clearbit: the secret API key as the dashboard shows it, sk_ included, is
// the key (github:clearbit/clearbit-ruby lib/clearbit/webhook.rb: HMAC-SHA1
// keyed with Clearbit.key). The same as
//   printf '%s' "$body" | openssl dgst -sha1 -hmac sk_clearbit_api_key
{
  const b = body("clearbit");
  const key = "sk_clearbit_api_key";
  add({ name: "clearbit", secrets: [key],
    headers: { "X-Request-Signature": "sha1=" + hmac("sha1", key, b, "hex") }, body: b });
}

// Microsoft Teams outgoing webhooks: Authorization: HMAC <base64>, key = the
// base64-decoded security token (OfficeDev outgoing-webhook sample).
{
  const b = body("microsoft_teams");
  const token = Buffer.from("teams-outgoing-webhook-token-32b").toString("base64");
  add({ name: "microsoft_teams", secrets: [token],
    headers: { Authorization: "HMAC " + hmac("sha256", Buffer.from(token, "base64"), b, "base64") }, body: b });
}

// Airtable: published vector, github:gtalarico/pyairtable tests/test_models_webhook.py
// @25f31b0f4ab95d3e23ab37a645483ac38c8126ca (body is Python's json.dumps).
{
  const b = '{"base": {"id": "app00000000000000"}, "webhook": {"id": "ach00000000000000"}, "timestamp": "2022-02-01T21:25:05.663Z"}';
  const sig = "e26da696a90933647bddc83995c3e1e3bb1c3d8ce1ff61cb7469767d50b2b2d4";
  add({ name: "airtable", secrets: ["c2VjcmV0LWtleQ=="], headers: { "X-Airtable-Content-MAC": "hmac-sha256=" + sig },
    body: b, published: sig, computed: hmac("sha256", Buffer.from("c2VjcmV0LWtleQ==", "base64"), b, "hex") });
}

// Castle: published vector, github:castle/castle-ruby spec/lib/castle/webhooks/verify_spec.rb
// @23b7b84b4e1dd3460d764880b29055c947182cc0 (secret from spec/spec_helper.rb).
{
  const b = JSON.stringify({ api_version: "v1", app_id: "12345", type: "$incident.confirmed", created_at: "2020-12-18T12:55:21.779Z",
    data: { id: "test", device_token: "token", user_id: "12345", trigger: "$login.succeeded", context: {}, location: {}, user_agent: {} },
    user_traits: {}, properties: {}, policy: {} });
  const sig = "3ptx3rUOBnGEqPjMrbcJn2UUfzwTKP54dFyP5uyPY+Y=";
  add({ name: "castle", secrets: ["secret"], headers: { "X-Castle-Signature": sig }, body: b,
    published: sig, computed: hmac("sha256", "secret", b, "base64") });
}

// CircleCI: published known-answer vector of CircleCI's "Validate webhooks" guide
// (https://circleci.com/docs/guides/integration/outbound-webhooks/#validate-webhooks).
{
  const sig = "734cc62f32841568f45715aeb9f4d7891324e6d948e4c6c60c0621cdac48623a";
  add({ name: "circleci", secrets: ["secret"], headers: { "circleci-signature": "v1=" + sig + ",v2=ignored" },
    body: "hello world", published: sig, computed: hmac("sha256", "secret", "hello world", "hex") });
}

// Orb: published vector, github:orbcorp/orb-java orb-java-core/src/test/kotlin/
// com/withorb/api/services/blocking/WebhookServiceTest.kt @143457bb6f9d9953def62bddc78e09ad6f42c158.
{
  const b = '{"id": "o4mmewpfNNTnjfZc", "created_at": "2024-03-27T15:42:29+00:00", "type": "resource_event.test", "properties": {"message": "A test webhook from Orb. Happy testing!"}}';
  const secret = "c-UGKYdnhHh436B_sMouYAPUvXyWpzOdunZBV5dFSD8";
  const ts = "2024-03-27T15:42:29.551";
  const sig = "9d25de966891ab0bc18754faf8d83d0980b44ae330fcc130b41a6cf3daf1f391";
  add({ name: "orb", secrets: [secret], headers: { "X-Orb-Timestamp": ts, "X-Orb-Signature": "v1=" + sig },
    body: b, now: 1711554149, published: sig, computed: hmac("sha256", secret, "v1:" + ts + ":" + b, "hex") });
}

// Timestamped, signed-content presets (signed here, at NOW-30 s).
const ts = (name, secret, headersOf, now) => {
  const b = body(name);
  add({ name, secrets: [secret], headers: headersOf(b), body: b, now: now || NOW });
};
ts("airship", "airship-signature-secret", (b) => ({ "X-UA-Timestamp": TS, "X-UA-Signature": hmac("sha256", "airship-signature-secret", TS + ":" + b, "hex") }));
ts("buildkite", "buildkite-webhook-token", (b) => ({ "X-Buildkite-Signature": "timestamp=" + TS + ",signature=" + hmac("sha256", "buildkite-webhook-token", TS + "." + b, "hex") }));
ts("frameio", "frameio-signing-secret", (b) => ({ "X-Frameio-Request-Timestamp": TS, "X-Frameio-Signature": "v0=" + hmac("sha256", "frameio-signing-secret", "v0:" + TS + ":" + b, "hex") }));
ts("go1", "go1-secret-key", (b) => ({ "Go1-Signature": "t=" + TS + ",v1=" + hmac("sha256", "go1-secret-key", TS + "." + b, "hex") }));
ts("hostedhooks", "hostedhooks-endpoint-secret", (b) => ({ "HostedHooks-Signature": "t=" + TS + ",s=" + hmac("sha256", "hostedhooks-endpoint-secret", TS + "." + b, "hex") }));
ts("mux", "mux-webhook-signing-secret", (b) => ({ "Mux-Signature": "t=" + TS + ",v1=" + hmac("sha256", "mux-webhook-signing-secret", TS + "." + b, "hex") }));
ts("pinwheel", "pinwheel-api-secret", (b) => ({ "X-Timestamp": TS, "X-Pinwheel-Signature": "v2=" + hmac("sha256", "pinwheel-api-secret", "v2:" + TS + ":" + b, "hex") }));
ts("tiktok", "tiktok-client-secret", (b) => ({ "TikTok-Signature": "t=" + TS + ",s=" + hmac("sha256", "tiktok-client-secret", TS + "." + b, "hex") }));
ts("zendesk", "zendesk-signing-secret", (b) => ({ "X-Zendesk-Webhook-Signature-Timestamp": ISO, "X-Zendesk-Webhook-Signature": hmac("sha256", "zendesk-signing-secret", ISO + b, "base64") }));
ts("workos", "workos-webhook-secret", (b) => ({ "WorkOS-Signature": "t=" + TS_MS + ", v1=" + hmac("sha256", "workos-webhook-secret", TS_MS + "." + b, "hex") }));
ts("customerio", "customerio-signing-key", (b) => ({ "X-CIO-Timestamp": TS, "X-CIO-Signature": hmac("sha256", "customerio-signing-key", "v0:" + TS + ":" + b, "hex") }));

// Standard Webhooks senders. Polar keys the HMAC with the secret's own bytes
// (polar-python src/polar_sdk/_webhooks/__init__.py base64-encodes the secret
// before handing it to the standardwebhooks library); the others use the
// whsec_ secret base64-decoded.
const sw = (name, secret, key) => {
  const b = body(name);
  const id = "msg_" + name + "_1";
  add({ name, secrets: [secret], body: b, now: NOW, headers: {
    "webhook-id": id, "webhook-timestamp": TS,
    "webhook-signature": "v1," + hmac("sha256", key, id + "." + TS + "." + b, "base64") } });
};
const whsec = "whsec_" + Buffer.from("standard-webhooks-test-key-24b").toString("base64");
const whkey = Buffer.from("standard-webhooks-test-key-24b");
for (const n of ["brex", "openai", "replicate", "loops"]) sw(n, whsec, whkey);
sw("polar", "polar_whs_test_secret", Buffer.from("polar_whs_test_secret"));
// Clerk delivers through Svix: svix-* headers.
{
  const b = body("clerk");
  const id = "msg_clerk_1";
  add({ name: "clerk", secrets: [whsec], body: b, now: NOW, headers: {
    "svix-id": id, "svix-timestamp": TS,
    "svix-signature": "v1," + hmac("sha256", whkey, id + "." + TS + "." + b, "base64") } });
}

process.stdout.write(JSON.stringify({ now: NOW, vectors: rows }, null, 1) + "\n");
