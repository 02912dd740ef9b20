// Verifies webhook deliveries with the providers' own SDKs.
//
// stdin: a JSON array of cases {name, sdk, secret, publicKey, url,
// headers: {lowercase name: value}, body: base64}; stdout: a JSON array of
// {name, ok, error}. Run by verifiers/sign_sdk_test.go (`npm ci` here
// first); the deliveries are made by the Go signers.
import { createRequire } from "node:module";
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
