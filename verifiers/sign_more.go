package verifiers

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"time"
)

// Signers of twitch, discord, telnyx, adyen and paypal. Each mirrors its verifier
// (twitch.go, discord.go, telnyx.go, adyen.go) and the documentation cited
// there.

func init() {
	RegisterSigner("twitch", signTwitch)
	RegisterSigner("discord", signDiscord)
	RegisterSigner("telnyx", signTelnyx)
	RegisterSigner("adyen", signAdyen)
	RegisterSigner("paypal", signPayPal)
}

// signTwitch: Twitch-Eventsub-Message-Signature: sha256=<hex
// HMAC-SHA256(secret, id ‖ timestamp ‖ body)>, with the RFC 3339 timestamp
// (UTC, fractional seconds as needed) and the id (r.ID or a random UUID)
// in their headers, and Twitch-Eventsub-Message-Type the kind of the
// body, as the verifier reads it (an event: notification; a challenge:
// webhook_callback_verification; a revoked subscription: revocation).
func signTwitch(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	id := r.ID
	if id == "" {
		id = randomUUID()
	}
	if !twitchValidID(id) {
		return nil, fmt.Errorf("id must be 1 to 128 letters, digits, '-', '_' or '.'")
	}
	kind, _, err := twitchKind(r.Body)
	if err != nil {
		return nil, fmt.Errorf("the body must be an EventSub message: %w", err)
	}
	ts := r.Now.UTC().Format(time.RFC3339Nano)
	mac := MAC(sha256.New, key, []byte(id), []byte(ts), r.Body)
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set("Twitch-Eventsub-Message-Id", id)
	s.Header.Set("Twitch-Eventsub-Message-Timestamp", ts)
	s.Header.Set("Twitch-Eventsub-Message-Signature", "sha256="+hex.EncodeToString(mac))
	s.Header.Set("Twitch-Eventsub-Message-Type", kind)
	return s, nil
}

// signDiscord: X-Signature-Ed25519: hex Ed25519(timestamp ‖ body), with
// X-Signature-Timestamp in Unix seconds.
func signDiscord(_ string, r SignRequest) (*Signed, error) {
	k, err := parseEd25519Private(r.PrivateKey)
	if err != nil {
		return nil, err
	}
	ts := unixString(r)
	sig := ed25519.Sign(k, append([]byte(ts), r.Body...))
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set("X-Signature-Ed25519", hex.EncodeToString(sig))
	s.Header.Set("X-Signature-Timestamp", ts)
	return s, nil
}

// signTelnyx: telnyx-signature-ed25519: base64 Ed25519(timestamp|body),
// with telnyx-timestamp in Unix seconds.
func signTelnyx(_ string, r SignRequest) (*Signed, error) {
	k, err := parseEd25519Private(r.PrivateKey)
	if err != nil {
		return nil, err
	}
	ts := unixString(r)
	sig := ed25519.Sign(k, append([]byte(ts+"|"), r.Body...))
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set("Telnyx-Signature-Ed25519", base64.StdEncoding.EncodeToString(sig))
	s.Header.Set("Telnyx-Timestamp", ts)
	return s, nil
}

// adyenPlaceholder stands in for the signatures while the signed strings
// are read back with the verifier's own parser.
var adyenPlaceholder = base64.StdEncoding.EncodeToString(make([]byte, sha256.Size))

// signAdyen: the body is an Adyen notification ({"live": ...,
// "notificationItems": [{"NotificationRequestItem": {...}}, ...]}); each
// item gets additionalData.hmacSignature, base64 HMAC-SHA256 (the hex
// secret) of its eight fields, read back by the verifier's parser so that
// the signer signs exactly what the verifier checks. The body is
// re-encoded (members sorted, numbers kept as written).
func signAdyen(_ string, r SignRequest) (*Signed, error) {
	if r.Secret == "" {
		return nil, fmt.Errorf("needs a secret (the HMAC key, hex)")
	}
	key, err := hex.DecodeString(strings.TrimSpace(r.Secret))
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("secret is not a hex HMAC key")
	}
	var top map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil || top == nil {
		return nil, fmt.Errorf("body is not an adyen notification (a json object)")
	}
	if dec.More() {
		return nil, fmt.Errorf("body has data after the json object")
	}
	list, _ := top["notificationItems"].([]any)
	if len(list) == 0 {
		return nil, fmt.Errorf("body has no notificationItems array")
	}
	ads := make([]map[string]any, len(list))
	for i, el := range list {
		wrap, _ := el.(map[string]any)
		item, _ := wrap["NotificationRequestItem"].(map[string]any)
		if item == nil {
			return nil, fmt.Errorf("notification item %d has no NotificationRequestItem object", i+1)
		}
		ad, _ := item["additionalData"].(map[string]any)
		if ad == nil {
			if v, ok := item["additionalData"]; ok && v != nil {
				return nil, fmt.Errorf("notification item %d: additionalData is not an object", i+1)
			}
			ad = map[string]any{}
			item["additionalData"] = ad
		}
		ad["hmacSignature"] = adyenPlaceholder
		ads[i] = ad
	}
	body, err := adyenEncode(top)
	if err != nil {
		return nil, err
	}
	items, err := adyenParse(body)
	if err != nil {
		return nil, err
	}
	if len(items) != len(ads) {
		return nil, fmt.Errorf("notification items do not read back")
	}
	for i, it := range items {
		ads[i]["hmacSignature"] = base64.StdEncoding.EncodeToString(MAC(sha256.New, key, []byte(it.signed)))
	}
	if body, err = adyenEncode(top); err != nil {
		return nil, err
	}
	s := newSigned(body, contentType(r, "application/json"))
	s.BodyRewritten = !bytes.Equal(body, r.Body)
	return s, nil
}

// adyenEncode is json.Marshal without HTML escaping or a trailing newline.
func adyenEncode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("body does not re-encode")
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// paypalSignCertURL is the PAYPAL-CERT-URL the signer sends: a well-formed
// PayPal certificate URL, never fetched by a gate that pins the
// certificate (keygen's), which a signed delivery for local testing needs.
const paypalSignCertURL = "https://api.paypal.com/v1/notifications/certs/CERT-caddy-webhook-sign"

// signPayPal: PAYPAL-TRANSMISSION-SIG: base64 SHA256withRSA (the RSA
// private key) over transmission id|time|webhook id|CRC32(body), with
// r.KeyID the webhook id (required), r.ID the transmission id (random
// UUID by default) and the time in RFC 3339 (UTC, whole seconds).
func signPayPal(_ string, r SignRequest) (*Signed, error) {
	webhookID := strings.TrimSpace(r.KeyID)
	if webhookID == "" {
		return nil, fmt.Errorf("needs the webhook id (--key-id, the gate's webhook_id)")
	}
	if !paypalID.MatchString(webhookID) {
		return nil, fmt.Errorf("webhook id must be 1 to 64 letters, digits or '-'")
	}
	id := r.ID
	if id == "" {
		id = randomUUID()
	}
	if !paypalID.MatchString(id) {
		return nil, fmt.Errorf("id must be 1 to 64 letters, digits or '-'")
	}
	k, err := parsePrivateKey(r.PrivateKey)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok || rk.N.BitLen() < 2048 || rk.N.BitLen() > 4096 {
		return nil, fmt.Errorf("private key is not an RSA key of 2048 to 4096 bits")
	}
	ts := r.Now.UTC().Format(time.RFC3339)
	signed := id + "|" + ts + "|" + webhookID + "|" + strconv.FormatUint(uint64(crc32.ChecksumIEEE(r.Body)), 10)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, rk, crypto.SHA256, digest[:])
	if err != nil {
		return nil, fmt.Errorf("rsa signing failed")
	}
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set("Paypal-Transmission-Id", id)
	s.Header.Set("Paypal-Transmission-Time", ts)
	s.Header.Set("Paypal-Transmission-Sig", base64.StdEncoding.EncodeToString(sig))
	s.Header.Set("Paypal-Cert-Url", paypalSignCertURL)
	s.Header.Set("Paypal-Auth-Algo", "SHA256withRSA")
	return s, nil
}
