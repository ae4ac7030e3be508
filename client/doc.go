// Package client is the Go client of riptide-poold: a typed wrapper over
// the generated PoolService client (gen/riptide/pool/v1) with what a caller
// would otherwise have to get right by hand.
//
//   - Any gRPC target: "host:port", "dns:///name:50051" (every address the
//     name resolves to), "ipv4:10.0.0.1:50051,10.0.0.2:50051",
//     "unix:///run/riptide/poold.sock". Calls are spread round-robin over
//     the resolved addresses.
//   - Every call has a deadline: the caller's, else [WithTimeout]'s.
//   - Idempotent calls that fail with UNAVAILABLE (a replica went away or is
//     draining), or with RESOURCE_EXHAUSTED POOL_EXHAUSTED, are retried,
//     on the next replica, after the delay the daemon's RetryInfo asks for
//     (else a short exponential backoff), at most [WithMaxAttempts] times and
//     never past the call's deadline.
//   - Message size limits come from the daemon's ListExtractors limits, so a
//     result over grpc's default 4 MiB is received.
//   - The transport settings the daemon itself uses for whole pages: the
//     buffer pool of [bufpool] and 1 MiB stream / 16 MiB connection windows.
//   - Errors are [*Error] values (errors.As) carrying the daemon's
//     ErrorInfo reason, the field of an invalid request and the retry delay;
//     errors.Is matches them against [ErrPoolExhausted], [ErrCircuitOpen],
//     [ErrInvalidRequest] and the other reason sentinels.
//   - A [Lease] pins the daemon that granted it and is released by Close,
//     so `defer lease.Close()` is all a caller needs.
//   - [Client.Events] is a range-over-func iterator over PoolEvents.
//
// docs/CLIENTS.md describes the same behaviour in the Python and Node
// clients and measures what each adds over the generated stubs.
package client
