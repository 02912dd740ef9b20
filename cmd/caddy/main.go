// Command caddy is Caddy with its standard modules, webhook_verify and the
// Redis storage module (caddy.storage.redis, for a replay cache shared by a
// cluster), so that `go run ./cmd/caddy run --config Caddyfile.example`
// works without xcaddy.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/pberkel/caddy-storage-redis"

	_ "github.com/webhookverify/caddy-webhook-verify"
)

func main() {
	caddycmd.Main()
}
