//go:build unix

// Package redistest starts a real redis-server (or valkey-server) on a
// loopback port for tests. Without one the test is skipped, unless
// WEBHOOK_VERIFY_REQUIRE_REDIS=1, which makes it fail.
// WEBHOOK_VERIFY_REDIS_SERVER names the server binary (default:
// redis-server).
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server process started by Start.
type Server struct {
	// Addr is host:port, on 127.0.0.1.
	Addr string
	// Port is the port Addr holds.
	Port int
	// Dir is the server's working directory (AOF and RDB files).
	Dir string

	cmd  *exec.Cmd
	done chan struct{}
}

// Bin returns the server binary, or skips (fails, with
// WEBHOOK_VERIFY_REQUIRE_REDIS=1) t without one.
func Bin(t testing.TB) string {
	t.Helper()
	name := os.Getenv("WEBHOOK_VERIFY_REDIS_SERVER")
	if name == "" {
		name = "redis-server"
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("WEBHOOK_VERIFY_REQUIRE_REDIS") == "1" {
			t.Fatalf("%s not found and WEBHOOK_VERIFY_REQUIRE_REDIS=1: %v", name, err)
		}
		t.Skipf("%s not found (apt-get install redis-server): %v", name, err)
	}
	return bin
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts a server on port (0: a free one) in dir ("": a new
// temporary directory), without persistence unless extra (more
// command-line arguments, which win) turns it on, and waits until it
// answers PING. The server is killed when the test ends.
func Start(t testing.TB, port int, dir string, extra ...string) *Server {
	t.Helper()
	bin := Bin(t)
	if port == 0 {
		port = FreePort(t)
	}
	if dir == "" {
		dir = t.TempDir()
	}
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, Dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Kill)
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := c.Ping(context.Background()).Err()
		if err == nil {
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("%s exited:\n%s", bin, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not answering on %s: %v", bin, s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill stops the server abruptly (SIGKILL to its process group), as a
// crash would, and waits for it to exit.
func (s *Server) Kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
}

// Client returns a client of the server with opts (nil: defaults; Addr is
// set), closed when the test ends.
func (s *Server) Client(t testing.TB, opts *redis.Options) *redis.Client {
	t.Helper()
	if opts == nil {
		opts = new(redis.Options)
	}
	opts.Addr = s.Addr
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}
