package daemon_test

import (
	"context"
	"testing"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/grpc/codes"
)

// TestRequestFieldsNamed: requests that name what the daemon does not
// have are INVALID_ARGUMENT with a BadRequest naming the very field, as
// Checkout always did for an unknown pool.
func TestRequestFieldsNamed(t *testing.T) {
	s := start(t, wasmEnv(""))
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()

	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"PoolEvents of an unknown pool", func() error {
			stream, err := client.PoolEvents(ctx, &poolv1.PoolEventsRequest{Pools: []string{"css", "nope"}})
			if err != nil {
				return err
			}
			_, err = stream.Recv()
			return err
		}, "pools[1]"},
		{"Checkout of an unknown pool", func() error {
			_, err := client.Checkout(ctx, &poolv1.CheckoutRequest{Pool: "nope"})
			return err
		}, "pool"},
		{"an unknown mode of the article module", func() error {
			_, err := client.Extract(ctx, wasmRequest("", "nope", "<p>x</p>"))
			return err
		}, "wasm.mode"},
		{"an unknown mode, with an empty document too", func() error {
			_, err := client.Extract(ctx, wasmRequest("article", "nope", ""))
			return err
		}, "wasm.mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			leaseWantStatus(t, tt.name, err, codes.InvalidArgument, "INVALID_REQUEST")
			if got := fieldViolations(err); len(got) != 1 || got[0] != tt.field {
				t.Errorf("BadRequest fields %q, want [%s]", got, tt.field)
			}
		})
	}
	// A known mode still serves.
	if _, err := client.Extract(ctx, wasmRequest("article", "metadata", "<html><head><title>t</title></head><body><p>x</p></body></html>")); err != nil {
		t.Errorf("a known mode: %v", err)
	}
}
