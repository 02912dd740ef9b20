package verifiers

import (
	"strings"
	"testing"
	"time"
)

// Discord publishes no signed example (discord-interactions' tests make
// keys at run time). These were signed with node's crypto (OpenSSL's
// Ed25519), not the code under test, with RFC 8032 section 7.1 TEST 1's
// key pair (secret 9d61b19d...7f60, public d75a9801...511a):
//
//	const priv = crypto.createPrivateKey({key: Buffer.concat([Buffer.from("302e020100300506032b657004220420","hex"), Buffer.from(seed,"hex")]), format: "der", type: "pkcs8"})
//	crypto.sign(null, Buffer.from("1700000000" + body), priv).toString("hex")
//
// The PING has the shape of Discord's "Receiving an Interaction" docs; the
// command is a slash-command interaction (type 2).
const (
	discordPub      = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
	discordTS       = "1700000000"
	discordPingBody = `{"application_id":"123456789012345678","id":"987654321098765432","token":"aW50ZXJhY3Rpb246OTg3NjU0MzIxMDk4NzY1NDMyOnRva2Vu","type":1,"user":{"id":"53908232506183680","username":"mason"},"version":1}`
	discordPingSig  = "a1fdb3ec85eb5ca57cb6e3b548d40275834087199ff5cbfdc2c15d8a90647eb677248d21656fd2cfcae0a44c14320012cf9e62d1aed068e3950345e3c8cdd901"
	discordCmd      = `{"application_id":"123456789012345678","data":{"id":"771825006014889984","name":"blep","type":1},"id":"987654321098765433","token":"dG9rZW4y","type":2,"version":1}`
	discordCmdSig   = "bb335bc70e1620efe7e691fd54710f66b783653dc77b6132b52a3f53651f90c2b875c84e0dcbb690e02a6a852157f492b4b0651a7fe4702549ad077f839ee501"
	// RFC 8032 section 7.1 TEST 2's public key: a key that signed nothing here.
	ed25519OtherPub = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
)

func discordVerifyCases() []verifyCase {
	now := time.Unix(1700000000, 0)
	h := func(ts, sig string) []string {
		return []string{"X-Signature-Timestamp", ts, "X-Signature-Ed25519", sig}
	}
	return []verifyCase{
		{name: "PING answered", keys: []string{discordPub}, body: discordPingBody, headers: h(discordTS, discordPingSig), now: now, reply: `{"type":1}`},
		{name: "command forwarded", keys: []string{discordPub}, body: discordCmd, headers: h(discordTS, discordCmdSig), now: now},
		{name: "second key", keys: []string{ed25519OtherPub, discordPub}, body: discordCmd, headers: h(discordTS, discordCmdSig), now: now, wantKey: 1},
		{name: "upper-case hex", keys: []string{discordPub}, body: discordCmd, headers: h(discordTS, strings.ToUpper(discordCmdSig)), now: now},
		{name: "forged PING", keys: []string{discordPub}, body: discordPingBody, headers: h(discordTS, discordCmdSig), now: now, wantErr: ErrSignature},
		{name: "tampered body", keys: []string{discordPub}, body: strings.Replace(discordCmd, "blep", "blap", 1), headers: h(discordTS, discordCmdSig), now: now, wantErr: ErrSignature},
		{name: "tampered timestamp", keys: []string{discordPub}, body: discordCmd, headers: h("1700000001", discordCmdSig), now: now, wantErr: ErrSignature},
		{name: "wrong key", keys: []string{ed25519OtherPub}, body: discordCmd, headers: h(discordTS, discordCmdSig), now: now, wantErr: ErrSignature},
		{name: "stale", keys: []string{discordPub}, body: discordCmd, headers: h(discordTS, discordCmdSig), now: now.Add(time.Hour), wantErr: ErrTimestamp},
		{name: "short signature", keys: []string{discordPub}, body: discordCmd, headers: h(discordTS, discordCmdSig[:126]), now: now, wantErr: ErrMalformed},
		{name: "not hex", keys: []string{discordPub}, body: discordCmd, headers: h(discordTS, "zz"+discordCmdSig[2:]), now: now, wantErr: ErrMalformed},
		{name: "no timestamp", keys: []string{discordPub}, body: discordCmd, headers: []string{"X-Signature-Ed25519", discordCmdSig}, now: now, wantErr: ErrMalformed},
		{name: "no signature", keys: []string{discordPub}, body: discordCmd, headers: []string{"X-Signature-Timestamp", discordTS}, now: now, wantErr: ErrMalformed},
	}
}

func BenchmarkDiscordVerify(b *testing.B) {
	v, err := New("discord", Config{PublicKeys: []PublicKey{{Key: discordPub}}, Tolerance: -1})
	if err != nil {
		b.Fatal(err)
	}
	r := slackRequest(discordCmd, time.Now(), "X-Signature-Timestamp", discordTS, "X-Signature-Ed25519", discordCmdSig)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}
