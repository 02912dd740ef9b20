package webhookverify

import (
	"encoding/hex"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webhookverify/caddy-webhook-verify/internal/lengthext"
	"github.com/webhookverify/caddy-webhook-verify/internal/presetvectors"
)

// TestIntegrationPresetsHashExtension is defect 1 of issue 13 through
// Caddy: HubSpot v1 and v2 sign a plain SHA-256(secret || content), so a
// captured delivery (the published vectors of internal/presetvectors)
// extended with its glue padding and a new event, its signature computed
// from the captured one alone (internal/lengthext, no secret), was
// forwarded to the app as a new delivery. It now gets 400 and never
// reaches the upstream; the genuine delivery still passes.
func TestIntegrationPresetsHashExtension(t *testing.T) {
	if testing.Short() {
		t.Skip("caddytest integration test")
	}
	providers := []string{"hubspot_v1", "hubspot_v2"}
	vecs := map[string]presetvectors.Vector{}
	var routes []e2eRoute
	for _, v := range presetvectors.Vectors {
		for _, p := range providers {
			if v.Provider == p {
				vecs[p] = v
				opts := "secret " + strconv.Quote(v.Secrets[0])
				if v.URL != "" {
					opts += "\nurl " + v.URL + "\nurl_path /ext-" + p
				}
				routes = append(routes, e2eRoute{"/ext-" + p, p, opts})
			}
		}
	}
	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	tc := newTester(t)
	tc.InitServer(e2eCaddyfile(srv.Listener.Addr().String(), routes, strconv.FormatInt(time.Now().UnixNano(), 36)), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	for _, p := range providers {
		t.Run(p, func(t *testing.T) {
			v := vecs[p]
			path := "/ext-" + p
			if st, msg := presetSend(t, tc, "POST", path, v.Header, []byte(v.Body)); st != 200 || !strings.HasPrefix(msg, "upstream got") {
				t.Fatalf("genuine delivery: %d %q, want forwarded", st, msg)
			}
			signed := v.Body
			if v.URL != "" {
				signed = "POST" + v.URL + v.Body
			}
			sig, _ := hex.DecodeString(v.Header["X-HubSpot-Signature"])
			ext := `,[{"eventId":2,"subscriptionType":"contact.deletion","objectId":1}]`
			glue, forged := lengthext.SHA256(sig, len(v.Secrets[0])+len(signed), []byte(ext))
			h := map[string]string{"X-HubSpot-Signature": hex.EncodeToString(forged), "X-HubSpot-Signature-Version": v.Header["X-HubSpot-Signature-Version"]}
			st, msg := presetSend(t, tc, "POST", path, h, []byte(v.Body+string(glue)+ext))
			if st != 400 {
				t.Errorf("length extension: %d %q, want 400", st, msg)
			}
			if n := len(up.requests(path)); n != 1 {
				t.Errorf("the upstream saw %d requests, want 1 (the genuine one)", n)
			}
		})
	}
}
