package webhookverify

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// Integration tests run one in-process Caddy (caddytest) per test binary,
// on caddytest's fixed ports unless WV_TEST_ADMIN_PORT and
// WV_TEST_HTTP_PORT say otherwise (so two checkouts can test at once).
var (
	testAdminPort = envPort("WV_TEST_ADMIN_PORT", 2999)
	testHTTPPort  = envPort("WV_TEST_HTTP_PORT", 9080)
)

func envPort(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
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
`, testAdminPort, testHTTPPort, testHTTPPort+363)
}

// baseURL is where the test site listens.
func baseURL() string { return fmt.Sprintf("http://localhost:%d", testHTTPPort) }
