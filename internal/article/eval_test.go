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
	dir, ok := quality.FindEvalSet(filepath.Join("..", "..", "..", "shared", "corpus", "trafilatura-eval"))
	if !ok {
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
	MinF: 0.935, MinPrecision: 0.915, MinRecall: 0.95, MinDate: 0.84, MinAuthor: 0.70,
}

// TestEvalQuality scores article mode on the trafilatura evaluation set:
// a sample by default, held to sampleTargets; every page with -eval.all.
// -eval.report writes the misses page by page, with their classes.
func TestEvalQuality(t *testing.T) {
	dir := evalDir(t)
	cases, err := quality.LoadEval(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !*evalAll {
		cases = quality.Sample(cases, evalSampleStep)
	}
	run := runEval(t, dir, cases, *evalReport != "")
	t.Logf("trafilatura-eval: %s", run.sum)
	if *evalReport != "" {
		if err := os.WriteFile(*evalReport, []byte(run.misses.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !*evalAll {
		if err := run.sum.Check(sampleTargets); err != nil {
			t.Error(err)
		}
	}
}

// evalRun is the outcome of scoring article mode on evaluation cases.
type evalRun struct {
	sum                    quality.EvalSummary
	classes                map[string]int // "kept CLASS", "lost CLASS", "found CLASS" -> snippets
	misses                 strings.Builder
	dateWrong, authorWrong int // found but not the expected one
}

// runEval extracts and scores every case; with classify, it also sorts the
// snippets by where they sit on the page and lists the misses.
func runEval(t *testing.T, dir string, cases []quality.EvalCase, classify bool) *evalRun {
	t.Helper()
	run := &evalRun{classes: map[string]int{}}
	var scores []quality.EvalScore
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
		if s.HasDate && !s.DateOK && s.GotDate != "" {
			run.dateWrong++
		}
		if s.HasAuthor && !s.AuthorOK && len(s.GotAuthors) > 0 {
			run.authorWrong++
		}
		if classify {
			writeMisses(&run.misses, c, s, src, run.classes)
		}
	}
	run.sum = quality.SummarizeEval(scores)
	if classify {
		for _, name := range quality.ErrorClassNames() {
			fmt.Fprintf(&run.misses, "class\t%s\tkept %d\tlost %d\tfound %d\n", name, run.classes["kept "+name], run.classes["lost "+name], run.classes["found "+name])
		}
	}
	return run
}

func writeMisses(w *strings.Builder, c quality.EvalCase, s quality.EvalScore, src string, classes map[string]int) {
	cl, err := quality.NewClassifier(src)
	if err != nil {
		return
	}
	for _, l := range s.Lost {
		class := cl.ClassOf(l)
		classes["lost "+class]++
		fmt.Fprintf(w, "%s\tlost\t%s\t%q\n", c.Page, class, l)
	}
	// Where the snippets found sit too, to weigh a rule that would drop a
	// class: "found" counts the content such a rule would lose.
	for _, with := range c.With {
		if !slices.Contains(s.Lost, with) {
			classes["found "+cl.ClassOf(with)]++
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
