package webhookverify

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// The request body: read once, bounded (max_size, body_timeout) into a
// pooled buffer; restored for the next handler with its exact bytes; held
// until the next handler is done with it, then recycled.

// Body reading limits.
const (
	// DefaultBodyTimeout is how long a client may take to send the body
	// when body_timeout is not set.
	DefaultBodyTimeout = 10 * time.Second
	// MinBodyTimeout is the shortest body_timeout accepted.
	MinBodyTimeout = time.Second
)

// errTooLarge marks a body over max_size.
var errTooLarge = errors.New("body too large")

// errBodyTimeout marks a body not received within body_timeout.
var errBodyTimeout = errors.New("body not received in time")

// Body buffers are pooled by size class (bodybuf.go): a buffer starts
// small and grows with the bytes that arrive, so a client that only
// declares a large body, or sends it slowly, costs no more memory than it
// sent.

// readBody reads the whole body within body_timeout, refusing one larger
// than maxSize. The returned buffer (nil for an empty body) holds the
// bytes; the caller gives it back with putBody once the request is done.
// On an error the connection is marked to be closed after the response,
// and the buffer is already given back.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *bodyBuf, error) {
	if r.ContentLength > h.maxSize {
		// Before reading a byte: no 100 Continue goes out, and the
		// client is not made to send what will be refused.
		abortRead(w, r)
		return nil, nil, errTooLarge
	}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return []byte{}, nil, nil
	}
	rc := http.NewResponseController(w)
	timeout := h.bodyTimeout
	if timeout <= 0 {
		timeout = DefaultBodyTimeout
	}
	deadlineSet := rc.SetReadDeadline(time.Now().Add(timeout)) == nil
	// At most maxSize+1 bytes are read: one more than allowed says the
	// body is too large (abortRead then closes the connection).
	buf, tooLarge, err := readBodyLimited(r.Body, h.maxSize)
	if err == nil && tooLarge {
		putBody(buf)
		abortRead(w, r)
		return nil, nil, errTooLarge
	}
	if err != nil {
		putBody(buf)
		abortRead(w, r)
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			// A limit of a handler before this one (request_body).
			return nil, nil, errTooLarge
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, nil, errBodyTimeout
		}
		return nil, nil, fmt.Errorf("%w: reading body: %v", verifiers.ErrMalformed, err)
	}
	if deadlineSet {
		// The rest of the request (the upstream's answer) is not bound
		// by the body's deadline; a read deadline left behind would end
		// the request's context while the upstream works.
		_ = rc.SetReadDeadline(time.Time{})
	}
	_ = r.Body.Close()
	return buf.Bytes(), buf, nil
}

// abortRead makes sure nothing more is read from a request whose body is
// refused: the connection is closed after the response (HTTP/1), and the
// read deadline is moved to now, so neither net/http's draining of the
// unread body nor a client that stops sending can hold the connection.
func abortRead(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 {
		// In HTTP/2 this header would close every stream of the
		// connection; there, the stream alone is reset.
		w.Header().Set("Connection", "close")
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}

// restoreBody hands the next handler the exact bytes that were verified.
// Request trailers are dropped: nothing signed them; so is Expect. The bytes may live in
// a pooled buffer: the returned body gives them out until it is retired.
func restoreBody(r *http.Request, body []byte) *heldBody {
	hb := new(heldBody)
	hb.restore(r, body)
	return hb
}

// restore is restoreBody into hb (which must be new: one per request).
func (hb *heldBody) restore(r *http.Request, body []byte) {
	hb.b = body
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	r.Trailer = nil
	// The body is in hand: the upstream is not to be asked for a 100
	// Continue (it would reach the client as a second one).
	r.Header.Del("Expect")
	if len(body) == 0 {
		// Known to be empty: sent upstream without a body, not chunked.
		r.Body = http.NoBody
		r.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		return
	}
	hb.first.hb = hb
	r.Body = &hb.first
	r.GetBody = func() (io.ReadCloser, error) { return hb.reader(), nil }
}

// heldBody gives the next handler readers over the verified bytes, until
// retire: from then on every read fails, so a reader still in use (a
// transport that goes on writing a request body after the response came
// back) can never see the bytes of a later request in the reused buffer.
type heldBody struct {
	mu      sync.Mutex
	b       []byte
	retired bool
	first   heldReader // the request's Body (GetBody gives new ones)
}

// errBodyRetired is returned by reads after the request was done.
var errBodyRetired = errors.New("webhook_verify: request body read after the request was done")

func (hb *heldBody) reader() io.ReadCloser { return &heldReader{hb: hb} }

// retire ends every reader; the bytes may be reused once it returns.
func (hb *heldBody) retire() {
	hb.mu.Lock()
	hb.retired = true
	hb.b = nil
	hb.mu.Unlock()
}

type heldReader struct {
	hb  *heldBody
	off int
}

func (r *heldReader) Read(p []byte) (int, error) {
	r.hb.mu.Lock()
	defer r.hb.mu.Unlock()
	if r.hb.retired {
		return 0, errBodyRetired
	}
	if r.off >= len(r.hb.b) {
		return 0, io.EOF
	}
	n := copy(p, r.hb.b[r.off:])
	r.off += n
	return n, nil
}

func (r *heldReader) Close() error { return nil }

// recycleAfter wraps next so that the pooled body buffer is given back once
// next is done with it. The buffer is kept out of the pool (left to the
// garbage collector) when next fails or panics, since error routes
// (handle_errors) may read the request body again after this handler
// returned.
func recycleAfter(next caddyhttp.Handler, r *http.Request, hb *heldBody, buf *bodyBuf) caddyhttp.Handler {
	if buf == nil {
		return next
	}
	return new(recycler).wrap(next, r, hb, buf)
}

// wrap is recycleAfter into rc (one per request).
func (rc *recycler) wrap(next caddyhttp.Handler, r *http.Request, hb *heldBody, buf *bodyBuf) caddyhttp.Handler {
	if buf == nil {
		return next
	}
	*rc = recycler{next: next, r: r, hb: hb, buf: buf}
	return rc
}

// recycler is the next handler wrapped by recycleAfter.
type recycler struct {
	next caddyhttp.Handler
	r    *http.Request
	hb   *heldBody
	buf  *bodyBuf
}

func (rc *recycler) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	err := rc.next.ServeHTTP(w, r)
	if err == nil {
		rc.recycle()
	}
	return err
}

// recycle ends the body's readers and gives its buffer back. Call it only
// when nothing will read the request body any more (next succeeded, or a
// duplicate was answered without calling next).
func (rc *recycler) recycle() {
	if rc.buf == nil {
		return
	}
	rc.hb.retire()
	rc.r.Body, rc.r.GetBody = http.NoBody, nil
	putBody(rc.buf)
	rc.buf = nil
}
