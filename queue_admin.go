package webhookverify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/webhookverify/caddy-webhook-verify/queue"
)

func init() {
	caddy.RegisterModule(QueueAdmin{})
}

// QueueAdmin is the admin API of webhook_queue (`caddy webhook queue` talks
// to it), under /webhook/queue/:
//
//	GET  /webhook/queue/                          the queues (configured, and unconfigured ones holding entries)
//	GET  /webhook/queue/<name>[?dead=1&limit=n]   entries (no bodies): pending and in flight, or the dead letters
//	GET  /webhook/queue/<name>/<id>               one entry with its headers and body
//	POST /webhook/queue/<name>/retry[/<id>]       requeue one dead letter, or all
//	POST /webhook/queue/<name>/purge[/<id>]       delete one entry; or with ?dead=1 every dead letter; or with ?all=1 every entry
//
// Names and ids are path-escaped. Caddy loads admin.api modules by itself:
// nothing needs configuring.
type QueueAdmin struct{}

// CaddyModule returns the Caddy module information.
func (QueueAdmin) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.webhook_queue",
		New: func() caddy.Module { return new(QueueAdmin) },
	}
}

// queueAdminPrefix is where the routes live.
const queueAdminPrefix = "/webhook/queue/"

// Routes returns the admin routes.
func (QueueAdmin) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: queueAdminPrefix, Handler: caddy.AdminHandlerFunc(serveQueueAdmin)}}
}

// adminQueue is one queue in the list.
type adminQueue struct {
	Name          string     `json:"name"`
	Store         string     `json:"store"`
	Configured    bool       `json:"configured"`
	Pending       int64      `json:"pending"`
	InFlight      int64      `json:"in_flight"`
	Dead          int64      `json:"dead"`
	Bytes         int64      `json:"bytes"`
	OldestPending *time.Time `json:"oldest_pending,omitempty"`
	Error         string     `json:"error,omitempty"`
}

// adminEntry is one entry; Header and Body only when shown alone.
type adminEntry struct {
	ID         string            `json:"id"`
	Method     string            `json:"method"`
	URI        string            `json:"uri"`
	Created    time.Time         `json:"created"`
	Attempts   int               `json:"attempts"`
	NextAt     time.Time         `json:"next_at"`
	LastStatus int               `json:"last_status,omitempty"`
	LastError  string            `json:"last_error,omitempty"`
	Vars       map[string]string `json:"vars,omitempty"`
	Header     http.Header       `json:"header,omitempty"`
	Body       []byte            `json:"body,omitempty"`
}

func toAdminEntry(e *queue.Entry, full bool) adminEntry {
	a := adminEntry{ID: e.ID, Method: e.Method, URI: e.URI, Created: e.Created, Attempts: e.Attempts,
		NextAt: e.NextAt, LastStatus: e.LastStatus, LastError: e.LastError, Vars: e.Vars}
	if full {
		a.Header, a.Body = e.Header, e.Body
	}
	return a
}

// adminTimeout bounds the store calls of one admin request.
const adminTimeout = 30 * time.Second

func serveQueueAdmin(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), adminTimeout)
	defer cancel()
	rest := strings.TrimPrefix(r.URL.EscapedPath(), queueAdminPrefix)
	var parts []string
	for _, p := range strings.Split(rest, "/") {
		if p == "" {
			continue
		}
		u, err := url.PathUnescape(p)
		if err != nil {
			return adminErr(http.StatusBadRequest, err)
		}
		parts = append(parts, u)
	}
	if len(parts) == 0 {
		if r.Method != http.MethodGet {
			return adminErr(http.StatusMethodNotAllowed, errors.New("GET only"))
		}
		var out []adminQueue
		for _, q := range listQueues(ctx) {
			a := adminQueue{Name: q.Name, Store: q.StoreID, Configured: q.Configured, Pending: q.stats.Pending,
				InFlight: q.stats.InFlight, Dead: q.stats.Dead, Bytes: q.stats.Bytes}
			if !q.stats.OldestPending.IsZero() {
				t := q.stats.OldestPending
				a.OldestPending = &t
			}
			if q.err != nil {
				a.Error = q.err.Error()
			}
			out = append(out, a)
		}
		return writeAdminJSON(w, out)
	}
	name := parts[0]
	st, err := findQueueStore(ctx, name)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	switch {
	case len(parts) <= 3 && len(parts) >= 2 && (parts[1] == "retry" || parts[1] == "purge"):
		if r.Method != http.MethodPost {
			return adminErr(http.StatusMethodNotAllowed, errors.New("POST only"))
		}
		id := ""
		if len(parts) == 3 {
			id = parts[2]
		}
		if parts[1] == "retry" {
			n, err := st.Requeue(ctx, name, id)
			if err != nil {
				return storeAdminErr(err)
			}
			return writeAdminJSON(w, map[string]int{"requeued": n})
		}
		dead := q.Get("dead") == "1"
		if id == "" && !dead && q.Get("all") != "1" {
			return adminErr(http.StatusBadRequest, errors.New("purge needs an id, dead=1 (every dead letter) or all=1 (every entry)"))
		}
		n, err := st.Purge(ctx, name, id, dead)
		if err != nil {
			return storeAdminErr(err)
		}
		return writeAdminJSON(w, map[string]int{"purged": n})
	case len(parts) == 1:
		if r.Method != http.MethodGet {
			return adminErr(http.StatusMethodNotAllowed, errors.New("GET only"))
		}
		limit := 100
		if v := q.Get("limit"); v != "" {
			if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 10000 {
				return adminErr(http.StatusBadRequest, errors.New("limit must be 1 to 10000"))
			}
		}
		dead := q.Get("dead") == "1"
		es, err := st.List(ctx, name, dead, limit, false)
		if err != nil {
			return storeAdminErr(err)
		}
		out := make([]adminEntry, 0, len(es))
		for _, e := range es {
			out = append(out, toAdminEntry(e, false))
		}
		return writeAdminJSON(w, map[string]any{"name": name, "dead": dead, "entries": out})
	case len(parts) == 2:
		if r.Method != http.MethodGet {
			return adminErr(http.StatusMethodNotAllowed, errors.New("GET only"))
		}
		e, err := st.Get(ctx, name, parts[1])
		if err != nil {
			return storeAdminErr(err)
		}
		return writeAdminJSON(w, toAdminEntry(e, true))
	}
	return adminErr(http.StatusNotFound, errors.New("no such queue route"))
}

// findQueueStore returns the store holding queue name: the configured one,
// else the open store that holds entries under that name.
func findQueueStore(ctx context.Context, name string) (queue.Store, error) {
	var found []queueInfo
	for _, q := range listQueues(ctx) {
		if q.Name == name {
			found = append(found, q)
		}
	}
	switch {
	case len(found) == 0:
		return nil, adminErr(http.StatusNotFound, fmt.Errorf("no queue %q (neither configured nor holding entries in an open store)", name))
	case len(found) > 1 && found[0].Configured == found[1].Configured:
		return nil, adminErr(http.StatusConflict, fmt.Errorf("queue %q is in several stores", name))
	}
	return found[0].store, nil
}

func storeAdminErr(err error) error {
	if errors.Is(err, queue.ErrNotFound) {
		return adminErr(http.StatusNotFound, err)
	}
	return adminErr(http.StatusServiceUnavailable, err)
}

func adminErr(status int, err error) error {
	return caddy.APIError{HTTPStatus: status, Err: err, Message: err.Error()}
}

func writeAdminJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(v)
}

// Interface guards
var _ caddy.AdminRouter = (*QueueAdmin)(nil)
