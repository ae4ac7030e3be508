package daemon_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/testenv"
	"google.golang.org/grpc/status"
)

// fullEngines runs TestArticleEnginesAgree on every page of the corpus in
// every mode (about 4 minutes on two cores, without -race); without it, the
// test takes every 16th page in one mode each, modes in turn.
var fullEngines = flag.Bool("article-engines-full", false, "compare the article engines on every corpus page in every mode")

// enginePage is one page of the shared corpus, as a client would send it.
type enginePage struct {
	name string
	url  string
	raw  []byte
}

// corpusBoth returns the pages of both sets of the shared corpus, or skips.
func corpusBoth(t *testing.T) []enginePage {
	t.Helper()
	readability := os.Getenv(testenv.CorpusEnv)
	if readability == "" {
		readability = filepath.Join("..", "..", "..", "shared", "corpus", "readability")
	}
	trafilatura := filepath.Join(filepath.Dir(readability), "trafilatura-eval")
	var pages []enginePage
	paths, _ := filepath.Glob(filepath.Join(readability, "*", "source.html"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, enginePage{name: "readability/" + filepath.Base(filepath.Dir(p)), url: "http://fakehost/test/page.html", raw: b})
	}
	var expectations []struct {
		URL  string `json:"url"`
		Page string `json:"page"`
	}
	if b, err := os.ReadFile(filepath.Join(trafilatura, "expectations.json")); err == nil {
		if err := json.Unmarshal(b, &expectations); err != nil {
			t.Fatalf("trafilatura-eval/expectations.json: %v", err)
		}
	}
	for _, e := range expectations {
		b, err := os.ReadFile(filepath.Join(trafilatura, e.Page))
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, enginePage{name: "trafilatura-eval/" + e.Page, url: e.URL, raw: b})
	}
	if len(paths) == 0 || len(expectations) == 0 {
		t.Skipf("the shared corpus is not at %s and %s (set %s to its readability set)", readability, trafilatura, testenv.CorpusEnv)
	}
	return pages
}

// TestArticleEnginesAgree sends the corpus's pages to a daemon of each
// article engine and compares the answers field by field: a result's every
// field, or an error's code and reason.
func TestArticleEnginesAgree(t *testing.T) {
	pages := corpusBoth(t)
	modes := []string{"article", "full", "metadata", "custom"}
	type job struct {
		page enginePage
		mode string
	}
	var jobs []job
	for i, p := range pages {
		switch {
		case *fullEngines:
			for _, m := range modes {
				jobs = append(jobs, job{p, m})
			}
		case i%16 == 0:
			jobs = append(jobs, job{p, modes[(i/16)%len(modes)]})
		}
	}
	wasmD := start(t, wasmEnv("", "MAX_DOCUMENT_BYTES=4194304", "WASM_EXTRACT_TIMEOUT_MS=600000", "CHECKOUT_TIMEOUT_MS=600000"))
	nativeD := start(t, baseEnv("ARTICLE_ENGINE=native", "MAX_DOCUMENT_BYTES=4194304", "WASM_EXTRACT_TIMEOUT_MS=600000", "CHECKOUT_TIMEOUT_MS=600000"))
	wasmC, nativeC := poolv1.NewPoolServiceClient(wasmD.conn), poolv1.NewPoolServiceClient(nativeD.conn)

	differ := 0
	for _, j := range jobs {
		req := &poolv1.ExtractRequest{
			Document: &poolv1.ExtractRequest_RawHtml{RawHtml: j.page.raw},
			Url:      j.page.url,
			Spec:     &poolv1.ExtractRequest_Wasm{Wasm: &poolv1.WasmSpec{Mode: j.mode}},
		}
		if j.mode == "custom" {
			req.GetWasm().Selectors = []string{"h1", "title", "a[href]", "p > img", "meta[property^=og]"}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		w, werr := wasmC.Extract(ctx, req)
		n, nerr := nativeC.Extract(ctx, req)
		cancel()
		if werr != nil || nerr != nil {
			if errorReason(werr) != errorReason(nerr) || status.Code(werr) != status.Code(nerr) {
				differ++
				t.Errorf("%s, mode %s: wasm answered %v, native %v", j.page.name, j.mode, werr, nerr)
			}
			continue
		}
		wm, nm := w.GetResult().AsMap(), n.GetResult().AsMap()
		keys := slices.Sorted(func(yield func(string) bool) {
			seen := map[string]bool{}
			for _, m := range []map[string]any{wm, nm} {
				for k := range m {
					if !seen[k] {
						seen[k] = true
						if !yield(k) {
							return
						}
					}
				}
			}
		})
		var fields []string
		for _, k := range keys {
			if !reflect.DeepEqual(wm[k], nm[k]) {
				fields = append(fields, k)
			}
		}
		if len(fields) > 0 {
			differ++
			t.Errorf("%s, mode %s: the engines differ in %s", j.page.name, j.mode, strings.Join(fields, ", "))
		}
		if w.GetPool() != n.GetPool() {
			t.Errorf("%s: pools %q and %q", j.page.name, w.GetPool(), n.GetPool())
		}
	}
	t.Logf("%d calls on %d corpus pages compared (-article-engines-full: every page in every mode), %d differ", len(jobs), len(pages), differ)
}
