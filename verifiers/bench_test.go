package verifiers

// Benchmarks of Verify, one per provider family, on 1 KiB and 64 KiB
// bodies. Run them with, for example:
//
//	go test -run '^$' -bench Verify -benchmem ./verifiers
//	go test -run '^$' -bench 'Verify/github/' -cpu 1 -count 5 ./verifiers
//
// Each benchmark builds its verifier through New, signs its body once
// before the timed loop and fails (b.Fatal) unless Verify accepts it, with
// the expected Result, before the loop and on every iteration: a benchmark
// cannot silently measure a rejection path.
//
// The published vectors of the tests cover short bodies only, so the
// bodies here are padded to size and signed in this file with the standard
// library (crypto/hmac, crypto/ecdsa, crypto/ed25519, crypto/rsa), not with
// the code under test. The secrets are those of the tests' vectors; the
// asymmetric keys are generated at setup (the Svix whsk_ test key is used
// for Standard Webhooks v1a). Correctness is the tests' business; these
// signatures only have to be accepted.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchSizes are the body sizes every provider is measured on.
var benchSizes = []struct {
	name string
	n    int
}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}}

// benchCase builds a verifier and a request it must accept, with a body of
// exactly size bytes.
type benchCase struct {
	name  string
	setup func(b *testing.B, size int) (Verifier, *Request)
}

var benchCases = []benchCase{
	{"github", benchGitHub},
	{"stripe", benchStripe},
	{"standard_webhooks_v1", benchSWv1},
	{"standard_webhooks_v1a", benchSWv1a},
	{"slack", benchSlack},
	{"hmac_recipe_github", benchRecipeGitHub},
	{"hmac_recipe_standard", benchRecipeStandard},
	{"sendgrid", benchSendGrid},
	{"mailchannels", benchMailChannels},
	{"sns_pinned", benchSNS},
	{"mailgun_json", benchMailgun},
	{"twilio_form", benchTwilio},
}

func BenchmarkVerify(b *testing.B) {
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			for _, sz := range benchSizes {
				b.Run(sz.name, func(b *testing.B) {
					v, r := c.setup(b, sz.n)
					if len(r.Body) != sz.n {
						b.Fatalf("body is %d bytes, want %d", len(r.Body), sz.n)
					}
					body := bytes.Clone(r.Body)
					res, err := v.Verify(r)
					if err != nil {
						b.Fatalf("Verify: %v", err)
					}
					if res == nil || res.Key != 0 || len(res.Signature) == 0 || res.Act != nil {
						b.Fatalf("unexpected result %+v", res)
					}
					b.SetBytes(int64(sz.n))
					b.ReportAllocs()
					for b.Loop() {
						if _, err := v.Verify(r); err != nil {
							b.Fatalf("Verify: %v", err)
						}
					}
					if !bytes.Equal(r.Body, body) {
						b.Fatal("Verify modified the body")
					}
				})
			}
		})
	}
}

// ---- helpers

// benchPad returns prefix + filler + suffix, exactly size bytes long. The
// filler is plain ASCII letters and digits (no JSON or form escaping).
func benchPad(b *testing.B, prefix, suffix string, size int) []byte {
	b.Helper()
	n := size - len(prefix) - len(suffix)
	if n < 0 {
		b.Fatalf("size %d too small for the fixed parts (%d bytes)", size, len(prefix)+len(suffix))
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	out := make([]byte, 0, size)
	out = append(out, prefix...)
	for i := 0; i < n; i++ {
		out = append(out, alphabet[i%len(alphabet)])
	}
	return append(out, suffix...)
}

// benchJSON is a JSON event body of exactly size bytes.
func benchJSON(b *testing.B, size int) []byte {
	return benchPad(b, `{"id":"evt_bench_0001","type":"bench.event","data":{"text":"`, `"}}`, size)
}

func benchNew(b *testing.B, name string, c Config) Verifier {
	b.Helper()
	v, err := New(name, c)
	if err != nil {
		b.Fatalf("New(%s): %v", name, err)
	}
	return v
}

func benchRequest(body []byte, now time.Time, kv ...string) *Request {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return &Request{Context: context.Background(), Method: http.MethodPost, Header: h, Body: body, Now: now}
}

// ---- HMAC providers

func benchGitHub(b *testing.B, size int) (Verifier, *Request) {
	body := benchJSON(b, size)
	sig := hex.EncodeToString(benchMAC([]byte(ghDocsSecret), body))
	r := ghRequest(string(body), "X-GitHub-Delivery", ghDelivery, "X-Hub-Signature-256", "sha256="+sig)
	return benchNew(b, "github", Config{Secrets: []string{ghDocsSecret}}), r
}

func benchStripe(b *testing.B, size int) (Verifier, *Request) {
	body := benchJSON(b, size)
	t := strconv.Itoa(stripeGoT)
	sig := hex.EncodeToString(benchMAC([]byte(stripeGoSecret), []byte(t+"."), body))
	r := stripeRequest(string(body), time.Unix(stripeGoT, 0), "t="+t+",v1="+sig)
	return benchNew(b, "stripe", Config{Secrets: []string{stripeGoSecret}}), r
}

// swSign is the Standard Webhooks v1 signature of body under the
// reference secret, id and timestamp.
func swSign(b *testing.B, body []byte) string {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(swSecret, "whsec_"))
	if err != nil {
		b.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(benchMAC(key, []byte(swID+"."+swTS+"."), body))
}

func benchSWv1(b *testing.B, size int) (Verifier, *Request) {
	body := benchJSON(b, size)
	r := swRequest(string(body), swNow, swStd("v1,"+swSign(b, body)))
	return benchNew(b, "standard_webhooks", swConfig([]string{swSecret}, nil, 0)), r
}

func benchSWv1a(b *testing.B, size int) (Verifier, *Request) {
	// svixWhsk is the Svix libraries' test signing key: whsk_ + base64 of
	// the 64-byte Ed25519 private key whose public key is svixPK.
	priv := ed25519.PrivateKey(swMustB64(strings.TrimPrefix(svixWhsk, "whsk_")))
	if len(priv) != ed25519.PrivateKeySize ||
		!bytes.Equal(priv.Public().(ed25519.PublicKey), swMustB64(strings.TrimPrefix(svixPK, "whpk_"))) {
		b.Fatal("svixWhsk is not the private key of svixPK")
	}
	body := benchJSON(b, size)
	sig := ed25519.Sign(priv, append([]byte(swID+"."+swTS+"."), body...))
	r := swRequest(string(body), swNow, swStd("v1a,"+base64.StdEncoding.EncodeToString(sig)))
	return benchNew(b, "standard_webhooks", swConfig(nil, []string{svixPK}, 0)), r
}

func benchSlack(b *testing.B, size int) (Verifier, *Request) {
	body := benchJSON(b, size)
	sig := hex.EncodeToString(benchMAC([]byte(slackDocsSecret), []byte("v0:"+slackDocsTS+":"), body))
	r := slackRequest(string(body), time.Unix(1531420618, 0),
		"X-Slack-Request-Timestamp", slackDocsTS, "X-Slack-Signature", "v0="+sig)
	return benchNew(b, "slack", Config{Secrets: []string{slackDocsSecret}}), r
}

func benchRecipeGitHub(b *testing.B, size int) (Verifier, *Request) {
	body := benchJSON(b, size)
	sig := hex.EncodeToString(benchMAC([]byte(rcGhSecret), body))
	r := recipeTestReq(string(body), time.Now(), "X-GitHub-Delivery", rcGhDelivery, "X-Hub-Signature-256", "sha256="+sig)
	rc := recipeGitHub
	return benchNew(b, "hmac", Config{Secrets: []string{rcGhSecret}, HMAC: &rc}), r
}

func benchRecipeStandard(b *testing.B, size int) (Verifier, *Request) {
	body := benchJSON(b, size)
	r := recipeTestReq(string(body), swNow, "webhook-id", swID, "webhook-timestamp", swTS,
		"webhook-signature", "v1,"+swSign(b, body))
	rc := recipeStandard
	return benchNew(b, "hmac", Config{Secrets: []string{rcSwSecret}, HMAC: &rc}), r
}

func benchMAC(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// ---- asymmetric providers (keys generated at setup)

func benchSendGrid(b *testing.B, size int) (Verifier, *Request) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	// SendGrid posts a JSON array of events followed by CRLF.
	body := benchPad(b, `[{"email":"bench@example.com","event":"processed","sg_event_id":"bench","text":"`, `"}]`+"\r\n", size)
	digest := sha256.Sum256(append([]byte(sgTsB), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	r := &Request{Context: context.Background(), Method: http.MethodPost, Body: body, Now: sgUnix(sgTsB),
		Header: sgHeader(base64.StdEncoding.EncodeToString(sig), sgTsB)}
	return benchNew(b, "sendgrid", Config{PublicKeys: sgKeys(base64.StdEncoding.EncodeToString(spki))}), r
}

func benchMailChannels(b *testing.B, size int) (Verifier, *Request) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	body := benchJSON(b, size)
	digest := mcSHA256(string(body))
	params := `("content-digest");created=` + strconv.Itoa(mcCreated1) + `;alg="ed25519";keyid="mckey"`
	base := `"content-digest": ` + digest + "\n" + `"@signature-params": ` + params
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(base)))
	u, _ := url.Parse("https://hooks.example.com/mailchannels")
	r := &Request{Context: context.Background(), Method: http.MethodPost, URL: u, Body: body,
		Now: time.Unix(mcCreated1, 0), Header: mcHeader("sig_1="+params, "sig_1=:"+sig+":", digest)}
	keys := []PublicKey{mcKey("mckey", base64.StdEncoding.EncodeToString(pub))}
	return benchNew(b, "mailchannels", Config{PublicKeys: keys}), r
}

func benchSNS(b *testing.B, size int) (Verifier, *Request) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sns.amazonaws.com"},
		DNSNames:     []string{"sns.amazonaws.com"},
		NotBefore:    snsFixtureTime.Add(-time.Hour),
		NotAfter:     snsFixtureTime.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))

	const topic = "arn:aws:sns:us-east-1:123456789012:bench"
	m := map[string]string{
		"Type":             "Notification",
		"MessageId":        "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
		"TopicArn":         topic,
		"Subject":          "bench",
		"Timestamp":        snsFixtureTime.Format("2006-01-02T15:04:05.000Z"),
		"SignatureVersion": "2",
		"SigningCertURL":   "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-bench.pem",
		// An RSA-2048 signature is 256 bytes, 344 base64 characters.
		"Signature": strings.Repeat("A", 344),
		"Message":   "",
	}
	empty, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	m["Message"] = string(benchPad(b, "", "", size-len(empty)))
	// String to sign, SignatureVersion 2 (SHA-256), as in the AWS docs.
	var sts strings.Builder
	for _, k := range []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"} {
		sts.WriteString(k + "\n" + m[k] + "\n")
	}
	digest := sha256.Sum256([]byte(sts.String()))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	m["Signature"] = base64.StdEncoding.EncodeToString(sig)
	body, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	r := snsRequest(body, snsNow, "X-Amz-Sns-Message-Type", "Notification", "X-Amz-Sns-Topic-Arn", topic)
	return benchNew(b, "sns", Config{Certificates: []string{certPEM}, TopicARNs: []string{topic}}), r
}

func benchMailgun(b *testing.B, size int) (Verifier, *Request) {
	// The signature covers timestamp and token only: the documented vector
	// holds whatever the event data is.
	prefix := `{"signature":{"timestamp":"` + mailgunTimestamp + `","token":"` + mailgunToken +
		`","signature":"` + mailgunSig + `"},"event-data":{"event":"delivered","id":"` + mailgunEventID +
		`","timestamp":1403645220.0,"message":{"headers":{"subject":"`
	body := benchPad(b, prefix, `"}}}}`, size)
	if !json.Valid(body) {
		b.Fatal("mailgun body is not valid JSON")
	}
	r := &Request{Context: context.Background(), Method: http.MethodPost, Body: body, Now: mailgunNow,
		Header: mailgunJSONHeader()}
	return benchNew(b, "mailgun", Config{Secrets: []string{mailgunKey}}), r
}

func benchTwilio(b *testing.B, size int) (Verifier, *Request) {
	const target = "https://mycompany.com/myapp.php?foo=1&bar=2"
	params := url.Values{}
	for k, v := range twilioPyParams {
		params[k] = v
	}
	fixed := params.Encode() + "&Body="
	body := benchPad(b, fixed, "", size)
	fields, err := url.ParseQuery(string(body))
	if err != nil || len(fields["Body"]) != 1 {
		b.Fatalf("twilio body does not parse as a form: %v", err)
	}
	// Twilio's scheme (twilio-python request_validator.py): the URL, then
	// each field name followed by its value, names sorted.
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	s := target
	for _, k := range names {
		for _, v := range fields[k] {
			s += k + v
		}
	}
	m := hmac.New(sha1.New, []byte(twilioToken))
	m.Write([]byte(s))
	u, _ := url.Parse(target)
	r := &Request{Context: context.Background(), Method: http.MethodPost, URL: u, Body: body, Now: time.Now(),
		Header: twilioHeader(base64.StdEncoding.EncodeToString(m.Sum(nil)), "application/x-www-form-urlencoded")}
	return benchNew(b, "twilio", Config{Secrets: []string{twilioToken}}), r
}
