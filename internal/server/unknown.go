package server

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// ReasonUnknownMethod is the reason of a call to a method this server does
// not serve: a client built from a newer or another proto, or a typo in a
// grpcurl command line.
const ReasonUnknownMethod = "UNKNOWN_METHOD"

// UnknownMethod answers calls to services and methods that are not
// registered, for grpc.UnknownServiceHandler: UNIMPLEMENTED as grpc-go
// would, but with an ErrorInfo naming the method, so that every status the
// daemon sends carries one. It reads nothing from the stream, so a caller
// that streams requests to an unknown method costs no more than its
// headers.
func UnknownMethod(_ any, stream grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(stream)
	if len(method) > 256 {
		method = method[:256] // the path is the caller's; keep the answer small
	}
	return statusError(codes.Unimplemented, ReasonUnknownMethod,
		fmt.Sprintf("unknown method %q: this daemon serves riptide.pool.v1.PoolService, grpc.health.v1.Health and server reflection (list them with grpcurl ... list)", method),
		[]string{"method", method})
}
