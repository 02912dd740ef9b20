//go:build unix

package webhookverify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webhookverify/caddy-webhook-verify/queue"
)

// TestQueueInProcess runs webhook_queue in the test's own Caddy
// (caddytest), so `go test -race` covers the handler, the workers and the
// metrics collector together: accept → deliver → retry → dead through a
// real reverse_proxy; the caddy_webhook_queue_* metrics scraped from the
// admin endpoint as entries are appended, delivered and dead-lettered; a
// queue that is no longer configured reported by the admin API, `caddy
// webhook queue list` and a WARN line; and a log_only gate whose
// unverified request is refused, not queued.
func TestQueueInProcess(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "queues.db")
	logPath := filepath.Join(dir, "caddy.log")

	// Entries of a queue the config below does not have.
	old, err := queue.OpenBolt(dbPath, queue.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := old.Append(context.Background(), "ip_gone", &queue.Entry{Method: "POST", URI: "/gone"}, queue.Limits{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	defer orphanReportDelay.Store(orphanReportDelay.Swap(int64(100 * time.Millisecond)))

	up := &queueUp{gate: make(chan struct{})}
	upAddr := listenOn(t, "127.0.0.1:0", up)
	tc := newTester(t)
	tc.InitServer(logsGlobal(fmt.Sprintf("\tlog {\n\t\toutput file %q\n\t\tformat json\n\t\tlevel DEBUG\n\t}", logPath))+fmt.Sprintf(`
http://localhost:%[1]d {
	handle /q/hook {
		webhook_verify standard_webhooks {
			secret %[2]s
		}
		webhook_queue {
			name ip_main
			store file %[3]s
			retry 3 1h
			backoff 50ms 100ms
			concurrency 1
			visibility 20s
			deliver {
				reverse_proxy %[4]s
			}
		}
	}
	handle /q/shadow/hook {
		webhook_verify standard_webhooks {
			secret %[2]s
			mode log_only
		}
		webhook_queue {
			name ip_shadow
			store file %[3]s
			deliver {
				reverse_proxy %[4]s
			}
		}
	}
}
`, testHTTPPort, swSecret, dbPath, upAddr), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	// The next test's config stops the workers and closes the file; so
	// does this one's end.
	defer tc.InitServer(globalOptions()+fmt.Sprintf("http://localhost:%d {\n\trespond 200\n}\n", testHTTPPort), "caddyfile")

	hook := &caddyInstance{name: "inproc", base: baseURL() + "/q", client: &http.Client{Timeout: 10 * time.Second}}
	shadow := &caddyInstance{name: "inproc", base: baseURL() + "/q/shadow", client: hook.client}
	before := scrapeQueueMetrics(t)

	// Accept while the app holds the first attempt: one in flight (concurrency 1), the rest pending.
	cases := []struct {
		extra    map[string]string
		attempts int
		dead     bool
	}{
		{nil, 1, false},
		{nil, 1, false},
		{map[string]string{"X-Test-Fail": "1"}, 2, false},    // 500, then 200
		{map[string]string{"X-Test-Status": "400"}, 1, true}, // 4xx: dead at once
		{map[string]string{"X-Test-Fail": "10"}, 3, true},    // retries exhausted
		{map[string]string{"X-Test-Fail": "1", "X-Test-Retry-After": "0"}, 2, false},
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		ids[i] = uniqueID("inproc")
		st, body, h := hook.send(t, ids[i], c.extra)
		if st != 200 || body != "queued\n" || h.Get(QueueIDHeader) == "" {
			t.Fatalf("accept %d: %d %q", i, st, body)
		}
	}
	if !waitFor(5*time.Second, func() bool {
		m := scrapeQueueMetrics(t)
		return m.get(`caddy_webhook_queue_entries{configured="true",route="ip_main",state="in_flight"}`) == 1 &&
			m.get(`caddy_webhook_queue_entries{configured="true",route="ip_main",state="pending"}`) == float64(len(cases)-1)
	}) {
		t.Fatalf("while the app holds an attempt, metrics:\n%s", scrapeQueueMetrics(t).grep("ip_main"))
	}
	m := scrapeQueueMetrics(t)
	if d := m.delta(before, `caddy_webhook_queue_requests_total{result="queued",route="ip_main"}`); d != float64(len(cases)) {
		t.Errorf("requests_total queued moved by %v, want %d", d, len(cases))
	}
	if age := m.get(`caddy_webhook_queue_oldest_pending_age_seconds{configured="true",route="ip_main"}`); age <= 0 || age > 60 {
		t.Errorf("oldest pending age %v, want a few seconds at most, above 0", age)
	}

	// The log_only route: a request that does not verify is refused as
	// enforce would refuse it, and nothing is queued.
	bad := signedHeaders(uniqueID("shadow"), nil)
	bad["webhook-signature"] = "v1,AAAA" + bad["webhook-signature"][7:]
	if st, body, _ := shadow.postHook(t, bad); st != http.StatusUnauthorized {
		t.Errorf("unverified request behind a log_only gate: %d %q, want 401 (not queued)", st, body)
	}

	// Let the app answer: everything settles.
	close(up.gate)
	want := 0
	for _, c := range cases {
		want += c.attempts
	}
	if !waitFor(15*time.Second, func() bool {
		m := scrapeQueueMetrics(t)
		return m.get(`caddy_webhook_queue_entries{configured="true",route="ip_main",state="pending"}`) == 0 &&
			m.get(`caddy_webhook_queue_entries{configured="true",route="ip_main",state="in_flight"}`) == 0
	}) {
		t.Fatalf("not settled; metrics:\n%s", scrapeQueueMetrics(t).grep("ip_main"))
	}
	for i, c := range cases {
		got := up.attempts("Webhook-Id", ids[i])
		if len(got) != c.attempts {
			t.Errorf("case %d: %d attempts, want %d", i, len(got), c.attempts)
			continue
		}
		for n, g := range got {
			if g.header.Get(QueueAttemptHeader) != strconv.Itoa(n+1) {
				t.Errorf("case %d: attempt %d carries %s: %q", i, n+1, QueueAttemptHeader, g.header.Get(QueueAttemptHeader))
			}
		}
	}
	m = scrapeQueueMetrics(t)
	for metric, v := range map[string]float64{
		`caddy_webhook_queue_attempts_total{outcome="delivered",route="ip_main"}`:   4,
		`caddy_webhook_queue_attempts_total{outcome="retry",route="ip_main"}`:       4,
		`caddy_webhook_queue_attempts_total{outcome="dead",route="ip_main"}`:        2,
		`caddy_webhook_queue_delivery_duration_seconds_count{route="ip_main"}`:      float64(want),
		`caddy_webhook_queue_requests_total{result="unverified",route="ip_shadow"}`: 1,
	} {
		if d := m.delta(before, metric); d != v {
			t.Errorf("%s moved by %v, want %v", metric, d, v)
		}
	}
	for metric, v := range map[string]float64{
		`caddy_webhook_queue_entries{configured="true",route="ip_main",state="dead"}`:       2,
		`caddy_webhook_queue_entries{configured="false",route="ip_gone",state="pending"}`:   2,
		`caddy_webhook_queue_oldest_pending_age_seconds{configured="true",route="ip_main"}`: 0,
	} {
		if got := m.get(metric); got != v {
			t.Errorf("%s = %v, want %v", metric, got, v)
		}
	}
	if m.has(`route="ip_shadow",state="pending"`) && m.get(`caddy_webhook_queue_entries{configured="true",route="ip_shadow",state="pending"}`) != 0 {
		t.Error("the log_only route's unverified request was queued")
	}

	// The queue no longer configured: in the admin API, in `caddy webhook
	// queue list`, and logged at WARN.
	var qs []adminQueue
	if err := queueAdminCall(fmt.Sprintf("localhost:%d", testAdminPort), http.MethodGet, queueAdminPrefix, &qs); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, q := range qs {
		if q.Name == "ip_gone" {
			found = true
			if q.Configured || q.Pending != 2 {
				t.Errorf("admin list: %+v, want ip_gone not configured with 2 pending", q)
			}
		}
	}
	if !found {
		t.Errorf("admin list has no ip_gone: %+v", qs)
	}
	cmd := newQueueCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"list", "--address", fmt.Sprintf("localhost:%d", testAdminPort)})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !regexpMatch(`(?m)^ip_gone\s+false\s+2\s+0\s+0\s`, out.String()) || !regexpMatch(`(?m)^ip_main\s+true\s+0\s+0\s+2\s`, out.String()) {
		t.Errorf("caddy webhook queue list:\n%s", out.String())
	}
	if !waitFor(5*time.Second, func() bool { return orphanWarned(t, logPath, "ip_gone") }) {
		b, _ := os.ReadFile(logPath)
		t.Errorf("no WARN naming ip_gone as not configured in the log:\n%s", b)
	}
	if orphanWarned(t, logPath, "ip_main") {
		t.Error("the configured queue was reported as not configured")
	}
}

// orphanWarned reports whether the JSON log at path holds the WARN about
// queue name holding entries while not configured.
func orphanWarned(t *testing.T, path, name string) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Queue string `json:"queue"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Level == "warn" && l.Queue == name &&
			strings.Contains(l.Msg, "not configured holds entries") {
			return true
		}
	}
	return false
}

// queueMetricsText is a scrape of the admin metrics endpoint: sample lines
// by their name and labels as exposed (labels sorted by name).
type queueMetricsText map[string]float64

func scrapeQueueMetrics(t *testing.T) queueMetricsText {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://localhost:%d/metrics", testAdminPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m := queueMetricsText{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "caddy_webhook_queue_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q", line)
		}
		m[line[:i]] = v
	}
	return m
}

func (m queueMetricsText) get(k string) float64 { return m[k] }

func (m queueMetricsText) delta(before queueMetricsText, k string) float64 { return m[k] - before[k] }

func (m queueMetricsText) has(sub string) bool {
	for k := range m {
		if strings.Contains(k, sub) {
			return true
		}
	}
	return false
}

func (m queueMetricsText) grep(sub string) string {
	var b strings.Builder
	for k, v := range m {
		if strings.Contains(k, sub) {
			fmt.Fprintf(&b, "%s %v\n", k, v)
		}
	}
	return b.String()
}
