package sfv

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Test cases for the RFC 8941 parser.
//
// "RFC 8941 §x" cases are the examples printed in RFC 8941 (Structured
// Field Values for HTTP), https://www.rfc-editor.org/rfc/rfc8941 ; the
// others are taken from the HTTP WG's shared test suite,
// github:httpwg/structured-field-tests at the commits named per file:
//   dictionary.json @4c3ed9ddef1754a9b8f614abef0ad3f73268c788
//   param-dict.json @c1438190fe5fa25411f4e0c585929f000d071eea
//   number.json     @49d2c024165dfa894b90944708765a251c6fbac1
//   string.json     @77fb14dfbc537dc7e0481b43455f06f205a46b83
//   binary.json     @b004b7dba42354b083709a175e51d3e0eacd7bd1
//   boolean.json    @8dc3644c693127e43d24da609256c7e9fa5efed2
//   token.json      @e53a138423db1858261f938a8fe1e34345459966
//   listlist.json   @bd018259b094034b15b7cec9cce51a5e757095fb
// Several field lines ("raw" arrays of more than one element) are joined
// with ", " as RFC 8941 §4.2 says.

func sfI(v any, params ...Param) Item { return Item{Value: v, Params: params} }

func sfL(items ...Item) InnerList {
	l := InnerList{}
	return append(l, items...)
}

func sfP(k string, v any) Param { return Param{Key: k, Value: v} }

func sfM(k string, i Item) Member { return Member{Key: k, Item: i} }

type sfCase struct {
	name string
	in   string
	want any // Item, []Item, []Member; nil means must fail
}

func TestSFDictionary(t *testing.T) {
	cases := []sfCase{
		// RFC 8941 §3.2
		{"RFC 8941 §3.2 strings and bytes", `en="Applepie", da=:w4ZibGV0w6ZydGUK:`, []Member{
			sfM("en", sfI("Applepie")),
			sfM("da", sfI([]byte("\xc3\x86blet\xc3\xa6rte\n"))),
		}},
		{"RFC 8941 §3.2 true values", `a=?0, b, c; foo=bar`, []Member{
			sfM("a", sfI(false)), sfM("b", sfI(true)), sfM("c", sfI(true, sfP("foo", Token("bar")))),
		}},
		{"RFC 8941 §3.2 inner list of tokens", `rating=1.5, feelings=(joy sadness)`, []Member{
			sfM("rating", sfI(Decimal(1.5))),
			sfM("feelings", sfI(sfL(sfI(Token("joy")), sfI(Token("sadness"))))),
		}},
		{"RFC 8941 §3.2 mixed", `a=(1 2), b=3, c=4;aa=bb, d=(5 6);valid`, []Member{
			sfM("a", sfI(sfL(sfI(int64(1)), sfI(int64(2))))),
			sfM("b", sfI(int64(3))),
			sfM("c", sfI(int64(4), sfP("aa", Token("bb")))),
			sfM("d", sfI(sfL(sfI(int64(5)), sfI(int64(6))), sfP("valid", true))),
		}},
		{"RFC 8941 §3.2 two lines", "foo=1" + ", " + "bar=2", []Member{sfM("foo", sfI(int64(1))), sfM("bar", sfI(int64(2)))}},
		// dictionary.json
		{"empty dictionary", ``, []Member(nil)},
		{"list item dictionary", `a=(1 2)`, []Member{sfM("a", sfI(sfL(sfI(int64(1)), sfI(int64(2)))))}},
		{"empty list item dictionary", `a=()`, []Member{sfM("a", sfI(sfL()))}},
		{"no whitespace dictionary", `a=1,b=2`, []Member{sfM("a", sfI(int64(1))), sfM("b", sfI(int64(2)))}},
		{"extra whitespace dictionary", `a=1 ,  b=2`, []Member{sfM("a", sfI(int64(1))), sfM("b", sfI(int64(2)))}},
		{"tab separated dictionary", "a=1\t,\tb=2", []Member{sfM("a", sfI(int64(1))), sfM("b", sfI(int64(2)))}},
		{"leading whitespace dictionary", `     a=1 ,  b=2`, []Member{sfM("a", sfI(int64(1))), sfM("b", sfI(int64(2)))}},
		{"whitespace before = dictionary", `a =1, b=2`, nil},
		{"whitespace after = dictionary", `a=1, b= 2`, nil},
		{"missing value with params dictionary", `a=1, b;foo=9, c=3`, []Member{
			sfM("a", sfI(int64(1))), sfM("b", sfI(true, sfP("foo", int64(9)))), sfM("c", sfI(int64(3))),
		}},
		{"explicit true value with params dictionary", `a=1, b=?1;foo=9, c=3`, []Member{
			sfM("a", sfI(int64(1))), sfM("b", sfI(true, sfP("foo", int64(9)))), sfM("c", sfI(int64(3))),
		}},
		{"trailing comma dictionary", `a=1, b=2,`, nil},
		{"empty item dictionary", `a=1,,b=2,`, nil},
		{"duplicate key dictionary", `a=1,b=2,a=3`, []Member{sfM("a", sfI(int64(3))), sfM("b", sfI(int64(2)))}},
		{"numeric key dictionary", `a=1,1b=2,a=1`, nil},
		{"uppercase key dictionary", `a=1,B=2,a=1`, nil},
		{"bad key dictionary", `a=1,b!=2,a=1`, nil},
		// param-dict.json
		{"basic parameterised dict", `abc=123;a=1;b=2, def=456, ghi=789;q=9;r="+w"`, []Member{
			sfM("abc", sfI(int64(123), sfP("a", int64(1)), sfP("b", int64(2)))),
			sfM("def", sfI(int64(456))),
			sfM("ghi", sfI(int64(789), sfP("q", int64(9)), sfP("r", "+w"))),
		}},
		{"list item parameterised dictionary", `a=(1 2); q=1.0`, []Member{
			sfM("a", sfI(sfL(sfI(int64(1)), sfI(int64(2))), sfP("q", Decimal(1)))),
		}},
		{"terminal missing parameter value parameterised dict", `a=3;c=5;d`, []Member{
			sfM("a", sfI(int64(3), sfP("c", int64(5)), sfP("d", true))),
		}},
		{"whitespace before = parameterised dict", `a=b;q =0.5`, nil},
		{"whitespace after = parameterised dict", `a=b;q= 0.5`, nil},
		{"whitespace before ; parameterised dict", `a=b ;q=0.5`, nil},
		{"extra whitespace parameterised dict", `a=b;  c=1  ,  d=e; f=2; g=3`, []Member{
			sfM("a", sfI(Token("b"), sfP("c", int64(1)))),
			sfM("d", sfI(Token("e"), sfP("f", int64(2)), sfP("g", int64(3)))),
		}},
		{"trailing comma parameterised list", `a=b; q=1.0,`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDictionary(tc.in)
			if tc.want == nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("parse %q: got %v, %v; want ErrInvalid", tc.in, d, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse %q: %v", tc.in, err)
			}
			got := make([]Member, len(d.Members))
			for i, m := range d.Members {
				m.Raw = ""
				got[i] = m
			}
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parse %q:\n got %#v\nwant %#v", tc.in, got, tc.want)
			}
		})
	}
}

func TestSFList(t *testing.T) {
	cases := []sfCase{
		// RFC 8941 §3.1, §3.1.1, §3.1.2
		{"RFC 8941 §3.1", `sugar, tea, rum`, []Item{sfI(Token("sugar")), sfI(Token("tea")), sfI(Token("rum"))}},
		{"RFC 8941 §3.1.1 inner lists", `("foo" "bar"), ("baz"), ("bat" "one"), ()`, []Item{
			sfI(sfL(sfI("foo"), sfI("bar"))), sfI(sfL(sfI("baz"))), sfI(sfL(sfI("bat"), sfI("one"))), sfI(sfL()),
		}},
		{"RFC 8941 §3.1.1 parameters on inner lists", `("foo"; a=1;b=2);lvl=5, ("bar" "baz");lvl=1`, []Item{
			sfI(sfL(sfI("foo", sfP("a", int64(1)), sfP("b", int64(2)))), sfP("lvl", int64(5))),
			sfI(sfL(sfI("bar"), sfI("baz")), sfP("lvl", int64(1))),
		}},
		{"RFC 8941 §3.1.2", `abc;a=1;b=2; cde_456, (ghi;jk=4 l);q="9";r=w`, []Item{
			sfI(Token("abc"), sfP("a", int64(1)), sfP("b", int64(2)), sfP("cde_456", true)),
			sfI(sfL(sfI(Token("ghi"), sfP("jk", int64(4))), sfI(Token("l"))), sfP("q", "9"), sfP("r", Token("w"))),
		}},
		// listlist.json
		{"empty middle item list of lists", `(1),(),(42)`, []Item{
			sfI(sfL(sfI(int64(1)))), sfI(sfL()), sfI(sfL(sfI(int64(42)))),
		}},
		{"extra whitespace list of lists", `(  1  42  )`, []Item{sfI(sfL(sfI(int64(1)), sfI(int64(42))))}},
		{"wrong whitespace list of lists", "(1\t 42)", nil},
		{"no trailing parenthesis list of lists", `(1 42`, nil},
		{"no trailing parenthesis middle list of lists", `(1 2, (42 43)`, nil},
		{"no spaces in inner-list", `(abc"def"?0123*dXZ3*xyz)`, nil},
		// token.json
		{"basic token - list", `a_b-c3/*`, []Item{sfI(Token("a_b-c3/*"))}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseList(tc.in)
			if tc.want == nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("parse %q: got %v, %v; want ErrInvalid", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse %q: %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parse %q:\n got %#v\nwant %#v", tc.in, got, tc.want)
			}
		})
	}
}

func TestSFItem(t *testing.T) {
	cases := []sfCase{
		// RFC 8941 §3.3 - §3.3.6
		{"RFC 8941 §3.3 item with parameter", `5; foo=bar`, sfI(int64(5), sfP("foo", Token("bar")))},
		{"RFC 8941 §3.3.1 integer", `42`, sfI(int64(42))},
		{"RFC 8941 §3.3.2 decimal", `4.5`, sfI(Decimal(4.5))},
		{"RFC 8941 §3.3.3 string", `"hello world"`, sfI("hello world")},
		{"RFC 8941 §3.3.4 token", `foo123/456`, sfI(Token("foo123/456"))},
		{"RFC 8941 §3.3.5 byte sequence", `:cHJldGVuZCB0aGlzIGlzIGJpbmFyeSBjb250ZW50Lg==:`, sfI([]byte("pretend this is binary content."))},
		{"RFC 8941 §3.3.6 boolean", `?1`, sfI(true)},
		{"Example-IntHeader", `1; a; b=?0`, sfI(int64(1), sfP("a", true), sfP("b", false))},
		// number.json
		{"zero integer", `0`, sfI(int64(0))},
		{"leading 0 zero", `00`, sfI(int64(0))},
		{"negative zero", `-0`, sfI(int64(0))},
		{"double negative zero", `--0`, nil},
		{"negative integer", `-42`, sfI(int64(-42))},
		{"leading 0 negative integer", `-042`, sfI(int64(-42))},
		{"comma", `2,3`, nil},
		{"negative non-DIGIT first character", `-a23`, nil},
		{"sign out of place", `4-2`, nil},
		{"whitespace after sign", `- 42`, nil},
		{"long integer", `123456789012345`, sfI(int64(123456789012345))},
		{"long negative integer", `-123456789012345`, sfI(int64(-123456789012345))},
		{"too long integer", `1234567890123456`, nil},
		{"negative too long integer", `-1234567890123456`, nil},
		{"simple decimal", `1.23`, sfI(Decimal(1.23))},
		{"negative decimal", `-1.23`, sfI(Decimal(-1.23))},
		{"decimal, whitespace after decimal", `1. 23`, nil},
		{"decimal, whitespace before decimal", `1 .23`, nil},
		{"tricky precision decimal", `123456789012.1`, sfI(Decimal(123456789012.1))},
		{"double decimal decimal", `1.5.4`, nil},
		{"adjacent double decimal decimal", `1..4`, nil},
		{"decimal with three fractional digits", `1.123`, sfI(Decimal(1.123))},
		{"decimal with four fractional digits", `1.1234`, nil},
		{"decimal with thirteen integer digits", `1234567890123.0`, nil},
		// string.json
		{"empty string", `""`, sfI("")},
		{"whitespace string", `"   "`, sfI("   ")},
		{"non-ascii string", "\"f\u00fc\u00fc\"", nil},
		{"tab in string", "\"\t\"", nil},
		{"newline in string", "\" \n \"", nil},
		{"single quoted string", `'foo'`, nil},
		{"unbalanced string", `"foo`, nil},
		{"string quoting", `"foo \"bar\" \\ baz"`, sfI(`foo "bar" \ baz`)},
		{"bad string quoting", `"foo \,"`, nil},
		{"ending string quote", `"foo \"`, nil},
		{"abruptly ending string quote", `"foo \`, nil},
		// binary.json
		{"basic binary", `:aGVsbG8=:`, sfI([]byte("hello"))},
		{"empty binary", `::`, sfI([]byte{})},
		{"bad padding (may pass)", `:aGVsbG8:`, sfI([]byte("hello"))},
		{"bad end delimiter", `:aGVsbG8=`, nil},
		{"extra whitespace", `:aGVsb G8=:`, nil},
		{"extra chars", `:aGVsbG!8=:`, nil},
		{"suffix chars", `:aGVsbG8=!:`, nil},
		{"non-zero pad bits (may pass)", `:iZ==:`, sfI([]byte{0x89})},
		{"non-ASCII binary", `:/+Ah:`, sfI([]byte{0xff, 0xe0, 0x21})},
		{"base64url binary", `:_-Ah:`, nil},
		// boolean.json
		{"basic false boolean", `?0`, sfI(false)},
		{"unknown boolean", `?Q`, nil},
		{"whitespace boolean", `? 1`, nil},
		{"negative zero boolean", `?-0`, nil},
		{"T boolean", `?T`, nil},
		{"spelled-out True boolean", `?True`, nil},
		// token.json
		{"basic token - item", `a_b-c.d3:f%00/*`, sfI(Token("a_b-c.d3:f%00/*"))},
		{"token starting with capitals - item", `FooBar`, sfI(Token("FooBar"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseItem(tc.in)
			if tc.want == nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("parse %q: got %v, %v; want ErrInvalid", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse %q: %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parse %q:\n got %#v\nwant %#v", tc.in, got, tc.want)
			}
		})
	}
}

// Raw must be the member's text exactly as received: RFC 9421 signs the
// Signature-Input member value verbatim as @signature-params.
func TestSFDictionaryRawAndDuplicates(t *testing.T) {
	cases := []struct {
		in   string
		raw  []string
		dup  bool
		keys []string
	}{
		// RFC 9421 Appendix B.2.6
		{`sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`,
			[]string{`("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`},
			false, []string{"sig-b26"}},
		{`sig_1=("content-digest");created=1;alg="ed25519";keyid="k" ,	sig_2=("content-digest");keyid="x";created=2`,
			[]string{`("content-digest");created=1;alg="ed25519";keyid="k"`, `("content-digest");keyid="x";created=2`},
			false, []string{"sig_1", "sig_2"}},
		{`a, b;x=1;y, c=?1`, []string{``, `;x=1;y`, `?1`}, false, []string{"a", "b", "c"}},
		{`a=1, a=2`, []string{`2`}, true, []string{"a"}},
		{`a=1;x=1;x=2`, []string{`1;x=1;x=2`}, true, []string{"a"}},
		{`a=("x";p=1;p=2)`, []string{`("x";p=1;p=2)`}, true, []string{"a"}},
	}
	for _, tc := range cases {
		d, err := ParseDictionary(tc.in)
		if err != nil {
			t.Fatalf("parse %q: %v", tc.in, err)
		}
		var raws, keys []string
		for _, m := range d.Members {
			raws = append(raws, m.Raw)
			keys = append(keys, m.Key)
		}
		if !reflect.DeepEqual(raws, tc.raw) || !reflect.DeepEqual(keys, tc.keys) || d.Dup != tc.dup {
			t.Errorf("parse %q: keys %q raw %q dup %v; want %q %q %v", tc.in, keys, raws, d.Dup, tc.keys, tc.raw, tc.dup)
		}
	}
}

func TestSFParserLinearOnLargeInput(t *testing.T) {
	// A long but valid dictionary parses; a long unterminated string fails.
	in := strings.Repeat("a=1, ", 1000) + "b=2"
	d, err := ParseDictionary(in)
	if err != nil || len(d.Members) != 2 || !d.Dup {
		t.Fatalf("got %v, %v", d, err)
	}
	if _, err := ParseItem(`"` + strings.Repeat("x", 8000)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unterminated string: %v", err)
	}
}
