package grpcwire

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
)

// wire builds a message from fields, each a tag and a value, so that tests
// can send what the Go client never would (repeated oneof members, odd
// orders, wrong wire types).
type wire []byte

func (w wire) bytes(num protowire.Number, v string) wire {
	w = protowire.AppendTag(w, num, protowire.BytesType)
	return protowire.AppendString(w, v)
}

func (w wire) varint(num protowire.Number, v uint64) wire {
	w = protowire.AppendTag(w, num, protowire.VarintType)
	return protowire.AppendVarint(w, v)
}

func (w wire) msg(num protowire.Number, m proto.Message) wire {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return w.bytes(num, string(b))
}

var css = &poolv1.CssSpec{Selector: "p", All: true}

// TestUnmarshalExtractMatchesProto checks that the in-place decoding gives
// the message proto.Unmarshal gives, for every shape of input.
func TestUnmarshalExtractMatchesProto(t *testing.T) {
	tests := []struct {
		name    string
		in      wire
		aliased bool // the document refers to the input
	}{
		{"html then spec", wire{}.bytes(1, "<p>a</p>").msg(5, css), true},
		{"spec then html", wire{}.msg(5, css).bytes(1, "<p>a</p>"), true},
		{"raw_html", wire{}.bytes(2, "<p>\xe9</p>").bytes(3, "text/html; charset=latin1").msg(5, css), true},
		{"html then raw_html: last wins", wire{}.bytes(1, "<p>a</p>").bytes(2, "<p>b</p>"), true},
		{"raw_html then html: last wins", wire{}.bytes(2, "<p>b</p>").bytes(1, "<p>a</p>"), true},
		{"html twice: last wins", wire{}.bytes(1, "first").bytes(1, "second"), true},
		{"empty html", wire{}.bytes(1, "").msg(5, css), false},
		{"empty raw_html", wire{}.bytes(2, ""), false},
		{"no document", wire{}.msg(5, css).bytes(9, "lease-1"), false},
		{"empty message", wire{}, false},
		{"all the small fields", wire{}.bytes(1, "<p>x</p>").bytes(3, "text/html").bytes(4, "https://example.com/").msg(5, css).bytes(9, "lease"), true},
		{"unknown fields kept", wire{}.varint(1000, 7).bytes(1, "<p>x</p>").bytes(1001, "u"), true},
		{"html with a wrong wire type is unknown", wire{}.bytes(1, "<p>x</p>").varint(1, 5), true},
		{"spec oneof, last wins", wire{}.msg(5, css).msg(6, &poolv1.RegexSpec{Pattern: "a+"}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := new(poolv1.ExtractRequest)
			if err := proto.Unmarshal(tt.in, want); err != nil {
				t.Fatalf("proto.Unmarshal: %v", err)
			}
			in := bytes.Clone(tt.in)
			got := new(poolv1.ExtractRequest)
			aliased, err := unmarshalExtract(in, got)
			if err != nil {
				t.Fatalf("unmarshalExtract: %v", err)
			}
			if !proto.Equal(want, got) {
				t.Errorf("got %v, proto.Unmarshal gives %v", prototext.Format(got), prototext.Format(want))
			}
			if aliased != tt.aliased {
				t.Errorf("aliased = %v, want %v", aliased, tt.aliased)
			}
			if aliased {
				// Scribble over the input: an aliased document must change.
				before := strings.Clone(docOf(got))
				for i := range in {
					in[i] = 'Z'
				}
				if docOf(got) == before {
					t.Errorf("document %q did not change with its buffer: not aliased", before)
				}
			}
		})
	}
}

func docOf(r *poolv1.ExtractRequest) string {
	if r.GetRawHtml() != nil {
		return string(r.GetRawHtml())
	}
	return r.GetHtml()
}

func TestUnmarshalExtractErrors(t *testing.T) {
	good := wire{}.bytes(1, "<p>a</p>").msg(5, css)
	tests := []struct {
		name string
		in   []byte
	}{
		{"truncated tag", []byte{0x80}},
		{"truncated html", good[:5]},
		{"truncated spec", good[:len(good)-1]},
		{"bad spec", wire{}.bytes(1, "<p>a</p>").bytes(5, "\xff\xff")},
		{"selector not UTF-8", wire{}.bytes(1, "x").msg(5, &poolv1.CssSpec{}).bytes(5, string(protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "\xff")))},
		{"field number zero", []byte{0x02, 0x00}},
		{"end group without start", []byte{0x0c}},
		{"replaced html not UTF-8", wire{}.bytes(1, "caf\xe9").bytes(1, "cafe")},
		{"html not UTF-8 replaced by raw_html", wire{}.bytes(1, "caf\xe9").bytes(2, "cafe")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := proto.Unmarshal(tt.in, new(poolv1.ExtractRequest)); err == nil {
				t.Fatalf("proto.Unmarshal accepts %x; the case is wrong", tt.in)
			}
			if _, err := unmarshalExtract(tt.in, new(poolv1.ExtractRequest)); err == nil {
				t.Errorf("unmarshalExtract(%x) = nil error, want one as proto.Unmarshal gives", tt.in)
			}
		})
	}
}

// TestUnmarshalExtractInvalidUTF8 pins the one difference from
// proto.Unmarshal: html that is not UTF-8 is let through for the handler to
// refuse with a field violation.
func TestUnmarshalExtractInvalidUTF8(t *testing.T) {
	in := wire{}.bytes(1, "caf\xe9").msg(5, css)
	if err := proto.Unmarshal(in, new(poolv1.ExtractRequest)); err == nil {
		t.Fatal("proto.Unmarshal accepts html that is not UTF-8")
	}
	got := new(poolv1.ExtractRequest)
	if _, err := unmarshalExtract(in, got); err != nil {
		t.Fatalf("unmarshalExtract: %v", err)
	}
	if got.GetHtml() != "caf\xe9" {
		t.Errorf("html = %q, want %q", got.GetHtml(), "caf\xe9")
	}
}

// TestCodecHoldsUntilInterceptor follows one buffer through the codec and
// the interceptor: held after Unmarshal, back in the pool after the reply.
func TestCodecHoldsUntilInterceptor(t *testing.T) {
	c := NewCodec(NewPool(1 << 20))
	page := bytes.Repeat([]byte("<p>page</p>"), 10_000)
	in := wire{}.bytes(1, string(page)).msg(5, css)
	// Two frames, as the transport delivers a large message.
	data := mem.BufferSlice{mem.SliceBuffer(in[:len(in)/2]), mem.SliceBuffer(in[len(in)/2:])}
	req := new(poolv1.ExtractRequest)
	if err := c.Unmarshal(data, req); err != nil {
		t.Fatal(err)
	}
	if n := c.heldBuffers(); n != 1 {
		t.Fatalf("held %d buffers after Unmarshal, want 1", n)
	}
	reply, err := c.UnaryInterceptor(t.Context(), req, nil, func(_ context.Context, r any) (any, error) {
		// A reply that shares bytes with the document.
		return &poolv1.ExtractResponse{Values: []string{r.(*poolv1.ExtractRequest).GetHtml()[:11]}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := c.heldBuffers(); n != 0 {
		t.Errorf("held %d buffers after the reply, want 0", n)
	}
	out, err := c.Marshal(reply)
	if err != nil {
		t.Fatal(err)
	}
	var resp poolv1.ExtractResponse
	if err := proto.Unmarshal(out.Materialize(), &resp); err != nil {
		t.Fatal(err)
	}
	if got := resp.GetValues(); len(got) != 1 || got[0] != "<p>page</p>" {
		t.Errorf("reply values %q, want [\"<p>page</p>\"]", got)
	}
	if req.GetDocument() != nil {
		t.Error("the request still refers to the released buffer")
	}
}

// TestCodecOtherMessages: anything but an ExtractRequest is plain proto.
func TestCodecOtherMessages(t *testing.T) {
	c := NewCodec(NewPool(1 << 20))
	want := &poolv1.CheckoutRequest{Pool: "css"}
	out, err := c.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got := new(poolv1.CheckoutRequest)
	if err := c.Unmarshal(out, got); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Errorf("round trip gave %v, want %v", got, want)
	}
	if n := c.heldBuffers(); n != 0 {
		t.Errorf("held %d buffers, want 0", n)
	}
	if _, err := c.Marshal("not a message"); err == nil {
		t.Error("Marshal of a string: no error")
	}
	if err := c.Unmarshal(out, new(int)); err == nil {
		t.Error("Unmarshal into *int: no error")
	}
}

// FuzzUnmarshalExtract compares the in-place decoding with proto.Unmarshal
// on any input: the same message or both failing, but for html that is not
// UTF-8, which only proto.Unmarshal refuses.
func FuzzUnmarshalExtract(f *testing.F) {
	f.Add([]byte(wire{}.bytes(1, "<p>a</p>").msg(5, css)))
	f.Add([]byte(wire{}.bytes(2, "<p>b</p>").bytes(1, "x").bytes(3, "text/html")))
	f.Add([]byte(wire{}.bytes(1, "caf\xe9").msg(6, &poolv1.RegexSpec{Pattern: "(a)"})))
	f.Add([]byte(wire{}.varint(1, 3).bytes(9, "lease")))
	f.Add([]byte{0x0a, 0x05, 'a'})
	f.Fuzz(func(t *testing.T, in []byte) {
		want := new(poolv1.ExtractRequest)
		wantErr := proto.Unmarshal(in, want)
		got := new(poolv1.ExtractRequest)
		_, err := unmarshalExtract(bytes.Clone(in), got)
		if err != nil {
			if wantErr == nil {
				t.Fatalf("unmarshalExtract fails (%v) where proto.Unmarshal does not", err)
			}
			return
		}
		if wantErr != nil {
			// Acceptable only when the html is what proto refused: with it
			// made valid, proto must agree.
			if html, ok := got.GetDocument().(*poolv1.ExtractRequest_Html); !ok || utf8.ValidString(html.Html) {
				t.Fatalf("unmarshalExtract accepts what proto.Unmarshal refuses: %v", wantErr)
			}
			return
		}
		if !proto.Equal(want, got) {
			t.Fatalf("got %v, proto.Unmarshal gives %v", prototext.Format(got), prototext.Format(want))
		}
	})
}

func memSlice(b []byte) mem.BufferSlice { return mem.BufferSlice{mem.SliceBuffer(b)} }

// TestCodecDeferred: decoding into a Deferred reports success to grpc-go
// and keeps the error, typed, for the handler; a message over the codec's
// bound is refused before it is decoded.
func TestCodecDeferred(t *testing.T) {
	good := wire{}.bytes(1, "<p>a</p>").msg(5, css)
	tests := []struct {
		name     string
		in       []byte
		into     proto.Message
		max      int
		field    string // the DecodeError's field; "" for none
		tooLarge bool
		ok       bool
	}{
		{name: "good", in: good, into: new(poolv1.ExtractRequest), ok: true},
		{name: "good at the bound", in: good, into: new(poolv1.ExtractRequest), max: len(good), ok: true},
		{name: "a byte over the bound", in: good, into: new(poolv1.ExtractRequest), max: len(good) - 1, tooLarge: true},
		{name: "other message over the bound", in: []byte(wire{}.bytes(1, "css")), into: new(poolv1.CheckoutRequest), max: 4, tooLarge: true},
		{name: "truncated tag", in: []byte{0x80}, into: new(poolv1.ExtractRequest)},
		{name: "html length past the end", in: good[:5], into: new(poolv1.ExtractRequest), field: "html"},
		{name: "spec length past the end", in: good[:len(good)-1], into: new(poolv1.ExtractRequest), field: "css"},
		{name: "replaced html not UTF-8", in: wire{}.bytes(1, "caf\xe9").bytes(2, "cafe"), into: new(poolv1.ExtractRequest), field: "html"},
		{name: "other message truncated", in: []byte{0x0a, 0x05, 'c'}, into: new(poolv1.CheckoutRequest)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCodec(NewPool(1 << 20))
			c.maxMessage = tt.max
			d := &Deferred{Msg: tt.into}
			if err := c.Unmarshal(memSlice(bytes.Clone(tt.in)), d); err != nil {
				t.Fatalf("Unmarshal into a Deferred returned %v; want nil and the error kept", err)
			}
			if tt.ok {
				if d.Err != nil {
					t.Fatalf("Deferred.Err = %v, want nil", d.Err)
				}
				if c.heldBuffers() == 1 {
					c.UnaryInterceptor(t.Context(), tt.into, nil, func(context.Context, any) (any, error) { return nil, nil })
				}
				return
			}
			var large *TooLargeError
			if got := errors.As(d.Err, &large); got != tt.tooLarge {
				t.Fatalf("Deferred.Err = %v: TooLargeError %v, want %v", d.Err, got, tt.tooLarge)
			}
			if tt.tooLarge {
				if large.Size != len(tt.in) || large.Limit != tt.max {
					t.Errorf("TooLargeError %+v, want size %d limit %d", large, len(tt.in), tt.max)
				}
				return
			}
			var bad *DecodeError
			if !errors.As(d.Err, &bad) {
				t.Fatalf("Deferred.Err = %v (%T), want a *DecodeError", d.Err, d.Err)
			}
			if bad.Field != tt.field || bad.Message != string(tt.into.ProtoReflect().Descriptor().FullName()) {
				t.Errorf("DecodeError %q field %q, want %q field %q", bad.Message, bad.Field, tt.into.ProtoReflect().Descriptor().FullName(), tt.field)
			}
			if n := c.heldBuffers(); n != 0 {
				t.Errorf("a failed decoding holds %d buffers", n)
			}
			// Without a Deferred the same error is returned, as grpc-go expects.
			if err := c.Unmarshal(memSlice(bytes.Clone(tt.in)), tt.into); err == nil {
				t.Error("Unmarshal without a Deferred: nil error")
			}
		})
	}
}
