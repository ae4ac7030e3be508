package article_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/article/quality"
)

// corpusDir finds the readability corpus, or skips t.
func corpusDir(tb testing.TB) string {
	tb.Helper()
	dir, ok := quality.FindCorpus(filepath.Join("..", "..", "..", "shared", "corpus", "readability"))
	if !ok {
		tb.Skip("readability corpus not found: set RIPTIDE_CORPUS_DIR or check out ../shared/corpus/readability")
	}
	return dir
}

// TestCorpusQuality holds article mode to the quality targets on
// Readability.js' test pages. Run with -v to see the table and the pages
// that miss.
func TestCorpusQuality(t *testing.T) {
	pages, err := quality.Pages(corpusDir(t))
	if err != nil {
		t.Fatal(err)
	}
	var scores []quality.PageScore
	var misses strings.Builder
	for _, dir := range pages {
		src, err := quality.Source(dir)
		if err != nil {
			t.Fatal(err)
		}
		res, err := article.Extract(src, article.Request{URL: quality.PageURL})
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(dir), err)
			continue
		}
		ps, err := quality.Score(dir, res)
		if err != nil {
			t.Fatal(err)
		}
		scores = append(scores, ps)
		for _, f := range quality.Fields {
			if !ps.Match[f] {
				fmt.Fprintf(&misses, "  %-32s %-9s want %q got %q\n", ps.Page, f, field(ps.Want, f), field(ps.Got, f))
			}
		}
		if ps.F1 < quality.MinMedianF1 {
			fmt.Fprintf(&misses, "  %-32s %-9s %.4f\n", ps.Page, "text F1", ps.F1)
		}
	}
	sum := quality.Summarize(scores)
	t.Logf("article mode on %d pages (go test -run TestCorpusQuality -v ./internal/article/):\n%s", len(scores), sum)
	if testing.Verbose() {
		t.Logf("misses:\n%s", misses.String())
	}
	if err := sum.Check(); err != nil {
		t.Error(err)
	}
}

func field(e quality.Expected, name string) string {
	switch name {
	case "title":
		return e.Title
	case "byline":
		return e.Byline
	case "excerpt":
		return e.Excerpt
	case "lang":
		return e.Lang
	case "site_name":
		return e.SiteName
	case "dir":
		return e.Dir
	}
	return ""
}
