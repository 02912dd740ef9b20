package lengthext

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"hash"
	"math/rand"
	"testing"
)

// TestSHA256 checks the forgery against crypto/sha256 over the whole
// message (which the test, unlike an attacker, can hash): the extension is
// the real SHA-256 of secret || m || glue || ext.
func TestSHA256(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 200; n++ {
		msg := make([]byte, n)
		rng.Read(msg)
		ext := make([]byte, rng.Intn(150))
		rng.Read(ext)
		sum := sha256.Sum256(msg)
		glue, forged := SHA256(sum[:], n, ext)
		want := sha256.Sum256(append(append(append([]byte{}, msg...), glue...), ext...))
		if !bytes.Equal(forged, want[:]) {
			t.Fatalf("n=%d ext=%d: forged %x, want %x", n, len(ext), forged, want)
		}
		if (n+len(glue))%64 != 0 {
			t.Fatalf("n=%d: glue of %d bytes does not end on a block", n, len(glue))
		}
	}
}

// TestPadding: Padding is what each hash appends itself. After writing
// m || Padding(len(m)) (a whole number of blocks), the chaining value in
// the hash's marshalled state (magic, then the state words) is the hash
// of m.
func TestPadding(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, tc := range []struct {
		name            string
		h               func() hash.Hash
		block, lenField int
	}{{"sha1", sha1.New, 64, 8}, {"sha256", sha256.New, 64, 8}, {"sha512", sha512.New, 128, 16}} {
		for n := 0; n < 300; n++ {
			msg := make([]byte, n)
			rng.Read(msg)
			p := Padding(n, tc.block, tc.lenField)
			if (n+len(p))%tc.block != 0 {
				t.Fatalf("%s n=%d: padding of %d bytes", tc.name, n, len(p))
			}
			h := tc.h()
			h.Write(msg)
			want := h.Sum(nil)
			h.Reset()
			h.Write(msg)
			h.Write(p)
			state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if got := state[4 : 4+len(want)]; !bytes.Equal(got, want) {
				t.Fatalf("%s n=%d: chaining value %x after the padding, want %x", tc.name, n, got, want)
			}
		}
	}
}
