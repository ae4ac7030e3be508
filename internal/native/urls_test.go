package native

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestResolveWHATWG resolves a table of cases that the WHATWG URL Standard
// settles (and browsers follow) against a base, through a real question:
// an a@href with AbsoluteURLs. A failure comes back as written, counted.
func TestResolveWHATWG(t *testing.T) {
	const base = "http://example.com/a/b/c"
	tests := []struct {
		href, want string
		failed     bool
	}{
		{"../d", "http://example.com/a/d", false},
		{"d", "http://example.com/a/b/d", false},
		{"//other.org/x", "http://other.org/x", false},
		{"?q=1", "http://example.com/a/b/c?q=1", false},
		{"#frag", "http://example.com/a/b/c#frag", false},
		{"", "http://example.com/a/b/c", false},
		{"  /x  ", "http://example.com/x", false},
		{"/a\tb\nc", "http://example.com/abc", false},
		{`\x\y`, "http://example.com/x/y", false},
		{"HTTP://EXAMPLE.COM/Ä", "http://example.com/%C3%84", false},
		{"http://münchen.de/", "http://xn--mnchen-3ya.de/", false},
		{"https://ex.com:443/x", "https://ex.com/x", false},
		{"http://[::1]:80/", "http://[::1]/", false},
		{"http://0x7f.1/", "http://127.0.0.1/", false},
		{"/./a/../b/%2e/c", "http://example.com/b/c", false},
		{"/path with space", "http://example.com/path%20with%20space", false},
		{"?q=a b&c=\"d\"", "http://example.com/a/b/c?q=a%20b&c=%22d%22", false},
		{"mailto:a@b.c", "mailto:a@b.c", false},
		{"javascript:void(0)", "javascript:void(0)", false},
		{"file:///tmp/x", "file:///tmp/x", false},
		{"http://a b/", "http://a b/", true},
		{"http://ex.com:99999/", "http://ex.com:99999/", true},
		{"http://[::1/", "http://[::1/", true},
		{"https://", "https://", true},
	}
	c := NewCSS(nil, Limits{})
	for _, tt := range tests {
		t.Run(tt.href, func(t *testing.T) {
			doc, err := NewDocument(`<a href="`+strings.ReplaceAll(tt.href, `"`, "&quot;")+`">x</a>`, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			doc.SetURL(base)
			spec := CSSSpec{Selector: "a", Attribute: "href"}
			values, _, err := c.Select(context.Background(), doc, spec)
			if err != nil {
				t.Fatal(err)
			}
			n, err := c.ResolveURLs(doc, spec, values)
			if err != nil {
				t.Fatal(err)
			}
			if values[0] != tt.want || (n == 1) != tt.failed {
				t.Errorf("%q against %s = %q (%d unresolved), want %q (failed %v)", tt.href, base, values[0], n, tt.want, tt.failed)
			}
		})
	}
}

func TestResolveURLs(t *testing.T) {
	const page = `<html><head><base href="/sub/"></head><body>
<a href="x">x</a><a href="https://o.org/y">y</a><img src="i.png" srcset="s1.png 1x, /s2.png 2x,s3.png">
<form action="post"></form><a title="t/u">no href</a>
<svg><a xlink:href="#top"></a></svg></body></html>`
	tests := []struct {
		name, url  string
		spec       CSSSpec
		want       []string
		unresolved int
	}{
		{"base element", "http://example.com/p/q", CSSSpec{Selector: "a", Attribute: "href", All: true},
			[]string{"http://example.com/sub/x", "https://o.org/y"}, 0},
		{"pseudo attr", "http://example.com/p/q", CSSSpec{Selector: "a::attr(href)", All: true},
			[]string{"http://example.com/sub/x", "https://o.org/y"}, 0},
		{"srcset", "http://example.com/", CSSSpec{Selector: "img::attr(srcset)"},
			[]string{"http://example.com/sub/s1.png 1x, http://example.com/s2.png 2x, http://example.com/sub/s3.png"}, 0},
		{"action", "http://example.com/", CSSSpec{Selector: "form::attr(action)"}, []string{"http://example.com/sub/post"}, 0},
		{"not a URL attribute", "http://example.com/", CSSSpec{Selector: "a[title]::attr(title)"}, []string{"t/u"}, 0},
		{"text untouched", "http://example.com/", CSSSpec{Selector: "a::text"}, []string{"x"}, 0},
		{"no document URL: relative ones unresolved", "", CSSSpec{Selector: "a::attr(href)", All: true},
			[]string{"x", "https://o.org/y"}, 1},
	}
	c := NewCSS(nil, Limits{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, _ := NewDocument(page, Limits{})
			doc.SetURL(tt.url)
			values, _, err := c.Select(context.Background(), doc, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			n, err := c.ResolveURLs(doc, tt.spec, values)
			if err != nil || !slices.Equal(values, tt.want) || n != tt.unresolved {
				t.Errorf("got %q (%d unresolved, %v), want %q (%d)", values, n, err, tt.want, tt.unresolved)
			}
		})
	}
}

func TestResolveURLsBase(t *testing.T) {
	tests := []struct {
		name, page, url, want string
	}{
		{"no base", `<a href="x">`, "http://e.com/d/p", "http://e.com/d/x"},
		{"absolute base", `<base href="https://cdn.org/r/"><a href="x">`, "http://e.com/d/p", "https://cdn.org/r/x"},
		{"invalid base falls back to the URL", `<base href="http://a b/"><a href="x">`, "http://e.com/d/p", "http://e.com/d/x"},
		{"first base with href wins", `<base target="_top"><base href="/one/"><base href="/two/"><a href="x">`, "http://e.com/", "http://e.com/one/x"},
		{"base in body counts", `<a href="x"></a><base href="/late/">`, "http://e.com/", "http://e.com/late/x"},
		{"BASE upper case", `<BASE HREF="/up/"><a href="x">`, "http://e.com/", "http://e.com/up/x"},
		{"base without document URL", `<base href="https://b.org/"><a href="x">`, "", "https://b.org/x"},
	}
	c := NewCSS(nil, Limits{})
	for _, tt := range tests {
		for _, tree := range []bool{false, true} {
			doc, _ := NewDocument(tt.page, Limits{})
			doc.SetURL(tt.url)
			if tree {
				doc.UseTree()
			}
			spec := CSSSpec{Selector: "a", Attribute: "href"}
			values, _, err := c.Select(context.Background(), doc, spec)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.ResolveURLs(doc, spec, values); err != nil || values[0] != tt.want {
				t.Errorf("%s (tree %v): %q, %v; want %q", tt.name, tree, values, err, tt.want)
			}
		}
	}
}

func TestXPathAbsoluteURLs(t *testing.T) {
	doc, _ := NewDocument(`<a href="x">x</a><img src="/i.png"><svg><a xlink:href="#t"></a></svg><a href="http://a b/">bad</a>`, Limits{})
	doc.SetURL("https://e.org/d/")
	c := NewCSS(nil, Limits{})
	for _, tt := range []struct {
		spec       XPathSpec
		want       []string
		unresolved int
	}{
		{XPathSpec{Expression: "//@href | //@src", All: true, AbsoluteURLs: true}, []string{"https://e.org/d/x", "https://e.org/i.png", "http://a b/"}, 1},
		{XPathSpec{Expression: "//a", Attribute: "href", All: true, AbsoluteURLs: true}, []string{"https://e.org/d/x", "http://a b/"}, 1},
		{XPathSpec{Expression: "//@xlink:href", AbsoluteURLs: true}, []string{"https://e.org/d/#t"}, 0},
		{XPathSpec{Expression: "//@href", All: true}, []string{"x", "http://a b/"}, 0},
		{XPathSpec{Expression: "string(//@href)", AbsoluteURLs: true}, []string{"x"}, 0},
	} {
		got, err := c.XPath(context.Background(), doc, tt.spec)
		if err != nil || !slices.Equal(got.Values, tt.want) || got.Unresolved != tt.unresolved {
			t.Errorf("XPath(%q) = %q (%d unresolved), %v; want %q (%d)", tt.spec.Expression, got.Values, got.Unresolved, err, tt.want, tt.unresolved)
		}
	}
}

// TestResolveURLsResultTooLarge: resolving makes values longer, and the
// longer values are held to MaxResultBytes.
func TestResolveURLsResultTooLarge(t *testing.T) {
	doc, _ := NewDocument(strings.Repeat(`<a href="x">`, 10), Limits{})
	doc.SetURL("https://example.com/a/long/path/")
	c := NewCSS(nil, Limits{MaxResultBytes: 100})
	spec := CSSSpec{Selector: "a", Attribute: "href", All: true}
	values, _, err := c.Select(context.Background(), doc, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ResolveURLs(doc, spec, values); !errors.Is(err, ErrResultTooLarge) {
		t.Errorf("error = %v, want ErrResultTooLarge", err)
	}
	if _, err := c.XPath(context.Background(), doc, XPathSpec{Expression: "//@href", All: true, AbsoluteURLs: true}); !errors.Is(err, ErrResultTooLarge) {
		t.Errorf("XPath error = %v, want ErrResultTooLarge", err)
	}
}

// FuzzResolveURLs checks that resolution never panics and that an href it
// resolved is a fixed point: the WHATWG serializer's output parses back to
// itself.
func FuzzResolveURLs(f *testing.F) {
	for _, s := range []string{"x", "../a", "http://a b/", "a.jpg 1x, b.jpg 2x", "data:,x", `\\x`, "img(1,2).png 1x", ",,,", "http://[::1"} {
		f.Add(s, "https://e.org/d/")
	}
	f.Fuzz(func(t *testing.T, v, base string) {
		doc, err := NewDocument("<img>", Limits{})
		if err != nil {
			t.Fatal(err)
		}
		doc.SetURL(base)
		r := urlResolver{base: doc.base()}
		_ = r.resolve("srcset", v)
		out := r.resolve("href", v)
		if r.unresolved > 0 {
			return
		}
		again := urlResolver{base: doc.base()}
		if out2 := again.resolve("href", out); out2 != out || again.unresolved != 0 {
			t.Fatalf("resolve(%q) = %q, which resolves to %q (%d unresolved)", v, out, out2, again.unresolved)
		}
	})
}
