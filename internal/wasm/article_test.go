package wasm_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/article/quality"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasm/dataseg"
	"google.golang.org/protobuf/types/known/structpb"
)

// TestBundledDataSegmentsJoined checks that the bundled module was built by
// scripts/build-guest.sh, which joins the tens of thousands of data segments
// Go's linker writes: wazero walks them on every instantiation.
func TestBundledDataSegmentsJoined(t *testing.T) {
	_, st, err := dataseg.Merge(readArticle(t), 1024)
	if err != nil {
		t.Fatal(err)
	}
	if st.Before > 100 {
		t.Errorf("the bundled module has %d data segments: rebuild it with scripts/build-guest.sh", st.Before)
	}
}

// loadArticle loads the bundled article module.
func loadArticle(t testing.TB, rt *wasm.Runtime, trusted bool) *wasm.Module {
	t.Helper()
	return loadArticleWith(t, rt, wasm.ModuleOptions{Trusted: trusted})
}

func loadArticleWith(t testing.TB, rt *wasm.Runtime, opts wasm.ModuleOptions) *wasm.Module {
	t.Helper()
	m, err := rt.Load(context.Background(), "article", readArticle(t), opts)
	if err != nil {
		t.Fatalf("Load(article): %v", err)
	}
	return m
}

const lorem = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua, ut enim ad minim veniam, quis nostrud exercitation ullamco laboris."

// samplePage is a small article page, for when the corpus is absent.
var samplePage = `<!DOCTYPE html><html lang="en"><head><title>The Title - Example</title>
<meta property="og:site_name" content="Example"><meta name="author" content="Jane Doe"></head>
<body><nav><a href="/home">Home</a></nav><article><h1>The Title</h1>
<p>First. ` + lorem + ` <a href="rel/one.html">a link</a></p><p>Second. ` + lorem + `<img src="a.png" alt="A"></p>
<p>Third. ` + lorem + `</p></article><footer>Copyright</footer></body></html>`

// wasmResult decodes a result of the article module.
func wasmResult(t testing.TB, st *structpb.Struct) *article.Result {
	t.Helper()
	return jsonResult(t, []byte(asJSON(st)))
}

// jsonResult decodes an article result's JSON.
func jsonResult(t testing.TB, b []byte) *article.Result {
	t.Helper()
	var res article.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("the result is not an article.Result: %v\n%s", err, b)
	}
	return &res
}

// nativeResult is what article.Extract answers, through JSON as the guest's
// is, so that the two compare field by field.
func nativeResult(t testing.TB, page string, req article.Request) *article.Result {
	t.Helper()
	res, err := article.Extract(page, req)
	if err != nil {
		t.Fatalf("article.Extract: %v", err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return jsonResult(t, b)
}

func TestArticleModule(t *testing.T) {
	checkGoroutines(t)
	rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: time.Minute})
	m := loadArticle(t, rt, true)
	if !reflect.DeepEqual(m.Modes(), article.Modes()) || m.ABIVersion() != 1 || !m.TakesTree() {
		t.Errorf("modes %q, version %d, takes tree %v; want %q, 1, true", m.Modes(), m.ABIVersion(), m.TakesTree(), article.Modes())
	}
	i := newInstance(t, m)
	ctx := context.Background()
	const url = "https://example.com/news/story.html"

	t.Run("modes", func(t *testing.T) {
		for _, mode := range append([]string{""}, article.Modes()...) {
			req := article.Request{URL: url, Mode: mode}
			if mode == article.ModeCustom {
				req.Selectors = []string{"h1", "article p:first-of-type"}
			}
			got, err := i.Extract(ctx, wasm.Request{HTML: samplePage, URL: req.URL, Mode: req.Mode, Selectors: req.Selectors})
			if err != nil {
				t.Fatalf("mode %q: %v", mode, err)
			}
			if want := nativeResult(t, samplePage, req); !reflect.DeepEqual(wasmResult(t, got), want) {
				t.Errorf("mode %q: WASM and native differ:\nwasm   %s\nnative %+v", mode, asJSON(got), want)
			}
		}
	})

	t.Run("caller errors", func(t *testing.T) {
		for _, req := range []wasm.Request{
			{HTML: samplePage, Mode: "nope"},
			{HTML: samplePage, Mode: article.ModeCustom, Selectors: []string{"p[["}},
			{HTML: "   ", Mode: article.ModeArticle},
		} {
			_, err := i.Extract(ctx, req)
			var g *wasm.GuestError
			if !errors.As(err, &g) || !g.InvalidArgument() || g.Message == "" {
				t.Errorf("Extract(mode %q, selectors %q) error = %v; want a *GuestError INVALID_ARGUMENT", req.Mode, req.Selectors, err)
			}
		}
		if !i.IsHealthy(ctx) {
			t.Error("unhealthy after caller errors")
		}
	})

	// A document the host's parser refuses is refused, as the native
	// pools refuse it, before the guest sees it; a blank one goes to
	// riptide_extract as HTML, for the module's own answer.
	t.Run("documents sent as HTML", func(t *testing.T) {
		deep := strings.Repeat("<div>", 600) + "x" // over x/net/html's 512 open elements
		_, err := i.Extract(ctx, wasm.Request{HTML: deep})
		if !errors.Is(err, wasm.ErrDocumentUnparsable) {
			t.Errorf("600 nested elements: error %v; want ErrDocumentUnparsable", err)
		}
		var g *wasm.GuestError
		_, err = i.Extract(ctx, wasm.Request{HTML: " \n\t "})
		if !errors.As(err, &g) || !g.InvalidArgument() || !strings.Contains(g.Message, article.ErrEmptyDocument.Error()) {
			t.Errorf("a blank document: error %v; want the guest's INVALID_ARGUMENT %v", err, article.ErrEmptyDocument)
		}
		if !i.IsHealthy(ctx) {
			t.Error("unhealthy after documents sent as HTML")
		}
	})

	t.Run("sequential", func(t *testing.T) {
		want := nativeResult(t, samplePage, article.Request{URL: url})
		for n := range 200 {
			got, err := i.Extract(ctx, wasm.Request{HTML: samplePage, URL: url})
			if err != nil {
				t.Fatalf("extraction %d: %v", n, err)
			}
			if n%50 == 0 && !reflect.DeepEqual(wasmResult(t, got), want) {
				t.Fatalf("extraction %d differs from native", n)
			}
		}
		if !i.IsHealthy(ctx) || i.LinearMemoryBytes() > rt.MemoryLimitBytes() {
			t.Errorf("after 200 extractions: healthy %v, memory %d", i.IsHealthy(ctx), i.LinearMemoryBytes())
		}
	})

	t.Run("reset", func(t *testing.T) {
		if err := i.Reset(ctx); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		if _, err := i.Extract(ctx, wasm.Request{HTML: samplePage, URL: url}); err != nil {
			t.Fatalf("Extract after Reset: %v", err)
		}
	})
}

func TestArticleConcurrentInstances(t *testing.T) {
	checkGoroutines(t)
	rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: time.Minute})
	m := loadArticle(t, rt, true)
	want := nativeResult(t, samplePage, article.Request{Mode: article.ModeFull})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			i, err := m.NewInstance(context.Background())
			if err != nil {
				errs <- err
				return
			}
			defer i.Close()
			for range 10 {
				got, err := i.Extract(context.Background(), wasm.Request{HTML: samplePage, Mode: article.ModeFull})
				if err != nil {
					errs <- err
					return
				}
				var res article.Result
				if err := json.Unmarshal([]byte(asJSON(got)), &res); err != nil || !reflect.DeepEqual(&res, want) {
					errs <- errors.New("a concurrent result differs from native")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestArticleTimeout stops the article module mid-extraction at the
// caller's deadline: an untrusted instance is interrupted, a trusted one is
// abandoned and ends on its own (which checkGoroutines waits for).
func TestArticleTimeout(t *testing.T) {
	page := strings.Repeat(samplePage, 200) // a few hundred ms of work
	for _, trusted := range []bool{false, true} {
		t.Run(map[bool]string{false: "untrusted", true: "trusted"}[trusted], func(t *testing.T) {
			checkGoroutines(t)
			rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: time.Minute})
			i := newInstance(t, loadArticle(t, rt, trusted))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
			defer cancel()
			_, err := i.Extract(ctx, wasm.Request{HTML: page})
			if !errors.Is(err, wasm.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Extract error = %v; want ErrTimeout", err)
			}
			if i.IsHealthy(context.Background()) {
				t.Error("healthy after a timeout")
			}
		})
	}
}

// TestArticleQualityInSandbox extracts every corpus page through the sandbox
// and natively: the results must be the same, and so the quality scores.
func TestArticleQualityInSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: every corpus page through the sandbox")
	}
	dir := corpusDir(t)
	pages, err := quality.Pages(dir)
	if err != nil {
		t.Fatal(err)
	}
	rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: time.Minute})
	i := newInstance(t, loadArticle(t, rt, true))
	var sandboxed, native []quality.PageScore
	for _, page := range pages {
		src, err := quality.Source(page)
		if err != nil {
			t.Fatal(err)
		}
		got, err := i.Extract(context.Background(), wasm.Request{HTML: src, URL: quality.PageURL, Mode: article.ModeArticle})
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(page), err)
			continue
		}
		res, want := wasmResult(t, got), nativeResult(t, src, article.Request{URL: quality.PageURL, Mode: article.ModeArticle})
		if !reflect.DeepEqual(res, want) {
			t.Errorf("%s: the sandboxed result differs from the native one", filepath.Base(page))
		}
		for _, r := range []struct {
			res    *article.Result
			scores *[]quality.PageScore
		}{{res, &sandboxed}, {want, &native}} {
			ps, err := quality.Score(page, r.res)
			if err != nil {
				t.Fatal(err)
			}
			*r.scores = append(*r.scores, ps)
		}
	}
	s, n := quality.Summarize(sandboxed), quality.Summarize(native)
	t.Logf("article mode through WASM on %s:\n%s", dir, s)
	if !reflect.DeepEqual(s, n) {
		t.Errorf("scores differ: native\n%s", n)
	}
	if err := s.Check(); err != nil {
		t.Errorf("quality targets missed: %v", err)
	}
}

// TestTreeLargerThanBudget checks that a page whose tree would not fit in
// a request's half of the instance's memory, though its HTML does, is sent
// as HTML rather than refused: taking trees must not shrink the pages a
// module accepts.
func TestTreeLargerThanBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: parses a 4 MB page in the host and in the guest")
	}
	// The document limit is lifted to the cap: only the request's half of
	// memory bounds the page.
	rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: time.Minute, InstanceMemoryLimitMB: 16, MaxDocumentBytes: 16 << 20})
	i := newInstance(t, loadArticle(t, rt, true))
	// 4 MB of HTML, under the 8 MiB budget; some 22 MB as a tree.
	page := strings.Repeat("<p>a</p>", 500_000)
	_, err := i.Extract(context.Background(), wasm.Request{HTML: page})
	if errors.Is(err, wasm.ErrRequestTooLarge) {
		t.Fatalf("a page whose HTML fits was refused: %v", err)
	}
	// Whatever the guest made of it (it may well run out of memory), it
	// was asked: the answer is not the host's refusal.
	t.Logf("the guest's answer: %v", err)
}

// TestArticleInstrumented checks that the bundled module is one the
// interruption pass can read: were it not, it would run with wazero's
// checks, some five times slower.
func TestArticleInstrumented(t *testing.T) {
	rt := newRuntime(t, wasm.RuntimeConfig{})
	for _, trusted := range []bool{false, true} {
		if m := loadArticle(t, rt, trusted); !m.Instrumented() {
			t.Errorf("trusted %v: the bundled module is not instrumented", trusted)
		}
	}
}
