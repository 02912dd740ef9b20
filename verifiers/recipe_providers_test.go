package verifiers

import (
	"errors"
	"testing"
	"time"
)

// TestRecipeExpressesProviders shows that the fixed HMAC providers are
// plain recipes: the recipe a user would write in the Caddyfile (spelled
// out here, not taken from the provider) gives the same verdict and the
// same Result as the named provider, on valid and on invalid requests.
func TestRecipeExpressesProviders(t *testing.T) {
	type check struct {
		name  string
		valid bool // the named provider accepts it
		req   *Request
	}
	md := time.Unix(maildeskTS, 0)
	as := time.UnixMilli(1699790400000)
	cases := []struct {
		provider string
		recipe   HMACRecipe
		secrets  []string
		checks   []check
	}{
		{
			provider: "maildesk",
			recipe: HMACRecipe{
				SignatureHeader: "X-Maildesk-Signature", Separator: ",", Prefix: "v1=", TimestampKey: "t=",
				TimestampHeader: "X-Maildesk-Timestamp", Content: "{timestamp}.{body}",
			},
			secrets: []string{"mdk_other", maildeskSecret},
			checks: []check{
				{"valid", true, recipeTestReq(maildeskBody, md, "X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", maildeskHeader)},
				{"two v1", true, recipeTestReq(maildeskBody2, time.Unix(maildeskTS2, 0), "X-Maildesk-Timestamp", "1718035260", "X-Maildesk-Signature", maildeskHeader2)},
				{"t mismatch", false, recipeTestReq(maildeskBody, md, "X-Maildesk-Timestamp", "1718035201", "X-Maildesk-Signature", maildeskHeader)},
				{"stale", false, recipeTestReq(maildeskBody, md.Add(time.Hour), "X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", maildeskHeader)},
				{"tampered", false, recipeTestReq(maildeskBody+"x", md, "X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", maildeskHeader)},
			},
		},
		{
			provider: "autosend",
			recipe: HMACRecipe{
				SignatureHeader: "X-Webhook-Signature", TimestampHeader: "X-Webhook-Timestamp",
				TimestampUnit: "auto", IDHeader: "X-Webhook-Delivery-Id",
			},
			secrets: []string{autosendSecret},
			checks: []check{
				{"valid", true, recipeTestReq(autosendBody, as, "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", autosendTSms, "X-Webhook-Delivery-Id", autosendDelivery)},
				{"valid (seconds)", true, recipeTestReq(autosendBody, as, "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", "1699790400")},
				{"stale", false, recipeTestReq(autosendBody, as.Add(time.Hour), "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", autosendTSms)},
				{"no timestamp", false, recipeTestReq(autosendBody, as, "X-Webhook-Signature", autosendSig)},
				{"tampered", false, recipeTestReq(autosendBody+" ", as, "X-Webhook-Signature", autosendSig, "X-Webhook-Timestamp", autosendTSms)},
			},
		},
		{
			provider: "paddle",
			recipe: HMACRecipe{
				SignatureHeader: "Paddle-Signature", Separator: ";", Prefix: "h1=", TimestampKey: "ts=",
				Content: "{timestamp}:{body}",
			},
			secrets: paddlePySecrets,
			checks: []check{
				{"valid", true, recipeTestReq(paddlePyBody, time.Unix(paddlePyTS, 0), "Paddle-Signature", paddlePyHeader)},
				{"tampered", false, recipeTestReq(paddlePyBody+"!", time.Unix(paddlePyTS, 0), "Paddle-Signature", paddlePyHeader)},
				{"no ts", false, recipeTestReq(paddlePyBody, time.Unix(paddlePyTS, 0), "Paddle-Signature", "h1="+paddlePyH1)},
			},
		},
		{
			provider: "shopify",
			recipe:   HMACRecipe{SignatureHeader: "X-Shopify-Hmac-Sha256", Encoding: "base64", IDHeader: "X-Shopify-Webhook-Id"},
			secrets:  []string{shopifySecret},
			checks: []check{
				{"valid", true, recipeTestReq(shopifyBody, time.Now(), "X-Shopify-Hmac-Sha256", shopifySig, "X-Shopify-Webhook-Id", shopifyID)},
				{"hex", false, recipeTestReq(shopifyBody, time.Now(), "X-Shopify-Hmac-Sha256", shopifySigHex)},
			},
		},
	}
	for _, c := range cases {
		named, err := New(c.provider, Config{Secrets: c.secrets})
		if err != nil {
			t.Fatalf("New(%s): %v", c.provider, err)
		}
		recipe := newRecipeForTest(t, c.recipe, 0, c.secrets...)
		if recipeTestHasTS(t, named) != recipeTestHasTS(t, recipe) {
			t.Fatalf("%s: HasTimestamp differs", c.provider)
		}
		for _, ch := range c.checks {
			t.Run(c.provider+"/"+ch.name, func(t *testing.T) {
				want, werr := named.Verify(ch.req)
				got, gerr := recipe.Verify(ch.req)
				if (werr == nil) != ch.valid {
					t.Fatalf("provider %s: error %v, want valid=%v", c.provider, werr, ch.valid)
				}
				if werr != nil {
					var sentinel error
					for _, s := range recipeTestSentinels {
						if errors.Is(werr, s) {
							sentinel = s
						}
					}
					recipeTestErr(t, gerr, sentinel)
					return
				}
				if gerr != nil {
					t.Fatalf("provider accepts, recipe says %v", gerr)
				}
				recipeTestResult(t, got, *want)
			})
		}
	}
}
