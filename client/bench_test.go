package client_test

import (
	"context"
	"os"
	"testing"

	"github.com/riptidecrawler/riptide-poold/client"
	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/testenv"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// overheadAddrEnv names a running daemon for BenchmarkOverhead; unset, the
// benchmark starts one in its own process, whose work then shares the
// process (and its garbage collector) with the client being measured.
const overheadAddrEnv = "RIPTIDE_OVERHEAD_ADDR"

// BenchmarkOverhead measures what the client adds over the generated stub
// (docs/CLIENTS.md): the same css question about the corpus's median page,
// to the same daemon, four ways:
//
//   - stub: the generated stub on the client's own connection
//     (Client.Raw), so with the same transport settings (buffer pool,
//     windows, round_robin, message sizes): what the library adds per call;
//   - client: Client.CSS;
//   - stock: the generated stub on a connection with grpc-go's defaults,
//     for what the client's transport settings change;
//   - twin: stub again, a control: its difference from stub is noise.
//
// The stub calls have no deadline; the client's have its 30 s default
// (DefaultTimeout), whose cost (a timer, the grpc-timeout header) counts
// as the client's.
//
// Each builds its request per call, as a caller would. For rounds that
// interleave the ways, run the test binary once per way and round
// (-test.bench 'Overhead/way=stub$', ...) and compare with benchstat -col
// /way, as scripts/clients-overhead.sh does.
func BenchmarkOverhead(b *testing.B) {
	pages := testenv.CorpusPages(b)
	page := pages[len(pages)/2].Source
	addr := os.Getenv(overheadAddrEnv)
	outside := addr != ""
	if !outside {
		addr = startDaemon(b, "NATIVE_POOL_SIZE=4", "WASM_POOL_ENABLED=false").addr
	}
	ctx := context.Background()
	c := dial(b, addr)
	stock, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer stock.Close()

	doc := client.HTML(page, "")
	q := client.CSS{Selector: "a", Attribute: "href", All: true}
	stubCall := func(stub poolv1.PoolServiceClient) error {
		req := &poolv1.ExtractRequest{
			Document: &poolv1.ExtractRequest_Html{Html: page},
			Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "a", Attribute: "href", All: true}},
		}
		_, err := stub.Extract(ctx, req)
		return err
	}
	ways := []struct {
		name string
		call func() error
	}{
		{"way=stub", func() error { return stubCall(c.Raw()) }},
		{"way=client", func() error { _, err := c.CSS(ctx, doc, q); return err }},
		{"way=stock", func() error { return stubCall(poolv1.NewPoolServiceClient(stock)) }},
		// The stub again: what its ratio to stub moves by is the noise.
		{"way=twin", func() error { return stubCall(c.Raw()) }},
	}
	// Warm every way up first (connections, the daemon's pools, the
	// buffer pools), so that the first one measured is not the one that
	// pays for it.
	for range 20 {
		for _, w := range ways {
			if err := w.call(); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, w := range ways {
		b.Run(w.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0, _ := processCPU()
			for b.Loop() {
				if err := w.call(); err != nil {
					b.Fatal(err)
				}
			}
			// The process's CPU time per call: with an outside daemon, the
			// client's own work, which other processes on a shared machine
			// move less than they move the wall time.
			if cpu1, ok := processCPU(); ok && outside {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
