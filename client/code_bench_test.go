package client

import (
	"context"
	"fmt"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
)

// cannedRPC answers every Extract with one response, without a network or
// a daemon, and keeps the request (so that building it is not optimized
// away). Its other methods are not used (nil interface).
type cannedRPC struct {
	poolv1.PoolServiceClient
	resp *poolv1.ExtractResponse
	req  *poolv1.ExtractRequest
}

func (r *cannedRPC) Extract(_ context.Context, req *poolv1.ExtractRequest, _ ...grpc.CallOption) (*poolv1.ExtractResponse, error) {
	r.req = req
	return r.resp, nil
}

// BenchmarkLibraryCode measures the client's own code per call, without
// the network and the daemon whose noise BenchmarkOverhead carries: the
// same css question answered by a canned response shaped as lemonde-1's
// (85 hrefs), through the stub's call (way=stub: build the request, call)
// and through the client (way=client: the size check, the deadline, the
// retry loop's first attempt, typed Values). The difference is what the
// library adds per call (docs/CLIENTS.md). grpc-go's work for the
// deadline (its timer and grpc-timeout header) is not in it: the network
// benchmark has it.
func BenchmarkLibraryCode(b *testing.B) {
	resp := &poolv1.ExtractResponse{
		Pool: "css", InstanceId: "css-1",
		Timing: &poolv1.Timing{QueueWait: durationpb.New(time.Microsecond), Extraction: durationpb.New(time.Millisecond),
			Total: durationpb.New(time.Millisecond)},
	}
	for i := range 85 {
		resp.Values = append(resp.Values, fmt.Sprintf("https://www.lemonde.fr/article/%d.html", i))
	}
	rpc := &cannedRPC{resp: resp}
	c := &caller{rpc: rpc, opts: &options{timeout: DefaultTimeout, maxAttempts: DefaultMaxAttempts,
		maxRetryDelay: DefaultMaxRetryDelay}}
	c.setLimits(&poolv1.Limits{MaxDocumentBytes: 10 << 20, MaxResultBytes: 16 << 20})
	page := string(make([]byte, 87454))
	ctx := context.Background()

	b.Run("way=stub", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := &poolv1.ExtractRequest{
				Document: &poolv1.ExtractRequest_Html{Html: page},
				Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "a", Attribute: "href", All: true}},
			}
			if _, err := rpc.Extract(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("way=client", func(b *testing.B) {
		b.ReportAllocs()
		doc := HTML(page, "")
		q := CSS{Selector: "a", Attribute: "href", All: true}
		for b.Loop() {
			v, err := c.css(ctx, doc, q, "")
			if err != nil || len(v.Values) != 85 {
				b.Fatal(v, err)
			}
		}
	})
}
