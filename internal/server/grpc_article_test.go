package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/articlepool"
	"github.com/riptidecrawler/riptide-poold/internal/server"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
)

// newArticlePool returns the native article pool of cfg, as internal/daemon
// makes it, closed on cleanup; nil for a nil cfg.
func newArticlePool(tb testing.TB, cfg *articlepool.Config) *articlepool.Pool {
	tb.Helper()
	if cfg == nil {
		return nil
	}
	c := *cfg
	c.Name = server.DefaultModule
	if c.MaxDocumentBytes == 0 {
		c.MaxDocumentBytes = 2 << 20
	}
	if c.MemoryLimitBytes == 0 {
		c.MemoryLimitBytes = 512 << 20
	}
	if c.Timeout == 0 {
		c.Timeout = time.Minute
	}
	if c.CheckoutTimeout == 0 {
		c.CheckoutTimeout = 5 * time.Second
	}
	c.MaxSelectors = server.MaxSelectors
	p, err := articlepool.New(context.Background(), c)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Pool.Close(ctx); err != nil {
			tb.Errorf("close article pool: %v", err)
		}
	})
	return p
}

const articlePage = `<!doctype html><html lang="en"><head><title>A title</title></head><body><article><h1>A title</h1>
<p>The first paragraph of the article has enough words to be the main content of the page, and then some more words.</p>
<p>A second paragraph, with <a href="/more">a link</a> and more text that a reader would want to read in full.</p>
</article></body></html>`

// wantArticle is what the bundled module answers for page and req, as a
// Struct.
func wantArticle(t *testing.T, page string, req article.Request) *structpb.Struct {
	t.Helper()
	res, err := article.Extract(page, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	st := new(structpb.Struct)
	if err := protojson.Unmarshal(b, st); err != nil {
		t.Fatal(err)
	}
	return st
}

func wasmRequest(html, mode string, selectors ...string) *poolv1.ExtractRequest {
	return &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: html},
		Url:      "https://example.com/a",
		Spec:     &poolv1.ExtractRequest_Wasm{Wasm: &poolv1.WasmSpec{Mode: mode, Selectors: selectors}},
	}
}

// TestGRPCArticleNative: with the native engine, the bundled module's name
// answers every mode as the module does, and ListExtractors and Health say
// which engine serves it.
func TestGRPCArticleNative(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{article: &articlepool.Config{}})
	ctx := context.Background()
	for _, mode := range []string{"", article.ModeArticle, article.ModeFull, article.ModeMetadata, article.ModeCustom} {
		var sels []string
		if mode == article.ModeCustom {
			sels = []string{"h1", "p a"}
		}
		resp, err := h.client.Extract(ctx, wasmRequest(articlePage, mode, sels...))
		if err != nil {
			t.Fatalf("mode %q: %v", mode, err)
		}
		want := wantArticle(t, articlePage, article.Request{URL: "https://example.com/a", Mode: mode, Selectors: sels})
		if !proto.Equal(resp.GetResult(), want) {
			t.Errorf("mode %q: result\n%v\nwant\n%v", mode, resp.GetResult(), want)
		}
		if resp.GetPool() != "article" || !strings.HasPrefix(resp.GetInstanceId(), "article-") || resp.GetFallback() {
			t.Errorf("mode %q: pool %q instance %q fallback %v", mode, resp.GetPool(), resp.GetInstanceId(), resp.GetFallback())
		}
	}

	list, err := h.client.ListExtractors(ctx, &poolv1.ListExtractorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	engines := map[string]poolv1.ExtractorEngine{}
	for _, e := range list.GetExtractors() {
		engines[e.GetPool()] = e.GetEngine()
		if e.GetPool() != "article" {
			continue
		}
		max := uint32(articlepool.MaxCalls(512<<20, 2<<20))
		if e.GetKind() != poolv1.ExtractorKind_EXTRACTOR_KIND_WASM || e.GetMaxDocumentBytes() != 2<<20 ||
			e.GetMaxInstances() != max || e.GetMinInstances() != max || len(e.GetModes()) != 4 ||
			!proto.Equal(e.GetExtractTimeout(), durationpb.New(time.Minute)) {
			t.Errorf("ListExtractors article = %v", e)
		}
	}
	wantEngines := map[string]poolv1.ExtractorEngine{
		"css":     poolv1.ExtractorEngine_EXTRACTOR_ENGINE_NATIVE,
		"regex":   poolv1.ExtractorEngine_EXTRACTOR_ENGINE_NATIVE,
		"article": poolv1.ExtractorEngine_EXTRACTOR_ENGINE_NATIVE,
	}
	for pool, want := range wantEngines {
		if engines[pool] != want {
			t.Errorf("ListExtractors: pool %q engine %v, want %v", pool, engines[pool], want)
		}
	}

	health, err := h.client.Health(ctx, &poolv1.HealthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range health.GetPools() {
		if p.GetPool() == "article" {
			found = true
			if p.GetEngine() != poolv1.ExtractorEngine_EXTRACTOR_ENGINE_NATIVE {
				t.Errorf("Health article engine %v", p.GetEngine())
			}
		}
	}
	if !found {
		t.Error("Health has no article pool")
	}
}

// TestGRPCArticleNativeErrors: each bound of the native engine answers the
// status the sandbox would for the same cause.
func TestGRPCArticleNativeErrors(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{article: &articlepool.Config{
		MaxDocumentBytes: 64 << 10,
		FailureThreshold: 100,
		Extract: func(page string, req article.Request) (*article.Result, error) {
			if strings.Contains(page, "<p>panic now") {
				panic("a bug in the extractor")
			}
			return article.Extract(page, req)
		},
	}})
	manySelectors := make([]string, server.MaxSelectors+1)
	for i := range manySelectors {
		manySelectors[i] = "p"
	}
	cases := []errorCase{
		{name: "unknown mode", req: wasmRequest(articlePage, "summary"),
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "wasm.mode"},
		{name: "bad selector", req: wasmRequest(articlePage, article.ModeCustom, "p["),
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "wasm.selectors[0]"},
		{name: "selector too costly", req: wasmRequest(strings.Repeat("<div>", 400), article.ModeCustom, "p", "div:has(div:has(div:has(span)))"),
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "wasm.selectors[1]"},
		{name: "too many selectors", req: wasmRequest(articlePage, article.ModeCustom, manySelectors...),
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "wasm.selectors"},
		{name: "blank document", req: wasmRequest(" \n ", ""),
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "wasm"},
		{name: "over the engine's document cap", req: wasmRequest("<p>"+strings.Repeat("x", 64<<10), ""),
			code: codes.ResourceExhausted, reason: server.ReasonDocumentTooLarge, pool: "article"},
		{name: "panic", req: wasmRequest("<p>panic now", ""),
			code: codes.Internal, reason: server.ReasonExtractorFailed, pool: "article"},
		{name: "nested too deep", req: wasmRequest(strings.Repeat("<div>", 600), ""),
			code: codes.Internal, reason: server.ReasonExtractorFailed, pool: "article"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.client.Extract(context.Background(), tc.req)
			tc.check(t, err)
		})
	}
	// A panic fails its call alone.
	if _, err := h.client.Extract(context.Background(), wasmRequest(articlePage, "")); err != nil {
		t.Errorf("a call after the panic: %v", err)
	}
}

// TestGRPCArticleNativeTimeout: a call past the engine's time limit is
// answered DEADLINE_EXCEEDED at once; its extraction runs on, holding its
// call slot, which Health shows, until it ends.
func TestGRPCArticleNativeTimeout(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	h := newGRPCHarness(t, grpcOptions{article: &articlepool.Config{
		Timeout:          50 * time.Millisecond,
		CheckoutTimeout:  50 * time.Millisecond,
		MemoryLimitBytes: 1, // one call at a time
		FailureThreshold: 100,
		Extract: func(page string, req article.Request) (*article.Result, error) {
			if strings.Contains(page, "<p>slow") {
				started <- struct{}{}
				<-release
			}
			return article.Extract(page, req)
		},
	}})
	ctx := context.Background()
	_, err := h.client.Extract(ctx, wasmRequest("<p>slow", ""))
	errorCase{code: codes.DeadlineExceeded, reason: server.ReasonExtractorTimeout, pool: "article"}.check(t, err)

	health, err := h.client.Health(ctx, &poolv1.HealthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range health.GetPools() {
		if p.GetPool() == "article" && (p.GetAbandonedRunning() != 1 || p.GetAbandonedTotal() != 1 || p.GetInUse() != 1) {
			t.Errorf("Health article = %v, want 1 abandoned call running, holding the one instance", p)
		}
	}
	// The slot is still taken: the next caller waits and is refused.
	_, err = h.client.Extract(ctx, wasmRequest(articlePage, ""))
	errorCase{code: codes.ResourceExhausted, reason: server.ReasonPoolExhausted, pool: "article"}.check(t, err)

	close(release)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if st := h.article.Stats(); st.Running == 0 && h.article.Pool.Stats().Idle == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the abandoned call never gave its slot back: %+v %+v", h.article.Stats(), h.article.Pool.Stats())
		}
	}
	if _, err := h.client.Extract(ctx, wasmRequest(articlePage, "")); err != nil {
		t.Errorf("a call once the slot is free: %v", err)
	}
}

// TestGRPCArticleNativeLease: the native article pool is leased under the
// module's name, and calls on the lease run on its extractor.
func TestGRPCArticleNativeLease(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{article: &articlepool.Config{}, leases: true})
	ctx := context.Background()
	co, err := h.client.Checkout(ctx, &poolv1.CheckoutRequest{Pool: "article"})
	if err != nil {
		t.Fatal(err)
	}
	req := wasmRequest(articlePage, article.ModeMetadata)
	req.LeaseId = co.GetLease().GetLeaseId()
	resp, err := h.client.Extract(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetInstanceId() != co.GetLease().GetInstanceId() {
		t.Errorf("served by %q, want the leased %q", resp.GetInstanceId(), co.GetLease().GetInstanceId())
	}
	if _, err := h.client.ReleaseLease(ctx, &poolv1.ReleaseLeaseRequest{LeaseId: req.LeaseId}); err != nil {
		t.Fatal(err)
	}
	if st := h.article.Pool.Stats(); st.InUse != 0 {
		t.Errorf("in use after release: %d", st.InUse)
	}
}
