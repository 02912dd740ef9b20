package webhookverify

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// Attestation keys of the root tests: a whsec_ secret and a whsk_ key (with
// its whpk_ public key) from fixed bytes.
var (
	attestA    = "whsec_" + base64.StdEncoding.EncodeToString([]byte("gate-attestation-secret-32-bytes"))
	attestPriv = ed25519.NewKeyFromSeed([]byte("gate-attestation-ed25519-seed-32"))
	attestK    = "whsk_" + base64.StdEncoding.EncodeToString(attestPriv)
	attestKPub = "whpk_" + base64.StdEncoding.EncodeToString(attestPriv.Public().(ed25519.PublicKey))
)

// TestAttestID: the webhook-id is the provider and the replay key
// material, verbatim when it is short and of the id charset, else hashed;
// different materials never give one id, and every id is one the
// Attester signs (no '.', the Standard Webhooks delimiter).
func TestAttestID(t *testing.T) {
	hashed := func(m string) string {
		sum := sha256.Sum256([]byte(m))
		return "github:sha256:" + hex.EncodeToString(sum[:])
	}
	long := "id:" + strings.Repeat("x", maxVerbatimAttestID)
	cases := []struct{ material, want string }{
		{"id:msg_2Lh9XZq", "github:id:msg_2Lh9XZq"},
		{"event:evt_1", "github:event:evt_1"},
		{"event-number:42", "github:event-number:42"},
		{"sig:" + strings.Repeat("ab", 32), "github:sig:" + strings.Repeat("ab", 32)},
		{"event:evt.1", hashed("event:evt.1")},
		{"event:a b", hashed("event:a b")},
		{"event:caf\u00e9", hashed("event:caf\u00e9")},
		{"id:a/b=", hashed("id:a/b=")},
		{long, hashed(long)},
		{long[:maxVerbatimAttestID], "github:" + long[:maxVerbatimAttestID]},
		// A material that looks like a hashed id is hashed itself.
		{hashed("event:evt.1")[len("github:"):], hashed(hashed("event:evt.1")[len("github:"):])},
	}
	seen := map[string]string{}
	for _, c := range cases {
		got := attestIDOf("github", []byte(c.material))
		if got != c.want {
			t.Errorf("material %q: id %q, want %q", c.material, got, c.want)
		}
		if !verifiers.ValidAttestID(got) {
			t.Errorf("material %q: id %q is not one the Attester signs", c.material, got)
		}
		if prev, dup := seen[got]; dup {
			t.Errorf("materials %q and %q share the id %q", prev, c.material, got)
		}
		seen[got] = c.material
	}

	// A batch is bound to all its items, in order.
	h := &Handler{Provider: "adyen"}
	ids := map[string]bool{}
	for _, items := range [][][]byte{{[]byte("a"), []byte("b")}, {[]byte("b"), []byte("a")}, {[]byte("ab")}, {[]byte("a"), []byte("b"), []byte("c")}} {
		id, err := h.attestID(nil, &verifiers.Result{Items: items})
		if err != nil || !strings.HasPrefix(id, "adyen:sha256:") || ids[id] {
			t.Errorf("batch %q: id %q, %v (want a new adyen:sha256: id)", items, id, err)
		}
		ids[id] = true
	}
}

// TestRenewAttestation: webhook_queue's renewal signs a stored attestation
// of its own key anew, at the attempt's time and with the same id, and
// drops every Standard Webhooks header it did not sign.
func TestRenewAttestation(t *testing.T) {
	a, err := verifiers.NewAttester([]string{attestA})
	if err != nil {
		t.Fatal(err)
	}
	other, err := verifiers.NewAttester([]string{"whsec_" + base64.StdEncoding.EncodeToString([]byte("not-the-queue-key-of-32-bytes-!!"))})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"user.created"}`)
	id := "standard_webhooks:id:msg_1"
	stored := func(by *verifiers.Attester, id string, at time.Time) http.Header {
		ts, sig, err := by.Sign(id, at, body)
		if err != nil {
			t.Fatal(err)
		}
		return http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {sig},
			"Svix-Id": {"msg_1"}, "X-Kept": {"yes"}}
	}
	hourAgo := time.Now().Add(-time.Hour)
	for _, c := range []struct {
		name    string
		header  http.Header
		renewed bool
	}{
		{"own attestation, an hour old", stored(a, id, hourAgo), true},
		{"another key's attestation", stored(other, id, hourAgo), false},
		{"own signature, id changed", func() http.Header {
			h := stored(a, id, hourAgo)
			h.Set("Webhook-Id", "standard_webhooks:id:msg_2")
			return h
		}(), false},
		{"no attestation", http.Header{"Svix-Signature": {"v1,x"}, "X-Kept": {"yes"}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got http.Header
			next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				got = r.Header.Clone()
				return nil
			})
			r := httptest.NewRequest("POST", "/hook", strings.NewReader(string(body)))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			r.Header = c.header
			wantID := c.header.Get("Webhook-Id")
			if err := renewAttestation(a, next).ServeHTTP(httptest.NewRecorder(), r); err != nil {
				t.Fatal(err)
			}
			if got.Get("X-Kept") != "yes" || got.Get("Svix-Id") != "" || got.Get("Svix-Signature") != "" {
				t.Errorf("headers passed on: %v", got)
			}
			if !c.renewed {
				for _, n := range []string{"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"} {
					if got.Get(n) != "" {
						t.Errorf("%s = %q passed on, want it removed", n, got.Get(n))
					}
				}
				return
			}
			ts, _ := strconv.ParseInt(got.Get("Webhook-Timestamp"), 10, 64)
			if got.Get("Webhook-Id") != wantID || time.Since(time.Unix(ts, 0)) > 5*time.Second {
				t.Errorf("renewed id %q at %v, want %q now", got.Get("Webhook-Id"), time.Unix(ts, 0), wantID)
			}
			if !a.Signed(got.Get("Webhook-Id"), got.Get("Webhook-Timestamp"), got.Get("Webhook-Signature"), body) {
				t.Error("the renewed signature does not verify")
			}
		})
	}
	// Without attest on the queue the stored headers go out as stored.
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	if renewAttestation(nil, next) == nil {
		t.Error("renewAttestation(nil) dropped the deliver handlers")
	}
}

// TestUnmarshalAttest: `attest` in webhook_verify (repeatable) and
// webhook_queue; a literal key of the wrong kind is refused with its line,
// a placeholder is left for provision.
func TestUnmarshalAttest(t *testing.T) {
	for _, c := range []struct {
		name, input string
		want        []string
		err         string
	}{
		{"secret and key", "webhook_verify github {\n\tsecret s\n\tattest " + attestA + " " + attestK + "\n}", []string{attestA, attestK}, ""},
		{"repeated", "webhook_verify github {\n\tsecret s\n\tattest " + attestA + "\n\tattest {env.ATTEST_KEY}\n}", []string{attestA, "{env.ATTEST_KEY}"}, ""},
		{"public key", "webhook_verify github {\n\tsecret s\n\tattest " + attestKPub + "\n}", nil, "attest: key 1 is a whpk_ public key: the gate signs with the whsk_ private key, the app verifies with the whpk_ one, at Testfile:3"},
		{"second key wrong", "webhook_verify github {\n\tsecret s\n\tattest " + attestA + " c2VjcmV0\n}", nil, "attest: key 2 is neither a whsec_ secret nor a whsk_ key"},
		{"no key", "webhook_verify github {\n\tsecret s\n\tattest\n}", nil, "Testfile:3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := new(Handler)
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(c.input))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				if strings.Contains(err.Error(), attestKPub[5:]) {
					t.Errorf("the error shows the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(h.Attest, " ") != strings.Join(c.want, " ") {
				t.Errorf("attest %q, want %q", h.Attest, c.want)
			}
		})
	}
	j, err := adaptQueue(t, "\t\twebhook_queue {\n\t\t\tattest "+attestA+"\n\t\t\tdeliver {\n\t\t\t\trespond 200\n\t\t\t}\n\t\t}")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := j["attest"].([]any); len(got) != 1 || got[0] != attestA {
		t.Errorf("webhook_queue attest = %v, want [%s]", j["attest"], attestA)
	}
}

// TestProvisionAttest: keys resolved from placeholders at provision, an
// empty or wrong one refused without its value.
func TestProvisionAttest(t *testing.T) {
	t.Setenv("WV_TEST_ATTEST_KEY", attestK)
	t.Setenv("WV_TEST_ATTEST_PUB", attestKPub)
	for _, c := range []struct {
		keys []string
		err  string
	}{
		{[]string{"{env.WV_TEST_ATTEST_KEY}", attestA}, ""},
		{[]string{"{env.WV_TEST_ATTEST_UNSET}"}, "attest: key 1: evaluated placeholder {env.WV_TEST_ATTEST_UNSET} is empty"},
		{[]string{attestA, "{env.WV_TEST_ATTEST_PUB}"}, "attest: key 2 is a whpk_ public key"},
		{[]string{"{enx.WV_TEST_ATTEST_KEY}"}, "attest: key 1 contains an unknown placeholder"},
	} {
		h := &Handler{Provider: "github", Attest: c.keys}
		err := h.provisionAttest()
		if c.err == "" {
			if err != nil || h.attest == nil {
				t.Errorf("%q: %v", c.keys, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), attestKPub[5:]) {
			t.Errorf("%q: error %v, want %q (without the key)", c.keys, err, c.err)
		}
	}
}

// TestAttestIDTenants: with secret_from, two tenants' deliveries that share
// their key material (a reused signed id) get different webhook-ids, and a
// route without secret_from keeps the plain id.
func TestAttestIDTenants(t *testing.T) {
	res := &verifiers.Result{SignedID: "msg_1"}
	idFor := func(h *Handler, tenant string) string {
		t.Helper()
		repl := caddy.NewReplacer()
		repl.Set(tenantPlaceholder, tenant)
		r := httptest.NewRequest(http.MethodPost, "/hooks/acme", nil)
		r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
		id, err := h.attestID(r, res)
		if err != nil {
			t.Fatal(err)
		}
		if !verifiers.ValidAttestID(id) {
			t.Fatalf("id %q is not one the Attester signs", id)
		}
		return id
	}
	plain := &Handler{Provider: "standard_webhooks"}
	if got, want := idFor(plain, "acme"), "standard_webhooks:id:msg_1"; got != want {
		t.Errorf("without secret_from: id %q, want %q", got, want)
	}
	multi := &Handler{Provider: "standard_webhooks", SecretFrom: &SecretSource{}}
	a, b := idFor(multi, "acme"), idFor(multi, "globex")
	if a == b {
		t.Errorf("tenants acme and globex share the webhook-id %q", a)
	}
	if a == idFor(plain, "") || a != idFor(multi, "acme") {
		t.Errorf("tenant id %q: not bound to the tenant, or not stable", a)
	}
}
