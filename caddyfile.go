package webhookverify

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("webhook_verify", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("webhook_verify", httpcaddyfile.Before, "basic_auth")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	hv := new(Handler)
	err := hv.UnmarshalCaddyfile(h.Dispenser)
	return hv, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	webhook_verify [<matcher>] <provider> {
//		secret <value>                 # repeatable (rotation)
//		secret_from storage|file <key template> [{ ttl, negative_ttl, max_tenants, max_lookups, lookup_rate }]
//		public_key [<key_id>] <value>  # repeatable
//		tolerance <duration>|off       # default 5m
//		max_size <size>                # default 1MiB
//		body_timeout <duration>        # default 10s
//		mode enforce|log_only          # default enforce
//		name <route name>              # metrics route label and logs
//		attest <whsec_|whsk_ key...>   # sign what is passed on (Standard Webhooks); repeatable
//		replay off
//		replay {
//			ttl <duration>
//			in_flight_ttl <duration>
//			max_entries <n>
//			namespace <name>
//			storage [<module> ...]
//			redis <url> [<url>...] {   # see unmarshalRedis
//				username, password, key_prefix, timeout, pool_size,
//				cluster, sentinel <master>, tls { ca, server_name }
//			}
//			key signature|id|json <pointer>
//		}
//		url <scheme://host/path>       # twilio, mandrill, {url} of a recipe (square, trello, hubspot)
//		url_path </path>               # with url: the path requests reach Caddy on, if not url's
//		topic_arn <arn...>             # sns
//		certificate <pem file>         # sns, repeatable
//		auto_confirm                   # sns
//		username <name>                # postmark
//		password <password>            # postmark
//		header <name>                  # postmark
//		keep_credentials               # postmark: pass the checked credentials on
//		customer_handle <handle...>    # mailchannels
//		verify_token <token>           # meta family (facebook_graph_api, whatsapp, ...)
//		webhook_id <id>                # paypal
//
//		# the generic hmac provider's recipe (verifiers.HMACRecipe):
//		signature_header <name> [<name>...]  # any one matching; Name-* = Name-1..32
//		scheme hmac|hash|token
//		prefix <text>
//		hash sha1|sha256|sha512
//		encoding hex|base64|base64url
//		secret_encoding raw|base64|hex|whsec
//		secret_prefix <text>
//		content <template>             # {body} {timestamp} {id} {method} {path} {url} {header:Name}, text
//		timestamp_header <name> [s|ms|auto|rfc3339|iso8601]
//		timestamp_unit s|ms|auto|rfc3339|iso8601
//		timestamp_key <prefix>
//		timestamp_first
//		timestamp_field <json pointer>
//		id_header <name>
//		separator <text>
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	h.Origin = fmt.Sprintf("%s:%d", d.File(), d.Line())
	if !d.NextArg() {
		return d.Errf("webhook_verify needs a provider, as in webhook_verify stripe {...} (docs/providers.md lists all %d names)", len(verifiers.Names()))
	}
	h.Provider = d.Val()
	if !verifiers.Known(h.Provider) {
		return d.Errf("unknown provider %q%s", h.Provider, providerHint(h.Provider))
	}
	if d.NextArg() {
		return d.ArgErr()
	}
	recipe := func() (*verifiers.HMACRecipe, error) {
		if verifiers.Canonical(h.Provider) != "hmac" {
			return nil, d.Errf("%s is an option of the hmac provider, not of %s", d.Val(), h.Provider)
		}
		if h.HMAC == nil {
			h.HMAC = new(verifiers.HMACRecipe)
		}
		return h.HMAC, nil
	}
	directive := d.Token()
	lines := map[string]caddyfile.Token{}
	for d.NextBlock(0) {
		opt := d.Val()
		if _, seen := lines[opt]; !seen {
			lines[opt] = d.Token()
		}
		switch opt {
		case "secret":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			h.Secrets = append(h.Secrets, v)
		case "secret_from":
			if err := h.unmarshalSecretFrom(d); err != nil {
				return err
			}
		case "public_key":
			args := d.RemainingArgs()
			switch len(args) {
			case 1:
				h.PublicKeys = append(h.PublicKeys, verifiers.PublicKey{Key: args[0]})
			case 2:
				h.PublicKeys = append(h.PublicKeys, verifiers.PublicKey{KeyID: args[0], Key: args[1]})
			default:
				return d.ArgErr()
			}
			if h.PublicKeys[len(h.PublicKeys)-1].Key == "" {
				return d.Err("public_key is empty")
			}
		case "tolerance":
			v, err := durationArg(d, "or off")
			if err != nil {
				return err
			}
			if v == "off" {
				h.Tolerance = caddy.Duration(-1)
				break
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return d.Errf("parsing tolerance: %v; use a duration like 5m, or off", err)
			}
			if dur <= 0 {
				return d.Err("tolerance must be positive, or off")
			}
			if dur > MaxTolerance {
				return d.Errf("tolerance must be at most %v", MaxTolerance)
			}
			h.Tolerance = caddy.Duration(dur)
		case "max_size":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			size, err := humanize.ParseBytes(v)
			if err != nil {
				return d.Errf("parsing max_size: %v", err)
			}
			if size == 0 || size > 1<<40 {
				return d.Err("max_size out of range")
			}
			h.MaxSize = int64(size)
		case "body_timeout":
			v, err := durationArg(d, "")
			if err != nil {
				return err
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return d.Errf("parsing body_timeout: %v; use a duration like 30s", err)
			}
			if dur < MinBodyTimeout || dur > MaxBodyTimeout {
				return d.Errf("body_timeout must be between %v and %v", MinBodyTimeout, MaxBodyTimeout)
			}
			h.BodyTimeout = caddy.Duration(dur)
		case "keep_credentials":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.KeepCredentials = true
		case "replay":
			if err := h.unmarshalReplay(d); err != nil {
				return err
			}
		case "attest":
			keys, err := unmarshalAttest(d)
			if err != nil {
				return err
			}
			h.Attest = append(h.Attest, keys...)
		case "mode":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			if v != ModeEnforce && v != ModeLogOnly {
				return d.Errf("mode %q is not enforce or log_only", v)
			}
			h.Mode = v
		case "name":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			h.Name = v
		case "url":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			h.URL = v
		case "url_path":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			h.URLPath = v
		case "topic_arn":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			h.TopicARNs = append(h.TopicARNs, args...)
		case "customer_handle":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			h.CustomerHandles = append(h.CustomerHandles, args...)
		case "certificate":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			h.Certificates = append(h.Certificates, v)
		case "auto_confirm":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.AutoConfirm = true
		case "username":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			h.Username = v
		case "password":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			h.Password = v
		case "header":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			h.Header = v
		case "verify_token":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			h.VerifyToken = v
		case "webhook_id":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			h.WebhookID = v

		case "signature_header":
			r, err := recipe()
			if err != nil {
				return err
			}
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			r.SignatureHeader, r.SignatureHeaders = args[0], nil
			if len(args) > 1 {
				r.SignatureHeaders = args[1:]
			}
		case "timestamp_first":
			r, err := recipe()
			if err != nil {
				return err
			}
			if d.NextArg() {
				return d.ArgErr()
			}
			r.TimestampFirst = true
		case "prefix", "hash", "encoding", "secret_encoding", "content", "scheme", "secret_prefix",
			"timestamp_key", "id_header", "separator", "timestamp_unit", "timestamp_field":
			r, err := recipe()
			if err != nil {
				return err
			}
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			*recipeField(r, opt) = v
		case "timestamp_header":
			r, err := recipe()
			if err != nil {
				return err
			}
			args := d.RemainingArgs()
			if len(args) < 1 || len(args) > 2 {
				return d.ArgErr()
			}
			r.TimestampHeader = args[0]
			if len(args) == 2 {
				r.TimestampUnit = args[1]
			}
		default:
			return d.Errf("unrecognized webhook_verify subdirective %q%s", opt, didYouMean(opt, directiveOptions))
		}
	}
	if err := h.checkShape(directive, lines); err != nil {
		return err
	}
	if h.HMAC != nil {
		// What the recipe alone can tell is caught here, with file and line.
		if err := verifiers.CheckRecipe(*h.HMAC, h.URL, time.Duration(h.Tolerance)); err != nil {
			return h.errAt(directive, lines, err)
		}
	}
	return nil
}

// checkShape builds the verifier with stand-ins for the values only known
// at load (placeholders, certificate files), so that what the Caddyfile
// alone can tell (a missing secret, an option the provider does not take,
// a bad hash or encoding name, a literal secret or key of the wrong form)
// is refused while parsing. The error points at the line of the option it
// names, else at the directive.
func (h *Handler) checkShape(directive caddyfile.Token, lines map[string]caddyfile.Token) error {
	if err := h.checkSecretFrom(); err != nil {
		return h.errAt(directive, lines, err)
	}
	if err := verifiers.Check(h.Provider, h.shapeConfig(), hasPlaceholder); err != nil {
		return h.errAt(directive, lines, err)
	}
	return nil
}

// errAt names the route in err and points at the line of the first option
// the message names, else at the directive.
func (h *Handler) errAt(directive caddyfile.Token, lines map[string]caddyfile.Token, err error) error {
	msg := directiveError(h.Provider, err).Error()
	at := directive
	best := -1
	// The verifiers' words for options written otherwise here.
	search := strings.ReplaceAll(msg, "public key", "public_key")
	if tok, ok := lines["timestamp_header"]; ok {
		if _, set := lines["timestamp_unit"]; !set {
			lines["timestamp_unit"] = tok
		}
	}
	for opt, tok := range lines {
		if i := wordIndex(search, opt); i >= 0 && (best < 0 || i < best) {
			best, at = i, tok
		}
	}
	return fmt.Errorf("%s, at %s:%d", msg, at.File, at.Line)
}

// shapeConfig is the verifier config of the handler's values as written
// (placeholders unresolved, certificates as paths). A new option of
// verifiers.Config must be added here too.
func (h *Handler) shapeConfig() verifiers.Config {
	return verifiers.Config{
		Provider:        h.Provider,
		Secrets:         h.shapeSecrets(),
		PublicKeys:      h.PublicKeys,
		Tolerance:       time.Duration(h.Tolerance),
		HMAC:            h.HMAC,
		URL:             h.URL,
		TopicARNs:       h.TopicARNs,
		Certificates:    h.Certificates,
		AutoConfirm:     h.AutoConfirm,
		Username:        h.Username,
		Password:        h.Password,
		Header:          h.Header,
		CustomerHandles: h.CustomerHandles,
		VerifyToken:     h.VerifyToken,
		WebhookID:       h.WebhookID,
	}
}

// hasPlaceholder reports whether s holds a Caddy placeholder ({...}).
func hasPlaceholder(s string) bool {
	i := strings.IndexByte(s, '{')
	return i >= 0 && strings.IndexByte(s[i:], '}') > 0
}

// wordIndex is the index of the first occurrence of word in s that is
// not part of a longer identifier, or -1.
func wordIndex(s, word string) int {
	isWord := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	for off := 0; ; {
		i := strings.Index(s[off:], word)
		if i < 0 {
			return -1
		}
		i += off
		end := i + len(word)
		if (i == 0 || !isWord(s[i-1])) && (end == len(s) || !isWord(s[end])) {
			return i
		}
		off = i + 1
	}
}

// recipeField maps a Caddyfile option to its field in the recipe.
func recipeField(r *verifiers.HMACRecipe, opt string) *string {
	switch opt {
	case "scheme":
		return &r.Scheme
	case "secret_prefix":
		return &r.SecretPrefix
	case "timestamp_field":
		return &r.TimestampField
	case "prefix":
		return &r.Prefix
	case "hash":
		return &r.Hash
	case "encoding":
		return &r.Encoding
	case "secret_encoding":
		return &r.SecretEncoding
	case "content":
		return &r.Content
	case "timestamp_key":
		return &r.TimestampKey
	case "id_header":
		return &r.IDHeader
	case "separator":
		return &r.Separator
	case "timestamp_unit":
		return &r.TimestampUnit
	}
	panic("unknown recipe option " + opt)
}

// unmarshalReplay parses `replay off` or a replay block.
func (h *Handler) unmarshalReplay(d *caddyfile.Dispenser) error {
	prev := h.Replay
	if h.Replay == nil {
		h.Replay = new(ReplayConfig)
	}
	rc := h.Replay
	if d.NextArg() {
		if d.Val() != "off" || d.NextArg() {
			return d.Errf("replay takes off or a block")
		}
		if prev != nil && !prev.Disabled {
			return d.Err("replay given twice (a block, then off): keep one")
		}
		rc.Disabled = true
		return nil
	}
	if prev != nil && prev.Disabled {
		return d.Err("replay given twice (off, then a block): keep one")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "ttl":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return d.Errf("parsing ttl: %v", err)
			}
			if dur < time.Second {
				return d.Err("ttl must be at least 1s")
			}
			rc.TTL = caddy.Duration(dur)
		case "in_flight_ttl":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return d.Errf("parsing in_flight_ttl: %v", err)
			}
			if dur < time.Second {
				return d.Err("in_flight_ttl must be at least 1s")
			}
			rc.InFlightTTL = caddy.Duration(dur)
		case "max_entries":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return d.Errf("max_entries must be a positive integer")
			}
			rc.MaxEntries = n
		case "namespace":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			rc.Namespace = v
		case "storage":
			rc.Cluster = true
			if !d.NextArg() {
				break
			}
			modName := d.Val()
			modID := "caddy.storage." + modName
			unm, err := caddyfile.UnmarshalModule(d, modID)
			if err != nil {
				return err
			}
			if _, ok := unm.(caddy.StorageConverter); !ok {
				return d.Errf("module %s is not a caddy.StorageConverter", modID)
			}
			rc.StorageRaw = caddyconfig.JSONModuleObject(unm, "module", modName, nil)
		case "key":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			v := strings.Join(args, " ")
			if _, err := parseReplayKey(v); err != nil {
				return d.Err(err.Error())
			}
			rc.Key = v
		case "redis":
			if rc.Redis != nil {
				return d.Err("redis given twice")
			}
			redis, err := unmarshalRedis(d)
			if err != nil {
				return err
			}
			rc.Redis = redis
		default:
			return d.Errf("unrecognized replay option %q%s", d.Val(), didYouMean(d.Val(), replayOptions))
		}
	}
	if rc.Redis != nil && rc.Cluster {
		return d.Err("replay: redis and storage exclude each other")
	}
	return nil
}

// durationArg is oneArg for a duration option: more than one argument
// ("5 minutes") gets a hint of the form (alt: what else it takes).
func durationArg(d *caddyfile.Dispenser, alt string) (string, error) {
	opt := d.Val()
	args := d.RemainingArgs()
	if len(args) > 1 {
		if alt != "" {
			alt = ", " + alt
		}
		return "", d.Errf("%s takes one duration: use a duration like 5m (units ns, us, ms, s, m, h, d)%s", opt, alt)
	}
	if len(args) == 0 || args[0] == "" {
		return "", d.ArgErr()
	}
	return args[0], nil
}

// oneArg returns exactly one non-empty argument.
func oneArg(d *caddyfile.Dispenser) (string, error) {
	opt := d.Val()
	if !d.NextArg() {
		return "", d.ArgErr()
	}
	v := d.Val()
	if d.NextArg() {
		return "", d.ArgErr()
	}
	if v == "" {
		return "", d.Errf("%s must not be empty", opt)
	}
	return v, nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
