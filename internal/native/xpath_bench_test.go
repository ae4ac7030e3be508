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
	// The tree, not the token stream, answers every expression here.
	doc.UseTree()
	if _, err := doc.Root(); err != nil {
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
		// EXSLT and parsel's functions, beside what they replace.
		{"matches", "//a[matches(@href, '^https?://')]/@href"},
		{"re-test", "//a[re:test(@href, '^https?://')]/@href"},
		{"has-class", "//div[has-class('content')]//p"},
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

// BenchmarkXPathStream answers the questions the token stream answers
// (whole-page ones, and location paths of forward axes) on the median
// corpus page, each on a new document as a request brings it:
// path=stream as XPath answers them, path=tree with the document made to
// parse (doc.UseTree), the baseline; and for //a/@href path=css,
// Select's own token stream, which answered it before.
func BenchmarkXPathStream(b *testing.B) {
	pages := testenv.CorpusPages(b)
	p := pages[len(pages)/2]
	for _, expr := range []string{"count(//p)", "string(//title)", "normalize-space(//h1)", "//p/text()", "//a/@href",
		"//div[@class]//a/@href", "//p[1]", "//h2/following-sibling::p"} {
		paths := []string{"stream", "tree"}
		if expr == "//a/@href" {
			paths = append(paths, "css")
		}
		for _, path := range paths {
			b.Run("expr="+expr+"/path="+path, func(b *testing.B) {
				c := NewCSS(NewSelectorCache(0), Limits{})
				ctx := context.Background()
				spec := XPathSpec{Expression: expr, All: true}
				b.SetBytes(int64(len(p.Source)))
				for b.Loop() {
					doc, err := NewDocument(p.Source, Limits{})
					if err != nil {
						b.Fatal(err)
					}
					switch path {
					case "tree":
						doc.UseTree()
					case "css":
						if _, _, err := c.Select(ctx, doc, CSSSpec{Selector: "a", Attribute: "href", All: true}); err != nil || !doc.streamable() {
							b.Fatal("Select's token stream gave up", err)
						}
						continue
					}
					if _, err := c.XPath(ctx, doc, spec); err != nil {
						b.Fatal(err)
					}
					if path == "stream" && !doc.streamable() {
						b.Fatal("the stream gave up")
					}
				}
			})
		}
	}
}
