// Package grpcwire provides the gRPC transport settings of a server that is
// sent whole web pages: a buffer pool sized for documents, flow-control
// windows that let a page arrive in one go, and a codec that hands the
// document of an ExtractRequest to the handler without copying it.
//
// grpc-go's defaults suit small messages. For an 87 KB page, the median of
// the readability corpus, the gRPC path cost about 40% on top of parsing
// the page itself (docs/BENCHMARKS.md). Two causes showed in CPU profiles:
// the default buffer pool's size classes jump from 32 KiB to 1 MiB and
// clear the whole buffer on every Get, and the protobuf codec copies the
// page out of the receive buffer into a new string, a fresh large
// allocation that the runtime has often just returned to the kernel. A
// third is by design rather than measured on its own: a page larger than
// the default 64 KiB stream window cannot be sent without the client
// waiting for a window update from the server.
//
// ServerOptions installs all three. Its codec and interceptor work as a
// pair: the codec decodes an ExtractRequest whose html or raw_html points
// into a pooled receive buffer, and the interceptor returns that buffer to
// the pool once the reply is encoded, so nothing that outlives the call can
// see the buffer again.
package grpcwire
