package daemon_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TestOverMemoryShareIsPublished runs the daemon with two modules of 3.6
// MiB instances under a 15 MiB budget (shares of 7.5 MiB, the threshold
// at 13.5 MiB). The hog leases four instances, borrowing under the
// threshold until it passes it: it is then over its memory share, which
// the daemon publishes as a PoolCondition event and Health gives as a
// reason for a lower score; once its instances are closed, it leaves the
// condition, which is published too.
func TestOverMemoryShareIsPublished(t *testing.T) {
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
	s := start(t, wasmEnv(dir,
		"ARTICLE_ENGINE=native", // the budget is the two modules' alone
		"WASM_POOL_SIZE=0", "WASM_MAX_INSTANCES=8",
		"WASM_MEMORY_LIMIT_MB=15", "MEMORY_PRESSURE_THRESHOLD=0.9", "WASM_INSTANCE_MEMORY_LIMIT_MB=8",
		"WASM_IDLE_TIMEOUT_MS=1000", // the hog's instances close soon once given back
		"HEALTH_CHECK_INTERVAL_MS=100",
	))
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()
	ev, _ := subscribe(t, s, s.conn, &poolv1.PoolEventsRequest{
		Kinds: []poolv1.EventKind{poolv1.EventKind_EVENT_KIND_POOL_CONDITION},
	}, true)

	var leases []string
	for i := range 4 {
		resp, err := client.Checkout(ctx, &poolv1.CheckoutRequest{Pool: "hog", Ttl: durationpb.New(time.Minute)})
		if err != nil {
			t.Fatalf("hog lease %d, under the threshold: %v", i+1, err)
		}
		leases = append(leases, resp.GetLease().GetLeaseId())
	}
	overShare := func(active bool) func(e *poolv1.PoolEvent) bool {
		return func(e *poolv1.PoolEvent) bool {
			c := e.GetPoolCondition()
			return c != nil && e.GetPool() == "hog" && c.GetCondition() == "over_memory_share" && c.GetActive() == active
		}
	}
	e := ev.next(t, "the hog over its share", overShare(true))
	if d := e.GetPoolCondition().GetDetail(); !strings.Contains(d, "over its share") {
		t.Errorf("the condition's detail %q does not say it is over its share", d)
	}
	h, err := client.Health(ctx, &poolv1.HealthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if h.GetScore() >= 100 || !strings.Contains(strings.Join(h.GetReasons(), "; "), "hog: over_memory_share") {
		t.Errorf("Health with the hog over its share: score %d, reasons %q", h.GetScore(), h.GetReasons())
	}
	for _, id := range leases {
		if _, err := client.ReleaseLease(ctx, &poolv1.ReleaseLeaseRequest{LeaseId: id}); err != nil {
			t.Fatalf("ReleaseLease: %v", err)
		}
	}
	ev.next(t, "the hog back within its share", overShare(false))
}
