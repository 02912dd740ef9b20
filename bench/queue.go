package main

// The webhook_queue comparison (-queue file,redis): the same signed load
// through one Caddy to a route per target, each webhook_verify then
//
//	respond   a static 200 in place of the queue (the baseline)
//	file      webhook_queue, the bbolt file store
//	redis     webhook_queue, the Redis store (a redis-server this command
//	          starts, appendfsync always unless -redis-appendfsync)
//
// with the queues delivering to a healthy upstream. It measures the
// acknowledged deliveries per second and the ack latency (every answer
// must be the ack, 200), how deep each queue gets while it is loaded and
// how long it takes to drain, then a steady phase at a fixed rate to show
// whether delivery keeps up.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/redis/go-redis/v9"
)

var (
	queueTargets     = flag.String("queue", "", "compare webhook_queue stores instead: a comma-separated list of file, redis (against a respond 200 route; starts a redis-server for redis)")
	queueConcurrency = flag.Int("queue-concurrency", 16, "-queue: the queues' concurrency (deliveries in flight)")
	queueSteady      = flag.Duration("queue-steady", 5*time.Second, "-queue: length of the steady phase per store, at -queue-rate (0: none)")
	queueRate        = flag.Int("queue-rate", 0, "-queue: requests/s of the steady phase (0: half of each store's median acks/s)")
	queueProfile     = flag.String("queue-cpuprofile", "", "-queue: write a CPU profile of the measured rounds of target -queue-profile-target to this file")
	queueProfileOf   = flag.String("queue-profile-target", "file", "-queue: the target -queue-cpuprofile profiles")
	redisAppendfsync = flag.String("redis-appendfsync", "always", "-queue: the redis-server's appendfsync (always, everysec, no)")
)

// queueRunner returns the -queue runner, or nil without -queue.
func queueRunner() func(context.Context, options, io.Writer) error {
	if *queueTargets == "" {
		return nil
	}
	qo := queueOptions{targets: *queueTargets, concurrency: *queueConcurrency, steady: *queueSteady,
		rate: *queueRate, appendfsync: *redisAppendfsync}
	return func(ctx context.Context, o options, out io.Writer) error {
		_, err := runQueue(ctx, o, qo, out)
		return err
	}
}

type queueOptions struct {
	targets     string
	concurrency int
	steady      time.Duration
	rate        int
	appendfsync string
}

var queueStoreNames = []string{"file", "redis"}

func parseQueueTargets(s string) ([]string, error) {
	out := []string{"respond"}
	seen := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name != "file" && name != "redis" {
			return nil, fmt.Errorf("unknown store %q in -queue (known: %s)", name, strings.Join(queueStoreNames, ", "))
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out, nil
}

// countingUpstream answers 200 after reading the body and counts the
// deliveries (attempts carrying Webhook-Queue-Id).
type countingUpstream struct {
	*httptest.Server
	n atomic.Int64
}

func startCountingUpstream() *countingUpstream {
	u := &countingUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("Webhook-Queue-Id") != "" {
			u.n.Add(1)
		}
		_, _ = io.WriteString(w, "ok\n")
	}))
	return u
}

// queueConfig is the Caddy config of -queue: one route per target, and
// the admin endpoint on adminPort (the depth is read from its
// /webhook/queue/).
func queueConfig(port, adminPort int, s signer, targets []string, upstream, dir, redisAddr string, qo queueOptions) ([]byte, error) {
	var routes []any
	for _, t := range targets {
		gate := gateHandler(s)
		last := map[string]any{"handler": "static_response", "status_code": 200, "body": "ok\n"}
		if t != "respond" {
			store := map[string]any{"type": "file", "path": dir + "/queues.db"}
			if t == "redis" {
				store = map[string]any{"type": "redis", "redis": map[string]any{"urls": []string{"redis://" + redisAddr}, "key_prefix": "bench:queue:"}}
			}
			last = map[string]any{
				"handler":     "webhook_queue",
				"name":        "bench_" + t,
				"store":       store,
				"concurrency": qo.concurrency,
				"max_entries": 10_000_000,
				"max_bytes":   int64(8) << 30,
				"deliver": []any{map[string]any{"handle": []any{map[string]any{
					"handler": "reverse_proxy", "upstreams": []map[string]any{{"dial": upstream}},
				}}}},
			}
		}
		routes = append(routes, map[string]any{
			"match":    []map[string]any{{"path": []string{"/" + t}}},
			"handle":   []map[string]any{gate, last},
			"terminal": true,
		})
	}
	b, err := serverConfig(port, routes)
	if err != nil {
		return nil, err
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, err
	}
	cfg["admin"] = map[string]any{"listen": fmt.Sprintf("127.0.0.1:%d", adminPort), "config": map[string]any{"persist": false}}
	return json.Marshal(cfg)
}

// depthReader reads a queue's depth (pending + in flight) from the admin API.
type depthReader struct {
	url    string
	client *http.Client
}

func (d *depthReader) depth(name string) (int64, error) {
	resp, err := d.client.Get(d.url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var qs []struct {
		Name     string `json:"name"`
		Pending  int64  `json:"pending"`
		InFlight int64  `json:"in_flight"`
		Dead     int64  `json:"dead"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&qs); err != nil {
		return 0, err
	}
	for _, q := range qs {
		if q.Name == name {
			if q.Dead > 0 {
				return 0, fmt.Errorf("queue %s has %d dead letters", name, q.Dead)
			}
			return q.Pending + q.InFlight, nil
		}
	}
	return 0, nil
}

// sampler polls a queue's depth every interval until stopped.
type sampler struct {
	mu      sync.Mutex
	max     int64
	samples []int64
	err     error
	stop    chan struct{}
	done    chan struct{}
}

func startSampler(d *depthReader, name string, every time.Duration) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			n, err := d.depth(name)
			s.mu.Lock()
			if err != nil && s.err == nil {
				s.err = err
			}
			s.samples = append(s.samples, n)
			s.max = max(s.max, n)
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *sampler) end() (maxDepth int64, samples []int64, err error) {
	close(s.stop)
	<-s.done
	return s.max, s.samples, s.err
}

// drain waits until queue name is empty; it returns how long that took.
func drain(ctx context.Context, d *depthReader, name string, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		n, err := d.depth(name)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > limit {
			return 0, fmt.Errorf("queue %s still holds %d entries after %s", name, n, limit)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// startProfile starts the CPU profile of -queue-cpuprofile if target is
// the profiled one; the returned func stops it.
func startProfile(target string) func() {
	if *queueProfile == "" || target != *queueProfileOf {
		return func() {}
	}
	f, err := os.OpenFile(*queueProfile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: cpuprofile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// queueResult is one target's measurement in one round.
type queueResult struct {
	*result
	maxDepth int64
	drained  time.Duration // after the last ack, until the queue was empty
}

// steadyResult is the steady phase of one store.
type steadyResult struct {
	rate     int
	sent     int
	failed   int
	maxDepth int64
	end      int64 // depth at the end of the phase
	drained  time.Duration
	p99      time.Duration
}

// paced sends rate requests/s for d, each on its own goroutine (at most
// o.c in flight: beyond, the schedule slips and the run says so by its
// elapsed time), through one keep-alive client.
func paced(ctx context.Context, t target, s signer, o options, rate int, d time.Duration, seq *atomic.Uint64) *result {
	n := int(float64(rate) * d.Seconds())
	tr := &http.Transport{MaxIdleConns: o.c, MaxIdleConnsPerHost: o.c, MaxConnsPerHost: o.c, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	res := &result{target: t.name}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, o.c)
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		if wait := time.Until(start.Add(time.Duration(float64(i) / float64(rate) * float64(time.Second)))); wait > 0 {
			time.Sleep(wait)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
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
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			}
			lat := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			res.done++
			res.lat = append(res.lat, lat)
			if status != http.StatusOK {
				res.failed++
				if res.firstErr == "" {
					res.firstErr = fmt.Sprintf("status %d, error %v", status, err)
				}
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.cut = res.done < n
	sort.Slice(res.lat, func(i, j int) bool { return res.lat[i] < res.lat[j] })
	return res
}

type queueReport struct {
	targets []string
	results map[string][]*queueResult
	steady  map[string]*steadyResult
}

func (r *queueReport) median(t string) *queueResult {
	rs := append([]*queueResult(nil), r.results[t]...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].rps() < rs[j].rps() })
	return rs[len(rs)/2]
}

func runQueue(ctx context.Context, o options, qo queueOptions, out io.Writer) (*queueReport, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	targets, err := parseQueueTargets(qo.targets)
	if err != nil {
		return nil, err
	}
	if qo.concurrency < 1 || qo.concurrency > 1024 {
		return nil, errors.New("-queue-concurrency must be 1..1024")
	}
	s, err := signers[o.provider]()
	if err != nil {
		return nil, err
	}
	redisAddr, redisVersion := "", ""
	for _, t := range targets {
		if t != "redis" {
			continue
		}
		rd, err := startBenchRedis(ctx, o.redisServer)
		if err != nil {
			return nil, err
		}
		defer rd.stop()
		c := redis.NewClient(&redis.Options{Addr: rd.addr})
		defer c.Close()
		if err := c.ConfigSet(ctx, "appendonly", "yes").Err(); err != nil {
			return nil, fmt.Errorf("redis CONFIG SET appendonly: %v", err)
		}
		if err := c.ConfigSet(ctx, "appendfsync", qo.appendfsync).Err(); err != nil {
			return nil, fmt.Errorf("redis CONFIG SET appendfsync: %v", err)
		}
		info, _ := c.Info(ctx, "server").Result()
		if m := regexp.MustCompile(`(?m)^(redis|valkey)_version:(\S+)`).FindStringSubmatch(info); m != nil {
			redisVersion = m[1] + " " + m[2]
		}
		for { // the AOF rewrite that CONFIG SET appendonly yes started
			p, _ := c.Info(ctx, "persistence").Result()
			if strings.Contains(p, "aof_rewrite_in_progress:0") || ctx.Err() != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		redisAddr = rd.addr
	}
	dir, err := os.MkdirTemp("", "bench-queue-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	up := startCountingUpstream()
	defer up.Close()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	adminPort, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg, err := queueConfig(port, adminPort, s, targets, up.Listener.Addr().String(), dir, redisAddr, qo)
	if err != nil {
		return nil, err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := startCaddy(ctx, cfg, base); err != nil {
		return nil, err
	}
	defer caddy.Stop()
	dr := &depthReader{url: fmt.Sprintf("http://127.0.0.1:%d/webhook/queue/", adminPort), client: &http.Client{Timeout: 5 * time.Second}}

	fmt.Fprintf(out, "webhook_queue: provider %s, body %d B, %d requests x %d round(s) per target, %d senders, queue concurrency %d\n",
		o.provider, o.size, o.n, o.rounds, o.c, qo.concurrency)
	fmt.Fprintf(out, "%s/%s, %d CPUs, GOMAXPROCS %d, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	if redisAddr != "" {
		fmt.Fprintf(out, ", %s (appendonly yes, appendfsync %s)", redisVersion, qo.appendfsync)
	}
	fmt.Fprintf(out, "; load generator, Caddy, upstream (and redis-server) share this machine\n\n")

	rep := &queueReport{targets: targets, results: map[string][]*queueResult{}, steady: map[string]*steadyResult{}}
	var seq atomic.Uint64
	warm := min(max(o.n/10, 1), 500)
	var failures []string
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\ttarget\tacks\tacks/s\tp50\tp90\tp99\tfailed\tmax depth\tdrained after\t")
	for round := 1; round <= o.rounds; round++ {
		order := append(append([]string(nil), targets[(round-1)%len(targets):]...), targets[:(round-1)%len(targets)]...)
		for _, name := range order {
			t := target{name, base + "/" + name}
			if w := fire(ctx, t, s, o, warm, &seq); w.failed > 0 {
				failures = append(failures, fmt.Sprintf("%s (warm-up): %d failed, first: %s", name, w.failed, w.firstErr))
			}
			qname := "bench_" + name
			if name != "respond" {
				if _, err := drain(ctx, dr, qname, time.Minute); err != nil {
					return rep, err
				}
			}
			var smp *sampler
			if name != "respond" {
				smp = startSampler(dr, qname, 100*time.Millisecond)
			}
			stopProfile := startProfile(name)
			r := &queueResult{result: fire(ctx, t, s, o, o.n, &seq)}
			stopProfile()
			if smp != nil {
				var err error
				if r.maxDepth, _, err = smp.end(); err != nil {
					return rep, err
				}
				if r.drained, err = drain(ctx, dr, qname, 5*time.Minute); err != nil {
					return rep, err
				}
			}
			rep.results[name] = append(rep.results[name], r)
			depth, drained := "-", "-"
			if name != "respond" {
				depth, drained = fmt.Sprint(r.maxDepth), r.drained.Round(time.Millisecond).String()
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%.0f\t%s\t%s\t%s\t%d\t%s\t%s\t\n", round, name, r.done, r.rps(),
				us(r.pct(0.50)), us(r.pct(0.90)), us(r.pct(0.99)), r.failed, depth, drained)
			if r.failed > 0 {
				failures = append(failures, fmt.Sprintf("%s: %d failed, first: %s", name, r.failed, r.firstErr))
			}
		}
	}
	tw.Flush()

	fmt.Fprintln(out, "\nmedian round (by acks/s), and against respond within each round (median of the rounds):")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tacks/s\tp50\tp99\tx respond\tgoal >= 0.5\tp99 <= 25ms\t")
	for _, name := range targets {
		r := rep.median(name)
		ratio, goal, p99goal := "-", "-", verdict(r.pct(0.99) <= 25*time.Millisecond)
		if name != "respond" {
			var ratios []float64
			for i, q := range rep.results[name] {
				if b := rep.results["respond"][i]; b.rps() > 0 {
					ratios = append(ratios, q.rps()/b.rps())
				}
			}
			m := medianOf(ratios)
			ratio, goal = fmt.Sprintf("%.2f (%s)", m, fmtList(ratios)), verdict(m >= 0.5)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t\n", name, r.rps(), us(r.pct(0.50)), us(r.pct(0.99)), ratio, goal, p99goal)
	}
	tw.Flush()

	if qo.steady > 0 {
		how := fmt.Sprintf("%d requests/s", qo.rate)
		if qo.rate <= 0 {
			how = "half of each store's median acks/s"
		}
		fmt.Fprintf(out, "\nsteady phase: %s for %s per store (at most %d in flight), healthy upstream:\n", how, qo.steady, o.c)
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "store\trate\tsent\tfailed\tack p99\tmax depth\tdepth at end\tdrained after\tdelivery keeps up\t")
		for _, name := range targets[1:] {
			rate := qo.rate
			if rate <= 0 {
				rate = max(int(rep.median(name).rps()/2), 1)
			}
			qname := "bench_" + name
			smp := startSampler(dr, qname, 50*time.Millisecond)
			r := paced(ctx, target{name, base + "/" + name}, s, o, rate, qo.steady, &seq)
			maxDepth, samples, err := smp.end()
			if err != nil {
				return rep, err
			}
			sr := &steadyResult{rate: rate, sent: r.done, failed: r.failed, maxDepth: maxDepth, p99: r.pct(0.99)}
			if len(samples) > 0 {
				sr.end = samples[len(samples)-1]
			}
			if sr.drained, err = drain(ctx, dr, qname, 5*time.Minute); err != nil {
				return rep, err
			}
			rep.steady[name] = sr
			// Keeping up: the backlog stays below half a second of
			// arrivals and is gone within a second of the last one.
			ok := sr.maxDepth <= int64(rate/2)+int64(qo.concurrency) && sr.drained < time.Second
			fmt.Fprintf(tw, "%s\t%d/s\t%d\t%d\t%s\t%d\t%d\t%s\t%s\t\n", name, rate, sr.sent, sr.failed, us(sr.p99), sr.maxDepth, sr.end,
				sr.drained.Round(time.Millisecond), map[bool]string{true: "yes", false: "NO"}[ok])
			if r.failed > 0 {
				failures = append(failures, fmt.Sprintf("%s (steady): %d failed, first: %s", name, r.failed, r.firstErr))
			}
		}
		tw.Flush()
	}
	fmt.Fprintf(out, "\nupstream received %d deliveries\n", up.n.Load())
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
