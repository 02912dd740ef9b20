package verifiers

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// The Verify tests of the providers that sign a timestamp and the body,
// one table across them: the HMAC ones (slack, stripe) and the Ed25519 ones
// (discord, telnyx). Each provider's cases stand beside its vectors and
// their sources (<provider>_test.go); the runner applies the same
// assertions to all of them.

// verifyCase is one request to a provider's Verify and what it must give.
type verifyCase struct {
	name    string
	secrets []string // Config.Secrets
	keys    []string // Config.PublicKeys
	tol     time.Duration
	body    string   // "" for the set's body
	headers []string // name, value, name, value, ...
	now     time.Time
	wantErr error
	wantKey int
	wantSig string // hex of Result.Signature (sets with macs)
	wantTS  int64  // Result.Timestamp in Unix seconds; 0 for the set's
	reply   string // the body of the handshake's answer; "" for none
}

// verifyCaseSets lists, per provider, its cases, how its requests carry
// the headers, the defaults its rows leave out, and what its errors must
// never reveal.
var verifyCaseSets = []struct {
	provider string
	source   string // where the vectors come from (cited in full beside them)
	cases    func() []verifyCase
	request  func(body string, now time.Time, headers ...string) *Request
	body     string    // the body of rows with none
	now      time.Time // the time of rows with none
	ts       int64     // the timestamp of rows with none
	macs     bool      // Result.Signature is the expected MAC, each valid row names it
	leaks    []string  // never in an error
}{
	{provider: "slack", source: "Slack docs' worked example; python-slack-sdk and slack-go test vectors",
		cases: slackVerifyCases, request: slackRequest, macs: true,
		leaks: []string{slackDocsSig[:16], slackGoSig[:16], slackDocsSecret, slackGoSecret, "token="}},
	{provider: "stripe", source: "stripe-dotnet EventUtilityTest and its fixture; stripe-go's cases signed by openssl",
		cases: stripeVerifyCases, request: stripeRequest, body: stripeGoBody, now: time.Unix(stripeGoT, 0), ts: stripeGoT, macs: true,
		leaks: []string{stripeGoV1, stripeGoV1[:62], stripeDotnetV1, stripeDotnetSecret, stripeGoSecret, "evt_"}},
	{provider: "discord", source: "node's crypto with RFC 8032 7.1 TEST 1's key pair",
		cases: discordVerifyCases, request: slackRequest, ts: 1700000000,
		leaks: []string{discordPingSig[:16], discordCmdSig[:16]}},
	{provider: "telnyx", source: "node's crypto with RFC 8032 7.1 TEST 2's key pair",
		cases: telnyxVerifyCases, request: slackRequest, ts: 1700000000,
		leaks: []string{telnyxSig[:16]}},
}

func TestVerifyCases(t *testing.T) {
	for _, set := range verifyCaseSets {
		for _, tc := range set.cases() {
			t.Run(set.provider+"/"+tc.name, func(t *testing.T) {
				var pks []PublicKey
				for _, k := range tc.keys {
					pks = append(pks, PublicKey{Key: k})
				}
				v, err := New(set.provider, Config{Secrets: tc.secrets, PublicKeys: pks, Tolerance: tc.tol})
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				body, now, wantTS := tc.body, tc.now, tc.wantTS
				if body == "" {
					body = set.body
				}
				if now.IsZero() {
					now = set.now
				}
				if wantTS == 0 {
					wantTS = set.ts
				}
				res, err := v.Verify(set.request(body, now, tc.headers...))
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("err = %v, want %v", err, tc.wantErr)
					}
					if res != nil {
						t.Fatalf("result %+v returned with error", res)
					}
					for _, leak := range set.leaks {
						if strings.Contains(err.Error(), leak) {
							t.Fatalf("error %q leaks %q", err, leak)
						}
					}
					return
				}
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if res.ID != "" || res.SignedID != "" {
					t.Errorf("ID, SignedID = %q, %q, want empty", res.ID, res.SignedID)
				}
				if !res.Timestamp.Equal(time.Unix(wantTS, 0)) {
					t.Errorf("Timestamp = %v, want %v", res.Timestamp, time.Unix(wantTS, 0))
				}
				if res.Key != tc.wantKey {
					t.Errorf("Key = %d, want %d", res.Key, tc.wantKey)
				}
				if set.macs {
					if got := hex.EncodeToString(res.Signature); got != tc.wantSig {
						t.Errorf("Signature = %s, want %s", got, tc.wantSig)
					}
				}
				if (tc.reply != "") != (res.Reply != nil) {
					t.Fatalf("Reply %+v, want a reply %v", res.Reply, tc.reply != "")
				}
				if tc.reply != "" && (res.Reply.Body != tc.reply || res.Reply.Header.Get("Content-Type") != "application/json" || res.Reply.Status != 200) {
					t.Errorf("Reply %+v", res.Reply)
				}
			})
		}
	}
}
