package daemon_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/grpc/codes"
)

// TestEndlessModulesStopAtDeadline serves modules whose riptide_extract
// never returns (a loop, exponential recursion, a loop through a br_table
// and if nest; see internal/wasm/testdata), each untrusted and trusted
// (WASM_TRUSTED_MODULES): every call answers DEADLINE_EXCEEDED
// EXTRACTOR_TIMEOUT at WASM_EXTRACT_TIMEOUT_MS. While one runs, a garbage
// collection of the daemon's process (this one) completes, and css answers:
// a guest that never returns no longer stops the world.
func TestEndlessModulesStopAtDeadline(t *testing.T) {
	dir := t.TempDir()
	var trusted []string
	for _, m := range []string{"loop", "recurse", "nest"} {
		copyModule(t, dir, m, m)
		copyModule(t, dir, m, "trusted"+m)
		trusted = append(trusted, "trusted"+m)
	}
	s := start(t, wasmEnv(dir, "WASM_TRUSTED_MODULES=article,"+strings.Join(trusted, ","), "WASM_EXTRACT_TIMEOUT_MS=2000"))
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()
	for _, name := range []string{"loop", "recurse", "nest", "trustedloop", "trustedrecurse", "trustednest"} {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := client.Extract(ctx, wasmRequest(name, "", "<p>x</p>"))
				done <- err
			}()
			waitInUse(t, client, name)
			runtime.GC()
			if _, err := client.Extract(ctx, cssRequest(articlePage, "h1")); err != nil {
				t.Errorf("css while %s runs: %v", name, err)
			}
			select {
			case err := <-done:
				t.Fatalf("the call ended (%v) before the collection and the css call did: they waited for the guest", err)
			default:
			}
			wantStatus(t, name, <-done, codes.DeadlineExceeded, "EXTRACTOR_TIMEOUT")
		})
	}
}

// waitInUse waits until an instance of pool is in use, and then a little
// longer, for its guest to be well into its call.
func waitInUse(t *testing.T, client poolv1.PoolServiceClient, pool string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
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
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %s instance in use within a minute", pool)
}
