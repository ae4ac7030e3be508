package wasmpool_test

import (
	"context"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
)

// BenchmarkRun is one small call of the echo module through the Set:
// Checkout, Run, Done, under a memory budget. It measures what the Set
// adds to a guest call (the call slot, the breaker, the memory accounts,
// the call's stack grant, the reset), on a call that does almost nothing.
func BenchmarkRun(b *testing.B) {
	rt, err := wasm.NewRuntime(context.Background(), wasm.RuntimeConfig{
		CompilationCacheDir: compilationCache, InstanceMemoryLimitMB: 64, ExtractTimeout: 10 * time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	s := wasmpool.New(wasmpool.Config{Runtime: rt, MinSize: 1, MaxSize: 1, CheckoutTimeout: 10 * time.Second,
		MemoryBudgetBytes: 256 << 20, PressureThreshold: 0.8})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.Close(ctx)
		rt.Close(ctx)
	}()
	p := add(b, s, "echo", testModule(b, "echo"), wasm.ModuleOptions{})
	ctx := context.Background()
	req := wasm.Request{HTML: `{"ok":{"n":1}}`}
	b.ReportAllocs()
	for b.Loop() {
		h, err := p.Checkout(ctx)
		if err != nil {
			b.Fatal(err)
		}
		_, err = p.Run(ctx, h, req)
		p.Done(h, err)
		if err != nil {
			b.Fatal(err)
		}
	}
}
