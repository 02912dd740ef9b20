// Command bench measures what webhook_verify costs in a real Caddy.
//
//	go run ./bench -provider github -n 20000 -c 8 -size 1024
//
// It starts, in this process and on loopback only, an upstream (httptest)
// and a Caddy (caddy.Load of a JSON config, admin off, on a free
// 127.0.0.1 port) with two routes to that upstream: /hook goes through
// webhook_verify then reverse_proxy, /plain through reverse_proxy alone.
// Then C concurrent clients send N signed deliveries (each one new, so
// replay protection forwards and records every one) to each of three
// targets in turn:
//
//	upstream   the upstream directly (baseline)
//	proxy      Caddy, reverse_proxy only
//	verify     Caddy, webhook_verify + reverse_proxy
//
// and it prints requests/s and p50/p90/p99 latency of each, and the
// overhead of the gate (verify against proxy). Every request must be
// answered 200; any other answer is counted and makes the command fail,
// so a rejection path is never measured by mistake.
//
// Bounds: N ≤ 1,000,000, C ≤ 256, size ≤ 1 MiB, -timeout ≤ 10m for the
// whole run (a target still running at the deadline is cut short and
// reported as such). Everything listens on 127.0.0.1 and stops when the
// command returns.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/caddyserver/caddy/v2"
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	_ "github.com/webhookverify/caddy-webhook-verify"
)

// Limits.
const (
	maxN       = 1_000_000
	maxC       = 256
	minSize    = 128
	maxSize    = 1 << 20
	maxTimeout = 10 * time.Minute
)

type options struct {
	provider string
	n, c     int
	size     int
	replay   bool
	rounds   int
	timeout  time.Duration

	stores      string // -stores: compare replay stores instead
	redisServer string // the redis-server binary for -stores
}

func main() {
	var o options
	flag.StringVar(&o.provider, "provider", "github", "provider: "+strings.Join(providerNames(), ", "))
	flag.IntVar(&o.n, "n", 20000, fmt.Sprintf("requests per target and round (at most %d)", maxN))
	flag.IntVar(&o.c, "c", 8, fmt.Sprintf("concurrent clients (at most %d)", maxC))
	flag.IntVar(&o.size, "size", 1024, fmt.Sprintf("body size in bytes (%d to %d)", minSize, maxSize))
	flag.BoolVar(&o.replay, "replay", true, "replay protection (in-memory cache) on the verify route")
	flag.IntVar(&o.rounds, "rounds", 1, "rounds over the three targets (medians are reported); at most 10")
	flag.DurationVar(&o.timeout, "timeout", 2*time.Minute, "deadline for the whole run (at most 10m)")
	flag.StringVar(&o.stores, "stores", "", "compare replay stores instead: a comma-separated list of "+strings.Join(storeNames, ", ")+" (starts a redis-server)")
	flag.StringVar(&o.redisServer, "redis-server", "redis-server", "the redis-server (or valkey-server) binary for -stores")
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	runner := func(ctx context.Context, o options, out io.Writer) error { _, err := run(ctx, o, out); return err }
	if o.stores != "" {
		runner = func(ctx context.Context, o options, out io.Writer) error {
			_, err := runStores(ctx, o, out)
			return err
		}
	}
	if q := queueRunner(); q != nil {
		runner = q // -queue: see queue.go
	}
	if err := runner(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func (o *options) check() error {
	switch {
	case signers[o.provider] == nil:
		return fmt.Errorf("unknown provider %q (known: %s)", o.provider, strings.Join(providerNames(), ", "))
	case o.n < 1 || o.n > maxN:
		return fmt.Errorf("-n must be 1..%d", maxN)
	case o.c < 1 || o.c > maxC:
		return fmt.Errorf("-c must be 1..%d", maxC)
	case o.size < minSize || o.size > maxSize:
		return fmt.Errorf("-size must be %d..%d", minSize, maxSize)
	case o.rounds < 1 || o.rounds > 10:
		return errors.New("-rounds must be 1..10")
	case o.timeout <= 0 || o.timeout > maxTimeout:
		return fmt.Errorf("-timeout must be positive and at most %s", maxTimeout)
	}
	if o.c > o.n {
		o.c = o.n
	}
	return nil
}

// ---- signing, client side

// signer holds a provider's configuration and signs deliveries.
type signer interface {
	// config is the webhook_verify handler's JSON fields.
	config() map[string]any
	// sign adds the provider's headers for body, sent at now.
	sign(h http.Header, body []byte, id string, now time.Time)
}

var signers = map[string]func() (signer, error){
	"github":            func() (signer, error) { return githubSigner{}, nil },
	"stripe":            func() (signer, error) { return stripeSigner{}, nil },
	"slack":             func() (signer, error) { return slackSigner{}, nil },
	"standard_webhooks": func() (signer, error) { return newSWSigner() },
	"sendgrid":          func() (signer, error) { return newSendGridSigner() },
}

func providerNames() []string {
	var names []string
	for n := range signers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

const benchSecret = "bench-secret-not-for-production"

func hmacHex(key []byte, parts ...[]byte) string {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

type githubSigner struct{}

func (githubSigner) config() map[string]any {
	return map[string]any{"provider": "github", "secrets": []string{benchSecret}}
}

func (githubSigner) sign(h http.Header, body []byte, id string, _ time.Time) {
	h.Set("X-GitHub-Event", "push")
	h.Set("X-GitHub-Delivery", id)
	h.Set("X-Hub-Signature-256", "sha256="+hmacHex([]byte(benchSecret), body))
}

type stripeSigner struct{}

func (stripeSigner) config() map[string]any {
	return map[string]any{"provider": "stripe", "secrets": []string{benchSecret}}
}

func (stripeSigner) sign(h http.Header, body []byte, _ string, now time.Time) {
	t := strconv.FormatInt(now.Unix(), 10)
	h.Set("Stripe-Signature", "t="+t+",v1="+hmacHex([]byte(benchSecret), []byte(t+"."), body))
}

type slackSigner struct{}

func (slackSigner) config() map[string]any {
	return map[string]any{"provider": "slack", "secrets": []string{benchSecret}}
}

func (slackSigner) sign(h http.Header, body []byte, _ string, now time.Time) {
	t := strconv.FormatInt(now.Unix(), 10)
	h.Set("X-Slack-Request-Timestamp", t)
	h.Set("X-Slack-Signature", "v0="+hmacHex([]byte(benchSecret), []byte("v0:"+t+":"), body))
}

type swSigner struct{ key []byte }

func newSWSigner() (signer, error) {
	key := make([]byte, 24)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return swSigner{key}, nil
}

func (s swSigner) config() map[string]any {
	return map[string]any{"provider": "standard_webhooks", "secrets": []string{"whsec_" + base64.StdEncoding.EncodeToString(s.key)}}
}

func (s swSigner) sign(h http.Header, body []byte, id string, now time.Time) {
	t := strconv.FormatInt(now.Unix(), 10)
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(id + "." + t + "."))
	m.Write(body)
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", t)
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
}

type sendgridSigner struct{ key *ecdsa.PrivateKey }

func newSendGridSigner() (signer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return sendgridSigner{k}, nil
}

func (s sendgridSigner) config() map[string]any {
	spki, _ := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	return map[string]any{"provider": "sendgrid", "public_keys": []map[string]string{{"key": base64.StdEncoding.EncodeToString(spki)}}}
}

func (s sendgridSigner) sign(h http.Header, body []byte, _ string, now time.Time) {
	t := strconv.FormatInt(now.Unix(), 10)
	d := sha256.Sum256(append([]byte(t), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, d[:])
	if err != nil {
		panic(err) // crypto/rand failed
	}
	h.Set("X-Twilio-Email-Event-Webhook-Timestamp", t)
	h.Set("X-Twilio-Email-Event-Webhook-Signature", base64.StdEncoding.EncodeToString(sig))
}

// bodyFor returns a JSON body of exactly size bytes that carries the
// delivery id, so every delivery is distinct.
func bodyFor(id string, size int) []byte {
	prefix := `{"id":"` + id + `","type":"bench.event","data":{"text":"`
	const suffix = `"}}`
	b := make([]byte, 0, size)
	b = append(b, prefix...)
	for n := size - len(prefix) - len(suffix); n > 0; n-- {
		b = append(b, 'x')
	}
	return append(b, suffix...)
}

// ---- servers

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

// caddyConfig is the JSON config of the Caddy under test.
func caddyConfig(port int, upstream string, gate map[string]any, replay bool) ([]byte, error) {
	gate["handler"] = "webhook_verify"
	if !replay {
		gate["replay"] = map[string]any{"disabled": true}
	}
	proxy := map[string]any{"handler": "reverse_proxy", "upstreams": []map[string]any{{"dial": upstream}}}
	route := func(path string, handle ...map[string]any) map[string]any {
		return map[string]any{
			"match":    []map[string]any{{"path": []string{path}}},
			"handle":   handle,
			"terminal": true,
		}
	}
	return serverConfig(port, []any{route("/hook", gate, proxy), route("/plain", proxy)})
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

// ---- load

type target struct {
	name, url string
}

type result struct {
	target   string
	done     int // requests answered (200 or not)
	failed   int // answers other than 200, and transport errors
	firstErr string
	elapsed  time.Duration
	cut      bool            // stopped at the deadline
	lat      []time.Duration // sorted latencies of the answered requests
}

func (r *result) rps() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.done) / r.elapsed.Seconds()
}

func (r *result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(p*float64(len(r.lat))+0.5) - 1
	return r.lat[min(max(i, 0), len(r.lat)-1)]
}

// fire sends n deliveries to t with c clients. Delivery ids come from seq,
// shared by every call, so no delivery is ever sent twice.
func fire(ctx context.Context, t target, s signer, o options, n int, seq *atomic.Uint64) *result {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        o.c,
		MaxIdleConnsPerHost: o.c,
		MaxConnsPerHost:     o.c,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	res := &result{target: t.name}
	lat := make([]time.Duration, n)
	var next, done, failed atomic.Int64
	var errOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range o.c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				id := fmt.Sprintf("bench-%012d", seq.Add(1))
				body := bodyFor(id, o.size)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
				if err != nil {
					panic(err)
				}
				req.Header.Set("Content-Type", "application/json")
				s.sign(req.Header, body, id, time.Now())
				t0 := time.Now()
				resp, err := client.Do(req)
				status := 0
				var text []byte
				if err == nil {
					text, _ = io.ReadAll(io.LimitReader(resp.Body, 4096))
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				d := time.Since(t0)
				if ctx.Err() != nil && err != nil {
					return // cut by the deadline: not counted
				}
				lat[done.Add(1)-1] = d
				if status != http.StatusOK {
					failed.Add(1)
					errOnce.Do(func() {
						if err != nil {
							res.firstErr = err.Error()
						} else {
							res.firstErr = fmt.Sprintf("status %d: %s", status, bytes.TrimSpace(text))
						}
					})
				}
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.done, res.failed = int(done.Load()), int(failed.Load())
	res.cut = res.done < n
	res.lat = lat[:res.done]
	sort.Slice(res.lat, func(i, j int) bool { return res.lat[i] < res.lat[j] })
	return res
}

// report is what run measured: per target, one result per round.
type report struct {
	results map[string][]*result
	targets []string
}

// median returns the result of target whose req/s is the median of its rounds.
func (r *report) median(target string) *result {
	rs := append([]*result(nil), r.results[target]...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].rps() < rs[j].rps() })
	return rs[len(rs)/2]
}

func run(ctx context.Context, o options, out io.Writer) (*report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	s, err := signers[o.provider]()
	if err != nil {
		return nil, err
	}
	up := startUpstream()
	defer up.Close()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg, err := caddyConfig(port, up.Listener.Addr().String(), s.config(), o.replay)
	if err != nil {
		return nil, err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := startCaddy(ctx, cfg, base); err != nil {
		return nil, err
	}
	defer caddy.Stop()

	targets := []target{
		{"upstream", up.URL + "/hook"},
		{"proxy", base + "/plain"},
		{"verify", base + "/hook"},
	}
	rep := &report{results: map[string][]*result{}}
	for _, t := range targets {
		rep.targets = append(rep.targets, t.name)
	}
	replay := "on (memory)"
	if !o.replay {
		replay = "off"
	}
	fmt.Fprintf(out, "provider %s, body %d B, %d requests x %d round(s) per target, %d clients, replay %s\n",
		o.provider, o.size, o.n, o.rounds, o.c, replay)
	fmt.Fprintf(out, "%s/%s, %d CPUs, GOMAXPROCS %d, %s; load generator, Caddy and upstream share this process\n\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())

	var seq atomic.Uint64
	warm := min(max(o.n/10, 1), 500)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\ttarget\trequests\treq/s\tp50\tp90\tp99\tfailed\t")
	var failures []string
	for round := 1; round <= o.rounds; round++ {
		for _, t := range targets {
			// Warm up: open the connections, fill the pools.
			if w := fire(ctx, t, s, o, warm, &seq); w.failed > 0 {
				failures = append(failures, fmt.Sprintf("%s (warm-up): %d failed, first: %s", t.name, w.failed, w.firstErr))
			}
			r := fire(ctx, t, s, o, o.n, &seq)
			rep.results[t.name] = append(rep.results[t.name], r)
			note := ""
			if r.cut {
				note = " (cut at deadline)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%d%s\t%.0f\t%s\t%s\t%s\t%d\t\n", round, t.name, r.done, note, r.rps(),
				us(r.pct(0.50)), us(r.pct(0.90)), us(r.pct(0.99)), r.failed)
			if r.failed > 0 {
				failures = append(failures, fmt.Sprintf("%s: %d failed, first: %s", t.name, r.failed, r.firstErr))
			}
		}
	}
	tw.Flush()

	if o.rounds > 1 {
		fmt.Fprintln(out, "\nmedian round (by req/s):")
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "target\treq/s\tp50\tp90\tp99\t")
		for _, name := range rep.targets {
			r := rep.median(name)
			fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t\n", name, r.rps(), us(r.pct(0.50)), us(r.pct(0.90)), us(r.pct(0.99)))
		}
		tw.Flush()
	}
	px, vf, upm := rep.median("proxy"), rep.median("verify"), rep.median("upstream")
	if px.rps() > 0 && vf.rps() > 0 {
		fmt.Fprintf(out, "\ngate overhead (verify vs proxy): p50 %s, p99 %s, req/s %+.1f%%\n",
			signed(vf.pct(0.50)-px.pct(0.50)), signed(vf.pct(0.99)-px.pct(0.99)), 100*(vf.rps()/px.rps()-1))
		fmt.Fprintf(out, "Caddy overhead (proxy vs upstream): p50 %s, req/s %+.1f%%\n",
			signed(px.pct(0.50)-upm.pct(0.50)), 100*(px.rps()/upm.rps()-1))
	}
	if len(failures) > 0 {
		return rep, fmt.Errorf("requests failed:\n  %s", strings.Join(failures, "\n  "))
	}
	for _, rs := range rep.results {
		for _, r := range rs {
			if r.cut {
				return rep, errors.New("stopped at the deadline before all requests were sent")
			}
		}
	}
	return rep, nil
}

// us formats a duration in microseconds.
func us(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 0, 64) + "µs"
}

// signed formats a duration difference in microseconds with its sign.
func signed(d time.Duration) string {
	if d >= 0 {
		return "+" + us(d)
	}
	return us(d)
}
