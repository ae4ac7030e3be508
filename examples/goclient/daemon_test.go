package goclient_test

import (
	"context"
	"log"
	"os"
	"slices"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/config"
	"github.com/riptidecrawler/riptide-poold/internal/daemon"
	"github.com/riptidecrawler/riptide-poold/internal/testenv"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// cacheDir is the daemons' wazero compilation cache, shared by the tests
// (see internal/testenv).
var cacheDir string

func TestMain(m *testing.M) {
	dir, cleanup, err := testenv.CompilationCacheDir("goclient-test-cache-")
	if err != nil {
		log.Fatal(err)
	}
	cacheDir = dir
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// startDaemon runs riptide-poold in-process on kernel-chosen loopback ports
// with small pools, waits until it serves, and answers its gRPC address and
// a function that stops it.
func startDaemon() (addr string, stop func()) {
	cfg, err := config.Load(nil, []string{
		"GRPC_ADDR=127.0.0.1:0",
		"METRICS_ADDR=",
		"NATIVE_POOL_SIZE=2",
		"NATIVE_MAX_INSTANCES=4",
		"WASM_POOL_SIZE=1",
		"WASM_MAX_INSTANCES=2",
		"WASM_COMPILATION_CACHE_DIR=" + cacheDir,
		"HOME=" + os.TempDir(),
	})
	if err != nil {
		log.Fatal(err)
	}
	d, err := daemon.New(context.Background(), cfg, daemon.Options{Version: "example"})
	if err != nil {
		log.Fatal(err)
	}
	if err := d.Listen(); err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx) }()
	addr = d.GRPCAddr().String()
	waitServing(addr)
	return addr, func() {
		cancel()
		if err := <-done; err != nil {
			log.Fatal(err)
		}
	}
}

func waitServing(addr string) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return
		}
		if time.Now().After(deadline) {
			log.Fatalf("daemon not SERVING within 30s: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// client starts a daemon for the test and answers a client of it.
func client(t *testing.T) poolv1.PoolServiceClient {
	t.Helper()
	addr, stop := startDaemon()
	t.Cleanup(stop)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return poolv1.NewPoolServiceClient(conn)
}

// skipUnimplemented skips a test of an RPC that the daemon does not serve
// yet; the test runs for real once it does.
func skipUnimplemented(t *testing.T, err error) {
	t.Helper()
	if status.Code(err) == codes.Unimplemented {
		t.Skipf("the daemon does not implement this RPC yet: %v", err)
	}
}

// The examples without an Output comment are compiled but not run by go
// test; these tests run their code and check the results.

func TestLeaseExample(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	served, leased, err := leaseAndExtract(ctx, client(t))
	skipUnimplemented(t, err)
	if err != nil {
		t.Fatal(err)
	}
	if leased == "" || !slices.Equal(served, []string{leased, leased}) {
		t.Errorf("extractions served by %v, want both by the leased instance %q", served, leased)
	}
}

func TestArticleExample(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, err := article(ctx, client(t))
	skipUnimplemented(t, err)
	if err != nil {
		t.Fatal(err)
	}
	if a["title"] != "Tide tables" {
		t.Errorf("title = %v, want Tide tables", a["title"])
	}
	if links, _ := a["links"].([]any); len(links) != 3 {
		t.Errorf("links = %v, want the page's three", a["links"])
	}
}

func TestEventsExample(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kinds, err := watchCheckouts(ctx, client(t), 2)
	skipUnimplemented(t, err)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(kinds, "checked_out") {
		t.Errorf("events %v, want an instance checked out", kinds)
	}
}
