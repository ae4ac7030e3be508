package wasmpool

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/wasm"
)

// TestGrantsAllocateNothing checks that the grants a pooled instance's
// calls ask for stack and memory cost a call that asks nothing no
// allocation: an extraction and a reset through the Set's instance
// allocate no more than the same calls on an instance without grants
// (in a full run under the race detector the bare instance's make one
// more). Each call used to build a context and a grant of its own (three
// allocations an extraction, three a reset).
func TestGrantsAllocateNothing(t *testing.T) {
	code, err := os.ReadFile(filepath.Join("..", "wasm", "testdata", "echo.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.RuntimeConfig{InstanceMemoryLimitMB: 64, ExtractTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	s := New(Config{Runtime: rt, MinSize: 1, MaxSize: 1, CheckoutTimeout: 10 * time.Second,
		MemoryBudgetBytes: 256 << 20, PressureThreshold: 0.8})
	defer s.Close(ctx)
	p, err := s.Add(ctx, "echo", code, wasm.ModuleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.Checkout(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Done(h, nil)
	pooled := h.Value()
	bare, err := p.Module.NewInstance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()

	req := wasm.Request{HTML: `{"ok":{"n":1}}`}
	calls := map[string]func() error{
		"pooled": func() error {
			if _, err := pooled.extract(ctx, req); err != nil {
				return err
			}
			return pooled.Reset(ctx)
		},
		"bare": func() error {
			if _, err := bare.Extract(ctx, req); err != nil {
				return err
			}
			return bare.Reset(ctx)
		},
	}
	for name, call := range calls {
		if err := call(); err != nil { // the request buffer, once
			t.Fatalf("%s call: %v", name, err)
		}
	}
	// AllocsPerRun counts the process's allocations: the least of a few
	// rounds leaves out what other goroutines allocated meanwhile.
	allocs := map[string]float64{}
	for range 5 {
		for name, call := range calls {
			n := testing.AllocsPerRun(100, func() {
				if err := call(); err != nil {
					t.Fatalf("%s call: %v", name, err)
				}
			})
			if old, ok := allocs[name]; !ok || n < old {
				allocs[name] = n
			}
		}
	}
	if allocs["pooled"] > allocs["bare"] {
		t.Errorf("an extraction and a reset allocate %v times through the Set's instance, %v times on one without grants: want no more",
			allocs["pooled"], allocs["bare"])
	}
}
