package verifiers

// Presets of docs/providers.md's "Generic schemes" providers table that are names
// of another provider (see forwardTo in presets.go): the Standard Webhooks
// senders (webhook-* or svix-* headers, whsec_ secret): brex, clerk
// (through Svix), loops, openai, replicate. The generic schemes themselves
// have code of their own: standardwebhooks.go, hmac.go.

func init() {
	for _, name := range []string{"brex", "clerk", "loops", "openai", "replicate"} {
		Register(name, forwardTo("standard_webhooks"))
		RegisterSigner(name, signAs("standard_webhooks"))
	}
}
