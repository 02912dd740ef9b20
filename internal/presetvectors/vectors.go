// Package presetvectors holds one test vector per preset row of
// verifiers/presets*.go, for the verifiers unit test and the end-to-end
// test through Caddy (both loop over Vectors, so a new row is covered by
// adding its vector here). Test support only: nothing else imports it.
//
// Each vector cites its source: the provider's docs or SDK test suite where
// they publish one, else the openssl command that signed it, independently
// of the code under test.
package presetvectors

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"
)

// Vector is one signed delivery of a preset.
type Vector struct {
	// Provider is the row's name (or an alias).
	Provider string
	// Source cites where the values come from.
	Source string
	// Secrets and URL configure the route.
	Secrets []string
	URL     string
	// Method (default POST), Path (default /webhook, with any query),
	// Header and Body are the request.
	Method string
	Path   string
	Header map[string]string
	Body   string
	// Now is a time at which the delivery is fresh.
	Now time.Time
	// Stale: the scheme has a signed timestamp, so the delivery an hour
	// after Now is refused (401).
	Stale bool
	// ID is the delivery id the verifier reports ("" none); SignedID says
	// whether it is signed.
	ID       string
	SignedID bool
	// TamperHeader, when set, is a header change that must be refused with
	// 401 (token schemes, where the body is not signed); otherwise a space
	// appended to the body must be.
	TamperHeader map[string]string
	// HandshakeMethod and HandshakeQuery, for a row with a handshake, make
	// the handshake request (default HEAD without a query, Trello's);
	// HandshakeBody, when set, is the answer it must get.
	HandshakeMethod, HandshakeQuery, HandshakeBody string
	// Fresh, for schemes whose tolerance cannot be off, signs the same
	// delivery at now with an independent implementation (the standard
	// library's crypto/hmac over the provider's formula, not the recipe
	// engine) and returns its headers.
	Fresh func(now time.Time) map[string]string
}

// Vectors has one entry per preset row.
var Vectors = []Vector{
	{
		Provider: "shopify",
		Source: "github:Shopify/shopify-app-js packages/apps/shopify-api/lib/webhooks/__tests__/validate.test.ts " +
			"@01fe9dacefabac4c411b067e9d160da6c04b6b23 (secret from lib/__tests__/test-config.ts)",
		Secrets: []string{"test_secret_key"},
		Header:  map[string]string{"X-Shopify-Hmac-Sha256": "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=", "X-Shopify-Webhook-Id": "123456789"},
		Body:    `{"foo": "bar"}`,
		Now:     time.Unix(1700000000, 0),
		ID:      "123456789",
	},
	{
		Provider: "paddle",
		Source:   "github:PaddleHQ/paddle-python-sdk tests/Unit/Notification/test_Verifier.py @993ac19fac2bd90d00ef6c9946994ab57facf753",
		Secrets:  []string{"pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_WvRO0eL4Bj9rgYYIBZY6wZhG4EHy9jzh"},
		Header:   map[string]string{"Paddle-Signature": "ts=1696195954;h1=dummy;h1=d96299976a6eb066f484d7fde011ac56fc32b38fc9940bc419d6e537fdc6ef02"},
		Body:     "hello-world",
		Now:      time.Unix(1696195954, 0),
		Stale:    true,
	},
	{
		Provider: "maildesk",
		Source:   "no published vector: printf '%s' '1718035200.<body>' | openssl dgst -sha256 -hmac 'mdk_test_5f2b8c1e9a7d4b3c'",
		Secrets:  []string{"mdk_test_5f2b8c1e9a7d4b3c"},
		Header: map[string]string{"X-Maildesk-Timestamp": "1718035200",
			"X-Maildesk-Signature": "t=1718035200,v1=cb100bd93ee32acee06010783be6e93a3d1caea1dfbbf03c0da32ce99621c816"},
		Body:  `{"event":"email.delivered","timestamp":1718035200,"data":{"messageId":"msg_01J0ABCDEF","to":"jane@example.com"}}`,
		Now:   time.Unix(1718035200, 0),
		Stale: true,
	},
	{
		// AutoSend's timestamp is checked but not signed: Fresh only sets it.
		Provider: "autosend",
		Source:   "no published vector: printf '%s' '<body>' | openssl dgst -sha256 -hmac 'as_test_secret_3b7c9d'",
		Secrets:  []string{"as_test_secret_3b7c9d"},
		Header: map[string]string{"X-Webhook-Signature": "23e6775fd75acd1db8554234d48a49d4c3239a344c57d247248a8defb6a224ca",
			"X-Webhook-Timestamp": "1699790400000", "X-Webhook-Delivery-Id": "job_12345"},
		Body: `{"type":"email.opened","createdAt":"2023-11-12T12:00:00.000Z","data":{"emailId":"em_01HF3Z","recipient":"jane@example.com"}}`,
		Now:  time.UnixMilli(1699790400000),
		ID:   "job_12345",
		Fresh: func(now time.Time) map[string]string {
			return map[string]string{"X-Webhook-Signature": "23e6775fd75acd1db8554234d48a49d4c3239a344c57d247248a8defb6a224ca",
				"X-Webhook-Timestamp": strconv.FormatInt(now.UnixMilli(), 10), "X-Webhook-Delivery-Id": "job_12345"}
		},
	},
	{
		// Both keys configured; the vector carries both signatures.
		Provider: "box",
		Source:   "github:box/box-node-sdk tests/lib/managers/webhooks-test.js @01672dba759d5a704c1ae4aeaab1cebcfcfd23c2 (validateMessage: SamplePrimaryKey, SampleSecondaryKey)",
		Secrets:  []string{"SamplePrimaryKey", "SampleSecondaryKey"},
		Header: map[string]string{
			"BOX-DELIVERY-ID":         "f96bb54b-ee16-4fc5-aa65-8c2d9e5b546f",
			"BOX-DELIVERY-TIMESTAMP":  "2020-01-01T00:00:00-07:00",
			"BOX-SIGNATURE-ALGORITHM": "HmacSHA256",
			"BOX-SIGNATURE-PRIMARY":   "6TfeAW3A1PASkgboxxA5yqHNKOwFyMWuEXny/FPD5hI=",
			"BOX-SIGNATURE-SECONDARY": "v+1CD1Jdo3muIcbpv5lxxgPglOqMfsNHPV899xWYydo=",
			"BOX-SIGNATURE-VERSION":   "1",
		},
		Body:  `{"type":"webhook_event","webhook":{"id":"1234567890"},"trigger":"FILE.UPLOADED","source":{"id":"1234567890","type":"file","name":"Test.txt"}}`,
		Now:   time.Date(2020, 1, 1, 7, 3, 0, 0, time.UTC),
		Stale: true,
		ID:    "f96bb54b-ee16-4fc5-aa65-8c2d9e5b546f",
	},
	{
		// The second of two keys signs X-DocuSign-Signature-2.
		Provider: "docusign",
		Source: "no published vector: printf '%s' '<body>' | openssl dgst -sha256 -hmac ds-key-1 -binary | base64 " +
			"(and ds-key-2)",
		Secrets: []string{"ds-key-2"},
		Header: map[string]string{"X-DocuSign-Signature-1": "LX5oEsptDlWY404SzZBpgn589MnLLZxky1szLSge+Z8=",
			"X-DocuSign-Signature-2": "xFLO7EvfTnF/YwxpLCQd0hLGjfpHjowavDy71nOcLj8="},
		Body: `{"event":"envelope-completed","apiVersion":"v2.1","data":{"envelopeId":"93be49ab-xxxx-xxxx-xxxx-f752070d71ec"}}`,
		Now:  time.Unix(1700000000, 0),
	},
	{
		// HubSpot's SDK test signs v3 at Date.now(); this one was signed with
		// printf '%s' 'POSThttps://www.example.com/webhook_uri{"example_field":"example_value"}1700000000000' \
		//   | openssl dgst -sha256 -hmac yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy -binary | base64
		Provider: "hubspot",
		Source:   "github:HubSpot/hubspot-api-nodejs test/unit/signature.spec.ts @39d11e5d36dc8fe2195548494548469b14a750c8 ('is valid v3': secret, url, body); signed with openssl",
		Secrets:  []string{"yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"},
		URL:      "https://www.example.com/webhook_uri",
		Header: map[string]string{"X-HubSpot-Signature-v3": "rQEKkaNUiu+1qGF//O/pw4BCzstSqO1PyUnGICmf+7o=",
			"X-HubSpot-Request-Timestamp": "1700000000000"},
		Body:  `{"example_field":"example_value"}`,
		Now:   time.UnixMilli(1700000000000),
		Stale: true,
		Fresh: func(now time.Time) map[string]string {
			ts := strconv.FormatInt(now.UnixMilli(), 10)
			m := hmac.New(sha256.New, []byte("yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"))
			m.Write([]byte("POST" + "https://www.example.com/webhook_uri" + `{"example_field":"example_value"}` + ts))
			return map[string]string{"X-HubSpot-Signature-v3": base64.StdEncoding.EncodeToString(m.Sum(nil)),
				"X-HubSpot-Request-Timestamp": ts}
		},
	},
	{
		Provider: "hubspot_v2",
		Source:   "github:HubSpot/hubspot-api-nodejs test/unit/signature.spec.ts @39d11e5d36dc8fe2195548494548469b14a750c8 ('is valid v2 with body')",
		Secrets:  []string{"yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"},
		URL:      "https://www.example.com/webhook_uri",
		Header:   map[string]string{"X-HubSpot-Signature": "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900", "X-HubSpot-Signature-Version": "v2"},
		Body:     `{"example_field":"example_value"}`,
		Now:      time.Unix(1700000000, 0),
	},
	{
		Provider: "hubspot_v1",
		Source:   "github:HubSpot/hubspot-api-nodejs test/unit/signature.spec.ts @39d11e5d36dc8fe2195548494548469b14a750c8 ('is valid v1')",
		Secrets:  []string{"yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"},
		Header:   map[string]string{"X-HubSpot-Signature": "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de", "X-HubSpot-Signature-Version": "v1"},
		Body:     `[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]`,
		Now:      time.Unix(1700000000, 0),
	},
	{
		Provider: "square",
		Source:   "no vector in the stored SDK copies: printf '%s' 'https://example.com/webhooks/square<body>' | openssl dgst -sha256 -hmac sq0wbs-test-signature-key -binary | base64",
		Secrets:  []string{"sq0wbs-test-signature-key"},
		URL:      "https://example.com/webhooks/square",
		Header:   map[string]string{"X-Square-Hmacsha256-Signature": "MT22kew2hQBhzokjAVnP1r98nKxLaWG4yiod7TmMAHY="},
		Body:     `{"merchant_id":"MLW8N8ARZSMS2","type":"payment.updated","event_id":"6a8f5f28-54a1-4eb0-a98a-3111513fd4fc","created_at":"2023-11-14T22:13:20Z","data":{"type":"payment","id":"KkAkhdMsgzn59SM8A89WgKwekxLZY"}}`,
		Now:      time.Unix(1700000000, 0),
	},
	{
		Provider: "recurly",
		Source:   "no published vector: printf '%s' '1700000000123.<body>' | openssl dgst -sha256 -hmac rc-webhook-key-1",
		Secrets:  []string{"rc-webhook-key-1"},
		Header:   map[string]string{"Recurly-Signature": "1700000000123,0000000000000000000000000000000000000000000000000000000000000000,05f24f78045be600aa87de8848884f81db83d162b080c40e16e4bf8306074a05"},
		Body:     `<?xml version="1.0" encoding="UTF-8"?><new_account_notification><account><account_code>1</account_code></account></new_account_notification>`,
		Now:      time.UnixMilli(1700000000123),
		Stale:    true,
	},
	{
		Provider: "bitbucket",
		Source:   "no published vector: printf '%s' '<body>' | openssl dgst -sha256 -hmac bb-secret",
		Secrets:  []string{"bb-secret"},
		Header:   map[string]string{"X-Hub-Signature": "sha256=4f7632d7715f792b202bf0319020a30dd3192dcb9b31a34298934be78ac6673e", "X-Request-UUID": "8d2b7c1e-0f4a-4b9e-9a51-3f2c6d7e8a90"},
		Body:     `{"push":{"changes":[]},"repository":{"full_name":"team/repo"}}`,
		Now:      time.Unix(1700000000, 0),
		ID:       "8d2b7c1e-0f4a-4b9e-9a51-3f2c6d7e8a90",
	},
	{
		Provider:     "gitlab",
		Source:       "the scheme has no signature (the header is the secret token): https://docs.gitlab.com/user/project/integrations/webhooks/",
		Secrets:      []string{"glwt-secret-token"},
		Header:       map[string]string{"X-Gitlab-Token": "glwt-secret-token", "X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e", "X-Gitlab-Event": "Push Hook"},
		Body:         `{"object_kind":"push","ref":"refs/heads/main"}`,
		Now:          time.Unix(1700000000, 0),
		ID:           "13792a34-cac6-4fda-95a8-c58e00a3954e",
		TamperHeader: map[string]string{"X-Gitlab-Token": "glwt-secret-tokem"},
	},
	{
		Provider: "heroku",
		Source:   "no published vector: printf '%s' '<body>' | openssl dgst -sha256 -hmac hk-secret -binary | base64",
		Secrets:  []string{"hk-secret"},
		Header:   map[string]string{"Heroku-Webhook-Hmac-SHA256": "UZHvwRIEdxDDsJZPn6U3sJlEuZtOoIKgA9t2skoofF8=", "Heroku-Webhook-Id": "b6c2a4f8-8f0c-4d4e-9d2c-1d2b0d5e3f10"},
		Body:     `{"id":"43a0c2a0-8f0c-4d4e-9d2c-1d2b0d5e3f10","data":{"app":{"name":"example"}},"action":"update","resource":"release"}`,
		Now:      time.Unix(1700000000, 0),
		ID:       "b6c2a4f8-8f0c-4d4e-9d2c-1d2b0d5e3f10",
	},
	{
		Provider: "trello",
		Source:   "no published vector: printf '%s' '<body>https://example.com/webhooks/trello' | openssl dgst -sha1 -hmac trello-app-secret -binary | base64",
		Secrets:  []string{"trello-app-secret"},
		URL:      "https://example.com/webhooks/trello",
		Header:   map[string]string{"X-Trello-Webhook": "reJF7VMlO3uIoeaDiSOgKPJsZTA="},
		Body:     `{"action":{"type":"updateCard"},"model":{"id":"4d5ea62fd76aa1136000000c"}}`,
		Now:      time.Unix(1700000000, 0),
	},
	{
		Provider: "calendly",
		Source:   "no published vector: printf '%s' '1700000000.<body>' | openssl dgst -sha256 -hmac cal-signing-key",
		Secrets:  []string{"cal-signing-key"},
		Header:   map[string]string{"Calendly-Webhook-Signature": "t=1700000000,v1=b2762f8454779f0146e6d13fc22734e4c17c48615a366db274fb69eb5f6d78a0"},
		Body:     `{"event":"invitee.created","payload":{"email":"test@example.com"}}`,
		Now:      time.Unix(1700000000, 0),
		Stale:    true,
	},
	{
		Provider: "linear",
		Source:   "no published vector: printf '%s' '<body>' | openssl dgst -sha256 -hmac lin_wh_secret",
		Secrets:  []string{"lin_wh_secret"},
		Header:   map[string]string{"Linear-Signature": "6f8adcba1ce4a4b4bb6cf90609bc2f807136c74d574422a8106399551c256124", "Linear-Delivery": "234d1a4e-b617-4388-90fe-adc3633d6b72"},
		Body:     `{"action":"create","type":"Issue","data":{"id":"2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9"},"webhookTimestamp":1700000000123}`,
		Now:      time.UnixMilli(1700000000123),
		Stale:    true,
		ID:       "234d1a4e-b617-4388-90fe-adc3633d6b72",
	},
	{
		Provider: "sentry",
		Source:   "no published vector: printf '%s' '<body>' | openssl dgst -sha256 -hmac sentry-client-secret",
		Secrets:  []string{"sentry-client-secret"},
		Header:   map[string]string{"Sentry-Hook-Signature": "be0b5f2689409629a0abd0329f423df6d61a8e016802d4a6bef66981ce20518c", "Sentry-Hook-Resource": "installation"},
		Body:     `{"action":"created","installation":{"uuid":"a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},"data":{}}`,
		Now:      time.Unix(1700000000, 0),
	},
	{
		Provider: "terraform",
		Source:   "no published vector: printf '%s' '<body>' | openssl dgst -sha512 -hmac tfe-token",
		Secrets:  []string{"tfe-token"},
		Header:   map[string]string{"X-TFE-Notification-Signature": "41777b6b4e51b375f5785be8803369888b455a2edf6fecd29ff423225c5f092ab4d8678f3c12413ec735e47b890592c81d6bd1c41afea53f399346fb7b0e36ab"},
		Body:     `{"payload_version":1,"notification_configuration_id":"nc-AeUQ2zfKZzW9TiGZ","run_id":"run-FwnENkvDnrpyFC7M","notifications":[]}`,
		Now:      time.Unix(1700000000, 0),
	},
	{
		Provider: "typeform",
		Source:   "no published vector: printf '%s' '<body>' | openssl dgst -sha256 -hmac tf-secret -binary | base64",
		Secrets:  []string{"tf-secret"},
		Header:   map[string]string{"Typeform-Signature": "sha256=GMxO3JfEE+Pu7af6K9oATXHW5QPyeGYV9yNwgsI4mlc="},
		Body:     `{"event_id":"LtWXD3crgy","event_type":"form_response","form_response":{"form_id":"lT4Z3j"}}`,
		Now:      time.Unix(1700000000, 0),
	},
	{
		Provider: "intercom",
		Source:   "no published vector: printf '%s' '<body>' | openssl dgst -sha1 -hmac ic-client-secret",
		Secrets:  []string{"ic-client-secret"},
		Header:   map[string]string{"X-Hub-Signature": "sha1=2313290a7682dfbd21f912586ad660ea950f31d9"},
		Body:     `{"type":"notification_event","id":"notif_ccd8a4d2-3ef9-4b57-a0b9-3e5d3b1d8c4a","topic":"ping"}`,
		Now:      time.Unix(1700000000, 0),
	},
}
