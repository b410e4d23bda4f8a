// backup-sinks is a TEST-ONLY image (test/e2e/backup.e2e.ts): the two places a tenant's backup container sends
// things off-host, standing in for real S3-compatible storage and a real alerting webhook, with no registry and no
// internet. Never deployed by the platform.
//
//	:9000  S3-compatible storage in memory (github.com/johannesboyne/gofakes3). BUCKET (default "backups") exists
//	       from the start. When ACCESS_KEY_ID is set, a request signed with another key is refused (403), so a test
//	       sees that the credentials reached the client.
//	:8080  POST /hook records the request body; GET /hook answers the recorded bodies as a JSON array of strings.
package main

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func main() {
	bucket := envOr("BUCKET", "backups")
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		log.Fatalf("create bucket %s: %v", bucket, err)
	}
	s3 := gofakes3.New(backend, gofakes3.WithAutoBucket(false)).Server()
	go serve(":9000", requireKey(os.Getenv("ACCESS_KEY_ID"), s3))

	var mu sync.Mutex
	bodies := []string{}
	hooks := http.NewServeMux()
	hooks.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case http.MethodPost:
			body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
			bodies = append(bodies, string(body))
			log.Printf("hook: %s", body)
			w.WriteHeader(http.StatusNoContent)
		case http.MethodGet:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(bodies)
		default:
			http.Error(w, "POST or GET", http.StatusMethodNotAllowed)
		}
	})
	serve(":8080", hooks)
}

// requireKey refuses S3 requests not signed with the expected access key id (the signature itself is not checked).
func requireKey(key string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if key != "" && !strings.Contains(r.Header.Get("Authorization"), "Credential="+key+"/") {
			log.Printf("s3: refused %s %s: not signed with the expected access key", r.Method, r.URL.Path)
			http.Error(w, "AccessDenied", http.StatusForbidden)
			return
		}
		log.Printf("s3: %s %s", r.Method, r.URL.Path)
		next.ServeHTTP(w, r)
	})
}

func serve(addr string, h http.Handler) {
	log.Printf("listening on %s", addr)
	log.Fatal(http.ListenAndServe(addr, h))
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
