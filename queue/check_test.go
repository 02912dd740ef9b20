package queue

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestAppendRefusesUndecodable: an entry with more header values than
// Decode accepts (a server with a raised max_header_size lets such a
// request through) must be refused by Append, so its request is answered
// with an error instead of acknowledged and then moved aside as corrupt
// by the first Claim.
func TestAppendRefusesUndecodable(t *testing.T) {
	many := http.Header{}
	for i := range maxHeaderValues + 1 {
		many["X-"+strconv.Itoa(i)] = []string{"v"}
	}
	vars := map[string]string{}
	for i := range maxVars + 1 {
		vars[strconv.Itoa(i)] = ""
	}
	oneKey := http.Header{"X": make([]string, maxHeaderValues+1)}
	edge := http.Header{"X": make([]string, maxHeaderValues)}
	cases := []struct {
		name string
		e    *Entry
		ok   bool
	}{
		{"header keys", &Entry{Method: "POST", URI: "/", Header: many}, false},
		{"values of one key", &Entry{Method: "POST", URI: "/", Header: oneKey}, false},
		{"vars", &Entry{Method: "POST", URI: "/", Vars: vars}, false},
		{"at the bound", &Entry{Method: "POST", URI: "/", Header: edge}, true},
	}
	s := openTestBolt(t, filepath.Join(t.TempDir(), "q.db"), BoltOptions{})
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := Check(c.e); (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Fatalf("Check: %v, want ok=%v or ErrInvalid", err, c.ok)
			}
			_, err := s.Append(ctx, c.name, c.e, Limits{})
			if c.ok {
				if err != nil {
					t.Fatal(err)
				}
				ls, err := s.Claim(ctx, c.name, 1, time.Minute, time.Now())
				if err != nil || len(ls) != 1 {
					t.Fatalf("an entry at the bound must be claimable: %d leases, %v", len(ls), err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Append: %v, want ErrInvalid (an acknowledged entry Decode refuses is lost)", err)
			}
			statesAre(t, s, c.name, 0, 0)
		})
	}
}
