package native

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/testenv"
)

// TestStructuredMicroformats checks each rule of microformats2 parsing
// on a small page; every want is what mf2py 1.1.2 (extruct's
// microformat syntax) answers for the page, BeautifulSoup's lxml parser
// and all, but where a comment says otherwise.
func TestStructuredMicroformats(t *testing.T) {
	only := StructuredSpec{Syntaxes: []string{SyntaxMicroformat}}
	tests := []struct {
		name, page, want string
	}{
		{"no microformats", `<p class="x">x</p>`, `{"microformat":[]}`},
		{"implied name, photo and url",
			`<div class="h-card"><a href="/me"><img src="a.png" alt="Ann"></a></div>`,
			`{"microformat":[{"properties":{"name":["Ann"],"photo":["https://e.org/d/a.png"],"url":["https://e.org/me"]},"type":["h-card"]}]}`},
		{"implied name from text, no implied url past a u- property",
			`<div class="h-card"> Ann <b>Lee</b> <a class="u-uid" href="x">x</a><a href="y">y</a></div>`,
			`{"microformat":[{"properties":{"name":["Ann Lee xy"],"uid":["https://e.org/d/x"]},"type":["h-card"]}]}`},
		{"p- from value classes, abbr title, data value, img alt",
			`<div class="h-x"><p class="p-a"><span class="value">1</span>-<span class="value-title" title="2">z</span></p><abbr class="p-b" title="B">b</abbr><data class="p-c" value="C">c</data><img class="p-d" alt="D" src="d.png"></div>`,
			`{"microformat":[{"properties":{"a":["12"],"b":["B"],"c":["C"],"d":["D"],"photo":["https://e.org/d/d.png"]},"type":["h-x"]}]}`},
		{"u- from href, src, poster, data, else text",
			`<div class="h-x"><a class="u-a" href="../a">a</a><img class="u-b" src="//cdn.e.org/b.png"><video class="u-c" poster="c.jpg"></video><object class="u-d" data="d.swf"></object><abbr class="u-e" title="E">e</abbr><span class="u-f"> f </span></div>`,
			`{"microformat":[{"properties":{"a":["https://e.org/a"],"b":["https://cdn.e.org/b.png"],"c":["https://e.org/d/c.jpg"],"d":["https://e.org/d/d.swf"],"e":["E"],"f":["f"],"name":["ae f"],"photo":["https://cdn.e.org/b.png"]},"type":["h-x"]}]}`},
		{"dt- value-class date and 12-hour time, a time alone takes the date",
			`<div class="h-event"><span class="dt-start"><span class="value">2020-010</span> at <span class="value">5:30pm</span></span><time class="dt-end" datetime="18:00">six</time><span class="dt-x"><span class="value">soon</span></span></div>`,
			`{"microformat":[{"properties":{"end":["2020-01-10 18:00"],"name":["2020-010 at 5:30pmsixsoon"],"start":["2020-01-10 17:30"],"x":["2020-010"]},"type":["h-event"]}]}`},
		{"e- html and value",
			`<div class="h-entry"><div class="e-content"><p title='a"b' class=" x  y ">T &amp; &lt;x&gt; "q"<br><input disabled></p><!-- c --><template>t</template><pre> a
 b </pre></div></div>`,
			`{"microformat":[{"properties":{"content":[{"html":"\u003cp class=\"x y\" title='a\"b'\u003eT \u0026amp; \u0026lt;x\u0026gt; \"q\"\u003cbr/\u003e\u003cinput disabled=\"\"/\u003e\u003c/p\u003e\u003c!-- c --\u003e\u003cpre\u003e a\n b \u003c/pre\u003e","value":"T \u0026 \u003cx\u003e \"q\"\n a\n b "}]},"type":["h-entry"]}]}`},
		{"nested property microformat with a value, and children",
			`<div class="h-entry"><div class="p-author h-card"><span class="p-name">Ann</span><a class="u-url" href="/ann">x</a></div><a class="u-in-reply-to h-cite" href="/r">r</a><div class="h-card">child</div></div>`,
			`{"microformat":[{"children":[{"properties":{"name":["child"]},"type":["h-card"]}],"properties":{"author":[{"properties":{"name":["Ann"],"url":["https://e.org/ann"]},"type":["h-card"],"value":"Ann"}],"in-reply-to":[{"properties":{"name":["r"],"url":["https://e.org/r"]},"type":["h-cite"],"value":"https://e.org/r"}]},"type":["h-entry"]}]}`},
		{"microformats v1: hentry with rel tag and bookmark, author vcard, entry-content",
			`<div class="hentry"><h2 class="entry-title">Title</h2><a rel="tag" href="/tags/foo%20bar/">foo</a><a rel="bookmark" href="/p/1">#</a><span class="author vcard"><span class="fn">Joe</span></span><abbr class="published" title="2021-02-03T04:05:06Z">x</abbr><div class="entry-content"><b>hi</b></div></div>`,
			`{"microformat":[{"properties":{"author":[{"properties":{"name":["Joe"]},"type":["h-card"],"value":"Joe"}],"category":["foo bar"],"content":[{"html":"\u003cb\u003ehi\u003c/b\u003e","value":"hi"}],"name":["Title"],"published":["2021-02-03T04:05:06Z"],"url":["https://e.org/p/1"]},"type":["h-entry"]}]}`},
		{"microformats v1: vcard and nested adr",
			`<div class="vcard"><span class="fn">Ann</span><a class="url" href="/ann">a</a><div class="adr"><span class="locality">Oslo</span></div><span class="p-name">ignored mf2 name</span></div>`,
			`{"microformat":[{"properties":{"adr":[{"properties":{"name":["Oslo"]},"type":["h-adr"],"value":"Oslo"}],"name":["Ann"],"url":["https://e.org/ann"]},"type":["h-card"]}]}`},
		{"area shape and coords",
			`<map><area class="h-x" shape="rect" coords="0,0,1,1" href="/a" alt="A"></map>`,
			`{"microformat":[{"coords":"0,0,1,1","properties":{"name":["A"],"url":["https://e.org/a"]},"shape":"rect","type":["h-x"]}]}`},
		{"template content is no microformat",
			`<template><div class="h-card">x</div></template><p class="h-card">y</p>`,
			`{"microformat":[{"properties":{"name":["y"]},"type":["h-card"]}]}`},
		{"base href resolves",
			`<head><base href="/b/"></head><div class="h-card"><img src="p.png"></div>`,
			`{"microformat":[{"properties":{"name":[""],"photo":["https://e.org/b/p.png"]},"type":["h-card"]}]}`},
		{"invalid class names are none",
			`<div class="h-Card h- h-x-"><span class="p-name">n</span></div><div class="h-card-2 h-x1-card"><span class="p-nAme">n</span></div>`,
			`{"microformat":[{"properties":{"name":["n"]},"type":["h-x1-card"]}]}`},
		{"v1 hreview: item vcard, reviewer, dtreviewed",
			`<div class="hreview"><span class="item vcard"><span class="fn">Bob</span><a class="url" href="/b">b</a></span><abbr class="dtreviewed" title="2020-05-06">May</abbr><span class="rating">4</span><span class="reviewer vcard"><span class="fn">Ann</span></span><div class="description">Good</div></div>`,
			`{"microformat":[{"properties":{"author":[{"properties":{"name":["Ann"]},"type":["h-card"],"value":"Ann"}],"description":["Good"],"item":[{"properties":{"name":["Bob"],"url":["https://e.org/b"]},"type":["h-card"],"value":"Bob"}],"rating":["4"],"reviewed":["2020-05-06"]},"type":["h-review"]}]}`},
		{"v1 vevent: abbr dtstart, value-class dtend, url",
			`<div class="vevent"><span class="summary">Party</span><abbr class="dtstart" title="2021-01-01T20:00">x</abbr><span class="dtend"><span class="value">2021-01-01</span><span class="value">11pm</span></span><span class="location">Here</span><a class="url" href="http://e.org/ev">e</a></div>`,
			`{"microformat":[{"properties":{"end":["2021-01-01 23:00"],"location":["Here"],"name":["Party"],"start":["2021-01-01T20:00"],"url":["http://e.org/ev"]},"type":["h-event"]}]}`},
		{"v1 hfeed and hentry: bookmark, rel tag with a query, summary with an image",
			`<div class="hfeed"><h1 class="site-title">Blog</h1><div class="hentry"><a class="entry-title" rel="bookmark" href="/p">P</a><span class="entry-summary">S <img src="i.png" alt="I"> t</span><a rel="tag" href="http://e.org/t/x/?q=1">x</a></div></div>`,
			`{"microformat":[{"children":[{"properties":{"category":["?q=1"],"name":["P"],"summary":["S  I  t"],"url":["https://e.org/p"]},"type":["h-entry"]}],"properties":{"name":["Blog"]},"type":["h-feed"]}]}`},
		{"text: br, paragraphs, pre, spaces",
			`<div class="h-card"><p>Line <br>two</p><p>Para</p> <pre>  keep  </pre> end</div>`,
			`{"microformat":[{"properties":{"name":["Line \ntwo\nPara  keep   end"]},"type":["h-card"]}]}`},
		{"a root that is p- and e- properties, and u- and p-",
			`<div class="h-entry"><div class="p-name e-content h-cite"><b>Q</b></div><span class="u-photo p-x h-card"><img src="z.png" alt="Z"></span></div>`,
			`{"microformat":[{"properties":{"content":[{"html":"\u003cb\u003eQ\u003c/b\u003e","properties":{"name":["Q"]},"type":["h-cite"],"value":"Q"}],"name":[{"properties":{"name":["Q"]},"type":["h-cite"],"value":"Q"}],"photo":[{"properties":{"name":["Z"],"photo":["https://e.org/d/z.png"]},"type":["h-card"],"value":""}],"x":[{"properties":{"name":["Z"],"photo":["https://e.org/d/z.png"]},"type":["h-card"],"value":"Z"}]},"type":["h-entry"]}]}`},
		{"ordinal dates and a root that is a property with no value class",
			`<ul class="h-feed"><li class="h-entry"><a class="u-url" href="/1"><time class="dt-published" datetime="2019-075">x</time></a></li><li class="h-entry p-x"><a href="/2">two</a></li></ul>`,
			`{"microformat":[{"children":[{"properties":{"name":["x"],"published":["2019-075"],"url":["https://e.org/1"]},"type":["h-entry"]}],"properties":{"x":[{"properties":{"name":["two"],"url":["https://e.org/2"]},"type":["h-entry"],"value":"two"}]},"type":["h-feed"]}]}`},
		// mf2py leaves an implied photo from <object data> as written.
		{"implied photo from object data, made absolute",
			`<div class="h-card"><object data="/o.swf"></object></div>`,
			`{"microformat":[{"properties":{"name":[""],"photo":["https://e.org/o.swf"]},"type":["h-card"]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, truncated := structuredJSON(t, tt.page, only); got != tt.want || truncated {
				t.Errorf("got  %s (truncated %v)\nwant %s", got, truncated, tt.want)
			}
		})
	}
}

func TestNormalizeDateTime(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2020-01-02T03:04", "2020-01-02T03:04"},
		{"2020-01-02 3pm", "2020-01-02 15:00"},
		{"2020-01-02 12am", "2020-01-02 00:00"},
		{"2020-01-02 12:30 p.m.", "2020-01-02 12:30"},
		{"2020-032 10:11:12.5Z", "2020-02-01 10:11:12Z"},
		{"2020-01-02 10:11 +0100", "2020-01-02 10:11+0100"},
		{"2021-366 1:00", "2022-01-01 1:00"},
		{"0000-001 1:00", "0000-001 1:00"},
		{"tomorrow", "tomorrow"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := normalizeDateTime(tt.in); got != tt.want {
			t.Errorf("normalizeDateTime(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestStructuredMicroformatsBounds holds each microformats bound against
// a page built to exceed it.
func TestStructuredMicroformatsBounds(t *testing.T) {
	only := StructuredSpec{Syntaxes: []string{SyntaxMicroformat}}
	t.Run("depth", func(t *testing.T) {
		n := MaxMicroformatDepth + 10
		page := strings.Repeat(`<div class="h-x p-y">`, n) + strings.Repeat(`</div>`, n)
		got, truncated := structuredJSON(t, page, only)
		if !truncated {
			t.Error("truncated = false past MaxMicroformatDepth")
		}
		if c := strings.Count(got, `"type"`); c != MaxMicroformatDepth {
			t.Errorf("%d microformats, want %d", c, MaxMicroformatDepth)
		}
	})
	t.Run("items", func(t *testing.T) {
		page := strings.Repeat(`<i class="h-x"></i>`, MaxStructuredItems+10)
		got, truncated := structuredJSON(t, page, only)
		if !truncated {
			t.Error("truncated = false past MaxStructuredItems")
		}
		// Each microformat and its implied name count.
		if c := strings.Count(got, `"type"`); c != MaxStructuredItems/2 {
			t.Errorf("%d microformats, want %d", c, MaxStructuredItems/2)
		}
	})
	t.Run("a root in many properties at every level", func(t *testing.T) {
		// Each root is parsed again for every property it is: 8 names
		// at each of 12 levels would be 8^12 microformats.
		names := `h-x p-a p-b p-c p-d u-e u-f e-g dt-h`
		n := 12
		page := strings.Repeat(`<div class="`+names+`">`, n) + strings.Repeat(`</div>`, n)
		_, truncated := structuredJSON(t, page, only)
		if !truncated {
			t.Error("truncated = false: the repeated parses were not bounded")
		}
	})
	t.Run("class attributes of many names", func(t *testing.T) {
		// 100,000 distinct property and root names on one element: one
		// search of the names met so far for each would be quadratic.
		var b strings.Builder
		for i := range 100_000 {
			b.WriteString(" p-n" + strings.Repeat("a", i%7) + "-" + strings.Repeat("b", i/7%50+1) + " h-r" + strings.Repeat("c", i%20+1))
		}
		mfAnswer(t, `<div class="h-x"><i class="`+b.String()+`"></i></div>`, true)
	})
	t.Run("long class attributes read at every level", func(t *testing.T) {
		// The class names of an element are read each time a
		// microformat around it is: 12 nested roots (under
		// MaxMicroformatDepth), each a property, with 420 KB of class
		// names.
		var b strings.Builder
		for i := range 60_000 {
			b.WriteString(" j" + strconv.Itoa(i))
		}
		names := b.String() + " p-a h-r"
		n := 12
		got := mfAnswer(t, `<div class="h-x">`+strings.Repeat(`<div class="`+names+`">`, n)+strings.Repeat(`</div>`, n+1), true)
		if c := strings.Count(got, `"type"`); c >= n+1 {
			t.Errorf("%d microformats: the class names were not charged", c)
		}
	})
	t.Run("text read again at every level", func(t *testing.T) {
		// Every level's implied name is the text of all below: read whole,
		// the work would be quadratic in the page (n is under the
		// parser's 512 open elements).
		word := strings.Repeat("x", 1000)
		n := 500
		page := strings.Repeat(`<div class="h-x">`+word, n) + strings.Repeat(`</div>`, n)
		ans := structuredUnbounded(t, page, only)
		if !ans.Truncated {
			t.Error("truncated = false past MaxMicroformatBytes")
		}
		b, _ := json.Marshal(ans.Data)
		if len(b) > MaxMicroformatBytes+MaxMicroformatBytes/4 {
			t.Errorf("answer of %d bytes, over MaxMicroformatBytes (%d)", len(b), MaxMicroformatBytes)
		}
	})
	t.Run("elements without text", func(t *testing.T) {
		// Many elements below many e-* properties cost a walk each.
		n := 400
		page := strings.Repeat(`<div class="h-x e-c">`, n) + strings.Repeat(`<i></i>`, 20000)
		ans := structuredUnbounded(t, page, only)
		if !ans.Truncated {
			t.Error("truncated = false: the walks were not charged")
		}
	})
}

// mfAnswer answers page's microformats, with no limit on the document or
// result size, as JSON, and checks that the answer is truncated or not.
func mfAnswer(t *testing.T, page string, truncated bool) string {
	t.Helper()
	ans := structuredUnbounded(t, page, StructuredSpec{Syntaxes: []string{SyntaxMicroformat}})
	if ans.Truncated != truncated {
		t.Errorf("truncated = %v, want %v", ans.Truncated, truncated)
	}
	b, err := json.Marshal(ans.Data)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestStructuredMicroformatsCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	doc, err := NewDocument(strings.Repeat(`<div class="h-card"><span class="p-name">x</span></div>`, 5000), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewCSS(nil, Limits{}).Structured(ctx, doc, StructuredSpec{Syntaxes: []string{SyntaxMicroformat}}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// FuzzStructuredMicroformats holds any page's microformats answer to
// JSON within its bounds, without a panic.
func FuzzStructuredMicroformats(f *testing.F) {
	for _, s := range []string{
		`<div class="h-card"><a href="/me"><img src="a.png" alt="Ann"></a></div>`,
		`<div class="hentry"><a rel="tag bookmark self" href="/t/%zz%41/">t</a><span class="author vcard"><span class="fn">J</span></span></div>`,
		`<div class="h-event p-x dt-y"><span class="dt-start"><span class="value-title" title="Z"></span><span class="value">12pm</span></span><div class="e-c"><pre>x</pre></div></div>`,
		`<div class="hreview"><div class="item vcard"><span class="fn">n</span></div><abbr class="dtreviewed" title="2020-400 13am">x</abbr></div>`,
		`<area class="h-x u-y" shape coords href="http://[">`,
	} {
		f.Add(s)
	}
	c := NewCSS(nil, Limits{})
	f.Fuzz(func(t *testing.T, s string) {
		doc, err := NewDocument(s, Limits{})
		if err != nil {
			return
		}
		doc.SetURL("https://e.org/")
		ans, err := c.Structured(context.Background(), doc, StructuredSpec{Syntaxes: []string{SyntaxMicroformat}})
		if err != nil {
			if errors.Is(err, ErrUnparsable) || errors.Is(err, ErrResultTooLarge) {
				return
			}
			t.Fatalf("Structured: %v", err)
		}
		items, _ := ans.Data[SyntaxMicroformat].([]any)
		for _, it := range items {
			if ty, _ := it.(map[string]any)["type"].([]any); len(ty) == 0 {
				t.Fatalf("microformat without a type: %v", it)
			}
		}
		var null func(v any) bool
		null = func(v any) bool {
			switch v := v.(type) {
			case nil:
				return true
			case map[string]any:
				return v == nil || slices.ContainsFunc(slices.Collect(maps.Values(v)), null)
			case []any:
				return slices.ContainsFunc(v, null)
			}
			return false
		}
		if null(items) {
			t.Fatalf("a null in the answer: %v", items)
		}
		if _, err := json.Marshal(ans.Data); err != nil {
			t.Fatalf("answer is not JSON: %v", err)
		}
	})
}

// BenchmarkStructuredMicroformats measures what microformats add to a
// structured answer on the median readability page: part=microformat
// answers them alone from the parsed tree; part=default answers a request
// naming no syntaxes (every syntax, microformats included) and
// part=default-without answers every syntax but microformats, parse
// included in both, so that their ratio is the cost of having
// microformats in the default.
func BenchmarkStructuredMicroformats(b *testing.B) {
	pages := testenv.CorpusPages(b)
	p := pages[len(pages)/2]
	c := NewCSS(nil, Limits{})
	ctx := context.Background()
	b.Run("part=microformat", func(b *testing.B) {
		doc, err := NewDocument(p.Source, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := doc.Root(); err != nil {
			b.Fatal(err)
		}
		spec := StructuredSpec{Syntaxes: []string{SyntaxMicroformat}}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Structured(ctx, doc, spec); err != nil {
				b.Fatal(err)
			}
		}
	})
	without := slices.DeleteFunc(Syntaxes(), func(s string) bool { return s == SyntaxMicroformat })
	for _, bc := range []struct {
		name string
		spec StructuredSpec
	}{
		{"part=default", StructuredSpec{}},
		{"part=default-without", StructuredSpec{Syntaxes: without}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				doc, err := NewDocument(p.Source, Limits{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Structured(ctx, doc, bc.spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
