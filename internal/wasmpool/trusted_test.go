package wasmpool_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
)

// slowDoc makes the slow module count to n<<20 before it answers {}.
func slowDoc(n int) string { return strings.Repeat("x", n) }

// runOnce checks out an instance of the module's current pool, runs req on
// it and hands it back.
func runOnce(ctx context.Context, t *testing.T, s *wasmpool.Set, module string, req wasm.Request) error {
	t.Helper()
	p, err := s.Get(module)
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.Checkout(ctx)
	if err != nil {
		return err
	}
	_, err = p.Run(ctx, h, req)
	p.Done(h, err)
	return err
}

// TestTrustedOverrunIsStopped runs a trusted module whose call takes far
// longer than the extract timeout (about 5 G iterations, seconds when not
// stopped). Trusted modules used to run without interruption checks, so
// such a call ran on after its deadline and the module was demoted; every
// module now checks for interruption itself (package interrupt): the call
// ends at its deadline with ErrTimeout, the instance is replaced, the module
// stays trusted in the same pool, and its next call succeeds.
func TestTrustedOverrunIsStopped(t *testing.T) {
	checkGoroutines(t) // the overrunning call leaves no goroutine behind
	s := newSet(t, 50*time.Millisecond, wasmpool.Config{MinSize: 1, MaxSize: 2})
	ctx := context.Background()
	trusted := add(t, s, "m", testModule(t, "slow"), wasm.ModuleOptions{Trusted: true})
	if !trusted.Module.Instrumented() {
		t.Fatal("the module is not instrumented: it would run with wazero's checks")
	}
	if err := runOnce(ctx, t, s, "m", wasm.Request{HTML: slowDoc(5000)}); !errors.Is(err, wasm.ErrTimeout) {
		t.Fatalf("a trusted call past its deadline: %v, want wasm.ErrTimeout", err)
	}
	if err := runOnce(ctx, t, s, "m", wasm.Request{HTML: slowDoc(0)}); err != nil {
		t.Fatalf("the next, short call: %v", err)
	}
	if cur, _ := s.Get("m"); cur != trusted || !cur.Module.Trusted() {
		t.Errorf("after the overrun the module's pool is %p (trusted %v), want the same %p", cur, cur.Module.Trusted(), trusted)
	}
	if st := trusted.Pool.Stats(); st.Total == 0 {
		t.Errorf("the pool has no instance after the overrun: %+v", st)
	}
}
