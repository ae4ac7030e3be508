package native

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// XPath from the token stream
//
// The questions a scraper asks most of a whole page are about one kind of
// element: how many there are (count(//p)), the first one's text
// (string(//title), normalize-space(//h1)), the text nodes of all of them
// (//title/text()) or an attribute of each (//a/@href); and, nearly as
// often, about the elements a short path of forward steps reaches
// (//div[@class]//a/@href, //p[1], //h2/following-sibling::p). None of
// them needs the tree, only which elements the tree would hold, under
// which parent, in which order, and what text would land in each: which
// is what the microdata walker follows (mdWalker,
// structured_microdata.go), a stack of open elements kept as x/net/html's
// tree builder keeps it. An xpathWatch rides on that walk and answers the
// question. It tests each step of the path as an element opens, from
// what the element's parent, its earlier siblings and its ancestors
// matched (bit masks in a frame per open element) and from the
// element's own attributes and its position among its siblings, all
// known at that moment on the child, descendant and following-sibling
// axes. Wherever the walk cannot be sure of the tree (content fostered
// out of a table, the adoption agency moving elements, <template>,
// <frameset>, <image>, a table that may close a <p>, breakouts from SVG or
// MathML, nesting past the parser's 512 open elements) it gives up with
// errNeedsTree, and so does the watch where an element a step names is a
// foreign one (an SVG <title> is a title to XPath). The tree then
// answers, so the worst case costs one tokenization on top of the parse.
//
// The tree's budgets are kept: the walk checks ctx every ctxCheckTokens
// tokens; an answer is given only where the tree's evaluation could not
// have run past MaxXPathSteps (the watch bounds what it would visit from
// the elements it opened, the tokens it read and the subtrees and
// siblings of each step's context nodes); the result is bounded by
// MaxResultBytes and MaxMatches as the tree's is; and the watch holds no
// more text than the tree's evaluation would: the first element's string
// value, or the nodes up to one past those wanted, an element's text
// collected only for those wanted and within MaxResultBytes for all
// those open. TestXPathStreamMatchesTree (adversarial markup),
// TestXPathStreamCorpus (every corpus page), TestXPathStreamSoup and
// FuzzXPathStream hold the two paths to the same answers.

// xstreamKind is the shape of an expression the stream answers.
type xstreamKind int

const (
	xstreamNone      xstreamKind = iota
	xstreamCount                 // count(path)
	xstreamString                // string(path)
	xstreamNormalize             // normalize-space(path)
	xstreamText                  // path/text()
	xstreamAttr                  // path/@attr
	xstreamElems                 // path, each element answering its text
)

// An xsAxis is the axis of a step the stream follows: the forward axes
// whose nodes are known when an element opens.
type xsAxis int

const (
	xsChild xsAxis = iota
	xsDescendant
	xsDescendantOrSelf // descendant-or-self::node(), what // means before a step that counts positions
	xsFollowingSibling
)

// An xsPred is a predicate the stream tests when an element opens: on
// the element's own attributes, or on its position among the siblings
// that passed the step's name test and the predicates before it.
type xsPred struct {
	kind  xsPredKind
	attr  string // all but xsPos
	value string // xsEq, xsContains, xsStarts
	pos   int32  // xsPos
	slot  int    // xsPos: the counter of the parent's children it reads
}

type xsPredKind int

const (
	xsHas      xsPredKind = iota // [@attr]
	xsEq                         // [@attr = 'value']
	xsContains                   // [contains(@attr, 'value')]
	xsStarts                     // [starts-with(@attr, 'value')]
	xsPos                        // [n]
)

// An xsStep is one step of a location path the stream follows; name is
// empty for descendant-or-self::node() and "*" for any element.
type xsStep struct {
	axis  xsAxis
	name  string
	preds []xsPred
}

// Bounds of the paths the stream follows: a step is a bit of an
// element's masks, and each positional predicate a counter in each open
// element.
const (
	maxXSSteps = 16
	maxXSPos   = 4
)

// xstreamForm is an expression the stream answers: its shape, the
// location path of the elements it asks about, from the root, and the
// attribute for xstreamAttr.
type xstreamForm struct {
	kind  xstreamKind
	steps []xsStep
	attr  string
}

// String writes f for tests and logs, as the kind and the path.
func (f xstreamForm) String() string {
	if f.kind == xstreamNone {
		return "none"
	}
	var b strings.Builder
	b.WriteString([...]string{"", "count", "string", "normalize", "text", "attr", "elems"}[f.kind])
	for _, s := range f.steps {
		b.WriteString(" ")
		b.WriteString([...]string{"/", "//", "/dos", "/fs::"}[s.axis])
		b.WriteString(s.name)
		for _, p := range s.preds {
			switch p.kind {
			case xsHas:
				fmt.Fprintf(&b, "[@%s]", p.attr)
			case xsEq:
				fmt.Fprintf(&b, "[@%s=%q]", p.attr, p.value)
			case xsContains:
				fmt.Fprintf(&b, "[contains(@%s,%q)]", p.attr, p.value)
			case xsStarts:
				fmt.Fprintf(&b, "[starts-with(@%s,%q)]", p.attr, p.value)
			case xsPos:
				fmt.Fprintf(&b, "[%d]", p.pos)
			}
		}
	}
	if f.attr != "" {
		b.WriteString(" @" + f.attr)
	}
	return b.String()
}

// xstreamQuestion returns the form of e when the stream can answer it:
// count(), string() or normalize-space() of a path, the path itself, its
// text() or an attribute of its elements, where the path is absolute and
// its steps are on the child, descendant or following-sibling axes (or
// //, read as descendant-or-self::node()), each naming a lowercase ASCII
// HTML name other than html, head and body, which the tree builder makes
// whatever the tokens say, with predicates [@attr], [@attr='value'],
// [contains(@attr, 'value')], [starts-with(@attr, 'value')] and, on the
// child axis, [n].
func xstreamQuestion(e xexpr) xstreamForm {
	kind := xstreamElems
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
	if !ok || !p.absolute || p.start != nil || len(p.steps) == 0 {
		return xstreamForm{}
	}
	steps := p.steps
	var attr string
	if kind == xstreamElems {
		switch s := steps[len(steps)-1]; {
		case s.axis == axisChild && s.test.kind == testText:
			if len(s.preds) > 0 {
				return xstreamForm{}
			}
			kind, steps = xstreamText, steps[:len(steps)-1]
		case s.axis == axisAttribute:
			if len(s.preds) > 0 || !plainName(s.test) {
				return xstreamForm{}
			}
			kind, attr, steps = xstreamAttr, s.test.local, steps[:len(steps)-1]
		}
	}
	if len(steps) == 0 || len(steps) > maxXSSteps {
		return xstreamForm{}
	}
	f := xstreamForm{kind: kind, attr: attr, steps: make([]xsStep, 0, len(steps))}
	slots := 0
	for i, s := range steps {
		if s.axis == axisDescendantOrSelf && s.test.kind == testNode && len(s.preds) == 0 && i+1 < len(steps) {
			f.steps = append(f.steps, xsStep{axis: xsDescendantOrSelf})
			continue
		}
		var st xsStep
		switch s.axis {
		case axisChild:
			st.axis = xsChild
		case axisDescendant:
			st.axis = xsDescendant
		case axisFollowingSibling:
			st.axis = xsFollowingSibling
		default:
			return xstreamForm{}
		}
		switch {
		case s.test.kind == testAnyName:
			// Every element, html, head and body included: the walk
			// gives up where a later tag adds to their attributes.
			st.name = "*"
		case !plainName(s.test):
			return xstreamForm{}
		}
		switch st.name = cmp.Or(st.name, s.test.local); st.name {
		case "html", "head", "body":
			return xstreamForm{}
		}
		for _, pe := range s.preds {
			pred, ok := xstreamPred(pe)
			if !ok || pred.kind == xsPos && (st.axis != xsChild || slots == maxXSPos) {
				return xstreamForm{}
			}
			if pred.kind == xsPos {
				pred.slot, slots = slots, slots+1
			}
			st.preds = append(st.preds, pred)
		}
		f.steps = append(f.steps, st)
	}
	return f
}

// plainName reports whether t names an unprefixed lowercase ASCII name.
func plainName(t xTest) bool {
	return t.kind == testName && !t.prefixed && lowerASCIIName(t.local)
}

// xstreamPred returns the stream's form of a predicate: [@attr],
// [@attr = 'value'] (either way round), contains() or starts-with() of
// @attr and a literal, or [n] for a whole n >= 1.
func xstreamPred(e xexpr) (xsPred, bool) {
	attrOf := func(e xexpr) (string, bool) {
		p, ok := e.(*xPath)
		if !ok || p.absolute || p.start != nil || len(p.steps) != 1 {
			return "", false
		}
		s := p.steps[0]
		if s.axis != axisAttribute || len(s.preds) > 0 || !plainName(s.test) {
			return "", false
		}
		return s.test.local, true
	}
	switch e := e.(type) {
	case *xPath:
		if a, ok := attrOf(e); ok {
			return xsPred{kind: xsHas, attr: a}, true
		}
	case *xCall:
		if len(e.args) != 2 || e.name != "contains" && e.name != "starts-with" {
			break
		}
		lit, ok := e.args[1].(xLiteral)
		if a, ok2 := attrOf(e.args[0]); ok && ok2 {
			kind := xsContains
			if e.name == "starts-with" {
				kind = xsStarts
			}
			return xsPred{kind: kind, attr: a, value: string(lit)}, true
		}
	case xNumber:
		if n := float64(e); n >= 1 && n <= math.MaxInt32 && n == math.Trunc(n) {
			return xsPred{kind: xsPos, pos: int32(n)}, true
		}
	case *xBinary:
		if e.op != opEq {
			break
		}
		l, r := e.l, e.r
		if _, ok := l.(xLiteral); ok {
			l, r = r, l
		}
		lit, ok := r.(xLiteral)
		if a, ok2 := attrOf(l); ok && ok2 {
			return xsPred{kind: xsEq, attr: a, value: string(lit)}, true
		}
	}
	return xsPred{}, false
}

// xsFrame is what an xpathWatch knows of an open element (or of the
// root): the steps of the path it matches, as bits (bit i+1 for step i,
// bit 0 for the root), those its ancestors match, and those its element
// children so far match.
type xsFrame struct {
	self, anc, kids uint32
	// pos counts, for each positional predicate, the children that
	// passed what comes before it.
	pos [maxXSPos]int32
	// children counts the element children so far.
	children int
	// match is set when the element is in the path's node set, and slot
	// is then the index of its value in the watch's texts, or -1.
	match bool
	slot  int
	// mark is the walk's count of elements and tokens when the element
	// opened: its subtree holds at most what the count grew by when it
	// closes. fsN and fsEnd sum the marks of the children that start a
	// following-sibling step, which visits the nodes after each.
	mark       int
	fsN, fsEnd int
}

// xpathWatch answers an xstreamForm from an mdWalker's walk.
type xpathWatch struct {
	form xstreamForm
	// frames parallels the walker's stack of open elements; root is the
	// document's. open counts the frames, root included, that match each
	// step.
	frames []xsFrame
	root   xsFrame
	open   [maxXSSteps + 1]int
	// cost bounds the steps the tree's evaluation would take beyond one
	// walk of the document (streamXPath).
	cost int
	// attrNames are the names of the elements whose attributes the
	// watch reads.
	attrNames []string
	// count is the number of elements of the path's node set so far.
	count int
	// first is the id of the first of them, 0 until it opens; open is
	// set while it is, and value collects the text placed in it.
	first    int
	openText bool
	value    []byte
	// For text(), @attr and elements: texts holds the first look text
	// nodes of the elements, values of their attribute or the elements'
	// own text (for the first want of them), and nodes counts them all;
	// attrs counts the attributes of those elements, which the tree's
	// evaluation visits. For text(), last is the id of the element whose
	// last child is the last text node (0 once an element or a comment
	// follows it): text placed in it then joins that node, as the tree
	// builder merges adjacent text.
	want, look int
	texts      [][]byte
	nodes      int
	attrs      int
	last       int
	// afterBody is set from an end tag of body or html until the tree
	// builder's after-body insertion modes end (afterBodyToken): a
	// comment then goes to the html element or the document.
	afterBody bool
}

// newXPathWatch returns a watch for form, keeping the values of the
// first look nodes, and the text of the first want elements.
func newXPathWatch(form xstreamForm, want, look int) *xpathWatch {
	// Pages rarely nest deeper than 32 elements: one allocation holds
	// the frames of most.
	x := &xpathWatch{form: form, want: want, look: look, frames: make([]xsFrame, 0, 32)}
	last := len(form.steps) - 1
	for i, s := range form.steps {
		if i == last && form.kind == xstreamAttr || slices.ContainsFunc(s.preds, func(p xsPred) bool { return p.kind != xsPos }) {
			if !slices.Contains(x.attrNames, s.name) {
				x.attrNames = append(x.attrNames, s.name)
			}
		}
	}
	// The root matches bit 0 and the leading // steps.
	x.root.self = 1
	for i, s := range form.steps {
		if s.axis != xsDescendantOrSelf || x.root.self&(1<<i) == 0 {
			break
		}
		x.root.self |= 1 << (i + 1)
	}
	x.countOpen(x.root.self, 1)
	return x
}

// countOpen adds d to the open count of every step in mask.
func (x *xpathWatch) countOpen(mask uint32, d int) {
	for ; mask != 0; mask &= mask - 1 {
		x.open[bits.TrailingZeros32(mask)] += d
	}
}

// top returns the frame of the current element, or the root's.
func (x *xpathWatch) top() *xsFrame {
	if n := len(x.frames); n > 0 {
		return &x.frames[n-1]
	}
	return &x.root
}

// pushed follows an element the walk opens, whose attributes are attrs
// if the watch reads them (wantsAttrs).
func (x *xpathWatch) pushed(w *mdWalker, e *mdElem, attrs []html.Attribute) error {
	x.last = 0
	parent := x.top()
	f := xsFrame{slot: -1, mark: w.nextID + w.tokens, anc: parent.self | parent.anc}
	for i := range x.form.steps {
		s := &x.form.steps[i]
		bit, prev := uint32(1)<<(i+1), uint32(1)<<i
		if s.axis == xsDescendantOrSelf {
			if f.self&prev != 0 || f.anc&prev != 0 {
				f.self |= bit
			}
			continue
		}
		if s.name != "*" && e.name != s.name {
			continue
		}
		// m is how many times the tree's evaluation tests the element
		// against the step: once per node of the step's context whose
		// axis holds it.
		m := 0
		switch s.axis {
		case xsChild:
			if parent.self&prev != 0 {
				m = 1
			}
		case xsDescendant:
			if f.anc&prev != 0 {
				m = x.open[i]
			}
		case xsFollowingSibling:
			if parent.kids&prev != 0 {
				m = parent.children
			}
		}
		if m == 0 {
			continue
		}
		if e.ns != "" {
			// XPath's unprefixed names match SVG and MathML elements too,
			// some under a name the tree builder changes the case of, and
			// their attributes, which the walk does not read.
			return errNeedsTree
		}
		x.cost += m * (1 + len(s.preds)*predCost(attrs))
		if passes(s, attrs, parent) {
			f.self |= bit
		}
	}
	parent.kids |= f.self
	parent.children++
	x.countOpen(f.self, 1)
	if f.match = f.self&(1<<len(x.form.steps)) != 0; f.match {
		if err := x.matched(e, attrs, &f); err != nil {
			return err
		}
	}
	x.frames = append(x.frames, f)
	return nil
}

// predCost bounds the steps the tree's evaluation takes to test a
// predicate on an element with attributes attrs: the walk of its
// attributes, and a step per 64 bytes of the value a function reads.
func predCost(attrs []html.Attribute) int {
	n := 3 + len(attrs)
	for _, a := range attrs {
		n += len(a.Val) / 64
	}
	return n
}

// passes reports whether an element named as step s names, with
// attributes attrs, passes s's predicates, counting it among parent's
// children for the positional ones.
func passes(s *xsStep, attrs []html.Attribute, parent *xsFrame) bool {
	for _, p := range s.preds {
		switch p.kind {
		case xsHas:
			if !hasAttrOf(attrs, p.attr) {
				return false
			}
		case xsEq:
			v, ok := attrValue(attrs, p.attr)
			if !ok || v != p.value {
				return false
			}
		case xsContains, xsStarts:
			// The string value of a missing attribute is "".
			v, _ := attrValue(attrs, p.attr)
			if p.kind == xsContains && !strings.Contains(v, p.value) || p.kind == xsStarts && !strings.HasPrefix(v, p.value) {
				return false
			}
		case xsPos:
			parent.pos[p.slot]++
			if parent.pos[p.slot] != p.pos {
				return false
			}
		}
	}
	return true
}

// attrValue returns the value of the attribute key of attrs.
func attrValue(attrs []html.Attribute, key string) (string, bool) {
	for _, a := range attrs {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// matched follows an element of the path's node set, e, whose frame is
// f.
func (x *xpathWatch) matched(e *mdElem, attrs []html.Attribute, f *xsFrame) error {
	x.count++
	switch x.form.kind {
	case xstreamAttr:
		x.attrs += len(attrs)
		if v, ok := attrValue(attrs, x.form.attr); ok {
			if x.nodes++; x.nodes <= x.look {
				x.texts = append(x.texts, []byte(v))
			}
		}
	case xstreamElems:
		if rawText(e.a) {
			// Its text is its raw content, trimmed (CSS.value).
			return errNeedsTree
		}
		if x.nodes++; x.nodes <= x.look {
			x.texts = append(x.texts, nil)
			if x.nodes <= x.want {
				// The walker collects the element's visible text as it
				// collects a microdata property's.
				f.slot = len(x.texts) - 1
				e.text = &textCollector{max: math.MaxInt}
			}
		}
	}
	if x.first == 0 {
		x.first = e.id
		x.openText = x.form.kind == xstreamString || x.form.kind == xstreamNormalize
	}
	return nil
}

// popped follows an element the walk closes.
func (x *xpathWatch) popped(w *mdWalker, e *mdElem) {
	if e.id == x.first {
		x.openText = false
	}
	f := &x.frames[len(x.frames)-1]
	if f.slot >= 0 && e.text != nil {
		// The collector ends with the element: its buffer is the value.
		x.texts[f.slot] = e.text.buf
	}
	x.close(f, w.nextID+w.tokens)
	x.countOpen(f.self, -1)
	x.frames = x.frames[:len(x.frames)-1]
	if f.self&x.fsContext() != 0 {
		parent := x.top()
		parent.fsN++
		parent.fsEnd += w.nextID + w.tokens
	}
}

// close charges what the tree's evaluation visits from the element (or
// root) of frame f, now closed, the walk's count being at mark: its
// subtree for each step on the descendant, child and
// descendant-or-self axes it is a context node of, and for its text
// nodes or its children; the nodes after each of its children that is
// a following-sibling step's context.
func (x *xpathWatch) close(f *xsFrame, mark int) {
	size := mark - f.mark + 1
	for i, s := range x.form.steps {
		if f.self&(1<<i) != 0 && s.axis != xsFollowingSibling {
			x.cost += size
		}
	}
	if f.match && x.form.kind == xstreamText {
		x.cost += size
	}
	x.cost += f.fsN*mark - f.fsEnd
}

// fsContext returns the bits of the steps before a following-sibling
// step.
func (x *xpathWatch) fsContext() uint32 {
	var m uint32
	for i, s := range x.form.steps {
		if s.axis == xsFollowingSibling {
			m |= 1 << i
		}
	}
	return m
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

// mergesAttrs reports whether the watch reads the attributes of html and
// body elements, which a later <html> or <body> tag adds to; x may be
// nil.
func (x *xpathWatch) mergesAttrs() bool {
	return x != nil && slices.Contains(x.attrNames, "*")
}

// wantsAttrs reports whether the watch reads the attributes of the
// elements named name; x may be nil.
func (x *xpathWatch) wantsAttrs(name []byte) bool {
	if x == nil {
		return false
	}
	for _, n := range x.attrNames {
		if string(name) == n || n == "*" {
			return true
		}
	}
	return false
}

// wantsText reports whether the watch reads text placed in cur now; x
// may be nil.
func (x *xpathWatch) wantsText(cur *mdElem) bool {
	if x == nil {
		return false
	}
	return x.openText || x.form.kind == xstreamText && x.top().match
}

// text follows the text of the current token, which the walk places in
// cur.
func (x *xpathWatch) text(cur *mdElem, w *mdWalker) {
	if x.openText {
		x.value = append(x.value, w.text()...)
	}
	if x.form.kind != xstreamText || !x.top().match {
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
	x := newXPathWatch(f, want, look)
	w := &mdWalker{ctx: ctx, z: newMDTokens(doc.src), collectorLimit: c.limits.MaxResultBytes, watch: x}
	if err := w.run(); err != nil {
		return XPathAnswer{}, err
	}
	// The tree holds at most a node per element the walk opened and per
	// token (text, comment, doctype), and html, head, body and the root.
	// Its evaluation walks them for each step from the root, and the
	// subtrees or siblings of each other context node, which the watch
	// charged as it closed them (x.cost), with the predicates of each
	// element it tests and the sorting of each node it answers; it
	// charges a step per 64 bytes of the text it reads, twice at most.
	// Where all that could pass MaxXPathSteps, the tree's evaluation
	// says whether it does.
	nodes := w.nextID + w.tokens + 4
	x.close(&x.root, nodes)
	text := len(x.value)
	for _, t := range x.texts {
		text += len(t)
	}
	if 2*nodes+x.cost+2*x.count+x.attrs+2*(text/64)+8 > c.limits.MaxXPathSteps {
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
	case xstreamText, xstreamElems:
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

// xpathStreamForm returns the form the stream answers spec with, whose
// expression has form f, and whether it may: a scalar whatever the
// node-set fields say, elements or text nodes as text, elements'
// attribute attr (spec.Attribute, as a last step @attr asks it), an
// attribute node's value.
func xpathStreamForm(f xstreamForm, spec XPathSpec, attr string) (xstreamForm, bool) {
	if f.kind == xstreamElems && attr != "" {
		f.kind, f.attr = xstreamAttr, attr
		return f, true
	}
	return f, xpathStreamable(f, spec, attr)
}

// xpathStreamable reports whether spec, whose expression has form f, may
// be answered from the stream: a scalar whatever the node-set fields say,
// or text nodes as text and not filtered by an attribute.
func xpathStreamable(f xstreamForm, spec XPathSpec, attr string) bool {
	switch f.kind {
	case xstreamNone:
		return false
	case xstreamText, xstreamElems:
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
func (c *CSS) xpathFromStream(ctx context.Context, doc *Document, spec XPathSpec, x *xpathExpr, f xstreamForm) (ans XPathAnswer, ok bool, err error) {
	ans, err = c.streamXPath(ctx, doc, spec, f)
	if errors.Is(err, errNeedsTree) {
		c.cache.gaveUp.Add(1)
		if x.cssType == "" || x.stream.kind != xstreamAttr {
			doc.UseTree()
		}
		return XPathAnswer{}, false, nil
	}
	if err == nil {
		c.cache.streamed.Add(1)
	}
	return ans, true, err
}
