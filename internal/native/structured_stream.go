package native

import (
	"context"
	"io"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Structured data from the token stream
//
// Building the tree costs most of a structured call (about 1.1 of 1.3 ms
// on the median corpus page), and extruct's three syntaxes need it only
// for microdata: JSON-LD is the text of <script type="application/ld+json">
// elements, which the token stream answers as it answers the CSS question
// script[type*="ld+json" i] (stream.go, which gives up wherever the tree could hold
// other elements), and OpenGraph is the <meta> children of <head>, which
// are the metas before the first token that makes the parser open <body>.
// A page with no "itemscope" anywhere has no microdata; a page with some
// is read by mdWalker (structured_microdata.go), which follows the open
// elements. streamStructured answers from the stream when all of that
// holds, and otherwise fails with errNeedsTree, after which Structured
// parses: it never guesses.

// streamSyntax reports whether the stream can answer syntax.
func streamSyntax(syntax string) bool {
	return syntax == SyntaxJSONLD || syntax == SyntaxOpenGraph || syntax == SyntaxMicrodata
}

// streamStructured answers want from doc's token stream into data, or
// fails with errNeedsTree.
func (c *CSS) streamStructured(ctx context.Context, doc *Document, s *structured, want []string, flatten bool) (map[string]any, error) {
	if contains(want, SyntaxMicrodata) {
		return c.streamMicrodata(ctx, doc.src, s, want, flatten)
	}
	return answerSyntaxes(want, func(syntax string) (items, jsonLDErrs []any, err error) {
		switch syntax {
		case SyntaxJSONLD:
			var blocks []string
			if blocks, err = c.streamJSONLD(ctx, doc.src); err != nil {
				return nil, nil, err
			}
			return s.jsonLDBlocks(blocks, flatten)
		case SyntaxOpenGraph:
			var head ogHead
			if head, err = streamHead(ctx, doc.src); err != nil {
				return nil, nil, err
			}
			items, err = s.openGraphOf([]ogHead{head})
		}
		return items, nil, err
	})
}

// streamJSONLD returns the text of every ld+json script, in order.
func (c *CSS) streamJSONLD(ctx context.Context, src string) ([]string, error) {
	// Only scripts whose type could be ld+json have their text copied.
	sel, err := c.sels.get(`script[type*="ld+json" i]`)
	if err != nil {
		return nil, err
	}
	want, look := plan(true, 0, c.limits.MaxMatches)
	types := c.newQuestion(sel, "type", want, look)
	texts := c.newQuestion(sel, "", want, look)
	if err := streamMany(ctx, src, []*streamQuestion{types, texts}); err != nil {
		return nil, err
	}
	// Both questions match the same elements; more than MaxMatches of
	// them, or more text than a result may hold, is the tree's to judge.
	if types.err != nil || texts.err != nil || types.truncated || texts.truncated || len(types.values) != len(texts.values) {
		return nil, errNeedsTree
	}
	var blocks []string
	for i, t := range types.values {
		if strings.EqualFold(strings.TrimSpace(t), "application/ld+json") {
			blocks = append(blocks, texts.values[i])
		}
	}
	return blocks, nil
}

// ogHead is what OpenGraph reads of a page: the prefix attributes of
// <html> and <head>, and the <meta> children of <head>.
type ogHead struct {
	htmlPrefix, headPrefix string
	metas                  []ogMeta
}

type ogMeta struct {
	property, content string
	ok                bool // both attributes present
}

// streamHead reads the <head> from the token stream: every token up to
// the first that opens <body> (HTML's "in head" and "after head"
// insertion modes put a <meta> in <head>; the first other content ends
// them). It gives up on what it does not model: <template> and
// <frameset> in the head, and a second <html> tag anywhere, whose
// attributes the tree adds to the first.
func streamHead(ctx context.Context, src string) (ogHead, error) {
	var h ogHead
	htmlTags := countFold(src, "<html", 2)
	if htmlTags > 1 {
		return h, errNeedsTree
	}
	z := html.NewTokenizer(strings.NewReader(src))
	headSeen, raw := false, false
	// done is the head read so far, unless an <html> tag is yet to come,
	// which would add its attributes to the html element.
	done := func() (ogHead, error) {
		if htmlTags > 0 {
			return h, errNeedsTree
		}
		return h, nil
	}
	for tokens := 1; ; tokens++ {
		if tokens%ctxCheckTokens == 0 {
			if err := ctx.Err(); err != nil {
				return h, err
			}
		}
		tt := z.Next()
		wasRaw := raw
		raw = false
		switch tt {
		case html.ErrorToken:
			if err := z.Err(); err != io.EOF {
				return h, err
			}
			return done()
		case html.TextToken:
			if !wasRaw && strings.TrimLeft(string(z.Raw()), "\t\n\f\r ") != "" {
				return done() // text opens the body
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.Body, atom.Html, atom.Br:
				return done()
			case atom.Template:
				return h, errNeedsTree
			}
			// </head> moves to "after head"; other end tags are ignored.
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			attrs := map[string]string{}
			for more := hasAttr; more; {
				var k, v []byte
				k, v, more = z.TagAttr()
				if _, dup := attrs[string(k)]; !dup {
					attrs[string(k)] = string(v)
				}
			}
			switch atom.Lookup(name) {
			case atom.Html:
				h.htmlPrefix = attrs["prefix"]
				htmlTags--
			case atom.Head:
				if !headSeen {
					headSeen, h.headPrefix = true, attrs["prefix"]
				}
			case atom.Meta:
				headSeen = true
				p, ok1 := attrs["property"]
				c, ok2 := attrs["content"]
				h.metas = append(h.metas, ogMeta{property: p, content: c, ok: ok1 && ok2})
			case atom.Base, atom.Basefont, atom.Bgsound, atom.Link:
				headSeen = true
			case atom.Title, atom.Style, atom.Script, atom.Noframes, atom.Noscript:
				// Raw text, which the tokenizer reads as such (<script/>
				// too), in <head>.
				headSeen, raw = true, true
			case atom.Template, atom.Frameset:
				return h, errNeedsTree
			default:
				return done() // anything else opens the body
			}
		}
	}
}

// countFold counts the occurrences of the lowercase ASCII sub in s, in
// any case, up to most. It looks for sub's first byte in either case with
// strings.IndexByte, which is much faster than comparing at every offset.
func countFold(s, sub string, most int) int {
	lower, upper := sub[0], sub[0]
	if 'a' <= lower && lower <= 'z' {
		upper = lower - 'a' + 'A'
	}
	n := 0
	// nextLower and nextUpper are the next offsets of either case of
	// sub[0] at or after i (len(s) when none).
	nextLower, nextUpper := -1, -1
	for i := 0; i+len(sub) <= len(s) && n < most; {
		if nextLower < i {
			nextLower = indexFrom(s, lower, i)
		}
		if nextUpper < i {
			nextUpper = indexFrom(s, upper, i)
		}
		i = min(nextLower, nextUpper)
		if i+len(sub) > len(s) {
			break
		}
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			n++
		}
		i++
	}
	return n
}

// indexFrom returns the offset of the first c in s at or after i, or
// len(s).
func indexFrom(s string, c byte, i int) int {
	if j := strings.IndexByte(s[i:], c); j >= 0 {
		return i + j
	}
	return len(s)
}
