package verifiers

// Length extension on plain-hash schemes (scheme hash: hash(secret ||
// content), HubSpot v1 and v2). SHA-1, SHA-256 and SHA-512 are
// Merkle–Damgård hashes: their output is their whole internal state, so
// from the signature of one message and its length anyone can go on
// hashing, and sign message || glue || anything without the secret, where
// glue is the padding the hash appended to the message. HMAC is not
// affected. The gate knows the secret's length, so it can tell such a
// message by its glue: the padding of a shorter message that starts with
// the whole secret, ending on a block boundary.

// mdPadding is the padding shape of a Merkle–Damgård hash: 0x80, zeros
// up to lenField bytes short of a block boundary, then the message's
// length in bits, big endian, in lenField bytes.
type mdPadding struct {
	block    int // block size in bytes
	lenField int // bytes of the length field that ends the padding
}

var (
	mdSHA1   = mdPadding{block: 64, lenField: 8}
	mdSHA256 = mdPadding{block: 64, lenField: 8}
	mdSHA512 = mdPadding{block: 128, lenField: 16}
)

// glued reports whether the hashed message, a secret of keyLen bytes
// followed by the content pre || body || post, holds at some block
// boundary b (b at most the message's length) the padding the hash
// appends to a message of L bytes, keyLen <= L: the length field just
// before b says L, byte L is 0x80 and the bytes from there to the length
// field are zero. That is the shape of a length extension of a signed
// message of L bytes (a genuine message holds it by chance with a
// probability under 2^-72). It reads one byte per block (the length
// field's top byte, zero in a padding) and at most the padding's bytes
// where that byte is zero, so O(len/block), and copies nothing (the
// content stays in its three pieces).
func (p mdPadding) glued(keyLen int, pre, body, post []byte) bool {
	m := mdMessage{keyLen, pre, body, post}
	total := keyLen + len(pre) + len(body) + len(post)
	for b := p.block; b <= total; b += p.block {
		f := b - p.lenField // where the length field starts
		if f <= keyLen {
			continue // L >= keyLen and L < f: no room for 0x80
		}
		if m.at(f) != 0 {
			continue // the field's top byte: zero in any length that fits
		}
		var bitLen uint64
		high := false
		for i := f; i < b; i++ {
			if i < b-8 {
				high = high || m.at(i) != 0
			} else {
				bitLen = bitLen<<8 | uint64(m.at(i))
			}
		}
		if high || bitLen%8 != 0 {
			continue
		}
		// The padding of L bytes ends at b when L+1+lenField <= b <
		// L+1+lenField+block, that is f-block <= L <= f-1.
		l := bitLen / 8
		if l < uint64(keyLen) || l >= uint64(f) || l+uint64(p.block) < uint64(f) {
			continue
		}
		if m.at(int(l)) != 0x80 {
			continue
		}
		zeros := true
		for i := int(l) + 1; i < f && zeros; i++ {
			zeros = m.at(i) == 0
		}
		if zeros {
			return true
		}
	}
	return false
}

// mdMessage is secret || pre || body || post, read by offset without the
// secret (offsets from keyLen on).
type mdMessage struct {
	keyLen          int
	pre, body, post []byte
}

func (m mdMessage) at(i int) byte {
	i -= m.keyLen
	if i < len(m.pre) {
		return m.pre[i]
	}
	i -= len(m.pre)
	if i < len(m.body) {
		return m.body[i]
	}
	return m.post[i-len(m.body)]
}
