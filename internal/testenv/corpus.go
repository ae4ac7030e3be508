package testenv

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// CorpusEnv names the variable that points tests and benchmarks at the
// readability corpus; without it they look beside the repository, at
// ../shared/corpus/readability.
const CorpusEnv = "RIPTIDE_CORPUS_DIR"

// Page is one page of the readability corpus.
type Page struct {
	Name   string // the page's folder, e.g. "lemonde-1"
	Source string // its source.html
}

// CorpusPages returns every page of the corpus, smallest first (then by
// name), or skips tb with a message when the corpus is absent. It is meant
// for tests of packages two levels below the repository root.
func CorpusPages(tb testing.TB) []Page {
	tb.Helper()
	dir := os.Getenv(CorpusEnv)
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "corpus", "readability")
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "source.html"))
	if len(paths) == 0 {
		tb.Skipf("no corpus pages at %s/*/source.html; set %s to the readability corpus", dir, CorpusEnv)
	}
	pages := make([]Page, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		pages = append(pages, Page{Name: filepath.Base(filepath.Dir(p)), Source: string(b)})
	}
	slices.SortFunc(pages, func(a, b Page) int {
		return cmp.Or(cmp.Compare(len(a.Source), len(b.Source)), cmp.Compare(a.Name, b.Name))
	})
	return pages
}
