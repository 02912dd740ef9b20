package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// The servers under test: an upstream, and a Caddy in this process whose
// routes lead to it.

// upstream answers 200 after reading the body.
func startUpstream() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	}))
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// serverConfig is a Caddy JSON config with one HTTP server on port.
func serverConfig(port int, routes []any) ([]byte, error) {
	cfg := map[string]any{
		"admin":   map[string]any{"disabled": true, "config": map[string]any{"persist": false}},
		"logging": map[string]any{"logs": map[string]any{"default": map[string]any{"writer": map[string]any{"output": "discard"}}}},
		"apps": map[string]any{"http": map[string]any{
			"grace_period": "1s",
			"servers": map[string]any{"bench": map[string]any{
				"listen":          []string{fmt.Sprintf("127.0.0.1:%d", port)},
				"automatic_https": map[string]any{"disable": true},
				"routes":          routes,
			}},
		}},
	}
	return json.Marshal(cfg)
}

// startCaddy loads the config and waits until the server answers.
func startCaddy(ctx context.Context, cfg []byte, base string) error {
	if err := caddy.Load(cfg, true); err != nil {
		return fmt.Errorf("caddy: %v", err)
	}
	for {
		resp, err := http.Get(base + "/nothing-here")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			_ = caddy.Stop()
			return fmt.Errorf("caddy did not come up: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// rig is the servers of one run: the upstream and the Caddy in front of it.
type rig struct {
	up   *httptest.Server
	base string // the Caddy's URL
}

// startRig starts the upstream, then a Caddy on a free loopback port with
// the routes that routes returns for the upstream's address, and waits
// until it answers. stop ends both.
func startRig(ctx context.Context, routes func(upstream string) []any) (*rig, error) {
	up := startUpstream()
	port, err := freePort()
	if err != nil {
		up.Close()
		return nil, err
	}
	cfg, err := serverConfig(port, routes(up.Listener.Addr().String()))
	if err != nil {
		up.Close()
		return nil, err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := startCaddy(ctx, cfg, base); err != nil {
		up.Close()
		return nil, err
	}
	return &rig{up: up, base: base}, nil
}

func (r *rig) stop() {
	_ = caddy.Stop()
	r.up.Close()
}

// route is a terminal route of the requests to path through handle.
func route(path string, handle ...map[string]any) map[string]any {
	return map[string]any{
		"match":    []map[string]any{{"path": []string{path}}},
		"handle":   handle,
		"terminal": true,
	}
}

// proxyTo is a reverse_proxy handler to upstream.
func proxyTo(upstream string) map[string]any {
	return map[string]any{"handler": "reverse_proxy", "upstreams": []map[string]any{{"dial": upstream}}}
}
