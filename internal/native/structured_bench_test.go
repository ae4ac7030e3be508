package native

import (
	"context"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/testenv"
)

// BenchmarkStructured answers extruct's three syntaxes (json-ld,
// microdata, opengraph) on the median corpus page, as the comparison with
// extruct asks them (bench/compare/python/xpath_structured.py), parse
// included; parse alone is the part no extraction can save. part=rdfa
// answers rdfa alone from the parsed tree, beside part=extract;
// part=corpus answers every readability page, parse included.
func BenchmarkStructured(b *testing.B) {
	pages := testenv.CorpusPages(b)
	p := pages[len(pages)/2]
	spec := StructuredSpec{Syntaxes: []string{SyntaxJSONLD, SyntaxMicrodata, SyntaxOpenGraph}}
	b.Run("part=parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			doc, err := NewDocument(p.Source, Limits{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := doc.Root(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("part=extract", func(b *testing.B) {
		c := NewCSS(nil, Limits{})
		ctx := context.Background()
		doc, err := NewDocument(p.Source, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := doc.Root(); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Structured(ctx, doc, spec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("part=rdfa", func(b *testing.B) {
		c := NewCSS(nil, Limits{})
		ctx := context.Background()
		doc, err := NewDocument(p.Source, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := doc.Root(); err != nil {
			b.Fatal(err)
		}
		rdfa := StructuredSpec{Syntaxes: []string{SyntaxRDFa}}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Structured(ctx, doc, rdfa); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("part=corpus", func(b *testing.B) {
		// Every readability page, parse included, as the daemon answers
		// a request per page.
		c := NewCSS(nil, Limits{})
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			for _, p := range pages {
				doc, err := NewDocument(p.Source, Limits{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Structured(ctx, doc, spec); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("part=all", func(b *testing.B) {
		c := NewCSS(nil, Limits{})
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			doc, err := NewDocument(p.Source, Limits{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Structured(ctx, doc, spec); err != nil {
				b.Fatal(err)
			}
		}
	})
}
