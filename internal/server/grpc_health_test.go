package server_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/config"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/server"
	"google.golang.org/grpc/codes"
)

// TestGRPCHealthTellsTheTruth puts the daemon in the trouble issue 14 saw
// reported as HEALTHY 100, one step at a time, and reads Health after each:
// a pool whose every instance is taken, callers refused POOL_EXHAUSTED
// (two are too few for the error rate), and calls running past their
// deadline.
func TestGRPCHealthTellsTheTruth(t *testing.T) {
	cfg := config.Default()
	cfg.NativePoolSize = 1
	cfg.NativeMaxInstances = 2
	cfg.CheckoutTimeout = 50 * time.Millisecond
	h := newGRPCHarness(t, grpcOptions{cfg: cfg})
	ctx := t.Context()

	health := func(t *testing.T) *poolv1.HealthResponse {
		t.Helper()
		r, err := h.client.Health(ctx, &poolv1.HealthRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	hasReason := func(r *poolv1.HealthResponse, part string) bool {
		return slices.ContainsFunc(r.GetReasons(), func(s string) bool { return strings.Contains(s, part) })
	}
	if r := health(t); r.GetLevel() != poolv1.HealthLevel_HEALTH_LEVEL_HEALTHY || r.GetScore() != 100 {
		t.Fatalf("idle: %v %d %q, want HEALTHY 100", r.GetLevel(), r.GetScore(), r.GetReasons())
	}

	// Every css instance taken, as by leases.
	var held []*pool.Handle[*native.CSS]
	for range cfg.NativeMaxInstances {
		hd, err := h.native.CSS.Checkout(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, hd)
	}
	r := health(t)
	if r.GetScore() >= 100 || !hasReason(r, "pools exhausted, every instance in use: [css]") {
		t.Errorf("css exhausted: score %d reasons %q, want rule X", r.GetScore(), r.GetReasons())
	}

	// Two callers refused.
	req := &poolv1.ExtractRequest{Document: htmlDoc("<p>x</p>"), Spec: cssReq(&poolv1.CssSpec{Selector: "p"})}
	for range 2 {
		_, err := h.client.Extract(ctx, req)
		if d := detailOf(err); d.code != codes.ResourceExhausted || d.reason != server.ReasonPoolExhausted {
			t.Fatalf("Extract on an exhausted pool: %v %q, want POOL_EXHAUSTED", d.code, d.reason)
		}
	}
	r = health(t)
	if r.GetErrorRate() != 0 {
		t.Logf("error rate %v (two refusals are under the window's minimum of samples)", r.GetErrorRate())
	}
	if !hasReason(r, "2 callers answered POOL_EXHAUSTED") || r.GetLevel() == poolv1.HealthLevel_HEALTH_LEVEL_HEALTHY {
		t.Errorf("after two refusals: %v %d %q, want rule R and not HEALTHY", r.GetLevel(), r.GetScore(), r.GetReasons())
	}
	for _, hd := range held {
		hd.Release()
	}

	// A call running past its deadline, as a stuck extraction holds its
	// instance: the pool's Watch is what the server's calls go through.
	gone, cancel := context.WithCancel(ctx)
	end := h.native.CSS.Watch(gone)
	cancel()
	deadline := time.Now().Add(time.Minute)
	for r = health(t); !hasReason(r, "calls running past their deadline in [css]"); r = health(t) {
		if time.Now().After(deadline) {
			t.Fatalf("a call past its deadline: reasons %q, want rule O", r.GetReasons())
		}
		time.Sleep(5 * time.Millisecond)
	}
	end()
	if r := health(t); hasReason(r, "past their deadline") {
		t.Errorf("after the call ended: reasons %q still count it", r.GetReasons())
	}
}
