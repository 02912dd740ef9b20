package webhookverify

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// Integration tests run one in-process Caddy (caddytest) per test binary.
// Its admin, HTTP and HTTPS ports are picked once per test binary among the
// free loopback ports (so two runs on one machine cannot reach each other's
// Caddy: caddytest loads its config into whatever answers on the admin port,
// and Caddy listens with SO_REUSEPORT), unless WV_TEST_ADMIN_PORT,
// WV_TEST_HTTP_PORT and WV_TEST_HTTPS_PORT set them (HTTPS defaults to the
// HTTP port + 363 when only WV_TEST_HTTP_PORT is set).
var (
	testAdminPort, testHTTPPort, testHTTPSPort = testPorts()
)

// testPorts returns the suite's admin, HTTP and HTTPS ports.
func testPorts() (admin, plain, tls int) {
	picked := pickFreePorts(3)
	admin = envPort("WV_TEST_ADMIN_PORT", picked[0])
	plain = envPort("WV_TEST_HTTP_PORT", picked[1])
	def := picked[2]
	if envPort("WV_TEST_HTTP_PORT", 0) != 0 {
		def = plain + 363
	}
	tls = envPort("WV_TEST_HTTPS_PORT", def)
	return admin, plain, tls
}

func envPort(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// pickFreePorts returns n distinct loopback ports the kernel had free,
// holding them all until each is known, then releasing them for the caller.
func pickFreePorts(n int) []int {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(fmt.Sprintf("picking a free test port: %v", err))
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// newTester returns a caddytest.Tester on the test ports.
func newTester(t *testing.T) *caddytest.Tester {
	return caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{AdminPort: testAdminPort})
}

// globalOptions is the global options block every integration config starts with.
func globalOptions() string {
	return fmt.Sprintf(`{
	skip_install_trust
	admin localhost:%d
	http_port %d
	https_port %d
	grace_period 1ns
}
`, testAdminPort, testHTTPPort, testHTTPSPort)
}

// baseURL is where the test site listens.
func baseURL() string { return fmt.Sprintf("http://localhost:%d", testHTTPPort) }
