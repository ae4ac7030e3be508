package native

import (
	"context"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/testenv"
)

// BenchmarkXPath evaluates scrapers' usual expressions on the median
// corpus page, parsed once: the evaluation alone, which is what the
// engine decides. Compare two trees with benchstat.
func BenchmarkXPath(b *testing.B) {
	pages := testenv.CorpusPages(b)
	p := pages[len(pages)/2]
	doc, err := NewDocument(p.Source, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, expr string }{
		{"hrefs", "//a/@href"},
		{"og", "//meta[@property='og:title']/@content"},
		{"first-li-link", "//li[1]/a/@href"},
		{"p-with-a", "count(//p[a])"},
		{"title", "normalize-space(//title)"},
		{"ids", "(//*[@id])[position() <= 5]/@id"},
		{"class-contains", "//div[contains(concat(' ', normalize-space(@class), ' '), ' content ')]//p"},
		{"text", "//h1//text()"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := NewCSS(NewSelectorCache(0), Limits{})
			ctx := context.Background()
			spec := XPathSpec{Expression: bc.expr, All: true}
			for b.Loop() {
				if _, err := c.XPath(ctx, doc, spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
