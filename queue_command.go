package webhookverify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// newQueueCommand is `caddy webhook queue`, which talks to the admin API
// of a running Caddy (admin.api.webhook_queue) as `caddy reload` does.
func newQueueCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue list|show|retry|purge [--route <name>] [--dead] [<id>]",
		Short: "Inspects and operates the webhook_queue queues of a running Caddy",
		Long: `
Talks to the admin API of a running Caddy (its address from --address, else
from --config, else the default localhost:2019), like 'caddy reload'.

  list                      every queue: depth, in flight, dead letters, oldest entry
                            (also queues no longer configured that still hold entries)
  show [--dead] [<id>]      the entries waiting (or the dead letters), or one entry
                            with its headers and body (JSON)
  retry [<id>]              requeue one dead letter, or all of them, due now
  purge <id> | --dead | --all
                            delete one entry, every dead letter, or every entry

--route names the queue (its 'name'); it may be left out when only one
queue exists.
`,
		Args: cobra.RangeArgs(1, 2),
		RunE: runQueueCommand,
	}
	cmd.Flags().String("route", "", "the queue's name")
	cmd.Flags().Bool("dead", false, "show: the dead letters; purge: every dead letter")
	cmd.Flags().Bool("all", false, "purge: every entry of the queue (pending, in flight and dead)")
	cmd.Flags().Int("limit", 100, "show: at most this many entries")
	cmd.Flags().String("address", "", "the address of Caddy's admin API")
	cmd.Flags().StringP("config", "c", "", "a config file to take the admin address from")
	cmd.Flags().StringP("adapter", "a", "", "the adapter of --config")
	return cmd
}

func runQueueCommand(cmd *cobra.Command, args []string) error {
	fl := cmd.Flags()
	addrFlag, _ := fl.GetString("address")
	cfgFlag, _ := fl.GetString("config")
	adapterFlag, _ := fl.GetString("adapter")
	route, _ := fl.GetString("route")
	dead, _ := fl.GetBool("dead")
	all, _ := fl.GetBool("all")
	limit, _ := fl.GetInt("limit")
	addr, err := caddycmd.DetermineAdminAPIAddress(addrFlag, nil, cfgFlag, adapterFlag)
	if err != nil {
		return fmt.Errorf("finding the admin address: %v", err)
	}
	op, id := args[0], ""
	if len(args) == 2 {
		id = args[1]
	}
	out := cmd.OutOrStdout()
	if op == "list" {
		if id != "" {
			return errors.New("list takes no id")
		}
		var qs []adminQueue
		if err := queueAdminCall(addr, http.MethodGet, queueAdminPrefix, &qs); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "QUEUE\tCONFIGURED\tPENDING\tIN FLIGHT\tDEAD\tBYTES\tOLDEST\tSTORE")
		for _, q := range qs {
			oldest := "-"
			if q.OldestPending != nil {
				oldest = time.Since(*q.OldestPending).Round(time.Second).String()
			}
			if q.Error != "" {
				oldest = "error: " + q.Error
			}
			fmt.Fprintf(tw, "%s\t%t\t%d\t%d\t%d\t%d\t%s\t%s\n", q.Name, q.Configured, q.Pending, q.InFlight, q.Dead, q.Bytes, oldest, q.Store)
		}
		return tw.Flush()
	}
	if route == "" {
		var qs []adminQueue
		if err := queueAdminCall(addr, http.MethodGet, queueAdminPrefix, &qs); err != nil {
			return err
		}
		if len(qs) != 1 {
			names := make([]string, len(qs))
			for i, q := range qs {
				names[i] = q.Name
			}
			return fmt.Errorf("--route is needed: %d queues (%v)", len(qs), names)
		}
		route = qs[0].Name
	}
	base := queueAdminPrefix + url.PathEscape(route)
	var v any
	switch op {
	case "show":
		if id != "" {
			err = queueAdminCall(addr, http.MethodGet, base+"/"+url.PathEscape(id), &v)
			break
		}
		q := url.Values{"limit": {fmt.Sprint(limit)}}
		if dead {
			q.Set("dead", "1")
		}
		err = queueAdminCall(addr, http.MethodGet, base+"?"+q.Encode(), &v)
	case "retry":
		u := base + "/retry"
		if id != "" {
			u += "/" + url.PathEscape(id)
		}
		err = queueAdminCall(addr, http.MethodPost, u, &v)
	case "purge":
		u := base + "/purge"
		switch {
		case id != "":
			u += "/" + url.PathEscape(id)
		case dead:
			u += "?dead=1"
		case all:
			u += "?all=1"
		default:
			return errors.New("purge needs an id, --dead or --all")
		}
		err = queueAdminCall(addr, http.MethodPost, u, &v)
	default:
		return fmt.Errorf("unknown queue command %q: list, show, retry or purge", op)
	}
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", b)
	return err
}

// maxAdminAnswer bounds an admin API answer read by the command.
const maxAdminAnswer = 64 << 20

// queueAdminCall makes one admin API request and decodes its JSON answer.
func queueAdminCall(addr, method, uri string, v any) error {
	resp, err := caddycmd.AdminAPIRequest(addr, method, uri, nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAdminAnswer))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
