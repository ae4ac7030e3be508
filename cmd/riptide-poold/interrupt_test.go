package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
)

// TestShutdownWithEndlessTrustedCall runs the daemon as a process with a
// trusted module whose riptide_extract never returns (internal/wasm's
// testdata/loop.wat), a ten-minute WASM_EXTRACT_TIMEOUT_MS and GOGC=1, so
// that the process collects garbage all the time. Trusted modules used to
// run without interruption checks, and Go's stop-the-world cannot preempt
// machine code: the first collection after the call began waited for it,
// and froze the whole process, its SIGTERM handling included. Now, while
// the guest loops, a css call is answered, and SIGTERM ends the process,
// the looping call's client getting an answer.
func TestShutdownWithEndlessTrustedCall(t *testing.T) {
	modules := t.TempDir()
	loop, err := os.ReadFile(filepath.Join("..", "..", "internal", "wasm", "testdata", "loop.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(modules, "spin.wasm"), loop, 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t,
		"GOGC=1",
		"NATIVE_POOL_SIZE=1",
		"WASM_POOL_ENABLED=true",
		"WASM_POOL_SIZE=1",
		"WASM_MODULES_DIR="+modules,
		"WASM_TRUSTED_MODULES=spin",
		"WASM_EXTRACT_TIMEOUT_MS=600000",
		"ARTICLE_ENGINE=native", // no bundled module to compile: minutes under the race detector
	)
	client := d.client

	looping := make(chan error, 1)
	go func() {
		_, err := client.Extract(context.Background(), &poolv1.ExtractRequest{
			Document: &poolv1.ExtractRequest_Html{Html: "<p>x</p>"},
			Spec:     &poolv1.ExtractRequest_Wasm{Wasm: &poolv1.WasmSpec{Module: "spin"}},
		})
		looping <- err
	}()
	waitInUse(t, client, "spin")
	// A megabyte of document: the daemon allocates many times its 1% of
	// heap growth (GOGC=1) to parse it, so it collects meanwhile.
	ctx, cancel := context.WithTimeout(context.Background(), exitBound)
	defer cancel()
	if _, err := client.Extract(ctx, &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: strings.Repeat("<p>x</p>", 1<<17)},
		Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "p"}},
	}); err != nil {
		t.Errorf("css while the trusted guest loops: %v", err)
	}
	select {
	case err := <-looping:
		t.Fatalf("the looping call ended (%v) before SIGTERM: the test proves nothing", err)
	default:
	}

	d.terminate(t, "a trusted guest looping")
	select {
	case err := <-looping:
		if err == nil {
			t.Error("the looping call succeeded")
		}
	case <-time.After(exitBound):
		t.Error("the looping call's client got no answer")
	}
}

// waitInUse waits until an instance of pool is in use, and then a little
// longer, for its guest to be well into its call.
func waitInUse(t *testing.T, client poolv1.PoolServiceClient, pool string) {
	t.Helper()
	deadline := time.Now().Add(startBound)
	for time.Now().Before(deadline) {
		resp, err := client.Health(context.Background(), &poolv1.HealthRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range resp.GetPools() {
			if p.GetPool() == pool && p.GetInUse() > 0 {
				time.Sleep(100 * time.Millisecond)
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s instance in use within %v", pool, startBound)
}
