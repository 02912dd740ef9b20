package webhookverify

import (
	"fmt"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// Options of the webhook_verify directive and of its replay block, for
// "did you mean" in errors (the parser's switch is the authority; a test
// keeps these lists in step with it).
var (
	directiveOptions = []string{
		"secret", "public_key", "tolerance", "max_size", "body_timeout", "keep_credentials", "replay", "mode",
		"attest",
		"name", "url", "url_path", "topic_arn", "customer_handle", "certificate", "auto_confirm", "username",
		"password", "header", "verify_token", "webhook_id", "signature_header", "timestamp_first", "prefix",
		"hash", "encoding", "secret_encoding", "content", "scheme", "secret_prefix", "timestamp_key",
		"id_header", "separator", "timestamp_unit", "timestamp_field", "timestamp_header",
	}
	replayOptions = []string{"ttl", "in_flight_ttl", "max_entries", "namespace", "storage", "key", "redis"}
)

// didYouMean returns `; did you mean "x"?` for the closest of names to s
// (edit distance at most 1, or 2 for words of 5 letters or more), else "".
func didYouMean(s string, names []string) string {
	best, bestD := "", 3
	limit := 1
	if len(s) >= 5 {
		limit = 2
	}
	for _, n := range names {
		if d := editDistance(s, n); d <= limit && d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean \"" + best + "\"?"
}

// providerHint is what follows an unknown provider name: the closest
// provider, else where the list is.
func providerHint(s string) string {
	if m := didYouMean(s, verifiers.Names()); m != "" {
		return m
	}
	return fmt.Sprintf("; docs/providers.md lists all %d names", len(verifiers.Names()))
}

// editDistance is the Damerau-Levenshtein distance (optimal string
// alignment: insertions, deletions, substitutions and swaps of two
// neighbours each cost 1) of two ASCII words.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
