package wasmpool

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/wasm"
)

// TestCreationsBounded holds the Set's only creation slot and checks that a
// pool filling to MinSize makes nothing until it is free, then fills.
func TestCreationsBounded(t *testing.T) {
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.RuntimeConfig{InstanceMemoryLimitMB: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	s := New(Config{Runtime: rt, MinSize: 3, MaxSize: 3, MaxConcurrentCalls: 1})
	defer s.Close(ctx)
	code, err := os.ReadFile(filepath.Join("..", "wasm", "testdata", "echo.wasm"))
	if err != nil {
		t.Fatal(err)
	}

	s.creations <- struct{}{}
	p, err := s.Add(ctx, "echo", code, wasm.ModuleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Unbounded, the three creations take a few milliseconds; held, none
	// may finish however long this waits. The pool's first instance is the
	// one the module was checked with as it loaded, made already.
	time.Sleep(100 * time.Millisecond)
	if st := p.Pool.Stats(); st.Idle > 1 {
		t.Errorf("%d instances made while the creation slot was held", st.Idle-1)
	}
	<-s.creations
	deadline := time.Now().Add(20 * time.Second)
	for p.Pool.Stats().Idle < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the pool did not fill once the slot was free: %+v", p.Pool.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
