package verifiers

import (
	"strings"
	"time"
)

// Telnyx publishes no signed example. This message.received event (the
// shape of Telnyx's messaging webhook docs) was signed with node's crypto,
// not the code under test, with RFC 8032 section 7.1 TEST 2's key pair
// (secret 4ccd089b...a6fb; public key in the portal's base64 form below):
//
//	crypto.sign(null, Buffer.from("1700000000|" + body), priv).toString("base64")
//
// (priv built from the seed as in discord_test.go).
const (
	telnyxPub  = "PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw="
	telnyxTS   = "1700000000"
	telnyxBody = `{"data":{"event_type":"message.received","id":"b301ed3f-1490-491f-995f-6e64e69674d4","occurred_at":"2023-11-14T22:13:20.000+00:00","payload":{"direction":"inbound","from":{"phone_number":"+13125550001"},"text":"Hello from Telnyx!","to":[{"phone_number":"+17735550002"}]},"record_type":"event"},"meta":{"attempt":1,"delivered_to":"https://example.com/webhooks"}}`
	telnyxSig  = "PfbaYW1PYjRDJsOEGnrxJz8UrD3XV9eHZt+aHwGROYIGXZhquTay/aREKmZUVJUyI6oidhrAekg1j5jP6StgCA=="
	// RFC 8032 TEST 1's public key in base64: signed nothing here.
	telnyxOtherPub = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
)

func telnyxVerifyCases() []verifyCase {
	now := time.Unix(1700000000, 0)
	h := func(ts, sig string) []string {
		return []string{"telnyx-timestamp", ts, "telnyx-signature-ed25519", sig}
	}
	return []verifyCase{
		{name: "signed", keys: []string{telnyxPub}, body: telnyxBody, headers: h(telnyxTS, telnyxSig), now: now},
		{name: "second key", keys: []string{telnyxOtherPub, telnyxPub}, body: telnyxBody, headers: h(telnyxTS, telnyxSig), now: now, wantKey: 1},
		{name: "exactly 5 minutes old", keys: []string{telnyxPub}, body: telnyxBody, headers: h(telnyxTS, telnyxSig), now: now.Add(5 * time.Minute)},
		{name: "stale", keys: []string{telnyxPub}, body: telnyxBody, headers: h(telnyxTS, telnyxSig), now: now.Add(5*time.Minute + time.Second), wantErr: ErrTimestamp},
		{name: "tampered body", keys: []string{telnyxPub}, body: strings.Replace(telnyxBody, "Hello", "Jello", 1), headers: h(telnyxTS, telnyxSig), now: now, wantErr: ErrSignature},
		{name: "tampered timestamp", keys: []string{telnyxPub}, body: telnyxBody, headers: h("1700000001", telnyxSig), now: now.Add(time.Second), wantErr: ErrSignature},
		{name: "wrong key", keys: []string{telnyxOtherPub}, body: telnyxBody, headers: h(telnyxTS, telnyxSig), now: now, wantErr: ErrSignature},
		{name: "hex signature", keys: []string{telnyxPub}, body: telnyxBody, headers: h(telnyxTS, discordCmdSig), now: now, wantErr: ErrMalformed},
		{name: "timestamp not a number", keys: []string{telnyxPub}, body: telnyxBody, headers: h("soon", telnyxSig), now: now, wantErr: ErrMalformed},
		{name: "no signature", keys: []string{telnyxPub}, body: telnyxBody, headers: []string{"telnyx-timestamp", telnyxTS}, now: now, wantErr: ErrMalformed},
		{name: "duplicated signature", keys: []string{telnyxPub}, body: telnyxBody, headers: append(h(telnyxTS, telnyxSig), "telnyx-signature-ed25519", telnyxSig), now: now, wantErr: ErrMalformed},
	}
}
