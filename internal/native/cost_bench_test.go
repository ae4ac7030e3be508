package native

import (
	"context"
	"strings"
	"testing"

	"github.com/andybalholm/cascadia"
	"github.com/riptidecrawler/riptide-poold/internal/testenv"
	"golang.org/x/net/html"
)

// BenchmarkCorpusCostly is BenchmarkCorpus on the median page for
// questions that the cost model must measure the document for (a
// combinator, :has, :nth-*): impl=native is NewDocument + CSS.Select,
// parse, measure, bound and match; impl=baseline html.Parse + cascadia.
// Compare with: benchstat -col /impl.
func BenchmarkCorpusCostly(b *testing.B) {
	pages := testenv.CorpusPages(b)
	p := pages[len(pages)/2]
	for _, sel := range []string{"div p", "ul li a", "article:has(h1)", "li:nth-child(2n+1)"} {
		spec := CSSSpec{Selector: sel, All: true}
		b.Run("sel="+sel+"/impl=baseline", func(b *testing.B) {
			b.SetBytes(int64(len(p.Source)))
			for b.Loop() {
				root, err := html.Parse(strings.NewReader(p.Source))
				if err != nil {
					b.Fatal(err)
				}
				baselineValues(root, cascadia.MustCompile(sel), spec)
			}
		})
		b.Run("sel="+sel+"/impl=native", func(b *testing.B) {
			css := NewCSS(NewSelectorCache(0), Limits{})
			ctx := context.Background()
			b.SetBytes(int64(len(p.Source)))
			for b.Loop() {
				doc, err := NewDocument(p.Source, Limits{})
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := css.Select(ctx, doc, spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
