package verifiers

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// Vector of the Worldline Connect Go SDK:
// github:Worldline-Global-Collect/connect-sdk-go webhooks/V1WebhooksHelper_test.go
// @117359f3703fba9569f6919639ec4dcd3ca8f846 (testValidBody, kept verbatim in
// testdata/worldline/payment_paid.json; testSecretKey "hello+world",
// testKeyID "dummy-key-id", testSignature; TestUnmarshalInvalidBody
// changes the two times, TestUnmarshalInvalidSecretKey prefixes the key
// with "1", TestUnmarshalInvalidSignature the signature).
const (
	worldlineSecret = "hello+world"
	worldlineKeyID  = "dummy-key-id"
	worldlineSig    = "2S7doBj/GnJnacIjSJzr5fxGM5xmfQyFAwxv1I53ZEk="
)

func TestWorldlineVerify(t *testing.T) {
	b, err := os.ReadFile("testdata/worldline/payment_paid.json")
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	invalid := strings.NewReplacer("11:24:14", "11:25:14", "20170202112414", "20170202112514").Replace(body)
	if bytes.Equal([]byte(invalid), b) {
		t.Fatal("the SDK's invalid body is the valid one")
	}
	h := func(sig string) []string { return []string{"X-GCS-Signature", sig, "X-GCS-KeyId", worldlineKeyID} }
	runBodyHMAC(t, "worldline", Config{}, []bodyHMACCase{
		{"sdk TestUnmarshalSuccess", []string{worldlineSecret}, body, h(worldlineSig), nil, 0},
		{"rotation", []string{"other", worldlineSecret}, body, h(worldlineSig), nil, 1},
		{"sdk TestUnmarshalInvalidBody", []string{worldlineSecret}, invalid, h(worldlineSig), ErrSignature, 0},
		{"sdk TestUnmarshalInvalidSecretKey", []string{"1" + worldlineSecret}, body, h(worldlineSig), ErrSignature, 0},
		{"sdk TestUnmarshalInvalidSignature", []string{worldlineSecret}, body, h("1" + worldlineSig), ErrMalformed, 0},
		{"sdk TestUnmarshalMissingHeaders", []string{worldlineSecret}, body, nil, ErrMalformed, 0},
		{"sdk TestUnmarshalDuplicateHeaders", []string{worldlineSecret}, body, append(h(worldlineSig), "X-GCS-Signature", worldlineSig), ErrMalformed, 0},
		{"no key id", []string{worldlineSecret}, body, []string{"X-GCS-Signature", worldlineSig}, ErrMalformed, 0},
	}, worldlineSecret, worldlineSig[:16])
}

func TestWorldlineEndpointVerification(t *testing.T) {
	v, err := New("worldline", Config{Secrets: []string{worldlineSecret}})
	if err != nil {
		t.Fatal(err)
	}
	const hdr = "X-GCS-Webhooks-Endpoint-Verification"
	const tp = "text/plain; charset=utf-8"
	runHandshakes(t, v, []handshakeCase{
		{name: "verification", method: "GET", target: "/wl", headers: []string{hdr, "ebb8f9c1-7e2f-4b0c-8d5e-2f3a1b4c5d6e"}, ok: true, body: "ebb8f9c1-7e2f-4b0c-8d5e-2f3a1b4c5d6e", ct: tp},
		{name: "markup", method: "GET", target: "/wl", headers: []string{hdr, "<b>x</b>"}, ok: true, err: ErrMalformed},
		{name: "repeated", method: "GET", target: "/wl", headers: []string{hdr, "a", hdr, "b"}, ok: true, err: ErrMalformed},
		{name: "empty", method: "GET", target: "/wl", headers: []string{hdr, ""}, ok: true, err: ErrMalformed},
		{name: "too long", method: "GET", target: "/wl", headers: []string{hdr, strings.Repeat("a", handshakeMaxValue+1)}, ok: true, err: ErrMalformed},
		{name: "GET without it", method: "GET", target: "/wl", ok: false},
		{name: "POST with it", method: "POST", target: "/wl", headers: []string{hdr, "abc"}, ok: false},
	})
}
