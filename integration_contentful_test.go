package webhookverify

// End-to-end routes and cases of contentful, joined to
// TestIntegrationProviders' config by e2eRoutes and e2eCases. The vectors
// were signed by Contentful's toolkit, @contentful/node-apps-toolkit
// (signRequest), with the node command recorded in
// verifiers/contentful_test.go, where the same constants are verified
// directly. The signature covers the path and query, so each route's path
// is the one its vector signed.
const (
	e2eCfS1     = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	e2eCfS2     = "Ll8hd7JBkMOVyFGAj2oqx1B5qFrkyqnSj9rpYFevOC7czd3u8O9DJMzmc1sQJ8Qv"
	e2eCfBody   = `{"sys":{"type":"Entry","id":"5KsDBWseXY6QegucYAoacS","space":{"sys":{"type":"Link","linkType":"Space","id":"yadj1kx9rmg0"}},"environment":{"sys":{"id":"master","type":"Link","linkType":"Environment"}},"revision":3},"fields":{"title":{"en-US":"Hello, café ✓"}}}`
	e2eCfIdem   = "9f2c1e0b4d7a6385f1e2d3c4b5a69788a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2"
	e2eCfList   = "content-type,x-contentful-idempotency-key,x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic"
	e2eCfSigA   = "a5238558cc29271bf43ef259e8752676f563c8ecfd85ceac60896ace97fa5148" // POST /contentful, S1
	e2eCfSigOld = "3d8829df8b561137c8cebbadb3f52a1af4732d4f6a570fc0a9899fa191afbb2f" // POST /contentful-stale, S1
	e2eCfSigQ   = "b44d4ecaf2b3e59a5e9343ce47a98b32867a5abcc7fa83bc7d24b84374d81674" // POST /contentful?space=..., S2
	e2eCfQuery  = "?space=yadj1kx9rmg0&name=caf%C3%A9%20bar"
)

// e2eContentfulRoutes: both secrets (rotation) with the timestamp check
// off for the 2024 vectors, and a route with the default tolerance.
func e2eContentfulRoutes() []e2eRoute {
	return []e2eRoute{
		{"/contentful", "contentful", "secret " + e2eCfS2 + "\nsecret " + e2eCfS1 + "\ntolerance off"},
		{"/contentful-stale", "contentful", "secret " + e2eCfS1},
	}
}

// e2eContentfulCases: the toolkit's deliveries forwarded byte for byte
// (the signed idempotency key as the delivery id), and refused when the
// body, the path, a signed header or the list changes, or when stale.
func e2eContentfulCases() []e2eCase {
	a := map[string]string{"Content-Type": "application/vnd.contentful.management.v1+json",
		"X-Contentful-Topic": "ContentManagement.Entry.publish", "X-Contentful-Idempotency-Key": e2eCfIdem,
		"X-Contentful-Signed-Headers": e2eCfList, "X-Contentful-Timestamp": "1718000000000", "X-Contentful-Signature": e2eCfSigA}
	q := map[string]string{"Content-Type": "application/json",
		"X-Contentful-Signed-Headers": "content-type,x-contentful-signed-headers,x-contentful-timestamp",
		"X-Contentful-Timestamp":      "1718000123456", "X-Contentful-Signature": e2eCfSigQ}
	body := []byte(e2eCfBody)
	return []e2eCase{
		e2eOK("contentful: toolkit-signed entry publish", "/contentful", a, body, 1, e2eCfIdem, "1718000000"),
		e2eOK("contentful: toolkit-signed, query signed, other secret", "/contentful"+e2eCfQuery, q, body, 0, "", "1718000123"),
		e2eReject("contentful: tampered body", "/contentful", a, e2eReplace(body, `"revision":3`, `"revision":4`), 401),
		e2eReject("contentful: query changed", "/contentful?space=yadj1kx9rmg0", q, body, 401),
		e2eReject("contentful: signed header changed", "/contentful", e2eWith(a, "X-Contentful-Topic", "ContentManagement.Entry.delete"), body, 401),
		e2eReject("contentful: list not sorted", "/contentful", e2eWith(a, "X-Contentful-Signed-Headers",
			"x-contentful-topic,content-type,x-contentful-idempotency-key,x-contentful-signed-headers,x-contentful-timestamp"), body, 400),
		e2eReject("contentful: list without the timestamp", "/contentful", e2eWith(a, "X-Contentful-Signed-Headers",
			"content-type,x-contentful-idempotency-key,x-contentful-signed-headers,x-contentful-topic"), body, 400),
		e2eReject("contentful: stale", "/contentful-stale", e2eWith(a, "X-Contentful-Signature", e2eCfSigOld), body, 401),
	}
}
