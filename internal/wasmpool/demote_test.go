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

// TestTrustedOverrunDemotes runs a trusted module whose call takes far
// longer than the extract timeout: the call is answered ErrTimeout at the
// deadline, and since the guest is still running once the module's time
// limit has passed, the module is loaded again interruptible, reported by
// OnDemoted and by its "demoted" condition; its next overrunning call is
// interrupted.
func TestTrustedOverrunDemotes(t *testing.T) {
	checkGoroutines(t)
	demoted := make(chan *wasmpool.Pool, 1)
	s := newSet(t, 50*time.Millisecond, wasmpool.Config{MinSize: 1, MaxSize: 2,
		OnDemoted: func(p *wasmpool.Pool) { demoted <- p }})
	ctx := context.Background()
	trusted := add(t, s, "m", testModule(t, "slow"), wasm.ModuleOptions{Trusted: true})

	// About 5 G iterations: a second or more, trusted. Far longer than the
	// deadline, so that the call still runs when Run returns and the watch
	// fires, however late a busy machine schedules them (0.5 G once ended
	// first under a loaded go test ./...).
	long := wasm.Request{HTML: slowDoc(5000)}
	if err := runOnce(ctx, t, s, "m", long); !errors.Is(err, wasm.ErrTimeout) {
		t.Fatalf("a trusted call past its deadline: %v, want wasm.ErrTimeout", err)
	}
	var p *wasmpool.Pool
	select {
	case p = <-demoted:
	case <-time.After(time.Minute):
		t.Fatal("the module was not demoted")
	}
	if cur, _ := s.Get("m"); cur != p || p == trusted || p.Module.Trusted() || p.Demoted == "" {
		t.Fatalf("after the demotion: current %p (trusted %v, demoted %q), reported %p, was %p",
			cur, cur.Module.Trusted(), cur.Demoted, p, trusted)
	}
	var names []string
	for _, c := range p.Conditions() {
		names = append(names, c.Name)
	}
	if !strings.Contains(strings.Join(names, ","), wasmpool.ConditionDemoted) {
		t.Errorf("conditions %v, want %s", names, wasmpool.ConditionDemoted)
	}

	// Interruptible now: the same call stops at its deadline.
	h, err := p.Checkout(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Run(ctx, h, long)
	if !errors.Is(err, wasm.ErrTimeout) || h.Value().Overrunning() {
		t.Errorf("the demoted module's overrunning call: %v, still running %v; want interrupted", err, h.Value().Overrunning())
	}
	p.Done(h, err)
}

// TestTrustedCallerDeadlineDoesNotDemote: a trusted call that overruns its
// caller's short deadline but ends within the module's own time limit is
// no fault of the module's: it stays trusted.
func TestTrustedCallerDeadlineDoesNotDemote(t *testing.T) {
	checkGoroutines(t)
	const limit = 2 * time.Second
	s := newSet(t, limit, wasmpool.Config{MinSize: 1, MaxSize: 2})
	trusted := add(t, s, "m", testModule(t, "slow"), wasm.ModuleOptions{Trusted: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	began := time.Now()
	// About 20 M iterations: some 20 ms trusted, a hundredth of the limit.
	err := runOnce(ctx, t, s, "m", wasm.Request{HTML: slowDoc(20)})
	if err == nil {
		t.Skip("the call finished within 1 ms: nothing overran")
	}
	time.Sleep(time.Until(began.Add(limit + time.Second))) // past the watch
	if cur, _ := s.Get("m"); cur != trusted || cur.Demoted != "" {
		t.Errorf("a call cut short by its caller demoted the module: %q", cur.Demoted)
	}
}
