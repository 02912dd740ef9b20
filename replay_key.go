package webhookverify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/webhookverify/caddy-webhook-verify/replay"
	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// Replay key sources (ReplayConfig.Key).
const (
	keySignature = "signature"
	keyID        = "id"
	keyJSON      = "json"
)

// replayKeySource is the provisioned choice of replay key material.
type replayKeySource struct {
	kind     string   // "" (default: signed id, else signature), keySignature, keyID or keyJSON
	pointer  string   // keyJSON: the RFC 6901 pointer as configured
	tokens   []string // keyJSON: its reference tokens, unescaped
	explicit bool     // set by the user (a fallback is logged at WARN, not DEBUG)
}

// parseReplayKey parses `signature`, `id` or `json <pointer>`.
func parseReplayKey(s string) (replayKeySource, error) {
	kind, arg, _ := strings.Cut(strings.TrimSpace(s), " ")
	arg = strings.TrimSpace(arg)
	switch kind {
	case keySignature, keyID:
		if arg != "" {
			return replayKeySource{}, fmt.Errorf("replay key %s takes no argument", kind)
		}
		return replayKeySource{kind: kind, explicit: true}, nil
	case keyJSON:
		tokens, err := parsePointer(arg)
		if err != nil {
			return replayKeySource{}, fmt.Errorf("replay key json: %v", err)
		}
		return replayKeySource{kind: keyJSON, pointer: arg, tokens: tokens, explicit: true}, nil
	}
	return replayKeySource{}, fmt.Errorf("replay key %q is not signature, id or json <pointer>", s)
}

// maxPointerTokens bounds the depth of a replay key pointer.
const maxPointerTokens = 32

// parsePointer splits an RFC 6901 JSON pointer into its reference tokens.
// The whole document ("") is refused: a replay key is a scalar field.
func parsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, errors.New("needs a json pointer such as /id")
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("pointer %q does not start with /", p)
	}
	parts := strings.Split(p[1:], "/")
	if len(parts) > maxPointerTokens {
		return nil, fmt.Errorf("pointer %q has more than %d tokens", p, maxPointerTokens)
	}
	for i, t := range parts {
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || (t[j+1] != '0' && t[j+1] != '1')) {
				return nil, fmt.Errorf("pointer %q: ~ must be followed by 0 or 1", p)
			}
		}
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

// provisionReplayKey chooses the replay key source: the configured one
// (json only for verifiers whose signature covers the whole body), else
// the provider's event id pointer when it has one, else the signed id or
// the signature.
func (h *Handler) provisionReplayKey() error {
	rc := h.Replay
	if rc == nil || rc.Key == "" {
		if h.replay == nil && len(h.Attest) == 0 {
			// attest binds its webhook-id to the replay key material.
			return nil
		}
		if e, ok := h.verifier.(verifiers.EventIDer); ok && signsBody(h.verifier) {
			if p := e.EventIDPointer(); p != "" {
				tokens, err := parsePointer(p)
				if err != nil {
					return fmt.Errorf("provider event id pointer: %v", err)
				}
				h.replayKey = replayKeySource{kind: keyJSON, pointer: p, tokens: tokens}
			}
		}
		return nil
	}
	if rc.Disabled {
		return errors.New("replay key is set but replay is off")
	}
	src, err := parseReplayKey(rc.Key)
	if err != nil {
		return err
	}
	if src.kind == keyJSON && !signsBody(h.verifier) {
		return fmt.Errorf("replay key json needs a provider whose signature covers the whole body, which %s's does not", h.Provider)
	}
	h.replayKey = src
	return nil
}

// signsBody reports whether v's signature covers the whole raw body.
func signsBody(v verifiers.Verifier) bool {
	b, ok := v.(verifiers.BodySigner)
	return ok && b.SignsBody()
}

// replayMaterial is the signed material a replay key is made of: per the
// route's key source, an event id read from the verified body, the signed
// delivery id or the verified signature. A body field that cannot be used
// falls back to the signed id, else the signature, and is logged; a body
// with data after its JSON value is refused (ErrMalformed), since the app
// may read another value than the one the key was made of.
func (h *Handler) replayMaterial(r *http.Request, res *verifiers.Result) ([]byte, error) {
	return h.appendReplayMaterial(nil, r, res)
}

// appendReplayMaterial is replayMaterial appended to dst (nil when there
// is none).
func (h *Handler) appendReplayMaterial(dst []byte, r *http.Request, res *verifiers.Result) ([]byte, error) {
	sig := func() []byte {
		if len(res.Signature) == 0 {
			return nil
		}
		return appendSigMaterial(dst, res.Signature)
	}
	id := func() []byte {
		if res.SignedID == "" {
			return nil
		}
		return append(append(dst, "id:"...), res.SignedID...)
	}
	auto := func() []byte {
		if m := id(); m != nil {
			return m
		}
		return sig()
	}
	switch h.replayKey.kind {
	case keySignature:
		if m := sig(); m != nil {
			return m, nil
		}
		return id(), nil
	case keyID:
		if m := id(); m != nil {
			return m, nil
		}
		h.keyFallback(r, res, "the provider sent no signed delivery id")
		return sig(), nil
	case keyJSON:
		v, err := h.bodyEventID(r)
		if err == nil {
			return append(dst, v.material()...), nil
		}
		if errors.Is(err, errPointerTrailing) {
			return nil, fmt.Errorf("%w: replay key %s: %v", verifiers.ErrMalformed, h.replayKey.pointer, err)
		}
		h.keyFallback(r, res, err.Error())
		return auto(), nil
	}
	return auto(), nil
}

// sigMaterial is the replay key material of a verified signature (or of
// what a verifier gives in its place): a hex SHA-256 of it.
func sigMaterial(sig []byte) []byte { return appendSigMaterial(nil, sig) }

// appendSigMaterial is sigMaterial appended to dst.
func appendSigMaterial(dst, sig []byte) []byte {
	sum := sha256.Sum256(sig)
	return hex.AppendEncode(append(dst, "sig:"...), sum[:])
}

// bodyEventID reads the replay key pointer's value from the verified body
// (as restored for the next handler).
func (h *Handler) bodyEventID(r *http.Request) (eventID, error) {
	if r.GetBody == nil {
		return eventID{}, errors.New("body not available")
	}
	rc, err := r.GetBody()
	if err != nil {
		return eventID{}, errors.New("body not available")
	}
	defer rc.Close()
	return lookupPointer(rc, h.replayKey.tokens)
}

// keyFallback logs that a delivery's replay key fell back: at WARN when
// the key source was configured, at DEBUG for a provider's default (Slack
// slash commands, for example, carry no event_id).
func (h *Handler) keyFallback(r *http.Request, res *verifiers.Result, why string) {
	if h.logger == nil {
		return
	}
	level := zapcore.DebugLevel
	if h.replayKey.explicit {
		level = zapcore.WarnLevel
	}
	if ce := h.logger.Check(level, "replay key falls back to the signed id or signature"); ce != nil {
		fields := []zap.Field{
			zap.String("provider", h.Provider),
			zap.String("key", h.replayKey.kind),
			zap.String("why", why),
		}
		if h.replayKey.pointer != "" {
			fields = append(fields, zap.String("pointer", h.replayKey.pointer))
		}
		if h.Name != "" {
			fields = append(fields, zap.String("name", h.Name))
		}
		if res.ID != "" {
			fields = append(fields, zap.String("delivery_id", truncate(res.ID, 128)))
		}
		ce.Write(append(fields, zap.String("uri", truncate(r.RequestURI, 1024)))...)
	}
}

// Reasons a pointer lookup gives no key.
var (
	errPointerMissing   = errors.New("field not found")
	errPointerNotScalar = errors.New("field is not a non-empty string or a number")
	errPointerAmbiguous = errors.New("a member on the path is repeated")
	errPointerJSON      = errors.New("body is not valid json")
	errPointerTrailing  = errors.New("data after the json value of the body")
)

// eventID is a scalar read from the body: a string, or a number as
// written. The two types never give the same key: the number 1 and the
// string "1" are different event ids.
type eventID struct {
	value  string
	number bool
}

// material is the replay key material of the event id. Strings keep the
// material they always had ("event:" and the value); numbers are tagged.
func (e eventID) material() []byte {
	if e.number {
		return append([]byte("event-number:"), e.value...)
	}
	return append([]byte("event:"), e.value...)
}

// maxEventID bounds the length of an event id used as replay key.
const maxEventID = 1024

// lookupPointer returns the value at the pointer's tokens in the JSON
// document read from rd: a non-empty string, or a number as written. A
// member repeated on the path is ambiguous (parsers disagree on which one
// counts) and refused, and so is anything but white space after the
// document (errPointerTrailing): a reader of the body could take the next
// value for the delivery.
func lookupPointer(rd io.Reader, tokens []string) (eventID, error) {
	dec := json.NewDecoder(rd)
	dec.UseNumber()
	v, err := lookupValue(dec, tokens)
	if err != nil {
		return eventID{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return eventID{}, errPointerTrailing
	}
	if len(v.value) > maxEventID {
		return eventID{}, fmt.Errorf("field is longer than %d bytes", maxEventID)
	}
	return v, nil
}

// lookupValue reads one JSON value from dec and returns the scalar at
// tokens inside it.
func lookupValue(dec *json.Decoder, tokens []string) (eventID, error) {
	tok, err := dec.Token()
	if err != nil {
		return eventID{}, errPointerJSON
	}
	if len(tokens) == 0 {
		switch t := tok.(type) {
		case string:
			if t == "" {
				return eventID{}, errPointerNotScalar
			}
			return eventID{value: t}, nil
		case json.Number:
			return eventID{value: t.String(), number: true}, nil
		default:
			return eventID{}, errPointerNotScalar
		}
	}
	d, ok := tok.(json.Delim)
	if !ok || (d != '{' && d != '[') {
		return eventID{}, errPointerMissing
	}
	var (
		found  bool
		result eventID
	)
	for i := 0; dec.More(); i++ {
		match := false
		if d == '{' {
			kt, err := dec.Token()
			if err != nil {
				return eventID{}, errPointerJSON
			}
			k, _ := kt.(string)
			match = k == tokens[0]
		} else {
			match = isIndex(tokens[0]) && strconv.Itoa(i) == tokens[0]
		}
		if !match {
			if err := skipValue(dec); err != nil {
				return eventID{}, err
			}
			continue
		}
		if found {
			return eventID{}, errPointerAmbiguous
		}
		found = true
		if result, err = lookupValue(dec, tokens[1:]); err != nil {
			// Stopped inside the value: nothing after it matters.
			return eventID{}, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return eventID{}, errPointerJSON
	}
	if !found {
		return eventID{}, errPointerMissing
	}
	return result, nil
}

// isIndex reports whether t is an RFC 6901 array index (no leading zeros).
func isIndex(t string) bool {
	if t == "" || len(t) > 9 || (len(t) > 1 && t[0] == '0') {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return false
		}
	}
	return true
}

// skipValue consumes one JSON value.
func skipValue(dec *json.Decoder) error {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return errPointerJSON
	}
	return nil
}

// replayPlaceholder is the value of {http.webhook_verify.replay} for a
// Reserve outcome.
func replayPlaceholder(s replay.State) string {
	switch s {
	case replay.New:
		return "new"
	case replay.Accepted:
		return "duplicate"
	case replay.InFlight:
		return "in_flight"
	}
	return s.String()
}
