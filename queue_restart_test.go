//go:build unix

package webhookverify

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestQueueFileRestartInFlight: an entry in flight when Caddy is killed
// (-9) is delivered right after the restart, not once its lease
// (visibility 1m here) has run out: the file has one process, so the
// restarted Caddy frees the dead one's leases; the interrupted attempt
// counts (the delivery is attempt 2).
func TestQueueFileRestartInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ./cmd/caddy and runs Caddy processes; skipped with -short")
	}
	bin := buildCaddy(t)
	up := &queueUp{gate: make(chan struct{})}
	upAddr := listenOn(t, "127.0.0.1:0", up)
	qc := startQueueCaddy(t, bin, "restart", queueOpts{})
	qc.p.kill()
	cfg := fmt.Sprintf(`{
	admin 127.0.0.1:%d
	auto_https off
	persist_config off
	grace_period 1s
}

http://127.0.0.1:%d {
	bind 127.0.0.1
	handle /health {
		respond "ok"
	}
	handle /r {
		webhook_queue {
			name restart
			visibility 1m
			deliver {
				reverse_proxy %s
			}
		}
	}
}
`, qc.admin, qc.port, upAddr)
	if err := os.WriteFile(qc.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	qc.start(t)

	resp, err := qc.client.Post(qc.base+"/r", "text/plain", strings.NewReader("in flight"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get(QueueIDHeader)
	if resp.StatusCode != 200 || id == "" {
		t.Fatalf("accept: %d, id %q", resp.StatusCode, id)
	}
	if !waitFor(10*time.Second, func() bool {
		up.mu.Lock()
		defer up.mu.Unlock()
		return len(up.arrived) > 0
	}) {
		t.Fatal("the first attempt never reached the app")
	}
	qc.p.kill() // the attempt is in flight: the app holds it
	up.mu.Lock()
	up.gate = nil // from now on the app answers at once
	up.mu.Unlock()
	restart := time.Now()
	qc.start(t)
	if !waitFor(15*time.Second, func() bool { return up.delivered2xx(QueueIDHeader)[id] == 1 }) {
		t.Fatalf("the entry in flight at kill -9 was not delivered within 15s of the restart (its lease is 1m)")
	}
	took := time.Since(restart)
	got := up.attempts(QueueIDHeader, id)
	last := got[len(got)-1]
	if last.status != http.StatusOK || last.header.Get(QueueAttemptHeader) != "2" {
		t.Errorf("delivery after the restart: status %d, attempt %q, want 200 and attempt 2", last.status, last.header.Get(QueueAttemptHeader))
	}
	t.Logf("delivered %v after the restart began", took.Round(time.Millisecond))
}
