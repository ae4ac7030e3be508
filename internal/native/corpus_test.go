package native

import (
	"context"
	"github.com/riptidecrawler/riptide-poold/internal/testenv"
	"slices"
	"strings"
	"testing"

	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
)

// corpusSpecs are the questions the benchmarks ask of every page.
var corpusSpecs = []struct {
	name string
	spec CSSSpec
}{
	{"title", CSSSpec{Selector: "title", Output: OutputText}},
	{"a-href", CSSSpec{Selector: "a[href]", Attribute: "href", All: true}},
	{"p", CSSSpec{Selector: "p", Output: OutputText, All: true}},
}

// baselineSelect is what a caller of cascadia does without this package:
// compile, parse, query, read each value.
func baselineSelect(tb testing.TB, src string, spec CSSSpec) []string {
	sel, err := cascadia.Compile(spec.Selector)
	if err != nil {
		tb.Fatal(err)
	}
	root, err := html.Parse(strings.NewReader(src))
	if err != nil {
		tb.Fatal(err)
	}
	return baselineValues(root, sel, spec)
}

func baselineValues(root *html.Node, sel cascadia.Selector, spec CSSSpec) []string {
	var nodes []*html.Node
	if spec.All {
		nodes = cascadia.QueryAll(root, sel)
	} else if n := cascadia.Query(root, sel); n != nil {
		nodes = []*html.Node{n}
	}
	values := make([]string, 0, len(nodes))
	for _, n := range nodes {
		if spec.Attribute != "" {
			for _, a := range n.Attr {
				if a.Key == spec.Attribute {
					values = append(values, a.Val)
				}
			}
			continue
		}
		var b strings.Builder
		var walk func(*html.Node)
		walk = func(n *html.Node) {
			if n.Type == html.TextNode {
				b.WriteString(n.Data)
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		walk(n)
		values = append(values, strings.Join(strings.Fields(b.String()), " "))
	}
	return values
}

// TestCorpusAgreesWithCascadia checks native results on real pages against
// plain cascadia, where their semantics coincide: attributes exactly, and
// the number of text values.
func TestCorpusAgreesWithCascadia(t *testing.T) {
	pages := testenv.CorpusPages(t)
	css := NewCSS(NewSelectorCache(0), Limits{})
	for _, p := range pages {
		doc, err := NewDocument(p.Source, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range corpusSpecs {
			got, truncated, err := css.Select(context.Background(), doc, s.spec)
			if err != nil {
				t.Fatalf("%s %s: %v", p.Name, s.name, err)
			}
			want := baselineSelect(t, p.Source, s.spec)
			if truncated || len(got) != len(want) {
				t.Errorf("%s %s: %d values (truncated %v), cascadia %d", p.Name, s.name, len(got), truncated, len(want))
				continue
			}
			if s.spec.Attribute != "" && !slices.Equal(got, want) {
				t.Errorf("%s %s: values differ from cascadia", p.Name, s.name)
			}
		}
	}
}

// BenchmarkCorpus compares NewDocument + CSS.Select (impl=native: a pooled
// extractor, a warm cache) with compile + html.Parse + cascadia.Query or
// QueryAll + reading values (impl=baseline), on the median-size corpus page
// and on all pages. Every iteration parses, as every request does.
// sel=fields asks all three questions of one parse, as an ExtractRequest's
// fields do. Compare with: benchstat -col /impl.
func BenchmarkCorpus(b *testing.B) {
	pages := testenv.CorpusPages(b)
	sets := []struct {
		name  string
		pages []testenv.Page
	}{
		{"median", pages[len(pages)/2 : len(pages)/2+1]},
		{"all", pages},
	}
	type question struct {
		name  string
		specs []CSSSpec
	}
	var questions []question
	var all []CSSSpec
	for _, s := range corpusSpecs {
		questions = append(questions, question{s.name, []CSSSpec{s.spec}})
		all = append(all, s.spec)
	}
	questions = append(questions, question{"fields", all})

	for _, set := range sets {
		bytes := 0
		for _, p := range set.pages {
			bytes += len(p.Source)
		}
		for _, q := range questions {
			b.Run("page="+set.name+"/sel="+q.name+"/impl=baseline", func(b *testing.B) {
				b.SetBytes(int64(bytes))
				b.ReportAllocs()
				for b.Loop() {
					for _, p := range set.pages {
						root, err := html.Parse(strings.NewReader(p.Source))
						if err != nil {
							b.Fatal(err)
						}
						for _, spec := range q.specs {
							sel, err := cascadia.Compile(spec.Selector)
							if err != nil {
								b.Fatal(err)
							}
							baselineValues(root, sel, spec)
						}
					}
				}
			})
			b.Run("page="+set.name+"/sel="+q.name+"/impl=native", func(b *testing.B) {
				cache := NewSelectorCache(0)
				css := NewCSS(cache, Limits{})
				ctx := context.Background()
				b.SetBytes(int64(bytes))
				b.ReportAllocs()
				for b.Loop() {
					for _, p := range set.pages {
						doc, err := NewDocument(p.Source, Limits{})
						if err != nil {
							b.Fatal(err)
						}
						if len(q.specs) > 1 {
							// As the server answers fields.
							if _, err := css.SelectEach(ctx, doc, q.specs); err != nil {
								b.Fatal(err)
							}
							continue
						}
						if _, _, err := css.Select(ctx, doc, q.specs[0]); err != nil {
							b.Fatal(err)
						}
					}
					if err := css.Reset(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkCorpusParsed isolates selection from parsing: the median page is
// parsed once, outside the loop, and impl=baseline runs a precompiled
// cascadia selector, the most favourable case for it. What remains is the
// cost of the walk and of building values. Compare with: benchstat -col /impl.
func BenchmarkCorpusParsed(b *testing.B) {
	pages := testenv.CorpusPages(b)
	p := pages[len(pages)/2]
	root, err := html.Parse(strings.NewReader(p.Source))
	if err != nil {
		b.Fatal(err)
	}
	doc, err := NewDocument(p.Source, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := doc.Root(); err != nil {
		b.Fatal(err)
	}
	for _, s := range corpusSpecs {
		b.Run("sel="+s.name+"/impl=baseline", func(b *testing.B) {
			sel := cascadia.MustCompile(s.spec.Selector)
			b.ReportAllocs()
			for b.Loop() {
				baselineValues(root, sel, s.spec)
			}
		})
		b.Run("sel="+s.name+"/impl=native", func(b *testing.B) {
			css := NewCSS(NewSelectorCache(0), Limits{})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := css.Select(ctx, doc, s.spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
