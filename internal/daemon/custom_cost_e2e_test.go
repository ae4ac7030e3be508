package daemon_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/breaker"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"github.com/riptidecrawler/riptide-poold/internal/server"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasm/bundled"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// TestCustomSelectorsBounded: the bundled article module's "custom" mode
// runs its selectors in a trusted guest that cannot be interrupted, or in
// the native fallback while its breaker is open; a selector too costly on
// the page is refused before either runs, with INVALID_ARGUMENT naming it
// and the limit, and the module's instances are all back in the pool.
func TestCustomSelectorsBounded(t *testing.T) {
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.RuntimeConfig{CompilationCacheDir: wasmCache, ExtractTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	set := wasmpool.New(wasmpool.Config{
		Runtime: rt, MinSize: 0, MaxSize: 2,
		FailureThreshold: 2, SuccessThreshold: 1, OpenTimeout: time.Hour,
	})
	t.Cleanup(func() {
		set.Close(ctx)
		rt.Close(ctx)
	})
	p, err := set.Add(ctx, bundled.ArticleName, bundled.Article(), wasm.ModuleOptions{Trusted: true})
	if err != nil {
		t.Fatal(err)
	}
	svc := server.New(server.Config{Version: "test", WASM: set, Limits: server.Limits{Limits: native.DefaultLimits()}})
	gs := grpc.NewServer()
	poolv1.RegisterPoolServiceServer(gs, svc)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := poolv1.NewPoolServiceClient(conn)

	nested := "<title>t</title>" + strings.Repeat("<div>", 500) + "<span>x</span>" + strings.Repeat("</div>", 500)
	has := func(n int) string { return strings.Repeat("div:has(", n) + "span" + strings.Repeat(")", n) }
	check := func(what string) {
		t.Helper()
		tests := []struct {
			name      string
			selectors []string
			field     string // "" when the call is served
			limit     string
		}{
			{"3 levels of :has", []string{"title", has(3)}, "wasm.selectors[1]", "CSS_MAX_HAS_DEPTH"},
			{"a descendant chain", []string{"x div div div div span"}, "wasm.selectors[0]", "CSS_MAX_ELEMENT_WORK"},
			{"a syntax error", []string{"span", "div["}, "wasm.selectors[1]", ""},
			{"ordinary selectors", []string{"title", "div span", has(1)}, "", ""},
		}
		for _, tt := range tests {
			_, err := client.Extract(ctx, wasmRequest("", "custom", nested, tt.selectors...))
			if tt.field == "" {
				if err != nil {
					t.Errorf("%s, %s: %v", what, tt.name, err)
				}
				continue
			}
			wantStatus(t, what+", "+tt.name, err, codes.InvalidArgument, server.ReasonInvalidRequest)
			var field, limit string
			for _, d := range status.Convert(err).Details() {
				switch d := d.(type) {
				case *errdetails.BadRequest:
					field = d.GetFieldViolations()[0].GetField()
				case *errdetails.ErrorInfo:
					limit = d.GetMetadata()["limit"]
				}
			}
			if field != tt.field || limit != tt.limit {
				t.Errorf("%s, %s: field %q limit %q, want %q %q", what, tt.name, field, limit, tt.field, tt.limit)
			}
		}
		if st := poolStats(t, client, bundled.ArticleName); st.GetInUse() != 0 {
			t.Errorf("%s: %d article instances in use after the calls", what, st.GetInUse())
		}
	}
	check("guest")

	for range 2 {
		p.Breaker.Do(func() error { return fmt.Errorf("injected: %w", wasm.ErrTrap) })
	}
	if st := p.Breaker.State(); st != breaker.StateOpen {
		t.Fatalf("breaker %v after two injected traps", st)
	}
	check("native fallback")
}
