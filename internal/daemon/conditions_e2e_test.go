package daemon_test

import (
	"context"
	"strings"
	"testing"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
)

// TestOverMemoryShareIsPublished runs the daemon with two modules of 3.6
// MiB instances under a 15 MiB budget (shares of 7.5 MiB, the threshold
// at 13.5 MiB). The hog leases four instances, borrowing under the
// threshold until it passes it: it is then over its memory share, which
// the daemon publishes as a PoolCondition event and Health gives as a
// reason for a lower score; once its instances are closed, it leaves the
// condition, which is published too.
func TestOverMemoryShareIsPublished(t *testing.T) {
	s := startHogAndSmall(t,
		"WASM_IDLE_TIMEOUT_MS=1000", // the hog's instances close soon once given back
		"HEALTH_CHECK_INTERVAL_MS=100",
	)
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()
	ev, _ := subscribe(t, s, s.conn, &poolv1.PoolEventsRequest{
		Kinds: []poolv1.EventKind{poolv1.EventKind_EVENT_KIND_POOL_CONDITION},
	}, true)

	leases := leaseHog(t, client, 4)
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
