package webhookverify

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// End-to-end routes and cases of the providers with handshakes (zoom, the
// Meta family, twitter/x, dropbox, worldline, discord, telnyx, twitch),
// joined to TestIntegrationProviders' config by e2eRoutes and e2eCases,
// and TestIntegrationHandshakes: every handshake (Slack url_verification,
// Zoom endpoint.url_validation, Mandrill HEAD, Meta's GET, the X CRC,
// Dropbox's and Worldline's GETs, Discord's PING, Twitch's
// webhook_callback_verification) is answered by Caddy without reaching
// the upstream, and a forged one is refused.
//
// The vectors are copied from verifiers/<provider>_test.go, where their
// sources are cited (the Worldline Connect SDK's, twitch_api2's; the
// others were signed by node's crypto with the commands recorded there).
const (
	e2eZoomSecret     = "Zm9vYmFyc2VjcmV0dG9rZW4"
	e2eZoomTS         = "1654503849"
	e2eZoomValidation = `{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}`
	e2eZoomValidSig   = "5ceff7c464eafbe32bac501c65f598ca6310d50dd73977ac1a05441a9f2f2c0d"
	e2eZoomEncrypted  = "5daa23410d6612ecfc2d3d0f255af688523accdcef494274793df42d7afb2eb8"
	e2eZoomEvent      = `{"event":"meeting.started","payload":{"account_id":"AAAAAABBBB","object":{"id":"1234567890","uuid":"czLF6FFFoQOKgAB99DlDb9g==","host_id":"x1yCzABCDEfg23HiJKl4mN","topic":"My Meeting","type":2,"start_time":"2022-06-06T08:30:00Z","timezone":"America/Los_Angeles","duration":60}},"event_ts":1654503849680}`
	e2eZoomEventSig   = "920e9932cf2ab51ddf46cf40ac911213367fec63090bb3be6954bb3fc55122eb"

	e2eMetaSecret = "meta-app-secret-1234"
	e2eMetaBody   = `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},"field":"messages"}]}]}`
	e2eMetaSig    = "1068be8fd7bfa0ba12fdf9b7a445c423fd8e863b4c7022b9f13d9808e28bf173"
	e2eMetaToken  = "meatyhamhock"

	e2eTwitterSecret   = "twitter-consumer-secret-5678"
	e2eTwitterBody     = `{"for_user_id":"2244994945","tweet_create_events":[{"id_str":"1050118621198921728","text":"To make room for more expression, we will now count all emojis as equal","user":{"id_str":"6253282","screen_name":"TwitterAPI"}}]}`
	e2eTwitterSig      = "i3LFCX3QykFHWq6cM9+nN5X5EndYgBtRou1KNWl7vLM="
	e2eTwitterCRC      = "hmJyaZx5AEgrD2wLsmHsWw"
	e2eTwitterCRCReply = `{"response_token":"sha256=j4ex7Ya8Hf865PAzUadqr3yOvA5szYNCnuO0FOEhJCM="}`

	e2eDropboxSecret = "dropbox-app-secret"
	e2eDropboxBody   = `{"list_folder": {"accounts": ["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]}, "delta": {"users": [12345678]}}`
	e2eDropboxSig    = "2bc2b96598b80c2f2083a056de14d73ef9555deb6d554f2332327d06a70734fc"

	e2eWorldlineSecret = "hello+world"
	e2eWorldlineSig    = "2S7doBj/GnJnacIjSJzr5fxGM5xmfQyFAwxv1I53ZEk="

	e2eDiscordPub     = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
	e2eDiscordTS      = "1700000000"
	e2eDiscordPing    = `{"application_id":"123456789012345678","id":"987654321098765432","token":"aW50ZXJhY3Rpb246OTg3NjU0MzIxMDk4NzY1NDMyOnRva2Vu","type":1,"user":{"id":"53908232506183680","username":"mason"},"version":1}`
	e2eDiscordPingSig = "a1fdb3ec85eb5ca57cb6e3b548d40275834087199ff5cbfdc2c15d8a90647eb677248d21656fd2cfcae0a44c14320012cf9e62d1aed068e3950345e3c8cdd901"
	e2eDiscordCmd     = `{"application_id":"123456789012345678","data":{"id":"771825006014889984","name":"blep","type":1},"id":"987654321098765433","token":"dG9rZW4y","type":2,"version":1}`
	e2eDiscordCmdSig  = "bb335bc70e1620efe7e691fd54710f66b783653dc77b6132b52a3f53651f90c2b875c84e0dcbb690e02a6a852157f492b4b0651a7fe4702549ad077f839ee501"

	e2eTelnyxPub  = "PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw="
	e2eTelnyxTS   = "1700000000"
	e2eTelnyxBody = `{"data":{"event_type":"message.received","id":"b301ed3f-1490-491f-995f-6e64e69674d4","occurred_at":"2023-11-14T22:13:20.000+00:00","payload":{"direction":"inbound","from":{"phone_number":"+13125550001"},"text":"Hello from Telnyx!","to":[{"phone_number":"+17735550002"}]},"record_type":"event"},"meta":{"attempt":1,"delivered_to":"https://example.com/webhooks"}}`
	e2eTelnyxSig  = "PfbaYW1PYjRDJsOEGnrxJz8UrD3XV9eHZt+aHwGROYIGXZhquTay/aREKmZUVJUyI6oidhrAekg1j5jP6StgCA=="

	e2eTwitchSecret  = "secretabcd"
	e2eTwitchID      = "ae2ff348-e102-16be-a3eb-6830c1bf38d2"
	e2eTwitchTS      = "2021-02-19T23:47:00.8091512Z"
	e2eTwitchBody    = `{"subscription":{"id":"ae2ff348-e102-16be-a3eb-6830c1bf38d2","status":"enabled","type":"channel.follow","version":"1","condition":{"broadcaster_user_id":"44429626"},"transport":{"method":"webhook","callback":"null"},"created_at":"2021-02-19T23:47:00.7621315Z"},"event":{"user_id":"28408015","user_login":"testFromUser","user_name":"testFromUser","broadcaster_user_id":"44429626","broadcaster_user_login":"44429626","broadcaster_user_name":"testBroadcaster"}}`
	e2eTwitchSig     = "d10f5bd9474b7ac7bd7105eb79c2d52768b4d0cd2a135982c3bf5a1d59a78823"
	e2eTwitchVerID   = "e76c6bd4-55c9-4987-8304-da1588d8988b"
	e2eTwitchVerTS   = "2019-11-16T10:11:12.123Z"
	e2eTwitchVerBody = `{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"webhook_callback_verification_pending","type":"channel.follow","version":"1","cost":1,"condition":{"broadcaster_user_id":"12826"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2019-11-16T10:11:12.123Z"}}`
	e2eTwitchVerSig  = "84609d21bec5008d0b4ea06c72c38cfa7c59e16102ed98cbc9ba0d7e4f27b391"

	// Adyen's Go library vector in the JSON envelope (verifiers/adyen_test.go).
	e2eAdyenKey  = "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00"
	e2eAdyenBody = `{"live":"false","notificationItems":[{"NotificationRequestItem":{"additionalData":{"hmacSignature":"ipnxGCaUZ4l8TUW75a71/ghd2Fe5ffvX0pV4TLTntIc="},"amount":{"currency":"EUR","value":1000},"eventCode":"EVENT","eventDate":"1970-01-01T00:00:00+01:00","merchantAccountCode":"merchantAccount","merchantReference":"reference","originalReference":"originalReference","paymentMethod":"VISA","pspReference":"pspReference","reason":"reason","success":"true"}}]}`

	// Slack's url_verification (verifiers/slack_test.go).
	e2eSlackURLVerification    = `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`
	e2eSlackURLVerificationSig = "f9bd80929259f3f6d5fe3a3186c453c89cd1ad4862815a15837584f31c993652"
)

// e2ePayPalCert is the absolute path of verifiers/testdata/paypal/cert.pem
// (verifiers/paypal_test.go), pinned by the paypal routes.
func e2ePayPalCert() string {
	p, err := filepath.Abs("verifiers/testdata/paypal/cert.pem")
	if err != nil {
		panic(err)
	}
	return p
}

// e2eProviderRoutes are the routes of these providers.
func e2eProviderRoutes() []e2eRoute {
	meta := "secret " + e2eMetaSecret + "\nverify_token " + e2eMetaToken
	return []e2eRoute{
		{"/zoom", "zoom", "secret " + e2eZoomSecret + "\ntolerance off"},
		{"/zoom-stale", "zoom", "secret " + e2eZoomSecret},
		{"/facebook_graph_api", "facebook_graph_api", meta},
		{"/facebook_messenger", "facebook_messenger", meta},
		{"/instagram", "instagram", meta},
		{"/whatsapp", "whatsapp", meta},
		{"/meta", "meta", meta},
		{"/twitter", "twitter", "secret " + e2eTwitterSecret},
		{"/x", "x", "secret " + e2eTwitterSecret},
		{"/dropbox", "dropbox", "secret " + e2eDropboxSecret},
		{"/worldline", "worldline", "secret " + e2eWorldlineSecret},
		{"/discord", "discord", "public_key " + e2eDiscordPub + "\ntolerance off"},
		{"/discord-stale", "discord", "public_key " + e2eDiscordPub},
		{"/telnyx", "telnyx", "public_key " + e2eTelnyxPub + "\ntolerance off"},
		{"/telnyx-stale", "telnyx", "public_key " + e2eTelnyxPub},
		{"/twitch", "twitch", "secret " + e2eTwitchSecret + "\ntolerance off"},
		{"/twitch-stale", "twitch", "secret " + e2eTwitchSecret},
		{"/adyen", "adyen", "secret " + e2eAdyenKey},
		{"/paypal", "paypal", fmt.Sprintf("webhook_id 1JE4291016473214C\ncertificate %q\ntolerance off", e2ePayPalCert())},
		{"/paypal-stale", "paypal", fmt.Sprintf("webhook_id 1JE4291016473214C\ncertificate %q", e2ePayPalCert())},
	}
}

// e2eReadTestdata reads a fixture file.
func e2eReadTestdata(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return b
}

// e2eWorldlineBody is the Worldline Connect Go SDK's testValidBody, kept
// verbatim in verifiers/testdata/worldline.
func e2eWorldlineBody() []byte {
	b, err := os.ReadFile("verifiers/testdata/worldline/payment_paid.json")
	if err != nil {
		panic(err)
	}
	return b
}

// e2eProviderCases are the deliveries sent to those routes: each signed
// example forwarded byte for byte, a tampered copy refused with 401, a
// stale one with 401 where the scheme has a timestamp.
func e2eProviderCases() []e2eCase {
	const ctJSON = "application/json"
	zoomH := map[string]string{"x-zm-request-timestamp": e2eZoomTS, "x-zm-signature": "v0=" + e2eZoomEventSig, "Content-Type": ctJSON}
	metaH := map[string]string{"X-Hub-Signature-256": "sha256=" + e2eMetaSig, "Content-Type": ctJSON}
	twH := map[string]string{"x-twitter-webhooks-signature": "sha256=" + e2eTwitterSig, "Content-Type": ctJSON}
	dbH := map[string]string{"X-Dropbox-Signature": e2eDropboxSig, "Content-Type": ctJSON}
	wlH := map[string]string{"X-GCS-Signature": e2eWorldlineSig, "X-GCS-KeyId": "dummy-key-id", "Content-Type": ctJSON}
	dcH := map[string]string{"X-Signature-Ed25519": e2eDiscordCmdSig, "X-Signature-Timestamp": e2eDiscordTS, "Content-Type": ctJSON}
	txH := map[string]string{"telnyx-signature-ed25519": e2eTelnyxSig, "telnyx-timestamp": e2eTelnyxTS, "Content-Type": ctJSON}
	tchH := map[string]string{"Twitch-Eventsub-Message-Id": e2eTwitchID, "Twitch-Eventsub-Message-Timestamp": e2eTwitchTS,
		"Twitch-Eventsub-Message-Signature": "sha256=" + e2eTwitchSig, "Twitch-Eventsub-Message-Type": "notification", "Content-Type": ctJSON}
	wl := e2eWorldlineBody()
	ppBody, ppSig := e2eReadTestdata("verifiers/testdata/paypal/body.json"), string(bytes.TrimSpace(e2eReadTestdata("verifiers/testdata/paypal/sig.b64")))
	ppH := map[string]string{"PAYPAL-TRANSMISSION-ID": "69cd13f0-d67a-11e5-baa3-778b53f4ae55", "PAYPAL-TRANSMISSION-TIME": "2016-02-18T20:01:35Z",
		"PAYPAL-TRANSMISSION-SIG": ppSig, "PAYPAL-CERT-URL": "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77",
		"PAYPAL-AUTH-ALGO": "SHA256withRSA", "Content-Type": ctJSON}
	var cases []e2eCase
	cases = append(cases,
		e2eOK("zoom: meeting.started", "/zoom", zoomH, []byte(e2eZoomEvent), 0, "", e2eZoomTS),
		e2eReject("zoom: tampered", "/zoom", zoomH, e2eReplace([]byte(e2eZoomEvent), "My Meeting", "My Meetinh"), 401),
		e2eReject("zoom: stale", "/zoom-stale", zoomH, []byte(e2eZoomEvent), 401),
	)
	for _, p := range []string{"/facebook_graph_api", "/facebook_messenger", "/instagram", "/whatsapp", "/meta"} {
		cases = append(cases,
			e2eOK(p[1:]+": whatsapp message", p, metaH, []byte(e2eMetaBody), 0, "", "-"),
			e2eReject(p[1:]+": tampered", p, metaH, e2eReplace([]byte(e2eMetaBody), "another color", "another colour"), 401),
		)
	}
	for _, p := range []string{"/twitter", "/x"} {
		cases = append(cases,
			e2eOK(p[1:]+": tweet_create_events", p, twH, []byte(e2eTwitterBody), 0, "", "-"),
			e2eReject(p[1:]+": tampered", p, twH, e2eReplace([]byte(e2eTwitterBody), "equal", "equals"), 401),
			// A body the CRC would sign: refused although its signature is the CRC answer.
			e2eReject(p[1:]+": CRC-signed body", p, e2eWith(twH, "x-twitter-webhooks-signature", "sha256=j4ex7Ya8Hf865PAzUadqr3yOvA5szYNCnuO0FOEhJCM="), []byte(e2eTwitterCRC), 400),
		)
	}
	cases = append(cases,
		e2eOK("dropbox: notification", "/dropbox", dbH, []byte(e2eDropboxBody), 0, "", "-"),
		e2eReject("dropbox: tampered", "/dropbox", dbH, e2eReplace([]byte(e2eDropboxBody), "12345678", "12345679"), 401),
		e2eOK("worldline: connect-sdk-go payment.paid", "/worldline", wlH, wl, 0, "", "-"),
		e2eReject("worldline: tampered (the SDK's invalid body)", "/worldline", wlH, e2eReplace(wl, "11:24:14", "11:25:14"), 401),
		e2eReject("worldline: no key id", "/worldline", e2eWith(wlH, "X-GCS-KeyId", ""), wl, 400),
		e2eOK("discord: slash command", "/discord", dcH, []byte(e2eDiscordCmd), 0, "", e2eDiscordTS),
		e2eReject("discord: tampered", "/discord", dcH, e2eReplace([]byte(e2eDiscordCmd), "blep", "blap"), 401),
		e2eReject("discord: stale", "/discord-stale", dcH, []byte(e2eDiscordCmd), 401),
		e2eOK("telnyx: message.received", "/telnyx", txH, []byte(e2eTelnyxBody), 0, "", e2eTelnyxTS),
		e2eReject("telnyx: tampered", "/telnyx", txH, e2eReplace([]byte(e2eTelnyxBody), "Hello", "Jello"), 401),
		e2eReject("telnyx: stale", "/telnyx-stale", txH, []byte(e2eTelnyxBody), 401),
		e2eOK("twitch: twitch_api2 notification", "/twitch", tchH, []byte(e2eTwitchBody), 0, e2eTwitchID, e2eUnix(e2eTwitchTS)),
		e2eReject("twitch: tampered", "/twitch", tchH, e2eReplace([]byte(e2eTwitchBody), "testFromUser", "testFromUsex"), 401),
		e2eReject("twitch: stale", "/twitch-stale", tchH, []byte(e2eTwitchBody), 401),
		e2eOK("adyen: go library vector", "/adyen", map[string]string{"Content-Type": ctJSON}, []byte(e2eAdyenBody), 0, "pspReference", "-"),
		e2eReject("adyen: amount changed", "/adyen", map[string]string{"Content-Type": ctJSON}, e2eReplace([]byte(e2eAdyenBody), "1000", "1001"), 401),
		e2eOK("paypal: PAYMENT.SALE.COMPLETED (pinned certificate)", "/paypal", ppH, ppBody, 0, "69cd13f0-d67a-11e5-baa3-778b53f4ae55", e2eUnix("2016-02-18T20:01:35Z")),
		e2eReject("paypal: tampered", "/paypal", ppH, e2eReplace(ppBody, "0.48", "4.80"), 401),
		e2eReject("paypal: certificate URL elsewhere", "/paypal", e2eWith(ppH, "PAYPAL-CERT-URL", "https://evil.example/v1/notifications/certs/CERT-1"), ppBody, 400),
		e2eReject("paypal: stale", "/paypal-stale", ppH, ppBody, 401),
		e2eReject("adyen: case-variant duplicate", "/adyen", map[string]string{"Content-Type": ctJSON}, e2eReplace([]byte(e2eAdyenBody), `"reason":"reason"`, `"reason":"reason","PSPreference":"x"`), 400),
	)
	return cases
}

// e2eDo sends one request and returns status, body and headers.
func e2eDo(t *testing.T, tc *caddytest.Tester, method, path string, headers map[string]string, body []byte) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, baseURL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := tc.Client.Do(req)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestIntegrationHandshakes(t *testing.T) {
	if testing.Short() {
		t.Skip("caddytest integration test")
	}
	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	routes := append(e2eProviderRoutes(),
		e2eRoute{"/slack", "slack", "secret " + e2eSlackDocsSecret + "\ntolerance off"},
		e2eRoute{"/mandrill", "mandrill", "secret " + e2eMandrillKey + "\nurl " + e2eMandrillURL + "\nurl_path /mandrill"},
		e2eRoute{"/meta-no-token", "meta", "secret " + e2eMetaSecret},
	)
	tc := newTester(t)
	tc.InitServer(e2eCaddyfile(srv.Listener.Addr().String(), routes, strconv.FormatInt(time.Now().UnixNano(), 36)), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	const (
		ctJSON = "application/json"
		ctText = "text/plain; charset=utf-8"
	)
	slackH := map[string]string{"X-Slack-Request-Timestamp": e2eSlackDocsTS, "X-Slack-Signature": "v0=" + e2eSlackURLVerificationSig, "Content-Type": ctJSON}
	zoomH := map[string]string{"x-zm-request-timestamp": e2eZoomTS, "x-zm-signature": "v0=" + e2eZoomValidSig, "Content-Type": ctJSON}
	dcH := map[string]string{"X-Signature-Ed25519": e2eDiscordPingSig, "X-Signature-Timestamp": e2eDiscordTS, "Content-Type": ctJSON}
	tchH := map[string]string{"Twitch-Eventsub-Message-Id": e2eTwitchVerID, "Twitch-Eventsub-Message-Timestamp": e2eTwitchVerTS,
		"Twitch-Eventsub-Message-Signature": "sha256=" + e2eTwitchVerSig, "Twitch-Eventsub-Message-Type": "webhook_callback_verification", "Content-Type": ctJSON}
	metaQ := "?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token="
	for _, tt := range []struct {
		name, method, path string
		headers            map[string]string
		body               string
		status             int
		want, ct           string
	}{
		{"slack url_verification", "POST", "/slack", slackH, e2eSlackURLVerification, 200, `{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}`, ctJSON},
		{"slack forged url_verification", "POST", "/slack", slackH, strings.Replace(e2eSlackURLVerification, "3eZb", "4eZb", 1), 401, "", ""},
		{"zoom url_validation", "POST", "/zoom", zoomH, e2eZoomValidation, 200, `{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"` + e2eZoomEncrypted + `"}`, ctJSON},
		{"zoom forged url_validation", "POST", "/zoom", zoomH, strings.Replace(e2eZoomValidation, "qgg8", "qgg9", 1), 401, "", ""},
		{"zoom stale url_validation", "POST", "/zoom-stale", zoomH, e2eZoomValidation, 401, "", ""},
		{"mandrill HEAD", "HEAD", "/mandrill", nil, "", 200, "", ""},
		{"meta verification", "GET", "/whatsapp" + metaQ + e2eMetaToken, nil, "", 200, "1158201444", ctText},
		{"meta verification (facebook_graph_api)", "GET", "/facebook_graph_api" + metaQ + e2eMetaToken, nil, "", 200, "1158201444", ctText},
		{"meta wrong token", "GET", "/meta" + metaQ + "guess", nil, "", 403, "", ""},
		{"meta no token configured", "GET", "/meta-no-token" + metaQ + e2eMetaToken, nil, "", 403, "", ""},
		{"meta challenge with markup", "GET", "/meta?hub.mode=subscribe&hub.challenge=%3Cscript%3E&hub.verify_token=" + e2eMetaToken, nil, "", 400, "", ""},
		{"x CRC", "GET", "/x?crc_token=" + e2eTwitterCRC, nil, "", 200, e2eTwitterCRCReply, ctJSON},
		{"twitter CRC", "GET", "/twitter?crc_token=" + e2eTwitterCRC, nil, "", 200, e2eTwitterCRCReply, ctJSON},
		{"twitter CRC with JSON token", "GET", "/twitter?crc_token=%7B%7D", nil, "", 400, "", ""},
		{"dropbox challenge", "GET", "/dropbox?challenge=nb2ujnlJt0aCnzyXr5FLUqNWBkqoaelzFmzAg9wpM3Jx", nil, "", 200, "nb2ujnlJt0aCnzyXr5FLUqNWBkqoaelzFmzAg9wpM3Jx", ctText},
		{"dropbox challenge too long", "GET", "/dropbox?challenge=" + strings.Repeat("a", 300), nil, "", 400, "", ""},
		{"worldline verification", "GET", "/worldline", map[string]string{"X-GCS-Webhooks-Endpoint-Verification": "ebb8f9c1-7e2f"}, "", 200, "ebb8f9c1-7e2f", ctText},
		{"worldline verification with markup", "GET", "/worldline", map[string]string{"X-GCS-Webhooks-Endpoint-Verification": "<b>"}, "", 400, "", ""},
		{"discord PING", "POST", "/discord", dcH, e2eDiscordPing, 200, `{"type":1}`, ctJSON},
		{"discord forged PING", "POST", "/discord", e2eWith(dcH, "X-Signature-Ed25519", e2eDiscordCmdSig), e2eDiscordPing, 401, "", ""},
		{"discord stale PING", "POST", "/discord-stale", dcH, e2eDiscordPing, 401, "", ""},
		{"twitch verification", "POST", "/twitch", tchH, e2eTwitchVerBody, 200, "pogchamp-kappa-360noscope-vohiyo", ctText},
		{"twitch forged verification", "POST", "/twitch", tchH, strings.Replace(e2eTwitchVerBody, "pogchamp", "pogchomp", 1), 401, "", ""},
		{"twitch stale verification", "POST", "/twitch-stale", tchH, e2eTwitchVerBody, 401, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path, _, _ := strings.Cut(tt.path, "?")
			// Twice: a handshake is answered again (the replay cache is
			// not involved).
			for i := 0; i < 2; i++ {
				status, body, hdr := e2eDo(t, tc, tt.method, tt.path, tt.headers, []byte(tt.body))
				if status != tt.status {
					t.Fatalf("copy %d: status %d (%q), want %d", i+1, status, body, tt.status)
				}
				if tt.status == 200 && tt.method != "HEAD" && (body != tt.want || hdr.Get("Content-Type") != tt.ct) {
					t.Fatalf("copy %d: answer %q (%s), want %q (%s)", i+1, body, hdr.Get("Content-Type"), tt.want, tt.ct)
				}
				if tt.ct == ctText && hdr.Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("text answer without X-Content-Type-Options: nosniff")
				}
			}
			if n := len(up.requests(path)); n != 0 {
				t.Fatalf("the upstream saw %d requests, want none", n)
			}
		})
	}
}
