package daemon_test

import (
	"context"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestMaxConnectionAge checks that MAX_CONNECTION_AGE_MS ages a client's
// connection out: a stream open past age + grace is ended by the server
// (UNAVAILABLE, which clients retry) instead of staying on the old
// connection forever, and the same client then serves calls again on a new
// connection. With the age off (0), the stream stays open.
func TestMaxConnectionAge(t *testing.T) {
	cases := []struct {
		name     string
		env      []string
		wantEnds bool
	}{
		{"aged out", []string{"MAX_CONNECTION_AGE_MS=200", "MAX_CONNECTION_AGE_GRACE_MS=200"}, true},
		{"never", []string{"MAX_CONNECTION_AGE_MS=0"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, baseEnv(tc.env...))
			// The stream's own deadline bounds the test; the aged-out case
			// must end long before it.
			const window = 5 * time.Second
			ctx, cancel := context.WithTimeout(context.Background(), window)
			defer cancel()
			stream, err := poolv1.NewPoolServiceClient(s.conn).PoolEvents(ctx, &poolv1.PoolEventsRequest{})
			if err != nil {
				t.Fatalf("PoolEvents: %v", err)
			}
			_, err = stream.Recv()
			code := status.Code(err)
			if tc.wantEnds && code != codes.Unavailable {
				t.Fatalf("stream on an aged connection ended with %v, want UNAVAILABLE before its %v deadline", err, window)
			}
			if !tc.wantEnds && code != codes.DeadlineExceeded {
				t.Fatalf("stream with MAX_CONNECTION_AGE_MS=0 ended with %v, want it open until its deadline", err)
			}
			callCtx, callCancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer callCancel()
			if _, err := poolv1.NewPoolServiceClient(s.conn).Extract(callCtx, &poolv1.ExtractRequest{
				Document: &poolv1.ExtractRequest_Html{Html: "<h1>x</h1>"},
				Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "h1"}},
			}, grpc.WaitForReady(true)); err != nil {
				t.Fatalf("Extract after the connection aged: %v", err)
			}
		})
	}
}
