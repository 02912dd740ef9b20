package verifiers

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Postmark publishes no signature (there is none to publish). The Basic
// auth side is tested against net/http's Request.SetBasicAuth as the
// independent implementation; the replay material against a SHA-256
// computed with coreutils:
//
//	printf '%s' "$postmarkBody" | sha256sum
//
// postmarkBody is Postmark's delivery webhook example shape
// (https://postmarkapp.com/developer/webhooks/delivery-webhook).
const (
	postmarkBody     = `{"RecordType":"Delivery","ServerID":23,"MessageStream":"outbound","MessageID":"00000000-0000-0000-0000-000000000000","Recipient":"john@example.com","Tag":"welcome-email","DeliveredAt":"2021-02-21T16:34:52Z","Details":"Test delivery webhook details","Metadata":{"a_key":"a_value"}}`
	postmarkBodySum  = "147b4656d6e359d120a12b65feaa88363c1c1d9fc6492c78ec97337d17a6c6e4"
	postmarkUser     = "postmark"
	postmarkPass     = "s3cr3t-P@ss:word"
	postmarkToken    = "tok_9f8e7d6c5b4a"
	postmarkTokenOld = "tok_previous"
)

// postmarkBasic returns headers with Authorization set by net/http.
func postmarkBasic(user, pass string) http.Header {
	req, _ := http.NewRequest("POST", "https://example.com/hook", nil)
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "application/json")
	return req.Header
}

func newTestPostmark(t *testing.T, c Config) Verifier {
	t.Helper()
	v, err := New("postmark", c)
	if err != nil {
		t.Fatalf("New(postmark): %v", err)
	}
	return v
}

func TestPostmarkBasic(t *testing.T) {
	v := newTestPostmark(t, Config{Username: postmarkUser, Password: postmarkPass})
	wantSum, _ := hex.DecodeString(postmarkBodySum)
	now := time.Unix(1700000000, 0)

	res := formsigCheck(t, v, formsigRequest(t, "POST", "", postmarkBasic(postmarkUser, postmarkPass), []byte(postmarkBody), now), nil)
	if !bytes.Equal(res.Signature, wantSum) || res.Key != 0 || res.ID != "" || res.SignedID != "" || !res.Timestamp.IsZero() {
		t.Errorf("result = %+v, want Signature %s", res, postmarkBodySum)
	}

	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	hdr := func(vals ...string) http.Header { return http.Header{"Authorization": vals} }
	tests := []struct {
		name string
		h    http.Header
		want error
	}{
		{"lower-case scheme", hdr("basic " + enc(postmarkUser+":"+postmarkPass)), nil},
		{"wrong password", postmarkBasic(postmarkUser, "wrong"), ErrCredentials},
		{"password prefix", postmarkBasic(postmarkUser, postmarkPass[:len(postmarkPass)-1]), ErrCredentials},
		{"password with extra byte", postmarkBasic(postmarkUser, postmarkPass+"x"), ErrCredentials},
		{"wrong user", postmarkBasic("someone", postmarkPass), ErrCredentials},
		{"empty credentials", postmarkBasic("", ""), ErrCredentials},
		{"user and password swapped", postmarkBasic(postmarkPass, postmarkUser), ErrCredentials},
		{"missing Authorization", http.Header{}, ErrCredentials},
		{"empty Authorization", hdr(""), ErrCredentials},
		{"bearer scheme", hdr("Bearer " + enc(postmarkUser+":"+postmarkPass)), ErrCredentials},
		{"no scheme", hdr(enc(postmarkUser + ":" + postmarkPass)), ErrCredentials},
		{"invalid base64", hdr("Basic !!!"), ErrCredentials},
		{"unpadded base64", hdr("Basic " + strings.TrimRight(enc(postmarkUser+":"+postmarkPass), "=")), ErrCredentials},
		{"no colon", hdr("Basic " + enc(postmarkUser+postmarkPass)), ErrCredentials},
		{"duplicated Authorization", hdr("Basic "+enc(postmarkUser+":"+postmarkPass), "Basic "+enc(postmarkUser+":"+postmarkPass)), ErrMalformed},
		{"oversized Authorization", hdr("Basic " + strings.Repeat("A", maxHeaderValue)), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			formsigCheck(t, v, formsigRequest(t, "POST", "", tt.h, []byte(postmarkBody), now), tt.want, postmarkPass)
		})
	}

	// Replay material follows the body.
	other := formsigCheck(t, v, formsigRequest(t, "POST", "", postmarkBasic(postmarkUser, postmarkPass), []byte(postmarkBody+" "), now), nil)
	if bytes.Equal(other.Signature, res.Signature) {
		t.Errorf("different bodies gave the same replay material")
	}
	if ts, ok := v.(Timestamped); !ok || ts.HasTimestamp() {
		t.Errorf("postmark must report no timestamp")
	}
}

func TestPostmarkHeader(t *testing.T) {
	v := newTestPostmark(t, Config{Header: "x-webhook-token", Secrets: []string{postmarkToken, postmarkTokenOld}})
	now := time.Unix(1700000000, 0)
	hdr := func(name string, vals ...string) http.Header {
		h := http.Header{}
		for _, val := range vals {
			h.Add(name, val)
		}
		return h
	}
	tests := []struct {
		name    string
		h       http.Header
		want    error
		wantKey int
	}{
		{"current secret", hdr("X-Webhook-Token", postmarkToken), nil, 0},
		{"previous secret", hdr("X-Webhook-Token", postmarkTokenOld), nil, 1},
		{"surrounding white space is not part of a header value", hdr("X-Webhook-Token", " "+postmarkToken+" "), nil, 0},
		{"wrong value", hdr("X-Webhook-Token", "tok_wrong"), ErrCredentials, 0},
		{"prefix of the secret", hdr("X-Webhook-Token", postmarkToken[:5]), ErrCredentials, 0},
		{"case differs", hdr("X-Webhook-Token", strings.ToUpper(postmarkToken)), ErrCredentials, 0},
		{"missing header", hdr("X-Other", postmarkToken), ErrCredentials, 0},
		{"empty header", hdr("X-Webhook-Token", ""), ErrCredentials, 0},
		{"duplicated header", hdr("X-Webhook-Token", postmarkToken, postmarkToken), ErrMalformed, 0},
		{"basic auth does not count", postmarkBasic("x", postmarkToken), ErrCredentials, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := formsigCheck(t, v, formsigRequest(t, "POST", "", tt.h, []byte(postmarkBody), now), tt.want, postmarkToken, postmarkTokenOld)
			if res != nil && res.Key != tt.wantKey {
				t.Errorf("Key = %d, want %d", res.Key, tt.wantKey)
			}
		})
	}

	// A bearer token configured as the Authorization header.
	b := newTestPostmark(t, Config{Header: "Authorization", Secrets: []string{"Bearer " + postmarkToken}})
	formsigCheck(t, b, formsigRequest(t, "POST", "", hdr("Authorization", "Bearer "+postmarkToken), nil, now), nil)
	formsigCheck(t, b, formsigRequest(t, "POST", "", hdr("Authorization", "Bearer x"), nil, now), ErrCredentials, postmarkToken)
}

func TestPostmarkConfig(t *testing.T) {
	tests := []struct {
		name string
		c    Config
	}{
		{"nothing", Config{}},
		{"both modes", Config{Username: "u", Password: "pw-SECRET", Header: "X-T", Secrets: []string{"sec-SECRET"}}},
		{"basic and secret", Config{Username: "u", Password: "pw-SECRET", Secrets: []string{"sec-SECRET"}}},
		{"basic and header", Config{Username: "u", Password: "pw-SECRET", Header: "X-T"}},
		{"username only", Config{Username: "u"}},
		{"password only", Config{Password: "pw-SECRET"}},
		{"username with colon", Config{Username: "u:v", Password: "pw-SECRET"}},
		{"header without secret", Config{Header: "X-T"}},
		{"secret without header", Config{Secrets: []string{"sec-SECRET"}}},
		{"empty secret", Config{Header: "X-T", Secrets: []string{"sec-SECRET", ""}}},
		{"secret with trailing space", Config{Header: "X-T", Secrets: []string{"sec-SECRET "}}},
		{"invalid header name", Config{Header: "X T", Secrets: []string{"sec-SECRET"}}},
		{"header name with colon", Config{Header: "X-T:", Secrets: []string{"sec-SECRET"}}},
		{"url", Config{Username: "u", Password: "pw-SECRET", URL: "https://example.com/"}},
		{"tolerance", Config{Username: "u", Password: "pw-SECRET", Tolerance: time.Minute}},
		{"public_key", Config{Username: "u", Password: "pw-SECRET", PublicKeys: []PublicKey{{Key: "k"}}}},
		{"hmac", Config{Header: "X-T", Secrets: []string{"sec-SECRET"}, HMAC: &HMACRecipe{}}},
		{"topic_arn", Config{Header: "X-T", Secrets: []string{"sec-SECRET"}, TopicARNs: []string{"a"}}},
		{"certificate", Config{Header: "X-T", Secrets: []string{"sec-SECRET"}, Certificates: []string{"c"}}},
		{"auto_confirm", Config{Header: "X-T", Secrets: []string{"sec-SECRET"}, AutoConfirm: true}},
	}
	for _, tt := range tests {
		v, err := New("postmark", tt.c)
		if err == nil || v != nil {
			t.Errorf("%s: New = %v, %v; want an error", tt.name, v, err)
			continue
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: error text %q leaks a secret", tt.name, err)
		}
	}
}

func TestPostmarkChallenge(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"basic mode challenges", Config{Provider: "postmark", Username: "u", Password: "p"}, `Basic realm="webhook"`},
		{"header mode does not", Config{Provider: "postmark", Header: "X-Token", Secrets: []string{"t"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New("postmark", tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			c, ok := v.(Challenger)
			if !ok {
				t.Fatal("postmark does not implement Challenger")
			}
			if got := c.Challenge(); got != tt.want {
				t.Errorf("Challenge() = %q, want %q", got, tt.want)
			}
		})
	}
}
