package verifiers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// GitHub (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
//
// Header X-Hub-Signature-256: "sha256=" + hex(HMAC-SHA256(secret, raw body)),
// the secret used as its UTF-8 bytes. Only this header is accepted: the
// legacy X-Hub-Signature (HMAC-SHA1), which GitHub still sends alongside for
// compatibility, is ignored, and a request that carries only it fails with
// ErrMalformed.
//
// The signature covers the body only: there is no timestamp (the provider
// takes no tolerance, and HasTimestamp is false) and the delivery id in
// X-GitHub-Delivery is not signed. It becomes Result.ID for logs but not
// Result.SignedID; the replay key is the signature. HMAC is deterministic,
// so a byte-identical redelivery of an accepted delivery has the same
// signature and counts as a replay.

func init() {
	Register("github", newGitHub)
	RegisterSigner("github", signGitHub)
}

type githubVerifier struct {
	secrets [][]byte
	macs    []*MACKey // HMAC-SHA256 under each secret
}

func newGitHub(c Config) (Verifier, error) {
	if err := c.Allow("secret"); err != nil {
		return nil, err
	}
	keys, err := RawSecrets(c)
	if err != nil {
		return nil, err
	}
	return &githubVerifier{secrets: keys, macs: NewMACKeys(sha256.New, keys)}, nil
}

// HasTimestamp is false: GitHub signs no timestamp.
func (v *githubVerifier) HasTimestamp() bool { return false }

func (v *githubVerifier) Verify(r *Request) (*Result, error) {
	id, err := OptionalHeader(r.Header, "X-GitHub-Delivery")
	if err != nil {
		return nil, err
	}
	h, err := Header(r.Header, "X-Hub-Signature-256")
	if err != nil {
		if len(r.Header.Values("X-Hub-Signature-256")) == 0 && len(r.Header.Values("X-Hub-Signature")) > 0 {
			return nil, fmt.Errorf("%w: missing header X-Hub-Signature-256 (the sha1 X-Hub-Signature is not accepted)", ErrMalformed)
		}
		return nil, err
	}
	hexSig, ok := strings.CutPrefix(h, "sha256=")
	if !ok {
		return nil, fmt.Errorf("%w: X-Hub-Signature-256 does not start with sha256=", ErrMalformed)
	}
	sig, ok := DecodeHex(hexSig)
	if !ok {
		return nil, fmt.Errorf("%w: X-Hub-Signature-256 is not hex", ErrMalformed)
	}
	key, matched, _, ok := MatchMACKeys(v.macs, [][]byte{sig}, false, nil, r.Body)
	if !ok {
		return nil, fmt.Errorf("%w: X-Hub-Signature-256 does not match", ErrSignature)
	}
	return &Result{ID: id, Signature: matched, Key: key}, nil
}

// signGitHub: X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>,
// and X-GitHub-Delivery (unsigned) from r.ID or random.
func signGitHub(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	id := r.ID
	if id == "" {
		id = randomUUID()
	}
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(MAC(sha256.New, key, r.Body)))
	s.Header.Set("X-GitHub-Delivery", id)
	return s, nil
}

// SignsBody is true: GitHub signs the raw body (no event id in it; the
// X-GitHub-Delivery header is unsigned).
func (v *githubVerifier) SignsBody() bool { return true }

var (
	_ Timestamped = (*githubVerifier)(nil)
	_ BodySigner  = (*githubVerifier)(nil)
)
