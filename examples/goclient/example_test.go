package goclient_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/url"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/durationpb"
)

const page = `<!doctype html>
<html><head><title>Tide tables</title></head>
<body><h1>Tide tables</h1>
<p>High water at 06:12 and 18:40.</p>
<a href="/north">North shore</a> <a href="south.html">South shore</a>
<a href="https://example.org/charts">Charts</a>
</body></html>`

const pageURL = "https://tides.example.com/today/"

// Extract a page's title and every link from one parse of the page, with a
// fields request. (addr is where the daemon listens, e.g. 127.0.0.1:50051
// or unix:///var/run/riptide/poold.sock; here a daemon started for the
// example.)
func Example() {
	addr, stop := startDaemon()
	defer stop()

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := poolv1.NewPoolServiceClient(conn)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	css := func(spec *poolv1.CssSpec) *poolv1.FieldSpec {
		return &poolv1.FieldSpec{Spec: &poolv1.FieldSpec_Css{Css: spec}}
	}
	resp, err := client.Extract(ctx, &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: page},
		Url:      pageURL,
		Spec: &poolv1.ExtractRequest_Fields{Fields: &poolv1.FieldsSpec{Fields: map[string]*poolv1.FieldSpec{
			"title": css(&poolv1.CssSpec{Selector: "title"}),
			"links": css(&poolv1.CssSpec{Selector: "a[href]", Attribute: "href", All: true}),
		}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("title:", resp.GetFields()["title"].GetValues()[0])
	// CSS answers attributes as written: resolve them against the page.
	base, _ := url.Parse(pageURL)
	for _, href := range resp.GetFields()["links"].GetValues() {
		u, err := base.Parse(href)
		if err != nil {
			continue
		}
		fmt.Println("link:", u)
	}
	// Output:
	// title: Tide tables
	// link: https://tides.example.com/north
	// link: https://tides.example.com/today/south.html
	// link: https://example.org/charts
}

// leaseAndExtract leases a css extractor, runs two extractions on it, renews
// the lease and releases it. It answers the instances that served the
// extractions and the leased instance.
func leaseAndExtract(ctx context.Context, client poolv1.PoolServiceClient) (served []string, leased string, err error) {
	co, err := client.Checkout(ctx, &poolv1.CheckoutRequest{Pool: "css", Ttl: durationpb.New(30 * time.Second)})
	if err != nil {
		return nil, "", err
	}
	lease := co.GetLease()
	defer func() {
		// Release even when an extraction failed, so the instance goes
		// back to its pool now rather than when the lease expires.
		_, rerr := client.ReleaseLease(context.WithoutCancel(ctx), &poolv1.ReleaseLeaseRequest{LeaseId: lease.GetLeaseId()})
		if err == nil {
			err = rerr
		}
	}()
	for _, selector := range []string{"h1", "p"} {
		resp, err := client.Extract(ctx, &poolv1.ExtractRequest{
			Document: &poolv1.ExtractRequest_Html{Html: page},
			Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: selector}},
			LeaseId:  lease.GetLeaseId(),
		})
		if err != nil {
			return nil, "", err
		}
		served = append(served, resp.GetInstanceId())
	}
	if _, err := client.RenewLease(ctx, &poolv1.RenewLeaseRequest{LeaseId: lease.GetLeaseId(), Ttl: durationpb.New(time.Minute)}); err != nil {
		return nil, "", err
	}
	return served, lease.GetInstanceId(), nil
}

// Lease an instance of the css pool and run several extractions on it: one
// instance serves them all, one caller at a time.
func Example_lease() {
	addr, stop := startDaemon()
	defer stop()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	served, leased, err := leaseAndExtract(context.Background(), poolv1.NewPoolServiceClient(conn))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("leased", leased, "served by", served)
}

// article reads the page with the bundled WebAssembly module "article".
func article(ctx context.Context, client poolv1.PoolServiceClient) (map[string]any, error) {
	resp, err := client.Extract(ctx, &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: page},
		Url:      pageURL,
		Spec:     &poolv1.ExtractRequest_Wasm{Wasm: &poolv1.WasmSpec{Module: "article", Mode: "article"}},
	})
	if err != nil {
		return nil, err
	}
	return resp.GetResult().AsMap(), nil
}

// Read a page as an article (title, text, links, metadata) with the bundled
// WebAssembly module. The result is the module's JSON as a
// google.protobuf.Struct.
func Example_article() {
	addr, stop := startDaemon()
	defer stop()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	a, err := article(context.Background(), poolv1.NewPoolServiceClient(conn))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a["title"], a["word_count"])
}

// watchCheckouts subscribes to the css pool's checkout events, causes some
// with extractions, and answers the kinds of the first n events.
func watchCheckouts(ctx context.Context, client poolv1.PoolServiceClient, n int) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.PoolEvents(ctx, &poolv1.PoolEventsRequest{
		Kinds: []poolv1.EventKind{poolv1.EventKind_EVENT_KIND_INSTANCE_CHECKED_OUT, poolv1.EventKind_EVENT_KIND_INSTANCE_RETURNED},
		Pools: []string{"css"},
	})
	if err != nil {
		return nil, err
	}
	go func() {
		// The subscription starts when the server sees the request; keep
		// causing events until the caller has enough.
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				client.Extract(ctx, &poolv1.ExtractRequest{
					Document: &poolv1.ExtractRequest_Html{Html: page},
					Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "h1"}},
				})
			}
		}
	}()
	var kinds []string
	for len(kinds) < n {
		resp, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return kinds, err
		}
		switch resp.GetEvent().GetKind().(type) {
		case *poolv1.PoolEvent_InstanceCheckedOut:
			kinds = append(kinds, "checked_out")
		case *poolv1.PoolEvent_InstanceReturned:
			kinds = append(kinds, "returned")
		default:
			kinds = append(kinds, fmt.Sprintf("%T", resp.GetEvent().GetKind()))
		}
	}
	return kinds, nil
}

// Subscribe to pool events: here, instances of the css pool going out and
// coming back.
func Example_events() {
	addr, stop := startDaemon()
	defer stop()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kinds, err := watchCheckouts(ctx, poolv1.NewPoolServiceClient(conn), 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(kinds)
}
