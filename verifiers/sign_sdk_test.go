package verifiers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sdkDir holds the Node script that runs the providers' own SDK verifiers
// (svix, standardwebhooks, stripe, @octokit/webhooks-methods, twilio,
// @sendgrid/eventwebhook, mailchannels-sdk, @contentful/node-apps-toolkit;
// exact versions in its
// package.json and package-lock.json). `npm ci` there installs them; .ci/run
// does, and sets WEBHOOK_VERIFY_REQUIRE_NODE=1 so the test cannot skip.
const sdkDir = "../testdata/sdk"

type sdkCase struct {
	Name      string            `json:"name"`
	SDK       string            `json:"sdk"`
	Secret    string            `json:"secret,omitempty"`
	PublicKey string            `json:"publicKey,omitempty"`
	URL       string            `json:"url,omitempty"`
	Headers   map[string]string `json:"headers"`
	Body      string            `json:"body"`
	want      bool
}

type sdkResult struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// TestSignWithProviderSDKs: deliveries made by the Go signers pass the
// providers' own verifiers, and the same deliveries with the body changed
// do not (so the SDK check can fail).
func TestSignWithProviderSDKs(t *testing.T) {
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat(filepath.Join(sdkDir, "node_modules")); err != nil || statErr != nil {
		if os.Getenv("WEBHOOK_VERIFY_REQUIRE_NODE") == "1" {
			t.Fatalf("node or %s/node_modules missing (run npm ci there): %v %v", sdkDir, err, statErr)
		}
		t.Skipf("node or %s/node_modules missing; run `npm ci` in %s", sdkDir, sdkDir)
	}
	sg, mc := mustKeys(t, "sendgrid"), mustKeys(t, "mailchannels")
	body := []byte(`{"type":"invoice.paid","id":"evt_1","amount":4200,"note":"caf\u00e9 ✓"}`)
	mcBody := []byte(`[{"email":"a@example.com","customer_handle":"abc123","timestamp":1,"event":"delivered"}]`)
	form := []byte("CallSid=CA123&From=%2B14158675309&Body=hello+world")
	now := time.Now()

	type sdkSpec struct {
		sdk, provider string
		req           SignRequest
		secret, pub   string
		url           string
	}
	specs := []sdkSpec{
		{sdk: "svix", provider: "svix", req: SignRequest{Secret: swSecret, Body: body}, secret: swSecret},
		{sdk: "svix", provider: "standard_webhooks", req: SignRequest{Secret: swSecret, Body: body}, secret: swSecret},
		{sdk: "standardwebhooks", provider: "standard_webhooks", req: SignRequest{Secret: swSecret, Body: body}, secret: swSecret},
		{sdk: "stripe", provider: "stripe", req: SignRequest{Secret: "whsec_test_secret", Body: body}, secret: "whsec_test_secret"},
		{sdk: "octokit", provider: "github", req: SignRequest{Secret: "It's a Secret to Everybody", Body: body}, secret: "It's a Secret to Everybody"},
		{sdk: "twilio", provider: "twilio", req: SignRequest{Secret: "12345", URL: "https://mycompany.com/myapp.php?foo=1&bar=2", Body: form}, secret: "12345"},
		{sdk: "twilio", provider: "twilio", req: SignRequest{Secret: "12345", URL: "https://mycompany.com/myapp.php", Body: body}, secret: "12345"},
		{sdk: "sendgrid", provider: "sendgrid", req: SignRequest{PrivateKey: sg.PrivateKey, Body: body}, pub: sg.PublicKey},
		{sdk: "mailchannels", provider: "mailchannels", req: SignRequest{PrivateKey: mc.PrivateKey, KeyID: "mckey", Body: mcBody}, pub: mc.PublicKey},
		{sdk: "contentful", provider: "contentful", req: SignRequest{Secret: cfS2, URL: "https://example.com/hooks/contentful?space=yadj1kx9rmg0&x=%41", Body: body}, secret: cfS2},
	}
	var cases []sdkCase
	for i, sp := range specs {
		sp.req.Now = now
		s, err := Sign(sp.provider, sp.req)
		if err != nil {
			t.Fatalf("%s: %v", sp.provider, err)
		}
		h := map[string]string{}
		for k := range s.Header {
			h[strings.ToLower(k)] = s.Header.Get(k)
		}
		u := sp.req.URL
		if s.Query != "" {
			u = strings.SplitN(u, "?", 2)[0] + "?" + s.Query
		}
		name := sp.sdk + "/" + sp.provider + "/" + string(rune('a'+i))
		c := sdkCase{Name: name, SDK: sp.sdk, Secret: sp.secret, PublicKey: sp.pub, URL: u, Headers: h,
			Body: base64.StdEncoding.EncodeToString(s.Body), want: true}
		bad := c
		bad.Name += " tampered"
		tb := bytes.Replace(s.Body, []byte("1"), []byte("2"), 1) // a value, still valid JSON or form
		bad.Body, bad.want = base64.StdEncoding.EncodeToString(tb), false
		cases = append(cases, c, bad)
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "verify.mjs")
	cmd.Dir = sdkDir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node verify.mjs: %v\n%s", err, stderr.String())
	}
	var results []sdkResult
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(cases) {
		t.Fatalf("node output %q: %v", out, err)
	}
	for i, r := range results {
		if r.OK != cases[i].want {
			t.Errorf("%s: sdk ok = %v, want %v (%s)", r.Name, r.OK, cases[i].want, r.Error)
		}
		if r.Error != "" {
			t.Logf("%s: %s", r.Name, r.Error)
		}
	}
}
