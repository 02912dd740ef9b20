package main

// Round trips per delivery (-stores): INFO commandstats counts a script's
// inner commands as commands of their own, so it cannot tell round trips
// from work inside Redis. A short extra pass of new deliveries to each
// Redis-backed store, not measured, is watched with MONITOR, which marks
// what a script ran ("[0 lua]") apart from what a client sent: the
// client's commands are the store's round trips (it pipelines nothing).

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"
)

// roundTripDeliveries is the size of the watched pass.
const roundTripDeliveries = 200

// watchRoundTrips counts, per command name, what clients other than the
// watcher sent to the Redis at addr while send ran.
func watchRoundTrips(ctx context.Context, addr string, send func()) (map[string]int, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	rd := bufio.NewReader(c)
	if _, err := c.Write([]byte("MONITOR\r\n")); err != nil {
		return nil, err
	}
	if line, err := rd.ReadString('\n'); err != nil || line != "+OK\r\n" {
		return nil, fmt.Errorf("MONITOR: %q, %v", line, err)
	}
	counts := map[string]int{}
	done := make(chan error, 1)
	marker := fmt.Sprintf("bench-monitor-end-%d", time.Now().UnixNano())
	go func() {
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				done <- err
				return
			}
			if strings.Contains(line, marker) {
				done <- nil
				return
			}
			_, rest, ok := strings.Cut(line, "] ")
			if !ok || strings.Contains(line, " lua] ") {
				continue
			}
			name, _, _ := strings.Cut(rest, " ")
			switch name = strings.ToUpper(strings.Trim(name, `"`)); name {
			case "HELLO", "AUTH", "SELECT", "PING", "CLIENT":
				// Connection setup, paid per connection.
			default:
				counts[name]++
			}
		}
	}()
	send()
	// The marker goes through another connection once send is done.
	m, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if _, err := fmt.Fprintf(m, "ECHO %s\r\n", marker); err != nil {
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if err := <-done; err != nil {
		return nil, fmt.Errorf("MONITOR: %v", err)
	}
	return counts, nil
}

// perDeliveryList formats counts divided by n, by command name.
func perDeliveryList(counts map[string]int, n int) (total float64, list string) {
	var parts []string
	for k, v := range counts {
		total += float64(v) / float64(n)
		parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(v)/float64(n)))
	}
	sort.Strings(parts)
	return total, strings.Join(parts, ", ")
}
