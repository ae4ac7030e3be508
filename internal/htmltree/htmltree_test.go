package htmltree

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/testenv"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// roundTripDocs are pages that exercise every kind of node and attribute
// html.Parse makes.
var roundTripDocs = []struct{ name, src string }{
	{"empty", ""},
	{"text only", "hello"},
	{"doctype with identifiers", `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd"><p>x`},
	{"comments everywhere", `<!-- a --><html><!-- b --><head></head><body><!-- c --></body></html><!-- d -->`},
	{"attributes", `<div id=a class="b c" data-x='&amp;"' hidden><a href="/x?y=1&amp;z=2">t</a></div>`},
	{"svg with adjusted names", `<svg viewBox="0 0 1 1"><foreignObject><p>in</p></foreignObject><clipPath/><use xlink:href="#a"/></svg>`},
	{"mathml", `<math><mi>x</mi><annotation-xml encoding="text/html"><b>y</b></annotation-xml></math>`},
	{"table fostering", `<table><tr><td>1</td></tr>text<div>fostered</div></table>`},
	{"template", `<template><li>a</li></template><select><option>1<option>2</select>`},
	{"raw text", `<script>if (a < b) {}</script><style>p>a{}</style><textarea><b></textarea><title>&lt;t&gt;</title>`},
	{"misnested formatting", `<b><i>1</b>2</i><p>3<a>4<p>5</a>`},
	{"unicode and NUL", "<p title=\"é\x00\">日本語 \x00 text</p>"},
	{"deep (html.Parse refuses over 512 open elements)", strings.Repeat("<div>", 500) + "deep" + strings.Repeat("</div>", 500)},
	{"image becomes img", `<image src=x>`},
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range roundTripDocs {
		t.Run(tc.name, func(t *testing.T) {
			checkRoundTrip(t, tc.src)
		})
	}
}

func TestRoundTripCorpus(t *testing.T) {
	for _, p := range testenv.CorpusPages(t) {
		t.Run(p.Name, func(t *testing.T) {
			checkRoundTrip(t, p.Source)
		})
	}
}

// checkRoundTrip parses src, encodes and decodes it, and compares.
func checkRoundTrip(t *testing.T, src string) {
	t.Helper()
	root, err := html.Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Measure(root)
	if err != nil {
		t.Fatal(err)
	}
	// Encode must write exactly Len bytes: fill the buffer beyond with a
	// marker and check that it survives.
	buf := bytes.Repeat([]byte{0xAA}, plan.Len()+8)
	enc := plan.Encode(buf)
	if len(enc) != plan.Len() || !bytes.Equal(buf[plan.Len():], bytes.Repeat([]byte{0xAA}, 8)) {
		t.Fatalf("Encode wrote %d bytes, or past Len = %d", len(enc), plan.Len())
	}
	got, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if err := equal(root, got); err != nil {
		t.Fatal(err)
	}
	var want, have strings.Builder
	html.Render(&want, root)
	html.Render(&have, got)
	if want.String() != have.String() {
		t.Fatalf("rendered trees differ:\nwant %.300q\nhave %.300q", want.String(), have.String())
	}
}

// equal reports the first difference between two trees, nil if none:
// every field of every node, and the links in both directions.
func equal(aRoot, bRoot *html.Node) error {
	a, b := aRoot, bRoot
	for path := "document"; a != nil || b != nil; {
		if a == nil || b == nil {
			return fmt.Errorf("%s: one tree ends before the other", path)
		}
		if a.Type != b.Type || a.Data != b.Data || a.DataAtom != b.DataAtom || a.Namespace != b.Namespace {
			return fmt.Errorf("%s: node (%d %q %v %q) decoded as (%d %q %v %q)", path,
				a.Type, a.Data, a.DataAtom, a.Namespace, b.Type, b.Data, b.DataAtom, b.Namespace)
		}
		if len(a.Attr) != len(b.Attr) {
			return fmt.Errorf("%s: attributes %v decoded as %v", path, a.Attr, b.Attr)
		}
		for i := range a.Attr {
			if a.Attr[i] != b.Attr[i] {
				return fmt.Errorf("%s: attributes %v decoded as %v", path, a.Attr, b.Attr)
			}
		}
		if (a.Parent == nil) != (b.Parent == nil) || (a.PrevSibling == nil) != (b.PrevSibling == nil) ||
			(b.FirstChild == nil) != (b.LastChild == nil) || (b.FirstChild != nil && b.FirstChild.Parent != b) ||
			(b.NextSibling != nil && b.NextSibling.PrevSibling != b) {
			return fmt.Errorf("%s: links differ", path)
		}
		path += "/" + a.Data
		a, b = next(aRoot, a), next(bRoot, b)
	}
	return nil
}

func TestAppendKeepsPrefix(t *testing.T) {
	root, _ := html.Parse(strings.NewReader("<p>x"))
	for _, prefix := range [][]byte{nil, []byte("abc"), make([]byte, 3, 1000)} {
		got, err := Append(bytes.Clone(prefix), root)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[:len(prefix)], prefix) {
			t.Fatalf("Append changed the prefix %q to %q", prefix, got[:len(prefix)])
		}
		if _, err := Decode(got[len(prefix):]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMeasureUnsupported(t *testing.T) {
	doc := func(children ...*html.Node) *html.Node {
		d := &html.Node{Type: html.DocumentNode}
		for _, c := range children {
			d.AppendChild(c)
		}
		return d
	}
	textWithChild := &html.Node{Type: html.TextNode, Data: "t"}
	textWithChild.AppendChild(&html.Node{Type: html.TextNode, Data: "u"})
	tests := []struct {
		name string
		root *html.Node
		want string
	}{
		{"nil", nil, "not a document"},
		{"element root", &html.Node{Type: html.ElementNode, Data: "p", DataAtom: atom.P}, "not a document"},
		{"raw node", doc(&html.Node{Type: html.RawNode, Data: "<x>"}), "type 6"},
		{"error node", doc(&html.Node{Type: html.ErrorNode}), "type 0"},
		{"unknown namespace", doc(&html.Node{Type: html.ElementNode, Data: "x", Namespace: "xul"}), `namespace "xul"`},
		{"document inside", doc(&html.Node{Type: html.DocumentNode}), "document node inside"},
		{"text with children", doc(textWithChild), "with children"},
		{"comment with attributes", doc(&html.Node{Type: html.CommentNode, Attr: []html.Attribute{{Key: "k"}}}), "with attributes"},
		{"child without its Parent", &html.Node{Type: html.DocumentNode, FirstChild: &html.Node{Type: html.TextNode, Data: "t"}}, "whose Parent is another node"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Measure(tc.root)
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Measure: %v, want ErrUnsupported saying %q", err, tc.want)
			}
			if _, err := Append(nil, tc.root); !errors.Is(err, ErrUnsupported) {
				t.Fatalf("Append: %v, want ErrUnsupported", err)
			}
		})
	}
}

// valid is the encoding of `<p id=a>x` that TestDecodeMalformed corrupts:
// document(html(head, body(p[id=a](x)))).
func valid(t *testing.T) []byte {
	t.Helper()
	root, _ := html.Parse(strings.NewReader("<p id=a>x"))
	b, err := Append(nil, root)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeMalformed(t *testing.T) {
	b := valid(t)
	strLen := int(le.Uint32(b[12:]))
	recs := headerSize + strLen // offset of the first node record
	// Offsets of the records in document order: document, html, head,
	// body, p (then its one attribute), the text.
	node := func(i int) int {
		off := recs + i*nodeSize
		if i > 4 {
			off += attrSize
		}
		return off
	}
	tests := []struct {
		name   string
		mutate func(b []byte) []byte
		want   string
	}{
		{"empty", func(b []byte) []byte { return nil }, "shorter than"},
		{"header only, cut", func(b []byte) []byte { return b[:10] }, "shorter than"},
		{"version", func(b []byte) []byte { le.PutUint32(b, 2); return b }, "version 2"},
		{"no nodes", func(b []byte) []byte { le.PutUint32(b[4:], 0); return b }, "no nodes"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }, "header describes"},
		{"trailing byte", func(b []byte) []byte { return append(b, 0) }, "header describes"},
		{"huge counts", func(b []byte) []byte { le.PutUint32(b[4:], 1<<31); return b }, "header describes"},
		{"string past the table", func(b []byte) []byte { le.PutUint32(b[node(1)+12:], uint32(strLen)); return b }, "outside the"},
		{"string length overflow", func(b []byte) []byte { le.PutUint32(b[node(1)+16:], 1<<32-1); return b }, "outside the"},
		{"first node not a document", func(b []byte) []byte { b[node(0)] = typeElement; return b }, "document must be the first"},
		{"second document", func(b []byte) []byte { b[node(2)] = typeDocument; return b }, "document must be the first"},
		{"unknown type", func(b []byte) []byte { b[node(2)] = 2; return b }, "unknown type 2"},
		{"unknown namespace", func(b []byte) []byte { b[node(2)+1] = 7; return b }, "unknown namespace 7"},
		{"namespace on text", func(b []byte) []byte { b[node(5)+1] = nsSVG; return b }, "has namespace"},
		{"reserved bytes", func(b []byte) []byte { b[node(2)+3] = 1; return b }, "reserved"},
		{"element without name", func(b []byte) []byte { le.PutUint32(b[node(2)+16:], 0); return b }, "without a name"},
		{"text with children", func(b []byte) []byte {
			// The text is the last node: giving it a child leaves its
			// ancestors' counts short, but the type check comes first.
			le.PutUint32(b[node(5)+4:], 1)
			return b
		}, "has children"},
		{"text with attributes", func(b []byte) []byte { le.PutUint32(b[node(5)+8:], 1); return b }, "has attributes"},
		{"more attributes than the header", func(b []byte) []byte { le.PutUint32(b[node(4)+8:], 2); return b }, "more than the header"},
		{"too few children", func(b []byte) []byte { le.PutUint32(b[node(3)+4:], 0); return b }, "outside the document"},
		{"too many children", func(b []byte) []byte { le.PutUint32(b[node(4)+4:], 2); return b }, "more children than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, err := Decode(tc.mutate(bytes.Clone(b)))
			if root != nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Decode = %v, %v; want ErrMalformed saying %q", root, err, tc.want)
			}
		})
	}
	if _, err := Decode(b); err != nil {
		t.Fatalf("the unmodified encoding: %v", err)
	}
}

func TestDecodeDoesNotAlias(t *testing.T) {
	b := valid(t)
	root, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'Z'
	}
	var out strings.Builder
	html.Render(&out, root)
	if want := `<html><head></head><body><p id="a">x</p></body></html>`; out.String() != want {
		t.Fatalf("after the input was overwritten the tree renders %q, want %q", out.String(), want)
	}
}
