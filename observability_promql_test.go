package webhookverify

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// A PromQL lexer for the expressions of the shipped alerting rules and
// dashboard (observability_test.go checks the names it finds against what
// the module exports).

// promSelector is a metric named in an expression, with the labels its
// matchers and the enclosing groupings name.
type promSelector struct {
	metric   string
	matchers [][3]string // label, op, value
}

// promqlKeywords are the identifiers of PromQL that are not metric names:
// operators, modifiers and the aggregations (which may be followed by a
// by/without clause before their parenthesis; functions are told by the
// parenthesis that follows them).
var promqlKeywords = map[string]bool{"and": true, "or": true, "unless": true, "by": true, "without": true,
	"on": true, "ignoring": true, "group_left": true, "group_right": true, "offset": true, "bool": true,
	"inf": true, "nan": true, "sum": true, "min": true, "max": true, "avg": true, "group": true,
	"stddev": true, "stdvar": true, "count": true, "count_values": true, "bottomk": true, "topk": true,
	"quantile": true, "limitk": true, "limit_ratio": true}

// parsePromQL returns the metric selectors of expr and the label names of
// its by/without/on/ignoring/group_* clauses. It is a lexer for what the
// shipped files use, strict enough that a misspelt metric or label name
// cannot hide: an unbalanced bracket or an unterminated string is an
// error.
func parsePromQL(expr string) (sels []promSelector, grouping []string, err error) {
	i := 0
	skipSpace := func() {
		for i < len(expr) && strings.ContainsRune(" \t\r\n", rune(expr[i])) {
			i++
		}
	}
	isIdent := func(c byte, first bool) bool {
		return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
	}
	readString := func() (string, error) {
		q := expr[i]
		j := i + 1
		for j < len(expr) && expr[j] != q {
			if expr[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(expr) {
			return "", fmt.Errorf("unterminated string at %d", i)
		}
		s := expr[i+1 : j]
		i = j + 1
		return s, nil
	}
	// matchers reads {a="x", b=~"y"} at i.
	matchers := func() ([][3]string, error) {
		var out [][3]string
		i++ // {
		for {
			skipSpace()
			if i < len(expr) && expr[i] == '}' {
				i++
				return out, nil
			}
			j := i
			for i < len(expr) && isIdent(expr[i], i == j) {
				i++
			}
			label := expr[j:i]
			skipSpace()
			k := i
			for i < len(expr) && strings.ContainsRune("=!~", rune(expr[i])) {
				i++
			}
			op := expr[k:i]
			skipSpace()
			if label == "" || op == "" || i >= len(expr) || expr[i] != '"' {
				return nil, fmt.Errorf("bad label matcher at %d", j)
			}
			v, err := readString()
			if err != nil {
				return nil, err
			}
			out = append(out, [3]string{label, op, v})
			skipSpace()
			if i < len(expr) && expr[i] == ',' {
				i++
			}
		}
	}
	depth := 0
	for i < len(expr) {
		c := expr[i]
		switch {
		case strings.ContainsRune(" \t\r\n,+-*/%^<>=!", rune(c)):
			i++
		case c == '"' || c == '\'' || c == '`':
			if _, err := readString(); err != nil {
				return nil, nil, err
			}
		case c == '(':
			depth++
			i++
		case c == ')':
			depth--
			i++
		case c == '[':
			j := strings.IndexByte(expr[i:], ']')
			if j < 0 {
				return nil, nil, fmt.Errorf("unterminated range at %d", i)
			}
			i += j + 1
		case c == '{':
			m, err := matchers()
			if err != nil {
				return nil, nil, err
			}
			sels = append(sels, promSelector{matchers: m}) // a selector without a name
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isIdent(expr[i], false) || expr[i] == '.' || (expr[i] == '-' || expr[i] == '+') && (expr[i-1] == 'e' || expr[i-1] == 'E')) {
				i++
			}
		case isIdent(c, true):
			j := i
			for i < len(expr) && isIdent(expr[i], false) {
				i++
			}
			word := expr[j:i]
			skipSpace()
			next := byte(0)
			if i < len(expr) {
				next = expr[i]
			}
			switch {
			case slices.Contains([]string{"by", "without", "on", "ignoring", "group_left", "group_right"}, word):
				if next != '(' {
					if word == "group_left" || word == "group_right" {
						continue
					}
					return nil, nil, fmt.Errorf("%s without a label list at %d", word, j)
				}
				k := strings.IndexByte(expr[i:], ')')
				if k < 0 {
					return nil, nil, fmt.Errorf("unterminated label list at %d", i)
				}
				for _, l := range strings.Split(expr[i+1:i+k], ",") {
					if l = strings.TrimSpace(l); l != "" {
						grouping = append(grouping, l)
					}
				}
				i += k + 1
			case promqlKeywords[strings.ToLower(word)]:
			case next == '(':
				// a function or an aggregation
			default:
				s := promSelector{metric: word}
				if next == '{' {
					m, err := matchers()
					if err != nil {
						return nil, nil, err
					}
					s.matchers = m
				}
				sels = append(sels, s)
			}
		default:
			return nil, nil, fmt.Errorf("unexpected %q at %d", c, i)
		}
	}
	if depth != 0 {
		return nil, nil, fmt.Errorf("unbalanced parentheses")
	}
	return sels, grouping, nil
}

// TestParsePromQL: the lexer finds the metrics, matchers and groupings
// PromQL would.
func TestParsePromQL(t *testing.T) {
	sels, grouping, err := parsePromQL(`histogram_quantile(0.99, sum by (route, le) (rate(a_bucket{route=~"$route", x!="y"}[5m] offset 1h))) > 1e-05 and on (route) b * 0 or max without (q) (c{}) > bool 3`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range sels {
		got = append(got, fmt.Sprint(s.metric, s.matchers))
	}
	want := []string{`a_bucket[[route =~ $route] [x != y]]`, `b[]`, `c[]`}
	if !slices.Equal(got, want) || !slices.Equal(grouping, []string{"route", "le", "route", "q"}) {
		t.Errorf("selectors %q grouping %q, want %q [route le route q]", got, grouping, want)
	}
	for _, bad := range []string{`sum(a`, `a{b="c}`, `a{b}`, `rate(a[5m)`, `a @ 1`} {
		if _, _, err := parsePromQL(bad); err == nil {
			t.Errorf("parsePromQL(%q): no error", bad)
		}
	}
}
