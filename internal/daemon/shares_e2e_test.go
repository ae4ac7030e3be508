package daemon_test

// End-to-end tests of the pools' shares (issue 15, items 8-10): a reload
// never looks like a shutdown, one module cannot take the others' call
// slots or memory, and a trusted module that overruns its deadline is
// demoted. Each runs the real daemon on loopback with a real gRPC client.

import (
	"context"
	"sync"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TestReloadServesQueuedCallers queues callers on a module whose only
// instance is leased, reloads a new version of it (as SIGHUP does), and
// checks that every queued caller is answered OK by the new version, none
// UNAVAILABLE SHUTTING_DOWN.
func TestReloadServesQueuedCallers(t *testing.T) {
	dir := modulesDir(t)
	copyModule(t, dir, "echo", "m")
	s := start(t, wasmEnv(dir, "WASM_MAX_INSTANCES=1", "CHECKOUT_TIMEOUT_MS=60000"))
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()

	lease, err := client.Checkout(ctx, &poolv1.CheckoutRequest{Pool: "m", Ttl: durationpb.New(time.Minute)})
	if err != nil {
		t.Fatalf("Checkout: %v", err)
	}
	const callers = 12
	errs := make(chan error, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			// Both versions answer this document with {}.
			_, err := client.Extract(ctx, wasmRequest("m", "", `{"ok":{}}`))
			errs <- err
		})
	}
	waitFor(t, "every caller is queued", func() bool {
		return poolStats(t, client, "m").GetWaiters() == callers
	})

	copyModule(t, dir, "slow", "m")
	s.d.Reload(ctx)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a caller queued across the reload: %v (reason %q), want OK", err, errorReason(err))
		}
	}
	if _, err := client.ReleaseLease(ctx, &poolv1.ReleaseLeaseRequest{LeaseId: lease.GetLease().GetLeaseId()}); err != nil {
		t.Errorf("ReleaseLease of the old version's instance: %v", err)
	}
}
