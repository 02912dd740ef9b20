package webhookverify

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// adaptQueue adapts a site whose /hook route holds body (one or more
// directives) and returns the webhook_queue handler's JSON, or the error.
func adaptQueue(t *testing.T, body string) (map[string]any, error) {
	t.Helper()
	in := "http://example.com {\n\thandle /hook {\n" + body + "\n\t}\n}\n"
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(in), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		return nil, err
	}
	var found map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["handler"] == "webhook_queue" && found == nil {
				found = x
				return
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	var cfg any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	walk(cfg)
	if found == nil {
		t.Fatalf("no webhook_queue handler in\n%s", out)
	}
	return found, nil
}

func TestQueueCaddyfile(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  Queue // compared on the fields set; Deliver by its handler names
		names []string
		err   string // with file and line
	}{
		{
			name:  "minimal",
			input: "webhook_queue {\n deliver {\n reverse_proxy app:8080\n }\n}",
			names: []string{"reverse_proxy"},
		},
		{
			name: "every option, as in the issue",
			input: `webhook_queue {
				name stripe
				store file /var/lib/caddy/q.db
				ack 202
				retry 12 72h
				backoff 5s 10h
				concurrency 8
				max_entries 100000
				max_bytes 512MiB
				max_size 2MiB
				visibility 2m
				allow_unverified
				deliver {
					request_header X-Webhook-Id {http.webhook_verify.id}
					reverse_proxy app:8080
				}
			}`,
			want: Queue{Name: "stripe", Store: &QueueStoreConfig{Type: "file", Path: "/var/lib/caddy/q.db"}, Ack: 202,
				RetryAttempts: 12, RetryMaxAge: caddy.Duration(72 * time.Hour), BackoffMin: caddy.Duration(5 * time.Second),
				BackoffMax: caddy.Duration(10 * time.Hour), Concurrency: 8, MaxEntries: 100000, MaxBytes: 512 << 20,
				MaxSize: 2 << 20, Visibility: caddy.Duration(2 * time.Minute), AllowUnverified: true},
			names: []string{"headers", "reverse_proxy"},
		},
		{
			name: "redis store with options",
			input: `webhook_queue {
				store redis redis://127.0.0.1:6379/2 {
					password {env.REDIS_PASSWORD}
					key_prefix hooks:
				}
				deliver {
					respond 204
				}
			}`,
			want:  Queue{Store: &QueueStoreConfig{Type: "redis", Redis: &RedisReplayConfig{URLs: []string{"redis://127.0.0.1:6379/2"}, Password: "{env.REDIS_PASSWORD}", KeyPrefix: "hooks:"}}},
			names: []string{"static_response"},
		},
		{name: "no deliver", input: "webhook_queue {\n name x\n}", err: "webhook_queue needs a deliver block, at Caddyfile:3"},
		{name: "deliver without block", input: "webhook_queue {\n deliver\n}", err: "deliver needs a block, at Caddyfile:4"},
		{name: "unknown option", input: "webhook_queue {\n colour blue\n deliver {\n respond 200\n }\n}", err: `unrecognized webhook_queue option "colour", at Caddyfile:4`},
		{name: "ack not 2xx", input: "webhook_queue {\n ack 302\n deliver {\n respond 200\n }\n}", err: "ack must be a 2xx status, at Caddyfile:4"},
		{name: "retry zero", input: "webhook_queue {\n retry 0\n deliver {\n respond 200\n }\n}", err: "retry attempts must be a positive integer, at Caddyfile:4"},
		{name: "retry bad age", input: "webhook_queue {\n retry 3 soon\n deliver {\n respond 200\n }\n}", err: "retry max age must be a positive duration, at Caddyfile:4"},
		{name: "backoff inverted", input: "webhook_queue {\n backoff 1h 5s\n deliver {\n respond 200\n }\n}", err: "backoff minimum 1h is above its maximum 5s, at Caddyfile:4"},
		{name: "backoff one arg", input: "webhook_queue {\n backoff 1h\n deliver {\n respond 200\n }\n}", err: "wrong argument count, at Caddyfile:4"},
		{name: "concurrency", input: "webhook_queue {\n concurrency -2\n deliver {\n respond 200\n }\n}", err: "concurrency must be a positive integer, at Caddyfile:4"},
		{name: "max_bytes", input: "webhook_queue {\n max_bytes lots\n deliver {\n respond 200\n }\n}", err: "parsing max_bytes, at Caddyfile:4"},
		{name: "visibility short", input: "webhook_queue {\n visibility 10ms\n deliver {\n respond 200\n }\n}", err: "visibility must be at least 1s, at Caddyfile:4"},
		{name: "store unknown", input: "webhook_queue {\n store s3\n deliver {\n respond 200\n }\n}", err: `store "s3" is not file or redis, at Caddyfile:4`},
		{name: "store redis bad url", input: "webhook_queue {\n store redis http://x\n deliver {\n respond 200\n }\n}", err: "redis url 1, at Caddyfile:4"},
		{name: "twice", input: "webhook_queue {\n name a\n name b\n deliver {\n respond 200\n }\n}", err: "name given twice, at Caddyfile:5"},
		{name: "allow_unverified argument", input: "webhook_queue {\n allow_unverified yes\n deliver {\n respond 200\n }\n}", err: "wrong argument count, at Caddyfile:4"},
		{name: "argument", input: "webhook_queue stripe {\n deliver {\n respond 200\n }\n}", err: "wrong argument count, at Caddyfile:3"},
		{name: "bad directive in deliver", input: "webhook_queue {\n deliver {\n reverse_prox app\n }\n}", err: "unrecognized directive: reverse_prox"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := adaptQueue(t, tc.input)
			if tc.err != "" {
				msg, line, _ := strings.Cut(tc.err, ", at ")
				if err == nil || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), "at "+line) {
					t.Fatalf("error %v, want one containing %q at %q", err, msg, line)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(got)
			var q Queue
			if err := json.Unmarshal(b, &q); err != nil {
				t.Fatal(err)
			}
			var handlers []string
			for _, r := range q.Deliver {
				for _, h := range r.HandlersRaw {
					var m map[string]any
					_ = json.Unmarshal(h, &m)
					handlers = append(handlers, m["handler"].(string))
				}
			}
			if strings.Join(handlers, ",") != strings.Join(tc.names, ",") {
				t.Errorf("deliver handlers %v, want %v (%s)", handlers, tc.names, b)
			}
			q.Deliver = nil
			wb, _ := json.Marshal(tc.want)
			gb, _ := json.Marshal(q)
			if string(wb) != string(gb) {
				t.Errorf("got  %s\nwant %s", gb, wb)
			}
		})
	}
}

// TestQueueDirectiveOrder: webhook_queue goes right after webhook_verify,
// whatever the order in the block, and before reverse_proxy-like handlers.
func TestQueueDirectiveOrder(t *testing.T) {
	in := "http://example.com {\n\twebhook_queue {\n\t\tdeliver {\n\t\t\trespond 200\n\t\t}\n\t}\n\twebhook_verify github {\n\t\tsecret s\n\t}\n}\n"
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(in), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatal(err)
	}
	v, q := strings.Index(string(out), `"handler":"webhook_verify"`), strings.Index(string(out), `"handler":"webhook_queue"`)
	if v < 0 || q < 0 || v > q {
		t.Fatalf("webhook_verify (at %d) must come before webhook_queue (at %d):\n%s", v, q, out)
	}
}

// TestQueueDocs adapts and validates (provisions, without starting) every
// Caddyfile block of docs/queue.md, with the stores in a temporary
// directory.
func TestQueueDocs(t *testing.T) {
	raw, err := os.ReadFile("docs/queue.md")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	t.Setenv("STRIPE_WEBHOOK_SECRET", "whsec_test")
	blocks := regexp.MustCompile("(?s)```caddyfile\n(.*?)```").FindAllStringSubmatch(string(raw), -1)
	if len(blocks) < 2 {
		t.Fatalf("found %d caddyfile blocks in docs/queue.md", len(blocks))
	}
	for i, b := range blocks {
		body := strings.ReplaceAll(b[1], "/tmp/webhook-queue-docs", dir)
		body = "{\n\tauto_https off\n\tadmin off\n}\n" + body
		js, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(body), nil)
		if err != nil {
			t.Errorf("block %d: adapt: %v", i+1, err)
			continue
		}
		var cfg caddy.Config
		if err := json.Unmarshal(js, &cfg); err != nil {
			t.Fatal(err)
		}
		if err := caddy.Validate(&cfg); err != nil {
			t.Errorf("block %d: validate: %v", i+1, err)
		}
	}
}
