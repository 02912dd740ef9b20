package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// The client side: each provider's signer, and the bodies it signs.

// signer holds a provider's configuration and signs deliveries.
type signer interface {
	// config is the webhook_verify handler's JSON fields.
	config() map[string]any
	// sign adds the provider's headers for body, sent at now.
	sign(h http.Header, body []byte, id string, now time.Time)
}

// gateHandler is the webhook_verify handler of s: its config with the
// handler's name.
func gateHandler(s signer) map[string]any {
	gate := s.config()
	gate["handler"] = "webhook_verify"
	return gate
}

// gate checks o and returns its provider's signer and gate handler, with
// replay off unless o.replay.
func (o options) gate() (signer, map[string]any, error) {
	if err := o.check(); err != nil {
		return nil, nil, err
	}
	s, err := signers[o.provider]()
	if err != nil {
		return nil, nil, err
	}
	gate := gateHandler(s)
	if !o.replay {
		gate["replay"] = map[string]any{"disabled": true}
	}
	return s, gate, nil
}

var signers = map[string]func() (signer, error){
	"github":            func() (signer, error) { return githubSigner{}, nil },
	"stripe":            func() (signer, error) { return stripeSigner{}, nil },
	"slack":             func() (signer, error) { return slackSigner{}, nil },
	"standard_webhooks": func() (signer, error) { return newSWSigner() },
	"sendgrid":          func() (signer, error) { return newSendGridSigner() },
}

func providerNames() []string {
	var names []string
	for n := range signers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

const benchSecret = "bench-secret-not-for-production"

func hmacHex(key []byte, parts ...[]byte) string {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

type githubSigner struct{}

func (githubSigner) config() map[string]any {
	return map[string]any{"provider": "github", "secrets": []string{benchSecret}}
}

func (githubSigner) sign(h http.Header, body []byte, id string, _ time.Time) {
	h.Set("X-GitHub-Event", "push")
	h.Set("X-GitHub-Delivery", id)
	h.Set("X-Hub-Signature-256", "sha256="+hmacHex([]byte(benchSecret), body))
}

type stripeSigner struct{}

func (stripeSigner) config() map[string]any {
	return map[string]any{"provider": "stripe", "secrets": []string{benchSecret}}
}

func (stripeSigner) sign(h http.Header, body []byte, _ string, now time.Time) {
	t := strconv.FormatInt(now.Unix(), 10)
	h.Set("Stripe-Signature", "t="+t+",v1="+hmacHex([]byte(benchSecret), []byte(t+"."), body))
}

type slackSigner struct{}

func (slackSigner) config() map[string]any {
	return map[string]any{"provider": "slack", "secrets": []string{benchSecret}}
}

func (slackSigner) sign(h http.Header, body []byte, _ string, now time.Time) {
	t := strconv.FormatInt(now.Unix(), 10)
	h.Set("X-Slack-Request-Timestamp", t)
	h.Set("X-Slack-Signature", "v0="+hmacHex([]byte(benchSecret), []byte("v0:"+t+":"), body))
}

type swSigner struct{ key []byte }

func newSWSigner() (signer, error) {
	key := make([]byte, 24)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return swSigner{key}, nil
}

func (s swSigner) config() map[string]any {
	return map[string]any{"provider": "standard_webhooks", "secrets": []string{"whsec_" + base64.StdEncoding.EncodeToString(s.key)}}
}

func (s swSigner) sign(h http.Header, body []byte, id string, now time.Time) {
	t := strconv.FormatInt(now.Unix(), 10)
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(id + "." + t + "."))
	m.Write(body)
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", t)
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
}

type sendgridSigner struct{ key *ecdsa.PrivateKey }

func newSendGridSigner() (signer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return sendgridSigner{k}, nil
}

func (s sendgridSigner) config() map[string]any {
	spki, _ := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	return map[string]any{"provider": "sendgrid", "public_keys": []map[string]string{{"key": base64.StdEncoding.EncodeToString(spki)}}}
}

func (s sendgridSigner) sign(h http.Header, body []byte, _ string, now time.Time) {
	t := strconv.FormatInt(now.Unix(), 10)
	d := sha256.Sum256(append([]byte(t), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, d[:])
	if err != nil {
		panic(err) // crypto/rand failed
	}
	h.Set("X-Twilio-Email-Event-Webhook-Timestamp", t)
	h.Set("X-Twilio-Email-Event-Webhook-Signature", base64.StdEncoding.EncodeToString(sig))
}

// bodyFor returns a JSON body of exactly size bytes that carries the
// delivery id, so every delivery is distinct.
func bodyFor(id string, size int) []byte {
	prefix := `{"id":"` + id + `","type":"bench.event","data":{"text":"`
	const suffix = `"}}`
	b := make([]byte, 0, size)
	b = append(b, prefix...)
	for n := size - len(prefix) - len(suffix); n > 0; n-- {
		b = append(b, 'x')
	}
	return append(b, suffix...)
}
