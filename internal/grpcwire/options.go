package grpcwire

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/experimental"
)

// Flow-control windows. A stream window of 1 MiB lets any page under 1 MiB
// (nearly all of them) arrive without the client stopping for a window
// update; grpc-go's default starts at 64 KiB and grows only as its
// bandwidth-delay estimator sees fit. (This was not measured apart from the
// other grpcwire changes.) The connection window lets 16 such pages be in
// flight on one connection.
// Setting them turns grpc-go's estimator off; they bound what a client may
// send ahead of the server, not what the server keeps, which
// MaxRecvMsgSize bounds.
const (
	streamWindow = 1 << 20
	connWindow   = 16 << 20
)

// ServerOptions returns the options that install the pool, the windows and
// the codec on a server receiving messages of up to maxMessage bytes. They
// must come before any other grpc.ChainUnaryInterceptor option so that the
// codec's interceptor is the outermost one, and they set the transport's
// receive limit (grpc.MaxRecvMsgSize), which must not be set again.
//
// The codec refuses a message over maxMessage with a TooLargeError that a
// handler decoding into a Deferred can answer; the transport refuses, with
// grpc-go's own RESOURCE_EXHAUSTED and before reading it, a message over
// TransportLimit(maxMessage). Between the two, the message is read whole
// before it is refused: that is the price of a clear answer to a client
// whose message is too large by a little, as a page that grew is.
func ServerOptions(maxMessage int) []grpc.ServerOption {
	codec := NewCodec(NewPool(maxMessage))
	codec.maxMessage = maxMessage
	return serverOptions(codec)
}

// TransportLimit is the receive limit of a server whose ServerOptions were
// given maxMessage: twice that.
func TransportLimit(maxMessage int) int { return 2 * maxMessage }

func serverOptions(codec *Codec) []grpc.ServerOption {
	opts := []grpc.ServerOption{
		experimental.BufferPool(codec.pool),
		grpc.ForceServerCodecV2(codec),
		grpc.ChainUnaryInterceptor(codec.UnaryInterceptor),
		grpc.InitialWindowSize(streamWindow),
		grpc.InitialConnWindowSize(connWindow),
	}
	if codec.maxMessage > 0 {
		opts = append(opts, grpc.MaxRecvMsgSize(TransportLimit(codec.maxMessage)))
	}
	return opts
}

// DialOptions returns the options a Go client of the daemon uses to send
// documents of up to maxMessage bytes: the same buffer pool, so that
// marshalling a page does not clear a 1 MiB buffer, and windows for
// replies as large.
func DialOptions(maxMessage int) []grpc.DialOption {
	return []grpc.DialOption{
		experimental.WithBufferPool(NewPool(maxMessage)),
		grpc.WithInitialWindowSize(streamWindow),
		grpc.WithInitialConnWindowSize(connWindow),
	}
}
