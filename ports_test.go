package webhookverify

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTestPortsIsolated runs this test binary twice side by side, with no
// WV_TEST_* variables, as two runs on one machine would: each starts its
// in-process Caddy answering with its own token, and each must get only its
// own answers, on ports of its own. With fixed default ports the second run
// loaded its config into the first run's Caddy (caddytest reuses whatever
// answers on the admin port) and the first run got the second's answers.
func TestTestPortsIsolated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the test binary twice; skipped with -short")
	}
	if os.Getenv("WV_ISO_DIR") != "" {
		t.Skip("inside a child run")
	}
	// Not os.Args[0]: caddytest sets os.Args to start its in-process Caddy.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WV_TEST_") {
			env = append(env, kv)
		}
	}
	tokens := []string{"run-a", "run-b"}
	outs := make([][]byte, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(ctx, self, "-test.run", "^TestTestPortsChild$", "-test.count", "1", "-test.v")
			cmd.Env = append(env[:len(env):len(env)], "WV_ISO_DIR="+dir, "WV_ISO_TOKEN="+tok, "WV_ISO_PEER="+tokens[1-i])
			outs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	portsRe := regexp.MustCompile(`ports admin=(\d+) http=(\d+) https=(\d+)`)
	var seen []string
	for i, tok := range tokens {
		if errs[i] != nil || !strings.Contains(string(outs[i]), "--- PASS: TestTestPortsChild") {
			t.Errorf("%s: %v\n%s", tok, errs[i], tail(outs[i], 4000))
			continue
		}
		m := portsRe.FindStringSubmatch(string(outs[i]))
		if m == nil {
			t.Errorf("%s: no ports line\n%s", tok, tail(outs[i], 4000))
			continue
		}
		seen = append(seen, m[1:]...)
	}
	for i := range seen {
		for j := i + 1; j < len(seen); j++ {
			if seen[i] == seen[j] {
				t.Errorf("two runs share port %s (ports %v)", seen[i], seen)
			}
		}
	}
}

// TestTestPortsChild is one side of TestTestPortsIsolated (it skips itself
// otherwise): a site answering with its token; once both sides are up, 50
// requests that must all come back with its own token; then it waits for the
// other side to finish, so both Caddy instances run throughout.
func TestTestPortsChild(t *testing.T) {
	dir, tok, peer := os.Getenv("WV_ISO_DIR"), os.Getenv("WV_ISO_TOKEN"), os.Getenv("WV_ISO_PEER")
	if dir == "" {
		t.Skip("run by TestTestPortsIsolated")
	}
	t.Logf("ports admin=%d http=%d https=%d", testAdminPort, testHTTPPort, testHTTPSPort)
	mark := func(what string) {
		if err := os.WriteFile(filepath.Join(dir, tok+"."+what), nil, 0o600); err != nil {
			t.Error(err)
		}
	}
	defer mark("exit")
	tc := newTester(t)
	tc.InitServer(globalOptions()+fmt.Sprintf("http://localhost:%d {\n\trespond %q\n}\n", testHTTPPort, tok), "caddyfile")
	if t.Failed() {
		return
	}
	await := func(what string) {
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(filepath.Join(dir, peer+"."+what)); err == nil {
				return
			}
			if _, err := os.Stat(filepath.Join(dir, peer+".exit")); err == nil {
				t.Fatalf("%s: the other run ended before %s", tok, what)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%s: the other run never got %s", tok, what)
	}
	mark("ready")
	await("ready")
	defer func() { mark("done"); await("done") }()
	client := &http.Client{Timeout: 5 * time.Second}
	for i := 0; i < 50; i++ {
		resp, err := client.Get(baseURL() + "/")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != tok {
			t.Fatalf("request %d: answered %q, want %q: the other run's Caddy answered", i, b, tok)
		}
	}
}

// tail returns the last n bytes of b.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
