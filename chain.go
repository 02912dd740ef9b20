package webhookverify

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// A handler sees neither its siblings nor the route it is in, and `caddy
// validate` provisions every module without looking at their order: a
// webhook_verify placed after reverse_proxy in a `route` block is valid
// configuration, and is never reached. What the handler can see, while
// it is provisioned, is the module that is provisioning it (ctx.Modules):
// a subroute (every `handle`, `route` and site block of a Caddyfile) whose
// routes are provisioned in order. The routes before the handler's own are
// loaded by then (their handlers and matchers are set); its own route is the
// first whose raw handlers are still there. checkChain looks at them:
//
//   - a route before it that always ends the request (no matcher, and a
//     handler that answers without calling the next one: reverse_proxy,
//     respond, file_server, error, webhook_queue, or a terminal route):
//     the gate is never reached, refused;
//   - such a route with a matcher: the gate is skipped for the requests it
//     matches, warned;
//   - another webhook_verify before it, neither with a matcher: every
//     request goes through both (one provider's gate refuses the other's
//     deliveries, and the second replay check sees the first's reservation
//     as a copy in flight), refused;
//   - a terminal handler before it in its own route (possible in JSON).
//
// Routes directly in a server (JSON only; the Caddyfile always wraps a site
// in a subroute) are not checked: the server being provisioned cannot be
// told from the others.

// terminalHandlers are handler modules that answer the request without
// calling the next handler.
var terminalHandlers = map[string]bool{
	"reverse_proxy":   true,
	"static_response": true,
	"file_server":     true,
	"error":           true,
	"webhook_queue":   true,
}

// checkChain checks where the handler is in its route list (see above). A
// refusal is returned; a warning is logged.
func (h *Handler) checkChain(ctx caddy.Context) error {
	mods := ctx.Modules()
	if len(mods) < 2 {
		return nil
	}
	sr, ok := mods[len(mods)-2].(*caddyhttp.Subroute)
	if !ok {
		return nil
	}
	own := -1
	for i, r := range sr.Routes {
		if r.HandlersRaw != nil {
			own = i
			break
		}
	}
	if own < 0 {
		return nil
	}
	ownRoute := sr.Routes[own]
	gates, before := 0, ""
	for _, raw := range ownRoute.HandlersRaw {
		switch name := handlerName(raw); {
		case name == "webhook_verify":
			gates++
		case terminalHandlers[name] && gates == 0 && before == "":
			before = name
		}
	}
	if before != "" {
		return errNeverReached(before)
	}
	if gates > 1 {
		return errTwoGates
	}
	unconditional := len(ownRoute.MatcherSets) == 0
	for i := 0; i < own; i++ {
		r := sr.Routes[i]
		if r.Group != "" && r.Group == ownRoute.Group {
			continue // only one route of a group runs
		}
		for _, mh := range r.Handlers {
			name := caddy.GetModuleName(mh)
			switch {
			case name == "webhook_verify" && unconditional && len(r.MatcherSets) == 0:
				return errTwoGates
			case terminalHandlers[name] || r.Terminal:
				if len(r.MatcherSets) == 0 {
					return errNeverReached(name)
				}
				h.logger.Warn("requests matched by an earlier route skip the gate: "+name+" comes before webhook_verify in the same block and answers them unverified",
					zap.String("provider", h.Provider), zap.String("at", h.Origin))
			}
		}
	}
	return nil
}

// errTwoGates refuses two unconditional webhook_verify in one block.
var errTwoGates = errors.New("a second webhook_verify in the same block, neither with a matcher: every request would go through both; give each a matcher (webhook_verify @name <provider>) or its own handle block")

// errNeverReached refuses a gate placed after a handler that answers every
// request.
func errNeverReached(handler string) error {
	return fmt.Errorf("never reached: %s comes before it in the same block and answers every request; put webhook_verify before it (a route block keeps the order written; handle sorts directives, webhook_verify first)", handler)
}

// handlerName is the module name of a raw handler ("handler" key).
func handlerName(raw json.RawMessage) string {
	var v struct {
		Handler string `json:"handler"`
	}
	_ = json.Unmarshal(raw, &v)
	return v.Handler
}
