package native

import (
	"context"
	"errors"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// XPath from the token stream
//
// The questions a scraper asks most of a whole page are about one kind of
// element: how many there are (count(//p)), the first one's text
// (string(//title), normalize-space(//h1)), the text nodes of all of them
// (//title/text()) or an attribute of each (//a/@href). None of them
// needs the tree, only which elements
// the tree would hold, in which order, and what text would land in each:
// which is what the microdata walker follows (mdWalker,
// structured_microdata.go), a stack of open elements kept as x/net/html's
// tree builder keeps it. An xpathWatch rides on that walk and answers the
// question; wherever the walk cannot be sure of the tree (content fostered
// out of a table, the adoption agency moving elements, <template>,
// <frameset>, <image>, a table that may close a <p>, breakouts from SVG or
// MathML, nesting past the parser's 512 open elements) it gives up with
// errNeedsTree, and so does the watch where the element named is a
// foreign one (an SVG <title> is a title to XPath). The tree then
// answers, so the worst case costs one tokenization on top of the parse.
//
// The tree's budgets are kept: the walk checks ctx every ctxCheckTokens
// tokens; an answer is given only where the tree's evaluation could not
// have run past MaxXPathSteps (the walk bounds the nodes the tree would
// hold by the elements it opened and the tokens it read); the result is
// bounded by MaxResultBytes and MaxMatches as the tree's is; and the
// watch holds no more text than the tree's evaluation would: the first
// element's string value, or the nodes up to one past those wanted. TestXPathStreamMatchesTree (adversarial markup),
// TestXPathStreamCorpus (every corpus page) and FuzzXPathStream hold the
// two paths to the same answers.

// xstreamKind is the shape of an expression the stream answers.
type xstreamKind int

const (
	xstreamNone      xstreamKind = iota
	xstreamCount                 // count(//name)
	xstreamString                // string(//name)
	xstreamNormalize             // normalize-space(//name)
	xstreamText                  // //name/text()
	xstreamAttr                  // //name/@attr
)

// xstreamForm is an expression the stream answers: its shape and the
// element name it asks about, and the attribute for xstreamAttr.
type xstreamForm struct {
	kind xstreamKind
	name string
	attr string
}

// xstreamQuestion returns the form of e when the stream can answer it.
// The name must be a lowercase ASCII HTML name other than html, head and
// body, which the tree builder makes whatever the tokens say.
func xstreamQuestion(e xexpr) xstreamForm {
	kind := xstreamText
	if call, ok := e.(*xCall); ok {
		switch call.name {
		case "count":
			kind = xstreamCount
		case "string":
			kind = xstreamString
		case "normalize-space":
			kind = xstreamNormalize
		default:
			return xstreamForm{}
		}
		if len(call.args) != 1 {
			return xstreamForm{}
		}
		e = call.args[0]
	}
	p, ok := e.(*xPath)
	if !ok || !p.absolute || p.start != nil {
		return xstreamForm{}
	}
	steps := p.steps
	var attr string
	if kind == xstreamText {
		if len(steps) != 2 {
			return xstreamForm{}
		}
		switch s := steps[1]; {
		case len(s.preds) > 0:
			return xstreamForm{}
		case s.axis == axisChild && s.test.kind == testText:
		case s.axis == axisAttribute && s.test.kind == testName && !s.test.prefixed && lowerASCIIName(s.test.local):
			kind, attr = xstreamAttr, s.test.local
		default:
			return xstreamForm{}
		}
		steps = steps[:1]
	}
	if len(steps) != 1 {
		return xstreamForm{}
	}
	s := steps[0]
	if s.axis != axisDescendant || s.test.kind != testName || s.test.prefixed || len(s.preds) > 0 || !lowerASCIIName(s.test.local) {
		return xstreamForm{}
	}
	switch s.test.local {
	case "html", "head", "body":
		return xstreamForm{}
	}
	return xstreamForm{kind: kind, name: s.test.local, attr: attr}
}

// xpathWatch answers an xstreamForm from an mdWalker's walk.
type xpathWatch struct {
	form xstreamForm
	// count is the number of elements named form.name opened so far.
	count int
	// first is the id of the first of them, 0 until it opens; open is
	// set while it is, and value collects the text placed in it.
	first int
	open  bool
	value []byte
	// For text() and @attr: texts holds the first look text nodes of the
	// elements named, or values of their attribute, and nodes counts them
	// all; attrs counts the attributes of those elements, which the
	// tree's evaluation visits. For text(), last is the id of the element
	// whose last child is the last text node (0 once an element or a
	// comment follows it): text placed in it then joins that node, as
	// the tree builder merges adjacent text.
	look  int
	texts [][]byte
	nodes int
	attrs int
	last  int
	// afterBody is set from an end tag of body or html until the tree
	// builder's after-body insertion modes end (afterBodyToken): a
	// comment then goes to the html element or the document.
	afterBody bool
}

// pushed follows an element the walk opens, whose attributes are attrs
// if its name is the one asked about (wantsAttrs).
func (x *xpathWatch) pushed(e *mdElem, attrs []html.Attribute) error {
	x.last = 0
	if e.name != x.form.name {
		return nil
	}
	if e.ns != "" {
		// XPath's unprefixed names match SVG and MathML elements too,
		// some under a name the tree builder changes the case of.
		return errNeedsTree
	}
	x.count++
	if x.form.kind == xstreamAttr {
		x.attrs += len(attrs)
		for _, a := range attrs {
			if a.Key == x.form.attr {
				if x.nodes++; x.nodes <= x.look {
					x.texts = append(x.texts, []byte(a.Val))
				}
				break
			}
		}
	}
	if x.first == 0 {
		x.first, x.open = e.id, x.form.kind == xstreamString || x.form.kind == xstreamNormalize
	}
	return nil
}

// popped follows an element the walk closes.
func (x *xpathWatch) popped(e *mdElem) {
	if e.id == x.first {
		x.open = false
	}
}

// comment follows a comment token, which the walk places in the current
// element but right after </body> or </html>, where the tree builder puts
// it in the html element or the document: text before and after it is
// then still one node.
func (x *xpathWatch) comment() {
	if !x.afterBody {
		x.last = 0
	}
}

// afterBodyToken follows a token read while afterBody is set: the tree
// builder is in its "after body" or "after after body" insertion mode,
// which anything but a comment, white space or another </body> or
// </html> ends. Of those that may not, a doctype or an <html> start tag,
// the walk cannot tell which (it depends on which of the two modes): for
// text nodes it gives up.
func (x *xpathWatch) afterBodyToken(w *mdWalker, tt html.TokenType) error {
	switch tt {
	case html.CommentToken:
		return nil
	case html.TextToken:
		if w.blank() {
			return nil
		}
	case html.EndTagToken:
		if _, a := w.tagName(true); a == atom.Body || a == atom.Html {
			return nil
		}
	case html.StartTagToken, html.SelfClosingTagToken:
		if _, a := w.tagName(false); a == atom.Html && x.form.kind == xstreamText {
			return errNeedsTree
		}
	case html.DoctypeToken:
		if x.form.kind == xstreamText {
			return errNeedsTree
		}
	}
	x.afterBody = false
	return nil
}

// wantsAttrs reports whether the watch reads the attributes of the
// elements named name; x may be nil.
func (x *xpathWatch) wantsAttrs(name []byte) bool {
	return x != nil && x.form.kind == xstreamAttr && string(name) == x.form.name
}

// wantsText reports whether the watch reads text placed in cur now; x
// may be nil.
func (x *xpathWatch) wantsText(cur *mdElem) bool {
	if x == nil {
		return false
	}
	return x.open || x.form.kind == xstreamText && cur.name == x.form.name
}

// text follows the text of the current token, which the walk places in
// cur.
func (x *xpathWatch) text(cur *mdElem, w *mdWalker) {
	if x.open {
		x.value = append(x.value, w.text()...)
	}
	if x.form.kind != xstreamText || cur.name != x.form.name || cur.ns != "" {
		return
	}
	t := w.text()
	if len(t) == 0 {
		return
	}
	if x.last == cur.id {
		if x.nodes <= x.look {
			last := &x.texts[len(x.texts)-1]
			*last = append(*last, t...)
		}
		return
	}
	x.last = cur.id
	x.nodes++
	if x.nodes <= x.look {
		x.texts = append(x.texts, append([]byte(nil), t...))
	}
}

// streamXPath answers spec, whose expression has form f, from doc's
// token stream, with the tree's answer and errors, or fails with
// errNeedsTree.
func (c *CSS) streamXPath(ctx context.Context, doc *Document, spec XPathSpec, f xstreamForm) (XPathAnswer, error) {
	if strings.IndexByte(doc.src, 0) >= 0 {
		// The tree builder drops or replaces NULs by where they are.
		return XPathAnswer{}, errNeedsTree
	}
	want, look := plan(spec.All, spec.Limit, c.limits.MaxMatches)
	x := &xpathWatch{form: f, look: look}
	w := &mdWalker{ctx: ctx, z: newMDTokens(doc.src), collectorLimit: c.limits.MaxResultBytes, watch: x}
	if err := w.run(); err != nil {
		return XPathAnswer{}, err
	}
	// The tree holds at most a node per element the walk opened and per
	// token (text, comment, doctype), and html, head, body and the root.
	// Each form visits each node at most twice and charges a step per 64
	// bytes of the text it reads, twice at most: where that could pass
	// MaxXPathSteps, the tree's evaluation says whether it does.
	nodes := w.nextID + w.tokens + 4
	text := len(x.value)
	for _, t := range x.texts {
		text += len(t)
	}
	if 2*nodes+x.attrs+2*(text/64)+8 > c.limits.MaxXPathSteps {
		return XPathAnswer{}, errNeedsTree
	}
	var ans XPathAnswer
	switch f.kind {
	case xstreamCount:
		n := float64(x.count)
		return XPathAnswer{Kind: XPathNumber, Values: []string{xpathNumber(n)}, Number: n}, nil
	case xstreamString:
		ans = XPathAnswer{Kind: XPathString, Values: []string{string(x.value)}}
	case xstreamNormalize:
		ans = XPathAnswer{Kind: XPathString, Values: []string{normalizeXPathSpace(string(x.value))}}
	case xstreamText:
		return c.xpathValues(doc, x, want, false)
	case xstreamAttr:
		return c.xpathValues(doc, x, want, spec.AbsoluteURLs)
	}
	if len(ans.Values[0]) > c.limits.MaxResultBytes {
		return XPathAnswer{}, c.tooLarge()
	}
	return ans, nil
}

// xpathValues answers the text or attribute nodes x found as xpathTree
// answers such a node set: cut to want (Truncated when there were more),
// each its text or value as written (an attribute's made absolute when
// urls is set and it holds a URL), within MaxResultBytes.
func (c *CSS) xpathValues(doc *Document, x *xpathWatch, want int, urls bool) (XPathAnswer, error) {
	ans := XPathAnswer{Kind: XPathNodeSet, Values: make([]string, 0, min(len(x.texts), want))}
	texts := x.texts
	if len(texts) > want {
		texts, ans.Truncated = texts[:want], true
	}
	var r *urlResolver
	if urls && x.form.kind == xstreamAttr {
		r = &urlResolver{base: doc.base()}
	}
	budget := c.limits.MaxResultBytes
	for _, t := range texts {
		if len(t) > budget {
			return XPathAnswer{}, c.tooLarge()
		}
		v := string(t)
		if r != nil {
			if v = r.resolve(x.form.attr, v); len(v) > budget {
				return XPathAnswer{}, c.tooLarge()
			}
		}
		budget -= len(v)
		ans.Values = append(ans.Values, v)
	}
	if r != nil {
		ans.Unresolved = r.unresolved
	}
	return ans, nil
}

// xpathStreamable reports whether spec, whose expression has form f, may
// be answered from the stream: a scalar whatever the node-set fields say,
// or text nodes as text and not filtered by an attribute.
func xpathStreamable(f xstreamForm, spec XPathSpec, attr string) bool {
	switch f.kind {
	case xstreamNone:
		return false
	case xstreamText:
		return attr == "" && spec.Output == OutputText
	case xstreamAttr:
		// An attribute node answers its value whatever the output.
		return attr == ""
	}
	return true
}

// xpathFromStream tries the stream for spec; ok is false when the tree
// must answer, and doc then walks the tree for its later questions too,
// but for //name/@attr, which Select's own token stream may yet answer
// (xpathAsCSS).
func (c *CSS) xpathFromStream(ctx context.Context, doc *Document, spec XPathSpec, x *xpathExpr) (ans XPathAnswer, ok bool, err error) {
	ans, err = c.streamXPath(ctx, doc, spec, x.stream)
	if errors.Is(err, errNeedsTree) {
		c.cache.gaveUp.Add(1)
		if x.stream.kind != xstreamAttr {
			doc.UseTree()
		}
		return XPathAnswer{}, false, nil
	}
	if err == nil {
		c.cache.streamed.Add(1)
	}
	return ans, true, err
}
