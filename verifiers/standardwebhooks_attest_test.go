package verifiers

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	// The Standard Webhooks reference library for Go (v1 only): an
	// implementation independent of this package.
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Attestation test keys: a whsec_ secret and a whsk_ key from fixed bytes.
var (
	attestSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("attest-test-secret-of-32-bytes!!"))
	attestSeed   = []byte("attest-test-ed25519-seed-32bytes")
	attestPriv   = ed25519.NewKeyFromSeed(attestSeed)
	attestWhsk   = "whsk_" + base64.StdEncoding.EncodeToString(attestPriv)
	attestWhpk   = "whpk_" + base64.StdEncoding.EncodeToString(attestPriv.Public().(ed25519.PublicKey))
)

// swHeader is the header a Standard Webhooks library reads.
func swHeader(id, ts, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", sig)
	return h
}

// entry returns the webhook-signature entry of version v, or "".
func entry(sig, v string) string {
	for _, e := range strings.Split(sig, " ") {
		if strings.HasPrefix(e, v+",") {
			return e
		}
	}
	return ""
}

// TestAttesterVerifiedIndependently: what the Attester signs passes the
// Standard Webhooks Go library (v1), crypto/ed25519 over the spec's
// signed content id.timestamp.body (v1a), and this package's own
// standard_webhooks verifier configured as the app would be (whsec_ secret
// or whpk_ public key); a changed body, id or timestamp passes none.
func TestAttesterVerifiedIndependently(t *testing.T) {
	a, err := NewAttester([]string{attestSecret, attestWhsk})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"invoice.paid","note":"caf` + "\u00e9" + ` ✓"}` + "\n")
	id := "stripe:event:evt_1"
	now := time.Now()
	ts, sig, err := a.Sign(id, now, body)
	if err != nil {
		t.Fatal(err)
	}
	if ts != strings.TrimSpace(ts) || ts == "" || entry(sig, "v1") == "" || entry(sig, "v1a") == "" || len(strings.Split(sig, " ")) != 2 {
		t.Fatalf("timestamp %q, signature %q: want one v1 and one v1a entry", ts, sig)
	}
	lib, err := standardwebhooks.NewWebhook(attestSecret)
	if err != nil {
		t.Fatal(err)
	}
	appV1, err := New("standard_webhooks", Config{Provider: "standard_webhooks", Secrets: []string{attestSecret}})
	if err != nil {
		t.Fatal(err)
	}
	appV1a, err := New("standard_webhooks", Config{Provider: "standard_webhooks", PublicKeys: []PublicKey{{Key: attestWhpk}}})
	if err != nil {
		t.Fatal(err)
	}
	ed := func(id, ts string, body []byte) bool {
		b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(entry(sig, "v1a"), "v1a,"))
		return err == nil && ed25519.Verify(attestPriv.Public().(ed25519.PublicKey), []byte(id+"."+ts+"."+string(body)), b)
	}
	for _, c := range []struct {
		name     string
		id, ts   string
		body     []byte
		wantPass bool
	}{
		{"as signed", id, ts, body, true},
		{"body changed", id, ts, append(append([]byte(nil), body...), ' '), false},
		{"id changed", "stripe:event:evt_2", ts, body, false},
		{"timestamp changed", id, ts[:len(ts)-1] + string('0'+(ts[len(ts)-1]-'0'+1)%10), body, false},
	} {
		h := swHeader(c.id, c.ts, sig)
		if err := lib.Verify(c.body, h); (err == nil) != c.wantPass {
			t.Errorf("%s: standard-webhooks Go library: %v, want pass %v", c.name, err, c.wantPass)
		}
		if ok := ed(c.id, c.ts, c.body); ok != c.wantPass {
			t.Errorf("%s: ed25519.Verify = %v, want %v", c.name, ok, c.wantPass)
		}
		for _, app := range []Verifier{appV1, appV1a} {
			if _, err := app.Verify(&Request{Header: h, Body: c.body, Now: now}); (err == nil) != c.wantPass {
				t.Errorf("%s: standard_webhooks verifier: %v, want pass %v", c.name, err, c.wantPass)
			}
		}
		if ok := a.Signed(c.id, c.ts, sig, c.body); ok != c.wantPass {
			t.Errorf("%s: Signed = %v, want %v", c.name, ok, c.wantPass)
		}
	}
	// Signed holds at any age (renewal); another key's signature never.
	old := now.Add(-48 * time.Hour)
	ots, osig, _ := a.Sign(id, old, body)
	if !a.Signed(id, ots, osig, body) {
		t.Error("Signed refused a two-day-old signature of its own")
	}
	other, _ := NewAttester([]string{"whsec_" + base64.StdEncoding.EncodeToString([]byte("another-secret-of-32-bytes-long!"))})
	if other.Signed(id, ts, sig, body) {
		t.Error("an Attester with another key took the signature for its own")
	}
}

// TestAttesterIDs: an id that could make two deliveries share a signed
// string (a '.', the content's delimiter), or that a header cannot carry,
// is refused, by Sign and by Signed.
func TestAttesterIDs(t *testing.T) {
	a, err := NewAttester([]string{attestSecret})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id string
		ok bool
	}{
		{"github:sig:0123abcd", true},
		{"standard_webhooks:id:msg_2Lh9XZq-1", true},
		{strings.Repeat("a", 256), true},
		{"", false},
		{strings.Repeat("a", 257), false},
		{"stripe:event:evt.1", false},
		{"a b", false},
		{"a,b", false},
		{"a\r\nX: y", false},
		{"caf\u00e9", false},
		{"a/b", false},
	} {
		_, _, err := a.Sign(c.id, time.Now(), nil)
		if (err == nil) != c.ok || ValidAttestID(c.id) != c.ok {
			t.Errorf("id %q: Sign error %v, ValidAttestID %v; want ok %v", c.id, err, ValidAttestID(c.id), c.ok)
		}
	}
	// "x" signed at T over "U.{}" and "x.T" signed at U over "{}" would be
	// one signed string: the second id is refused, so Signed cannot take
	// one delivery's signature for the other's.
	ts, sig, err := a.Sign("x", time.Unix(1700000000, 0), []byte("1700000001.{}"))
	if err != nil {
		t.Fatal(err)
	}
	if !a.Signed("x", ts, sig, []byte("1700000001.{}")) {
		t.Fatal("Signed refused its own signature")
	}
	if a.Signed("x.1700000000", "1700000001", sig, []byte("{}")) {
		t.Error("the delimiter in an id let one signature stand for another delivery")
	}
}

// TestAttesterKeys: keys of the wrong kind are refused, naming the key by
// position and never by value.
func TestAttesterKeys(t *testing.T) {
	for _, c := range []struct {
		name string
		keys []string
		want string
	}{
		{"none", nil, "needs a whsec_ secret or a whsk_ key"},
		{"public key", []string{attestSecret, attestWhpk}, "key 2 is a whpk_ public key"},
		{"bare base64", []string{"c2VjcmV0"}, "key 1 is neither"},
		{"bad whsec", []string{"whsec_!!notbase64!!"}, "key 1 is not whsec_ base64"},
		{"bad whsk", []string{"whsk_c2VjcmV0"}, "key 1 is not a whsk_ Ed25519 key"},
		{"too many", []string{attestSecret, attestSecret, attestSecret, attestSecret, attestSecret, attestSecret, attestSecret, attestSecret, attestSecret}, "at most 8 keys"},
	} {
		_, err := NewAttester(c.keys)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
			continue
		}
		for _, k := range c.keys {
			if v := k[strings.Index(k, "_")+1:]; len(v) > 4 && strings.Contains(err.Error(), v) {
				t.Errorf("%s: the error %q shows a key", c.name, err)
			}
		}
	}
	if err := CheckAttestKey(attestWhsk); err != nil {
		t.Errorf("CheckAttestKey(whsk_): %v", err)
	}
	if err := CheckAttestKey(attestWhpk); err == nil {
		t.Error("CheckAttestKey took a whpk_ public key")
	}
}
