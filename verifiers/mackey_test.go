package verifiers

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"net/http"
	"sync"
	"testing"
)

// A pooled MACKey computes what MAC computes, under concurrent use and
// whatever the parts, and MatchMACKeys decides as MatchMAC does.
func TestMACKeyMatchesMAC(t *testing.T) {
	body := bytes.Repeat([]byte("b"), 3000)
	for _, tc := range []struct {
		name string
		h    func() hash.Hash
		key  []byte
	}{
		{"sha256", sha256.New, []byte("It's a Secret to Everybody")},
		{"sha1", sha1.New, []byte("k")},
		{"sha512 long key", sha512.New, bytes.Repeat([]byte("k"), 300)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := NewMACKey(tc.h, tc.key)
			want := MAC(tc.h, tc.key, []byte("id"), []byte("."), []byte("ts"), []byte("."), body)
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 50 {
						if got := k.Sum(nil, []string{"id", ".", "ts", "."}, body); !bytes.Equal(got, want) {
							t.Errorf("Sum = %x, want %x", got, want)
							return
						}
					}
				}()
			}
			wg.Wait()
			if got := k.Sum([]byte("x"), nil, []byte("id.ts."), body); !bytes.Equal(got, append([]byte("x"), want...)) {
				t.Errorf("Sum with dst = %x", got)
			}
		})
	}

	keys := [][]byte{[]byte("old"), []byte("new"), []byte("other")}
	macs := NewMACKeys(sha256.New, keys)
	mac := func(i int) []byte { return MAC(sha256.New, keys[i], []byte("t."), body) }
	for _, tc := range []struct {
		name       string
		candidates [][]byte
	}{
		{"none", [][]byte{[]byte("nope")}},
		{"second key", [][]byte{[]byte("nope"), mac(1)}},
		{"first and third", [][]byte{mac(2), mac(0)}},
		{"truncated", [][]byte{mac(0)[:31]}},
	} {
		t.Run("match/"+tc.name, func(t *testing.T) {
			expected := [][]byte{mac(0), mac(1), mac(2)}
			wk, ws, wok := MatchMAC(expected, tc.candidates)
			k, s, first, ok := MatchMACKeys(macs, tc.candidates, true, []string{"t."}, body)
			if k != wk || !bytes.Equal(s, ws) || ok != wok || !bytes.Equal(first, expected[0]) {
				t.Fatalf("MatchMACKeys = %d %x %v, MatchMAC = %d %x %v", k, s, ok, wk, ws, wok)
			}
		})
	}
}

// headerValues finds what http.Header.Values finds, for canonical and
// non-canonical names, cached or not.
func TestHeaderValuesCanonical(t *testing.T) {
	h := http.Header{}
	h.Set("X-GitHub-Delivery", "a")
	h.Add("webhook-id", "b")
	h.Add("webhook-id", "c")
	h["x-raw"] = []string{"raw"} // not canonical: Values does not find it
	for range 2 {
		for _, name := range []string{"X-GitHub-Delivery", "x-github-delivery", "X-Github-Delivery", "webhook-id", "Webhook-Id", "x-raw", "X-Raw", "absent", "bad name"} {
			if got, want := headerValues(h, name), h.Values(name); len(got) != len(want) || (len(got) > 0 && got[0] != want[0]) {
				t.Errorf("%q: %q, want %q", name, got, want)
			}
		}
	}
}
