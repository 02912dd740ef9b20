//go:build race && unix

package webhookverify

// Under the race detector each request costs several times more: the flood
// is smaller, so that TestFlood stays a matter of seconds.
func init() { floodSize = 3500 }
