package verifiers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for every parser of untrusted input in this package but
// the hmac recipe engine (fuzzed with it). Each provider's target starts
// from a valid delivery (a published vector of the provider's tests),
// lets the fuzzer change its signing headers and body, and asserts that
// Verify never panics and accepts only when the signed material is the
// original's. Seeds: the f.Add calls and testdata/fuzz/FuzzXxx (Go's
// format, replayed by plain go test). Inputs are bounded so that each
// runs in bounded time.

const (
	fuzzMaxBody   = 64 << 10
	fuzzMaxHeader = 16 << 10
)

// fuzzLogAccept logs accepted inputs (WV_FUZZ_LOG=1 go test -v -run Fuzz
// shows which seeds are valid deliveries).
var fuzzLogAccept = os.Getenv("WV_FUZZ_LOG") != ""

// fuzzTooBig reports whether an input is past the bounds.
func fuzzTooBig(body []byte, headers ...string) bool {
	if len(body) > fuzzMaxBody {
		return true
	}
	for _, h := range headers {
		if len(h) > fuzzMaxHeader {
			return true
		}
	}
	return false
}

// fuzzHeader returns h with the named headers set to the given values;
// an empty value removes the header, and a value holding "\x00" is split
// there into several field lines.
func fuzzHeader(h http.Header, kv ...string) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Del(kv[i])
		if kv[i+1] == "" {
			continue
		}
		for _, v := range strings.Split(kv[i+1], "\x00") {
			out.Add(kv[i], v)
		}
	}
	return out
}

func fuzzNew(t *testing.T, name string, c Config) Verifier {
	t.Helper()
	v, err := New(name, c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fuzzVerify runs v and checks the result's basic contract: a Result or
// an error wrapping a sentinel, never both, the body left alone.
func fuzzVerify(t *testing.T, v Verifier, r *Request) *Result {
	t.Helper()
	orig := bytes.Clone(r.Body)
	if r.Context == nil {
		r.Context = context.Background()
	}
	res, err := v.Verify(r)
	if !bytes.Equal(orig, r.Body) {
		t.Fatal("Verify modified the body")
	}
	if err != nil {
		if res != nil {
			t.Fatalf("result and error %v", err)
		}
		known := false
		for _, s := range []error{ErrMalformed, ErrTimestamp, ErrSignature, ErrCredentials, ErrUnavailable, ErrForbidden} {
			known = known || errorsIs(err, s)
		}
		if !known {
			t.Fatalf("error %v wraps no sentinel", err)
		}
		return nil
	}
	if res == nil {
		t.Fatal("nil result without error")
	}
	if fuzzLogAccept {
		t.Log("accepted")
	}
	return res
}

// sameTrimmed reports whether a header value carries the same signed text
// as the original (Header trims surrounding whitespace).
func sameTrimmed(got, want string) bool { return strings.TrimSpace(got) == want }

func FuzzStandardWebhooks(f *testing.F) {
	f.Add(swID, swTS, "v1,"+swV1, []byte(swBody))
	f.Add(swID, swTS, "v1,"+swBogus+" v1,"+swV1, []byte(swBody))
	f.Add(swID, " "+swTS, "v2,x v1,"+swV1, []byte(swBody))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		if fuzzTooBig(body, id, ts, sig) {
			return
		}
		v := fuzzNew(t, "standard_webhooks", swConfig([]string{swSecret}, nil, 0))
		r := swRequest(string(body), swNow, nil)
		r.Header = fuzzHeader(nil, "webhook-id", id, "webhook-timestamp", ts, "webhook-signature", sig)
		if res := fuzzVerify(t, v, r); res != nil {
			if !bytes.Equal(body, []byte(swBody)) || !sameTrimmed(id, swID) || !sameTrimmed(ts, swTS) {
				t.Fatalf("accepted with other signed bytes: id %q ts %q body %q", id, ts, body)
			}
		}
	})
}

func FuzzStripe(f *testing.F) {
	f.Add(stripeGoHeader, []byte(stripeGoBody))
	f.Add("t=1700000000,v1=00,v1="+stripeGoV1+",v0=ab", []byte(stripeGoBody))
	f.Add("t=1700000000,t=1700000000,v1="+stripeGoV1, []byte(stripeGoBody))
	f.Fuzz(func(t *testing.T, sig string, body []byte) {
		if fuzzTooBig(body, sig) {
			return
		}
		v := fuzzNew(t, "stripe", Config{Secrets: []string{stripeGoSecret}})
		r := stripeRequest(string(body), time.Unix(stripeGoT, 0))
		r.Header = fuzzHeader(nil, "Stripe-Signature", sig)
		if res := fuzzVerify(t, v, r); res != nil {
			if !bytes.Equal(body, []byte(stripeGoBody)) || !res.Timestamp.Equal(time.Unix(stripeGoT, 0)) {
				t.Fatalf("accepted with other signed bytes: %q %q", sig, body)
			}
		}
	})
}

func FuzzSlack(f *testing.F) {
	f.Add(slackGoTS, "v0="+slackGoSig, []byte(slackGoBody))
	f.Add(slackDocsTS, "v0="+slackDocsSig, []byte(slackDocsBody))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		if fuzzTooBig(body, ts, sig) {
			return
		}
		for _, vec := range []struct{ secret, ts, body string }{{slackGoSecret, slackGoTS, slackGoBody}, {slackDocsSecret, slackDocsTS, slackDocsBody}} {
			v := fuzzNew(t, "slack", Config{Secrets: []string{vec.secret}})
			now, _ := ParseUnix(vec.ts)
			r := slackRequest(string(body), now)
			r.Header = fuzzHeader(nil, "X-Slack-Request-Timestamp", ts, "X-Slack-Signature", sig)
			if res := fuzzVerify(t, v, r); res != nil {
				if !bytes.Equal(body, []byte(vec.body)) || !sameTrimmed(ts, vec.ts) {
					t.Fatalf("accepted with other signed bytes: ts %q body %q", ts, body)
				}
			}
		}
	})
}

func FuzzGitHub(f *testing.F) {
	f.Add("sha256="+ghDocsSig, "", []byte(ghDocsBody))
	f.Add("sha256="+ghOctoSig, ghDelivery, []byte(ghOctoBody))
	f.Fuzz(func(t *testing.T, sig, delivery string, body []byte) {
		if fuzzTooBig(body, sig, delivery) {
			return
		}
		for _, vec := range []struct{ secret, body string }{{ghDocsSecret, ghDocsBody}, {ghOctoSecret, ghOctoBody}} {
			v := fuzzNew(t, "github", Config{Secrets: []string{vec.secret}})
			r := ghRequest(string(body))
			r.Header = fuzzHeader(nil, "X-Hub-Signature-256", sig, "X-GitHub-Delivery", delivery)
			if res := fuzzVerify(t, v, r); res != nil && !bytes.Equal(body, []byte(vec.body)) {
				t.Fatalf("accepted another body: %q", body)
			}
		}
	})
}

func FuzzSendGrid(f *testing.F) {
	f.Add(sgSigA, sgTsA, []byte(sgBodyA))
	f.Add(sgSigBLowS, sgTsB, []byte(sgBodyB))
	f.Fuzz(func(t *testing.T, sig, ts string, body []byte) {
		if fuzzTooBig(body, sig, ts) {
			return
		}
		for _, vec := range []struct{ key, ts, body string }{{sgKeyA, sgTsA, sgBodyA}, {sgKeyB, sgTsB, sgBodyB}} {
			v := fuzzNew(t, "sendgrid", Config{PublicKeys: sgKeys(vec.key), Tolerance: -1})
			r := &Request{Method: http.MethodPost, Header: fuzzHeader(nil, sendgridSignatureHeader, sig, sendgridTimestampHeader, ts),
				Body: body, Now: sgUnix(vec.ts)}
			if res := fuzzVerify(t, v, r); res != nil {
				if !bytes.Equal(body, []byte(vec.body)) || !sameTrimmed(ts, vec.ts) {
					t.Fatalf("accepted with other signed bytes: ts %q body %q", ts, body)
				}
			}
		}
	})
}

func FuzzPostmark(f *testing.F) {
	good := postmarkBasic(postmarkUser, postmarkPass).Get("Authorization")
	f.Add(good, postmarkToken)
	f.Add("basic "+good[6:], "")
	f.Add("Basic", "x")
	f.Fuzz(func(t *testing.T, auth, token string) {
		if fuzzTooBig(nil, auth, token) {
			return
		}
		basic := fuzzNew(t, "postmark", Config{Username: postmarkUser, Password: postmarkPass})
		h := fuzzHeader(nil, "Authorization", auth, "Content-Type", "application/json")
		if res := fuzzVerify(t, basic, &Request{Method: http.MethodPost, Header: h, Body: []byte(postmarkBody), Now: time.Now()}); res != nil {
			// Checked with net/http's own parser.
			u, p, ok := (&http.Request{Header: h}).BasicAuth()
			if !ok || u != postmarkUser || p != postmarkPass {
				t.Fatalf("accepted other credentials: %q", auth)
			}
		}
		tok := fuzzNew(t, "postmark", Config{Header: "x-webhook-token", Secrets: []string{postmarkToken}})
		h = fuzzHeader(nil, "X-Webhook-Token", token)
		if res := fuzzVerify(t, tok, &Request{Method: http.MethodPost, Header: h, Body: []byte(postmarkBody), Now: time.Now()}); res != nil {
			if !sameTrimmed(token, postmarkToken) {
				t.Fatalf("accepted another token: %q", token)
			}
		}
	})
}

func FuzzTwilio(f *testing.F) {
	py := twilioPyParams.Encode()
	f.Add("RSOYDt4T1cUTdK1PDd93/VVr8B8=", "application/x-www-form-urlencoded", []byte(py))
	f.Add("RSOYDt4T1cUTdK1PDd93/VVr8B8=", "application/x-www-form-urlencoded; charset=utf-8", []byte(py+"&"))
	f.Fuzz(func(t *testing.T, sig, ct string, body []byte) {
		if fuzzTooBig(body, sig, ct) {
			return
		}
		v := fuzzNew(t, "twilio", Config{Secrets: []string{twilioToken}})
		u, _ := url.Parse(twilioURL)
		r := &Request{Method: http.MethodPost, URL: u, Header: fuzzHeader(nil, "X-Twilio-Signature", sig, "Content-Type", ct),
			Body: body, Now: time.Unix(1700000000, 0)}
		if res := fuzzVerify(t, v, r); res != nil {
			// The signed material: the sorted parameters, read by net/url.
			got, err := url.ParseQuery(string(body))
			if err != nil || got.Encode() != py {
				t.Fatalf("accepted other parameters: %q", body)
			}
		}
	})
}

func FuzzMandrill(f *testing.F) {
	f.Add(mandrillQuerySig, mandrillCT, mandrillQueryBody)
	f.Fuzz(func(t *testing.T, sig, ct string, body []byte) {
		if fuzzTooBig(body, sig, ct) {
			return
		}
		v := fuzzNew(t, "mandrill", Config{Secrets: []string{"k-independent"}, URL: mandrillQueryURL})
		u, _ := url.Parse(mandrillQueryURL)
		r := &Request{Method: http.MethodPost, URL: u, Header: fuzzHeader(nil, "X-Mandrill-Signature", sig, "Content-Type", ct),
			Body: body, Now: time.Unix(1700000000, 0)}
		if res := fuzzVerify(t, v, r); res != nil {
			got, err := url.ParseQuery(string(body))
			want, _ := url.ParseQuery(string(mandrillQueryBody))
			if err != nil || got.Encode() != want.Encode() {
				t.Fatalf("accepted other parameters: %q", body)
			}
		}
	})
}

func FuzzMailgun(f *testing.F) {
	f.Add("application/json", mailgunJSONBody(`"`+mailgunTimestamp+`"`, mailgunToken, mailgunSig, ""))
	f.Add("application/json", mailgunJSONBody(mailgunTimestamp, mailgunToken, mailgunSig, `,"parent-signature":"00"`))
	f.Add(formsigFormType, mailgunFormBody("timestamp", mailgunTimestamp, "token", mailgunToken, "signature", mailgunSig))
	mb, mct := mailgunRawParts(&testing.T{}, [2]string{`Content-Disposition: form-data; name="timestamp"`, mailgunTimestamp},
		[2]string{`Content-Disposition: form-data; name="token"`, mailgunToken},
		[2]string{`Content-Disposition: form-data; name="signature"`, mailgunSig})
	f.Add(mct, mb)
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		if fuzzTooBig(body, ct) {
			return
		}
		v := fuzzNew(t, "mailgun", Config{Secrets: []string{mailgunKey}})
		r := &Request{Method: http.MethodPost, Header: fuzzHeader(nil, "Content-Type", ct), Body: body, Now: mailgunNow}
		if res := fuzzVerify(t, v, r); res != nil {
			if res.SignedID != mailgunToken || !res.Timestamp.Equal(time.Unix(1403645220, 0)) {
				t.Fatalf("accepted another token or timestamp: %+v", res)
			}
		}
	})
}

func FuzzSNS(f *testing.F) {
	for _, vec := range snsPHPVectors {
		b, _ := jsonMarshal(vec)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if fuzzTooBig(body) {
			return
		}
		v, err := New("sns", Config{Certificates: []string{snsPHPCert}})
		if err != nil {
			t.Fatal(err)
		}
		res := fuzzVerify(t, v, &Request{Method: http.MethodPost, Header: http.Header{}, Body: body, Now: time.Unix(1659049200, 0)})
		if res == nil {
			return
		}
		// Accepted: the signed fields must be those of a vector.
		m, err := snsParse(body)
		if err != nil {
			t.Fatalf("accepted a body snsParse refuses: %v", err)
		}
		for _, vec := range snsPHPVectors {
			same := true
			for _, k := range snsTypes[vec["Type"]].signed {
				gv, gok := m[k]
				wv, wok := vec[k]
				same = same && gok == wok && gv == wv
			}
			if same && res.SignedID == vec["MessageId"] {
				return
			}
		}
		t.Fatalf("accepted with signed fields of no vector: %q", body)
	})
}

func FuzzMailChannels(f *testing.F) {
	f.Add(mcInput1, mcSig1, mcDigest1, []byte(mcBody1))
	f.Add(mcInput2, mcSig2, mcDigest2, []byte(mcBody2))
	f.Fuzz(func(t *testing.T, input, sig, digest string, body []byte) {
		if fuzzTooBig(body, input, sig, digest) {
			return
		}
		v := fuzzNew(t, "mailchannels", Config{PublicKeys: []PublicKey{mcKey("mckey", mcK1SPKI), mcKey("mckey-2", mcK2SPKI)},
			CustomerHandles: []string{"abc123"}, Tolerance: -1})
		u, _ := url.Parse("https://hooks.example.com/mailchannels")
		h := fuzzHeader(http.Header{"Content-Type": {"application/json"}}, "Signature-Input", input, "Signature", sig, "Content-Digest", digest)
		r := &Request{Method: http.MethodPost, URL: u, Header: h, Body: body, Now: time.Unix(mcCreated1, 0)}
		if res := fuzzVerify(t, v, r); res != nil {
			if !bytes.Equal(body, []byte(mcBody1)) && !bytes.Equal(body, []byte(mcBody2)) {
				t.Fatalf("accepted another body: %q", body)
			}
		}
	})
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
