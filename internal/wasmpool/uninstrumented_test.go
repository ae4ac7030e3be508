package wasmpool_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
)

// TestUninstrumentedModuleRefused checks that a module without the stack
// bound (one the instrumentation cannot read) is refused at load unless the
// operator allows such modules, with an error that says how.
func TestUninstrumentedModuleRefused(t *testing.T) {
	checkGoroutines(t)
	s := newSet(t, time.Second, wasmpool.Config{MinSize: 1})
	_, err := s.Add(context.Background(), "m", testModule(t, "echo"), wasm.ModuleOptions{Uninstrumented: true})
	var ue *wasmpool.UninstrumentedError
	if !errors.As(err, &ue) || !errors.Is(err, wasmpool.ErrUninstrumented) || ue.Module != "m" ||
		!strings.Contains(err.Error(), "WASM_ALLOW_UNINSTRUMENTED") {
		t.Fatalf("Add of a module without the stack bound: %v, want an *UninstrumentedError naming the setting", err)
	}
	if _, err := s.Get("m"); !errors.Is(err, wasmpool.ErrNoModule) {
		t.Errorf("the refused module has a pool: %v", err)
	}
	if used := s.Memory().UsedBytes; used != 0 {
		t.Errorf("%d bytes accounted after the refusal, want 0", used)
	}
	if _, err := s.Add(context.Background(), "m", testModule(t, "echo"), wasm.ModuleOptions{}); err != nil {
		t.Errorf("Add of the same module instrumented: %v", err)
	}
}

// TestUninstrumentedCallsCharged allows modules without the stack bound,
// under a budget with room for two such instances and one call's charge of
// stack: a call that loops until its deadline holds the charge, so a
// second call at the same time is refused MEMORY_LIMIT_EXCEEDED (saying it
// was a call, and why it is charged), not run with its stack outside the
// budget, and so is a new instance, whose creation calls the guest; once
// the first call ends, its charge is given back and the next
// call runs.
func TestUninstrumentedCallsCharged(t *testing.T) {
	checkGoroutines(t)
	opts := wasm.ModuleOptions{Uninstrumented: true}
	code := testModule(t, "slow")
	probe := newSet(t, time.Second, wasmpool.Config{AllowUninstrumented: true})
	pm, err := probe.Add(context.Background(), "probe", code, opts)
	if err != nil {
		t.Fatal(err)
	}
	instance, charge := pm.Module.FreshMemoryBytes(), pm.Module.CallStackChargeBytes()
	if charge < 84<<20 {
		t.Fatalf("CallStackChargeBytes = %d, want wazero's limit at least", charge)
	}
	s := newSet(t, time.Minute, wasmpool.Config{
		MaxSize: 3, CheckoutTimeout: 20 * time.Second, AllowUninstrumented: true,
		MemoryBudgetBytes: 2*instance + charge + charge/2, PressureThreshold: 1,
	})
	ctx := context.Background()
	p, err := s.Add(ctx, "slow", code, opts)
	if err != nil {
		t.Fatal(err)
	}
	var hs [2]*pool.Handle[*wasmpool.Instance]
	for k := range hs {
		h, err := p.Checkout(ctx)
		if err != nil {
			t.Fatalf("instance %d: %v", k+1, err)
		}
		hs[k] = h
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		// slow counts to its document's length << 20: some seconds with
		// wazero's checks.
		_, err := p.Run(ctx, hs[0], wasm.Request{HTML: strings.Repeat("x", 10)})
		if err != nil {
			t.Errorf("the long call: %v", err)
		}
	})
	// What the call's instance grows meanwhile (its request buffer) is
	// charged as it grows.
	eventually(t, "the long call is charged", func() bool { return s.Memory().UsedBytes >= 2*instance+charge })
	_, err = p.Run(ctx, hs[1], wasm.Request{HTML: "x"})
	var me *wasmpool.MemoryError
	if !errors.As(err, &me) || !me.Call || me.Need != charge || !strings.Contains(err.Error(), "without the stack bound") {
		t.Errorf("a second call beside it: %v, want a *MemoryError for the call", err)
	}
	// Nor is an instance made beside it: its initialization and health
	// check are calls too, and charged as such.
	if h, err := p.Checkout(ctx); !errors.As(err, &me) || !me.Call {
		if err == nil {
			p.Done(h, nil)
		}
		t.Errorf("a third instance beside the long call: %v, want a *MemoryError for its creation's calls", err)
	}
	wg.Wait()
	if used := s.Memory().UsedBytes; used > 2*instance+2<<20 {
		t.Errorf("%d bytes accounted after the calls, want the two instances' (%d, and what they grew)", used, 2*instance)
	}
	if _, err := p.Run(ctx, hs[1], wasm.Request{HTML: "x"}); err != nil {
		t.Errorf("a call once the first ended: %v", err)
	}
	if m := s.Memory(); m.PeakBytes > 2*instance+charge+charge/2 {
		t.Errorf("the accounted memory peaked at %d, over the budget", m.PeakBytes)
	}
	for _, h := range hs {
		p.Done(h, nil)
	}
}
