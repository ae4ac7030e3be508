package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/config"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
)

// syncBuffer is a log destination safe for the daemon's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(b.buf.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// TestShutdownAbandonsStuckHandler serves a handler that holds a css
// instance and never returns, whatever its context says, as an extraction
// stuck in a loop would; Serve must still return once the grace period and
// StopBound are over, and its last log line must name the call and the
// instance it abandoned. (Before, GracefulStop waited for the handler
// forever.) The stuck service is registered here, on the daemon's own
// server: no product code has a hook for it.
func TestShutdownAbandonsStuckHandler(t *testing.T) {
	cfg, err := config.Load(nil, []string{
		"GRPC_ADDR=127.0.0.1:0", "METRICS_ADDR=", "NATIVE_POOL_SIZE=1",
		"WASM_POOL_ENABLED=false", "SHUTDOWN_GRACE_MS=200", "HOME=" + os.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	d, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{}) // lets the stuck handler go when the test ends
	t.Cleanup(func() { close(release) })
	entered := make(chan struct{}, 1)
	const method = "/riptide.test.Stuck/Hang"
	d.grpc.RegisterService(&grpc.ServiceDesc{
		ServiceName: "riptide.test.Stuck",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Hang",
			Handler: func(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
				in := new(emptypb.Empty)
				if err := dec(in); err != nil {
					return nil, err
				}
				return interceptor(ctx, in, &grpc.UnaryServerInfo{FullMethod: method}, func(ctx context.Context, _ any) (any, error) {
					h, err := d.native.CSS.Checkout(ctx)
					if err != nil {
						return nil, err
					}
					defer h.Release()
					entered <- struct{}{}
					<-release // ignores ctx
					return new(emptypb.Empty), nil
				})
			},
		}},
	}, struct{}{})
	if err := d.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- d.Serve(ctx) }()

	conn, err := grpc.NewClient(d.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	answered := make(chan error, 1)
	go func() { answered <- conn.Invoke(context.Background(), method, new(emptypb.Empty), new(emptypb.Empty)) }()
	select {
	case <-entered:
	case err := <-answered:
		t.Fatalf("the stuck call answered %v before it got stuck", err)
	case <-time.After(time.Minute):
		t.Fatal("the stuck call never started")
	}

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Serve did not return a minute after cancellation with SHUTDOWN_GRACE_MS=200: shutdown waits for the stuck handler")
	}
	select {
	case err := <-answered:
		if err == nil {
			t.Error("the stuck call answered OK")
		}
	case <-time.After(time.Minute):
		t.Error("the stuck call's client got no answer")
	}

	lines := logs.lines()
	last := lines[len(lines)-1]
	if last["msg"] != "stopped; abandoned what still runs" {
		t.Fatalf("last log line %v, want the one that lists what was abandoned", last)
	}
	calls, _ := last["calls"].(map[string]any)
	if n, _ := calls[method].(float64); n != 1 {
		t.Errorf("abandoned calls %v, want %s: 1", last["calls"], method)
	}
	instances, _ := last["instances"].(map[string]any)
	if n, _ := instances["css"].(float64); n != 1 {
		t.Errorf("abandoned instances %v, want css: 1", last["instances"])
	}
}
