package native

import (
	"context"
	"encoding/json"
	"testing"
)

// structuredBothWays answers spec on src from the token stream (when it
// can: streamed reports whether it did) and from the tree.
func structuredBothWays(t testing.TB, c *CSS, src, url string, spec StructuredSpec) (stream, tree string, streamed bool) {
	t.Helper()
	answer := func(useTree bool) (string, bool) {
		doc, err := NewDocument(src, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		doc.SetURL(url)
		if useTree {
			doc.UseTree()
		}
		before := c.cache.Stats().Streamed
		ans, err := c.Structured(context.Background(), doc, spec)
		if err != nil {
			return "error: " + err.Error(), false
		}
		b, err := json.Marshal(ans)
		if err != nil {
			t.Fatal(err)
		}
		return string(b), c.cache.Stats().Streamed > before
	}
	stream, streamed = answer(false)
	tree, _ = answer(true)
	return stream, tree, streamed
}

// TestStructuredStreamMatchesTree: on every page of the corpus, extruct's
// three syntaxes answer the same from the token stream as from the tree,
// and most pages are answered from the stream.
func TestStructuredStreamMatchesTree(t *testing.T) {
	_, pages := loadAnchors(t)
	c := NewCSS(NewSelectorCache(0), Limits{})
	spec := StructuredSpec{Syntaxes: []string{SyntaxJSONLD, SyntaxMicrodata, SyntaxOpenGraph}}
	streamed := 0
	for _, p := range pages {
		stream, tree, ok := structuredBothWays(t, c, p.src, p.url, spec)
		if stream != tree {
			t.Errorf("%s: from the stream %s\nfrom the tree %s", p.name, clip(stream, 300), clip(tree, 300))
		}
		if ok {
			streamed++
		}
	}
	t.Logf("%d of %d pages answered from the token stream", streamed, len(pages))
	if streamed < len(pages)/3 {
		t.Errorf("only %d of %d pages answered from the token stream", streamed, len(pages))
	}
}

func TestStructuredStream(t *testing.T) {
	tests := []struct {
		name     string
		page     string
		streamed bool
	}{
		{"head metas and json-ld", `<html prefix="og: http://ogp.me/ns#"><head><meta property="og:title" content="T"><script type="application/ld+json">{"a": 1}</script></head><body><p>x</p><script type="application/ld+json">[{"b": 2}]</script></body></html>`, true},
		{"meta after head", `<head><title>t</title></head> <meta property="og:title" content="after"><body>x`, true},
		{"meta in body is not in head", `<title>t</title>text<meta property="og:title" content="body">`, true},
		{"implied head", `<meta property="og:type" content="article"><p>x<meta property="og:title" content="no">`, true},
		{"noscript in head is raw text", `<head><noscript><meta property="og:title" content="no"></noscript><meta property="og:url" content="u">`, true},
		{"self-closing script is raw text", `<head><script/><meta property="og:title" content="in script"></script><meta property="og:url" content="u">`, true},
		{"second head ignored", `<head><meta property="og:a" content="1"></head><head prefix="x: y"><meta property="x:b" content="2">`, true},
		{"microdata needs the tree", `<div itemscope><span itemprop="n">x</span></div>`, false},
		{"ITEMSCOPE needs the tree", `<div ITEMSCOPE><span itemprop="n">x</span></div>`, false},
		{"template needs the tree", `<head><template><meta property="og:title" content="t"></template></head>`, false},
		{"second html tag needs the tree", `<html><head><meta property="og:title" content="t"></head><body><html prefix="og: http://example.com/">`, false},
		{"late html tag needs the tree", `<head><meta property="og:title" content="t"></head><body><html prefix="og: http://example.com/">`, false},
		{"script in svg is not json-ld", `<svg><script type="application/ld+json">{"a": 1}</script></svg>`, false},
		{"type in any case and space, other scripts skipped", `<script type="text/javascript">var a = "{}";</script><script type=" Application/LD+JSON ">{"a": 1}</script><script type="application/ld+json+x">{"b": 2}</script>`, true},
		{"bad block", `<script type="application/ld+json">{oops</script><script type="application/ld+json">{"ok": true}</script>`, true},
	}
	c := NewCSS(NewSelectorCache(0), Limits{})
	spec := StructuredSpec{Syntaxes: []string{SyntaxJSONLD, SyntaxMicrodata, SyntaxOpenGraph}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream, tree, streamed := structuredBothWays(t, c, tt.page, "https://e.org/", spec)
			if stream != tree {
				t.Errorf("from the stream %s\nfrom the tree %s", stream, tree)
			}
			if streamed != tt.streamed {
				t.Errorf("streamed = %v, want %v (%s)", streamed, tt.streamed, stream)
			}
		})
	}
	// Syntaxes the stream does not answer go to the tree.
	if _, _, streamed := structuredBothWays(t, c, tests[0].page, "https://e.org/", StructuredSpec{}); streamed {
		t.Error("all syntaxes (meta, twitter) answered from the stream")
	}
}

// FuzzStructuredStream: whatever the page, the token stream answers as
// the tree does, or leaves the page to it.
func FuzzStructuredStream(f *testing.F) {
	for _, s := range []string{
		`<html prefix="og: http://ogp.me/ns#"><head><meta property="og:title" content="T"></head><body>`,
		`<head></head><meta property="og:x" content="1"><script type="application/ld+json">{"a":1}</script>`,
		`<title>x</title>text<meta property="og:title" content="b">`,
		`<table><script type="application/ld+json">[1,{"b":2}]</script></table>`,
		`<select><script type="application/ld+json">{}</script>`,
		`<frameset><meta property="og:a" content="1">`,
		`<noscript><meta property="og:a" content="1"></noscript>`,
		`</br><meta property="og:a" content="1">`,
		`<head prefix="a: b"><link><base><meta property="a:c" content="d"></head>`,
		`<math><mi><script type="application/ld+json">{"m":1}</script></mi></math>`,
	} {
		f.Add(s)
	}
	c := NewCSS(NewSelectorCache(0), Limits{MaxMatches: 50})
	spec := StructuredSpec{Syntaxes: []string{SyntaxJSONLD, SyntaxMicrodata, SyntaxOpenGraph}}
	f.Fuzz(func(t *testing.T, page string) {
		if page == "" {
			return
		}
		stream, tree, _ := structuredBothWays(t, c, page, "https://e.org/", spec)
		if stream != tree {
			t.Errorf("page %q:\nfrom the stream %s\nfrom the tree %s", page, stream, tree)
		}
	})
}
