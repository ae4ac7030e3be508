package daemon_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TestReclaimBorrowedMemory runs the daemon with two modules of 3.6 MiB
// instances (2.5 MiB of linear memory and 1.1 MiB of stack allowance)
// under a 15 MiB budget (shares of 7.5 MiB, the threshold at 13.5 MiB). The hog leases four instances while under the threshold, which
// fills the budget, and gives three back idle; the small module's call is
// then answered at once, one of the hog's idle instances published as
// reclaimed for it, and the hog's leased instance serves on.
func TestReclaimBorrowedMemory(t *testing.T) {
	s := startHogAndSmall(t,
		"WASM_RECYCLE_MEMORY_MB=4", // bigmem never grows: nothing is recycled
	)
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()
	ev, _ := subscribe(t, s, s.conn, &poolv1.PoolEventsRequest{
		Kinds: []poolv1.EventKind{poolv1.EventKind_EVENT_KIND_INSTANCE_DESTROYED},
	}, true)

	leases := leaseHog(t, client, 4)
	_, err := client.Extract(ctx, wasmRequest("hog", "", `{"ok":{}}`))
	wantStatus(t, "a fifth hog instance", err, codes.ResourceExhausted, "MEMORY_LIMIT_EXCEEDED")
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "over its share") {
		t.Errorf("the hog's refusal %q does not say it is over its share", msg)
	}
	for _, id := range leases[1:] {
		if _, err := client.ReleaseLease(ctx, &poolv1.ReleaseLeaseRequest{LeaseId: id}); err != nil {
			t.Fatalf("ReleaseLease: %v", err)
		}
	}

	if _, err := client.Extract(ctx, wasmRequest("small", "", `{"ok":{}}`)); err != nil {
		t.Fatalf("small, under its share, with the budget full of the hog's idle instances: %v (reason %q)", err, errorReason(err))
	}
	e := ev.next(t, "a hog instance reclaimed", func(e *poolv1.PoolEvent) bool {
		return strings.HasPrefix(e.GetInstanceDestroyed().GetReason(), "reclaimed")
	})
	if e.GetPool() != "hog" || !strings.Contains(e.GetInstanceDestroyed().GetReason(), `for module "small"`) {
		t.Errorf("reclaimed event %v, want one of the hog's, for small", e)
	}
	if n := poolStats(t, client, "hog").GetDestroyed()["reclaimed"]; n != 1 {
		t.Errorf("hog instances reclaimed: %d, want 1", n)
	}
	leased := wasmRequest("hog", "", `{"ok":{}}`)
	leased.LeaseId = leases[0]
	if _, err := client.Extract(ctx, leased); err != nil {
		t.Errorf("the hog's leased instance: %v", err)
	}
	if _, err := client.ReleaseLease(ctx, &poolv1.ReleaseLeaseRequest{LeaseId: leases[0]}); err != nil {
		t.Errorf("ReleaseLease of the hog's leased instance: %v", err)
	}
}

// startHogAndSmall starts the daemon with two modules, hog and small, of
// 3.6 MiB instances (bigmem.wasm) under a 15 MiB budget: shares of 7.5
// MiB, the pressure threshold at 13.5 MiB. env adds settings.
func startHogAndSmall(t *testing.T, env ...string) *started {
	t.Helper()
	dir := modulesDir(t)
	big, err := os.ReadFile(filepath.Join("..", "wasmpool", "testdata", "bigmem.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"hog", "small"} {
		if err := os.WriteFile(filepath.Join(dir, name+".wasm"), big, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return start(t, wasmEnv(dir, append([]string{
		"ARTICLE_ENGINE=native", // the budget is the two modules' alone
		"WASM_POOL_SIZE=0", "WASM_MAX_INSTANCES=8",
		"WASM_MEMORY_LIMIT_MB=15", "MEMORY_PRESSURE_THRESHOLD=0.9", "WASM_INSTANCE_MEMORY_LIMIT_MB=8",
	}, env...)...))
}

// leaseHog checks out n of the hog's instances, which the budget allows
// while it is under the pressure threshold, and returns their leases.
func leaseHog(t *testing.T, client poolv1.PoolServiceClient, n int) []string {
	t.Helper()
	var leases []string
	for i := range n {
		resp, err := client.Checkout(context.Background(), &poolv1.CheckoutRequest{Pool: "hog", Ttl: durationpb.New(time.Minute)})
		if err != nil {
			t.Fatalf("hog lease %d, under the threshold: %v", i+1, err)
		}
		leases = append(leases, resp.GetLease().GetLeaseId())
	}
	return leases
}
