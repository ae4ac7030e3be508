package wasmpool_test

import (
	"context"
	"fmt"
	"github.com/riptidecrawler/riptide-poold/internal/testenv"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
)

// compilationCache is shared by the tests' runtimes, so that the bundled
// article module (seconds to compile) is compiled once per run.
var compilationCache string

func TestMain(m *testing.M) {
	dir, cleanup, err := testenv.CompilationCacheDir("wasmpool-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	compilationCache = dir
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// newSet makes a Set over a fresh runtime, both closed at the end of the
// test. A zero MaxSize means 2; the runtime's calls are bounded by timeout.
func newSet(t *testing.T, timeout time.Duration, cfg wasmpool.Config) *wasmpool.Set {
	t.Helper()
	rt, err := wasm.NewRuntime(context.Background(), wasm.RuntimeConfig{
		CompilationCacheDir:   compilationCache,
		InstanceMemoryLimitMB: 64,
		ExtractTimeout:        timeout,
	})
	if err != nil {
		t.Fatalf("NewRuntime: %v", err)
	}
	cfg.Runtime = rt
	if cfg.MaxSize == 0 {
		cfg.MaxSize = 2
	}
	s := wasmpool.New(cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Set.Close: %v", err)
		}
		if err := rt.Close(ctx); err != nil {
			t.Errorf("Runtime.Close: %v", err)
		}
	})
	return s
}

// testModule reads internal/wasm/testdata/<name>.wasm, a small module
// written in WAT to behave in one way (see its .wat).
func testModule(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "wasm", "testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// articleModule reads the bundled article module, or skips the test.
func articleModule(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "wasm", "bundled", "article.wasm"))
	if err != nil {
		t.Skipf("no internal/wasm/bundled/article.wasm (build it with make wasm): %v", err)
	}
	return b
}

// figure is the memory figure of a fresh instance of code: its linear
// memory, tables and stack allowance, what the memory budget charges for
// it (wasm.Module.FreshMemoryBytes).
func figure(t *testing.T, code []byte) uint64 {
	t.Helper()
	s := newSet(t, time.Second, wasmpool.Config{})
	return add(t, s, "figure", code, wasm.ModuleOptions{}).Module.FreshMemoryBytes()
}

// add loads a module into s, failing the test if it does not load.
func add(t testing.TB, s *wasmpool.Set, name string, code []byte, opts wasm.ModuleOptions) *wasmpool.Pool {
	t.Helper()
	p, err := s.Add(context.Background(), name, code, opts)
	if err != nil {
		t.Fatalf("Add(%s): %v", name, err)
	}
	return p
}

// eventually polls cond until it holds, failing the test after a generous
// bound: background work (refills, retirements) takes a moment on a busy
// machine, and no test here asserts how long.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkGoroutines fails the test if, once its later cleanups have run,
// more goroutines are left than when it began. Register it first.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines left running, %d before the test:\n%s", n, before, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// ownModule reads testdata/<name>.wasm, a module of this package's own
// (see its .wat; TestTestdataInSync checks it is built from it).
func ownModule(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
