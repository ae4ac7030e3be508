package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/riptidecrawler/riptide-poold/internal/grpcwire"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// EnvelopeBytes is what the message size limit allows beyond
// MAX_DOCUMENT_BYTES for the rest of a request: the spec, the URL, the
// content type and a lease ID. It is well above the largest spec the limits
// let through (64 fields of a 4 KiB pattern, or 64 selectors of 1 KiB, with
// their names: under 300 KiB), so that a document of exactly
// MAX_DOCUMENT_BYTES always fits, and one a byte over reaches the handler,
// which answers DOCUMENT_TOO_LARGE naming the document's field.
const EnvelopeBytes = 1 << 20

// MaxRecvMessageBytes is the largest request message a daemon whose
// documents may be maxDocument bytes decodes: the size to give
// grpcwire.ServerOptions.
func MaxRecvMessageBytes(maxDocument int) int { return maxDocument + EnvelopeBytes }

// Registrar registers services on a gRPC server that uses grpcwire's
// options so that a request that cannot be decoded (over the message
// limit, or bytes that are not the request message) is answered like any
// other bad request, with a status that carries an ErrorInfo, rather than
// grpc-go's bare INTERNAL "failed to unmarshal" or RESOURCE_EXHAUSTED.
//
// grpc-go decodes a unary request inside the generated handler, before any
// interceptor runs, and a streaming request inside the handler's RecvMsg,
// and it writes the status of a decoding error there itself. So the
// services' handlers are wrapped: each decodes into a grpcwire.Deferred,
// which keeps the codec's error for the wrapper to answer. What the
// services themselves answer is left alone.
//
// Registrar embeds the server so that it can be passed wherever a
// *grpc.Server's registration methods are wanted (reflection.Register).
type Registrar struct {
	*grpc.Server
	// MaxDocumentBytes is MAX_DOCUMENT_BYTES, for the message of an
	// oversized request.
	MaxDocumentBytes int
}

// RegisterService registers impl under a copy of desc whose handlers
// answer decoding errors with an ErrorInfo.
func (r Registrar) RegisterService(desc *grpc.ServiceDesc, impl any) {
	r.Server.RegisterService(r.wrap(desc), impl)
}

// wrap returns a copy of desc with each handler's decoding wrapped.
func (r Registrar) wrap(desc *grpc.ServiceDesc) *grpc.ServiceDesc {
	out := *desc
	out.Methods = make([]grpc.MethodDesc, len(desc.Methods))
	for i, md := range desc.Methods {
		handler, method := md.Handler, "/"+desc.ServiceName+"/"+md.MethodName
		md.Handler = func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			return handler(srv, ctx, func(v any) error {
				d := grpcwire.Deferred{Msg: v}
				if err := dec(&d); err != nil {
					return err // grpc-go has answered it already
				}
				return r.decodeError(method, d.Err)
			}, interceptor)
		}
		out.Methods[i] = md
	}
	out.Streams = make([]grpc.StreamDesc, len(desc.Streams))
	for i, sd := range desc.Streams {
		handler, method := sd.Handler, "/"+desc.ServiceName+"/"+sd.StreamName
		sd.Handler = func(srv any, stream grpc.ServerStream) error {
			return handler(srv, &decodingStream{ServerStream: stream, r: r, method: method})
		}
		out.Streams[i] = sd
	}
	return &out
}

// decodingStream decodes a stream's requests into a grpcwire.Deferred.
type decodingStream struct {
	grpc.ServerStream
	r      Registrar
	method string
}

func (s *decodingStream) RecvMsg(m any) error {
	d := grpcwire.Deferred{Msg: m}
	if err := s.ServerStream.RecvMsg(&d); err != nil {
		return err
	}
	return s.r.decodeError(s.method, d.Err)
}

// decodeError answers the codec's error for a request of method, or nil.
func (r Registrar) decodeError(method string, err error) error {
	if err == nil {
		return nil
	}
	md := []string{"method", method}
	var (
		tooLarge *grpcwire.TooLargeError
		bad      *grpcwire.DecodeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return statusError(codes.ResourceExhausted, ReasonDocumentTooLarge,
			fmt.Sprintf("request message of %d bytes over the limit of %d: MAX_DOCUMENT_BYTES (%d) of document and %d for the rest of the request",
				tooLarge.Size, tooLarge.Limit, r.MaxDocumentBytes, EnvelopeBytes),
			md)
	case errors.As(err, &bad) && bad.Field != "":
		return invalidArgument(bad.Field, "not a valid protobuf encoding: %v", bad.Err)
	}
	// Bytes that are not the message at all: no field can be named.
	return statusError(codes.InvalidArgument, ReasonInvalidRequest,
		fmt.Sprintf("the request is not a valid protobuf encoding of its message: %v", err), md)
}
