package wasm_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"google.golang.org/protobuf/types/known/structpb"
)

// asJSON is a result as compact JSON with sorted keys, to compare; "" for
// nil.
func asJSON(st *structpb.Struct) string {
	if st == nil {
		return ""
	}
	b, err := json.Marshal(st.AsMap())
	if err != nil {
		return "unmarshalable: " + err.Error()
	}
	return string(b)
}

// newRuntime makes a Runtime closed at the end of the test, with the tests'
// compilation cache unless cfg names one.
func newRuntime(t testing.TB, cfg wasm.RuntimeConfig) *wasm.Runtime {
	t.Helper()
	if cfg.CompilationCacheDir == "" {
		cfg.CompilationCacheDir = compilationCache
	}
	rt, err := wasm.NewRuntime(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewRuntime: %v", err)
	}
	t.Cleanup(func() {
		if err := rt.Close(context.Background()); err != nil {
			t.Errorf("Runtime.Close: %v", err)
		}
	})
	return rt
}

// readTestdata reads testdata/<name>.wasm.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// load loads testdata/<name>.wasm.
func load(t testing.TB, rt *wasm.Runtime, name string, opts wasm.ModuleOptions) *wasm.Module {
	t.Helper()
	m, err := rt.Load(context.Background(), name, readTestdata(t, name), opts)
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	return m
}

// newInstance makes an instance closed at the end of the test.
func newInstance(t testing.TB, m *wasm.Module) *wasm.Instance {
	t.Helper()
	i, err := m.NewInstance(context.Background())
	if err != nil {
		t.Fatalf("NewInstance(%s): %v", m.Name(), err)
	}
	t.Cleanup(func() { i.Close() })
	return i
}

// checkGoroutines fails the test if, once its cleanups have run (register it
// first: cleanups run last-in first-out), more goroutines are left than when
// it began. Goroutines take a moment to end, hence the settle loop.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
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
