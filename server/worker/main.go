//go:build js && wasm

// Command worker is the minibase sync server built for Cloudflare Workers
// (GOOS=js GOARCH=wasm, github.com/syumai/workers), storing its data in the
// D1 database bound as DB. Build and run it locally with
// `node server/worker/dev.mjs` (wrangler dev, local D1).
//
// Workers may start a fresh Go instance for every request, so nothing lives
// in Go globals: each request opens the D1 connector and a Server (whose
// migration check is one SELECT). Event streams live in a Durable Object per
// tenant (hub.mjs, bound as HUB; entry.mjs routes them there), which every
// stored push notifies once, and long-polls that find nothing wait there
// too (entry.mjs); without that binding, event streams and long-polls poll
// D1 instead of waiting on an in-process notifier.
//
// Variables: MINIBASE_SYNC_SECRET (required; a wrangler secret in
// production), MINIBASE_SYNC_SCHEMA (optional schema JSON),
// MINIBASE_SYNC_RETENTION (optional Go duration, default 720h). A cron
// trigger runs the retention purge. MINIBASE_SYNC_TEST_FAIL_TENANT is for
// tests only: every push of that tenant fails in the middle of its batch.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall/js"
	"time"

	"github.com/syumai/workers"
	"github.com/syumai/workers/cloudflare"
	"github.com/syumai/workers/cloudflare/cron"
	"github.com/syumai/workers/cloudflare/d1"

	"minibase/server/syncserver"
)

// pollInterval is how often a waiting request re-reads D1.
const pollInterval = time.Second

// streamLimit ends an event stream after a while; EventSource reconnects. A
// Worker may not learn that a client left, and each open stream polls D1.
const streamLimit = 5 * time.Minute

func main() {
	cron.ScheduleTaskNonBlock(func(ctx context.Context) error {
		srv, err := newServer()
		if err != nil {
			return err
		}
		defer srv.Close()
		return srv.Purge(ctx)
	})
	workers.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv, err := newServer()
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":{"code":"INTERNAL","message":"server not configured: ` + jsonSafe(err.Error()) + `"}}`))
			return
		}
		defer srv.Close()
		srv.ServeHTTP(w, r)
	}))
}

func newServer() (*syncserver.Server, error) {
	secret := getenv("MINIBASE_SYNC_SECRET")
	if secret == "" {
		return nil, errors.New("MINIBASE_SYNC_SECRET is not set")
	}
	connector, err := d1.OpenConnector("DB")
	if err != nil {
		return nil, err
	}
	cfg := syncserver.Config{
		DB:           sql.OpenDB(connector),
		Dialect:      "d1",
		Secret:       []byte(secret),
		PollInterval: pollInterval,
		StreamLimit:  streamLimit,
		ErrorLog:     log.New(os.Stderr, "minibase-sync: ", 0), // the Worker's console
		// A push's writes run as one D1 batch: one transaction.
		Batch: d1Batch(cloudflare.GetBinding("DB"), getenv("MINIBASE_SYNC_TEST_FAIL_TENANT")),
	}
	if ns, err := cloudflare.NewDurableObjectNamespace("HUB"); err == nil {
		cfg.Notify = notifyHub(ns, cfg.ErrorLog)
		cfg.TicketPath = ticketPath
		cfg.WaitElsewhere = true // entry.mjs waits on the hub: no D1 polling
	}
	if s := getenv("MINIBASE_SYNC_SCHEMA"); s != "" {
		if cfg.Schema, err = syncserver.ParseSchema([]byte(s)); err != nil {
			return nil, err
		}
	}
	if s := getenv("MINIBASE_SYNC_RETENTION"); s != "" {
		if cfg.Retention, err = time.ParseDuration(s); err != nil {
			return nil, err
		}
	}
	if s := getenv("MINIBASE_SYNC_MIN_SCHEMA_VERSION"); s != "" {
		if cfg.MinSchemaVersion, err = strconv.ParseUint(s, 10, 64); err != nil {
			return nil, fmt.Errorf("MINIBASE_SYNC_MIN_SCHEMA_VERSION: %w", err)
		}
	}
	return syncserver.New(cfg)
}

// ticketPath is where entry.mjs asks, for a GET /v1/events, whose token it
// carries and where the tenant's cursor stands, before it hands the stream
// to the tenant's Durable Object. entry.mjs answers 404 to clients that ask
// it directly (it would only tell them their own tenant).
const ticketPath = "/__minibase/ticket"

// notifyHub tells the tenant's Durable Object (hub.mjs) the cursor of a
// stored push, once; it fans the notice out to the tenant's streams. A
// failure only delays notices (clients still sync), so it is logged.
func notifyHub(ns *cloudflare.DurableObjectNamespace, logger *log.Logger) func(context.Context, string, int64) {
	return func(ctx context.Context, tenant string, cursor int64) {
		stub, err := ns.Get(ns.IdFromName(tenant))
		if err == nil {
			var req *http.Request
			req, err = http.NewRequestWithContext(ctx, http.MethodPost, "https://hub/notify",
				strings.NewReader(`{"cursor":`+strconv.FormatInt(cursor, 10)+`}`))
			if err == nil {
				var res *http.Response
				if res, err = stub.Fetch(req); err == nil {
					res.Body.Close()
				}
			}
		}
		if err != nil {
			logger.Printf("notify the hub of %q: %v", tenant, err)
		}
	}
}

// getenv reads a Worker variable; unset is "" (cloudflare.Getenv would
// answer "<undefined>").
func getenv(name string) string {
	v := cloudflare.GetBinding(name)
	if v.Type() != js.TypeString {
		return ""
	}
	return v.String()
}

// jsonSafe keeps an error message from breaking the hand-written JSON body.
func jsonSafe(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '"' || r == '\\' || r < 0x20 {
			r = '\''
		}
		out = append(out, r)
	}
	return string(out)
}
