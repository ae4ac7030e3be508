package wasm_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/wasm"
)

// TestStackAllowanceCoversKeptStacks runs a module whose every function
// recurses before it answers (stackkeep), at depths up to past the first
// stack budget of each kind of call, on several instances kept open, and
// measures what the host's heap holds per instance afterwards beyond what
// it holds for instances that never recursed: the stacks wazero keeps for
// each bound function's next calls. That must stay within the stack
// allowance each instance's memory figure counts (and which the memory
// budget charges), so that no module holds stack outside the figure.
func TestStackAllowanceCoversKeptStacks(t *testing.T) {
	for _, tt := range []struct {
		name    string
		opts    wasm.ModuleOptions
		minKept uint64 // what the module surely keeps, to show the measure works
	}{
		{"instrumented", wasm.ModuleOptions{}, 256 << 10},
		// Without the stack bound, the host drops the stacks after every
		// call: each function keeps its first.
		{"uninstrumented", wasm.ModuleOptions{Uninstrumented: true}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkKeptStacks(t, tt.opts, tt.minKept)
		})
	}
}

func checkKeptStacks(t *testing.T, opts wasm.ModuleOptions, minKept uint64) {
	ctx := context.Background()
	rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: 20 * time.Second})
	m := load(t, rt, "stackkeep", opts)
	const instances = 8
	var live []*wasm.Instance
	for range instances {
		live = append(live, newInstance(t, m))
	}
	// Each function called at depth d (the housekeeping ones at d/8):
	// riptide_extract (a blank document goes as HTML), riptide_free and
	// riptide_reset (Reset), riptide_health, riptide_alloc (the next
	// Extract's buffer), riptide_extract_tree (a document that parses).
	round := func(d int) {
		t.Helper()
		for _, i := range live {
			for _, doc := range []string{strings.Repeat(" ", d), "<p>" + strings.Repeat("x", max(d-40, 0))} {
				_, err := i.Extract(ctx, wasm.Request{HTML: doc})
				if err == nil {
					err = i.Reset(ctx)
				}
				if err == nil {
					err = i.Health(ctx)
				}
				if err != nil {
					t.Fatalf("depth %d: %v", d, err)
				}
			}
		}
	}
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	round(0)
	base := heap()
	var kept uint64
	worst := 0
	for d := 64; d < 16000; d += d / 8 {
		round(d)
		if h := heap(); h > base && (h-base)/instances > kept {
			kept, worst = (h-base)/instances, d
		}
	}
	allowance := m.StackAllowanceBytes()
	t.Logf("the most kept: %d bytes per instance (at depth %d); the allowance %d", kept, worst, allowance)
	if kept > allowance {
		t.Errorf("instances keep %d bytes of stack each, over the allowance of %d in their memory figure", kept, allowance)
	}
	if kept < minKept {
		t.Errorf("instances keep %d bytes of stack each: the module should keep %d at least (is the measure broken?)", kept, minKept)
	}
	if got, fresh := live[0].MemoryBytes(), m.FreshMemoryBytes(); fresh < allowance || got < fresh {
		t.Errorf("an instance's figure %d, a fresh one's %d: want both to count the allowance of %d", got, fresh, allowance)
	}
	for _, i := range live {
		i.Close()
	}
}
