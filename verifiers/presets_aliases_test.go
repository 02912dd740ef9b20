package verifiers

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// presetVector is one vector of testdata/presets/vectors.json, signed by
// Node's crypto (testdata/presets/sign.js, which cites each provider's
// scheme) or copied from a provider's published example.
type presetVector struct {
	Name    string            `json:"name"`
	Secrets []string          `json:"secrets"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Now     int64             `json:"now"`
}

// loadPresetVectors reads the vectors, by name.
func loadPresetVectors(t testing.TB) map[string]presetVector {
	t.Helper()
	raw, err := os.ReadFile("testdata/presets/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []presetVector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]presetVector, len(file.Vectors))
	for _, v := range file.Vectors {
		if _, dup := out[v.Name]; dup {
			t.Fatalf("duplicate vector %s", v.Name)
		}
		out[v.Name] = v
	}
	return out
}

// request builds the vector's request, verified at its time (or, for
// vectors without a timestamp, at an arbitrary one).
func (pv presetVector) request() *Request {
	h := http.Header{}
	for k, v := range pv.Headers {
		h.Set(k, v)
	}
	now := time.Unix(1767225600, 0)
	if pv.Now != 0 {
		now = time.Unix(pv.Now, 0)
	}
	u, _ := url.Parse("https://hooks.example.com/" + pv.Name)
	return &Request{Method: http.MethodPost, URL: u, Header: h, Body: []byte(pv.Body), Now: now}
}

func TestPresetAliasesStandardWebhooks(t *testing.T) {
	vectors := loadPresetVectors(t)
	for _, name := range []string{"brex", "clerk", "loops", "openai", "replicate"} {
		t.Run(name, func(t *testing.T) {
			pv, ok := vectors[name]
			if !ok {
				t.Fatal("no vector")
			}
			v, err := New(name, Config{Secrets: pv.Secrets})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(pv.request())
			if err != nil {
				t.Fatal(err)
			}
			if res.SignedID != "msg_"+name+"_1" {
				t.Errorf("signed id %q", res.SignedID)
			}
			r := pv.request()
			r.Body = append(r.Body, ' ')
			if _, err := v.Verify(r); !errors.Is(err, ErrSignature) {
				t.Errorf("tampered: %v", err)
			}
			r = pv.request()
			r.Now = r.Now.Add(time.Hour)
			if _, err := v.Verify(r); !errors.Is(err, ErrTimestamp) {
				t.Errorf("stale: %v", err)
			}
		})
	}
}

// The mailchimp vector is Mandrill's scheme signed by Node's crypto:
//
//	node -e 'console.log(require("crypto").createHmac("sha1", "mailchimp-webhook-key")
//	  .update("https://example.com/hooks/mailchimp" + "mandrill_events" + "[]").digest("base64"))'
func TestPresetAliasMailchimp(t *testing.T) {
	const sig = "mdMPALKqFX2bvWXt8RNOLGjThwc="
	v, err := New("mailchimp", Config{Secrets: []string{"mailchimp-webhook-key"}, URL: "https://example.com/hooks/mailchimp"})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"X-Mandrill-Signature": {sig}, "Content-Type": {"application/x-www-form-urlencoded"}}
	r := formsigRequest(t, http.MethodPost, "https://internal:8080/hooks/mailchimp", h, []byte("mandrill_events=%5B%5D"), time.Unix(1767225600, 0))
	if _, err := v.Verify(r); err != nil {
		t.Fatal(err)
	}
	r = formsigRequest(t, http.MethodPost, "https://internal:8080/hooks/mailchimp", h, []byte("mandrill_events=%5B%5D&x=1"), time.Unix(1767225600, 0))
	if _, err := v.Verify(r); !errors.Is(err, ErrSignature) {
		t.Fatalf("tampered: %v", err)
	}
	if _, err := New("mailchimp", Config{Secrets: []string{"k"}}); err == nil {
		t.Error("mailchimp without url accepted")
	}
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestPresetAliasesBasicAuth(t *testing.T) {
	for _, name := range []string{"vmware", "mailjet", "sparkpost", "brevo"} {
		t.Run(name, func(t *testing.T) {
			v, err := New(name, Config{Username: "hook", Password: "s3cret"})
			if err != nil {
				t.Fatal(err)
			}
			ok := &Request{Header: http.Header{"Authorization": {basicAuth("hook", "s3cret")}}, Body: []byte("{}")}
			if _, err := v.Verify(ok); err != nil {
				t.Fatal(err)
			}
			for _, auth := range []string{basicAuth("hook", "wrong"), basicAuth("other", "s3cret"), "Bearer s3cret", ""} {
				r := &Request{Header: http.Header{}, Body: []byte("{}")}
				if auth != "" {
					r.Header.Set("Authorization", auth)
				}
				if _, err := v.Verify(r); !errors.Is(err, ErrCredentials) {
					t.Errorf("%q: %v", auth, err)
				}
			}
		})
	}
	if _, err := New("vmware", Config{Secrets: []string{"x"}, Header: "X-Token"}); err == nil || !strings.Contains(err.Error(), "Basic") {
		t.Errorf("vmware with a header secret: %v", err)
	}
	if _, err := New("vmware", Config{Username: "u"}); err == nil {
		t.Error("vmware without password accepted")
	}
}

func TestPresetAliasBrevoBearer(t *testing.T) {
	for _, secret := range []string{"brevo-token", "Bearer brevo-token"} {
		v, err := New("brevo", Config{Secrets: []string{"old-token", secret}})
		if err != nil {
			t.Fatal(err)
		}
		r := &Request{Header: http.Header{"Authorization": {"Bearer brevo-token"}}, Body: []byte("{}")}
		res, err := v.Verify(r)
		if err != nil || res.Key != 1 {
			t.Fatalf("%q: %v %+v", secret, err, res)
		}
		for _, auth := range []string{"brevo-token", "Bearer brevo-tokeN", "Basic brevo-token"} {
			r := &Request{Header: http.Header{"Authorization": {auth}}, Body: []byte("{}")}
			if _, err := v.Verify(r); !errors.Is(err, ErrCredentials) {
				t.Errorf("%q: %v", auth, err)
			}
		}
	}
	// An explicit header keeps postmark's meaning: the secret is the whole value.
	v, err := New("brevo", Config{Secrets: []string{"tok"}, Header: "X-Brevo-Token"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(&Request{Header: http.Header{"X-Brevo-Token": {"tok"}}}); err != nil {
		t.Fatal(err)
	}
}
