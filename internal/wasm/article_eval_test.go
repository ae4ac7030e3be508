package wasm_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/article/quality"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
)

// TestArticleEvalInSandbox extracts a sample of the trafilatura evaluation
// set (every 32nd page: pages in many languages and charsets) through the
// sandbox and natively: the results must be the same, metadata included,
// and so the scores.
func TestArticleEvalInSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: evaluation pages through the sandbox")
	}
	dir, ok := quality.FindEvalSet(filepath.Join("..", "..", "..", "shared", "corpus", "trafilatura-eval"))
	if !ok {
		t.Skip("trafilatura evaluation set not found: set RIPTIDE_EVAL_DIR or check out ../shared/corpus/trafilatura-eval")
	}
	cases, err := quality.LoadEval(dir)
	if err != nil {
		t.Fatal(err)
	}
	rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: time.Minute})
	i := newInstance(t, loadArticle(t, rt, true))
	var sandboxed, native []quality.EvalScore
	for _, c := range quality.Sample(cases, 32) {
		src, err := quality.ReadEvalPage(dir, c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := i.Extract(context.Background(), wasm.Request{HTML: src, URL: c.URL, Mode: article.ModeArticle})
		if err != nil {
			t.Errorf("%s: %v", c.Page, err)
			continue
		}
		res, want := wasmResult(t, got), nativeResult(t, src, article.Request{URL: c.URL, Mode: article.ModeArticle})
		if !reflect.DeepEqual(res, want) {
			t.Errorf("%s: the sandboxed result differs from the native one", c.Page)
		}
		sandboxed = append(sandboxed, quality.ScoreEval(c, res))
		native = append(native, quality.ScoreEval(c, want))
	}
	s, n := quality.SummarizeEval(sandboxed), quality.SummarizeEval(native)
	t.Logf("article mode through WASM on every 32nd page of %s: %s", dir, s)
	if s != n {
		t.Errorf("scores differ: native %s", n)
	}
}
