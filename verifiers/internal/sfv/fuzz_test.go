package sfv

import (
	"strings"
	"testing"
)

// FuzzParse: no panic on any input of at most 16 KiB; a Dictionary's
// members have distinct keys and each Raw is a piece of the input; a
// parse is deterministic. Seeds: the f.Add calls and testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`en="Applepie", da=:w4ZibGV0w6ZydGUK:`, `a=?0, b, c; foo=bar`, `rating=1.5, feelings=(joy sadness)`,
		`a=(1 2), b=3, c=4;aa=bb, d=(5 6);valid`, `sig1=("@method" "content-digest");created=1618884473;keyid="k"`,
		`sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`, `a=1,b=2,a=3`, `"\"x\\y"`, `-999999999999.999`, `*tok:/x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 16<<10 {
			return
		}
		d, err := ParseDictionary(s)
		if err == nil {
			seen := map[string]bool{}
			for _, m := range d.Members {
				if seen[m.Key] {
					t.Fatalf("key %q twice", m.Key)
				}
				seen[m.Key] = true
				if !strings.Contains(s, m.Raw) {
					t.Fatalf("raw %q not in the input", m.Raw)
				}
			}
			d2, _ := ParseDictionary(s)
			if len(d2.Members) != len(d.Members) || d2.Dup != d.Dup {
				t.Fatal("not deterministic")
			}
		}
		ParseList(s)
		ParseItem(s)
	})
}
