package verifiers

// MailChannels Email API delivery-event webhooks: HTTP Message Signatures
// (RFC 9421) with Ed25519 over the Content-Digest (RFC 9530) of the body.
//
//	Content-Digest: sha-256=:<base64 SHA-256(body)>:
//	Signature-Input: sig_1=("content-digest");created=<unix s>;alg="ed25519";keyid="<id>"
//	Signature: sig_1=:<base64 Ed25519 signature>:
//
// Verification:
//  1. Signature-Input, Signature and Content-Digest are parsed as RFC 8941
//     dictionaries (internal/sfv, internal/httpsig); each must be sent once, without duplicated
//     keys, and the labels of Signature-Input and Signature must be the
//     same set.
//  2. Content-Digest is recomputed from the raw body: every sha-256 and
//     sha-512 member must match, at least one must be present; other
//     algorithms are ignored.
//  3. The candidate signatures are the labels whose covered components
//     include "content-digest" (so the body is bound) and whose alg is
//     "ed25519" or absent; other labels are ignored, and none at all is
//     ErrMalformed.
//  4. Per candidate: created is checked against the tolerance (and
//     expires, if present), the RFC 9421 signature base is rebuilt from the
//     covered components, with @signature-params taken verbatim from the
//     Signature-Input member, and the Ed25519 signature is checked with the
//     key for its keyid. Any one valid candidate accepts the request.
//
// Keys: configured public keys (base64 SPKI, PEM, or raw 32-byte base64),
// each optionally bound to a keyid (KeyID "" applies to every keyid). With
// no configured key, the key is fetched from MailChannels' public-key
// endpoint, once per keyid, and cached process-wide; see mcKeyFetcher.
//
// Sources: https://docs.mailchannels.net/email-api/advanced/delivery-events ;
// github:mailchannels/mailchannels-openclaw mailchannels-email-api/SKILL.md ;
// github:Yizack/mailchannels src/utils/webhooks-validator.ts ; RFC 9421 ;
// RFC 9530 ; RFC 8941.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/httpsig"
	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/sfv"
)

const (
	mcSignatureInputHeader = "Signature-Input"
	mcSignatureHeader      = "Signature"
	mcDigestHeader         = "Content-Digest"

	mcMaxSignatures = 32  // labels per Signature / Signature-Input
	mcMaxComponents = 32  // covered components per signature
	mcMaxDigests    = 16  // members of Content-Digest
	mcMaxKeyID      = 256 // bytes
)

func init() {
	Register("mailchannels", newMailChannels)
	RegisterSigner("mailchannels", signMailChannels)
	RegisterKeygen("mailchannels", keygenMailChannels)
}

type mcConfiguredKey struct {
	id  string
	key ed25519.PublicKey
}

type mailchannelsVerifier struct {
	cfg   Config
	keys  []mcConfiguredKey
	fetch *mcKeyFetcher // nil when keys are configured
}

func newMailChannels(c Config) (Verifier, error) {
	if err := c.Allow("public_key", "tolerance", "customer_handle"); err != nil {
		return nil, err
	}
	v := &mailchannelsVerifier{cfg: c}
	for i, pk := range c.PublicKeys {
		k, err := mcParseKey(pk.Key)
		if err != nil {
			return nil, fmt.Errorf("provider %s: public key %d: %v", c.Provider, i+1, err)
		}
		if len(pk.KeyID) > mcMaxKeyID {
			return nil, fmt.Errorf("provider %s: public key %d: key id too long", c.Provider, i+1)
		}
		v.keys = append(v.keys, mcConfiguredKey{id: pk.KeyID, key: k})
	}
	if len(v.keys) == 0 {
		client := c.HTTPClient
		if client == nil {
			client = mcDefaultClient
		}
		v.fetch = mcSharedFetcher(client, mcKeyEndpoint)
	}
	return v, nil
}

func (v *mailchannelsVerifier) HasTimestamp() bool { return true }

// mcCandidate is one signature this verifier can check.
type mcCandidate struct {
	components []string
	params     sfv.Item // the Signature-Input member (for its parameters)
	raw        string   // the member value verbatim: @signature-params
	sig        []byte
}

// checkCustomers enforces the customer_handle allow-list on a verified
// body: MailChannels signs every customer's events with the same keys and
// does not sign the target URL, so without it any MailChannels customer
// could send its own signed events here.
func (v *mailchannelsVerifier) checkCustomers(body []byte) error {
	if len(v.cfg.CustomerHandles) == 0 {
		return nil
	}
	// Each event is read with jsonMembers, not encoding/json: a second
	// customer_handle, or one in another spelling ("Customer_Handle",
	// "cuſtomer_handle") that a case-folding reader takes for it, would let
	// the upstream see another handle than the one checked.
	dec := json.NewDecoder(bytes.NewReader(body))
	bad := fmt.Errorf("%w: body is not a JSON array of events", ErrMalformed)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return bad
	}
	allowed := true
	n := 0
	for ; dec.More(); n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return bad
		}
		ev, err := jsonMembers(raw, true, "customer_handle")
		if err != nil {
			return err
		}
		var h string
		if c := ev["customer_handle"]; len(c) == 0 || c[0] != '"' || json.Unmarshal(c, &h) != nil ||
			!slices.Contains(v.cfg.CustomerHandles, h) {
			allowed = false // every event is still read for ambiguity
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim(']') || n == 0 {
		return bad
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return bad
	}
	if !allowed {
		return fmt.Errorf("%w: customer_handle not allowed", ErrForbidden)
	}
	return nil
}

func (v *mailchannelsVerifier) Verify(r *Request) (*Result, error) {
	inputHeader, err := Header(r.Header, mcSignatureInputHeader)
	if err != nil {
		return nil, err
	}
	sigHeader, err := Header(r.Header, mcSignatureHeader)
	if err != nil {
		return nil, err
	}
	digestHeader, err := Header(r.Header, mcDigestHeader)
	if err != nil {
		return nil, err
	}
	inputs, err := mcParseDict(inputHeader, mcSignatureInputHeader, mcMaxSignatures)
	if err != nil {
		return nil, err
	}
	sigs, err := mcParseDict(sigHeader, mcSignatureHeader, mcMaxSignatures)
	if err != nil {
		return nil, err
	}
	if len(inputs.Members) != len(sigs.Members) {
		return nil, fmt.Errorf("%w: labels of %s and %s differ", ErrMalformed, mcSignatureInputHeader, mcSignatureHeader)
	}
	var cands []mcCandidate
	for i := range inputs.Members {
		in := &inputs.Members[i]
		sm, ok := sigs.Get(in.Key)
		if !ok {
			return nil, fmt.Errorf("%w: labels of %s and %s differ", ErrMalformed, mcSignatureInputHeader, mcSignatureHeader)
		}
		c, ok, err := mcCandidateOf(in, sm)
		if err != nil {
			return nil, err
		}
		if ok {
			cands = append(cands, c)
		}
	}

	// The body must match Content-Digest before any signature is looked at
	// (and so before any key is fetched).
	if err := mcCheckDigest(digestHeader, r.Body); err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w: no ed25519 signature covering content-digest", ErrMalformed)
	}

	var best error
	for _, c := range cands {
		res, err := v.verifyOne(r, c)
		if err == nil {
			if err := v.checkCustomers(r.Body); err != nil {
				return nil, err
			}
			return res, nil
		}
		if best == nil || mcErrRank(err) > mcErrRank(best) {
			best = err
		}
	}
	return nil, best
}

// mcErrRank orders the failures of several candidates: the reported one
// is the failure that got furthest.
// mcErr converts an error of httpsig to this package's sentinels.
func mcErr(err error) error {
	var he *httpsig.Error
	switch {
	case !errors.As(err, &he):
		return err
	case he.Mismatch:
		return fmt.Errorf("%w: %s", ErrSignature, he.Msg)
	}
	return fmt.Errorf("%w: %s", ErrMalformed, he.Msg)
}

// mcParseDict parses a Signature-Input or Signature header.
func mcParseDict(value, name string, max int) (*sfv.Dictionary, error) {
	d, err := httpsig.ParseDictionary(value, name, max)
	return d, mcErr(err)
}

// mcCheckDigest checks Content-Digest against the body (RFC 9530).
func mcCheckDigest(value string, body []byte) error {
	return mcErr(httpsig.CheckContentDigest(value, body, mcMaxDigests))
}

func mcErrRank(err error) int {
	switch {
	case errors.Is(err, ErrUnavailable):
		return 4
	case errors.Is(err, ErrSignature):
		return 3
	case errors.Is(err, ErrTimestamp):
		return 2
	}
	return 1
}

// mcCandidateOf checks one Signature-Input member and its signature. It
// returns ok=false for a well-formed signature this verifier does not
// take (another algorithm, content-digest not covered, a component it
// cannot rebuild) and an ErrMalformed error for an invalid one.
func mcCandidateOf(in, sm *sfv.Member) (mcCandidate, bool, error) {
	list, isList := in.Value.(sfv.InnerList)
	if !isList {
		return mcCandidate{}, false, fmt.Errorf("%w: %s member is not an inner list", ErrMalformed, mcSignatureInputHeader)
	}
	sig, isBytes := sm.Value.([]byte)
	if !isBytes {
		return mcCandidate{}, false, fmt.Errorf("%w: %s member is not a byte sequence", ErrMalformed, mcSignatureHeader)
	}
	if len(list) > mcMaxComponents {
		return mcCandidate{}, false, fmt.Errorf("%w: too many covered components", ErrMalformed)
	}
	usable, digest := true, false
	seen := make(map[string]bool, len(list))
	components := make([]string, 0, len(list))
	for _, item := range list {
		name, isString := item.Value.(string)
		if !isString || name == "" {
			return mcCandidate{}, false, fmt.Errorf("%w: covered component is not a string", ErrMalformed)
		}
		if len(item.Params) > 0 {
			// ;sf, ;key, ;bs, ;req, ;tr, ;name: not rebuilt here. The
			// identifier with parameters is a different component, so it
			// does not count as covering content-digest either.
			usable = false
			continue
		}
		if seen[name] {
			return mcCandidate{}, false, fmt.Errorf("%w: covered component listed twice", ErrMalformed)
		}
		seen[name] = true
		switch {
		case name == "@signature-params":
			return mcCandidate{}, false, fmt.Errorf("%w: @signature-params listed as a covered component", ErrMalformed)
		case name[0] == '@':
			if !httpsig.Derived(name) {
				usable = false
			}
		case !httpsig.FieldName(name):
			return mcCandidate{}, false, fmt.Errorf("%w: covered component is not a lowercase field name", ErrMalformed)
		case name == "content-digest":
			digest = true
		}
		components = append(components, name)
	}
	if alg, present := in.Param("alg"); present {
		s, isString := alg.(string)
		if !isString {
			return mcCandidate{}, false, fmt.Errorf("%w: alg is not a string", ErrMalformed)
		}
		if s != "ed25519" {
			usable = false
		}
	}
	if !usable || !digest {
		return mcCandidate{}, false, nil
	}
	return mcCandidate{components: components, params: in.Item, raw: in.Raw, sig: sig}, true, nil
}

func (v *mailchannelsVerifier) verifyOne(r *Request, c mcCandidate) (*Result, error) {
	cv, ok := c.params.Param("created")
	created, isInt := cv.(int64)
	if !ok || !isInt || created < 0 {
		return nil, fmt.Errorf("%w: signature without a valid created parameter", ErrMalformed)
	}
	ts := time.Unix(created, 0)
	if err := CheckTimestamp(v.cfg, ts, r.Now); err != nil {
		return nil, err
	}
	if ev, ok := c.params.Param("expires"); ok {
		expires, isInt := ev.(int64)
		if !isInt {
			return nil, fmt.Errorf("%w: expires is not an integer", ErrMalformed)
		}
		if _, on := v.cfg.EffectiveTolerance(); on && r.Now.After(time.Unix(expires, 0)) {
			return nil, fmt.Errorf("%w: signature expired", ErrTimestamp)
		}
	}
	keyID := ""
	if kv, ok := c.params.Param("keyid"); ok {
		s, isString := kv.(string)
		if !isString || len(s) > mcMaxKeyID {
			return nil, fmt.Errorf("%w: invalid keyid", ErrMalformed)
		}
		keyID = s
	}
	if len(c.sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: %s is not an ed25519 signature", ErrMalformed, mcSignatureHeader)
	}
	base, err := httpsig.SignatureBase(httpsig.Message{Method: r.Method, URL: r.URL, Header: r.Header}, c.components, c.raw)
	if err != nil {
		return nil, mcErr(err)
	}
	// The replay material is the body's digest, which every usable
	// signature covers (through content-digest): a copy that drops or
	// breaks one of several signatures is still the same delivery.
	bodySum := sha256.Sum256(r.Body)
	res := &Result{Signature: bodySum[:], Timestamp: ts}

	if v.fetch == nil {
		applicable := false
		for i, k := range v.keys {
			if k.id != "" && k.id != keyID {
				continue
			}
			applicable = true
			if ed25519.Verify(k.key, base, c.sig) {
				res.Key = i
				return res, nil
			}
		}
		if !applicable {
			return nil, fmt.Errorf("%w: no configured public key for the signature's keyid", ErrSignature)
		}
		return nil, fmt.Errorf("%w: no configured public key verifies the signature", ErrSignature)
	}

	if keyID == "" {
		return nil, fmt.Errorf("%w: signature without keyid", ErrMalformed)
	}
	ctx := r.Context
	if ctx == nil {
		ctx = context.Background()
	}
	key, err := v.fetch.get(ctx, keyID, r.Now)
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(key, base, c.sig) {
		return nil, fmt.Errorf("%w: the keyid's public key does not verify the signature", ErrSignature)
	}
	v.fetch.trust(keyID, key)
	return res, nil
}

// mcDefaultKeyID is the keyid the mailchannels signer uses without one.
const mcDefaultKeyID = "local-test-key"

// signMailChannels: RFC 9421 over content-digest (RFC 9530 sha-256), in
// the shape MailChannels sends (label sig_1; created, alg, keyid).
func signMailChannels(_ string, r SignRequest) (*Signed, error) {
	k, err := parseEd25519Private(r.PrivateKey)
	if err != nil {
		return nil, err
	}
	keyID := r.KeyID
	if keyID == "" {
		keyID = mcDefaultKeyID
	}
	if !mcFetchableKeyID(keyID) {
		return nil, fmt.Errorf("key id must be 1 to %d of A-Z a-z 0-9 . _ ~ + / = : -", mcMaxFetchKeyID)
	}
	sum := sha256.Sum256(r.Body)
	digest := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
	params := fmt.Sprintf(`("content-digest");created=%d;alg="ed25519";keyid="%s"`, r.Now.Unix(), keyID)
	base := `"content-digest": ` + digest + "\n" + `"@signature-params": ` + params
	sig := ed25519.Sign(k, []byte(base))
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set(mcDigestHeader, digest)
	s.Header.Set(mcSignatureInputHeader, "sig_1="+params)
	s.Header.Set(mcSignatureHeader, "sig_1=:"+base64.StdEncoding.EncodeToString(sig)+":")
	return s, nil
}

// keygenMailChannels makes an Ed25519 pair, the public key as MailChannels
// shows it (base64 DER).
func keygenMailChannels() (*KeyPair, error) {
	p, _, err := ed25519Pair()
	return p, err
}

// SignsBody is true: every accepted MailChannels signature covers
// content-digest, which is recomputed from the raw body.
func (v *mailchannelsVerifier) SignsBody() bool { return true }

var (
	_ BodySigner = (*mailchannelsVerifier)(nil)
)
