package webhookverify

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/webhookverify/caddy-webhook-verify/replay"
	"github.com/webhookverify/caddy-webhook-verify/verifiers"
	"go.uber.org/zap"
)

// Replay on the request path: the keys of a verified delivery reserved,
// the delivery forwarded, then committed when the upstream answers 2xx and
// released otherwise (the key's choice: replay_key.go).

// replayUnit is one replay key of a delivery and the reservation held on
// it (zero when none is).
type replayUnit struct {
	key string
	tok replay.Token
}

// errBodyMismatch refuses a copy whose body differs from the one first
// seen with its replay key, for schemes whose signature does not cover the
// whole body (see bindBody).
var errBodyMismatch = fmt.Errorf("%w: body does not match the signed delivery", verifiers.ErrSignature)

// replayUnitsInto returns the replay keys of a verified delivery: one per item
// of a batch (Result.Items), else one from its replay material, kept in
// d's storage.
func (h *Handler) replayUnitsInto(d *delivery, r *http.Request, res *verifiers.Result) ([]replayUnit, error) {
	if len(res.Items) > 0 {
		units := make([]replayUnit, len(res.Items))
		seen := make(map[string]bool, len(res.Items))
		for i, m := range res.Items {
			if len(m) == 0 {
				return nil, errors.New("verifier gave no replay material for a batch item")
			}
			units[i].key = replay.Key(h.replayNamespace(r), appendSigMaterial(d.material[:0], m))
			if seen[units[i].key] {
				return nil, fmt.Errorf("%w: batch item %d repeats an earlier item", verifiers.ErrMalformed, i+1)
			}
			seen[units[i].key] = true
		}
		return units, nil
	}
	material, err := h.appendReplayMaterial(d.material[:0], r, res)
	if err != nil {
		return nil, err
	}
	if material == nil {
		return nil, errors.New("verifier gave no replay material")
	}
	d.unit[0] = replayUnit{key: replay.Key(h.replayNamespace(r), material)}
	return d.unit[:], nil
}

// forwardOnce passes a verified request to next unless it is a duplicate,
// and records the outcome: commit on a 2xx answer, release otherwise. For
// a verifier that does not sign the whole body, the body's SHA-256 is
// bound to each replay key first (bindBody). A batch (Result.Items) is
// forwarded only if every item is new, answered as a duplicate if every
// item was accepted, and refused with 409 otherwise, so that neither a
// subset nor a superset of an accepted batch is forwarded (with a bound
// body, such a batch is refused before, by its items' bindings, unless
// one expired or was evicted before its entry); its keys are committed or
// released together.
func (h *Handler) forwardOnce(w http.ResponseWriter, r *http.Request, repl *caddy.Replacer, res *verifiers.Result, d *delivery, next caddyhttp.Handler) error {
	body := d.req.Body
	units, err := h.replayUnitsInto(d, r, res)
	if err != nil {
		if h.logOnly() && errors.Is(err, verifiers.ErrMalformed) {
			return h.fail(w, r, repl, next, err)
		}
		return h.reject(w, r, repl, res.ID, err)
	}
	// The outcome must be recorded even when the client goes away.
	ctx := context.WithoutCancel(r.Context())
	if err := h.bindBody(ctx, units, body); err != nil {
		if errors.Is(err, errBodyMismatch) {
			repl.Set("http.webhook_verify.verified", "false")
			return h.fail(w, r, repl, next, err)
		}
		return h.storeUnavailable(w, r, repl, res, next, err)
	}
	var accepted, inFlight, fresh int
	for i := range units {
		state, tok, err := h.replay.store.Reserve(ctx, units[i].key, h.replay.inFlightTTL)
		if err != nil {
			h.releaseUnits(ctx, units, res)
			return h.storeUnavailable(w, r, repl, res, next, err)
		}
		if state != replay.New && state != replay.Accepted && state != replay.InFlight {
			h.releaseUnits(ctx, units, res)
			return h.reject(w, r, repl, res.ID, fmt.Errorf("replay: unexpected state %v", state))
		}
		switch state {
		case replay.New:
			units[i].tok = tok
			fresh++
		case replay.Accepted:
			accepted++
		case replay.InFlight:
			inFlight++
		}
	}
	state := replay.New
	switch {
	case inFlight > 0:
		state = replay.InFlight
	case accepted > 0:
		state = replay.Accepted
	}
	repl.Set("http.webhook_verify.replay", replayPlaceholderValue(state))
	if state != replay.New && h.logOnly() {
		// Shadow mode never blocks: the copy is counted, logged and
		// passed on, marked by the replay placeholder; the new items of
		// a batch are settled as usual.
		h.outcome(r, replayPlaceholder(state), res.ID, nil)
		return h.forward(ctx, d.statusWriter(w), r, res, units, next)
	}
	if state != replay.New {
		h.releaseUnits(ctx, units, res)
	}
	switch {
	case state == replay.Accepted && fresh == 0:
		if rc, ok := next.(*recycler); ok {
			// Answered here, successfully: the body is not needed.
			rc.recycle()
		}
		h.outcome(r, "duplicate", res.ID, nil)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, err := io.WriteString(w, "duplicate delivery: already accepted\n")
		return err
	case state == replay.InFlight:
		h.outcome(r, "in_flight", res.ID, nil)
		w.Header().Set("Retry-After", retryAfter)
		repl.Set("http.webhook_verify.error", "delivery in flight")
		return caddyhttp.Error(http.StatusConflict, errors.New("duplicate delivery still in flight"))
	case state == replay.Accepted:
		// Some items of the batch were accepted, the others are new: a
		// subset or superset of an accepted batch, which is not forwarded
		// (its accepted items would reach the app twice). A retry does
		// not help, so no Retry-After.
		h.outcome(r, "duplicate", res.ID, nil)
		repl.Set("http.webhook_verify.error", "batch mixes accepted and new items")
		return caddyhttp.Error(http.StatusConflict, errors.New("batch repeats items already accepted"))
	}
	if res.Act == nil {
		h.outcome(r, "verified", res.ID, nil)
	}
	return h.forward(ctx, d.statusWriter(w), r, res, units, next)
}

// bindBody binds the SHA-256 of the body to every replay key of the
// delivery when the verifier's signature does not cover the whole body
// (replayState.binder is set): the first verified copy's body stands for
// the replay TTL, whether it is committed or released, so a copy with the
// same signed id and another body (PayPal's CRC32 forged, Adyen's or
// Mailgun's unsigned fields changed) gets errBodyMismatch, while the
// provider's genuine retry, the same body, passes.
func (h *Handler) bindBody(ctx context.Context, units []replayUnit, body []byte) error {
	if h.replay.binder == nil {
		return nil
	}
	sum := sha256.Sum256(body)
	for _, u := range units {
		match, err := h.replay.binder.Bind(ctx, u.key, sum[:], h.replay.ttl)
		if err != nil {
			return err
		}
		if !match {
			return errBodyMismatch
		}
	}
	return nil
}

// forward calls next and settles the reservations held in units.
// sw wraps the response writer (delivery.statusWriter).
func (h *Handler) forward(ctx context.Context, sw *statusWriter, r *http.Request, res *verifiers.Result, units []replayUnit, next caddyhttp.Handler) error {
	// settle runs even when next panics (reverse_proxy aborts with
	// http.ErrAbortHandler when the upstream's body or the client breaks
	// off after the status was written); the panic goes on unrecovered.
	// A 2xx status written is an accepted delivery, whatever happened to
	// the body after it: the upstream took the delivery, and forwarding
	// the provider's retry would deliver it twice.
	defer h.settle(ctx, sw, units, res)
	err := next.ServeHTTP(sw, r)
	if sw.status == 0 && err == nil {
		// Nothing written and no error: net/http answers 200.
		sw.status = http.StatusOK
	}
	return err
}

// settle records the outcome of a forwarded delivery on every key it
// holds a reservation on: commit on a 2xx status, release otherwise.
func (h *Handler) settle(ctx context.Context, sw *statusWriter, units []replayUnit, res *verifiers.Result) {
	if sw.status < 200 || sw.status >= 300 {
		h.releaseUnits(ctx, units, res)
		return
	}
	for _, u := range units {
		if u.tok == 0 {
			continue
		}
		if cerr := h.replay.store.Commit(ctx, u.key, u.tok, h.replay.ttl); cerr != nil {
			h.logger.Error("replay: recording an accepted delivery failed; a copy may be forwarded again",
				zap.String("provider", h.Provider), zap.String("delivery_id", truncate(res.ID, 128)), zap.Error(cerr))
		}
	}
}

// releaseUnits drops the reservations held in units.
func (h *Handler) releaseUnits(ctx context.Context, units []replayUnit, res *verifiers.Result) {
	for i, u := range units {
		if u.tok == 0 {
			continue
		}
		if rerr := h.replay.store.Release(ctx, u.key, u.tok); rerr != nil {
			h.logger.Warn("replay: releasing a delivery failed; its copies get 409 until the reservation expires",
				zap.String("provider", h.Provider), zap.String("delivery_id", truncate(res.ID, 128)), zap.Error(rerr))
		}
		units[i].tok = 0
	}
}

// statusWriter records the final status code written.
type statusWriter struct {
	*caddyhttp.ResponseWriterWrapper
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriterWrapper.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriterWrapper.Write(b)
}

func (s *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriterWrapper.ReadFrom(r)
}

// Interface guards
var _ http.ResponseWriter = (*statusWriter)(nil)

// errStoreUnavailable is the error of a delivery the replay store could
// not check; the store's own error is logged, never shown.
var errStoreUnavailable = errors.New("replay cache unavailable")

// storeUnavailable handles a verified delivery whose replay state could
// not be read (the store failed, or the in-memory cache holds only
// deliveries in flight): an operator's problem, logged at ERROR (limited
// apart from rejections) and answered 503 with Retry-After, which
// providers retry; log_only passes it on.
func (h *Handler) storeUnavailable(w http.ResponseWriter, r *http.Request, repl *caddy.Replacer, res *verifiers.Result, next caddyhttp.Handler, err error) error {
	h.outcome(r, resultStoreUnavailable, res.ID, err)
	repl.Set("http.webhook_verify.replay", "unavailable")
	if h.logOnly() {
		return next.ServeHTTP(w, r)
	}
	repl.Set("http.webhook_verify.error", errStoreUnavailable.Error())
	w.Header().Set("Retry-After", retryAfter)
	return h.httpError(w, r, http.StatusServiceUnavailable, errStoreUnavailable)
}
