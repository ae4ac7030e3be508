package daemon_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/server"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestHostileGrowthStaysWithinBudget runs the daemon with three modules
// whose every call grows its linear memory a page at a time until refused
// (bomb), beside a well-behaved module, under a 32 MiB WASM memory budget
// (shares of 8 MiB, the pressure threshold at 24 MiB), far below the 96
// MiB the bombs' instances may grow to (the cap, 32 MiB, each). Two callers of each bomb at once get
// RESOURCE_EXHAUSTED MEMORY_LIMIT_EXCEEDED saying the instance grew past
// the budget; the memory figures GetMetrics gives, sampled throughout,
// never pass the budget; the bombs' breakers stay closed; and callers of
// the well-behaved module and of the css pool are answered throughout.
func TestHostileGrowthStaysWithinBudget(t *testing.T) {
	dir := modulesDir(t, "echo")
	for _, name := range []string{"bomb1", "bomb2", "bomb3"} {
		copyModule(t, dir, "bomb", name)
	}
	s := start(t, wasmEnv(dir,
		"ARTICLE_ENGINE=native", // the budget is these modules' alone
		"WASM_MEMORY_LIMIT_MB=32", "MEMORY_PRESSURE_THRESHOLD=0.75", "WASM_INSTANCE_MEMORY_LIMIT_MB=32",
		"CB_FAILURE_THRESHOLD=3", "CB_TIMEOUT_MS=3600000",
		"WASM_EXTRACT_TIMEOUT_MS=20000",
	))
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()
	// The well-behaved module's instance takes its request buffer before
	// the bombs fill the budget.
	if _, err := client.Extract(ctx, wasmRequest("echo", "", `{"ok":{"fine":true}}`)); err != nil {
		t.Fatal(err)
	}

	var (
		wg       sync.WaitGroup
		stop     = make(chan struct{})
		stopOnce sync.Once
		refused  atomic.Int64
		served   atomic.Int64
		samples  atomic.Int64
	)
	end := func() {
		stopOnce.Do(func() { close(stop) })
		wg.Wait()
	}
	defer end()
	loop := func(body func() bool) {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if !body() {
					return
				}
			}
		})
	}
	loop(func() bool {
		resp, err := client.GetMetrics(ctx, &poolv1.GetMetricsRequest{})
		if err != nil {
			t.Errorf("GetMetrics: %v", err)
			return false
		}
		if m := resp.GetMemory(); m.GetTotalAllocatedMb() > m.GetBudgetMb() || m.GetPeakMb() > m.GetBudgetMb() || m.GetBudgetMb() != 32 {
			t.Errorf("WASM memory %v MiB (peak %v) over the budget of %v MiB", m.GetTotalAllocatedMb(), m.GetPeakMb(), m.GetBudgetMb())
			return false
		}
		samples.Add(1)
		return true
	})
	for _, name := range []string{"bomb1", "bomb2", "bomb3", "bomb1", "bomb2", "bomb3"} {
		loop(func() bool {
			_, err := client.Extract(ctx, wasmRequest(name, "", "x"))
			if status.Code(err) != codes.ResourceExhausted || errorReason(err) != server.ReasonMemoryLimitExceeded {
				t.Errorf("%s: %v (reason %q), want RESOURCE_EXHAUSTED MEMORY_LIMIT_EXCEEDED", name, err, errorReason(err))
				return false
			}
			if msg := status.Convert(err).Message(); strings.Contains(msg, "grew past the budget") {
				refused.Add(1)
			} // or a new instance the budget had no room for
			return true
		})
	}
	for _, req := range []*poolv1.ExtractRequest{
		wasmRequest("echo", "", `{"ok":{"fine":true}}`),
		cssRequest("<p>fine</p>", "p"),
	} {
		loop(func() bool {
			if _, err := client.Extract(ctx, req); err != nil {
				t.Errorf("a bystander beside the bombs: %v (reason %q)", err, errorReason(err))
				return false
			}
			served.Add(1)
			return true
		})
	}
	waitFor(t, "bomb calls refused and bystanders served", func() bool {
		return refused.Load() >= 20 && served.Load() >= 20 && samples.Load() >= 10
	})
	end()
	for _, name := range []string{"bomb1", "bomb2", "bomb3"} {
		if st := poolStats(t, client, name).GetBreakerState(); st != poolv1.BreakerState_BREAKER_STATE_CLOSED {
			t.Errorf("%s's breaker %v, want closed: the budget stopped its calls", name, st)
		}
	}
}

// TestInUseCountsCallStacks runs the daemon with one module whose call
// recurses 50,000 calls deep (its stack granted 2+4+8+16 MiB past its
// first part) and stays there until cancelled: while it runs, GetMetrics
// counts its stack in the memory in use, as well as in the memory
// allocated, and gives both back once it ends.
func TestInUseCountsCallStacks(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("..", "wasmpool", "testdata", "deepspin.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "deepspin.wasm"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	s := start(t, wasmEnv(dir, "ARTICLE_ENGINE=native", "WASM_MAX_INSTANCES=1", "WASM_EXTRACT_TIMEOUT_MS=60000"))
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := client.Extract(ctx, wasmRequest("deepspin", "", strings.Repeat("x", 50000)))
		done <- err
	}()
	const stackMiB = 30
	var mem *poolv1.MemoryStats
	waitFor(t, "the call's stack is granted", func() bool {
		resp, err := client.GetMetrics(context.Background(), &poolv1.GetMetricsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		mem = resp.GetMemory()
		return mem.GetTotalAllocatedMb() >= stackMiB
	})
	// The one instance is in use: everything allocated is.
	if mem.GetInUseMb() != mem.GetTotalAllocatedMb() {
		t.Errorf("GetMetrics: %v MiB in use of %v allocated while the one instance's call holds %d MiB of stack: want all of it in use",
			mem.GetInUseMb(), mem.GetTotalAllocatedMb(), stackMiB)
	}
	cancel()
	<-done
	waitFor(t, "the stack given back", func() bool {
		resp, err := client.GetMetrics(context.Background(), &poolv1.GetMetricsRequest{})
		return err == nil && resp.GetMemory().GetInUseMb() == 0 && resp.GetMemory().GetTotalAllocatedMb() < stackMiB
	})
}
