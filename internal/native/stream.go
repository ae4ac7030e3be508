package native

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Answering from the token stream
//
// Most questions a scraper asks name elements by tag and attributes alone:
// the page's title, every link's href, a meta tag's content, the JSON-LD
// scripts, the paragraphs' text. Building the HTML5 tree costs about three times tokenizing the
// page, and such a question needs no tree wherever the tree holds the same
// elements, with the same attributes, in the same order as the start tags
// of the token stream. That holds for most of a real page, but not where
// HTML5 tree construction moves, clones, renames, merges or drops elements:
// content fostered out of a table, a misnested <a> (the adoption agency
// clones it), <select>, <template>, <frameset>, <image>, and foreign
// content that HTML breaks out of. Tables themselves are followed
// (tableFrame), and so are paragraphs, to their end (paraState).
//
// streamSelect reads the tokens exactly as x/net/html's parser drives its
// tokenizer and gives up, with errNeedsTree, at the first token after which
// the tree could differ; Select then parses. It never guesses: a construct
// it does not model is a reason to give up, so the worst case costs one
// tokenization on top of the parse. FuzzStreamMatchesTree and
// TestStreamCorpus compare the two paths.

// errNeedsTree reports that the token stream met markup after which the
// tree may not hold the stream's elements in the stream's order.
var errNeedsTree = errors.New("native: the answer needs the tree")

// ctxCheckTokens is how many tokens streamSelect reads between context
// checks.
const ctxCheckTokens = 1024

// selector is a compiled selector group and, when the token stream can
// answer it, the element types it can match.
type selector struct {
	group cascadia.SelectorGroup
	// stream lists the types of the elements group can match when every
	// selector of the group is one compound selector on a type that
	// streamTarget accepts; nil otherwise.
	stream []atom.Atom
	// rawOnly is set when every type in stream is a raw-text element
	// (title, script, style), whose text the stream holds whole.
	rawOnly bool
	// paraOnly is set when every type in stream is p, whose text the
	// stream follows to the paragraph's end (paraState).
	paraOnly bool
	// pseudo is the parsel pseudo-element the selectors end in, if any.
	pseudo pseudoElement

	// cost is the selector as the cost model sees it (cost.go); costErr
	// is set instead when cascadia compiled a construct the model does not
	// cover, and the selector is then refused.
	cost     *costNode
	costErr  error
	hasDepth int
	// flat selectors cost at most leaves steps on any element, so no
	// document need be measured for them.
	flat   bool
	leaves int
}

func compileSelector(src string) (*selector, error) {
	rest, pe, err := splitPseudo(src)
	if err != nil {
		return nil, &SpecError{Field: "selector", Value: src, Err: err}
	}
	g, err := parseSelector(rest)
	if err != nil {
		return nil, err
	}
	s := &selector{group: g, pseudo: pe}
	if s.cost, s.costErr = costModel(g); s.costErr == nil {
		s.hasDepth = s.cost.hasDepth()
		s.leaves, s.flat = s.cost.flat()
	}
	if !pe.text && !pe.inside {
		// ::attr() on the matched elements themselves is an attribute
		// question like any other; the rest needs the tree (pseudo.go).
		s.stream = streamTypes(rest)
	}
	s.rawOnly, s.paraOnly = s.stream != nil, s.stream != nil
	for _, a := range s.stream {
		if a != atom.Title && !rawText(a) {
			s.rawOnly = false
		}
		if a != atom.P {
			s.paraOnly = false
		}
	}
	return s, nil
}

// streamable reports whether the token stream can answer the question:
// attribute values of any stream type, the text of raw-text elements, or
// the text of paragraphs. Markup output and the text of other elements
// need the tree.
func (s *selector) streamable(attr string, out Output) bool {
	if s.stream == nil || out != OutputText {
		return false
	}
	return attr != "" || s.rawOnly || s.paraOnly
}

// streamTarget reports the element types whose start tags become exactly
// one element each, in place, outside the constructs streamSelect gives up
// on: none of them is a formatting element but <a> (which streamSelect
// follows to its end tag), none is renamed, merged or ignored by the tree
// builder in body content. (A stray </p> makes an empty p as well: no
// attribute question matches it, and paraState counts it.)
func streamTarget(a atom.Atom) bool {
	switch a {
	case atom.A, atom.Area, atom.Audio, atom.Base, atom.Embed, atom.Iframe,
		atom.Img, atom.Link, atom.Meta, atom.P, atom.Script, atom.Source, atom.Style,
		atom.Title, atom.Track, atom.Video:
		return true
	}
	return false
}

// streamTypes returns the element types of the selector group sel when
// every selector in it is a single compound selector: a type that
// streamTarget accepts followed by any number of #id, .class and
// [attribute] conditions, which cascadia evaluates on the element alone.
// It recognizes a conservative subset of selector syntax (ASCII names, no
// escapes, no comments, no combinators or pseudo-classes) and returns nil
// for anything else, which the tree then answers. sel has already been
// parsed by cascadia, so only its shape is checked here.
func streamTypes(sel string) []atom.Atom {
	var types []atom.Atom
	p := selScanner{s: sel}
	for {
		p.spaces()
		name := p.ident()
		if name == "" {
			return nil
		}
		a := atom.Lookup([]byte(strings.ToLower(name)))
		if !streamTarget(a) {
			return nil
		}
		for done := false; !done; {
			switch p.peek() {
			case '#', '.':
				p.i++
				if p.ident() == "" {
					return nil
				}
			case '[':
				p.i++
				if !p.attribute() {
					return nil
				}
			default:
				done = true
			}
		}
		types = append(types, a)
		p.spaces()
		switch p.peek() {
		case 0:
			if p.i == len(p.s) {
				return types
			}
			return nil
		case ',':
			p.i++
		default:
			return nil
		}
	}
}

type selScanner struct {
	s string
	i int
}

func (p *selScanner) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *selScanner) spaces() {
	for p.i < len(p.s) && strings.IndexByte(" \t\n\r\f", p.s[p.i]) >= 0 {
		p.i++
	}
}

// ident consumes an ASCII CSS identifier.
func (p *selScanner) ident() string {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_', c == '-',
			'0' <= c && c <= '9' && p.i > start:
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i]
}

// attribute consumes the rest of an attribute condition after its '[':
// a name, then optionally an operator, a value and an i or s flag, and ']'.
func (p *selScanner) attribute() bool {
	p.spaces()
	if p.ident() == "" {
		return false
	}
	p.spaces()
	if p.peek() == ']' {
		p.i++
		return true
	}
	if strings.IndexByte("~|^$*", p.peek()) >= 0 {
		p.i++
	}
	if p.peek() != '=' {
		return false
	}
	p.i++
	p.spaces()
	switch q := p.peek(); q {
	case '"', '\'':
		end := strings.IndexByte(p.s[p.i+1:], q)
		if end < 0 || strings.ContainsAny(p.s[p.i+1:p.i+1+end], "\\\n\r\f") {
			return false
		}
		p.i += end + 2
	default:
		if p.ident() == "" {
			return false
		}
	}
	p.spaces()
	if c := p.peek(); c == 'i' || c == 'I' || c == 's' || c == 'S' {
		p.i++
		p.spaces()
	}
	if p.peek() != ']' {
		return false
	}
	p.i++
	return true
}

// streamSelect answers a question that sel.streamable accepts from src's
// token stream, with Select's results and errors, or fails with
// errNeedsTree.
func (c *CSS) streamSelect(ctx context.Context, src string, sel *selector, attr string, want, look int) (values []string, truncated bool, err error) {
	q := c.newQuestion(sel, attr, want, look)
	// The question collects text in the extractor's scratch space, which
	// keeps whatever it grows to (up to Reset's bound).
	if sel.paraOnly {
		q.paraBuf.buf = c.buf[:0]
	} else {
		q.text = c.buf[:0]
	}
	err = streamMany(ctx, src, []*streamQuestion{q})
	if grown := max(cap(q.paraBuf.buf), cap(q.text)); grown > cap(c.buf) {
		if cap(q.paraBuf.buf) == grown {
			c.buf = q.paraBuf.buf[:0]
		} else {
			c.buf = q.text[:0]
		}
	}
	if err != nil {
		return nil, false, err
	}
	if q.err != nil {
		return nil, false, q.err
	}
	return q.values, q.truncated, nil
}

func (c *CSS) newQuestion(sel *selector, attr string, want, look int) *streamQuestion {
	limit := c.limits.MaxResultBytes
	return &streamQuestion{sel: sel, attr: attr, limit: limit, budget: limit, want: want, look: look}
}

// streamQuestion is one question of a scan, and its answer so far.
type streamQuestion struct {
	sel    *selector
	attr   string
	limit  int // Limits.MaxResultBytes, for the error
	budget int // bytes the result may still grow by
	want   int
	look   int
	found  int

	values    []string
	truncated bool
	// complete is set once the answer holds all the values wanted, or
	// err is set: the question takes no more values.
	complete bool
	err      error // the question's own error: its result is too large

	// text collects the text of a matched raw-text element until its end
	// tag; textOf is that element's type, 0 when none is open.
	textOf atom.Atom
	text   []byte

	// paraText is set when the question is the text of paragraphs, which
	// paraState follows; para is what the open paragraph is to it, and
	// paraBuf collects its text.
	paraText bool
	para     paraMatch
	paraBuf  textCollector
}

// streamMany answers every question from one pass over src's token
// stream. It fails with errNeedsTree when the stream cannot answer them
// all, or with ctx's error; a question's own error is in its err.
func streamMany(ctx context.Context, src string, qs []*streamQuestion) error {
	s := streamState{
		z:     html.NewTokenizer(strings.NewReader(src)),
		qs:    qs,
		probe: &html.Node{Type: html.ElementNode},
	}
	for _, q := range qs {
		for _, a := range q.sel.stream {
			if !slices.Contains(s.types, a) {
				s.types = append(s.types, a)
			}
		}
		q.paraText = q.attr == "" && q.sel.paraOnly
		if q.paraText && s.para == nil {
			s.para = &paraState{}
		}
	}
	s.followA = slices.Contains(s.types, atom.A)
	defer func() {
		// The probe's attributes are strings of this document.
		clear(s.probe.Attr)
	}()
	for tokens := 1; ; tokens++ {
		if tokens%ctxCheckTokens == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		done, err := s.next()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// streamState is one scan of a token stream.
type streamState struct {
	z     *html.Tokenizer
	qs    []*streamQuestion
	types []atom.Atom // the stream types of all the questions
	// probe is the element of the current start tag, for cascadia;
	// probed is set once it holds it.
	probe  *html.Node
	probed bool

	// Once every question is complete, the scan still goes on until
	// framesetOff: a <frameset> start tag while the parser's frameset-ok
	// flag is set removes the body, and with it the matches found there,
	// so an answer is final only once some text or element has cleared
	// that flag. It also goes on to the end of the open tables, whose
	// fostered content would come first.
	framesetOff bool
	raw         bool // the next text token is raw text

	// foreign holds the open elements of an <svg> or <math> subtree, whose
	// tokens the parser reads differently (no raw text, CDATA allowed).
	foreign []string
	// followA is set when the selector can match <a>, the one formatting
	// element among the targets: from an <a> start tag to its end tag, inA
	// is set and inner holds the elements opened since. Anything that
	// could close the <a> before its end tag gives up (insideA): a second
	// <a>, an end tag that does not close the innermost element, a block
	// while a <p> is open above the <a>; that is what makes the tree
	// builder close an <a> early and clone it later.
	followA bool
	inA     bool
	inner   []atom.Atom
	// pOpen is set when a <p> may be open in button scope outside the
	// current <a>, and pAboveA when one was as that <a> opened: a block
	// start tag inside the <a> would then close the <p>, and the <a> with
	// it. The stream gives up on the elements that break button scope
	// while a <p> may be open, so at most one <p> is ever in it.
	pOpen, pAboveA bool
	// tables holds the open tables, innermost last.
	tables []tableFrame
	// para follows paragraphs when the question is the text of p
	// elements; nil otherwise.
	para *paraState
	// integration is set while the innermost foreign element is an
	// integration point (<svg><title>, <math><mi>...), whose text is
	// HTML; markup inside one makes the stream give up.
	integration bool
	// open holds the names of the HTML elements the stream has seen open
	// and not seen closed, innermost last: more than the parser's stack of
	// open elements holds (see depth), so that the stream gives up, as
	// Parse does, where that stack may pass maxTreeDepth.
	open []string
}

// next reads one token; done reports that the answer is complete.
func (s *streamState) next() (done bool, err error) {
	z := s.z
	// The parser allows CDATA sections only in foreign content.
	z.AllowCDATA(len(s.foreign) > 0)
	tt := z.Next()
	s.probed = false
	capturing := false
	for _, q := range s.qs {
		if q.textOf != 0 {
			if tt != html.TextToken {
				q.endText()
			} else {
				capturing = true
			}
		}
	}
	raw := s.raw
	s.raw = false
	switch tt {
	case html.ErrorToken:
		if err := z.Err(); err != io.EOF {
			return false, err
		}
		if s.para != nil {
			s.para.close(s)
		}
		return true, nil
	case html.TextToken:
		if !capturing && s.framesetOff && (s.para == nil || !s.para.wantsText(s)) {
			// Nobody reads it: spare the unescaping.
			break
		}
		text := z.Text()
		for _, q := range s.qs {
			if q.textOf != 0 {
				q.text = append(q.text, text...)
			}
		}
		visible := !raw && len(s.foreign) == 0 && len(bytes.Trim(text, whitespaceOrNUL)) > 0
		if visible {
			s.framesetOff = true
		}
		if s.para != nil {
			s.para.text(s, text, raw, visible)
		}
	case html.StartTagToken, html.SelfClosingTagToken:
		err = s.startTag(tt)
	case html.EndTagToken:
		err = s.endTag()
	}
	// While a table is open, content fostered out of it would come before
	// the matches in it: the stream gives up on that, but must see it.
	return s.framesetOff && len(s.tables) == 0 && s.answered(), err
}

// answered reports whether every question is complete.
func (s *streamState) answered() bool {
	for _, q := range s.qs {
		if !q.complete {
			return false
		}
	}
	return true
}

// whitespaceOrNUL is what the parser finds blank in text: text with
// anything else in it makes a later <frameset> ignored.
const whitespaceOrNUL = " \t\r\n\f\x00"

func (s *streamState) startTag(tt html.TokenType) error {
	z := s.z
	name, hasAttr := z.TagName()
	if len(s.foreign) > 0 {
		// The parser keeps the tokenizer out of raw text in foreign
		// content, so <title> or <style> there holds markup.
		z.NextIsNotRawText()
		if s.integration {
			return errNeedsTree
		}
		safe, integration := foreignSafe(string(name))
		if !safe || slices.Contains(s.types, atom.Lookup(name)) {
			return errNeedsTree
		}
		if tt == html.StartTagToken {
			s.foreign = append(s.foreign, string(name))
			s.integration = integration
			return s.depth()
		}
		return nil
	}
	a := atom.Lookup(name)
	if err := s.pushed(a, name); err != nil {
		return err
	}
	if s.para != nil {
		if err := s.para.startTag(s, a, hasAttr); err != nil {
			return err
		}
	}
	if handled, err := s.tableStart(a); handled || err != nil {
		return err
	}
	switch a {
	case atom.Svg, atom.Math:
		if tt == html.StartTagToken {
			s.foreign = append(s.foreign, a.String())
			return s.depth()
		}
		return nil
	case atom.Select, atom.Template, // insertion modes that drop tags
		atom.Frameset, // replaces the body, and all matches in it
		atom.Image:    // renamed to img
		return errNeedsTree
	case atom.Iframe, atom.Noembed, atom.Noframes, atom.Noscript,
		atom.Plaintext, atom.Script, atom.Style, atom.Textarea, atom.Title,
		atom.Xmp:
		// The tokenizer reads the next text raw (see readStartTag).
		s.raw = true
	}
	switch a {
	case atom.Img, atom.Br, atom.Embed, atom.Area, atom.Wbr, atom.Keygen:
		// These always land in the body and make the parser ignore a
		// later <frameset> (see inBodyIM).
		s.framesetOff = true
	}
	switch a {
	case atom.Button, atom.Object, atom.Marquee, atom.Applet:
		// These break button scope: a <p> outside one would not be
		// closed by a block inside it, and be closable again after it.
		if s.pOpen || s.inA {
			return errNeedsTree
		}
	}
	if !s.inA {
		switch {
		case a == atom.P:
			s.pOpen = true
		case closesP(a):
			s.pOpen = false
		}
	} else {
		if err := s.insideA(a); err != nil {
			return err
		}
	}
	if a == atom.A && s.followA {
		s.inA, s.inner, s.pAboveA = true, s.inner[:0], s.pOpen
	}
	for _, q := range s.qs {
		if !q.complete && !q.paraText && slices.Contains(q.sel.stream, a) {
			s.candidate(q, a, hasAttr)
		}
	}
	return nil
}

// candidate matches the element of the current start tag, of type a,
// against q and takes its value when it matches.
func (s *streamState) candidate(q *streamQuestion, a atom.Atom, hasAttr bool) {
	if !s.match(q, a, hasAttr) {
		return
	}
	if q.attr == "" {
		// The text of a raw-text element: the tokens up to its end tag.
		q.textOf, q.text = a, q.text[:0]
		return
	}
	if v, ok := attribute(s.probe, q.attr); ok {
		q.emit(v)
	}
}

// match reports whether the element of the current start tag, of type a,
// matches q's selector. The first call for a tag reads its attributes
// into s.probe, which keeps them for the tag's other questions.
func (s *streamState) match(q *streamQuestion, a atom.Atom, hasAttr bool) bool {
	n := s.probe
	if !s.probed {
		s.probed = true
		n.DataAtom, n.Data = a, a.String()
		clear(n.Attr)
		n.Attr = n.Attr[:0]
		for more := hasAttr; more; {
			var k, v []byte
			k, v, more = s.z.TagAttr()
			n.Attr = append(n.Attr, html.Attribute{Key: string(k), Val: string(v)})
		}
	}
	return q.sel.group.Match(n)
}

// endText ends the text of a matched raw-text element and takes it as a
// value, as Select would render that element.
func (q *streamQuestion) endText() {
	var v string
	switch {
	case q.found >= q.want:
		// The one match past those wanted, which only tells that the
		// result is truncated: Select does not render it either.
	case rawText(q.textOf):
		v = strings.TrimSpace(string(q.text))
	default:
		t := textCollector{buf: make([]byte, 0, len(q.text)), max: q.budget}
		t.write(string(q.text))
		if len(t.buf) > t.max {
			q.fail(errResultTooLarge(q.limit))
			q.textOf = 0
			return
		}
		v = string(t.buf)
	}
	q.textOf = 0
	q.emit(v)
}

// emit takes v as the next value, with Select's bounds, and notes when no
// more values are wanted.
func (q *streamQuestion) emit(v string) {
	if q.complete {
		return
	}
	if q.found++; q.found > q.want {
		// Only one more than wanted is ever looked for: it tells that
		// MaxMatches cut the result.
		q.truncated, q.complete = true, true
		return
	}
	if len(v) > q.budget {
		q.fail(errResultTooLarge(q.limit))
		return
	}
	q.budget -= len(v)
	q.values = append(q.values, v)
	q.complete = q.found == q.look
}

// fail ends q with err.
func (q *streamQuestion) fail(err error) {
	q.err, q.complete = err, true
}

// insideA follows a start tag of type a inside an open <a>.
func (s *streamState) insideA(a atom.Atom) error {
	switch {
	case a == atom.A:
		return errNeedsTree
	case closesP(a):
		if s.pAboveA {
			return errNeedsTree
		}
		// It closes a <p> opened inside the <a>, and what is open in it.
		if i := slices.Index(s.inner, atom.P); i >= 0 {
			s.inner = s.inner[:i]
		}
		if heading(a) && len(s.inner) > 0 && heading(s.inner[len(s.inner)-1]) {
			s.inner = s.inner[:len(s.inner)-1]
		}
	case !phrasing(a):
		return errNeedsTree
	}
	if !void(a) {
		// The parser ignores the self-closing flag of a non-void HTML
		// element: it stays open.
		s.inner = append(s.inner, a)
	}
	return nil
}

func (s *streamState) endTag() error {
	name, _ := s.z.TagName()
	if n := len(s.foreign); n > 0 {
		// An end tag that does not close the innermost foreign element
		// may close several, or reach the HTML around them.
		if string(name) != s.foreign[n-1] {
			return errNeedsTree
		}
		s.foreign = s.foreign[:n-1]
		s.integration = false // its parent, if any, is not one
		return nil
	}
	if n := len(s.open); n > 0 && s.open[n-1] == string(name) {
		s.open = s.open[:n-1]
	}
	a := atom.Lookup(name)
	if s.para != nil {
		if err := s.para.endTag(s, a); err != nil {
			return err
		}
	}
	if handled, err := s.tableEnd(a); handled || err != nil {
		return err
	}
	if !s.inA {
		if a == atom.P {
			s.pOpen = false
		}
		return nil
	}
	switch n := len(s.inner); {
	case n == 0 && a == atom.A:
		s.inA = false
	case n > 0 && s.inner[n-1] == a:
		s.inner = s.inner[:n-1]
	default:
		return errNeedsTree
	}
	return nil
}

// The parser's stack of open elements
//
// Parse fails on a page that makes its stack of open elements deeper than
// maxTreeDepth; the stream, which keeps no such stack, would answer it.
// So that both answer alike, the stream keeps an upper bound of that depth
// and gives up where it passes maxTreeDepth: the tree then refuses the
// page. The bound is the elements the stream saw open and has not seen
// closed (open, and the foreign ones), and what the parser adds on its
// own. An element's end tag closes it in the bound only when it is the
// innermost there (the parser then closes it, or has already), and so do
// the few start tags of reopens; the parser closes elements the bound
// keeps (most implied end tags, a <p> closed by a block, a cell by the
// next), never the reverse. The bound holds at most maxTreeDepth names.
// The parser's own
// elements are html, head or body (2), the empty <p> of a stray </p>,
// which it closes at once (1), and a table's implied tbody and tr or
// colgroup (2 a table). The clones of formatting elements that the
// parser reopens stand for elements the bound still holds: a formatting
// element is reopened only while it has not met its own end tag.
//
// The stream reads a page only up to its answer: nesting past the limit
// after that point goes unread, and the answer is given where Parse would
// refuse the page. Reading on to find out would cost a tokenization of the
// rest (five times the time of a title question on the median corpus
// page); TestStreamDeepNesting pins both sides.

// treeSlack is what the parser's stack holds beside the elements of
// streamState.open and foreign and the implied parts of open tables.
const treeSlack = 3

// pushed follows an HTML start tag of type a and name name.
func (s *streamState) pushed(a atom.Atom, name []byte) error {
	switch a {
	case atom.Html, atom.Head, atom.Body:
		// Counted in treeSlack, once each: the parser merges repeats.
		return nil
	case atom.Svg, atom.Math:
		// Counted in foreign, which their end tags close.
		return nil
	case atom.Area, atom.Base, atom.Basefont, atom.Bgsound, atom.Br,
		atom.Col, atom.Embed, atom.Frame, atom.Hr, atom.Img, atom.Input,
		atom.Keygen, atom.Link, atom.Meta, atom.Param, atom.Source,
		atom.Track, atom.Wbr:
		// Void: the parser closes them at once, whatever the flag.
		return nil
	}
	if n := len(s.open); n > 0 && reopens(a, s.open[n-1]) {
		// The parser closes the innermost element of the same kind
		// first, and whatever it reopened above it (see reopens).
		s.open = s.open[:n-1]
	}
	// A non-void element stays open even when its tag is self-closing.
	if a != 0 {
		s.open = append(s.open, a.String())
	} else {
		s.open = append(s.open, string(name))
	}
	return s.depth()
}

// reopens reports whether a start tag of type a closes an element named
// top that is the innermost one of streamState.open. If the parser holds
// that element, nothing but the clones of formatting elements is above
// it (the bound holds the rest), and each of these start tags closes it
// through them: <li> and <dd> or <dt> close the list item (the list item
// algorithm passes elements that are not special), <p> the paragraph in
// button scope. The same holds of no other implied end tag the stream
// follows, so only these close anything in the bound.
func reopens(a atom.Atom, top string) bool {
	switch a {
	case atom.Li, atom.P:
		return top == a.String()
	case atom.Dd, atom.Dt:
		return top == "dd" || top == "dt"
	}
	return false
}

// depth gives up where the parser's stack of open elements may pass
// maxTreeDepth.
func (s *streamState) depth() error {
	if len(s.open)+len(s.foreign)+2*len(s.tables)+treeSlack > maxTreeDepth {
		return errNeedsTree
	}
	return nil
}

// foreignSafe reports whether a start tag in foreign content stays a
// foreign element: not one that breaks out into HTML, nor <annotation-xml>,
// which may hold HTML. integration reports the integration points whose
// text is HTML text. (A foreign element that the selector's types name,
// such as an SVG <a> or <title>, is a reason to give up too.)
func foreignSafe(name string) (safe, integration bool) {
	switch name {
	case "b", "big", "blockquote", "body", "br", "center", "code", "dd",
		"div", "dl", "dt", "em", "embed", "font", "h1", "h2", "h3", "h4",
		"h5", "h6", "head", "hr", "i", "img", "li", "listing", "menu",
		"meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span",
		"strong", "strike", "sub", "sup", "table", "tt", "u", "ul", "var",
		"annotation-xml":
		return false, false
	case "foreignobject", "desc", "title", "mi", "mo", "mn", "ms", "mtext":
		return true, true
	}
	return true, false
}

// closesP reports the start tags that close a <p> in button scope, as
// inBodyIM's popUntil(buttonScope, a.P), among those the stream models.
func closesP(a atom.Atom) bool {
	switch a {
	case atom.Address, atom.Article, atom.Aside, atom.Blockquote,
		atom.Center, atom.Details, atom.Dialog, atom.Dir, atom.Div, atom.Dl,
		atom.Fieldset, atom.Figcaption, atom.Figure, atom.Footer,
		atom.Header, atom.Hgroup, atom.Main, atom.Menu, atom.Nav, atom.Ol,
		atom.P, atom.Search, atom.Section, atom.Summary, atom.Ul,
		atom.Pre, atom.Listing:
		return true
	}
	return heading(a)
}

func heading(a atom.Atom) bool {
	switch a {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		return true
	}
	return false
}

// phrasing reports the elements that may open inside an <a> without
// closing it: phrasing content that closes no <p> and is no <a>.
func phrasing(a atom.Atom) bool {
	switch a {
	case atom.Abbr, atom.B, atom.Bdi, atom.Bdo, atom.Br, atom.Cite,
		atom.Code, atom.Data, atom.Dfn, atom.Em, atom.Font, atom.I, atom.Img,
		atom.Kbd, atom.Mark, atom.Noscript, atom.Picture, atom.Q, atom.S,
		atom.Samp, atom.Script, atom.Small, atom.Source, atom.Span,
		atom.Strong, atom.Style, atom.Sub, atom.Sup, atom.Time, atom.U,
		atom.Var, atom.Wbr:
		return true
	}
	return false
}

// void reports the phrasing elements that have no end tag.
func void(a atom.Atom) bool {
	switch a {
	case atom.Br, atom.Img, atom.Source, atom.Wbr:
		return true
	}
	return false
}

// tableFrame is an open <table>. Inside a td, th or caption (cell), content
// is body content; elsewhere in a table the parser moves content out in
// front of the table (foster parenting), which the stream does not model:
// there, only the table's own structure, whitespace, <script> and <style>
// keep the stream going.
type tableFrame struct {
	cell  bool
	pOpen bool // streamState.pOpen outside the table, restored at its end
}

// inTable reports whether the tokens are in a table but not in a cell.
func (s *streamState) inTable() bool {
	n := len(s.tables)
	return n > 0 && !s.tables[n-1].cell
}

// tableStart follows a start tag of type a for the table model; handled
// reports that a was table structure, which nothing else needs to see.
func (s *streamState) tableStart(a atom.Atom) (handled bool, err error) {
	switch a {
	case atom.Table:
		if s.inA {
			return true, errNeedsTree
		}
		if s.inTable() {
			// A table start in a table ends the first (inTableIM).
			s.popTable()
		}
		// A table breaks button scope: no <p> outside it is in scope
		// inside it.
		s.tables = append(s.tables, tableFrame{pOpen: s.pOpen})
		s.pOpen = false
		s.framesetOff = true
		return true, nil
	case atom.Caption, atom.Td, atom.Th, atom.Tr, atom.Tbody, atom.Thead,
		atom.Tfoot, atom.Colgroup, atom.Col:
		n := len(s.tables)
		if n == 0 || s.inA {
			// Outside a table the parser ignores them.
			return true, errNeedsTree
		}
		// A cell or caption start closes the open cell, if any, and
		// opens one; the rest close it and stay in the table's rows.
		s.tables[n-1].cell = a == atom.Caption || a == atom.Td || a == atom.Th
		return true, nil
	case atom.Script, atom.Style:
		// Inserted where they are even in a table (inTableIM).
		return false, nil
	}
	if s.inTable() {
		return true, errNeedsTree
	}
	return false, nil
}

// tableEnd follows an end tag of type a for the table model.
func (s *streamState) tableEnd(a atom.Atom) (handled bool, err error) {
	n := len(s.tables)
	if n == 0 {
		return false, nil
	}
	switch a {
	case atom.Table, atom.Td, atom.Th, atom.Caption, atom.Tr, atom.Tbody,
		atom.Thead, atom.Tfoot, atom.Col, atom.Colgroup, atom.Body, atom.Html:
		if s.inA {
			// They close the <a> with the cell.
			return true, errNeedsTree
		}
	}
	switch a {
	case atom.Table:
		s.popTable()
		return true, nil
	case atom.Td, atom.Th, atom.Caption, atom.Tr, atom.Tbody, atom.Thead, atom.Tfoot:
		// Each ends the cell, or is ignored; either way the content
		// after it is, as far as the stream knows, not in a cell.
		s.tables[n-1].cell = false
		return true, nil
	case atom.Col, atom.Colgroup, atom.Body, atom.Html:
		return true, nil
	case atom.Script, atom.Style:
		// The end of their raw text, wherever they were.
		return false, nil
	}
	if !s.tables[n-1].cell {
		// Any other end tag in a table is handled as if in the body,
		// fostered.
		return true, errNeedsTree
	}
	return false, nil
}

func (s *streamState) popTable() {
	n := len(s.tables)
	s.pOpen = s.tables[n-1].pOpen
	s.tables = s.tables[:n-1]
}
