package grpcwire

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
)

// errInvalidUTF8 is proto.Unmarshal's complaint, for an html field that a
// later document field replaces.
var errInvalidUTF8 = errors.New("string field contains invalid UTF-8")

// Field numbers of ExtractRequest's document oneof (proto/riptide/pool/v1).
const (
	fieldHTML    protowire.Number = 1
	fieldRawHTML protowire.Number = 2
)

// Codec is a grpc-go CodecV2 named "proto", a drop-in for grpc-go's own,
// that decodes an ExtractRequest's document in place.
//
// The document's bytes stay in the pooled buffer the message was received
// into: html becomes a string and raw_html a slice over that buffer, and
// the buffer is held until Codec.UnaryInterceptor has encoded the reply.
// Every other field, and every other message, is decoded by proto.Unmarshal
// as grpc-go would.
//
// One difference is on purpose: html is not checked for UTF-8 here, so that
// the handler can answer a request whose html is not UTF-8 with
// INVALID_ARGUMENT naming the field, where grpc-go's codec fails the call
// with an INTERNAL "error unmarshalling request". The handler must check.
type Codec struct {
	pool *Pool
	// maxMessage bounds a received message; 0 means no bound. See
	// TooLargeError.
	maxMessage int

	mu   sync.Mutex
	held map[*poolv1.ExtractRequest]mem.Buffer
}

// NewCodec returns a Codec that takes its buffers from pool and accepts
// messages of any size the transport lets through.
func NewCodec(pool *Pool) *Codec {
	return &Codec{pool: pool, held: make(map[*poolv1.ExtractRequest]mem.Buffer)}
}

// Deferred is a decoding target that keeps the decoding error.
//
// A codec error never reaches the service: grpc-go answers it itself, as
// INTERNAL "failed to unmarshal", inside RecvMsg, before any handler or
// interceptor can map it. A handler that wants to answer a malformed
// request as the caller's fault passes a *Deferred around its message to
// the decoding function instead: Codec.Unmarshal decodes into Msg, keeps
// any error in Err, and reports success to grpc-go, leaving the answer to
// the handler. Only this package's Codec knows Deferred; with any other
// codec every call fails.
type Deferred struct {
	Msg any   // the message to decode into
	Err error // the decoding error; nil when Msg was decoded
}

// DecodeError is a message that could not be decoded. Field names the
// field at fault when the codec can tell, as the API's field paths do
// ("html"); it is empty when the message as a whole is unreadable.
type DecodeError struct {
	Message string // the message's full name, e.g. riptide.pool.v1.ExtractRequest
	Field   string
	Err     error
}

func (e *DecodeError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s field %s: %v", e.Message, e.Field, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Message, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// TooLargeError is a received message over the Codec's bound. The codec
// has a bound of its own, below the transport's, so that a message a
// little too large is answered by the handler, with the API's reason,
// rather than by grpc-go.
type TooLargeError struct {
	Size, Limit int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("message of %d bytes over the limit of %d bytes", e.Size, e.Limit)
}

// Name is the codec's content subtype, the one every gRPC client uses.
func (c *Codec) Name() string { return "proto" }

// Marshal encodes v into a pooled buffer, or hands over the bytes that
// UnaryInterceptor encoded already.
func (c *Codec) Marshal(v any) (mem.BufferSlice, error) {
	if e, ok := v.(*encoded); ok {
		return mem.BufferSlice{mem.NewBuffer(e.buf, c.pool)}, nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("grpcwire: cannot marshal %T, not a proto.Message", v)
	}
	buf, err := c.marshal(m)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.NewBuffer(buf, c.pool)}, nil
}

// marshal encodes m into a buffer from the pool.
func (c *Codec) marshal(m proto.Message) (*[]byte, error) {
	// Size then UseCachedSize, as grpc-go's codec does, so the message is
	// walked for its size once.
	opts := proto.MarshalOptions{UseCachedSize: true}
	buf := c.pool.Get(opts.Size(m))
	out, err := opts.MarshalAppend((*buf)[:0], m)
	if err != nil {
		c.pool.Put(buf)
		return nil, err
	}
	*buf = out
	return buf, nil
}

// Unmarshal decodes data into v. For a *Deferred, it decodes into its Msg
// and keeps the error there, returning nil.
func (c *Codec) Unmarshal(data mem.BufferSlice, v any) error {
	if d, ok := v.(*Deferred); ok {
		d.Err = c.unmarshal(data, d.Msg)
		return nil
	}
	return c.unmarshal(data, v)
}

func (c *Codec) unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("grpcwire: cannot unmarshal into %T, not a proto.Message", v)
	}
	if n := data.Len(); c.maxMessage > 0 && n > c.maxMessage {
		return &TooLargeError{Size: n, Limit: c.maxMessage}
	}
	buf := data.MaterializeToBuffer(c.pool)
	req, ok := v.(*poolv1.ExtractRequest)
	if !ok {
		defer buf.Free()
		if err := proto.Unmarshal(buf.ReadOnlyData(), m); err != nil {
			return &DecodeError{Message: string(m.ProtoReflect().Descriptor().FullName()), Err: err}
		}
		return nil
	}
	aliased, err := unmarshalExtract(buf.ReadOnlyData(), req)
	if err != nil || !aliased {
		buf.Free()
		return err
	}
	c.mu.Lock()
	c.held[req] = buf
	c.mu.Unlock()
	return nil
}

// unmarshalExtract decodes wire into req, with html or raw_html pointing
// into wire. It reports whether req refers to wire.
//
// The document fields are cut out of the message and the rest, a few
// hundred bytes of spec, goes through proto.Unmarshal. Proto semantics are
// kept: of several document fields the last one wins, an html replaced by
// a later one must still be UTF-8, and a field with a number of the oneof
// but a wire type that is not length-delimited is left to proto.Unmarshal,
// which keeps it as an unknown field.
func unmarshalExtract(wire []byte, req *poolv1.ExtractRequest) (bool, error) {
	var (
		rest    []byte
		docNum  protowire.Number
		doc     []byte
		scanned = wire
	)
	for len(scanned) > 0 {
		num, typ, n := protowire.ConsumeTag(scanned)
		if n < 0 {
			return false, extractError(0, protowire.ParseError(n))
		}
		if (num == fieldHTML || num == fieldRawHTML) && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(scanned[n:])
			if m < 0 {
				return false, extractError(num, protowire.ParseError(m))
			}
			// proto.Unmarshal checks every html it decodes, even one a later
			// field replaces; only the html that stays is left to the handler.
			if docNum == fieldHTML && !utf8.Valid(doc) {
				return false, extractError(fieldHTML, errInvalidUTF8)
			}
			docNum, doc = num, v
			scanned = scanned[n+m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, scanned[n:])
		if m < 0 {
			return false, extractError(num, protowire.ParseError(m))
		}
		rest = append(rest, scanned[:n+m]...)
		scanned = scanned[n+m:]
	}
	if err := proto.Unmarshal(rest, req); err != nil {
		return false, extractError(0, err)
	}
	switch {
	case docNum == fieldHTML:
		req.Document = &poolv1.ExtractRequest_Html{Html: unsafe.String(unsafe.SliceData(doc), len(doc))}
	case docNum == fieldRawHTML:
		// A present but empty raw_html is set (not nil) as proto does.
		req.Document = &poolv1.ExtractRequest_RawHtml{RawHtml: doc[:len(doc):len(doc)]}
	default:
		return false, nil
	}
	return len(doc) > 0, nil
}

// extractError is a DecodeError of an ExtractRequest, naming the field of
// number num when it is one of the message's (0: none).
func extractError(num protowire.Number, err error) error {
	desc := (*poolv1.ExtractRequest)(nil).ProtoReflect().Descriptor()
	e := &DecodeError{Message: string(desc.FullName()), Err: err}
	if f := desc.Fields().ByNumber(num); f != nil {
		e.Field = string(f.Name())
	}
	return e
}

// encoded is a reply that UnaryInterceptor has already encoded.
type encoded struct{ buf *[]byte }

// UnaryInterceptor must be the outermost unary interceptor of a server that
// uses the Codec (ServerOptions sees to that). For an ExtractRequest whose
// document the codec left in a receive buffer, it runs the call, encodes the
// reply, and only then returns the buffer to the pool, since the reply may
// share bytes with the document (a regular-expression match is a substring
// of it). For every other call it does nothing.
func (c *Codec) UnaryInterceptor(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	r, ok := req.(*poolv1.ExtractRequest)
	if !ok {
		return handler(ctx, req)
	}
	c.mu.Lock()
	buf, ok := c.held[r]
	delete(c.held, r)
	c.mu.Unlock()
	if !ok {
		return handler(ctx, req)
	}
	defer buf.Free()
	// The request must not be used once the buffer is back in the pool;
	// drop the document so a stray reference reads nothing, not another
	// call's page.
	defer func() { r.Document = nil }()

	resp, err := handler(ctx, req)
	if err != nil {
		// Status messages are built with fmt from the request's small fields
		// and never quote the document, so err needs no copy.
		return nil, err
	}
	m, ok := resp.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("grpcwire: reply %T is not a proto.Message", resp)
	}
	b, err := c.marshal(m)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encoding the reply: %v", err)
	}
	return &encoded{buf: b}, nil
}

// heldBuffers returns how many receive buffers are held for calls in
// progress: zero when the server is idle.
func (c *Codec) heldBuffers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.held)
}
