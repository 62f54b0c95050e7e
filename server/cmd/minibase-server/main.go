//go:build !js

// Command minibase-server runs the minibase sync server on an embedded
// SQLite database: zero set-up, one file.
//
//	go run ./server/cmd/minibase-server -addr 127.0.0.1:8787 -db ./minibase-sync.db
//
// The token secret comes from -secret or MINIBASE_SYNC_SECRET; without one a
// random development secret is generated and printed with a sample token.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"minibase/server/sqlitestore"
	"minibase/server/syncserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "minibase-server:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends (SIGINT/SIGTERM in main), then shuts down
// gracefully. What a user needs to connect goes to out.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("minibase-server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8787", "listen address")
	dbPath := fs.String("db", "./minibase-sync.db", "SQLite database file (\":memory:\" for a throw-away one)")
	secretFlag := fs.String("secret", "", "HMAC secret for bearer tokens (default $MINIBASE_SYNC_SECRET; generated when empty)")
	schemaPath := fs.String("schema", "", "JSON schema file of synced tables (default: any table, key column \"id\")")
	retention := fs.Duration("retention", syncserver.DefaultRetention, "how long tombstones and op ids are kept")
	tenant := fs.String("tenant", "dev", "tenant of the sample token printed with a generated secret")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := log.New(os.Stderr, "minibase-server: ", log.LstdFlags)

	secret := *secretFlag
	if secret == "" {
		secret = os.Getenv("MINIBASE_SYNC_SECRET")
	}
	generated := false
	if secret == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		secret, generated = hex.EncodeToString(b), true
	}
	var schema *syncserver.Schema
	if *schemaPath != "" {
		data, err := os.ReadFile(*schemaPath)
		if err != nil {
			return err
		}
		if schema, err = syncserver.ParseSchema(data); err != nil {
			return err
		}
	}
	db, err := sqlitestore.Open(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	srv, err := syncserver.New(syncserver.Config{
		DB: db, Secret: []byte(secret), Schema: schema, Retention: *retention, ErrorLog: logger,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger}

	url := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "minibase sync server (protocol %d) listening on %s, db %s\n", syncserver.ProtocolVersion, url, *dbPath)
	if generated {
		fmt.Fprintf(out, "development secret (set MINIBASE_SYNC_SECRET to keep tokens valid across restarts):\n  %s\n", secret)
		fmt.Fprintf(out, "sample token for tenant %q (no expiry):\n  %s\n", *tenant, syncserver.SignToken([]byte(secret), *tenant, "dev", time.Time{}))
	}

	go purgeLoop(ctx, srv, logger)

	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	logger.Print("shutting down")
	srv.Close() // ends event streams and long-polls so Shutdown does not wait on them
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// purgeLoop applies retention hourly (and once at start).
func purgeLoop(ctx context.Context, srv *syncserver.Server, logger *log.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := srv.Purge(ctx); err != nil && ctx.Err() == nil {
			logger.Printf("purge: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
