// demo-app is the platform's test workload: a small HTTP server whose endpoints let tests see which version and
// replica answered, exercise the tenant's Postgres, list the environment's variable names (never values) and probe
// network isolation from inside the container.
//
//	GET /health        200 "ok"; 500 when FAIL_HEALTH=1 or in the :broken build
//	GET /              200 "demo-app version <v> on <HOSTNAME>"
//	GET /db            creates table visits if needed, inserts a row, returns {"count":N,...}; 503 without DATABASE_URL
//	GET /db/read       {"count":N,...} without writing
//	GET /db/release    200 {"version":V,"migrated":true} once `demo-app migrate` recorded this version; 503 before
//	GET /env           ["NAME",...] sorted, names only
//	GET /fetch?url=U   GET U from inside the container: {"url","status","bytes"} (200) or {"url","error"} (502)
//	GET /sleep?ms=N    answers after N ms (in-flight requests during a graceful shutdown)
//	GET /big?bytes=N   N bytes of text/plain (default 4096, at most 1 MiB): large enough for the edge to compress
//	GET /events?n=N&ms=M  text/event-stream: N events (default 5), each flushed, M ms apart (default 300)
//
// `demo-app connect HOST:PORT` exits 0 when a TCP connection opens within 2s (isolation tests).
// `demo-app migrate` (a release task) creates table releases in DATABASE_URL and records this version in it;
// `demo-app migrate fail` prints a few lines and exits 1 without touching the database.
//
// PORT (default 8080). SIGTERM/SIGINT: stop accepting, finish in-flight requests (up to SHUTDOWN_TIMEOUT, default
// 25s), close the database pool, exit 0.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Set at link time (-X main.version=… -X main.alwaysFailHealth=true).
var (
	version          = "dev"
	alwaysFailHealth = "false"
)

type app struct {
	hostname string
	dbURL    string

	poolOnce sync.Once
	pool     *pgxpool.Pool
	poolErr  error

	tableOnce sync.Mutex
	tableOK   bool
}

func main() {
	// `demo-app connect HOST:PORT`: exit 0 when a TCP connection opens within 2s. Run in another container's network
	// namespace (docker run --network container:X) it probes what X can reach, whatever X's image holds.
	if len(os.Args) == 3 && os.Args[1] == "connect" {
		conn, err := net.DialTimeout("tcp", os.Args[2], 2*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		conn.Close()
		os.Exit(0)
	}
	if len(os.Args) >= 2 && os.Args[1] == "migrate" {
		os.Exit(migrate(os.Args[2:]))
	}
	log.SetFlags(log.LstdFlags | log.LUTC)
	port := envOr("PORT", "8080")
	hostname := os.Getenv("HOSTNAME")
	if hostname == "" {
		hostname, _ = os.Hostname()
	}
	a := &app{hostname: hostname, dbURL: os.Getenv("DATABASE_URL")}

	srv := &http.Server{
		Addr:              ":" + port,
		Handler:           a.routes(),
		ReadHeaderTimeout: 10 * time.Second,
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Printf("demo-app version %s listening on :%s (host %s, database %t, health failing %t)",
		version, port, hostname, a.dbURL != "", healthFailing())

	select {
	case err := <-errc:
		log.Fatalf("server: %v", err)
	case <-ctx.Done():
	}
	stop()
	timeout := 25 * time.Second
	if d, err := time.ParseDuration(os.Getenv("SHUTDOWN_TIMEOUT")); err == nil {
		timeout = d
	}
	log.Printf("signal received: shutting down gracefully (up to %s)", timeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Printf("shutdown: %v", err)
	}
	if a.pool != nil {
		a.pool.Close()
	}
	log.Printf("stopped")
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", a.health)
	mux.HandleFunc("/db", a.dbWrite)
	mux.HandleFunc("/db/read", a.dbRead)
	mux.HandleFunc("/db/release", a.dbRelease)
	mux.HandleFunc("/env", envNames)
	mux.HandleFunc("/fetch", fetch)
	mux.HandleFunc("/sleep", sleep)
	mux.HandleFunc("/big", big)
	mux.HandleFunc("/events", events)
	mux.HandleFunc("/", a.root)
	return mux
}

func healthFailing() bool { return alwaysFailHealth == "true" || os.Getenv("FAIL_HEALTH") == "1" }

func (a *app) health(w http.ResponseWriter, _ *http.Request) {
	if healthFailing() {
		http.Error(w, "unhealthy (FAIL_HEALTH)", http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (a *app) root(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("X-App-Version", version)
	fmt.Fprintf(w, "demo-app version %s on %s\n", version, a.hostname)
}

func (a *app) db(ctx context.Context) (*pgxpool.Pool, error) {
	a.poolOnce.Do(func() {
		cfg, err := pgxpool.ParseConfig(a.dbURL)
		if err != nil {
			a.poolErr = fmt.Errorf("DATABASE_URL: %w", err)
			return
		}
		cfg.MaxConns = 4
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
		a.pool, a.poolErr = pgxpool.NewWithConfig(context.Background(), cfg)
	})
	return a.pool, a.poolErr
}

// ensureTable creates the table once per process; an advisory lock keeps concurrent replicas from racing on it.
func (a *app) ensureTable(ctx context.Context, pool *pgxpool.Pool) error {
	a.tableOnce.Lock()
	defer a.tableOnce.Unlock()
	if a.tableOK {
		return nil
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(727272)`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS visits (
		id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), host text NOT NULL, version text NOT NULL)`); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	a.tableOK = true
	return nil
}

func (a *app) dbWrite(w http.ResponseWriter, r *http.Request) {
	a.withDB(w, r, func(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
		if err := a.ensureTable(ctx, pool); err != nil {
			return 0, err
		}
		var n int64
		err := pool.QueryRow(ctx, `WITH ins AS (INSERT INTO visits (host, version) VALUES ($1, $2) RETURNING 1)
			SELECT (SELECT count(*) FROM visits) + (SELECT count(*) FROM ins)`, a.hostname, version).Scan(&n)
		return n, err
	})
}

func (a *app) dbRead(w http.ResponseWriter, r *http.Request) {
	a.withDB(w, r, func(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
		var n int64
		err := pool.QueryRow(ctx, `SELECT count(*) FROM visits`).Scan(&n)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table: nothing written yet
			return 0, nil
		}
		return n, err
	})
}

// migrate is the demo app's release task: it records this version in table releases, which /db/release needs.
func migrate(args []string) int {
	fmt.Printf("demo-app %s: migrating\n", version)
	if len(args) == 1 && args[0] == "fail" {
		fmt.Println("applying migration 0002_add_releases")
		fmt.Fprintln(os.Stderr, "migration 0002_add_releases failed: simulated failure (demo-app migrate fail)")
		return 1
	}
	if len(args) != 0 {
		fmt.Fprintf(os.Stderr, "usage: demo-app migrate [fail]\n")
		return 2
	}
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		fmt.Fprintln(os.Stderr, "DATABASE_URL is not set")
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		fmt.Fprintf(os.Stderr, "DATABASE_URL: %v\n", err)
		return 1
	}
	defer pool.Close()
	for _, statement := range []string{
		`CREATE TABLE IF NOT EXISTS releases (version text PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`,
		`INSERT INTO releases (version) VALUES ('` + strings.ReplaceAll(version, "'", "''") + `') ON CONFLICT DO NOTHING`,
	} {
		if _, err := pool.Exec(ctx, statement); err != nil {
			fmt.Fprintf(os.Stderr, "migration failed: %v\n", err)
			return 1
		}
	}
	fmt.Printf("release %s recorded in table releases\n", version)
	return 0
}

// dbRelease answers 200 only when this version's release task has run: the new version needs its migration.
func (a *app) dbRelease(w http.ResponseWriter, r *http.Request) {
	if a.dbURL == "" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "DATABASE_URL is not set"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	pool, err := a.db(ctx)
	var migrated bool
	if err == nil {
		err = pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM releases WHERE version = $1)`, version).Scan(&migrated)
	}
	if err == nil && migrated {
		writeJSON(w, http.StatusOK, map[string]any{"version": version, "migrated": true})
		return
	}
	if err == nil {
		err = errors.New("this version is not in table releases")
	}
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{"version": version, "migrated": false, "error": err.Error()})
}

func (a *app) withDB(w http.ResponseWriter, r *http.Request, f func(context.Context, *pgxpool.Pool) (int64, error)) {
	if a.dbURL == "" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "DATABASE_URL is not set"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	pool, err := a.db(ctx)
	if err == nil {
		var n int64
		if n, err = f(ctx, pool); err == nil {
			writeJSON(w, http.StatusOK, map[string]any{"count": n, "host": a.hostname, "version": version})
			return
		}
	}
	log.Printf("%s: database error: %v", r.URL.Path, err)
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "database: " + err.Error()})
}

func envNames(w http.ResponseWriter, _ *http.Request) {
	names := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); name != "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	writeJSON(w, http.StatusOK, names)
}

func fetch(w http.ResponseWriter, r *http.Request) {
	target := r.URL.Query().Get("url")
	if target == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "missing ?url="})
		return
	}
	timeout := 5 * time.Second
	if d, err := time.ParseDuration(r.URL.Query().Get("timeout")); err == nil && d > 0 && d <= time.Minute {
		timeout = d
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"url": target, "error": err.Error()})
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]any{"url": target, "error": err.Error()})
		return
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 16<<20))
	out := map[string]any{"url": target, "status": resp.StatusCode, "bytes": n}
	if err != nil {
		out["error"] = "reading body: " + err.Error()
	}
	writeJSON(w, http.StatusOK, out)
}

func sleep(w http.ResponseWriter, r *http.Request) {
	ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
	if ms < 0 || ms > 120000 {
		ms = 0
	}
	time.Sleep(time.Duration(ms) * time.Millisecond)
	fmt.Fprintf(w, "slept %dms\n", ms)
}

// big answers a body of the requested size: Traefik compresses only bodies of 1 KiB and more.
func big(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Query().Get("bytes"))
	if err != nil || n < 0 || n > 1<<20 {
		n = 4096
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	line := "demo-app padding line, compressible on purpose\n"
	_, _ = io.WriteString(w, strings.Repeat(line, n/len(line)+1)[:n])
}

// events is a server-sent event stream flushed event by event, so a client sees the first one long before the end.
func events(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	if err != nil || n < 1 || n > 100 {
		n = 5
	}
	ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
	if err != nil || ms < 0 || ms > 10000 {
		ms = 300
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	flusher, _ := w.(http.Flusher)
	for i := 1; i <= n; i++ {
		if i > 1 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Duration(ms) * time.Millisecond):
			}
		}
		fmt.Fprintf(w, "id: %d\ndata: event %d of %d from %s\n\n", i, i, n, os.Getenv("HOSTNAME"))
		if flusher != nil {
			flusher.Flush()
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
