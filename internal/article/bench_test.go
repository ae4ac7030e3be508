package article_test

import (
	"cmp"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	readability "codeberg.org/readeck/go-readability/v2"
	"github.com/go-shiori/dom"
	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/article/quality"
)

type benchPage struct {
	name, src string
}

// benchPages loads the corpus, sorted by size.
func benchPages(b *testing.B) []benchPage {
	b.Helper()
	dirs, err := quality.Pages(corpusDir(b))
	if err != nil {
		b.Fatal(err)
	}
	pages := make([]benchPage, 0, len(dirs))
	for _, d := range dirs {
		src, err := quality.Source(d)
		if err != nil {
			b.Fatal(err)
		}
		pages = append(pages, benchPage{filepath.Base(d), src})
	}
	slices.SortFunc(pages, func(a, b benchPage) int { return cmp.Compare(len(a.src), len(b.src)) })
	return pages
}

// BenchmarkExtract measures article mode on the corpus' median-sized page
// and on all its pages, with the two ways of parsing:
//
//   - parse=xnethtml: Extract, parsing with golang.org/x/net/html (the
//     caller has already decoded the charset) and ParseAndMutate;
//   - parse=library: the readability library's own parse (charset
//     detection, NFC normalization), then ExtractNode;
//   - readability-only: the library's Parse alone, the native baseline the
//     WASM module is compared with.
func BenchmarkExtract(b *testing.B) {
	pages := benchPages(b)
	sets := []struct {
		name  string
		pages []benchPage
	}{
		{"page=median", pages[len(pages)/2 : len(pages)/2+1]},
		{"page=all", pages},
	}
	req := article.Request{URL: quality.PageURL}
	pageURL, _ := url.Parse(quality.PageURL)
	ways := []struct {
		name string
		run  func(src string) error
	}{
		{"parse=xnethtml", func(src string) error {
			_, err := article.Extract(src, req)
			return err
		}},
		{"parse=library", func(src string) error {
			doc, err := dom.Parse(strings.NewReader(src))
			if err != nil {
				return err
			}
			_, err = article.ExtractNode(doc, req)
			return err
		}},
		{"readability-only", func(src string) error {
			p := readability.NewParser()
			_, err := p.Parse(strings.NewReader(src), pageURL)
			return err
		}},
	}
	for _, set := range sets {
		var size int64
		for _, p := range set.pages {
			size += int64(len(p.src))
		}
		for _, way := range ways {
			b.Run(set.name+"/"+way.name, func(b *testing.B) {
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					for _, p := range set.pages {
						if err := way.run(p.src); err != nil {
							b.Fatalf("%s: %v", p.name, err)
						}
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(set.pages)), "ns/page")
			})
		}
	}
}

// BenchmarkModes measures each mode on the median page.
func BenchmarkModes(b *testing.B) {
	pages := benchPages(b)
	src := pages[len(pages)/2].src
	for _, mode := range article.Modes() {
		req := article.Request{URL: quality.PageURL, Mode: mode, Selectors: []string{"h1", "p a[href]"}}
		b.Run("mode="+mode, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := article.Extract(src, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
