package webhookverify

import "net/http"

// shadowHeaders are the request headers the docs suggest setting from
// the gate's placeholders with header_up in log_only mode. log_only
// forwards every request, forged ones included, so a client could send
// them itself: the gate removes them before the request goes on, and
// only a header_up (which runs later, in reverse_proxy) sets them.
var shadowHeaders = []string{"X-Webhook-Verified"}

// dropShadowHeaders removes shadowHeaders from r.
func dropShadowHeaders(r *http.Request) {
	for _, name := range shadowHeaders {
		r.Header.Del(name)
	}
}
