package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ShuttingDown is the status of a call that arrives while the daemon drains.
func ShuttingDown() error {
	return statusError(codes.Unavailable, ReasonShuttingDown,
		"the daemon is shutting down; retry on another instance", nil, retryAfter(time.Second))
}

// unimplemented answers a capability that this server was built without
// (a Service with no lease table or event bus).
func unimplemented(capability string) error {
	return statusError(codes.Unimplemented, ReasonDisabled,
		fmt.Sprintf("%s is not served by this server", capability), nil)
}

// Panicked is the status of a call whose handler panicked: the daemon's
// bug, logged with its stack where it was recovered.
func Panicked(method string) error {
	return statusError(codes.Internal, ReasonInternalError,
		fmt.Sprintf("internal error in %s; the daemon logged it", method), []string{"method", method})
}

// disabled answers a capability that configuration turned off.
func disabled(capability, variable string) error {
	return statusError(codes.FailedPrecondition, ReasonDisabled,
		fmt.Sprintf("%s is disabled (%s=false)", capability, variable), []string{"variable", variable})
}

// documentError maps a document that cannot be used.
func (s *Service) documentError(field string, err error) error {
	switch {
	case errors.Is(err, native.ErrDocumentTooLarge):
		return statusError(codes.ResourceExhausted, ReasonDocumentTooLarge,
			fmt.Sprintf("%s: document over the limit of %d bytes (MAX_DOCUMENT_BYTES)", field, s.limits.MaxDocumentBytes),
			[]string{"field", field})
	case errors.Is(err, native.ErrEmptyDocument):
		return invalidArgument(field, "the document is empty")
	default:
		return invalidArgument(field, "%v", err)
	}
}

// nativeError maps an error of a native extractor; path is the request field
// path of the spec, e.g. "css" or `fields.fields["title"].css`.
func (s *Service) nativeError(req *poolv1.ExtractRequest, path string, err error) error {
	var (
		spec *native.SpecError
		cost *native.CostError
	)
	switch {
	case errors.As(err, &spec) && errors.As(err, &cost):
		return costError(path+"."+spec.Field, cost)
	case errors.As(err, &spec):
		return invalidArgument(path+"."+spec.Field, "%v", spec.Err)
	case errors.Is(err, native.ErrResultTooLarge):
		return statusError(codes.ResourceExhausted, ReasonResultTooLarge,
			fmt.Sprintf("%s: result over the limit of %d bytes (MAX_RESULT_BYTES); ask for fewer matches", path, s.limits.MaxResultBytes),
			[]string{"field", path})
	case errors.Is(err, native.ErrEmptyDocument):
		return invalidArgument("document", "the document is empty")
	case errors.Is(err, native.ErrUnparsable):
		return invalidArgument(documentField(req), "%v", err)
	}
	return contextOr(err, func() error {
		return statusError(codes.Internal, ReasonExtractorFailed, fmt.Sprintf("%s: %v", path, err), nil)
	})
}

// checkMode refuses a mode that the module did not advertise, before any
// instance is spent on it; an empty mode is the module's default.
func checkMode(p *wasmpool.Pool, mode string) error {
	if mode == "" {
		return nil
	}
	modes := p.Module.Modes()
	if slices.Contains(modes, mode) {
		return nil
	}
	return invalidArgument("wasm.mode", "module %q has no mode %q (want one of %s)", p.Name, mode, strings.Join(modes, ", "))
}

// documentField names the request's document field.
func documentField(req *poolv1.ExtractRequest) string {
	if _, ok := req.GetDocument().(*poolv1.ExtractRequest_RawHtml); ok {
		return "raw_html"
	}
	return "html"
}

// poolError maps a failed checkout from the pool named name; stats supplies
// the figures a client needs to back off sensibly.
func (s *Service) poolError(err error, name string, stats func() pool.Stats) error {
	switch {
	case errors.Is(err, pool.ErrExhausted):
		st := stats()
		// Suggest waiting about as long as a typical checkout waits now,
		// within bounds that keep clients neither spinning nor idle.
		delay := min(max(st.AvgWait, 10*time.Millisecond), time.Second)
		return statusError(codes.ResourceExhausted, ReasonPoolExhausted,
			fmt.Sprintf("pool %q exhausted: %d/%d instances in use, %d waiting, none free within the checkout timeout (CHECKOUT_TIMEOUT_MS)",
				name, st.InUse, st.Max, st.Waiters),
			[]string{"pool", name}, retryAfter(delay))
	case errors.Is(err, pool.ErrClosed):
		return ShuttingDown()
	}
	return contextOr(err, func() error {
		return statusError(codes.Unavailable, ReasonCreationFailed,
			fmt.Sprintf("pool %q could not create an instance: %v", name, err),
			[]string{"pool", name}, retryAfter(time.Second))
	})
}

// resultTooLarge answers a result over MAX_RESULT_BYTES.
func resultTooLarge(pool string, size, limit int) error {
	return statusError(codes.ResourceExhausted, ReasonResultTooLarge,
		fmt.Sprintf("result of %d bytes over the limit of %d bytes (MAX_RESULT_BYTES); ask for fewer matches", size, limit),
		[]string{"pool", pool})
}

// contextOr maps a context error to the status the caller expects (its own
// deadline or cancellation), and anything else with other.
func contextOr(err error, other func() error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "the request's deadline passed")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "the request was cancelled")
	}
	return other()
}

// outcome names a call's result for metrics: "ok", the ErrorInfo reason, or
// the status code when there is no reason. Its values are a small, fixed set.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	st := status.Convert(err)
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.Reason
		}
	}
	return st.Code().String()
}
