package webhookverify

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// TestExampleListensOnLoopback: Caddyfile.example, with its published demo
// secrets, binds every server (the gate's and the demo upstream's, which
// would be a way around the gate) to loopback addresses only.
func TestExampleListensOnLoopback(t *testing.T) {
	src, err := os.ReadFile("Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(src, map[string]any{"filename": "Caddyfile.example"})
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Apps struct {
			HTTP caddyhttp.App `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Apps.HTTP.Servers) < 2 {
		t.Fatalf("%d servers, want the gate's and the demo upstream's", len(cfg.Apps.HTTP.Servers))
	}
	for name, srv := range cfg.Apps.HTTP.Servers {
		for _, l := range srv.Listen {
			host, _, err := net.SplitHostPort(l)
			if ip := net.ParseIP(strings.Trim(host, "[]")); err != nil || ip == nil || !ip.IsLoopback() {
				t.Errorf("server %s listens on %q, want a loopback address only", name, l)
			}
		}
	}
}

// TestExampleEnvSourceable: example.env can be sourced by a shell (set -a;
// . ./example.env), and gives the same values as Caddy's --envfile.
func TestExampleEnvSourceable(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	out, err := exec.Command("bash", "-c", `set -a; . ./example.env && printf '%s' "$GITHUB_WEBHOOK_SECRET"`).CombinedOutput()
	if err != nil || string(out) != ghSecret {
		t.Errorf("sourcing example.env: %v, GITHUB_WEBHOOK_SECRET=%q, want %q", err, out, ghSecret)
	}
}
