package native

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestStructuredRDFa(t *testing.T) {
	only := StructuredSpec{Syntaxes: []string{SyntaxRDFa}}
	const page = "https://e.org/d/p"
	tests := []struct {
		name, page, want string
	}{
		{"no rdfa", `<p>x</p>`, `{"rdfa":[]}`},
		{"vocab, typeof and property",
			`<div vocab="http://schema.org/" typeof="Person"><span property="name">Ann</span></div>`,
			`{"rdfa":[{"@id":"` + page + `","http://www.w3.org/ns/rdfa#usesVocabulary":[{"@id":"http://schema.org/"}]},` +
				`{"@id":"_:b0","@type":["http://schema.org/Person"],"http://schema.org/name":[{"@value":"Ann"}]}]}`},
		{"text as written, every text node",
			`<div vocab="http://schema.org/" typeof="T"><p property="d"> a <b>b</b>
 c<script>s</script></p></div>`,
			`{"rdfa":[{"@id":"` + page + `","http://www.w3.org/ns/rdfa#usesVocabulary":[{"@id":"http://schema.org/"}]},` +
				`{"@id":"_:b0","@type":["http://schema.org/T"],"http://schema.org/d":[{"@value":" a b\n cs"}]}]}`},
		{"resource names the subject, href and src are objects",
			`<div vocab="http://schema.org/" resource="#me" typeof="Person"><a property="url" href="/home">h</a><img property="image" src="i.png"><span property="knows" resource="_:x"></span></div>`,
			`{"rdfa":[{"@id":"` + page + `","http://www.w3.org/ns/rdfa#usesVocabulary":[{"@id":"http://schema.org/"}]},` +
				`{"@id":"` + page + `#me","@type":["http://schema.org/Person"],"http://schema.org/image":[{"@id":"https://e.org/d/i.png"}],"http://schema.org/knows":[{"@id":"_:x"}],"http://schema.org/url":[{"@id":"https://e.org/home"}]}]}`},
		{"absolute IRIs kept as written",
			`<div vocab="http://schema.org/" typeof="T"><a property="u" href="https://x.org">x</a></div>`,
			`{"rdfa":[{"@id":"` + page + `","http://www.w3.org/ns/rdfa#usesVocabulary":[{"@id":"http://schema.org/"}]},` +
				`{"@id":"_:b0","@type":["http://schema.org/T"],"http://schema.org/u":[{"@id":"https://x.org"}]}]}`},
		{"nested typed resource chains",
			`<ol vocab="http://schema.org/" typeof="BreadcrumbList"><li property="itemListElement" typeof="ListItem"><a property="item" typeof="WebPage" href="/a"><span property="name">A</span></a><meta property="position" content="1"></li></ol>`,
			`{"rdfa":[{"@id":"` + page + `","http://www.w3.org/ns/rdfa#usesVocabulary":[{"@id":"http://schema.org/"}]},` +
				`{"@id":"_:b0","@type":["http://schema.org/BreadcrumbList"],"http://schema.org/itemListElement":[{"@id":"_:b1"}]},` +
				`{"@id":"_:b1","@type":["http://schema.org/ListItem"],"http://schema.org/item":[{"@id":"https://e.org/a"}],"http://schema.org/position":[{"@value":"1"}]},` +
				`{"@id":"https://e.org/a","@type":["http://schema.org/WebPage"],"http://schema.org/name":[{"@value":"A"}]}]}`},
		{"opengraph metas are the page's triples, twitter and fb known, an unknown prefix an IRI as pyRdfa takes it",
			`<head><meta property="og:title" content="T"><meta property="twitter:card" content="c"><meta property="fb:app_id" content="1"><meta property="unknown:x" content="u"><meta name="description" content="d"></head>`,
			`{"rdfa":[{"@id":"` + page + `","http://ogp.me/ns#title":[{"@value":"T"}],"http://ogp.me/ns/fb#app_id":[{"@value":"1"}],"https://dev.twitter.com/cards#card":[{"@value":"c"}],"unknown:x":[{"@value":"u"}]}]}`},
		{"prefix declares, case-blind, scoped; out of scope an IRI",
			`<div prefix="Ex: http://ex.org/ns#" typeof="ex:T"><span property="EX:p">v</span></div><span property="ex:p">out of scope</span>`,
			`{"rdfa":[{"@id":"_:b0","@type":["http://ex.org/ns#T"],"http://ex.org/ns#p":[{"@value":"v"}]},{"@id":"` + page + `","ex:p":[{"@value":"out of scope"}]}]}`},
		{"terms without vocab: only the initial context's",
			`<div typeof="Thing"><span property="name">x</span><a property="license" href="/l">l</a></div>`,
			`{"rdfa":[{"@id":"_:b0","http://www.w3.org/1999/xhtml/vocab#license":[{"@id":"https://e.org/l"}]}]}`},
		{"xml:lang gives the language, lang does not; integers and booleans native as rdflib writes them",
			`<div xml:lang="DE" vocab="http://schema.org/" typeof="T"><span property="a">x</span><span lang="fr" property="b">y</span><span property="c" datatype="xsd:integer">3</span><span property="d" datatype="xsd:date">2020-01-02</span><span property="e" datatype="xsd:boolean">1</span><span property="f" datatype="xsd:integer">x</span></div>`,
			`{"rdfa":[{"@id":"` + page + `","http://www.w3.org/ns/rdfa#usesVocabulary":[{"@id":"http://schema.org/"}]},` +
				`{"@id":"_:b0","@type":["http://schema.org/T"],"http://schema.org/a":[{"@language":"de","@value":"x"}],"http://schema.org/b":[{"@language":"de","@value":"y"}],"http://schema.org/c":[{"@value":3}],"http://schema.org/d":[{"@type":"http://www.w3.org/2001/XMLSchema#date","@value":"2020-01-02"}],"http://schema.org/e":[{"@value":true}],"http://schema.org/f":[{"@type":"http://www.w3.org/2001/XMLSchema#integer","@value":"x"}]}]}`},
		{"role with and without id",
			`<nav role="navigation" id="n"></nav><div role="main search"></div>`,
			`{"rdfa":[{"@id":"` + page + `#n","http://www.w3.org/1999/xhtml/vocab#role":[{"@id":"http://www.w3.org/1999/xhtml/vocab#navigation"}]},` +
				`{"@id":"_:b0","http://www.w3.org/1999/xhtml/vocab#role":[{"@id":"http://www.w3.org/1999/xhtml/vocab#main"},{"@id":"http://www.w3.org/1999/xhtml/vocab#search"}]}]}`},
		{"rel with a resource",
			`<head><link rel="https://api.w.org/" href="https://e.org/wp-json/"><link rel="stylesheet" href="s.css"></head>`,
			`{"rdfa":[{"@id":"` + page + `","https://api.w.org/":[{"@id":"https://e.org/wp-json/"}]}]}`},
		{"about and a typed body",
			`<body typeof="schema:WebPage"><div about="/x" property="schema:name" content="X"></div></body>`,
			`{"rdfa":[{"@id":"` + page + `","@type":["http://schema.org/WebPage"]},{"@id":"https://e.org/x","http://schema.org/name":[{"@value":"X"}]}]}`},
		{"duplicate triples once",
			`<div vocab="http://schema.org/" resource="/r"><span property="a">x</span><span property="a">x</span></div>`,
			`{"rdfa":[{"@id":"` + page + `","http://www.w3.org/ns/rdfa#usesVocabulary":[{"@id":"http://schema.org/"}]},{"@id":"https://e.org/r","http://schema.org/a":[{"@value":"x"}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := structuredJSON(t, tt.page, only); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestStructuredRDFaBounds holds each RDFa bound against a page built to
// exceed it.
func TestStructuredRDFaBounds(t *testing.T) {
	only := StructuredSpec{Syntaxes: []string{SyntaxRDFa}}
	t.Run("depth", func(t *testing.T) {
		n := MaxRDFaDepth + 10
		page := `<div vocab="http://schema.org/">` + strings.Repeat(`<div property="p" typeof="T">`, n) + strings.Repeat(`</div>`, n) + `</div>`
		got, truncated := structuredJSON(t, page, only)
		if !truncated {
			t.Error("truncated = false past MaxRDFaDepth")
		}
		if c := strings.Count(got, `"@type"`); c != MaxRDFaDepth {
			t.Errorf("%d typed resources, want %d", c, MaxRDFaDepth)
		}
	})
	t.Run("items", func(t *testing.T) {
		page := `<div vocab="http://schema.org/" resource="/r">` + strings.Repeat(`<meta property="p" content="c"><span role="x"></span>`, MaxStructuredItems) + `</div>`
		got, truncated := structuredJSON(t, page, only)
		if !truncated {
			t.Error("truncated = false past MaxStructuredItems")
		}
		if c := strings.Count(got, `"@value"`) + strings.Count(got, `vocab#x"`) + strings.Count(got, `usesVocabulary`); c != MaxStructuredItems {
			t.Errorf("%d triples, want MaxStructuredItems (%d)", c, MaxStructuredItems)
		}
	})
	t.Run("literal bytes", func(t *testing.T) {
		// Every level's literal is the text of all below: read whole, the
		// answer would be quadratic in the page (n is under the parser's
		// 512 open elements).
		word := strings.Repeat("x", 1000)
		n := 500
		page := `<div vocab="http://schema.org/" resource="/r">` + strings.Repeat(`<div property="p">`+word, n) + strings.Repeat(`</div>`, n) + `</div>`
		ans := structuredUnbounded(t, page, only)
		if !ans.Truncated {
			t.Error("truncated = false past MaxRDFaBytes")
		}
		b, _ := json.Marshal(ans.Data)
		if len(b) > MaxRDFaBytes+MaxRDFaBytes/4 {
			t.Errorf("answer of %d bytes, over MaxRDFaBytes (%d)", len(b), MaxRDFaBytes)
		}
	})
	t.Run("elements without text", func(t *testing.T) {
		// Many elements below many properties cost a walk each, text or
		// no text: 500 levels over 20000 elements.
		n := 500
		page := `<div vocab="http://schema.org/" resource="/r">` + strings.Repeat(`<span property="p">`, n) + strings.Repeat(`<i></i>`, 20000) + `</div>`
		_, truncated := structuredJSON(t, page, only)
		if !truncated {
			t.Error("truncated = false: the literal walks were not charged")
		}
	})
}

func TestStructuredRDFaCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	doc, err := NewDocument(strings.Repeat(`<div typeof="schema:T" property="schema:p">x</div>`, 5000), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewCSS(nil, Limits{}).Structured(ctx, doc, StructuredSpec{Syntaxes: []string{SyntaxRDFa}}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// FuzzStructuredRDFa holds any page's RDFa answer to JSON within its
// bounds, without a panic.
func FuzzStructuredRDFa(f *testing.F) {
	for _, s := range []string{
		`<div vocab="http://schema.org/" typeof="T"><span property="name">x</span></div>`,
		`<html prefix="og: http://ogp.me/ns#"><head><meta property="og:title" content="t"></head></html>`,
		`<div about="[ex:x]" prefix="ex: http://e/" rel="ex:r" resource="_:b"><p role="main" id="m" property=":x" datatype="">y</p></div>`,
		`<a rel="license" href="http://[">x</a><div typeof property resource>`,
		`<body typeof="schema:T"><head about="" typeof="x:y"></head></body>`,
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
		ans, err := c.Structured(context.Background(), doc, StructuredSpec{Syntaxes: []string{SyntaxRDFa}})
		if err != nil {
			if errors.Is(err, ErrUnparsable) || errors.Is(err, ErrResultTooLarge) {
				return
			}
			t.Fatalf("Structured: %v", err)
		}
		nodes, _ := ans.Data[SyntaxRDFa].([]any)
		for _, n := range nodes {
			if id, _ := n.(map[string]any)["@id"].(string); id == "" {
				t.Fatalf("node without an @id: %v", n)
			}
		}
		if _, err := json.Marshal(ans.Data); err != nil {
			t.Fatalf("answer is not JSON: %v", err)
		}
	})
}
