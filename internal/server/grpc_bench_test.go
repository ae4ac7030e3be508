package server_test

import (
	"context"
	"testing"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/native"
)

// benchSpecs are the questions the corpus benchmark asks, as a scraper
// would: the title, every link, every paragraph's text.
var benchSpecs = []struct {
	name string
	spec *poolv1.CssSpec
}{
	{"title", &poolv1.CssSpec{Selector: "title"}},
	{"a-href-all", &poolv1.CssSpec{Selector: "a", Attribute: "href", All: true}},
	{"p-text-all", &poolv1.CssSpec{Selector: "p", All: true}},
}

// BenchmarkExtractCorpus compares one CSS extraction from the median page of
// the readability corpus along the paths a caller can take:
//
//   - inprocess: native.NewDocument and CSS.Select on an extractor checked
//     out of the same pool the server uses; no gRPC. The baseline: the
//     same work as the server's, token stream or tree.
//   - inprocess-tree: the same with Document.UseTree, so that every
//     question parses the tree (x/net/html + cascadia), as a Go caller
//     without this service would.
//   - handler: Service.Extract called directly; the server's own work
//     (validation, routing, response building) without a transport.
//   - grpc-bufconn: the real client and server over an in-memory
//     connection; adds the codec and HTTP/2 framing.
//   - grpc-loopback: the same over a 127.0.0.1 TCP socket; adds the kernel.
//   - grpc-unix: the same over a unix socket (GRPC_ADDR=unix:///path), the
//     choice for a client on the same host.
//   - grpc-loopback-goclient: loopback with a Go client configured with
//     grpcwire.DialOptions. The other paths' client keeps grpc-go's
//     defaults, as a client in any language would; the server always has
//     the daemon's grpcwire.ServerOptions.
//
// Besides wall time, each sub-benchmark reports cpu-ns/op, the process's CPU
// time per operation (server, client and GC goroutines included), which a
// busy shared machine distorts less. Compare with benchstat -col /path (the
// target is grpc-loopback at most 1.25x inprocess).
func BenchmarkExtractCorpus(b *testing.B) {
	pg := medianPage(b)
	bufconn := newGRPCHarness(b, grpcOptions{})
	loopback := newGRPCHarness(b, grpcOptions{network: "tcp"})
	unix := newGRPCHarness(b, grpcOptions{network: "unix"})
	tuned := newGRPCHarness(b, grpcOptions{network: "tcp", tunedClient: true})
	b.Logf("median page %s, %d bytes", pg.Name, len(pg.Source))

	for _, bs := range benchSpecs {
		req := &poolv1.ExtractRequest{Document: htmlDoc(pg.Source), Spec: cssReq(bs.spec)}
		spec := native.CSSSpec{
			Selector:  bs.spec.GetSelector(),
			Attribute: bs.spec.GetAttribute(),
			All:       bs.spec.GetAll(),
			Limit:     int(bs.spec.GetLimit()),
		}
		for _, p := range []struct {
			name string
			tree bool
		}{{"inprocess", false}, {"inprocess-tree", true}} {
			b.Run("spec="+bs.name+"/path="+p.name, func(b *testing.B) {
				np, limits := bufconn.native, bufconn.limits.Limits
				ctx := context.Background()
				b.SetBytes(int64(len(pg.Source)))
				b.ReportAllocs()
				defer reportCPU(b)()
				for b.Loop() {
					doc, err := native.NewDocument(pg.Source, limits)
					if err != nil {
						b.Fatal(err)
					}
					if p.tree {
						doc.UseTree()
					}
					h, err := np.CSS.Checkout(ctx)
					if err != nil {
						b.Fatal(err)
					}
					_, _, err = h.Value().Select(ctx, doc, spec)
					h.Release()
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run("spec="+bs.name+"/path=handler", func(b *testing.B) {
			ctx := context.Background()
			b.SetBytes(int64(len(pg.Source)))
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := bufconn.svc.Extract(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, p := range []struct {
			name string
			h    *grpcHarness
		}{{"grpc-bufconn", bufconn}, {"grpc-loopback", loopback}, {"grpc-unix", unix}, {"grpc-loopback-goclient", tuned}} {
			b.Run("spec="+bs.name+"/path="+p.name, func(b *testing.B) {
				ctx := context.Background()
				b.SetBytes(int64(len(pg.Source)))
				b.ReportAllocs()
				defer reportCPU(b)()
				for b.Loop() {
					if _, err := p.h.client.Extract(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// reportCPU starts measuring the process's CPU time; the function it
// returns reports it per operation as cpu-ns/op.
func reportCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		end, _ := processCPU()
		if ok && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
