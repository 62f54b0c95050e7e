//go:build !js

// Command minibase-server runs the minibase sync server on an embedded
// SQLite database: zero set-up, one file.
//
//	go run ./server/cmd/minibase-server -addr 127.0.0.1:8787 -db ./minibase-sync.db
//
// The token secret (at least 32 bytes) comes from MINIBASE_SYNC_SECRET or
// -secret-file (-secret works too, but shows in ps); without one a random
// development secret is generated and printed with a sample token.
//
// It also mints tokens for an app server or a shell script:
//
//	MINIBASE_SYNC_SECRET=… minibase-server token -tenant acme -sub ann -ttl 24h
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
	"strings"
	"syscall"
	"time"

	"minibase/server/sqlitestore"
	"minibase/server/syncserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "token" {
		err = mintToken(os.Args[2:], os.Stdout, os.Stderr, time.Now())
	} else {
		err = run(ctx, os.Args[1:], os.Stdout)
	}
	if err != nil {
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
	secretFlag := fs.String("secret", "", "HMAC secret for bearer tokens; visible in ps, prefer $MINIBASE_SYNC_SECRET or -secret-file")
	secretFile := fs.String("secret-file", "", "file holding the HMAC secret for bearer tokens (default $MINIBASE_SYNC_SECRET; generated when neither is set)")
	schemaPath := fs.String("schema", "", "JSON schema file of synced tables (default: any table, key column \"id\")")
	retention := fs.Duration("retention", syncserver.DefaultRetention, "how long tombstones and op ids are kept")
	tenant := fs.String("tenant", "dev", "tenant of the sample token printed with a generated secret")
	maxAhead := fs.Duration("max-clock-ahead", syncserver.DefaultMaxClockAhead, "refuse changes stamped further than this past the server's clock (negative: no bound)")
	minSchema := fs.Uint64("min-schema-version", 0, "refuse pushes from clients whose schema version is older (422 SCHEMA_TOO_OLD; 0: accept all)")
	maxStreams := fs.Int("max-streams", syncserver.DefaultMaxStreams, "event streams and long-polls open at once, in all")
	maxTenantStreams := fs.Int("max-tenant-streams", syncserver.DefaultMaxTenantStreams, "event streams and long-polls open at once, per tenant")
	readTimeout := fs.Duration("read-timeout", 30*time.Second, "time to read a whole request, body included (streams and long-polls lift it)")
	writeTimeout := fs.Duration("write-timeout", 60*time.Second, "time to answer a request (streams and long-polls set their own)")
	idleTimeout := fs.Duration("idle-timeout", 120*time.Second, "how long an idle keep-alive connection is kept")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := log.New(os.Stderr, "minibase-server: ", log.LstdFlags)

	if *secretFlag != "" {
		logger.Print("warning: -secret shows in the process list; prefer MINIBASE_SYNC_SECRET or -secret-file")
	}
	secret, err := loadSecret(*secretFlag, *secretFile)
	if err != nil {
		return err
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
		MaxClockAhead: *maxAhead, MaxStreams: *maxStreams, MaxTenantStreams: *maxTenantStreams,
		MinSchemaVersion: *minSchema,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	// Every phase of a connection has a deadline, so idle, slow or trickling
	// clients cannot hold descriptors forever; the handler lifts the read
	// deadline for event streams and long-polls, which wait on purpose.
	headerTimeout := 10 * time.Second
	if *readTimeout > 0 {
		headerTimeout = min(headerTimeout, *readTimeout)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: headerTimeout,
		ReadTimeout:       *readTimeout,
		WriteTimeout:      *writeTimeout,
		IdleTimeout:       *idleTimeout,
		ErrorLog:          logger,
	}

	url := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "minibase sync server (protocol %d) listening on %s, db %s\n", syncserver.ProtocolVersion, url, *dbPath)
	if generated {
		exp := time.Now().Add(sampleTokenTTL)
		fmt.Fprintf(out, "development secret (set MINIBASE_SYNC_SECRET to keep tokens valid across restarts):\n  %s\n", secret)
		fmt.Fprintf(out, "sample token for tenant %q (expires %s; mint more with `minibase-server token`):\n  %s\n",
			*tenant, exp.UTC().Format(time.RFC3339), syncserver.SignToken([]byte(secret), *tenant, "dev", exp))
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

// sampleTokenTTL is the life of the token printed with a generated secret.
const sampleTokenTTL = 24 * time.Hour

// loadSecret reads the token secret from -secret-file, -secret or the
// environment, in that order; "" means none was given.
func loadSecret(flagValue, file string) (string, error) {
	if flagValue != "" && file != "" {
		return "", errors.New("give the secret once: -secret or -secret-file")
	}
	secret := flagValue
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		// A trailing newline is an editor's, not the secret's.
		secret = strings.TrimRight(string(b), "\r\n")
		if secret == "" {
			return "", fmt.Errorf("secret file %s is empty", file)
		}
	}
	if secret == "" {
		secret = os.Getenv("MINIBASE_SYNC_SECRET")
	}
	if secret != "" && len(secret) < syncserver.MinSecretLen {
		return "", fmt.Errorf("the token secret is %d bytes; use at least %d random bytes (openssl rand -hex 32)", len(secret), syncserver.MinSecretLen)
	}
	return secret, nil
}

// mintToken is the token subcommand: it prints one bearer token signed with
// the server's secret, for an app server or a script to hand to a client.
func mintToken(args []string, out, errOut io.Writer, now time.Time) error {
	fs := flag.NewFlagSet("minibase-server token", flag.ContinueOnError)
	fs.SetOutput(errOut)
	tenant := fs.String("tenant", "", "tenant the token grants (required)")
	sub := fs.String("sub", "", "user or device the token names (informational)")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
	secretFile := fs.String("secret-file", "", "file holding the secret (default $MINIBASE_SYNC_SECRET)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("token: unexpected argument %q", fs.Arg(0))
	}
	if *tenant == "" || len(*tenant) > 128 {
		return errors.New("token: -tenant is required (1-128 bytes)")
	}
	if *ttl <= 0 {
		return errors.New("token: -ttl must be positive")
	}
	secret, err := loadSecret("", *secretFile)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	if secret == "" {
		return errors.New("token: no secret: set MINIBASE_SYNC_SECRET or -secret-file")
	}
	fmt.Fprintln(out, syncserver.SignToken([]byte(secret), *tenant, *sub, now.Add(*ttl)))
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
