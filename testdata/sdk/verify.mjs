// Verifies webhook deliveries with the providers' own SDKs.
//
// stdin: a JSON array of cases {name, sdk, secret, publicKey, url,
// headers: {lowercase name: value}, body: base64}; stdout: a JSON array of
// {name, ok, error}. Run by verifiers/sign_sdk_test.go (`npm ci` here
// first); the deliveries are made by the Go signers.
import { createRequire } from "node:module";
import { createPublicKey, verify as cryptoVerify } from "node:crypto";
import { Webhook as SvixWebhook } from "svix";
import { Webhook as StandardWebhook } from "standardwebhooks";
import Stripe from "stripe";
import { verify as octokitVerify } from "@octokit/webhooks-methods";
import twilio from "twilio";
import { Webhooks as MailChannelsWebhooks } from "mailchannels-sdk";
import { verifyRequest as contentfulVerify } from "@contentful/node-apps-toolkit";

const require = createRequire(import.meta.url);
const { EventWebhook } = require("@sendgrid/eventwebhook");

const stripe = new Stripe("sk_test_unused");

const checks = {
  svix: (c, body) => { new SvixWebhook(c.secret).verify(body, c.headers); return true; },
  standardwebhooks: (c, body) => { new StandardWebhook(c.secret).verify(body, c.headers); return true; },
  // Standard Webhooks v1a (Ed25519). standardwebhooks 1.1.1 verifies v1
  // only, so the v1a entries are checked with Node's own Ed25519
  // (node:crypto) over the spec's signed content id.timestamp.body, with the
  // whpk_ public key, and the library's 5-minute tolerance.
  "standardwebhooks-v1a": (c) => {
    const id = c.headers["webhook-id"], ts = c.headers["webhook-timestamp"], list = c.headers["webhook-signature"];
    if (!id || !ts || !list) throw new Error("Missing required headers");
    if (Math.abs(Math.floor(Date.now() / 1000) - parseInt(ts, 10)) > 300) throw new Error("timestamp outside tolerance");
    const raw = Buffer.from(c.publicKey.replace(/^whpk_/, ""), "base64");
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
    const msg = Buffer.concat([Buffer.from(`${id}.${ts}.`), Buffer.from(c.body, "base64")]);
    return list.split(" ").some((e) => {
      const [version, sig] = e.split(",");
      return version === "v1a" && cryptoVerify(null, msg, key, Buffer.from(sig || "", "base64"));
    });
  },
  stripe: (c, body) => { stripe.webhooks.constructEvent(body, c.headers["stripe-signature"], c.secret); return true; },
  octokit: (c, body) => octokitVerify(c.secret, body, c.headers["x-hub-signature-256"]),
  twilio: (c, body) => {
    if ((c.headers["content-type"] || "").startsWith("application/x-www-form-urlencoded")) {
      const params = Object.fromEntries(new URLSearchParams(body));
      return twilio.validateRequest(c.secret, c.headers["x-twilio-signature"], c.url, params);
    }
    return twilio.validateRequestWithBody(c.secret, c.headers["x-twilio-signature"], c.url, body);
  },
  sendgrid: (c, body) => {
    const ew = new EventWebhook();
    const key = ew.convertPublicKeyToECDSA(c.publicKey);
    return ew.verifySignature(key, body,
      c.headers["x-twilio-email-event-webhook-signature"], c.headers["x-twilio-email-event-webhook-timestamp"]);
  },
  mailchannels: (c, body) => MailChannelsWebhooks.verify({ payload: body, headers: c.headers, publicKey: c.publicKey }),
  // A POST to c.url; its path and query as sent (not re-encoded by URL). TTL 0: no age check.
  contentful: (c, body) => contentfulVerify(c.secret,
    { method: "POST", path: c.url.replace(/^https?:\/\/[^/]+/, ""), headers: c.headers, body }, 0),
};

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const c of JSON.parse(input)) {
  const body = Buffer.from(c.body, "base64").toString("utf8");
  try {
    const check = checks[c.sdk];
    if (!check) throw new Error(`unknown sdk ${c.sdk}`);
    out.push({ name: c.name, ok: (await check(c, body)) === true });
  } catch (e) {
    out.push({ name: c.name, ok: false, error: String(e && e.message || e) });
  }
}
process.stdout.write(JSON.stringify(out));
