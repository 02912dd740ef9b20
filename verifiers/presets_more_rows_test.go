package verifiers

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func init() {
	for _, row := range presetsMore {
		presetsMoreSigned[row.Name] = true // round trips below
	}
}

// TestPresetsMoreRows: every row of presets_more.go verifies its vector
// (testdata/presets/vectors.json: published examples, else signed by Node's
// crypto in testdata/presets/sign.js) and refuses it tampered (401),
// without its signature header (400), under another secret (401) and, where
// the scheme has a timestamp, an hour later (401).
func TestPresetsMoreRows(t *testing.T) {
	vectors := loadPresetVectors(t)
	for _, row := range presetsMore {
		t.Run(row.Name, func(t *testing.T) {
			pv, ok := vectors[row.Name]
			if !ok {
				t.Fatal("no vector")
			}
			for _, name := range append([]string{row.Name}, row.Aliases...) {
				v, err := New(name, Config{Secrets: append([]string{"not-the-secret"}, pv.Secrets...)})
				if err != nil {
					t.Fatal(err)
				}
				res, err := v.Verify(pv.request())
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if res.Key != 1 {
					t.Errorf("%s: key %d, want 1", name, res.Key)
				}
			}
			v, err := New(row.Name, Config{Secrets: pv.Secrets})
			if err != nil {
				t.Fatal(err)
			}
			r := pv.request()
			r.Body = append(r.Body, ' ')
			if _, err := v.Verify(r); !errors.Is(err, ErrSignature) {
				t.Errorf("tampered body: %v", err)
			}
			r = pv.request()
			r.Header.Del(row.Recipe.SignatureHeader)
			if _, err := v.Verify(r); !errors.Is(err, ErrMalformed) {
				t.Errorf("no signature header: %v", err)
			}
			other, err := New(row.Name, Config{Secrets: []string{"c2VjcmV0LWtleS1vdGhlcg=="}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.Verify(pv.request()); !errors.Is(err, ErrSignature) {
				t.Errorf("other secret: %v", err)
			}
			ts, _ := v.(Timestamped)
			hasTS := row.Recipe.TimestampHeader != "" || row.Recipe.TimestampKey != ""
			if ts == nil || ts.HasTimestamp() != hasTS {
				t.Errorf("HasTimestamp does not follow the recipe (%v)", hasTS)
			}
			if hasTS {
				r = pv.request()
				r.Now = r.Now.Add(time.Hour)
				if _, err := v.Verify(r); !errors.Is(err, ErrTimestamp) {
					t.Errorf("an hour later: %v", err)
				}
				if _, err := New(row.Name, Config{Secrets: pv.Secrets, Tolerance: time.Minute}); err != nil {
					t.Errorf("tolerance refused: %v", err)
				}
			} else if _, err := New(row.Name, Config{Secrets: pv.Secrets, Tolerance: time.Minute}); err == nil {
				t.Error("tolerance accepted without a timestamp")
			}
			if ei, ok := v.(EventIDer); !ok || ei.EventIDPointer() != row.EventID {
				t.Errorf("EventIDPointer does not follow the row")
			}
			if bs, ok := v.(BodySigner); !ok || !bs.SignsBody() {
				t.Error("not a BodySigner")
			}
			if row.Source == "" {
				t.Error("no source")
			}
			// caddy webhook sign: a delivery signed for the row verifies,
			// under the secret as configured.
			s, err := Sign(row.Name, SignRequest{Secret: pv.Secrets[0], Body: []byte(pv.Body), Now: pv.request().Now})
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if _, err := signVerify(t, row.Name, Config{Secrets: pv.Secrets}, "", s, pv.request().Now); err != nil {
				t.Errorf("signed delivery refused: %v", err)
			}
		})
	}
}

func TestPresetsMoreClearbitKeyPrefix(t *testing.T) {
	pv := loadPresetVectors(t)["clearbit"]
	// The API key as the dashboard shows it (sk_...) and without the prefix.
	for _, s := range []string{pv.Secrets[0], pv.Secrets[0][3:]} {
		v, err := New("clearbit", Config{Secrets: []string{s}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(pv.request()); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestPresetsMoreNylasChallenge(t *testing.T) {
	v, err := New("nylas", Config{Secrets: []string{"s"}})
	if err != nil {
		t.Fatal(err)
	}
	hs := v.(Handshaker)
	get := func(q string) *Request {
		return &Request{Method: http.MethodGet, URL: &url.URL{Path: "/nylas", RawQuery: q}, Header: http.Header{}}
	}
	resp, ok, err := hs.Handshake(get("challenge=bc609b38-c81f-47fb-a275-1d9bd61a968b"))
	if err != nil || !ok || resp.Status != 200 || resp.Body != "bc609b38-c81f-47fb-a275-1d9bd61a968b" ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("challenge: %+v %v %v", resp, ok, err)
	}
	for _, q := range []string{"challenge=", "challenge=%3Cscript%3E", "challenge=a&challenge=b", "challenge=" + string(make([]byte, 257))} {
		if _, ok, err := hs.Handshake(get(q)); !ok || !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: ok %v err %v, want 400", q, ok, err)
		}
	}
	for _, r := range []*Request{get("other=1"), get(""), {Method: http.MethodPost, URL: &url.URL{RawQuery: "challenge=x"}}} {
		if _, ok, err := hs.Handshake(r); ok || err != nil {
			t.Errorf("%s %q: a handshake (%v)", r.Method, r.URL.RawQuery, err)
		}
	}
}
