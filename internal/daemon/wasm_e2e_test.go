package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/article/quality"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// wasmCache is the compilation cache of every daemon the tests start, so
// that the bundled article module (the better part of a minute to compile
// under the race detector) is compiled once per run.
var wasmCache string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "daemon-test-wasm-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wasmCache = dir
	code := m.Run()
	os.RemoveAll(dir)
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
