package webhookverify

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// Attestation (`attest`): the gate signs each verified request it passes
// on in the Standard Webhooks format, so that the app checks with any
// Standard Webhooks library that the request came through the gate and was
// verified there. webhook_queue renews the signature at each delivery
// attempt (renewAttestation), so the app's tolerance measures the last hop
// only, not the time an entry spent in the queue.

// attestHeaders are the Standard Webhooks header names, under both brands
// (Svix's libraries read the svix-* set first when it is present). On a
// route with attest, the gate owns them: whatever the client or provider
// sent under these names is removed from every request passed on, and a
// verified one gets the gate's webhook-id, webhook-timestamp and
// webhook-signature.
var attestHeaders = []string{
	"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature",
	"Svix-Id", "Svix-Timestamp", "Svix-Signature",
}

// maxVerbatimAttestID is the longest replay key material used verbatim in
// a webhook-id; a longer one is hashed.
const maxVerbatimAttestID = 128

// newAttester resolves the keys' placeholders ({env.X}, {file.X}) and
// parses them; nil, nil when there is none.
func newAttester(keys []string) (*verifiers.Attester, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	repl := caddy.NewReplacer()
	resolved := make([]string, len(keys))
	for i, k := range keys {
		v, err := resolveSecret(repl, "key", i, k)
		if err != nil {
			return nil, fmt.Errorf("attest: %v", err)
		}
		resolved[i] = strings.TrimSpace(v)
	}
	a, err := verifiers.NewAttester(resolved)
	if err != nil {
		return nil, fmt.Errorf("attest: %v", err)
	}
	return a, nil
}

// provisionAttest parses the attest keys.
func (h *Handler) provisionAttest() error {
	a, err := newAttester(h.Attest)
	if err != nil || a == nil {
		return err
	}
	if !verifiers.ValidAttestID(h.Provider) || strings.Contains(h.Provider, ":") {
		return fmt.Errorf("attest: provider name %q cannot start a webhook-id", h.Provider)
	}
	h.attest = a
	return nil
}

// dropAttestation removes the Standard Webhooks headers from a request
// passed on without the gate's attestation (a failed one in log_only
// mode), on a route with attest.
func (h *Handler) dropAttestation(r *http.Request) {
	if h.attest != nil {
		dropAttestHeaders(r.Header)
	}
}

// dropAttestHeaders removes attestHeaders from hdr.
func dropAttestHeaders(hdr http.Header) {
	for _, name := range attestHeaders {
		hdr.Del(name)
	}
}

// attestRequest replaces the request's Standard Webhooks headers with the
// gate's signature of the verified delivery: webhook-id (the provider and
// the delivery, see attestID), webhook-timestamp (now) and
// webhook-signature over the exact body passed on. A delivery that gives
// nothing to bind the id to is an error (it must not reach the app
// unattested as though verified).
func (h *Handler) attestRequest(r *http.Request, res *verifiers.Result, body []byte) error {
	if h.attest == nil {
		return nil
	}
	dropAttestHeaders(r.Header)
	id, err := h.attestID(r, res)
	if err != nil {
		return err
	}
	return setAttestation(r.Header, h.attest, id, body)
}

// setAttestation signs body under id at the current time into hdr.
func setAttestation(hdr http.Header, a *verifiers.Attester, id string, body []byte) error {
	ts, sig, err := a.Sign(id, time.Now(), body)
	if err != nil {
		return fmt.Errorf("attest: %v", err)
	}
	hdr.Set("Webhook-Id", id)
	hdr.Set("Webhook-Timestamp", ts)
	hdr.Set("Webhook-Signature", sig)
	return nil
}

// attestID is the webhook-id of a verified delivery: the provider's name,
// ':', and the delivery's replay key material (the gate's notion of one
// delivery: "id:" and a signed delivery id, "event:" and the body's event
// id, "sig:" and a hash of the signature; see replayMaterial), verbatim
// when it is at most maxVerbatimAttestID bytes of [A-Za-z0-9_:-], else
// "sha256:" and the hex SHA-256 of it. Every verbatim material starts with
// its kind, never "sha256:", so two deliveries with different replay keys
// never share a webhook-id, and a provider's retry of one delivery keeps
// its webhook-id (where the replay key is a delivery or event id), so the
// app can deduplicate on it. A batch (Result.Items) is bound to all its
// items.
func (h *Handler) attestID(r *http.Request, res *verifiers.Result) (string, error) {
	if len(res.Items) > 0 {
		hs := sha256.New()
		hs.Write([]byte("batch\x00"))
		var n [8]byte
		for _, it := range res.Items {
			binary.BigEndian.PutUint64(n[:], uint64(len(it)))
			hs.Write(n[:])
			hs.Write(it)
		}
		return h.Provider + ":sha256:" + hex.EncodeToString(hs.Sum(nil)), nil
	}
	m, err := h.replayMaterial(r, res)
	if err != nil {
		return "", err
	}
	if len(m) == 0 {
		return "", errors.New("attest: the delivery has no signed id or signature to bind the attestation to")
	}
	if t := h.attestTenant(r); t != "" {
		// Two tenants' deliveries can share key material (one secret and
		// body, or a reused signed id): the tenant is bound in the id too
		// (hashed, since a tenant key may hold '.' or '/').
		m = append([]byte("tenant\x00"+t+"\x00"), m...)
	}
	return attestIDOf(h.Provider, m), nil
}

// attestTenant is the request's tenant with secret_from, else "".
func (h *Handler) attestTenant(r *http.Request) string {
	if h.SecretFrom == nil {
		return ""
	}
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return ""
	}
	t, _ := repl.GetString(tenantPlaceholder)
	return t
}

// attestIDOf is provider + ":" + the material, or its hash (see attestID).
func attestIDOf(provider string, m []byte) string {
	s := string(m)
	if len(s) <= maxVerbatimAttestID && !strings.HasPrefix(s, "sha256:") && verifiers.ValidAttestID(s) {
		return provider + ":" + s
	}
	sum := sha256.Sum256(m)
	return provider + ":sha256:" + hex.EncodeToString(sum[:])
}

// renewAttestation wraps webhook_queue's deliver handlers: each attempt's
// Standard Webhooks headers are removed, and when they were a signature of
// the stored body by one of the queue's attest keys (the gate's, made when
// it verified the request), signed again with the same webhook-id at the
// attempt's time. An entry the gate did not attest (webhook_verify without
// attest, a failed request in log_only mode, no webhook_verify at all) is
// delivered without them. With a nil Attester, next is returned as it is.
func renewAttestation(a *verifiers.Attester, next caddyhttp.Handler) caddyhttp.Handler {
	if a == nil {
		return next
	}
	return caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		id, ts, sig := r.Header.Get("Webhook-Id"), r.Header.Get("Webhook-Timestamp"), r.Header.Get("Webhook-Signature")
		dropAttestHeaders(r.Header)
		if id == "" || r.GetBody == nil {
			return next.ServeHTTP(w, r)
		}
		rc, err := r.GetBody()
		if err != nil {
			return fmt.Errorf("attest: stored body: %v", err)
		}
		// The stored body, already bounded by the queue's limits.
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("attest: stored body: %v", err)
		}
		if a.Signed(id, ts, sig, body) {
			if err := setAttestation(r.Header, a, id, body); err != nil {
				return err
			}
		}
		return next.ServeHTTP(w, r)
	})
}

// unmarshalAttest reads `attest <key> [<key>...]`. A key without a
// placeholder is checked here, so a wrong one is refused with file and
// line (its value is never echoed).
func unmarshalAttest(d *caddyfile.Dispenser) ([]string, error) {
	keys := d.RemainingArgs()
	if len(keys) == 0 {
		return nil, d.ArgErr()
	}
	for i, k := range keys {
		if hasPlaceholder(k) {
			continue
		}
		if err := verifiers.CheckAttestKey(k); err != nil {
			return nil, d.Errf("attest: key %d %v", i+1, err)
		}
	}
	return keys, nil
}
