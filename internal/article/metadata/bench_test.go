package metadata

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// BenchmarkExtract measures the metadata pass on the readability corpus'
// median-sized page ($RIPTIDE_CORPUS_DIR or ../../../../shared/corpus/readability).
//
//	go test -run '^$' -bench . ./internal/article/metadata/
func BenchmarkExtract(b *testing.B) {
	dir := os.Getenv("RIPTIDE_CORPUS_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "..", "shared", "corpus", "readability")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "source.html"))
	if len(files) == 0 {
		b.Skip("readability corpus not found: set RIPTIDE_CORPUS_DIR")
	}
	var pages []string
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		pages = append(pages, string(src))
	}
	slices.SortFunc(pages, func(a, b string) int { return len(a) - len(b) })
	root, err := html.Parse(strings.NewReader(pages[len(pages)/2]))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		Extract(root, "https://example.com/2020/01/02/story")
	}
}
