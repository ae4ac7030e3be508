package native

import (
	"context"
	"testing"
)

// TestPseudoAgreesWithParsel asks the anchors' parsel selectors, pasted as
// they are, of every page of the corpus and compares with parsel's
// getall() on the same HTML5 tree (see make_anchors.py and
// scriptlessDocument). The differences that remain are explained in
// pseudoExplained.
func TestPseudoAgreesWithParsel(t *testing.T) {
	a, pages := loadAnchors(t)
	c := NewCSS(nil, Limits{MaxMatches: 1 << 20, MaxResultBytes: 1 << 30})
	mismatches := map[string][]string{}
	for _, p := range pages {
		doc := scriptlessDocument(t, p)
		for i, q := range a.PseudoQueries {
			values, _, err := c.Select(context.Background(), doc, CSSSpec{Selector: q, All: true})
			if err != nil {
				t.Fatalf("%s: Select(%q): %v", p.name, q, err)
			}
			if !answerOf(values).equal(a.Pages[p.name].Pseudo[i]) {
				mismatches[q] = append(mismatches[q], p.name)
			}
		}
	}
	checkExplained(t, "parsel", a.PseudoQueries, mismatches, pseudoExplained, len(pages))
}

// pseudoExplained: title::text also answers the <title> of inline SVG
// icons, which cascadia matches by local name and parsel's XPath on
// html5lib's tree does not (it is {http://www.w3.org/2000/svg}title
// there); ::text differs where libxml2 splits a text node in two at a
// comment or a control character that html5lib dropped (the text is the
// same, cut differently); and trafilatura-eval 0018 and 0044 are built
// into different trees by html5lib 1.1 and x/net/html.
var pseudoExplained = explained{
	"title::text":        {60, "inline SVG titles"},
	"a::attr(href)":      {1, "tree difference (0018)"},
	"p::text":            {10, "text nodes split differently"},
	"p ::text":           {11, "text nodes split differently"},
	"a::text":            {15, "text nodes split differently"},
	"h1::text, h2::text": {1, "tree difference (0044)"},
}
