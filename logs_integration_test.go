package webhookverify

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// What Caddy itself writes to its logs (issue 13, items 6 and 7), through
// a real Caddy whose logs go to files: a credential the gate checked never
// reaches them through an error the gate causes, the load warning's log
// filter keeps it out of the lines the gate cannot prevent (access log,
// a 502 of reverse_proxy, DEBUG), and forged requests that end in 503
// write a bounded number of lines.

const (
	logsToken       = "gl-token-5b1f0c9e-never-in-a-log"
	logsVerifyToken = "meta-vt-77d0a2-never-in-a-log"
)

// noNetTransport stands in for http.DefaultTransport: loopback requests go
// through, every other host fails at once (so SNS and PayPal certificate
// fetches fail: 503).
type noNetTransport struct{ orig http.RoundTripper }

func (n noNetTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if ip := net.ParseIP(r.URL.Hostname()); r.URL.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()) {
		return n.orig.RoundTrip(r)
	}
	return nil, errors.New("no network in this test")
}

// logsGlobal is globalOptions with logBlock (a Caddyfile log block) added.
func logsGlobal(logBlock string) string {
	return strings.Replace(globalOptions(), "grace_period 1ns\n", "grace_period 1ns\n"+logBlock+"\n", 1)
}

// withOutput inserts options after the first line of a log block.
func withOutput(block string, opts ...string) string {
	first, rest, _ := strings.Cut(block, "\n")
	return first + "\n\t" + strings.Join(opts, "\n\t") + "\n" + rest
}

type caddyLogLine struct {
	Level  string `json:"level"`
	Logger string `json:"logger"`
	Msg    string `json:"msg"`
	raw    string
	fields map[string]any
}

// readCaddyLog returns the JSON lines of a log file (none if it is absent).
func readCaddyLog(t *testing.T, path string) []caddyLogLine {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []caddyLogLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := caddyLogLine{raw: sc.Text()}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line not JSON: %v: %s", err, sc.Text())
		}
		_ = json.Unmarshal(sc.Bytes(), &l.fields)
		out = append(out, l)
	}
	return out
}

// forgedFetchRequest is a forged SNS or PayPal delivery with a certificate
// URL never seen before: it passes the cheap checks and needs a fetch.
func forgedFetchRequest(kind string, i int) (map[string]string, []byte) {
	rnd := func(n int) string {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return hex.EncodeToString(b)
	}
	sig := make([]byte, 256)
	_, _ = rand.Read(sig)
	now := time.Now()
	if kind == "paypal" {
		return map[string]string{
			"PAYPAL-TRANSMISSION-ID":   fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
			"PAYPAL-TRANSMISSION-TIME": now.UTC().Format(time.RFC3339),
			"PAYPAL-TRANSMISSION-SIG":  base64.StdEncoding.EncodeToString(sig),
			"PAYPAL-CERT-URL":          "https://api.paypal.com/v1/notifications/certs/CERT-" + rnd(8),
			"PAYPAL-AUTH-ALGO":         "SHA256withRSA",
			"Content-Type":             "application/json",
		}, []byte(`{"id":"WH-` + rnd(8) + `","event_type":"PAYMENT.CAPTURE.COMPLETED"}`)
	}
	m := map[string]string{
		"Type":             "Notification",
		"MessageId":        fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
		"TopicArn":         floodTopic,
		"Message":          "forged " + rnd(4),
		"Timestamp":        now.UTC().Format("2006-01-02T15:04:05.000Z"),
		"SignatureVersion": "1",
		"Signature":        base64.StdEncoding.EncodeToString(sig),
		"SigningCertURL":   "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-" + rnd(16) + ".pem",
		"UnsubscribeURL":   "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + floodTopic + ":" + rnd(8),
	}
	body, _ := json.Marshal(m)
	return map[string]string{"x-amz-sns-message-type": "Notification", "Content-Type": "text/plain; charset=UTF-8"}, body
}

func TestIntegrationCaddyLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("caddytest integration test")
	}
	orig := http.DefaultTransport
	http.DefaultTransport = noNetTransport{orig}
	defer func() { http.DefaultTransport = orig }()

	dir := t.TempDir()
	// A replay store that fails every step: file storage under a file.
	notDir := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A second server, with handle_errors routes.
	_, port, _ := net.SplitHostPort(freeAddr(t))
	shapedPort, _ := strconv.Atoi(port)
	gitlab := func(path, extra, next string) string {
		return fmt.Sprintf(`
	handle %s {
		webhook_verify gitlab {
			secret %s
			%s
		}
		%s
	}`, path, logsToken, extra, next)
	}
	failingStore := func(sub string) string {
		return fmt.Sprintf("replay {\n\t\t\t\tstorage file_system %s\n\t\t\t}", filepath.Join(notDir, sub))
	}
	token := map[string]string{"X-Gitlab-Token": logsToken, "Content-Type": "application/json"}
	body := []byte(`{"object_kind":"push"}`)

	// Part 1: Caddy's default log at INFO, no access log, no filter: what
	// the module itself keeps out of it.
	logPath := filepath.Join(dir, "caddy.log")
	tc := newTester(t)
	tc.InitServer(logsGlobal(fmt.Sprintf("\tlog {\n\t\toutput file %q\n\t\tformat json\n\t\tlevel INFO\n\t}", logPath))+
		fmt.Sprintf("http://localhost:%d {", testHTTPPort)+
		gitlab("/gl-store", failingStore("a"), `respond "forwarded"`)+
		fmt.Sprintf(`
	handle /sns {
		webhook_verify sns {
			topic_arn %s
		}
		respond "forwarded"
	}
	handle /paypal {
		webhook_verify paypal {
			webhook_id WH-LOGS
		}
		respond "forwarded"
	}
	handle /meta {
		webhook_verify meta {
			secret app-secret
			verify_token %s
		}
		respond "forwarded"
	}
}
http://localhost:%d {`, floodTopic, logsVerifyToken, shapedPort)+
		gitlab("/gl-store", failingStore("b"), `respond "forwarded"`)+`
	handle_errors {
		respond "shaped {err.status_code}: {http.webhook_verify.error}"
	}
}
`, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}

	// The load warnings, with the filters to add.
	filters := map[string]string{}
	for _, l := range readCaddyLog(t, logPath) {
		if l.Logger == "http.handlers.webhook_verify" && l.Level == "warn" && strings.Contains(l.Msg, "log filter") {
			p, _ := l.fields["provider"].(string)
			filters[p], _ = l.fields["caddyfile"].(string)
		}
	}
	wantFilters := map[string]string{
		"gitlab": "log {\n\tformat filter {\n\t\trequest>headers>X-Gitlab-Token delete\n\t}\n}",
		"meta":   "log {\n\tformat filter {\n\t\trequest>uri query {\n\t\t\tdelete hub.verify_token\n\t\t}\n\t}\n}",
	}
	if !maps.Equal(filters, wantFilters) {
		t.Errorf("load warnings' filters %q, want %q (sns and paypal carry no secret)", filters, wantFilters)
	}
	filter, metaFilter := filters["gitlab"], filters["meta"]
	if filter == "" || metaFilter == "" {
		t.Fatal("no load warning with a log filter for the gitlab or meta route")
	}

	t.Run("replay store down: 503 from the gate, no secret logged", func(t *testing.T) {
		before := len(readCaddyLog(t, logPath))
		for _, tt := range []struct {
			name, base, want string
		}{
			{"no handle_errors", baseURL(), "webhook rejected: replay cache unavailable"},
			{"handle_errors shapes it", fmt.Sprintf("http://localhost:%d", shapedPort), "shaped 503: replay cache unavailable"},
		} {
			status, got, hdr := doPost(t, tt.base+"/gl-store", token, body)
			if status != http.StatusServiceUnavailable || hdr.Get("Retry-After") != retryAfter || strings.TrimSpace(got) != tt.want {
				t.Errorf("%s: %d %q (Retry-After %q), want 503 %q with Retry-After %s", tt.name, status, got, hdr.Get("Retry-After"), tt.want, retryAfter)
			}
		}
		lines := readCaddyLog(t, logPath)[before:]
		var storeErrors int
		for _, l := range lines {
			if strings.Contains(l.raw, logsToken) {
				t.Errorf("the secret token is in Caddy's log: %s", l.raw)
			}
			if strings.HasPrefix(l.Logger, "http.log.error") {
				t.Errorf("Caddy logged the gate's 503 itself (with the request's headers): %.300s", l.raw)
			}
			if l.Logger == "http.handlers.webhook_verify" && l.Level == "error" && l.Msg == "webhook replay store unavailable" {
				storeErrors++
			}
		}
		if storeErrors != 2 {
			t.Errorf("%d ERROR lines of the gate for 2 replay store failures, want 2; lines: %v", storeErrors, lines)
		}
	})

	t.Run("forged deliveries needing a fetch: 503, bounded log lines", func(t *testing.T) {
		const n = 40
		for _, kind := range []string{"sns", "paypal"} {
			before := len(readCaddyLog(t, logPath))
			statuses := map[int]int{}
			for i := range n {
				h, b := forgedFetchRequest(kind, i)
				st, _, _ := doPost(t, baseURL()+"/"+kind, h, b)
				statuses[st]++
			}
			if statuses[http.StatusServiceUnavailable] != n {
				t.Errorf("%s: statuses %v for %d forged deliveries with fresh certificate urls, want all 503", kind, statuses, n)
			}
			var lines []caddyLogLine // of the HTTP app (not the admin API's)
			byLogger := map[string]int{}
			for _, l := range readCaddyLog(t, logPath)[before:] {
				if strings.HasPrefix(l.Logger, "http.") {
					lines = append(lines, l)
					byLogger[l.Logger+" "+l.Level]++
				}
			}
			t.Logf("%s: %d log lines for %d forged requests: %v", kind, len(lines), n, byLogger)
			if len(lines) > logBurst+1 {
				t.Errorf("%s: %d log lines for %d forged requests (want at most %d, the gate's rate-limited lines): %v", kind, len(lines), n, logBurst+1, byLogger)
			}
		}
	})

	// Part 2: the load warning's filter, as printed, in the site's log
	// block and in the global options' one, at DEBUG with an access log:
	// the lines the module cannot prevent carry no secret either.
	errPath, accPath := filepath.Join(dir, "filtered.log"), filepath.Join(dir, "access.log")
	metaPath := filepath.Join(dir, "meta-access.log")
	closed := freeAddr(t)
	tc = newTester(t)
	tc.InitServer(logsGlobal(indent(withOutput(filter, fmt.Sprintf("output file %q", errPath), "level DEBUG"), 1)+"\n")+
		fmt.Sprintf("http://localhost:%d {\n", testHTTPPort)+indent(withOutput(filter, fmt.Sprintf("output file %q", accPath)), 1)+
		gitlab("/gl-store", failingStore("c"), `respond "forwarded"`)+
		gitlab("/gl-proxy", "", "reverse_proxy "+closed)+
		gitlab("/gl-ok", "", `respond "forwarded"`)+"\n}\n"+
		fmt.Sprintf("http://127.0.0.1:%d {\n", testHTTPPort)+indent(withOutput(metaFilter, fmt.Sprintf("output file %q", metaPath)), 1)+
		fmt.Sprintf(`
	webhook_verify meta {
		secret app-secret
		verify_token %s
	}
	respond "forwarded"
}
`, logsVerifyToken), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	for _, tt := range []struct {
		path   string
		header map[string]string
		want   int
	}{
		{"/gl-store", token, http.StatusServiceUnavailable},
		{"/gl-proxy", token, http.StatusBadGateway},
		{"/gl-ok", token, http.StatusOK},
		{"/gl-ok", map[string]string{"X-Gitlab-Token": "wrong-token"}, http.StatusUnauthorized},
	} {
		if st, _, _ := doPost(t, baseURL()+tt.path, tt.header, body); st != tt.want {
			t.Errorf("%s: status %d, want %d", tt.path, st, tt.want)
		}
	}
	// Meta's GET handshake carries the verify token in its query.
	challenge := fmt.Sprintf("http://127.0.0.1:%d/?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=%s", testHTTPPort, logsVerifyToken)
	if resp, err := (&http.Client{Timeout: 20 * time.Second}).Get(challenge); err != nil || resp.StatusCode != 200 {
		t.Errorf("meta handshake: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	acc, errs, metaAcc := readCaddyLog(t, accPath), readCaddyLog(t, errPath), readCaddyLog(t, metaPath)
	if len(acc) != 4 || len(metaAcc) != 1 {
		t.Errorf("%d and %d access log lines for 4 and 1 requests", len(acc), len(metaAcc))
	}
	var proxyErr, handshake bool
	for _, l := range slices.Concat(acc, errs, metaAcc) {
		if strings.Contains(l.raw, logsToken) || strings.Contains(l.raw, logsVerifyToken) {
			t.Errorf("a secret token is in a filtered log: %s", l.raw)
		}
		if l.Msg == "webhook handshake answered" && strings.Contains(l.raw, "hub.verify_token=REDACTED") {
			handshake = true // the gate's own line, at DEBUG
		}
		if strings.HasPrefix(l.Logger, "http.log.error") && l.Level == "error" && strings.Contains(l.raw, `"Content-Type"`) {
			proxyErr = true // the 502's line, with the request's other headers
		}
	}
	if !handshake {
		t.Error("no DEBUG line of the gate for the meta handshake, with the token redacted from its uri")
	}
	if !proxyErr {
		t.Errorf("no ERROR line of Caddy for the 502 in the filtered log (nothing was tested): %d lines", len(errs))
	}
}

// doPost sends a POST with its own client.
func doPost(t *testing.T, url string, headers map[string]string, body []byte) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.StatusCode, b.String(), resp.Header
}
