package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/config"
	"github.com/riptidecrawler/riptide-poold/internal/daemon"
	"github.com/riptidecrawler/riptide-poold/internal/testenv"
)

// TestRun runs the example against a daemon started in-process and checks
// what it prints against examples/expected.txt, which the Python and Node
// examples must print too (scripts/e2e.sh).
func TestRun(t *testing.T) {
	cache, cleanup, err := testenv.CompilationCacheDir("goclient-test-cache-")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	cfg, err := config.Load(nil, []string{
		"GRPC_ADDR=127.0.0.1:0", "METRICS_ADDR=", "NATIVE_POOL_SIZE=2", "NATIVE_MAX_INSTANCES=4",
		"WASM_POOL_SIZE=1", "WASM_MAX_INSTANCES=2", "WASM_COMPILATION_CACHE_DIR=" + cache, "HOME=" + t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.New(context.Background(), cfg, daemon.Options{Version: "example"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	callCtx, callCancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer callCancel()
	var out bytes.Buffer
	if err := run(callCtx, d.GRPCAddr().String(), &out); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../expected.txt")
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("printed:\n%s\nwant (examples/expected.txt):\n%s", out.String(), want)
	}
}
