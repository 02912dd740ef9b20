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
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

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

	next       string // -next: what follows the gate (respond.go)
	cpuprofile string // -cpuprofile: CPU profile of the run
	routes     string // -routes: route counts to load (routes.go)
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
	flag.StringVar(&o.next, "next", nextProxy, "what the gate's route runs next: proxy (reverse_proxy to an upstream, against proxy alone and the upstream) or respond (static_response, against a bare respond)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.StringVar(&o.routes, "routes", "", "measure routes with a gate each instead: a comma-separated list of route counts (load time, memory, req/s to the last)")
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
	} else if o.routes != "" {
		runner = func(ctx context.Context, o options, out io.Writer) error {
			_, err := runRoutes(ctx, o, out)
			return err
		}
	} else if o.next == nextRespond {
		runner = func(ctx context.Context, o options, out io.Writer) error {
			_, err := runRespond(ctx, o, out)
			return err
		}
	}
	if q := queueRunner(); q != nil {
		runner = q // -queue: see queue.go
	}
	stop, err := startCPUProfile(o.cpuprofile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	err = runner(ctx, o, os.Stdout)
	stop()
	if err != nil {
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
	case o.next != "" && o.next != nextProxy && o.next != nextRespond:
		return fmt.Errorf("-next must be %s or %s", nextProxy, nextRespond)
	}
	if o.c > o.n {
		o.c = o.n
	}
	return nil
}

// report is what run measured: per target, one result per round.
type report struct {
	results map[string][]*result
	targets []string
}

// median returns the result of target whose req/s is the median of its rounds.
func (r *report) median(target string) *result { return median(r.results[target]) }

// run sends the load to the upstream, through Caddy's proxy alone, and
// through the gate, and reports each and the overheads.
func run(ctx context.Context, o options, out io.Writer) (*report, error) {
	s, gate, err := o.gate()
	if err != nil {
		return nil, err
	}
	rg, err := startRig(ctx, func(upstream string) []any {
		return []any{route("/hook", gate, proxyTo(upstream)), route("/plain", proxyTo(upstream))}
	})
	if err != nil {
		return nil, err
	}
	defer rg.stop()

	targets := []target{
		{"upstream", rg.up.URL + "/hook"},
		{"proxy", rg.base + "/plain"},
		{"verify", rg.base + "/hook"},
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
	fmt.Fprintf(out, "%s; load generator, Caddy and upstream share this process\n\n", machine())

	ss := &session{ctx: ctx, s: s, o: o}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\ttarget\trequests\treq/s\tp50\tp90\tp99\tfailed\t")
	for round := 1; round <= o.rounds; round++ {
		for _, t := range targets {
			ss.warmUp(t)
			r := ss.measure(t)
			rep.results[t.name] = append(rep.results[t.name], r)
			fmt.Fprintf(tw, "%d\t%s\t%d%s\t%.0f\t%s\t%s\t%s\t%d\t\n", round, t.name, r.done, cutNote(r), r.rps(),
				us(r.pct(0.50)), us(r.pct(0.90)), us(r.pct(0.99)), r.failed)
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
	return rep, ss.err()
}
