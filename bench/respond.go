package main

// -next respond: the gate's own cost, without a reverse proxy in the way.
// One Caddy with two routes that answer 200 themselves (static_response):
// /plain answers at once (target "respond"), /hook runs webhook_verify
// first (target "verify"). The two alternate within every round, in an
// order rotated each round, and the ratio verify/respond is taken within
// each round, then its median: on a shared machine, a ratio of two
// measurements a second apart is steadier than a ratio of medians.
//
// -cpuprofile writes a CPU profile of the whole process (load generator,
// Caddy and gate) over the run: `go tool pprof -top -focus webhookverify`.

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"text/tabwriter"
)

// Values of -next.
const (
	nextProxy   = "proxy"
	nextRespond = "respond"
)

// respondTarget is the ratio the gate must keep against a bare respond.
const respondTarget = 0.95

// respond is a static_response handler answering 200.
func respond() map[string]any {
	return map[string]any{"handler": "static_response", "status_code": 200, "body": "ok\n"}
}

// respondReport is what runRespond measured.
type respondReport struct {
	results map[string][]*result // "respond", "verify": one per round
	ratios  []float64            // verify/respond req/s, per round
}

// runRespond measures the gate + respond against respond alone.
func runRespond(ctx context.Context, o options, out io.Writer) (*respondReport, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	s, err := signers[o.provider]()
	if err != nil {
		return nil, err
	}
	gate := s.config()
	gate["handler"] = "webhook_verify"
	if !o.replay {
		gate["replay"] = map[string]any{"disabled": true}
	} else {
		// Enough room that no entry is evicted during the run (an eviction
		// logs a warning and changes the work measured).
		gate["replay"] = map[string]any{"max_entries": 4 << 20}
	}
	rg, err := startRig(ctx, func(string) []any {
		return []any{route("/hook", gate, respond()), route("/plain", respond())}
	})
	if err != nil {
		return nil, err
	}
	defer rg.stop()

	replay := "on (memory)"
	if !o.replay {
		replay = "off"
	}
	fmt.Fprintf(out, "gate + respond vs respond: provider %s, body %d B, %d requests x %d round(s) per target, %d clients, replay %s\n",
		o.provider, o.size, o.n, o.rounds, o.c, replay)
	fmt.Fprintf(out, "%s; load generator and Caddy share this process\n\n", machine())

	targets := []target{{"respond", rg.base + "/plain"}, {"verify", rg.base + "/hook"}}
	rep := &respondReport{results: map[string][]*result{}}
	ss := &session{ctx: ctx, s: s, o: o}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\ttarget\trequests\treq/s\tp50\tp90\tp99\tfailed\t")
	for round := 1; round <= o.rounds; round++ {
		order := targets
		if round%2 == 0 {
			order = []target{targets[1], targets[0]}
		}
		for _, t := range order {
			ss.warmUp(t)
			r := ss.measure(t)
			rep.results[t.name] = append(rep.results[t.name], r)
			fmt.Fprintf(tw, "%d\t%s\t%d%s\t%.0f\t%s\t%s\t%s\t%d\t\n", round, t.name, r.done, cutNote(r), r.rps(),
				us(r.pct(0.50)), us(r.pct(0.90)), us(r.pct(0.99)), r.failed)
		}
		if b, v := rep.results["respond"][round-1], rep.results["verify"][round-1]; b.rps() > 0 {
			rep.ratios = append(rep.ratios, v.rps()/b.rps())
		}
	}
	tw.Flush()
	if len(rep.ratios) > 0 {
		b, v := median(rep.results["respond"]), median(rep.results["verify"])
		ratio := medianOf(rep.ratios)
		fmt.Fprintf(out, "\nmedian round: respond %.0f req/s (p50 %s, p99 %s), verify %.0f req/s (p50 %s, p99 %s)\n",
			b.rps(), us(b.pct(0.50)), us(b.pct(0.99)), v.rps(), us(v.pct(0.50)), us(v.pct(0.99)))
		fmt.Fprintf(out, "gate + respond vs respond, same round (median of %d): req/s x%.3f (target >= %.2f: %s); per round: x%s\n",
			len(rep.ratios), ratio, respondTarget, verdict(ratio >= respondTarget), fmtList3(rep.ratios))
		fmt.Fprintf(out, "gate cost per request (from the median rounds, both cores): %.1f µs\n",
			1e6*(1/v.rps()-1/b.rps())*float64(min(o.c, 2)))
	}
	return rep, ss.err()
}

// fmtList3 is fmtList with three decimals.
func fmtList3(v []float64) string {
	parts := ""
	for i, x := range v {
		if i > 0 {
			parts += ", x"
		}
		parts += fmt.Sprintf("%.3f", x)
	}
	return parts
}

// startCPUProfile starts a CPU profile into path ("" does nothing); the
// returned function stops it.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
