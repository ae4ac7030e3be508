package article_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/article/quality"
)

var (
	evalAll    = flag.Bool("eval.all", false, "TestEvalQuality: score every page of the trafilatura evaluation set, not a sample")
	evalReport = flag.String("eval.report", "", "TestEvalQuality: write the misses, page by page, to this file")
)

// evalDir finds the trafilatura evaluation set, or skips tb.
func evalDir(tb testing.TB) string {
	tb.Helper()
	// The set sits beside the readability corpus in ../shared/corpus.
	dir := os.Getenv("RIPTIDE_EVAL_DIR")
	if rd := os.Getenv("RIPTIDE_CORPUS_DIR"); dir == "" && rd != "" {
		dir = filepath.Join(filepath.Dir(rd), "trafilatura-eval")
	}
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "corpus", "trafilatura-eval")
	}
	if _, err := os.Stat(filepath.Join(dir, "expectations.json")); err != nil {
		tb.Skip("trafilatura evaluation set not found: set RIPTIDE_EVAL_DIR or check out ../shared/corpus/trafilatura-eval")
	}
	return dir
}

// evalSampleStep picks every evalSampleStep-th page for the fast check
// that `go test` runs: about 100 of the 861 pages, a few seconds.
const evalSampleStep = 8

// The fast check's floors, a little under what the sample scores today, so
// that a change that makes the extractor worse fails here while noise from
// a change elsewhere does not. The whole set's targets are in QUALITY.md.
var sampleTargets = quality.EvalTargets{
	MinF: 0.91, MinPrecision: 0.88, MinRecall: 0.94, MinDate: 0.84, MinAuthor: 0.63,
}

// TestEvalQuality scores article mode on the trafilatura evaluation set:
// a sample by default, held to sampleTargets; every page with -eval.all.
func TestEvalQuality(t *testing.T) {
	dir := evalDir(t)
	cases, err := quality.LoadEval(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !*evalAll {
		cases = quality.Sample(cases, evalSampleStep)
	}
	var scores []quality.EvalScore
	var misses strings.Builder
	classes := map[string]int{}
	for _, c := range cases {
		src, err := quality.ReadEvalPage(dir, c)
		if err != nil {
			t.Fatal(err)
		}
		res, err := article.Extract(src, article.Request{URL: c.URL})
		if err != nil {
			res = &article.Result{} // an empty page scores as an empty text
		}
		s := quality.ScoreEval(c, res)
		scores = append(scores, s)
		if *evalReport != "" {
			writeMisses(&misses, c, s, src, classes)
		}
	}
	sum := quality.SummarizeEval(scores)
	t.Logf("trafilatura-eval: %s", sum)
	if *evalReport != "" {
		for _, name := range quality.ErrorClassNames() {
			fmt.Fprintf(&misses, "class\t%s\tkept %d\tlost %d\tfound %d\n", name, classes["kept "+name], classes["lost "+name], classes["found "+name])
		}
		if err := os.WriteFile(*evalReport, []byte(misses.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !*evalAll {
		if err := sum.Check(sampleTargets); err != nil {
			t.Error(err)
		}
	}
}

func writeMisses(w *strings.Builder, c quality.EvalCase, s quality.EvalScore, src string, classes map[string]int) {
	var cl *quality.Classifier
	if len(s.Lost)+len(s.Kept) > 0 || *evalAll {
		cl, _ = quality.NewClassifier(src)
	}
	for _, l := range s.Lost {
		class := cl.ClassOf(l)
		classes["lost "+class]++
		fmt.Fprintf(w, "%s\tlost\t%s\t%q\n", c.Page, class, l)
	}
	if *evalAll && cl != nil {
		// Where the snippets found sit too, to weigh a rule that would
		// drop a class: "found" counts content a rule would lose.
		for _, w := range c.With {
			if !slices.Contains(s.Lost, w) {
				classes["found "+cl.ClassOf(w)]++
			}
		}
	}
	for _, k := range s.Kept {
		class := cl.ClassOf(k)
		classes["kept "+class]++
		fmt.Fprintf(w, "%s\tkept\t%s\t%q\n", c.Page, class, k)
	}
	if s.HasDate && !s.DateOK {
		fmt.Fprintf(w, "%s\tdate\twant %s got %q\n", c.Page, c.Date, s.GotDate)
	}
	if s.HasAuthor && !s.AuthorOK {
		fmt.Fprintf(w, "%s\tauthor\twant %q got %q\n", c.Page, c.Authors, s.GotAuthors)
	}
}
