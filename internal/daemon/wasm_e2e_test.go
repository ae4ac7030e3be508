package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/riptidecrawler/riptide-poold/internal/testenv"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/article/quality"
	"github.com/riptidecrawler/riptide-poold/internal/breaker"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"github.com/riptidecrawler/riptide-poold/internal/server"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasm/bundled"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// wasmCache is the compilation cache of every daemon the tests start, so
// that the bundled article module (the better part of a minute to compile
// under the race detector) is compiled once per run.
var wasmCache string

func TestMain(m *testing.M) {
	dir, cleanup, err := testenv.CompilationCacheDir("daemon-test-wasm-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wasmCache = dir
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// wasmEnv is baseEnv with the WebAssembly pools on, small, sharing the
// tests' compilation cache, and with modulesDir (if not empty) as
// WASM_MODULES_DIR. Settings in extra win.
func wasmEnv(modulesDir string, extra ...string) []string {
	env := append(extra,
		"WASM_POOL_ENABLED=true",
		"WASM_POOL_SIZE=1",
		"WASM_MAX_INSTANCES=2",
		"WASM_COMPILATION_CACHE_DIR="+wasmCache,
	)
	if modulesDir != "" {
		env = append(env, "WASM_MODULES_DIR="+modulesDir)
	}
	return baseEnv(env...)
}

// modulesDir makes a WASM_MODULES_DIR holding the named test modules: those
// of internal/wasm/testdata (see their .wat sources) and of testdata.
func modulesDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range names {
		copyModule(t, dir, name, name)
	}
	return dir
}

// copyModule copies the test module src into dir as <dst>.wasm.
func copyModule(t *testing.T, dir, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "wasm", "testdata", src+".wasm"))
	if os.IsNotExist(err) {
		b, err = os.ReadFile(filepath.Join("testdata", src+".wasm"))
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, dst+".wasm"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func wasmRequest(module, mode, html string, selectors ...string) *poolv1.ExtractRequest {
	return &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: html},
		Url:      "https://example.com/a/page.html",
		Spec: &poolv1.ExtractRequest_Wasm{Wasm: &poolv1.WasmSpec{
			Module: module, Mode: mode, Selectors: selectors,
		}},
	}
}

func cssRequest(html, selector string) *poolv1.ExtractRequest {
	return &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: html},
		Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: selector}},
	}
}

// fieldViolations lists the fields of an error's BadRequest detail.
func fieldViolations(err error) []string {
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

// retryDelay returns an error's RetryInfo delay, and whether it has one.
func retryDelay(err error) (time.Duration, bool) {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration(), true
		}
	}
	return 0, false
}

// wantStatus fails the test unless err has the code and ErrorInfo reason.
func wantStatus(t *testing.T, what string, err error, code codes.Code, reason string) {
	t.Helper()
	if got := status.Code(err); got != code || errorReason(err) != reason {
		t.Errorf("%s: %v (reason %q), want %v %s", what, err, errorReason(err), code, reason)
	}
}

// poolStats returns one pool's stats from GetMetrics.
func poolStats(t *testing.T, client poolv1.PoolServiceClient, pool string) *poolv1.PoolStats {
	t.Helper()
	resp, err := client.GetMetrics(context.Background(), &poolv1.GetMetricsRequest{Pools: []string{pool}})
	if err != nil || len(resp.GetPools()) != 1 {
		t.Fatalf("GetMetrics(%s): %v %v", pool, resp, err)
	}
	return resp.GetPools()[0]
}

// waitFor polls cond until it holds; the bound is generous, and no test
// asserts how long anything takes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const articlePage = `<!DOCTYPE html><html lang="en"><head><title>Warm pools | The Extractor</title>
<meta property="og:site_name" content="The Extractor"><meta name="author" content="Ada Writer"></head>
<body><nav><a href="/">Home</a></nav><article><h1>Warm pools</h1>
<p class="lede">Keeping extractors warm in pools saves the cost of starting them for every request, which
matters when a crawler sends thousands of pages a minute.</p>
<p>A pool hands an instance to one caller at a time and takes it back when the call is over. When an
instance misbehaves it is thrown away and a new one takes its place, so that one bad document never
poisons the next caller's answer. <a href="/more">Read more</a></p>
<p>Memory is the other budget: a WebAssembly instance's memory only grows, so the daemon recycles the
ones that grew too large.</p></article><footer>© 2025</footer></body></html>`

// TestWASMExtractArticleModes asks the bundled module for each of its modes
// through the real daemon, on an inline page and on a page of the corpus.
func TestWASMExtractArticleModes(t *testing.T) {
	s := start(t, wasmEnv(""))
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()

	tests := []struct {
		mode      string
		selectors []string
		keys      []string // result keys that must be there
	}{
		{mode: "", keys: []string{"title", "text", "links", "word_count"}},
		{mode: "article", keys: []string{"title", "text", "content_html", "markdown", "links", "quality_score"}},
		{mode: "full", keys: []string{"title", "text", "links"}},
		{mode: "metadata", keys: []string{"title", "lang", "site_name"}},
		{mode: "custom", selectors: []string{"h1", "p.lede"}, keys: []string{"title"}},
	}
	for _, tt := range tests {
		t.Run("inline/"+cmp(tt.mode, "default"), func(t *testing.T) {
			resp, err := client.Extract(ctx, wasmRequest("", tt.mode, articlePage, tt.selectors...))
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if resp.GetPool() != "article" || resp.GetFallback() || resp.GetInstanceId() == "" {
				t.Errorf("pool %q fallback %v instance %q", resp.GetPool(), resp.GetFallback(), resp.GetInstanceId())
			}
			res := resp.GetResult().AsMap()
			for _, k := range tt.keys {
				if _, ok := res[k]; !ok {
					t.Errorf("result lacks %q: %v", k, res)
				}
			}
			if title, _ := res["title"].(string); !strings.Contains(title, "Warm pools") {
				t.Errorf("title = %q", title)
			}
			if tt.mode == "metadata" {
				if text, _ := res["text"].(string); text != "" {
					t.Errorf("metadata mode returned body text %q", text)
				}
			}
			if tt.mode == "article" {
				if text, _ := res["text"].(string); !strings.Contains(text, "recycles the ones that grew") {
					t.Errorf("article text lacks the main content: %q", text)
				}
			}
		})
	}

	t.Run("corpus", func(t *testing.T) {
		dir, ok := quality.FindCorpus(filepath.Join("..", "..", "..", "shared", "corpus", "readability"))
		if !ok {
			t.Skip("no readability corpus at ../../../shared/corpus/readability or $RIPTIDE_CORPUS_DIR")
		}
		pages, err := os.ReadDir(dir)
		if err != nil || len(pages) == 0 {
			t.Fatalf("corpus %s: %v", dir, err)
		}
		page := filepath.Join(dir, pages[0].Name())
		src, err := quality.Source(page)
		if err != nil {
			t.Fatal(err)
		}
		var expected struct {
			Title string `json:"title"`
		}
		b, err := os.ReadFile(filepath.Join(page, "expected-metadata.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &expected); err != nil {
			t.Fatal(err)
		}
		for _, mode := range []string{"article", "full", "metadata", "custom"} {
			var sel []string
			if mode == "custom" {
				sel = []string{"title", "h1"}
			}
			resp, err := client.Extract(ctx, wasmRequest("article", mode, src, sel...))
			if err != nil {
				t.Errorf("%s on %s: %v", mode, pages[0].Name(), err)
				continue
			}
			if mode == "article" {
				if got, _ := resp.GetResult().AsMap()["title"].(string); got != expected.Title {
					t.Errorf("article title of %s = %q, want %q", pages[0].Name(), got, expected.Title)
				}
			}
		}
	})
}

func cmp(s, ifEmpty string) string {
	if s == "" {
		return ifEmpty
	}
	return s
}

// TestWASMInvalidRequests checks the statuses of requests that name no
// module or mode the daemon has.
func TestWASMInvalidRequests(t *testing.T) {
	s := start(t, wasmEnv(""))
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()

	_, err := client.Extract(ctx, wasmRequest("nosuchmodule", "", articlePage))
	wantStatus(t, "unknown module", err, codes.InvalidArgument, "INVALID_REQUEST")
	if f := fieldViolations(err); !slices.Contains(f, "wasm.module") {
		t.Errorf("unknown module: field violations %v, want wasm.module", f)
	}

	_, err = client.Extract(ctx, wasmRequest("article", "summary", articlePage))
	wantStatus(t, "unknown mode", err, codes.InvalidArgument, "INVALID_REQUEST")
	if f := fieldViolations(err); len(f) == 0 || !strings.HasPrefix(f[0], "wasm") {
		t.Errorf("unknown mode: field violations %v, want wasm", f)
	}

	// Neither is the module's fault: its instance was kept.
	st := poolStats(t, client, "article")
	if st.GetDestroyed()["discarded"] != 0 || st.GetBreakerState() != poolv1.BreakerState_BREAKER_STATE_CLOSED {
		t.Errorf("article pool after bad requests: destroyed %v breaker %v", st.GetDestroyed(), st.GetBreakerState())
	}
}

// TestHostileModules loads the hostile test modules from WASM_MODULES_DIR
// and checks that each is contained: the caller gets the contract's status,
// the instance is replaced, the other pools keep serving, the modules that
// do not follow the ABI are refused at load, and no goroutine is left.
func TestHostileModules(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() { checkGoroutinesSettle(t, before) }) // after the daemon's own cleanup

	dir := modulesDir(t, "loop", "trap", "bomb", "oob", "exit", "noexport", "badversion", "badimport")
	s := start(t, wasmEnv(dir,
		"WASM_EXTRACT_TIMEOUT_MS=1500",
		"CB_FAILURE_THRESHOLD=100", // the breakers are another test's business
		"NATIVE_POOL_SIZE=1",
	))
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()

	list, err := client.ListExtractors(ctx, &poolv1.ListExtractorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var pools []string
	for _, e := range list.GetExtractors() {
		pools = append(pools, e.GetPool())
	}
	for _, want := range []string{"css", "regex", "article", "loop", "trap", "bomb", "oob", "exit"} {
		if !slices.Contains(pools, want) {
			t.Errorf("ListExtractors lists %v, missing %s", pools, want)
		}
	}
	for _, refused := range []string{"noexport", "badversion", "badimport"} {
		if slices.Contains(pools, refused) {
			t.Errorf("ListExtractors lists %s, a module that does not follow the ABI", refused)
		}
		_, err := client.Extract(ctx, wasmRequest(refused, "", "<p>x</p>"))
		wantStatus(t, "Extract on refused module "+refused, err, codes.InvalidArgument, "INVALID_REQUEST")
	}

	tests := []struct {
		module string
		code   codes.Code
		reason string
	}{
		{"loop", codes.DeadlineExceeded, "EXTRACTOR_TIMEOUT"},
		{"trap", codes.Internal, "EXTRACTOR_FAILED"},
		{"bomb", codes.Internal, "EXTRACTOR_FAILED"},
		{"oob", codes.Internal, "EXTRACTOR_FAILED"},
		{"exit", codes.Internal, "EXTRACTOR_FAILED"},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			_, err := client.Extract(ctx, wasmRequest(tt.module, "", "<p>hostile</p>"))
			wantStatus(t, tt.module, err, tt.code, tt.reason)

			// The other pools are unaffected.
			if _, err := client.Extract(ctx, wasmRequest("article", "metadata", articlePage)); err != nil {
				t.Errorf("article after %s: %v", tt.module, err)
			}
			if resp, err := client.Extract(ctx, cssRequest(articlePage, "h1")); err != nil || len(resp.GetValues()) != 1 {
				t.Errorf("css after %s: %v %v", tt.module, resp, err)
			}

			// The failed instance was destroyed and a new one made.
			waitFor(t, tt.module+"'s instance is replaced", func() bool {
				st := poolStats(t, client, tt.module)
				return st.GetDestroyed()["discarded"] >= 1 && st.GetCreated() >= 2 && st.GetIdle() >= 1
			})
		})
	}

	// The daemon as a whole is still healthy enough to serve.
	h, err := client.Health(ctx, &poolv1.HealthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if h.GetLevel() == poolv1.HealthLevel_HEALTH_LEVEL_CRITICAL {
		t.Errorf("health after contained failures: %v %v", h.GetLevel(), h.GetReasons())
	}
	if err := s.stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// checkGoroutinesSettle fails the test unless the goroutine count comes
// back to at most before.
func checkGoroutinesSettle(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("%d goroutines left running, %d before the test:\n%s", n, before, buf)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// circuitChange matches CircuitStateChanged events of a pool.
func circuitChange(pool string) func(*poolv1.PoolEvent) bool {
	return func(e *poolv1.PoolEvent) bool { return e.GetCircuitStateChanged() != nil && e.GetPool() == pool }
}

// TestBreakerCycle drives a module that fails on demand (echo: a document
// that does not start with "{" makes it return a result outside its memory)
// through its breaker's states, twice: open, half-open, closed by a good
// probe; open, half-open, open again by a bad one. A PoolEvents subscriber
// sees each change in order, and requests refused while open get
// UNAVAILABLE CIRCUIT_OPEN with RetryInfo.
func TestBreakerCycle(t *testing.T) {
	dir := modulesDir(t, "echo")
	s := start(t, wasmEnv(dir,
		"CB_FAILURE_THRESHOLD=2", "CB_SUCCESS_THRESHOLD=1", "CB_TIMEOUT_MS=300",
		"HEALTH_CHECK_INTERVAL_MS=100", // the health report reads the breakers, which half-open lazily
	))
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()
	ev, _ := subscribe(t, s, s.conn, &poolv1.PoolEventsRequest{
		Kinds: []poolv1.EventKind{poolv1.EventKind_EVENT_KIND_CIRCUIT_STATE_CHANGED},
		Pools: []string{"echo"},
	}, true)
	bad := wasmRequest("echo", "", "not json, read as a result pointer")
	good := wasmRequest("echo", "", `{"ok":{"fine":true}}`)
	const (
		closed   = poolv1.BreakerState_BREAKER_STATE_CLOSED
		open     = poolv1.BreakerState_BREAKER_STATE_OPEN
		halfOpen = poolv1.BreakerState_BREAKER_STATE_HALF_OPEN
	)
	expect := func(from, to poolv1.BreakerState) {
		t.Helper()
		e := ev.next(t, "CircuitStateChanged", circuitChange("echo")).GetCircuitStateChanged()
		if e.GetFrom() != from || e.GetTo() != to {
			t.Fatalf("CircuitStateChanged %v -> %v, want %v -> %v", e.GetFrom(), e.GetTo(), from, to)
		}
	}
	trip := func() {
		t.Helper()
		for i := range 2 {
			_, err := client.Extract(ctx, bad)
			wantStatus(t, fmt.Sprintf("failure %d", i+1), err, codes.Internal, "EXTRACTOR_FAILED")
		}
		_, err := client.Extract(ctx, good)
		wantStatus(t, "request while open", err, codes.Unavailable, "CIRCUIT_OPEN")
		if d, ok := retryDelay(err); !ok || d <= 0 || d > 300*time.Millisecond {
			t.Errorf("RetryInfo delay %v (present %v), want in (0, 300ms]", d, ok)
		}
		expect(closed, open)
		expect(open, halfOpen)
		// Probe on a ready instance, not on one made for the probe.
		waitFor(t, "echo has an idle instance", func() bool { return poolStats(t, client, "echo").GetIdle() >= 1 })
	}

	trip()
	if resp, err := client.Extract(ctx, good); err != nil || resp.GetFallback() {
		t.Fatalf("good probe: %v %v", resp, err)
	}
	expect(halfOpen, closed)

	trip()
	_, err := client.Extract(ctx, bad)
	wantStatus(t, "bad probe", err, codes.Internal, "EXTRACTOR_FAILED")
	expect(halfOpen, open)
}

// TestFallbackWhileArticleBreakerOpen trips the bundled module's breaker
// directly (the module cannot be made to fail from outside) and serves the
// PoolService over it: a "custom" request, which is CSS selectors only, is
// answered natively with fallback set, the other modes get CIRCUIT_OPEN,
// and the health report, with the only pool's breaker open, is CRITICAL.
func TestFallbackWhileArticleBreakerOpen(t *testing.T) {
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.RuntimeConfig{CompilationCacheDir: wasmCache, ExtractTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	set := wasmpool.New(wasmpool.Config{
		Runtime: rt, MinSize: 0, MaxSize: 1,
		FailureThreshold: 2, SuccessThreshold: 1, OpenTimeout: time.Hour,
	})
	t.Cleanup(func() {
		set.Close(ctx)
		rt.Close(ctx)
	})
	p, err := set.Add(ctx, bundled.ArticleName, bundled.Article(), wasm.ModuleOptions{Trusted: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		p.Breaker.Do(func() error { return fmt.Errorf("injected: %w", wasm.ErrTrap) })
	}
	if st := p.Breaker.State(); st != breaker.StateOpen {
		t.Fatalf("breaker %v after two injected traps", st)
	}

	svc := server.New(server.Config{Version: "test", WASM: set, Limits: server.Limits{Limits: native.DefaultLimits()}})
	gs := grpc.NewServer()
	poolv1.RegisterPoolServiceServer(gs, svc)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := poolv1.NewPoolServiceClient(conn)

	resp, err := client.Extract(ctx, wasmRequest("", "custom", articlePage, "h1", "p.lede"))
	if err != nil {
		t.Fatalf("custom while open: %v", err)
	}
	if !resp.GetFallback() || resp.GetPool() != "article" {
		t.Errorf("custom while open: fallback %v pool %q, want a native fallback", resp.GetFallback(), resp.GetPool())
	}
	if title, _ := resp.GetResult().AsMap()["title"].(string); !strings.Contains(title, "Warm pools") {
		t.Errorf("fallback result %v", resp.GetResult().AsMap())
	}
	for _, mode := range []string{"", "article", "full", "metadata"} {
		_, err := client.Extract(ctx, wasmRequest("article", mode, articlePage))
		wantStatus(t, "mode "+mode+" while open", err, codes.Unavailable, "CIRCUIT_OPEN")
		if d, ok := retryDelay(err); !ok || d <= 0 {
			t.Errorf("mode %q: RetryInfo delay %v (present %v)", mode, d, ok)
		}
	}
	if st := p.Pool.Stats(); st.Created != 0 {
		t.Errorf("%d instances made while the breaker was open", st.Created)
	}

	h, err := client.Health(ctx, &poolv1.HealthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if h.GetLevel() != poolv1.HealthLevel_HEALTH_LEVEL_CRITICAL || len(h.GetPools()) != 1 ||
		h.GetPools()[0].GetBreakerState() != poolv1.BreakerState_BREAKER_STATE_OPEN {
		t.Errorf("health with the only breaker open: %v", h)
	}
}

// TestMemoryPressure drives the WebAssembly memory over the threshold with
// the grow module (one page per byte of the document): the daemon publishes
// MemoryPressure, sweeps (GcCompleted), refuses new instances with
// MEMORY_LIMIT_EXCEEDED while pressure is high, and recovers once the sweep
// recycles the instance that grew.
func TestMemoryPressure(t *testing.T) {
	dir := modulesDir(t, "grow")
	s := start(t, wasmEnv(dir,
		"WASM_POOL_SIZE=0", // no instance until asked for: the budget is all the grow module's
		"WASM_MEMORY_LIMIT_MB=32",
		"MEMORY_PRESSURE_THRESHOLD=0.2", // 6.4 MiB
		"WASM_INSTANCE_MEMORY_LIMIT_MB=32",
		"WASM_RECYCLE_MEMORY_MB=16",    // 8 MiB under pressure
		"HEALTH_CHECK_INTERVAL_MS=100", // and so the pressure watch
	))
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()
	ev, _ := subscribe(t, s, s.conn, &poolv1.PoolEventsRequest{
		Kinds: []poolv1.EventKind{poolv1.EventKind_EVENT_KIND_MEMORY_PRESSURE, poolv1.EventKind_EVENT_KIND_GC_COMPLETED},
	}, true)
	pressure := func() float64 {
		resp, err := client.GetMetrics(ctx, &poolv1.GetMetricsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetMemory().GetPressure()
	}

	// A lease holds the grow module's instance, so that the sweep cannot
	// recycle it and a second grow call needs an instance of its own. It
	// grows by 17 MiB: over the threshold and over the module's share of
	// the budget (32 MiB over two modules: docs/wasm-abi.md, Shares).
	lease, err := client.Checkout(ctx, &poolv1.CheckoutRequest{Pool: "grow", Ttl: durationpb.New(time.Minute)})
	if err != nil {
		t.Fatalf("Checkout grow: %v", err)
	}
	grow := wasmRequest("grow", "", strings.Repeat("x", 272))
	grow.LeaseId = lease.GetLease().GetLeaseId()
	if _, err := client.Extract(ctx, grow); err != nil {
		t.Fatalf("grow by 17 MiB: %v", err)
	}
	if p := pressure(); p < 0.2 || p >= 1 {
		t.Fatalf("pressure %.2f after growing 17 MiB of 32, want in [0.2, 1)", p)
	}
	e := ev.next(t, "MemoryPressure", func(e *poolv1.PoolEvent) bool { return e.GetMemoryPressure() != nil })
	if e.GetMemoryPressure().GetLevel() != poolv1.MemoryPressureLevel_MEMORY_PRESSURE_LEVEL_HIGH || e.GetMemoryPressure().GetPressure() < 0.2 {
		t.Errorf("MemoryPressure = %v, want HIGH over 0.2", e.GetMemoryPressure())
	}
	ev.next(t, "GcCompleted", func(e *poolv1.PoolEvent) bool { return e.GetGcCompleted() != nil })

	// While high, a module over its share gets no new instance. (A module
	// under its share still would: internal/wasmpool/shares_test.go.)
	_, err = client.Extract(ctx, wasmRequest("grow", "", "x"))
	wantStatus(t, "a new instance over the module's share under pressure", err, codes.ResourceExhausted, "MEMORY_LIMIT_EXCEEDED")
	if h, err := client.Health(ctx, &poolv1.HealthRequest{}); err != nil || h.GetMemoryPressure() < 0.2 || h.GetMemoryUsageMb() < 6 {
		t.Errorf("health under pressure: %v %v", h, err)
	}

	// Released, the instance is past the recycling line (8 MiB under
	// pressure); the sweep (ForceGC or the daemon's own) recycles it and
	// the pressure falls.
	if _, err := client.ReleaseLease(ctx, &poolv1.ReleaseLeaseRequest{LeaseId: lease.GetLease().GetLeaseId()}); err != nil {
		t.Fatalf("ReleaseLease: %v", err)
	}
	waitFor(t, "the pressure falls", func() bool {
		resp, err := client.ForceGC(ctx, &poolv1.ForceGCRequest{})
		switch {
		case err == nil:
			return resp.GetAfter().GetPressure() < 0.2
		case errorReason(err) == "RATE_LIMITED":
			time.Sleep(100 * time.Millisecond)
			return pressure() < 0.2
		default:
			t.Fatalf("ForceGC: %v", err)
			return false
		}
	})
	e = ev.next(t, "MemoryPressure back to normal", func(e *poolv1.PoolEvent) bool {
		return e.GetMemoryPressure().GetLevel() == poolv1.MemoryPressureLevel_MEMORY_PRESSURE_LEVEL_NORMAL
	})
	resp, err := client.GetMetrics(ctx, &poolv1.GetMetricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if m := resp.GetMemory(); m.GetInstancesRecycled() == 0 || m.GetGcCount() == 0 || m.GetPeakMb() < 10 {
		t.Errorf("memory stats after recovery: %v", m)
	}
	if _, err := client.Extract(ctx, wasmRequest("article", "metadata", articlePage)); err != nil {
		t.Errorf("new instance after recovery: %v", err)
	}
}

// TestHealthReport checks the Health RPC of a daemon with WebAssembly pools:
// every pool with its breaker, the memory in use, and SERVING.
func TestHealthReport(t *testing.T) {
	s := start(t, wasmEnv(modulesDir(t, "echo"), "HEALTH_CHECK_INTERVAL_MS=100"))
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()
	var h *poolv1.HealthResponse
	waitFor(t, "the warm instances count in memory", func() bool {
		var err error
		h, err = client.Health(ctx, &poolv1.HealthRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return h.GetMemoryUsageMb() > 0
	})
	if h.GetLevel() != poolv1.HealthLevel_HEALTH_LEVEL_HEALTHY || h.GetScore() < 80 || h.GetVersion() != "test" || h.GetUptime().AsDuration() <= 0 {
		t.Errorf("health = %v", h)
	}
	var pools []string
	for _, p := range h.GetPools() {
		pools = append(pools, p.GetPool())
		if p.GetBreakerState() != poolv1.BreakerState_BREAKER_STATE_CLOSED {
			t.Errorf("pool %s breaker %v", p.GetPool(), p.GetBreakerState())
		}
	}
	for _, want := range []string{"css", "regex", "article", "echo"} {
		if !slices.Contains(pools, want) {
			t.Errorf("health pools %v lack %s", pools, want)
		}
	}
	if st, err := healthpb.NewHealthClient(s.conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || st.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("grpc.health.v1: %v %v", st, err)
	}
}

// TestNotServingWhenEveryBreakerOpen opens the breaker of every pool (the
// native pools off; article, under a stack bound too small for the page it
// is given, fails with "stack limit reached"; echo fails on a document it
// cannot answer) and checks that the health level is CRITICAL and
// grpc.health.v1 goes NOT_SERVING. The article failure does not depend on
// the machine's speed, as a timeout would: a page deep enough needs the
// same stack on any machine. (A document too large for article's memory
// does not serve either: it is the caller's fault, DOCUMENT_TOO_LARGE,
// which no breaker counts.)
func TestNotServingWhenEveryBreakerOpen(t *testing.T) {
	s := start(t, wasmEnv(modulesDir(t, "echo"),
		"NATIVE_POOL_ENABLED=false",
		// The smallest bound the daemon takes: the article guest's start
		// needs 4 to 6 MiB of it (docs/wasm-abi.md, Limits), the page
		// below about 24.
		"WASM_MAX_STACK_KB=16384",
		"CB_FAILURE_THRESHOLD=2", "CB_TIMEOUT_MS=3600000",
		"HEALTH_CHECK_INTERVAL_MS=100",
	))
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()
	// Lists nested 480 elements deep (240 of ul and li each), under the
	// host's depth limit of 512 open elements.
	deep := "<html><body>" + strings.Repeat("<ul><li>item", 240) + "</body></html>"
	for range 2 {
		_, err := client.Extract(ctx, wasmRequest("echo", "", "not json"))
		wantStatus(t, "echo", err, codes.Internal, "EXTRACTOR_FAILED")
		// Out of its stack: the module's fault, which the breaker
		// counts.
		_, err = client.Extract(ctx, wasmRequest("article", "article", deep))
		wantStatus(t, "article", err, codes.Internal, "EXTRACTOR_FAILED")
		if err != nil && !strings.Contains(err.Error(), "stack limit") {
			t.Errorf("article on a page deeper than its stack bound: %v, want the stack limit named", err)
		}
	}
	hc := healthpb.NewHealthClient(s.conn)
	waitFor(t, "NOT_SERVING", func() bool {
		st, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		return err == nil && st.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING
	})
	h, err := client.Health(ctx, &poolv1.HealthRequest{})
	if err != nil || h.GetLevel() != poolv1.HealthLevel_HEALTH_LEVEL_CRITICAL {
		t.Errorf("health with every breaker open: %v %v", h, err)
	}
}
