package server

import (
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of every error this service
// answers.
const ErrorDomain = "riptide.pool.v1"

// Reasons carried in google.rpc.ErrorInfo.reason; the API contract lists them
// in pool.proto.
const (
	ReasonInvalidRequest      = "INVALID_REQUEST"
	ReasonDocumentTooLarge    = "DOCUMENT_TOO_LARGE"
	ReasonResultTooLarge      = "RESULT_TOO_LARGE"
	ReasonPoolExhausted       = "POOL_EXHAUSTED"
	ReasonCircuitOpen         = "CIRCUIT_OPEN"
	ReasonCreationFailed      = "CREATION_FAILED"
	ReasonMemoryLimitExceeded = "MEMORY_LIMIT_EXCEEDED"
	ReasonExtractorFailed     = "EXTRACTOR_FAILED"
	ReasonExtractorTimeout    = "EXTRACTOR_TIMEOUT"
	ReasonLeaseNotFound       = "LEASE_NOT_FOUND"
	ReasonLeaseMismatch       = "LEASE_MISMATCH"
	ReasonShuttingDown        = "SHUTTING_DOWN"
	// Beyond DESIGN.md's table: a capability turned off by configuration
	// or not served by this server, ForceGC called more often than once a
	// second, and a handler that panicked (a daemon bug, never the caller's
	// fault).
	ReasonDisabled      = "DISABLED"
	ReasonRateLimited   = "RATE_LIMITED"
	ReasonInternalError = "INTERNAL_ERROR"
)

// statusError builds a status with an ErrorInfo and any further details.
// metadata is a flat list of key, value pairs; empty values are left out.
func statusError(code codes.Code, reason, msg string, metadata []string, details ...protoadapt.MessageV1) error {
	st := status.New(code, msg)
	info := &errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain}
	for i := 0; i+1 < len(metadata); i += 2 {
		if metadata[i+1] == "" {
			continue
		}
		if info.Metadata == nil {
			info.Metadata = make(map[string]string, len(metadata)/2)
		}
		info.Metadata[metadata[i]] = metadata[i+1]
	}
	withDetails, err := st.WithDetails(append([]protoadapt.MessageV1{info}, details...)...)
	if err != nil {
		// WithDetails fails only if a detail cannot be marshalled, which
		// cannot happen for these well-known messages; keep the bare status
		// rather than lose the error.
		return st.Err()
	}
	return withDetails.Err()
}

func badRequest(field, description string) *errdetails.BadRequest {
	return &errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: description}},
	}
}

func retryAfter(d time.Duration) *errdetails.RetryInfo {
	if d < 0 {
		d = 0
	}
	return &errdetails.RetryInfo{RetryDelay: durationpb.New(d)}
}

// invalidArgument answers INVALID_ARGUMENT / INVALID_REQUEST naming the field.
func invalidArgument(field, format string, args ...any) error {
	desc := fmt.Sprintf(format, args...)
	return statusError(codes.InvalidArgument, ReasonInvalidRequest, field+": "+desc,
		[]string{"field", field}, badRequest(field, desc))
}
