package verifiers

import (
	"strings"
	"testing"
)

// X publishes no signed example. The body has the shape of the Account
// Activity API's tweet_create_events example
// (https://developer.x.com/en/docs/x-api/enterprise/account-activity-api/guides/account-activity-data-objects);
// it and a CRC token were signed with node's crypto, not the code under
// test:
//
//	node -e 'console.log(require("crypto").createHmac("sha256","twitter-consumer-secret-5678").update(process.argv[1]).digest("base64"))' "$body"
//	node -e 'console.log("sha256="+require("crypto").createHmac("sha256","twitter-consumer-secret-5678").update("hmJyaZx5AEgrD2wLsmHsWw").digest("base64"))'
const (
	twitterSecret   = "twitter-consumer-secret-5678"
	twitterBody     = `{"for_user_id":"2244994945","tweet_create_events":[{"id_str":"1050118621198921728","text":"To make room for more expression, we will now count all emojis as equal","user":{"id_str":"6253282","screen_name":"TwitterAPI"}}]}`
	twitterSig      = "i3LFCX3QykFHWq6cM9+nN5X5EndYgBtRou1KNWl7vLM="
	twitterCRC      = "hmJyaZx5AEgrD2wLsmHsWw"
	twitterCRCReply = `{"response_token":"sha256=j4ex7Ya8Hf865PAzUadqr3yOvA5szYNCnuO0FOEhJCM="}`
)

func TestTwitterVerify(t *testing.T) {
	h := func(sig string) []string { return []string{"x-twitter-webhooks-signature", sig} }
	for _, name := range []string{"twitter", "x"} {
		t.Run(name, func(t *testing.T) {
			runBodyHMAC(t, name, Config{}, []bodyHMACCase{
				{"signed", []string{twitterSecret}, twitterBody, h("sha256=" + twitterSig), nil, 0},
				{"rotation", []string{"old", twitterSecret}, twitterBody, h("sha256=" + twitterSig), nil, 1},
				{"tampered", []string{twitterSecret}, strings.Replace(twitterBody, "equal", "equals", 1), h("sha256=" + twitterSig), ErrSignature, 0},
				{"hex instead of base64", []string{twitterSecret}, twitterBody, h("sha256=8b72c5097dd0ca41475aae9c33dfa737"), ErrMalformed, 0},
				{"no prefix", []string{twitterSecret}, twitterBody, h(twitterSig), ErrMalformed, 0},
				{"missing", []string{twitterSecret}, twitterBody, nil, ErrMalformed, 0},
				// A body a CRC answer could have signed is never accepted,
				// even with the right signature: the CRC signs any token.
				{"CRC-signable body", []string{twitterSecret}, twitterCRC, h("sha256=j4ex7Ya8Hf865PAzUadqr3yOvA5szYNCnuO0FOEhJCM="), ErrMalformed, 0},
			}, twitterSecret, twitterSig[:16])
		})
	}
}

func TestTwitterCRC(t *testing.T) {
	v, err := New("x", Config{Secrets: []string{twitterSecret, "previous-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	runHandshakes(t, v, []handshakeCase{
		{name: "crc", method: "GET", target: "/x?crc_token=" + twitterCRC, ok: true, body: twitterCRCReply, ct: "application/json"},
		{name: "crc with nonce", method: "GET", target: "/x?crc_token=" + twitterCRC + "&nonce=1", ok: true, body: twitterCRCReply, ct: "application/json"},
		{name: "empty token", method: "GET", target: "/x?crc_token=", ok: true, err: ErrMalformed},
		{name: "repeated token", method: "GET", target: "/x?crc_token=a&crc_token=b", ok: true, err: ErrMalformed},
		{name: "JSON as token", method: "GET", target: "/x?crc_token=%7B%22a%22%3A1%7D", ok: true, err: ErrMalformed},
		{name: "long token", method: "GET", target: "/x?crc_token=" + strings.Repeat("a", handshakeMaxValue+1), ok: true, err: ErrMalformed},
		{name: "GET without crc_token", method: "GET", target: "/x", ok: false},
		{name: "POST", method: "POST", target: "/x?crc_token=" + twitterCRC, ok: false},
	})
}
