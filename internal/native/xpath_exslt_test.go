package native

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

const exsltPage = `<html><body>
<ul>
<li class="item first" data-re="^/b">/a/1</li>
<li class="item	sale
 new">/b/22</li>
<li class=" Item ">/C/333</li>
<li>plain</li>
</ul>
<p class="x"><span class="x y">in</span></p>
</body></html>`

// TestXPathEXSLT answers what lxml and parsel answer for these
// expressions, with Go's RE2 where they use Python's re.
func TestXPathEXSLT(t *testing.T) {
	tests := []struct {
		name string
		spec XPathSpec
		kind XPathKind
		want []string
	}{
		// re:test
		{"test", XPathSpec{Expression: `//li[re:test(., '^/[a-z]/')]`, All: true}, XPathNodeSet, []string{"/a/1", "/b/22"}},
		{"test i", XPathSpec{Expression: `//li[re:test(., '^/[a-z]/', 'i')]`, All: true}, XPathNodeSet, []string{"/a/1", "/b/22", "/C/333"}},
		{"test g changes nothing", XPathSpec{Expression: `count(//li[re:test(., '\d+', 'g')])`}, XPathNumber, []string{"3"}},
		{"test gi", XPathSpec{Expression: `count(//li[re:test(., 'PLAIN', 'gi')])`}, XPathNumber, []string{"1"}},
		{"test an attribute", XPathSpec{Expression: `//li[re:test(@class, 'sale')]`}, XPathNodeSet, []string{"/b/22"}},
		{"test a missing attribute is the empty string", XPathSpec{Expression: `count(//li[re:test(@title, '^$')])`}, XPathNumber, []string{"4"}},
		{"test the first node of a set", XPathSpec{Expression: `re:test(//li, '^/a')`}, XPathBoolean, []string{"true"}},
		{"test only the first node", XPathSpec{Expression: `re:test(//li, '^/b')`}, XPathBoolean, []string{"false"}},
		{"test a number", XPathSpec{Expression: `re:test(12.5, '^12\.5$')`}, XPathBoolean, []string{"true"}},
		{"test a pattern from the page", XPathSpec{Expression: `count(//li[re:test(., //li[1]/@data-re)])`}, XPathNumber, []string{"1"}},
		{"test flags from the page", XPathSpec{Expression: `count(//li[re:test(., '^/c', substring('xi', 2))])`}, XPathNumber, []string{"1"}},
		// has-class
		{"has-class", XPathSpec{Expression: `//li[has-class('item')]`, All: true}, XPathNodeSet, []string{"/a/1", "/b/22"}},
		{"has-class is case-sensitive", XPathSpec{Expression: `//li[has-class('Item')]`, All: true}, XPathNodeSet, []string{"/C/333"}},
		{"has-class every name", XPathSpec{Expression: `//li[has-class('item', 'new')]`, All: true}, XPathNodeSet, []string{"/b/22"}},
		{"has-class HTML white space", XPathSpec{Expression: `//li[has-class('sale', 'new', 'item')]`}, XPathNodeSet, []string{"/b/22"}},
		{"has-class not a prefix", XPathSpec{Expression: `count(//li[has-class('ite')])`}, XPathNumber, []string{"0"}},
		{"has-class without the attribute", XPathSpec{Expression: `count(//*[has-class('x')])`}, XPathNumber, []string{"2"}},
		{"has-class with a string expression", XPathSpec{Expression: `//*[has-class(concat('x', ''), substring('ay', 2))]`}, XPathNodeSet, []string{"in"}},
		// parsel reads the attribute as " x y " and looks for " x y ".
		{"has-class spanning two classes", XPathSpec{Expression: `//*[has-class('x y')]`}, XPathNodeSet, []string{"in"}},
		{"has-class on the context", XPathSpec{Expression: `has-class('x')`}, XPathBoolean, []string{"false"}},
	}
	doc, err := NewDocument(exsltPage, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c := NewCSS(nil, Limits{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.XPath(context.Background(), doc, tt.spec)
			if err != nil {
				t.Fatalf("XPath(%q): %v", tt.spec.Expression, err)
			}
			if got.Kind != tt.kind || !slices.Equal(got.Values, tt.want) {
				t.Errorf("XPath(%q) = %v %q, want %v %q", tt.spec.Expression, got.Kind, got.Values, tt.kind, tt.want)
			}
		})
	}
}

func TestXPathEXSLTErrors(t *testing.T) {
	doc, err := NewDocument(exsltPage, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		limits Limits
		expr   string
		// says is what the error must say.
		says  string
		cause error
	}{
		{"test bad pattern", Limits{}, `//li[re:test(., '(')]`, "missing closing )", nil},
		{"test unknown flag", Limits{}, `//li[re:test(., 'a', 'x')]`, `flag 'x' (g and i are)`, nil},
		{"test XPath 2.0 flag", Limits{}, `//li[re:test(., 'a', 's')]`, `flag 's'`, nil},
		{"test unknown flag from the page", Limits{}, `//li[re:test(., 'a', string(@class))]`, `flag 't'`, nil},
		{"test bad pattern from the page", Limits{}, `//li[re:test(., concat('(', .))]`, "cannot be evaluated", nil},
		{"test arity", Limits{}, `//li[re:test(.)]`, "re:test() takes 2 to 3 arguments", nil},
		{"test too many arguments", Limits{}, `//li[re:test(., 'a', 'i', 'x')]`, "re:test() takes 2 to 3 arguments", nil},
		{"test pattern from the page over MaxPatternLen", Limits{MaxPatternLen: 4}, `//li[re:test(., string(.))]`, "MaxPatternLen 4", ErrTooLong},
		{"unknown re: function", Limits{}, `re:split('a', 'b')`, "unknown function re:split()", nil},
		// parsel: "has-class must have at least 1 argument" and "has-class
		// arguments must be strings".
		{"has-class without arguments", Limits{}, `//li[has-class()]`, "has-class() takes at least 1 arguments", nil},
		{"has-class of a node set", Limits{}, `//li[has-class(@class)]`, "argument 1 is a node-set; has-class() takes strings", nil},
		{"has-class of a number", Limits{}, `//li[has-class('a', 1)]`, "argument 2 is a number", nil},
		{"has-class of a boolean", Limits{}, `//li[has-class(true())]`, "argument 1 is a boolean", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCSS(nil, tt.limits)
			_, err := c.XPath(context.Background(), doc, XPathSpec{Expression: tt.expr, All: true})
			var se *SpecError
			if !errors.As(err, &se) || se.Field != "expression" {
				t.Fatalf("XPath(%q) error = %v, want a *SpecError on expression", tt.expr, err)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("XPath(%q) error = %q, want it to say %q", tt.expr, err, tt.says)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("error = %v, want cause %v", err, tt.cause)
			}
		})
	}
}

// TestXPathEXSLTBounded: re:test and has-class over 100,000 nodes, with
// the default budget, stop with ErrTooCostly rather than run as long as
// the page and the expression make them: the input's string value, the
// match (by the pattern's program size), a pattern taken from the page
// and every class name tested are charged.
func TestXPathEXSLTBounded(t *testing.T) {
	word := "abcdefghijklmnopqrstuvwxyz0123"
	page := "<html><body>" + strings.Repeat(`<p class="`+word+` a">`+word+`</p>`, 100_000) + "</body></html>"
	doc, err := NewDocument(page, Limits{MaxDocumentBytes: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	c := NewCSS(nil, Limits{})
	names := strings.Repeat("'a', ", 100) + "'b'"
	for _, expr := range []string{
		// A long input for each node.
		`count(//p[re:test(string(/), 'z')])`,
		// A large program over a short input.
		`count(//p[re:test(., '[a-z]{1000}!')])`,
		// A long pattern from the page, compiled once and then matched.
		`count(//p[re:test(., substring(string(/), 1, 4000))])`,
		// A pattern from each node, compiled for each.
		`count(//p[re:test(., concat(., position(), '{100}'), 'i')])`,
		`count(//p[has-class(` + names + `)])`,
	} {
		_, err := c.XPath(context.Background(), doc, XPathSpec{Expression: expr})
		if !errors.Is(err, ErrTooCostly) {
			t.Errorf("XPath(%q) error = %v, want ErrTooCostly", clip(expr, 60), err)
		}
	}
}
