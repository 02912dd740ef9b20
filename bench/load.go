package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The load: deliveries fired at a target by concurrent clients, their
// latencies, and the steps every run shares (warm-up, measure, verdict).

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

// session is the load of one run: its signer and options, the delivery ids
// it has used (shared by every target, so no delivery is ever sent twice),
// and what went wrong.
type session struct {
	ctx      context.Context
	s        signer
	o        options
	seq      atomic.Uint64
	failures []string
	cut      bool // a target was stopped at the deadline
}

// warmUp sends min(N/10, 500) deliveries to t, not measured: it opens the
// connections and fills the pools.
func (ss *session) warmUp(t target) {
	if w := fire(ss.ctx, t, ss.s, ss.o, min(max(ss.o.n/10, 1), 500), &ss.seq); w.failed > 0 {
		ss.failures = append(ss.failures, fmt.Sprintf("%s (warm-up): %d failed, first: %s", t.name, w.failed, w.firstErr))
	}
}

// measure sends N deliveries to t.
func (ss *session) measure(t target) *result {
	r := fire(ss.ctx, t, ss.s, ss.o, ss.o.n, &ss.seq)
	if r.failed > 0 {
		ss.failures = append(ss.failures, fmt.Sprintf("%s: %d failed, first: %s", t.name, r.failed, r.firstErr))
	}
	ss.cut = ss.cut || r.cut
	return r
}

// err is the run's verdict: the requests that failed, or the deadline.
func (ss *session) err() error {
	if len(ss.failures) > 0 {
		return fmt.Errorf("requests failed:\n  %s", strings.Join(ss.failures, "\n  "))
	}
	if ss.cut {
		return errors.New("stopped at the deadline before all requests were sent")
	}
	return nil
}

// median returns the result whose req/s is the median of rs (rounds of one
// target).
func median[R interface{ rps() float64 }](rs []R) R {
	rs = append([]R(nil), rs...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].rps() < rs[j].rps() })
	return rs[len(rs)/2]
}

// cutNote marks a row of a target stopped at the deadline.
func cutNote(r *result) string {
	if r.cut {
		return " (cut at deadline)"
	}
	return ""
}

// machine describes where the run ran.
func machine() string {
	return fmt.Sprintf("%s/%s, %d CPUs, GOMAXPROCS %d, %s",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
}
