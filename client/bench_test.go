package client_test

import (
	"context"
	"testing"

	"github.com/riptidecrawler/riptide-poold/client"
	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/testenv"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// BenchmarkOverhead measures what the client adds over the generated stub:
// the same css question about the corpus's median page, to the same
// daemon, through a plain grpc-go connection (raw) and through the client
// (docs/CLIENTS.md).
func BenchmarkOverhead(b *testing.B) {
	pages := testenv.CorpusPages(b)
	page := pages[len(pages)/2].Source
	d := startDaemon(b, "NATIVE_POOL_SIZE=4", "WASM_POOL_ENABLED=false")
	ctx := context.Background()

	b.Run("raw", func(b *testing.B) {
		conn, err := grpc.NewClient(d.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		stub := poolv1.NewPoolServiceClient(conn)
		b.ResetTimer()
		for b.Loop() {
			// As a caller of the stub would: a request per call.
			req := &poolv1.ExtractRequest{
				Document: &poolv1.ExtractRequest_Html{Html: page},
				Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "a", Attribute: "href", All: true}},
			}
			if _, err := stub.Extract(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("client", func(b *testing.B) {
		c := dial(b, d.addr)
		doc := client.HTML(page, "")
		q := client.CSS{Selector: "a", Attribute: "href", All: true}
		b.ResetTimer()
		for b.Loop() {
			if _, err := c.CSS(ctx, doc, q); err != nil {
				b.Fatal(err)
			}
		}
	})
}
