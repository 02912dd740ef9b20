package webhookverify

import (
	"io"
	"math/bits"
	"sync"
)

// Body buffers by size class: a body is read into a pooled buffer of the
// smallest class (4 KiB) and moves to a buffer of the next class (twice
// the size, pooled too) only when the bytes that arrived fill it. So a
// buffer is never more than twice what arrived (a client that declares a
// large Content-Length, or sends slowly, costs what it sent), and a large
// body costs no allocation once the pools are warm: a bytes.Buffer grown
// to 1 MiB allocated about 2 MiB, and zeroed it, on every such request.

const (
	minBodyClass   = 12 // the smallest buffer: 4 KiB
	maxPooledClass = 20 // the largest buffer kept for reuse: 1 MiB (the default max_size)
)

// maxPooledBody is the largest body buffer kept for reuse; larger ones
// are left to the garbage collector.
const maxPooledBody = 1 << maxPooledClass

// bodyPools holds one pool per class, minBodyClass to maxPooledClass.
var bodyPools [maxPooledClass - minBodyClass + 1]sync.Pool

// bodyBuf is a body buffer; b's capacity is its class's size.
type bodyBuf struct {
	b     []byte
	probe [1]byte // reads past a full buffer, to tell EOF from more
}

// Cap is the buffer's capacity.
func (buf *bodyBuf) Cap() int { return cap(buf.b) }

// Bytes are the bytes read.
func (buf *bodyBuf) Bytes() []byte { return buf.b }

// bodyClass is the class of a buffer of capacity n (a power of two).
func bodyClass(n int) int { return bits.Len(uint(n)) - 1 }

// getBody returns an empty buffer of class c, pooled below maxPooledClass.
func getBody(c int) *bodyBuf {
	if c <= maxPooledClass {
		if buf, ok := bodyPools[c-minBodyClass].Get().(*bodyBuf); ok {
			return buf
		}
	}
	return &bodyBuf{b: make([]byte, 0, 1<<c)}
}

// putBody returns a body buffer to its pool. It must only be called once
// nothing refers to the buffer's bytes any more.
func putBody(buf *bodyBuf) {
	if buf == nil {
		return
	}
	c := bodyClass(cap(buf.b))
	if c < minBodyClass || c > maxPooledClass || cap(buf.b) != 1<<c {
		return
	}
	buf.b = buf.b[:0]
	bodyPools[c-minBodyClass].Put(buf)
}

// readBodyLimited reads rd to its end into pooled buffers, at most limit+1
// bytes: more than limit bytes read means the body is too large. The
// buffer is returned with the error, if any (the caller puts it back).
func readBodyLimited(rd io.Reader, limit int64) (*bodyBuf, bool, error) {
	buf := getBody(minBodyClass)
	for {
		b := buf.b
		if len(b) == cap(b) {
			// Full: a byte more, or the end?
			n, err := rd.Read(buf.probe[:])
			if n == 0 {
				if err == io.EOF {
					return buf, false, nil
				}
				if err != nil {
					return buf, false, err
				}
				continue
			}
			if int64(len(b)) >= limit {
				return buf, true, nil
			}
			next := getBody(bodyClass(cap(b)) + 1)
			next.b = append(append(next.b, b...), buf.probe[0])
			putBody(buf)
			buf = next
			if err == io.EOF {
				return buf, false, nil
			}
			if err != nil {
				return buf, false, err
			}
			continue
		}
		room := b[len(b):cap(b)]
		if left := limit + 1 - int64(len(b)); int64(len(room)) > left {
			room = room[:left]
		}
		n, err := rd.Read(room)
		buf.b = b[:len(b)+n]
		if int64(len(buf.b)) > limit {
			return buf, true, nil
		}
		if err == io.EOF {
			return buf, false, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
}
