package wasm_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/wasm"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestFailureLogIsRateLimited fails a module's instances many times over:
// the host writes wasm.LogBurst lines about them, not one per failure, and
// another module's failures still get lines of their own.
func TestFailureLogIsRateLimited(t *testing.T) {
	var logs syncBuffer
	rt := newRuntime(t, wasm.RuntimeConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	for _, name := range []string{"trap", "oob"} {
		m := load(t, rt, name, wasm.ModuleOptions{})
		for range 4 * wasm.LogBurst {
			i := newInstance(t, m)
			if _, err := i.Extract(ctx, wasm.Request{HTML: "<p>x</p>"}); err == nil {
				t.Fatalf("%s: Extract succeeded", name)
			}
			i.Close()
		}
	}
	for _, name := range []string{"trap", "oob"} {
		n := 0
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "wasm instance failed") && strings.Contains(line, "module="+name) {
				n++
			}
		}
		if n != wasm.LogBurst {
			t.Errorf("module %s: %d failure lines for %d failures, want %d", name, n, 4*wasm.LogBurst, wasm.LogBurst)
		}
	}
}
