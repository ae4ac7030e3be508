package native

import (
	"context"
	"errors"
	"slices"
	"testing"
)

const pseudoPage = `<html lang="en"><head><title> The title </title>
<link rel="canonical" href="/c"></head><body>
<div id="d"><p class="x">One <b>two</b> three</p><p>Four<a href="/a" title="T">five</a></p></div>
<ul><li><a href="/l1">l1</a></li><li><a href="/l2">l2</a></li></ul>
<script type="application/ld+json">{"a": 1}</script>
</body></html>`

func TestPseudoElements(t *testing.T) {
	tests := []struct {
		name string
		spec CSSSpec
		want []string
	}{
		{"text children", CSSSpec{Selector: "p::text", All: true}, []string{"One ", " three", "Four"}},
		{"text of subtree", CSSSpec{Selector: "p ::text", All: true}, []string{"One ", "two", " three", "Four", "five"}},
		{"text of subtree, universal", CSSSpec{Selector: "p *::text", All: true}, []string{"One ", "two", " three", "Four", "five"}},
		{"nested matches answer once", CSSSpec{Selector: "div ::text, p ::text", All: true}, []string{"One ", "two", " three", "Four", "five"}},
		{"first only", CSSSpec{Selector: "p::text"}, []string{"One "}},
		{"limit", CSSSpec{Selector: "p ::text", All: true, Limit: 2}, []string{"One ", "two"}},
		{"title text as written", CSSSpec{Selector: "title::text"}, []string{" The title "}},
		{"script text", CSSSpec{Selector: `script[type="application/ld+json"]::text`}, []string{`{"a": 1}`}},
		{"attr", CSSSpec{Selector: "a::attr(href)", All: true}, []string{"/a", "/l1", "/l2"}},
		{"attr upper case", CSSSpec{Selector: "a::ATTR(HREF)", All: true}, []string{"/a", "/l1", "/l2"}},
		{"attr with combinator", CSSSpec{Selector: "li a::attr(href)", All: true}, []string{"/l1", "/l2"}},
		{"attr of subtree", CSSSpec{Selector: "div ::attr(title)", All: true}, []string{"T"}},
		{"attr group", CSSSpec{Selector: "link::attr(href), a::attr(href)", All: true, Limit: 2}, []string{"/c", "/a"}},
		{"html lang", CSSSpec{Selector: "html::attr(lang)"}, []string{"en"}},
		{"document text", CSSSpec{Selector: "::text", All: true, Limit: 2}, []string{" The title ", "\n"}},
		{"comma inside attribute value", CSSSpec{Selector: `a[title="a,b"]::text, p::text`, All: true}, []string{"One ", " three", "Four"}},
		{"no match", CSSSpec{Selector: "table::text", All: true}, nil},
	}
	doc, err := NewDocument(pseudoPage, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c := NewCSS(nil, Limits{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := c.Select(context.Background(), doc, tt.spec)
			if err != nil {
				t.Fatalf("Select(%q): %v", tt.spec.Selector, err)
			}
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Select(%q) = %q, want %q", tt.spec.Selector, got, tt.want)
			}
			// SelectEach answers the same, on a fresh document.
			d2, _ := NewDocument(pseudoPage, Limits{})
			ans, err := c.SelectEach(context.Background(), d2, []CSSSpec{tt.spec})
			if err != nil || ans[0].Err != nil || !slices.Equal(ans[0].Values, got) {
				t.Errorf("SelectEach(%q) = %+v, %v; want %q", tt.spec.Selector, ans, err, got)
			}
		})
	}
}

func TestPseudoElementErrors(t *testing.T) {
	doc, _ := NewDocument(pseudoPage, Limits{})
	c := NewCSS(nil, Limits{})
	for _, spec := range []CSSSpec{
		{Selector: "a::attr(href), p::text"},
		{Selector: "a::attr(href), p"},
		{Selector: "a::attr()"},
		{Selector: "a::attr(a b)"},
		{Selector: "a::before"},
		{Selector: "a::text", Attribute: "href"},
		{Selector: "a::text", Output: OutputOuterHTML},
		{Selector: "p > *::text"},
	} {
		_, _, err := c.Select(context.Background(), doc, spec)
		var se *SpecError
		if !errors.As(err, &se) || se.Field != "selector" {
			t.Errorf("Select(%+v) error = %v, want a *SpecError on selector", spec, err)
		}
	}
}

func TestPseudoResultTooLarge(t *testing.T) {
	doc, _ := NewDocument(pseudoPage, Limits{})
	c := NewCSS(nil, Limits{MaxResultBytes: 8})
	if _, _, err := c.Select(context.Background(), doc, CSSSpec{Selector: "p ::text", All: true}); !errors.Is(err, ErrResultTooLarge) {
		t.Errorf("error = %v, want ErrResultTooLarge", err)
	}
}

func TestPseudoTruncated(t *testing.T) {
	doc, _ := NewDocument(pseudoPage, Limits{})
	c := NewCSS(nil, Limits{MaxMatches: 2})
	got, truncated, err := c.Select(context.Background(), doc, CSSSpec{Selector: "p ::text", All: true})
	if err != nil || !truncated || len(got) != 2 {
		t.Errorf("got %q, %v, %v; want two values, truncated", got, truncated, err)
	}
}

func FuzzSplitPseudo(f *testing.F) {
	for _, s := range []string{"a::attr(href)", "p ::text", "::text", `a[x="::text"]::text`, "a, b::text", "a::attr(", "p *::text", `a\,b::text`} {
		f.Add(s)
	}
	c := NewCSS(nil, Limits{})
	doc, _ := NewDocument(pseudoPage, Limits{})
	f.Fuzz(func(t *testing.T, sel string) {
		_, _, err := c.Select(context.Background(), doc, CSSSpec{Selector: sel, All: true})
		var se *SpecError
		if err != nil && !errors.As(err, &se) && !errors.Is(err, ErrResultTooLarge) {
			t.Fatalf("Select(%q) error = %v, want a *SpecError", sel, err)
		}
	})
}
