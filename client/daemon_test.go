package client_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/client"
	"github.com/riptidecrawler/riptide-poold/internal/config"
	"github.com/riptidecrawler/riptide-poold/internal/daemon"
	"github.com/riptidecrawler/riptide-poold/internal/testenv"
)

// cacheDir is the daemons' wazero compilation cache (internal/testenv).
var cacheDir string

func TestMain(m *testing.M) {
	dir, cleanup, err := testenv.CompilationCacheDir("client-test-cache-")
	if err != nil {
		log.Fatal(err)
	}
	cacheDir = dir
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// running is a daemon started in-process on loopback ports.
type running struct {
	d    *daemon.Daemon
	addr string
	stop func()
}

// startDaemon runs riptide-poold in-process with small pools; settings in
// env win over the test's defaults. The daemon stops when the test ends.
func startDaemon(t testing.TB, env ...string) *running {
	t.Helper()
	cfg, err := config.Load(nil, append(env,
		"GRPC_ADDR=127.0.0.1:0",
		"METRICS_ADDR=127.0.0.1:0",
		"NATIVE_POOL_SIZE=2",
		"NATIVE_MAX_INSTANCES=4",
		"WASM_POOL_SIZE=1",
		"WASM_MAX_INSTANCES=2",
		"WASM_COMPILATION_CACHE_DIR="+cacheDir,
		"SHUTDOWN_GRACE_MS=2000",
		"HOME="+os.TempDir(),
	))
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.New(context.Background(), cfg, daemon.Options{Version: "client-test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx) }()
	r := &running{d: d, addr: d.GRPCAddr().String()}
	if d.GRPCAddr().Network() == "unix" {
		r.addr = "unix://" + r.addr
	}
	var stopped bool
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	t.Cleanup(r.stop)
	return r
}

// dial returns a client of target, closed when the test ends.
func dial(t testing.TB, target string, opts ...client.Option) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.New(ctx, target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// handled answers how many Extract calls the daemon's gRPC server
// handled, from its /metrics.
func handled(t testing.TB, metrics string) int {
	t.Helper()
	text := scrape(t, "http://"+metrics+"/metrics")
	re := regexp.MustCompile(`(?m)^grpc_server_handled_total\{[^}]*grpc_method="Extract"[^}]*\} (\S+)$`)
	n := 0
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		n += int(v)
	}
	return n
}

func scrape(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}
