package client

import (
	"errors"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the ErrorInfo domain of the daemon's errors.
const ErrorDomain = "riptide.pool.v1"

// Reason is a google.rpc.ErrorInfo reason of the daemon (README, "Errors").
type Reason string

// The daemon's reasons.
const (
	ReasonInvalidRequest      Reason = "INVALID_REQUEST"
	ReasonDocumentTooLarge    Reason = "DOCUMENT_TOO_LARGE"
	ReasonResultTooLarge      Reason = "RESULT_TOO_LARGE"
	ReasonPoolExhausted       Reason = "POOL_EXHAUSTED"
	ReasonCircuitOpen         Reason = "CIRCUIT_OPEN"
	ReasonCreationFailed      Reason = "CREATION_FAILED"
	ReasonMemoryLimitExceeded Reason = "MEMORY_LIMIT_EXCEEDED"
	ReasonExtractorFailed     Reason = "EXTRACTOR_FAILED"
	ReasonExtractorTimeout    Reason = "EXTRACTOR_TIMEOUT"
	ReasonLeaseNotFound       Reason = "LEASE_NOT_FOUND"
	ReasonLeaseMismatch       Reason = "LEASE_MISMATCH"
	ReasonShuttingDown        Reason = "SHUTTING_DOWN"
	ReasonDisabled            Reason = "DISABLED"
	ReasonRateLimited         Reason = "RATE_LIMITED"
)

// Sentinels for errors.Is: an [*Error] is each of these whose reason it
// carries.
var (
	ErrInvalidRequest      error = reasonSentinel(ReasonInvalidRequest)
	ErrDocumentTooLarge    error = reasonSentinel(ReasonDocumentTooLarge)
	ErrResultTooLarge      error = reasonSentinel(ReasonResultTooLarge)
	ErrPoolExhausted       error = reasonSentinel(ReasonPoolExhausted)
	ErrCircuitOpen         error = reasonSentinel(ReasonCircuitOpen)
	ErrCreationFailed      error = reasonSentinel(ReasonCreationFailed)
	ErrMemoryLimitExceeded error = reasonSentinel(ReasonMemoryLimitExceeded)
	ErrExtractorFailed     error = reasonSentinel(ReasonExtractorFailed)
	ErrExtractorTimeout    error = reasonSentinel(ReasonExtractorTimeout)
	ErrLeaseNotFound       error = reasonSentinel(ReasonLeaseNotFound)
	ErrLeaseMismatch       error = reasonSentinel(ReasonLeaseMismatch)
	ErrShuttingDown        error = reasonSentinel(ReasonShuttingDown)
)

// reasonSentinel is an error that stands for a reason; it is comparable, so
// errors.Is can match it.
type reasonSentinel Reason

func (r reasonSentinel) Error() string { return "riptide-poold: " + string(r) }

// Error is a failed call: the gRPC status and what its details say.
type Error struct {
	Code    codes.Code
	Message string
	// Reason is the ErrorInfo reason; empty when the status carried none
	// (a transport failure, the caller's own deadline or cancellation).
	Reason Reason
	// Pool is the pool the daemon names in ErrorInfo.metadata, if any.
	Pool string
	// Field is the request field that was invalid (BadRequest), if any.
	Field string
	// RetryDelay is how long the daemon asks callers to wait (RetryInfo);
	// zero when it did not say.
	RetryDelay time.Duration
	// Attempts is how many times the call was sent.
	Attempts int
	// Metadata is ErrorInfo.metadata as sent.
	Metadata map[string]string

	status *status.Status
}

func (e *Error) Error() string {
	s := "riptide-poold: " + e.Code.String()
	if e.Reason != "" {
		s += " " + string(e.Reason)
	}
	return s + ": " + e.Message
}

// Is reports whether target is the sentinel of e's reason.
func (e *Error) Is(target error) bool {
	r, ok := target.(reasonSentinel)
	return ok && Reason(r) == e.Reason
}

// GRPCStatus returns the call's status, so that status.FromError and
// status.Code see through an *Error.
func (e *Error) GRPCStatus() *status.Status { return e.status }

// asError converts a call's error into an *Error; errors that are not gRPC
// statuses (none are expected from the generated client) are returned as
// they are.
func asError(err error, attempts int) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	e := &Error{Code: st.Code(), Message: st.Message(), Attempts: attempts, status: st}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if d.GetDomain() == ErrorDomain {
				e.Reason = Reason(d.GetReason())
				e.Metadata = d.GetMetadata()
				e.Pool = d.GetMetadata()["pool"]
				if e.Field == "" {
					e.Field = d.GetMetadata()["field"]
				}
			}
		case *errdetails.BadRequest:
			if v := d.GetFieldViolations(); len(v) > 0 {
				e.Field = v[0].GetField()
			}
		case *errdetails.RetryInfo:
			e.RetryDelay = d.GetRetryDelay().AsDuration()
		}
	}
	return e
}

// reasonOf returns the ErrorInfo reason of a call's error, and its retry
// delay.
func reasonOf(err error) (codes.Code, Reason, time.Duration) {
	var e *Error
	if errors.As(asError(err, 0), &e) {
		return e.Code, e.Reason, e.RetryDelay
	}
	return status.Code(err), "", 0
}
