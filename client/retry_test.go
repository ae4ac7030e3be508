package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// daemonError builds a status as the daemon does.
func daemonError(code codes.Code, reason Reason, retry time.Duration) error {
	st := status.New(code, "x")
	info := &errdetails.ErrorInfo{Domain: ErrorDomain, Reason: string(reason), Metadata: map[string]string{"pool": "css"}}
	if retry > 0 {
		st, _ = st.WithDetails(info, &errdetails.RetryInfo{RetryDelay: durationpb.New(retry)})
	} else {
		st, _ = st.WithDetails(info)
	}
	return st.Err()
}

func TestRetries(t *testing.T) {
	tests := []struct {
		class  retryClass
		code   codes.Code
		reason Reason
		want   bool
	}{
		{idempotent, codes.Unavailable, "", true},
		{idempotent, codes.Unavailable, ReasonShuttingDown, true},
		{idempotent, codes.ResourceExhausted, ReasonPoolExhausted, true},
		{idempotent, codes.ResourceExhausted, ReasonDocumentTooLarge, false},
		{idempotent, codes.ResourceExhausted, ReasonMemoryLimitExceeded, false},
		{idempotent, codes.InvalidArgument, ReasonInvalidRequest, false},
		{idempotent, codes.DeadlineExceeded, "", false},
		{idempotent, codes.Internal, ReasonExtractorFailed, false},
		{refused, codes.Unavailable, "", false},
		{refused, codes.Unavailable, ReasonShuttingDown, true},
		{refused, codes.Unavailable, ReasonCircuitOpen, true},
		{refused, codes.Unavailable, ReasonCreationFailed, true},
		{refused, codes.ResourceExhausted, ReasonPoolExhausted, true},
		{never, codes.Unavailable, ReasonShuttingDown, false},
		{never, codes.ResourceExhausted, ReasonPoolExhausted, false},
	}
	for _, tt := range tests {
		if got := tt.class.retries(tt.code, tt.reason); got != tt.want {
			t.Errorf("class %d retries(%v, %q) = %v, want %v", tt.class, tt.code, tt.reason, got, tt.want)
		}
	}
}

// TestRetryBounds runs call against scripted failures: it stops at the
// attempt bound, at a RetryInfo over the delay bound, and at the deadline.
func TestRetryBounds(t *testing.T) {
	unavailable := daemonError(codes.Unavailable, ReasonShuttingDown, 0)
	tests := []struct {
		name         string
		maxAttempts  int
		maxDelay     time.Duration
		timeout      time.Duration
		errs         []error // one per attempt; nil succeeds; past the end: the last
		wantAttempts int
		wantErr      error
	}{
		{"succeeds on the third attempt", 4, time.Second, time.Minute, []error{unavailable, unavailable, nil}, 3, nil},
		{"gives up at max attempts", 3, time.Second, time.Minute, []error{unavailable}, 3, ErrShuttingDown},
		{"no retry of a caller's error", 4, time.Second, time.Minute,
			[]error{daemonError(codes.InvalidArgument, ReasonInvalidRequest, 0)}, 1, ErrInvalidRequest},
		{"RetryInfo over the delay bound ends retries", 4, time.Second, time.Minute,
			[]error{daemonError(codes.Unavailable, ReasonCircuitOpen, 30*time.Second)}, 1, ErrCircuitOpen},
		{"RetryInfo past the deadline ends retries", 4, time.Minute, 100 * time.Millisecond,
			[]error{daemonError(codes.ResourceExhausted, ReasonPoolExhausted, 10*time.Second)}, 1, ErrPoolExhausted},
		{"RetryInfo within bounds is waited", 4, time.Second, time.Minute,
			[]error{daemonError(codes.ResourceExhausted, ReasonPoolExhausted, 10*time.Millisecond), nil}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &caller{opts: &options{maxAttempts: tt.maxAttempts, maxRetryDelay: tt.maxDelay}}
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			attempts := 0
			rpc := func(context.Context, *struct{}, ...grpc.CallOption) (*struct{}, error) {
				attempts++
				return &struct{}{}, tt.errs[min(attempts, len(tt.errs))-1]
			}
			resp, err := call(ctx, c, idempotent, rpc, &struct{}{})
			if (resp != nil) != (err == nil) {
				t.Errorf("response %v with error %v: want exactly one", resp, err)
			}
			if attempts != tt.wantAttempts {
				t.Errorf("%d attempts, want %d", attempts, tt.wantAttempts)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Errorf("error %v, want success", err)
				}
				return
			}
			var e *Error
			if !errors.Is(err, tt.wantErr) || !errors.As(err, &e) || e.Attempts != tt.wantAttempts {
				t.Errorf("error %v (%+v), want %v after %d attempts", err, e, tt.wantErr, tt.wantAttempts)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	for n := 1; n < 40; n++ {
		d := backoff(n)
		hi := min(backoffBase<<min(n-1, 16), backoffMax)
		if d < hi/2 || d > hi {
			t.Errorf("backoff(%d) = %v, want within [%v, %v]", n, d, hi/2, hi)
		}
	}
}

// FuzzAsError feeds asError statuses with arbitrary details, as a daemon
// (or anything answering on its port) could send: it must never panic, and
// must keep the code.
func FuzzAsError(f *testing.F) {
	seed, _ := status.New(codes.ResourceExhausted, "x").WithDetails(
		&errdetails.ErrorInfo{Domain: ErrorDomain, Reason: "POOL_EXHAUSTED"},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "css.selector"}}})
	b, _ := proto.Marshal(seed.Proto())
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p spb.Status
		if proto.Unmarshal(b, &p) != nil {
			return
		}
		st := status.FromProto(&p)
		err := asError(st.Err(), 1)
		if st.Code() == codes.OK {
			if err != nil {
				t.Fatalf("asError(OK) = %v", err)
			}
			return
		}
		if status.Code(err) != st.Code() {
			t.Fatalf("code %v became %v", st.Code(), status.Code(err))
		}
	})
}
