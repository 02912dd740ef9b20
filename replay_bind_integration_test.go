package webhookverify

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"net/http/httptest"
	"strings"
	"testing"
)

// End-to-end tests of issue 13 items 2, 3 and 9 through a real Caddy:
// bodies bound to the signed delivery (PayPal's CRC32, Adyen's signed
// fields), Adyen batches keyed per item, and `replay { key json }` keeping
// JSON types apart and refusing trailing data.

const replayBindConfig = `
http://localhost:%[2]d {
	handle /paypal {
		webhook_verify paypal {
			webhook_id 1JE4291016473214C
			certificate %[3]q
			tolerance off
		}
		reverse_proxy %[1]s
	}
	handle /adyen-1 {
		webhook_verify adyen {
			secret %[4]s
			replay {
				namespace adyen-1
			}
		}
		reverse_proxy %[1]s
	}
	handle /adyen-2 {
		webhook_verify adyen {
			secret %[4]s
			replay {
				namespace adyen-2
			}
		}
		reverse_proxy %[1]s
	}
	handle /adyen-3 {
		webhook_verify adyen {
			secret %[4]s
			replay {
				namespace adyen-3
			}
		}
		reverse_proxy %[1]s
	}
	handle /keyjson {
		webhook_verify github {
			secret %[5]q
			replay {
				key json /id
			}
		}
		reverse_proxy %[1]s
	}
}
`

// forgeCRC32 returns 4 bytes that, appended to prefix, give the CRC-32
// (IEEE) want. After 4 bytes the CRC register is a function of the table
// indices those bytes select alone, so the indices are found from the
// target backwards (the top byte of each table entry is unique), then the
// bytes that select them from prefix's register forwards.
func forgeCRC32(prefix []byte, want uint32) []byte {
	tab := crc32.IEEETable
	var byTop [256]byte
	for i := range 256 {
		byTop[tab[i]>>24] = byte(i)
	}
	var idx [4]byte
	r := ^want
	for k := 3; k >= 0; k-- {
		idx[k] = byTop[r>>24]
		r = (r ^ tab[idx[k]]) << 8
	}
	reg := ^crc32.ChecksumIEEE(prefix)
	out := make([]byte, 4)
	for k := range 4 {
		out[k] = byte(reg) ^ idx[k]
		reg = tab[idx[k]] ^ reg>>8
	}
	return out
}

func TestForgeCRC32(t *testing.T) {
	for _, p := range []string{"", "a", `{"amount":"9.99"}`} {
		for _, want := range []uint32{0, 1, 0xdeadbeef, crc32.ChecksumIEEE([]byte("x"))} {
			b := append([]byte(p), forgeCRC32([]byte(p), want)...)
			if got := crc32.ChecksumIEEE(b); got != want {
				t.Fatalf("crc32(%q + forged) = %08x, want %08x", p, got, want)
			}
		}
	}
}

func TestIntegrationReplayBind(t *testing.T) {
	if testing.Short() {
		t.Skip("caddytest integration test")
	}
	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	tc := newTester(t)
	tc.InitServer(globalOptions()+fmt.Sprintf(replayBindConfig, srv.Listener.Addr().String(), testHTTPPort,
		e2ePayPalCert(), e2eAdyenKey, ghSecret), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}

	type step struct {
		name    string
		headers map[string]string
		body    []byte
		want    int
		forward bool // the upstream got this body
	}
	run := func(t *testing.T, path string, steps []step) {
		t.Helper()
		for _, s := range steps {
			before := len(up.requests(path))
			status, _ := post(t, tc, path, s.headers, s.body)
			got := up.requests(path)[before:]
			forwarded := len(got) == 1 && bytes.Equal(got[0].body, s.body)
			if status != s.want || forwarded != s.forward || len(got) > 1 {
				t.Fatalf("%s: status %d, forwarded %d copies (this body: %v); want %d, forwarded %v",
					s.name, status, len(got), forwarded, s.want, s.forward)
			}
		}
	}

	t.Run("paypal: a forged body with the genuine CRC32 after a release", func(t *testing.T) {
		// PayPal's documented delivery (verifiers/paypal_test.go). PayPal
		// signs only the CRC32 of the body: a body with another amount,
		// padded by 4 bytes to the genuine CRC32, carries the genuine
		// signature.
		body := e2eReadTestdata("verifiers/testdata/paypal/body.json")
		h := map[string]string{"PAYPAL-TRANSMISSION-ID": "69cd13f0-d67a-11e5-baa3-778b53f4ae55", "PAYPAL-TRANSMISSION-TIME": "2016-02-18T20:01:35Z",
			"PAYPAL-TRANSMISSION-SIG": string(bytes.TrimSpace(e2eReadTestdata("verifiers/testdata/paypal/sig.b64"))),
			"PAYPAL-CERT-URL":         "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77",
			"PAYPAL-AUTH-ALGO":        "SHA256withRSA", "Content-Type": "application/json"}
		forged := e2eReplace(body, `"total":"0.48"`, `"total":"9999"`)
		if bytes.Equal(forged, body) {
			t.Fatal("the amount is not in the fixture")
		}
		forged = append(forged, forgeCRC32(forged, crc32.ChecksumIEEE(body))...)
		if crc32.ChecksumIEEE(forged) != crc32.ChecksumIEEE(body) {
			t.Fatal("forged CRC32 differs")
		}
		failing := e2eWith(h, "X-Test-Status", "500")
		run(t, "/paypal", []step{
			{"genuine, the app fails (released)", failing, body, 500, true},
			{"forged body, genuine headers", h, forged, 401, false},
			{"PayPal's retry", h, body, 200, true},
			{"a copy of the accepted delivery", h, body, 200, false},
			{"forged body after the commit", h, forged, 401, false},
		})
	})

	// Adyen's Go library item (A, e2eAdyenBody) and a second item B under
	// the same key: signed string
	// "pspReferenceB:originalReference:merchantAccount:referenceB:2000:EUR:EVENT:true",
	//
	//	printf '%s' "$signed" | openssl dgst -sha256 -mac HMAC -macopt hexkey:$e2eAdyenKey -binary | base64
	itemA := strings.TrimSuffix(strings.TrimPrefix(e2eAdyenBody, `{"live":"false","notificationItems":[`), `]}`)
	itemB := strings.NewReplacer("ipnxGCaUZ4l8TUW75a71/ghd2Fe5ffvX0pV4TLTntIc=", "qVsodhcJRJ27vcxwJiHgzrtoVtdCELSWxiIycBJKFM0=",
		`"value":1000`, `"value":2000`, `"merchantReference":"reference"`, `"merchantReference":"referenceB"`,
		`"pspReference":"pspReference"`, `"pspReference":"pspReferenceB"`).Replace(itemA)
	itemA2 := strings.Replace(itemA, `"reason":"reason"`, `"reason":"refund everything"`, 1) // unsigned field changed
	batch := func(items ...string) []byte {
		return []byte(`{"live":"false","notificationItems":[` + strings.Join(items, ",") + `]}`)
	}
	adyen := map[string]string{"Content-Type": "application/json"}
	t.Run("adyen: [A] accepted, then [A',A']", func(t *testing.T) {
		run(t, "/adyen-1", []step{
			{"[A]", adyen, batch(itemA), 200, true},
			{"[A',A']", adyen, batch(itemA2, itemA2), 400, false},
			{"[A',A',A']", adyen, batch(itemA2, itemA2, itemA2), 400, false},
			{"[A,A']", adyen, batch(itemA, itemA2), 400, false},
			{"[A']", adyen, batch(itemA2), 401, false},
			{"[A]", adyen, batch(itemA), 200, false},
		})
	})
	t.Run("adyen: [A] accepted, then [A,B]", func(t *testing.T) {
		run(t, "/adyen-2", []step{
			{"[A]", adyen, batch(itemA), 200, true},
			{"[A,B]", adyen, batch(itemA, itemB), 401, false},
			{"[B]", adyen, batch(itemB), 200, true},
			{"[B,A]", adyen, batch(itemB, itemA), 401, false},
		})
	})
	t.Run("adyen: [A,B] accepted, then [A]", func(t *testing.T) {
		run(t, "/adyen-3", []step{
			{"[A,B]", adyen, batch(itemA, itemB), 200, true},
			{"[A]", adyen, batch(itemA), 401, false},
			{"[B]", adyen, batch(itemB), 401, false},
			{"[A,B] again", adyen, batch(itemA, itemB), 200, false},
		})
	})

	t.Run("key json: types apart, trailing data refused", func(t *testing.T) {
		gh := func(body string) map[string]string {
			m := hmac.New(sha256.New, []byte(ghSecret))
			m.Write([]byte(body))
			return map[string]string{"X-Hub-Signature-256": "sha256=" + hex.EncodeToString(m.Sum(nil)), "Content-Type": "application/json"}
		}
		signed := func(name, body string, want int, forward bool) step {
			return step{name, gh(body), []byte(body), want, forward}
		}
		run(t, "/keyjson", []step{
			signed("number 1", `{"id":1}`, 200, true),
			signed("the string \"1\": another event", `{"id":"1"}`, 200, true),
			signed("the number again", `{"id":1,"retry":true}`, 200, false),
			signed("the string again", `{"id":"1","retry":true}`, 200, false),
			signed("a second value after the body", `{"id":"2"} {"id":"3","amount":1e9}`, 400, false),
			signed("garbage after the body", `{"id":"4"}]`, 400, false),
			signed("trailing white space is fine", "{\"id\":\"5\"}\r\n", 200, true),
		})
	})
}
