package daemon_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestOneFailingModuleCostsOnePool is issue 15's promise for Health: a
// module that fails half of its calls, or every call, costs the score what
// one pool is worth (README, rules C, B, F, P), so the daemon answers
// DEGRADED while the bundled article module and the css pool answer, and
// the module's part of the report says why. Before, its faults counted in
// the daemon's error rate too (E3 30) on top of its open breaker (B1 30),
// its refused creations (C 30) and its conditions (P 10): CRITICAL.
func TestOneFailingModuleCostsOnePool(t *testing.T) {
	tests := []struct {
		name   string
		module string
		// bad is the document of a failing call; good, when set, that of
		// a call that succeeds, sent in turn with bad.
		bad, good string
		// breaker is the module's breaker state at the end.
		breaker poolv1.BreakerState
		// reasons must all be in the module's PoolHealth.reasons.
		reasons []string
		// faultRate is the module's PoolHealth.fault_rate.
		faultRate float64
	}{
		{
			// echo answers its document when it starts with "{", and
			// otherwise a result pointer far past its memory.
			name: "half its calls", module: "echo", bad: "xxxxxxxx", good: `{"ok":{}}`,
			breaker:   poolv1.BreakerState_BREAKER_STATE_CLOSED,
			reasons:   []string{"fault rate 50.0% above 20% (F3 30)"},
			faultRate: 0.5,
		},
		{
			// trap executes unreachable: its breaker opens after
			// CB_FAILURE_THRESHOLD calls, refuses the rest and the
			// creations that would replace its discarded instance.
			name: "every call", module: "trap", bad: "<p>x</p>",
			breaker: poolv1.BreakerState_BREAKER_STATE_OPEN,
			reasons: []string{"breaker open (B1 30)", "fault rate 100.0% above 20% (F3 30)",
				"cannot create an instance and has none idle (C 30)", "at most 30 for one pool"},
			faultRate: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, wasmEnv(modulesDir(t, tt.module), "CB_TIMEOUT_MS=3600000"))
			client := poolv1.NewPoolServiceClient(s.conn)
			ctx := context.Background()

			// Twenty calls of the module's, past the error windows'
			// minimum of ten, and the other pools' calls beside them.
			for i := range 20 {
				doc := tt.bad
				if tt.good != "" && i%2 == 1 {
					doc = tt.good
				}
				_, err := client.Extract(ctx, wasmRequest(tt.module, "", doc))
				switch c := status.Code(err); {
				case doc == tt.good && c != codes.OK:
					t.Fatalf("call %d of %s's good ones: %v", i, tt.module, err)
				case doc == tt.bad && c == codes.OK:
					t.Fatalf("call %d of %s's bad ones succeeded", i, tt.module)
				}
				if i%10 == 0 { // slow under the race detector
					if _, err := client.Extract(ctx, wasmRequest("article", "metadata", articlePage)); err != nil {
						t.Fatalf("article beside %s: %v", tt.module, err)
					}
				}
				if _, err := client.Extract(ctx, cssRequest(articlePage, "h1")); err != nil {
					t.Fatalf("css beside %s: %v", tt.module, err)
				}
			}
			if tt.breaker == poolv1.BreakerState_BREAKER_STATE_OPEN {
				// The refill the open breaker refuses runs in the
				// background.
				waitFor(t, tt.module+"'s creation refused", func() bool {
					return poolStats(t, client, tt.module).GetCreateFailures() > 0
				})
			}

			h, err := client.Health(ctx, &poolv1.HealthRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if h.GetLevel() != poolv1.HealthLevel_HEALTH_LEVEL_DEGRADED || h.GetScore() != 70 {
				t.Errorf("Health: %v %d, want DEGRADED 70; reasons %q", h.GetLevel(), h.GetScore(), h.GetReasons())
			}
			if h.GetErrorRate() != 0 {
				t.Errorf("the daemon's error rate %v counts the module's faults", h.GetErrorRate())
			}
			if !slices.ContainsFunc(h.GetReasons(), func(r string) bool { return strings.HasPrefix(r, "pool "+tt.module+": ") }) {
				t.Errorf("Health reasons %q do not name %s", h.GetReasons(), tt.module)
			}
			for _, p := range h.GetPools() {
				if p.GetPool() != tt.module {
					if p.GetPointsLost() != 0 || len(p.GetReasons()) != 0 || p.GetFaultRate() != 0 {
						t.Errorf("bystander %s: lost %d, reasons %q, fault rate %v", p.GetPool(), p.GetPointsLost(), p.GetReasons(), p.GetFaultRate())
					}
					continue
				}
				if p.GetPointsLost() != 30 || p.GetFaultRate() != tt.faultRate || p.GetBreakerState() != tt.breaker {
					t.Errorf("%s: lost %d, fault rate %v, breaker %v; want 30, %v, %v",
						tt.module, p.GetPointsLost(), p.GetFaultRate(), p.GetBreakerState(), tt.faultRate, tt.breaker)
				}
				for _, want := range tt.reasons {
					if !slices.ContainsFunc(p.GetReasons(), func(r string) bool { return strings.Contains(r, want) }) {
						t.Errorf("%s's reasons %q, want one containing %q", tt.module, p.GetReasons(), want)
					}
				}
			}
		})
	}
}

// TestCreationBackoffListed checks that ListExtractors publishes each
// pool's creation backoff: its bounds, and for a module whose creations
// fail the retry pending, its delay and due time, and the failures in a
// row; a pool whose creations succeed is in no backoff. Two modules'
// creations fail: trap's, refused by its breaker, which opened on its
// traps; echo's, refused by a memory budget (1 MiB) with no room for one
// instance, so that it never has one and every failure is a retry's, each
// waiting twice as long as the one before.
func TestCreationBackoffListed(t *testing.T) {
	tests := []struct {
		name, module string
		env          []string
		// trap calls the module until its breaker opens.
		trap bool
		// doubling: each failure is a retry's, so the delay is
		// first_delay doubled per failure after the first.
		doubling   bool
		bystanders []string
	}{
		{name: "breaker open", module: "trap", env: []string{"CB_TIMEOUT_MS=3600000"}, trap: true,
			bystanders: []string{"article", "css", "regex"}},
		{name: "no room in the budget", module: "echo", env: []string{"WASM_MEMORY_LIMIT_MB=1", "WASM_INSTANCE_MEMORY_LIMIT_MB=1", "ARTICLE_ENGINE=native"}, doubling: true,
			bystanders: []string{"article", "css", "regex"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, wasmEnv(modulesDir(t, tt.module), tt.env...))
			client := poolv1.NewPoolServiceClient(s.conn)
			ctx := context.Background()
			backoffs := func() map[string]*poolv1.CreationBackoff {
				t.Helper()
				resp, err := client.ListExtractors(ctx, &poolv1.ListExtractorsRequest{})
				if err != nil {
					t.Fatal(err)
				}
				out := map[string]*poolv1.CreationBackoff{}
				for _, e := range resp.GetExtractors() {
					out[e.GetPool()] = e.GetCreationBackoff()
				}
				return out
			}
			bounds := func(what string, b *poolv1.CreationBackoff) {
				t.Helper()
				if b.GetFirstDelay().AsDuration() != 100*time.Millisecond || b.GetMaxDelay().AsDuration() != 6400*time.Millisecond {
					t.Errorf("%s's creation backoff bounds %v .. %v, want 100ms .. 6.4s", what, b.GetFirstDelay().AsDuration(), b.GetMaxDelay().AsDuration())
				}
			}
			calm := func(what string, b *poolv1.CreationBackoff) {
				t.Helper()
				bounds(what, b)
				if b.GetActive() || b.GetConsecutiveFailures() != 0 || b.GetDelay().AsDuration() != 0 || b.GetNextRetry() != nil {
					t.Errorf("%s's creation backoff %v, want none", what, b)
				}
			}
			if tt.trap {
				calm(tt.module+" at start", backoffs()[tt.module])
				for i := 0; ; i++ {
					_, err := client.Extract(ctx, wasmRequest(tt.module, "", "<p>x</p>"))
					if errorReason(err) == "CIRCUIT_OPEN" {
						break
					}
					wantStatus(t, "a trap", err, codes.Internal, "EXTRACTOR_FAILED")
					if i == 20 {
						t.Fatal("the breaker did not open in 20 calls")
					}
				}
			}

			var b *poolv1.CreationBackoff
			waitFor(t, tt.module+"'s creations failing three times in a row", func() bool {
				b = backoffs()[tt.module]
				return b.GetActive() && b.GetConsecutiveFailures() >= 3
			})
			bounds(tt.module, b)
			d, first := b.GetDelay().AsDuration(), b.GetFirstDelay().AsDuration()
			if d < first || d > b.GetMaxDelay().AsDuration() || b.GetNextRetry() == nil {
				t.Errorf("%s's creation backoff %v: want a delay within its bounds and the next retry's time", tt.module, b)
			}
			if n := b.GetConsecutiveFailures(); tt.doubling && d != min(first<<(n-1), b.GetMaxDelay().AsDuration()) {
				t.Errorf("%s's delay %v after %d failures in a row, want %v doubled %d times", tt.module, d, n, first, n-1)
			}
			for _, pool := range tt.bystanders {
				calm(pool+" beside "+tt.module, backoffs()[pool])
			}
			// Health names the same state.
			h, err := client.Health(ctx, &poolv1.HealthRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(h.GetReasons(), func(r string) bool {
				return strings.Contains(r, "pool "+tt.module+": ") && strings.Contains(r, "creation_backoff")
			}) {
				t.Errorf("Health reasons %q do not name %s's creation backoff", h.GetReasons(), tt.module)
			}
		})
	}
}

// TestOwnShareRefusalsArePoolFaults: a module refused memory its own
// share has no room for (the hog, holding four leased instances, twice its
// share, asks for a fifth) fails by its own fault: the refusal says so in
// its ErrorInfo metadata (share: exceeded), counts in the hog's fault_rate
// and not in the daemon's error_rate. A module refused memory within its
// share, because the budget is held by another (small, with the hog's
// instances all leased and none idle to reclaim), is the daemon's failure.
func TestOwnShareRefusalsArePoolFaults(t *testing.T) {
	s := startHogAndSmall(t)
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()
	leaseHog(t, client, 4)

	for range 10 {
		_, err := client.Extract(ctx, wasmRequest("hog", "", `{"ok":{}}`))
		wantStatus(t, "a fifth hog instance", err, codes.ResourceExhausted, "MEMORY_LIMIT_EXCEEDED")
		if md := errorMetadata(err); md["share"] != "exceeded" {
			t.Fatalf("the hog's refusal over its share: metadata %v, want share: exceeded", md)
		}
		if _, err := client.Extract(ctx, cssRequest(articlePage, "h1")); err != nil {
			t.Fatalf("css: %v", err)
		}
	}
	health := func() (*poolv1.HealthResponse, map[string]*poolv1.PoolHealth) {
		t.Helper()
		h, err := client.Health(ctx, &poolv1.HealthRequest{})
		if err != nil {
			t.Fatal(err)
		}
		pools := map[string]*poolv1.PoolHealth{}
		for _, p := range h.GetPools() {
			pools[p.GetPool()] = p
		}
		return h, pools
	}
	h, pools := health()
	if h.GetErrorRate() != 0 || pools["hog"].GetFaultRate() != 1 || pools["hog"].GetPointsLost() != 30 {
		t.Errorf("after the hog's refusals: error rate %v, the hog's fault rate %v and points lost %d; want 0, 1, 30 (reasons %q)",
			h.GetErrorRate(), pools["hog"].GetFaultRate(), pools["hog"].GetPointsLost(), h.GetReasons())
	}

	_, err := client.Extract(ctx, wasmRequest("small", "", `{"ok":{}}`))
	wantStatus(t, "small, within its share, the budget held by the hog's leases", err, codes.ResourceExhausted, "MEMORY_LIMIT_EXCEEDED")
	if md := errorMetadata(err); md["share"] != "" {
		t.Errorf("small's refusal within its share: metadata %v, want no share", md)
	}
	h, pools = health()
	if h.GetErrorRate() == 0 || pools["small"].GetFaultRate() != 0 {
		t.Errorf("after small's refusal: error rate %v, small's fault rate %v; want the daemon's, not small's", h.GetErrorRate(), pools["small"].GetFaultRate())
	}
}

// errorMetadata is the metadata of an error's ErrorInfo.
func errorMetadata(err error) map[string]string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetMetadata()
		}
	}
	return nil
}

// TestHangingModuleCostsOnePool: a module whose every call runs to its
// deadline (loop), called by more callers at once than it has instances,
// holds them all, and the callers beyond are answered POOL_EXHAUSTED. Once
// its own faults make it failing (its breaker open), those refusals are
// its own too: they count in its fault rate and its points (R, within its
// 30), not in the daemon's error rate and rule R, and the daemon answers
// DEGRADED. Before, the refusals alone raised the daemon's error rate
// over 20 % (E3 30) and R (15) on top of the module's own 30: UNHEALTHY.
func TestHangingModuleCostsOnePool(t *testing.T) {
	s := start(t, wasmEnv(modulesDir(t, "loop"),
		"WASM_EXTRACT_TIMEOUT_MS=300", "CHECKOUT_TIMEOUT_MS=20", "CB_TIMEOUT_MS=3600000"))
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()

	// Waves of six callers on two instances, until some were refused and
	// the breaker opened.
	var refused, open int
	for wave := 0; refused == 0 || open == 0; wave++ {
		if wave == 20 {
			t.Fatalf("after 20 waves: %d refused, %d answered CIRCUIT_OPEN", refused, open)
		}
		errs := make(chan error, 6)
		for range 6 {
			go func() {
				_, err := client.Extract(ctx, wasmRequest("loop", "", "<p>x</p>"))
				errs <- err
			}()
		}
		for range 6 {
			switch err := <-errs; errorReason(err) {
			case "POOL_EXHAUSTED":
				refused++
			case "CIRCUIT_OPEN":
				open++
			case "EXTRACTOR_TIMEOUT":
			default:
				t.Fatalf("a loop call: %v", err)
			}
		}
	}
	for range 10 { // the fault window's minimum, and the daemon's
		_, err := client.Extract(ctx, wasmRequest("loop", "", "<p>x</p>"))
		wantStatus(t, "loop, its breaker open", err, codes.Unavailable, "CIRCUIT_OPEN")
		if _, err := client.Extract(ctx, cssRequest(articlePage, "h1")); err != nil {
			t.Fatalf("css beside loop: %v", err)
		}
	}
	if _, err := client.Extract(ctx, wasmRequest("article", "metadata", articlePage)); err != nil {
		t.Fatalf("article beside loop: %v", err)
	}

	h, err := client.Health(ctx, &poolv1.HealthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d callers refused; Health %v %d %q", refused, h.GetLevel(), h.GetScore(), h.GetReasons())
	if h.GetLevel() != poolv1.HealthLevel_HEALTH_LEVEL_DEGRADED || h.GetErrorRate() != 0 {
		t.Errorf("Health: %v, error rate %v; want DEGRADED, 0", h.GetLevel(), h.GetErrorRate())
	}
	for _, p := range h.GetPools() {
		if p.GetPool() != "loop" {
			continue
		}
		if p.GetFaultRate() != 1 || p.GetPointsLost() != 30 ||
			!slices.ContainsFunc(p.GetReasons(), func(r string) bool { return strings.Contains(r, "POOL_EXHAUSTED in the last minute (R 15)") }) {
			t.Errorf("loop: fault rate %v, points lost %d, reasons %q; want 1, 30, its refusals", p.GetFaultRate(), p.GetPointsLost(), p.GetReasons())
		}
	}
}
