package webhookverify

import (
	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// replayMaterial is the default key material of a handler (signed id,
// else signature), for tests written before key sources existed.
func replayMaterial(res *verifiers.Result) []byte {
	m, err := (&Handler{}).replayMaterial(nil, res)
	if err != nil {
		panic(err)
	}
	return m
}
