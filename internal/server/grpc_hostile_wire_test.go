package server_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/config"
	"github.com/riptidecrawler/riptide-poold/internal/grpcwire"
	"github.com/riptidecrawler/riptide-poold/internal/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// bytesCodec sends a call's bytes as they are, so that a test can put on
// the wire what no generated client would: truncated or random messages. It
// decodes a reply into a *[]byte.
type bytesCodec struct{}

func (bytesCodec) Name() string { return "proto" }

func (bytesCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}

func (bytesCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

// invokeRaw sends msg as the request of a unary method.
func invokeRaw(ctx context.Context, conn *grpc.ClientConn, method string, msg []byte) error {
	var reply []byte
	return conn.Invoke(ctx, method, msg, &reply, grpc.ForceCodecV2(bytesCodec{}))
}

// streamRaw sends msg as the request of a server-streaming method and
// returns the error the stream ends with (nil if it delivered a message).
func streamRaw(ctx context.Context, conn *grpc.ClientConn, method string, msg []byte) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method, grpc.ForceCodecV2(bytesCodec{}))
	if err != nil {
		return err
	}
	if err := st.SendMsg(msg); err != nil {
		return err
	}
	if err := st.CloseSend(); err != nil {
		return err
	}
	var reply []byte
	return st.RecvMsg(&reply)
}

// wireMsg builds protobuf bytes field by field.
type wireMsg []byte

func (w wireMsg) str(num protowire.Number, v string) wireMsg {
	w = protowire.AppendTag(w, num, protowire.BytesType)
	return protowire.AppendString(w, v)
}

func (w wireMsg) msg(num protowire.Number, m proto.Message) wireMsg {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return w.str(num, string(b))
}

// TestGRPCHostileWire sends messages that cannot be decoded, or are larger
// than the transport takes, through the real gRPC server: each is answered
// like any other bad request, with a status whose ErrorInfo names the
// reason, never grpc-go's bare INTERNAL or RESOURCE_EXHAUSTED. The cases
// are the shapes reported in issue 14: random bytes, a truncated varint, a
// length past the end, an html that is not UTF-8 followed by raw_html, and
// a message over the transport's limit; and documents at the limit and one
// byte over it.
func TestGRPCHostileWire(t *testing.T) {
	const maxDoc = 64 << 10
	cfg := config.Default()
	cfg.MaxDocumentBytes = maxDoc
	cfg.NativePoolSize = 2
	h := newGRPCHarness(t, grpcOptions{cfg: cfg, network: "tcp"})

	const (
		extract  = "/riptide.pool.v1.PoolService/Extract"
		checkout = "/riptide.pool.v1.PoolService/Checkout"
		events   = "/riptide.pool.v1.PoolService/PoolEvents"
	)
	spec := &poolv1.CssSpec{Selector: "p"}
	random := make([]byte, 4096)
	r := rand.New(rand.NewPCG(14, 4))
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	// padded is a document of exactly n bytes whose one <p> says "x".
	padded := func(n int) string {
		const p = "<p>x</p>"
		return p + strings.Repeat(" ", n-len(p))
	}
	overTransport := server.MaxRecvMessageBytes(maxDoc) + 1

	tests := []struct {
		name   string
		method string
		msg    []byte
		stream bool
		code   codes.Code
		reason string
		field  string // the BadRequest field, for INVALID_REQUEST from the handler
	}{
		{name: "random bytes", method: extract, msg: random,
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest},
		{name: "truncated varint", method: extract, msg: []byte{0x28, 0xff, 0xff},
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "css"},
		{name: "truncated tag", method: extract, msg: []byte{0x80},
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest},
		{name: "length past the end", method: extract, msg: append(protowire.AppendVarint([]byte{0x0a}, 1000), "<p>short</p>"...),
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "html"},
		{name: "spec length past the end", method: extract, msg: append(wireMsg{}.str(1, "<p>x</p>"), 0x2a, 0x40, 0x0a),
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "css"},
		{name: "html not UTF-8 then raw_html", method: extract, msg: wireMsg{}.str(1, "caf\xe9").str(2, "<p>x</p>").msg(5, spec),
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "html"},
		{name: "html not UTF-8", method: extract, msg: wireMsg{}.str(1, "<p>caf\xe9</p>").msg(5, spec),
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "html"},
		{name: "selector not UTF-8", method: extract, msg: wireMsg{}.str(1, "<p>x</p>").msg(5, &poolv1.CssSpec{Selector: "p"}).str(5, string(wireMsg{}.str(1, "\xff"))),
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest},
		{name: "end group without start", method: extract, msg: []byte{0x0c},
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest},
		{name: "message over the message limit", method: extract, msg: wireMsg{}.str(1, padded(overTransport)).msg(5, spec),
			code: codes.ResourceExhausted, reason: server.ReasonDocumentTooLarge},
		{name: "unknown fields over the transport limit", method: extract, msg: wireMsg{}.str(1, "<p>x</p>").str(1000, strings.Repeat("u", overTransport)),
			code: codes.ResourceExhausted, reason: server.ReasonDocumentTooLarge},
		// Past grpcwire.TransportLimit grpc-go refuses the message from its
		// length, before reading it, and answers with its own status: the
		// one error without an ErrorInfo (README, Errors).
		{name: "message over the transport's hard limit", method: extract,
			msg:  wireMsg{}.str(1, padded(grpcwire.TransportLimit(server.MaxRecvMessageBytes(maxDoc))+1)).msg(5, spec),
			code: codes.ResourceExhausted, reason: ""},
		{name: "html one byte over MAX_DOCUMENT_BYTES", method: extract, msg: wireMsg{}.str(1, padded(maxDoc+1)).msg(5, spec),
			code: codes.ResourceExhausted, reason: server.ReasonDocumentTooLarge},
		{name: "raw_html one byte over MAX_DOCUMENT_BYTES", method: extract, msg: wireMsg{}.str(2, padded(maxDoc+1)).msg(5, spec),
			code: codes.ResourceExhausted, reason: server.ReasonDocumentTooLarge},
		{name: "html of exactly MAX_DOCUMENT_BYTES", method: extract, msg: wireMsg{}.str(1, padded(maxDoc)).msg(5, spec)},
		{name: "raw_html of exactly MAX_DOCUMENT_BYTES", method: extract, msg: wireMsg{}.str(2, padded(maxDoc)).msg(5, spec)},
		{name: "Checkout of random bytes", method: checkout, msg: random,
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest},
		{name: "Checkout over the transport limit", method: checkout, msg: wireMsg{}.str(1, strings.Repeat("c", overTransport)),
			code: codes.ResourceExhausted, reason: server.ReasonDocumentTooLarge},
		{name: "PoolEvents of random bytes", method: events, msg: random, stream: true,
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest},
		{name: "PoolEvents truncated varint", method: events, msg: []byte{0x18, 0x80}, stream: true,
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest},
		{name: "unknown method of the service", method: "/riptide.pool.v1.PoolService/Transmogrify", msg: random,
			code: codes.Unimplemented, reason: server.ReasonUnknownMethod},
		{name: "unknown service", method: "/riptide.pool.v2.PoolService/Extract", msg: random,
			code: codes.Unimplemented, reason: server.ReasonUnknownMethod},
		{name: "unknown streaming method", method: "/riptide.pool.v1.PoolService/Events", msg: random, stream: true,
			code: codes.Unimplemented, reason: server.ReasonUnknownMethod},
		{name: "unknown method with a long path", method: "/" + strings.Repeat("s", 4000) + "/M", msg: random,
			code: codes.Unimplemented, reason: server.ReasonUnknownMethod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), hostileCallBound)
			defer cancel()
			var err error
			if tt.stream {
				err = streamRaw(ctx, h.conn, tt.method, tt.msg)
			} else {
				err = invokeRaw(ctx, h.conn, tt.method, tt.msg)
			}
			d := detailOf(err)
			if d.code != tt.code {
				t.Fatalf("code %v (%q), want %v", d.code, d.message, tt.code)
			}
			if tt.code == codes.OK {
				return
			}
			if len(d.message) > 1024 {
				t.Errorf("a %d-byte message: the answer to a caller's bytes must stay small", len(d.message))
			}
			if tt.reason == "" {
				if d.reason != "" {
					t.Errorf("ErrorInfo %q: this case was grpc-go's own status; update the README's error table", d.reason)
				}
				return
			}
			if d.reason != tt.reason || d.domain != server.ErrorDomain {
				t.Errorf("ErrorInfo %q in %q, want %q in %q (%q)", d.reason, d.domain, tt.reason, server.ErrorDomain, d.message)
			}
			if tt.field != "" && (len(d.fields) != 1 || d.fields[0] != tt.field) {
				t.Errorf("field violations %q, want [%q]", d.fields, tt.field)
			}
		})
	}

	// The daemon still serves after all that.
	resp, err := h.client.Extract(t.Context(), &poolv1.ExtractRequest{Document: htmlDoc("<p>ok</p>"), Spec: cssReq(spec)})
	if err != nil || len(resp.GetValues()) != 1 || resp.GetValues()[0] != "ok" {
		t.Fatalf("a good request after the hostile ones: %v, %v", resp.GetValues(), err)
	}
}
