package grpcwire

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
)

// echoService answers Extract with pieces of the document itself, the
// worst case for a codec that lends the document out of a pooled buffer:
// if the buffer went back to the pool before the reply was encoded, another
// call's page would show through.
type echoService struct {
	poolv1.UnimplementedPoolServiceServer
}

func (echoService) Extract(_ context.Context, req *poolv1.ExtractRequest) (*poolv1.ExtractResponse, error) {
	// Give other calls time to take and overwrite the buffer, were it
	// released too early.
	time.Sleep(time.Millisecond)
	html := req.GetHtml()
	if strings.HasPrefix(html, "fail") {
		return nil, status.Error(codes.InvalidArgument, "asked to fail")
	}
	return &poolv1.ExtractResponse{Values: []string{html[:16], html[len(html)-16:]}}, nil
}

// TestServerNoBufferReuse sends many different pages concurrently, large
// enough to span several HTTP/2 frames, and checks each answer is from its
// own page and that no buffer is left held.
func TestServerNoBufferReuse(t *testing.T) {
	codec := NewCodec(NewPool(4 << 20))
	srv := grpc.NewServer(serverOptions(codec)...)
	poolv1.RegisterPoolServiceServer(srv, echoService{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), append(DialOptions(4<<20),
		grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := poolv1.NewPoolServiceClient(conn)

	const workers, calls = 8, 40
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range calls {
				head := fmt.Sprintf("<p>%04d-%04d..", w, i) // 16 bytes
				// 33 to 63 KB: one size class, so buffers are shared.
				size := 33_000 + (w*calls+i)*90
				page := head + strings.Repeat("x", size) + fmt.Sprintf("..%04d-%04d</p>", i, w)
				if i%7 == 3 {
					page = "fail" + page
				}
				resp, err := client.Extract(t.Context(), &poolv1.ExtractRequest{
					Document: &poolv1.ExtractRequest_Html{Html: page},
				})
				if i%7 == 3 {
					if status.Code(err) != codes.InvalidArgument {
						t.Errorf("call %d/%d: %v, want InvalidArgument", w, i, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("call %d/%d: %v", w, i, err)
					return
				}
				want := []string{page[:16], page[len(page)-16:]}
				if got := resp.GetValues(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
					t.Errorf("call %d/%d: values %q, want %q", w, i, got, want)
				}
			}
		})
	}
	wg.Wait()
	if n := codec.heldBuffers(); n != 0 {
		t.Errorf("%d receive buffers still held after every call returned", n)
	}
}

// TestInterceptorReplyNotUTF8: html that is not UTF-8 passes the codec;
// a handler that echoes it into a reply gets INTERNAL from the interceptor,
// which still releases the buffer.
func TestInterceptorReplyNotUTF8(t *testing.T) {
	codec := NewCodec(NewPool(1 << 20))
	in := wire{}.bytes(1, "caf\xe9 au lait, a long enough page").msg(5, css)
	req := new(poolv1.ExtractRequest)
	if err := codec.Unmarshal(memSlice(in), req); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if _, err := codec.UnaryInterceptor(t.Context(), req, nil, echoHandler); err == nil {
		t.Error("a reply with invalid UTF-8 was encoded without error")
	} else if status.Code(err) != codes.Internal {
		t.Errorf("encoding error %v, want Internal", err)
	}
	if n := codec.heldBuffers(); n != 0 {
		t.Errorf("%d buffers held", n)
	}
}

func echoHandler(ctx context.Context, req any) (any, error) {
	return echoService{}.Extract(ctx, req.(*poolv1.ExtractRequest))
}
