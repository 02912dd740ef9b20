package replay

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Round trips of the Redis store: MONITOR shows every command a client
// sent, and the commands a script ran inside Redis apart ("[0 lua]"), so
// counting the others counts the store's round trips (it pipelines
// nothing).

func init() {
	// The whole contract again on the path for servers older than Redis
	// 7.0 (SET NX PX, then GET when the key exists).
	factories = append(factories, struct {
		name string
		new  storeFactory
	}{"redis-before-7", func(t testing.TB, clock *fakeClock) Store {
		s := newTestRedis(t, clock).(*Redis)
		s.noGetNX.Store(true)
		return s
	}})
}

// monitor counts the commands clients send to the server at addr.
type monitor struct {
	conn net.Conn
	rd   *bufio.Reader
}

func startMonitor(t *testing.T, addr string) *monitor {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	m := &monitor{conn: c, rd: bufio.NewReader(c)}
	if _, err := c.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := m.rd.ReadString('\n'); err != nil || line != "+OK\r\n" {
		t.Fatalf("MONITOR: %q, %v", line, err)
	}
	return m
}

// trips returns the commands sent by clients (not by scripts) since the
// last call, up to the marker command that end sends.
func (m *monitor) trips(t *testing.T, end func(marker string)) []string {
	t.Helper()
	marker := "monitor-end-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	end(marker)
	_ = m.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var cmds []string
	for {
		line, err := m.rd.ReadString('\n')
		if err != nil {
			t.Fatalf("MONITOR: %v", err)
		}
		if strings.Contains(line, marker) {
			return cmds
		}
		_, rest, ok := strings.Cut(line, "] ")
		if !ok || strings.Contains(line, " lua] ") {
			continue
		}
		name, _, _ := strings.Cut(rest, " ")
		cmds = append(cmds, strings.ToUpper(strings.Trim(name, `"`)))
	}
}

func TestRedisRoundTripsPerStep(t *testing.T) {
	r := startTestRedis(t, 0)
	admin := r.Client(t, nil)
	for _, legacy := range []bool{false, true} {
		s := NewRedis(r.Client(t, nil), RedisOptions{Prefix: testPrefix})
		s.noGetNX.Store(legacy)
		name := "redis 7"
		if legacy {
			name = "before redis 7"
		}
		t.Run(name, func(t *testing.T) {
			warm := Key("p", []byte("warm"+name))
			// The scripts loaded (EVALSHA's fallback to EVAL is once per
			// server), and the admin connection open (HELLO).
			commit(t, s, warm, reserve(t, s, warm, inflight, New), ttl)
			release(t, s, warm, 1)
			admin.Ping(ctx)
			dup := 1
			if legacy {
				dup = 2
			}
			for i, st := range []struct {
				name  string
				setup func(k string)
				run   func(k string)
				want  []string
			}{
				{"new delivery, committed", nil, func(k string) { commit(t, s, k, reserve(t, s, k, inflight, New), ttl) }, []string{"SET", "EVALSHA"}},
				{"new delivery, released", nil, func(k string) { release(t, s, k, reserve(t, s, k, inflight, New)) }, []string{"SET", "EVALSHA"}},
				{"duplicate of an accepted one", func(k string) { commit(t, s, k, reserve(t, s, k, inflight, New), ttl) },
					func(k string) { reserve(t, s, k, inflight, Accepted) }, []string{"SET", "GET"}[:dup]},
				{"copy in flight", func(k string) { reserve(t, s, k, inflight, New) },
					func(k string) { reserve(t, s, k, inflight, InFlight) }, []string{"SET", "GET"}[:dup]},
			} {
				t.Run(st.name, func(t *testing.T) {
					k := Key("p", []byte(name+"-trips-"+strconv.Itoa(i)))
					if st.setup != nil {
						st.setup(k)
					}
					m := startMonitor(t, r.Addr)
					st.run(k)
					got := m.trips(t, func(marker string) { admin.Echo(ctx, marker) })
					if strings.Join(got, " ") != strings.Join(st.want, " ") {
						t.Errorf("round trips %v, want %v", got, st.want)
					}
				})
			}
		})
	}
}
