package webhookverify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Findings of the adversarial review of issue 13's changes, each sent
// through Caddy as an attacker holding one captured genuine delivery
// would send it.

// plivoSignV3 is Plivo's V3 signature of a POST form without query string
// (plivo-go ComputeSignatureV3: the URL, "?", the sorted parameters as
// name+value, ".", the nonce), base64 HMAC-SHA256 under token. The test
// checks it against plivo-go's vector (e2ePlivoSig) before using it.
func plivoSignV3(t *testing.T, token, rawURL, nonce, form string) string {
	t.Helper()
	vals, err := url.ParseQuery(form)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(rawURL + "?")
	for _, n := range names {
		b.WriteString(n + vals.Get(n))
	}
	b.WriteString("." + nonce)
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// TestIntegrationPlivoSignatureSubset: with two auth tokens configured
// (rotation), a Plivo delivery signed under both carries two signatures
// in X-Plivo-Signature-V3. The replay key was the signature that matched
// first, so the same delivery with only the second signature had another
// key: it was forwarded again (Plivo signs no timestamp, so at any time),
// and, its body binding being fresh, with the form fields in another
// order. The key must be the same for every copy of the delivery,
// whichever of its signatures is sent.
func TestIntegrationPlivoSignatureSubset(t *testing.T) {
	if testing.Short() {
		t.Skip("caddytest integration test")
	}
	const token2 = "c2Vjb25kLXBsaXZvLWF1dGgtdG9rZW4tZm9yLXRlc3Q"
	if got := plivoSignV3(t, e2ePlivoToken, e2ePlivoURL, e2ePlivoNonce, e2ePlivoForm); got != e2ePlivoSig {
		t.Fatalf("plivoSignV3 = %s, want plivo-go's %s", got, e2ePlivoSig)
	}
	sig2 := plivoSignV3(t, token2, e2ePlivoURL, e2ePlivoNonce, e2ePlivoForm)
	// The same fields in another order: signed alike.
	fields := strings.Split(e2ePlivoForm, "&")
	fields[0], fields[1] = fields[1], fields[0]
	reordered := strings.Join(fields, "&")
	config := `
http://localhost:` + strconv.Itoa(testHTTPPort) + ` {
	handle /plivo {
		webhook_verify plivo {
			secret ` + e2ePlivoToken + `
			secret ` + token2 + `
			url ` + e2ePlivoURL + `
			url_path /plivo
			replay {
				namespace rv-plivo-%[2]s
			}
		}
		reverse_proxy %[1]s
	}
}
`
	h := func(sig string) map[string]string {
		return map[string]string{"X-Plivo-Signature-V3": sig, "X-Plivo-Signature-V3-Nonce": e2ePlivoNonce,
			"Content-Type": "application/x-www-form-urlencoded"}
	}
	_, _ = fgRun(t, config, []fgCase{
		{name: "genuine, both signatures", path: "/plivo", headers: h(e2ePlivoSig + "," + sig2), body: e2ePlivoForm, status: 200, upPath: "/plivo"},
		{name: "the second signature alone", path: "/plivo", headers: h(sig2), body: e2ePlivoForm, status: 200},
		{name: "the second signature alone, fields reordered", path: "/plivo", headers: h(sig2), body: reordered, status: 401},
		{name: "the first signature alone", path: "/plivo", headers: h(e2ePlivoSig), body: e2ePlivoForm, status: 200},
		{name: "both, in the other order", path: "/plivo", headers: h(sig2 + "," + e2ePlivoSig), body: e2ePlivoForm, status: 200},
	})
}

// TestIntegrationMailgunSignatureSwap: Mailgun signs a subaccount's event
// twice, with the subaccount's key (signature) and the parent's
// (parent-signature); a route configured with both keys and
// `replay { key signature }` keyed the delivery by the signature that
// matched first. A copy carrying the parent's signature in "signature"
// (and no parent-signature) got another key, so a fresh body binding: it
// was forwarded, with event data of the attacker's choice.
func TestIntegrationMailgunSignatureSwap(t *testing.T) {
	if testing.Short() {
		t.Skip("caddytest integration test")
	}
	const sub, parent = "key-subaccount-signing-key-0001", "key-parent-signing-key-00000001"
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	token := "b6a5d6ba0a6dd1f1a3e3a1a0b0f0e0d0c0b0a09080706050403"
	mac := func(key string) string {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(ts + token))
		return hex.EncodeToString(m.Sum(nil))
	}
	body := func(sigs, event string) string {
		return `{"signature":{"timestamp":"` + ts + `","token":"` + token + `",` + sigs + `},"event-data":` + event + `}`
	}
	genuine := body(`"signature":"`+mac(sub)+`","parent-signature":"`+mac(parent)+`"`, `{"id":"ev-1","event":"delivered"}`)
	swapped := body(`"signature":"`+mac(parent)+`"`, `{"id":"ev-1","event":"unsubscribed"}`)
	config := `
http://localhost:` + strconv.Itoa(testHTTPPort) + ` {
	handle /mailgun {
		webhook_verify mailgun {
			secret ` + sub + `
			secret ` + parent + `
			replay {
				key signature
				namespace rv-mailgun-%[2]s
			}
		}
		reverse_proxy %[1]s
	}
}
`
	h := map[string]string{"Content-Type": "application/json"}
	_, _ = fgRun(t, config, []fgCase{
		{name: "genuine, both signatures", path: "/mailgun", headers: h, body: genuine, status: 200, upPath: "/mailgun"},
		{name: "the parent's signature alone, other event data", path: "/mailgun", headers: h, body: swapped, status: 401},
		{name: "the genuine again", path: "/mailgun", headers: h, body: genuine, status: 200},
	})
}
