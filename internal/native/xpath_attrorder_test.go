package native

import (
	"context"
	"slices"
	"testing"
)

// TestXPathAttributeOrder pins a difference from lxml that no anchor
// expression shows: the order of an element's attribute nodes.
//
// XPath 1.0 leaves the order of attributes to the implementation. lxml
// (and so parsel) answers them as the markup writes them, on every
// element. The daemon answers them in the order of the tree, and
// x/net/html's tree builder sorts the attributes of the formatting
// elements (a, b, big, code, em, font, i, nobr, s, small, strike, strong,
// tt, u) by name when it adds them to the list of active formatting
// elements (parse.go, addFormattingElement, to compare them for the
// Noah's Ark clause). So //a/@* answers class before href where lxml
// answers href before class; other elements keep the markup's order. The
// same sorted order is what outer HTML writes for those elements, from the
// tree and from the token stream alike. An attribute asked for by name
// (//a/@href) is not affected.
func TestXPathAttributeOrder(t *testing.T) {
	const page = `<p><a href="/x" class="z" id="q">x</a><b title="t" data-k="1">y</b></p>` +
		`<div title="t" data-k="1" class="c">z</div><img src="i.png" alt="A">`
	tests := []struct {
		expr string
		want []string
	}{
		// Formatting elements: sorted by name (lxml: /x z q, and t 1).
		{"//a/@*", []string{"z", "/x", "q"}},
		{"//b/@*", []string{"1", "t"}},
		{"//a/@*[1]", []string{"z"}},
		// Other elements: as written, as lxml answers.
		{"//div/@*", []string{"t", "1", "c"}},
		{"//img/@*", []string{"i.png", "A"}},
		{"//div/@*[1]", []string{"t"}},
		// By name: the same answer as lxml's.
		{"//a/@href", []string{"/x"}},
	}
	doc, err := NewDocument(page, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c := NewCSS(nil, Limits{})
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			ans, err := c.XPath(context.Background(), doc, XPathSpec{Expression: tt.expr, All: true})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ans.Values, tt.want) {
				t.Errorf("XPath(%q) = %q, want %q", tt.expr, ans.Values, tt.want)
			}
		})
	}
}
