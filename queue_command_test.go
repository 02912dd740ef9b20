package webhookverify

import (
	"strings"
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
)

// TestWebhookHelpNamesQueue: `caddy webhook --help` lists the queue
// subcommand next to sign and keygen.
func TestWebhookHelpNamesQueue(t *testing.T) {
	c, ok := caddycmd.Commands()["webhook"]
	if !ok {
		t.Fatal("no webhook command registered")
	}
	if !strings.Contains(c.Usage, "queue") || !strings.Contains(c.Long, "caddy webhook queue list|show|retry|purge") {
		t.Fatalf("webhook command usage %q / long:\n%s\nwant queue mentioned", c.Usage, c.Long)
	}
}
