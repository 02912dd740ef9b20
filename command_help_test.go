package webhookverify

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// TestKeygenSignCommandWorks: for every keygen provider, the sign command
// keygen --out prints (with a body file put in for its placeholder) signs
// a delivery.
func TestKeygenSignCommandWorks(t *testing.T) {
	dir := t.TempDir()
	body := writeFile(t, dir, "event.json", `{"id":"evt_1","event_type":"PAYMENT.CAPTURE.COMPLETED","type":"test"}`)
	for _, p := range verifiers.KeygenProviders() {
		t.Run(p, func(t *testing.T) {
			out, errOut, err := runWebhookCmd(t, "", "keygen", p, "--out", filepath.Join(dir, p))
			if err != nil {
				t.Fatalf("keygen: %v %s", err, errOut)
			}
			var line string
			for _, l := range strings.Split(out, "\n") {
				if s, ok := strings.CutPrefix(l, "# to sign: caddy webhook "); ok {
					line = s
				}
			}
			if line == "" {
				t.Fatalf("no sign command in:\n%s", out)
			}
			line = strings.Replace(line, "--body-file <file> ...", "--body-file "+body, 1)
			if _, errOut, err := runWebhookCmd(t, "", strings.Fields(line)...); err != nil {
				t.Errorf("%s: %v %s", line, err, errOut)
			}
		})
	}
}

// TestWebhookHelpComplete: `caddy webhook --help` names every keygen
// provider, and `sign --help` names every provider that signs with a key.
func TestWebhookHelpComplete(t *testing.T) {
	top := webhookCommandLong
	keygen := newKeygenCommand().Long
	sign := newSignCommand().Long
	for _, p := range verifiers.KeygenProviders() {
		if !strings.Contains(top, p) {
			t.Errorf("caddy webhook --help does not name keygen provider %s", p)
		}
		if !strings.Contains(keygen, p) {
			t.Errorf("keygen --help does not name %s", p)
		}
		if _, after, _ := strings.Cut(sign, "private key:"); !strings.Contains(strings.SplitN(after, "url:", 2)[0], p) {
			t.Errorf("sign --help's private key line does not name %s", p)
		}
	}
}
