package webhookverify

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// readBodyLimited reads exactly the body, tells a body over the limit
// (reading at most limit+1 bytes), keeps the buffer within twice what
// arrived, and passes read errors on, whatever way the reader hands out
// its bytes.
func TestReadBodyLimited(t *testing.T) {
	const limit = 1 << 20
	readers := map[string]func([]byte) io.Reader{
		"plain":         func(b []byte) io.Reader { return bytes.NewReader(b) },
		"one byte":      func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
		"eof with data": func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) },
		"half":          func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
	}
	for _, n := range []int{1, 4095, 4096, 4097, 8192, 100_000, limit - 1, limit, limit + 1, 2 * limit} {
		body := bytes.Repeat([]byte{'a'}, n)
		for i := range body {
			body[i] = byte(i * 7)
		}
		for name, mk := range readers {
			if name == "one byte" && n > 10_000 {
				continue
			}
			cr := &countingReader{r: mk(body)}
			buf, tooLarge, err := readBodyLimited(cr, limit)
			if err != nil {
				t.Fatalf("%d %s: %v", n, name, err)
			}
			if tooLarge != (n > limit) {
				t.Fatalf("%d %s: too large %v", n, name, tooLarge)
			}
			if cr.n > limit+1 {
				t.Fatalf("%d %s: read %d bytes, more than limit+1", n, name, cr.n)
			}
			if !tooLarge {
				if !bytes.Equal(buf.Bytes(), body) {
					t.Fatalf("%d %s: bytes differ (%d read)", n, name, len(buf.Bytes()))
				}
				if c := buf.Cap(); c > 2*max(n, 1<<minBodyClass) {
					t.Fatalf("%d %s: capacity %d", n, name, c)
				}
			}
			putBody(buf)
		}
	}
	broken := errors.New("connection reset")
	for _, n := range []int{10, 4096, 5000} {
		buf, _, err := readBodyLimited(io.MultiReader(bytes.NewReader(make([]byte, n)), iotest.ErrReader(broken)), limit)
		if !errors.Is(err, broken) {
			t.Fatalf("%d then an error: %v", n, err)
		}
		putBody(buf)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
