package verifiers

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Paddle vectors, all reproduced independently with
//
//	printf '<ts>:<body>' | openssl dgst -sha256 -hmac '<secret>'
//
// Go SDK: github:PaddleHQ/paddle-go-sdk example_webhook_verifier_test.go
// @299c56f8e4f7aed20ebcf4bdc4ee6fbb795ce8c6 (exampleSignature, examplePayload,
// exampleSecretKey).
const (
	paddleGoSecret = "pdl_ntfset_01hsdn8d43dt7mezr1ef2jtbaw_hKkRiCGyyRhbFwIUuqiTBgI7gnWoV0Gr"
	paddleGoTS     = 1710929255
	paddleGoH1     = "6c05ef8fa83c44d751be6d259ec955ce5638e2c54095bf128e408e2fce1589c8"
	paddleGoHeader = "ts=1710929255;h1=" + paddleGoH1
	paddleGoBody   = `{"data":{"id":"pri_01hsdn96k2hxjzsq5yerecdj9j","name":null,"status":"active","quantity":{"maximum":999999,"minimum":1},"tax_mode":"account_setting","product_id":"pro_01hsdn8qp7yydry3x1yeg6a9rv","unit_price":{"amount":"1000","currency_code":"USD"},"custom_data":null,"description":"testing","import_meta":null,"trial_period":null,"billing_cycle":{"interval":"month","frequency":1},"unit_price_overrides":[]},"event_id":"evt_01hsdn97563968dy0szkmgjwh3","event_type":"price.created","occurred_at":"2024-03-20T10:07:35.590857Z","notification_id":"ntf_01hsdn977e920kbgzt6r6c9rqc"}`
)

// Python SDK: github:PaddleHQ/paddle-python-sdk tests/Unit/Notification/test_Verifier.py
// @993ac19fac2bd90d00ef6c9946994ab57facf753: three secrets, only the third
// signs; the header also carries an undecodable "h1=dummy".
const (
	paddlePyHeader = "ts=1696195954;h1=dummy;h1=d96299976a6eb066f484d7fde011ac56fc32b38fc9940bc419d6e537fdc6ef02"
	paddlePyH1     = "d96299976a6eb066f484d7fde011ac56fc32b38fc9940bc419d6e537fdc6ef02"
	paddlePyBody   = "hello-world"
	paddlePyTS     = 1696195954
)

var paddlePySecrets = []string{
	"pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_TjIG2BXbm83HPXqNfziwe506sBEdqL/4",
	"pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_vB/yIOnTOCWIvpBadM5jzBZPHc7OmdSo",
	"pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_WvRO0eL4Bj9rgYYIBZY6wZhG4EHy9jzh",
}

// Node SDK: github:PaddleHQ/paddle-node-sdk
// src/__tests__/notifications/webhooks-validator.node.test.ts
// @06639b55a9dc13d18d38251645eff915f42bd7c3 (secret VALID_SECRET, system
// time 11/01/2023 = 1698796800 in UTC).
const (
	paddleNodeSecret = "VALID_SECRET"
	paddleNodeTS     = 1698796800
	paddleNodeBody   = `{"data": ["1", "2"]}`
	paddleNodeH1     = "a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9"
	paddleNodeHeader = "ts=1698796800;h1=" + paddleNodeH1
	paddleNodeBody2  = `{"data": "value"}`
	paddleNodeH1b    = "28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261"
	paddleNodeMulti  = "ts=1698796800;h1=" + paddleNodeH1b + ";h1=" + paddleNodeH1b + ";h2=RANDOM_HASH"
)

func TestPaddleValid(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		tol     time.Duration
		req     *Request
		want    Result
	}{
		{"go sdk vector", []string{paddleGoSecret}, 0,
			recipeTestReq(paddleGoBody, time.Unix(paddleGoTS, 0), "Paddle-Signature", paddleGoHeader),
			Result{Signature: recipeTestHex(t, paddleGoH1), Timestamp: time.Unix(paddleGoTS, 0)}},
		{"python sdk vector: third secret, h1=dummy ignored", paddlePySecrets, 0,
			recipeTestReq(paddlePyBody, time.Unix(paddlePyTS, 0), "Paddle-Signature", paddlePyHeader),
			Result{Signature: hmacSHA256(paddlePySecrets[0], fmt.Sprint(paddlePyTS), ":", paddlePyBody), Timestamp: time.Unix(paddlePyTS, 0), Key: 2}},
		{"node sdk vector", []string{paddleNodeSecret}, 0,
			recipeTestReq(paddleNodeBody, time.Unix(paddleNodeTS, 0), "Paddle-Signature", paddleNodeHeader),
			Result{Signature: recipeTestHex(t, paddleNodeH1), Timestamp: time.Unix(paddleNodeTS, 0)}},
		{"node sdk: multiple h1 and an h2", []string{paddleNodeSecret}, 0,
			recipeTestReq(paddleNodeBody2, time.Unix(paddleNodeTS, 0), "Paddle-Signature", paddleNodeMulti),
			Result{Signature: recipeTestHex(t, paddleNodeH1b), Timestamp: time.Unix(paddleNodeTS, 0)}},
		{"node sdk: 1 s late with a 5 s tolerance", []string{paddleNodeSecret}, 5 * time.Second,
			recipeTestReq(paddleNodeBody, time.Unix(paddleNodeTS+1, 0), "Paddle-Signature", paddleNodeHeader),
			Result{Signature: recipeTestHex(t, paddleNodeH1), Timestamp: time.Unix(paddleNodeTS, 0)}},
		{"node sdk: 5 s late with a 5 s tolerance", []string{paddleNodeSecret}, 5 * time.Second,
			recipeTestReq(paddleNodeBody, time.Unix(paddleNodeTS+5, 0), "Paddle-Signature", paddleNodeHeader),
			Result{Signature: recipeTestHex(t, paddleNodeH1), Timestamp: time.Unix(paddleNodeTS, 0)}},
		{"go sdk vector, 4 min late (default tolerance)", []string{paddleGoSecret}, 0,
			recipeTestReq(paddleGoBody, time.Unix(paddleGoTS+240, 0), "Paddle-Signature", paddleGoHeader),
			Result{Signature: recipeTestHex(t, paddleGoH1), Timestamp: time.Unix(paddleGoTS, 0)}},
		{"spaces around entries", []string{paddleGoSecret}, 0,
			recipeTestReq(paddleGoBody, time.Unix(paddleGoTS, 0), "Paddle-Signature", "ts=1710929255; h1="+paddleGoH1),
			Result{Signature: recipeTestHex(t, paddleGoH1), Timestamp: time.Unix(paddleGoTS, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New("paddle", Config{Secrets: tt.secrets, Tolerance: tt.tol})
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(tt.req)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			recipeTestResult(t, got, tt.want)
			if !recipeTestHasTS(t, v) {
				t.Fatal("HasTimestamp is false")
			}
		})
	}
}

func TestPaddleInvalid(t *testing.T) {
	nodeNow := time.Unix(paddleNodeTS, 0)
	goNow := time.Unix(paddleGoTS, 0)
	tests := []struct {
		name    string
		secrets []string
		tol     time.Duration
		req     *Request
		want    error
	}{
		// The negative cases of the node SDK test.
		{"node: invalid secret", []string{"INVALID_VALID_SECRET"}, 0,
			recipeTestReq(paddleNodeBody, nodeNow, "Paddle-Signature", paddleNodeHeader), ErrSignature},
		{"node: invalid timestamp", []string{paddleNodeSecret}, 0,
			recipeTestReq(paddleNodeBody, nodeNow, "Paddle-Signature", "ts=9876;h1="+paddleNodeH1), ErrTimestamp},
		{"node: body with more space", []string{paddleNodeSecret}, 0,
			recipeTestReq(`{ "data": [ "1", "2" ]}`, nodeNow, "Paddle-Signature", paddleNodeHeader), ErrSignature},
		{"node: invalid signature", []string{paddleNodeSecret}, 0,
			recipeTestReq(paddleNodeBody, nodeNow, "Paddle-Signature", "ts=1234;h1=invalid_signature"), ErrMalformed},
		{"node: missing ts and h1", []string{paddleNodeSecret}, 0,
			recipeTestReq(paddleNodeBody, nodeNow, "Paddle-Signature", "invalid_header"), ErrMalformed},
		{"node: missing ts", []string{paddleNodeSecret}, 0,
			recipeTestReq(paddleNodeBody, nodeNow, "Paddle-Signature", "h1="+paddleNodeH1), ErrMalformed},
		{"node: missing h1", []string{paddleNodeSecret}, 0,
			recipeTestReq(paddleNodeBody, nodeNow, "Paddle-Signature", "ts=1234;h2=invalid_header"), ErrMalformed},
		{"node: 6 s late with a 5 s tolerance", []string{paddleNodeSecret}, 5 * time.Second,
			recipeTestReq(paddleNodeBody, nodeNow.Add(6*time.Second), "Paddle-Signature", paddleNodeHeader), ErrTimestamp},
		{"node: days late with a 5 s tolerance", []string{paddleNodeSecret}, 5 * time.Second,
			recipeTestReq(paddleNodeBody, nodeNow.AddDate(0, 0, 4), "Paddle-Signature", paddleNodeHeader), ErrTimestamp},
		// Further negatives.
		{"python: none of the secrets of the vector but the third", paddlePySecrets[:2], 0,
			recipeTestReq(paddlePyBody, time.Unix(paddlePyTS, 0), "Paddle-Signature", paddlePyHeader), ErrSignature},
		{"stale (default tolerance)", []string{paddleGoSecret}, 0,
			recipeTestReq(paddleGoBody, goNow.Add(5*time.Minute+time.Second), "Paddle-Signature", paddleGoHeader), ErrTimestamp},
		{"future (default tolerance)", []string{paddleGoSecret}, 0,
			recipeTestReq(paddleGoBody, goNow.Add(-5*time.Minute-time.Second), "Paddle-Signature", paddleGoHeader), ErrTimestamp},
		{"tampered ts", []string{paddleGoSecret}, 0,
			recipeTestReq(paddleGoBody, goNow, "Paddle-Signature", "ts=1710929256;h1="+paddleGoH1), ErrSignature},
		{"tampered body", []string{paddleGoSecret}, 0,
			recipeTestReq(paddleGoBody+"\n", goNow, "Paddle-Signature", paddleGoHeader), ErrSignature},
		{"missing header", []string{paddleGoSecret}, 0,
			recipeTestReq(paddleGoBody, goNow), ErrMalformed},
		{"duplicated header", []string{paddleGoSecret}, 0,
			recipeTestReq(paddleGoBody, goNow, "Paddle-Signature", paddleGoHeader, "Paddle-Signature", paddleGoHeader), ErrMalformed},
		{"duplicated ts", []string{paddleGoSecret}, 0,
			recipeTestReq(paddleGoBody, goNow, "Paddle-Signature", "ts=1710929255;"+paddleGoHeader), ErrMalformed},
		{"non-numeric ts", []string{paddleGoSecret}, 0,
			recipeTestReq(paddleGoBody, goNow, "Paddle-Signature", "ts=17109x9255;h1="+paddleGoH1), ErrMalformed},
		{"truncated h1", []string{paddleGoSecret}, 0,
			recipeTestReq(paddleGoBody, goNow, "Paddle-Signature", "ts=1710929255;h1="+paddleGoH1[:60]), ErrMalformed},
		{"base64 h1", []string{paddleGoSecret}, 0,
			recipeTestReq(paddleGoBody, goNow, "Paddle-Signature", "ts=1710929255;h1=bAXvj6g8RNdRvm0lnslVzlY44sVAlb8SjkCOL84Vicg="), ErrMalformed},
		{"comma separated", []string{paddleGoSecret}, 0,
			recipeTestReq(paddleGoBody, goNow, "Paddle-Signature", "ts=1710929255,h1="+paddleGoH1), ErrMalformed},
		{"too many entries", []string{paddleGoSecret}, 0,
			recipeTestReq(paddleGoBody, goNow, "Paddle-Signature", paddleGoHeader+strings.Repeat(";h2=x", 31)), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New("paddle", Config{Secrets: tt.secrets, Tolerance: tt.tol})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(tt.req)
			if res != nil {
				t.Fatalf("got a result %+v", *res)
			}
			leaks := append([]string{string(tt.req.Body), paddleGoH1, paddlePyH1, paddleNodeH1, paddleNodeH1b}, tt.secrets...)
			recipeTestErr(t, err, tt.want, leaks...)
		})
	}
}

func TestPaddleConfig(t *testing.T) {
	p, _ := LookupPreset("paddle")
	r := p.Recipe
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no secret", Config{}, "secret"},
		{"empty secret", Config{Secrets: []string{paddleGoSecret, ""}}, "secret 2"},
		{"hmac recipe", Config{Secrets: []string{paddleGoSecret}, HMAC: &r}, "hmac"},
		{"public_key", Config{Secrets: []string{paddleGoSecret}, PublicKeys: []PublicKey{{Key: "k"}}}, "public_key"},
		{"url", Config{Secrets: []string{paddleGoSecret}, URL: "https://example.com/"}, "url"},
		{"header", Config{Secrets: []string{paddleGoSecret}, Header: "X-Token"}, "header"},
		{"password", Config{Secrets: []string{paddleGoSecret}, Password: "p"}, "password"},
		{"topic_arn", Config{Secrets: []string{paddleGoSecret}, TopicARNs: []string{"arn"}}, "topic_arn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New("paddle", tt.cfg)
			if err == nil || v != nil {
				t.Fatalf("New = %T, %v; want nil and an error", v, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
			recipeTestNoLeak(t, err, paddleGoSecret)
		})
	}
	// Tolerance off: the timestamp is still parsed, not checked, and the
	// scheme no longer counts as timestamped.
	v, err := New("paddle", Config{Secrets: []string{paddleGoSecret}, Tolerance: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(recipeTestReq(paddleGoBody, time.Unix(paddleGoTS, 0).AddDate(1, 0, 0), "Paddle-Signature", paddleGoHeader)); err != nil {
		t.Fatalf("Verify with tolerance off: %v", err)
	}
	if recipeTestHasTS(t, v) {
		t.Fatal("HasTimestamp with tolerance off")
	}
}
