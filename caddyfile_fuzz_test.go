package webhookverify

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// FuzzUnmarshalCaddyfile feeds arbitrary directive blocks to the
// Caddyfile unmarshaler (seed corpus in testdata/fuzz/FuzzUnmarshalCaddyfile).
// Invariants: no panic; a block it accepts survives a JSON round trip
// unchanged; and when the block holds no placeholder and no certificate
// file (nothing left for load time), the verifier builds at load exactly
// as the parse-time check said it would.
//
// Fuzz longer with: go test -run '^$' -fuzz FuzzUnmarshalCaddyfile -fuzztime 5m .
func FuzzUnmarshalCaddyfile(f *testing.F) {
	for _, s := range []string{
		"webhook_verify stripe {\n secret whsec_x\n tolerance 10m\n max_size 256KiB\n}",
		"webhook_verify hmac {\n secret s\n signature_header X-Sig\n separator ,\n prefix v1=\n timestamp_key t=\n content \"{timestamp}.{body}\"\n}",
		"webhook_verify svix {\n secret {env.S}\n replay {\n ttl 1h\n key id\n }\n mode log_only\n name a\n}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		tokens, err := caddyfile.Tokenize([]byte(input), "Fuzzfile")
		if err != nil || len(tokens) == 0 {
			return
		}
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewDispenser(tokens)); err != nil {
			return
		}
		b, err := json.Marshal(h)
		if err != nil {
			t.Fatalf("accepted handler does not marshal: %v", err)
		}
		var back Handler
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("accepted handler's JSON does not decode: %v\n%s", err, b)
		}
		if !reflect.DeepEqual(normalize(h), normalize(back)) {
			t.Fatalf("JSON round trip changed the handler:\n%s", b)
		}
		if hasPendingValue(h) || len(h.Certificates) > 0 {
			return
		}
		if _, err := verifiers.New(h.Provider, h.shapeConfig()); err != nil {
			t.Fatalf("accepted while parsing but refused at load: %v\ninput: %q", err, input)
		}
	})
}

// normalize empties slices that JSON omits, so nil and empty compare equal.
func normalize(h Handler) Handler {
	b, _ := json.Marshal(h)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	out, _ := json.Marshal(m)
	var n Handler
	_ = json.Unmarshal(out, &n)
	return n
}

// hasPendingValue reports whether any value would be resolved at load.
func hasPendingValue(h Handler) bool {
	vals := append([]string{h.URL, h.Username, h.Password, h.VerifyToken, h.WebhookID}, h.Secrets...)
	vals = append(vals, h.TopicARNs...)
	vals = append(vals, h.CustomerHandles...)
	for _, k := range h.PublicKeys {
		vals = append(vals, k.Key)
	}
	for _, v := range vals {
		if hasPlaceholder(v) {
			return true
		}
	}
	return false
}
