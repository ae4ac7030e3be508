package native

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"

	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
)

// Output says what a CSS extraction returns for each matched element.
type Output int

const (
	// OutputText is the element's visible text, white space collapsed.
	OutputText Output = iota
	// OutputInnerHTML is the markup of the element's children.
	OutputInnerHTML
	// OutputOuterHTML is the markup of the element itself.
	OutputOuterHTML
)

func (o Output) String() string {
	switch o {
	case OutputText:
		return "text"
	case OutputInnerHTML:
		return "inner_html"
	case OutputOuterHTML:
		return "outer_html"
	}
	return fmt.Sprintf("Output(%d)", int(o))
}

// CSSSpec is one CSS question asked of a document.
type CSSSpec struct {
	// Selector is a CSS selector group in cascadia's dialect (CSS level 3
	// and a few extensions such as :contains); pseudo-elements are refused.
	Selector string
	// Attribute, when set, selects the value of that attribute instead of
	// the element's content; elements that lack it are not matches at all,
	// so "the first a with href" is {Selector: "a", Attribute: "href"}.
	// Only OutputText may be combined with it. Matching is
	// case-insensitive, as HTML attribute names are.
	Attribute string
	Output    Output
	// All asks for every match; otherwise only the first is returned.
	All bool
	// Limit, when positive and All is set, returns at most Limit matches.
	Limit int
}

// Retention bounds of an extractor's scratch space. The initial sizes serve
// a typical request without growing; anything grown past the kept bounds by
// a large document is dropped on Reset, so a pooled extractor never holds
// more than a few tens of kilobytes between requests.
const (
	initialBufBytes = 4 << 10
	initialNodes    = 64
	maxKeptBufBytes = 32 << 10
	maxKeptNodes    = 1024
)

// ctxCheckNodes is how many nodes a walk visits between context checks:
// often enough to stop within microseconds, rarely enough to cost nothing.
// A selector that may cost more than a step per element is checked every
// ctxCheckWork steps of its bound instead, down to every element.
const (
	ctxCheckNodes = 1024
	ctxCheckWork  = 1 << 14
)

// CSS extracts values from documents with CSS selectors. It is meant to be
// pooled: it owns scratch space reused across requests and must not be
// used by two goroutines at once. It satisfies the pool's Poolable.
type CSS struct {
	limits Limits
	sels   view[*selector]
	cache  *SelectorCache // for its counters and its XPath companion
	// xpathView is the view of cache.XPath(), taken on first use.
	xpathView view[*xpathExpr]
	buf       []byte       // text and HTML rendering, one value at a time
	nodes     []*html.Node // the matched elements of the current call
	closed    atomic.Bool
}

// NewCSS returns a CSS extractor that compiles selectors through cache,
// shared with the other extractors of its pool. A nil cache gives the
// extractor a private one of DefaultCacheSize.
func NewCSS(cache *SelectorCache, limits Limits) *CSS {
	if cache == nil {
		cache = NewSelectorCache(0)
	}
	return &CSS{
		limits: limits.normalized(),
		sels:   view[*selector]{shared: cache.c},
		cache:  cache,
		buf:    make([]byte, 0, initialBufBytes),
		nodes:  make([]*html.Node, 0, initialNodes),
	}
}

// Select answers spec on doc. It returns one value per matched element, in
// document order: the first match only unless spec.All is set, at most
// spec.Limit when it is positive, and never more than Limits.MaxMatches;
// truncated reports that MaxMatches, not spec, cut the result short.
//
// Text values are the element's visible text (as Document.Text, but for
// one element); a matched <script> or <style> yields its content trimmed
// but otherwise verbatim, so JSON-LD survives. HTML values are rendered by
// html.Render and so are normalized markup, not the source bytes. An
// element with no text yields "", which keeps values aligned with matches.
//
// Errors: *SpecError for an invalid spec, ErrEmptyDocument for a nil doc,
// ErrResultTooLarge, ErrClosed, or ctx.Err() when ctx is done; ctx is
// checked every ctxCheckNodes nodes of the walk and between values.
func (c *CSS) Select(ctx context.Context, doc *Document, spec CSSSpec) (values []string, truncated bool, err error) {
	if c.closed.Load() {
		return nil, false, ErrClosed
	}
	attr, err := c.check(spec)
	if err != nil {
		return nil, false, err
	}
	sel, err := c.sels.get(spec.Selector)
	if err != nil {
		return nil, false, err
	}
	if err := c.admit(spec.Selector, sel); err != nil {
		return nil, false, err
	}
	if attr, err = c.pseudoAttr(spec, sel, attr); err != nil {
		return nil, false, err
	}
	if doc == nil {
		return nil, false, ErrEmptyDocument
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	want, look := plan(spec.All, spec.Limit, c.limits.MaxMatches)
	if sel.streamable(attr, spec.Output) && doc.streamable() {
		values, truncated, err := c.streamSelect(ctx, doc.src, sel, attr, want, look)
		if !errors.Is(err, errNeedsTree) {
			if err == nil {
				c.cache.streamed.Add(1)
			}
			return values, truncated, err
		}
		c.cache.gaveUp.Add(1)
		// The document's other questions need not find that out again.
		doc.UseTree()
	}
	var spent float64
	return c.selectTree(ctx, doc, spec.Selector, sel, attr, spec.Output, want, look, &spent)
}

// selectTree answers a checked question from doc's parsed tree, as Select
// describes. *spent is the work the call's earlier questions were charged
// (see charge); src is the selector's text, for errors.
func (c *CSS) selectTree(ctx context.Context, doc *Document, src string, sel *selector, attr string, out Output, want, look int, spent *float64) (values []string, truncated bool, err error) {
	root, err := doc.Root()
	if err != nil {
		return nil, false, err
	}
	perElement, err := c.charge(doc, src, sel, attr == "" && !(out == OutputText && sel.rawOnly), look, spent)
	if err != nil {
		return nil, false, err
	}

	if sel.pseudo.text || sel.pseudo.inside {
		return c.selectPseudo(ctx, root, sel, want, look, checkEvery(perElement))
	}

	// The scratch slice points into doc's tree; clear it on the way out so
	// an idle pooled extractor does not keep a whole document alive.
	defer func() { clear(c.nodes); c.nodes = c.nodes[:0] }()

	if err := c.match(ctx, root, sel.group, attr, look, perElement); err != nil {
		return nil, false, err
	}
	if len(c.nodes) > want {
		c.nodes, truncated = c.nodes[:want], true
	}

	values = make([]string, 0, len(c.nodes))
	budget := c.limits.MaxResultBytes
	for i, n := range c.nodes {
		if i > 0 && i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, false, err
			}
		}
		v, err := c.value(n, out, attr, budget)
		if err != nil {
			return nil, false, err
		}
		budget -= len(v)
		values = append(values, v)
	}
	return values, truncated, nil
}

// An Answer is the result of one spec of SelectEach.
type Answer struct {
	Values    []string
	Truncated bool
	// Err is the spec's own error, as Select would return it for the
	// spec alone: *SpecError, or ErrResultTooLarge.
	Err error
}

// SelectEach answers each of specs on doc as Select answers one, reading
// the document once for them all: one pass over its token stream when the
// stream can answer every spec, else one parse that every spec walks. One
// spec's error is in its Answer and does not stop the others; the error
// returned is the call's: ErrClosed, ErrEmptyDocument, ErrUnparsable or
// ctx.Err().
func (c *CSS) SelectEach(ctx context.Context, doc *Document, specs []CSSSpec) ([]Answer, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if doc == nil {
		return nil, ErrEmptyDocument
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	answers := make([]Answer, len(specs))
	qs := make([]*streamQuestion, 0, len(specs))
	asked := make([]int, 0, len(specs)) // the spec of each question
	streamable := doc.streamable()
	for i, spec := range specs {
		attr, err := c.check(spec)
		if err != nil {
			answers[i].Err = err
			continue
		}
		sel, err := c.sels.get(spec.Selector)
		if err == nil {
			attr, err = c.pseudoAttr(spec, sel, attr)
			if err == nil {
				err = c.admit(spec.Selector, sel)
			}
		}
		if err != nil {
			answers[i].Err = err
			continue
		}
		streamable = streamable && sel.streamable(attr, spec.Output)
		want, look := plan(spec.All, spec.Limit, c.limits.MaxMatches)
		qs = append(qs, c.newQuestion(sel, attr, want, look))
		asked = append(asked, i)
	}
	if streamable && len(qs) > 0 {
		err := streamMany(ctx, doc.src, qs)
		if err == nil {
			c.cache.streamed.Add(uint64(len(qs)))
			for k, q := range qs {
				if q.err != nil {
					answers[asked[k]] = Answer{Err: q.err}
					continue
				}
				answers[asked[k]] = Answer{Values: q.values, Truncated: q.truncated}
			}
			return answers, nil
		}
		if !errors.Is(err, errNeedsTree) {
			return nil, err
		}
		c.cache.gaveUp.Add(uint64(len(qs)))
	}
	doc.UseTree()
	var spent float64 // one work budget for all the questions
	for k, q := range qs {
		i := asked[k]
		values, truncated, err := c.selectTree(ctx, doc, specs[i].Selector, q.sel, q.attr, specs[i].Output, q.want, q.look, &spent)
		if err != nil && (errors.Is(err, ErrUnparsable) || ctx.Err() != nil) {
			return nil, err
		}
		answers[i] = Answer{Values: values, Truncated: truncated, Err: err}
	}
	return answers, nil
}

// check validates spec against the limits and returns the attribute name to
// look for, lowercased as the parser stores it.
func (c *CSS) check(spec CSSSpec) (attr string, err error) {
	switch {
	case strings.TrimSpace(spec.Selector) == "":
		return "", &SpecError{Field: "selector", Value: spec.Selector, Err: ErrEmptyValue}
	case len(spec.Selector) > c.limits.MaxSelectorLen:
		return "", &SpecError{Field: "selector", Value: spec.Selector, Err: ErrTooLong}
	case spec.Limit < 0:
		return "", &SpecError{Field: "limit", Value: fmt.Sprint(spec.Limit), Err: fmt.Errorf("must not be negative")}
	case spec.Output < OutputText || spec.Output > OutputOuterHTML:
		return "", &SpecError{Field: "output", Value: spec.Output.String(), Err: fmt.Errorf("unknown output")}
	}
	if spec.Attribute == "" {
		return "", nil
	}
	if spec.Output != OutputText {
		return "", &SpecError{Field: "attribute", Value: spec.Attribute, Err: fmt.Errorf("cannot be combined with output %v", spec.Output)}
	}
	if len(spec.Attribute) > c.limits.MaxSelectorLen {
		return "", &SpecError{Field: "attribute", Value: spec.Attribute, Err: ErrTooLong}
	}
	for i := 0; i < len(spec.Attribute); i++ {
		// The characters the HTML tokenizer ends an attribute name at, or
		// that no markup can put in one.
		switch b := spec.Attribute[i]; {
		case b <= ' ', b == 0x7F, b == '"', b == '\'', b == '/', b == '=', b == '>', b == '<':
			return "", &SpecError{Field: "attribute", Value: spec.Attribute, Err: fmt.Errorf("invalid character %q", b)}
		}
	}
	return strings.ToLower(spec.Attribute), nil
}

// match fills c.nodes with up to max elements below root that match sel
// and, when attr is set, carry attr. perElement is the bound on the steps
// of one sel.Match (see charge), which sets how often ctx is checked.
func (c *CSS) match(ctx context.Context, root *html.Node, sel cascadia.SelectorGroup, attr string, max int, perElement float64) error {
	every := checkEvery(perElement)
	left := every
	for n := root.FirstChild; n != nil; n = nextIn(n, root) {
		if left--; left == 0 {
			left = every
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if n.Type != html.ElementNode || !sel.Match(n) {
			continue
		}
		if attr != "" {
			if _, ok := attribute(n, attr); !ok {
				continue
			}
		}
		if c.nodes = append(c.nodes, n); len(c.nodes) >= max {
			return nil
		}
	}
	return nil
}

// work returns sel's bounds on one element and on the whole question
// (matching, the walk, and rendering the matches when render is set).
func (c *CSS) work(s shapeView, sel *selector, render bool, look int) (one, total float64) {
	b := sel.cost.bound(s, "")
	total = b.total + s.nodes // the walk itself
	if render {
		// A text or markup value walks the match's subtree: at most the
		// whole document per match, or every node once per ancestor.
		total += min(float64(look)*s.nodes, s.nodes+s.depthSum)
	}
	// No one element costs more than all of them; and when no element has
	// the selector's type, none costs more than the failed type test.
	one = min(b.hit, b.total)
	if b.tag != "" && s.tag(b.tag).count == 0 {
		one = 1
	}
	return one, total
}

// CheckSelectors charges selectors against limits on doc as the CSS
// questions of one call that ask for the text of every match, and returns
// the index of the first that is invalid or refused, with its *SpecError
// (a *CostError inside for a refusal), or ErrUnparsable; -1 and nil when
// all pass. It is for callers that run selectors with cascadia elsewhere,
// such as the article module's custom mode, and must refuse a costly one
// before it runs. cache, if not nil, is where the selectors are compiled.
func CheckSelectors(doc *Document, selectors []string, limits Limits, cache *SelectorCache) (int, error) {
	c := &CSS{limits: limits.normalized()}
	compile := compileSelector
	if cache != nil {
		compile = cache.c.get
	}
	var spent float64
	for i, src := range selectors {
		sel, err := compile(src)
		if err == nil {
			err = c.admit(src, sel)
		}
		if err == nil {
			_, err = c.charge(doc, src, sel, true, math.MaxInt32, &spent)
		}
		if err != nil {
			return i, err
		}
	}
	return -1, nil
}

// max1 is v, but at least 1.
func max1(v float64) float64 { return max(1, v) }

// checkEvery returns how many elements a walk matches between context
// checks when one Match may cost perElement steps: ctxCheckNodes for the
// cheap, fewer so that ctxCheckWork steps pass between checks, and every
// element for the costliest.
func checkEvery(perElement float64) int {
	if perElement*ctxCheckNodes <= ctxCheckWork {
		return ctxCheckNodes
	}
	return int(max(1, ctxCheckWork/perElement))
}

// admit refuses, before any document is read, a selector that the cost
// model does not cover or whose :has nesting is over Limits.MaxHasDepth.
func (c *CSS) admit(src string, sel *selector) error {
	if sel.costErr != nil {
		return &SpecError{Field: "selector", Value: src, Err: sel.costErr}
	}
	if sel.hasDepth > c.limits.MaxHasDepth {
		return &SpecError{Field: "selector", Value: src, Err: &CostError{Limit: "MaxHasDepth", Cost: float64(sel.hasDepth), Max: float64(c.limits.MaxHasDepth)}}
	}
	return nil
}

// charge bounds the work of answering sel from doc's tree (matching, and
// rendering the matches' content when render is set), adds it to *spent,
// and refuses the question with a *CostError when the call's total would go
// over Limits.MaxWork or one element's matching over MaxElementWork. It
// returns the bound on one element. A flat selector is not charged: its
// work is at most its leaves per element, on any document.
func (c *CSS) charge(doc *Document, src string, sel *selector, render bool, look int, spent *float64) (float64, error) {
	if sel.flat {
		return float64(sel.leaves), nil
	}
	shape, err := doc.measured()
	if err != nil {
		return 0, err
	}
	// The bound without the names first: it needs no walk beyond the
	// measuring, and ordinary selectors on ordinary pages pass with it.
	one, total := c.work(shapeView{shape, false}, sel, render, look)
	if one > float64(c.limits.MaxElementWork) || *spent+total > float64(c.limits.MaxWork) {
		one, total = c.work(shapeView{shape, true}, sel, render, look)
	}
	refuse := func(limit string, cost float64, max int64) error {
		return &SpecError{Field: "selector", Value: src, Err: &CostError{Limit: limit, Cost: cost, Max: float64(max)}}
	}
	if one > float64(c.limits.MaxElementWork) {
		return 0, refuse("MaxElementWork", one, c.limits.MaxElementWork)
	}
	if *spent+total > float64(c.limits.MaxWork) {
		return 0, refuse("MaxWork", *spent+total, c.limits.MaxWork)
	}
	*spent += total
	return one, nil
}

func attribute(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

// value renders one matched element; budget is the bytes the result may
// still grow by.
func (c *CSS) value(n *html.Node, out Output, attr string, budget int) (string, error) {
	if attr != "" {
		v, _ := attribute(n, attr)
		if len(v) > budget {
			return "", c.tooLarge()
		}
		// Attribute values are already strings of the tree: no copy.
		return v, nil
	}
	if out == OutputText && rawText(n.DataAtom) {
		v := rawContent(n)
		if len(v) > budget {
			return "", c.tooLarge()
		}
		return v, nil
	}

	c.buf = c.buf[:0]
	switch out {
	case OutputText:
		t := textCollector{buf: c.buf, max: budget}
		ok := t.collect(n)
		c.buf = t.buf
		if !ok {
			return "", c.tooLarge()
		}
	case OutputInnerHTML, OutputOuterHTML:
		w := budgetWriter{buf: c.buf, max: budget}
		var err error
		if out == OutputOuterHTML {
			err = html.Render(&w, n)
		} else {
			for ch := n.FirstChild; ch != nil && err == nil; ch = ch.NextSibling {
				err = html.Render(&w, ch)
			}
		}
		c.buf = w.buf
		if errors.Is(err, errBudget) {
			return "", c.tooLarge()
		}
		if err != nil {
			return "", fmt.Errorf("native: rendering <%s>: %w", n.Data, err)
		}
	}
	return string(c.buf), nil
}

func (c *CSS) tooLarge() error { return errResultTooLarge(c.limits.MaxResultBytes) }

// IsHealthy reports whether the extractor can serve; only Close makes it
// unhealthy, as it holds no resource that can fail.
func (c *CSS) IsHealthy(context.Context) bool { return !c.closed.Load() }

// Reset readies the extractor for its next user: it empties the scratch
// space and drops any that a large document grew past the kept bounds. The
// view of the shared cache is kept; compiled selectors belong to no user.
func (c *CSS) Reset(context.Context) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if cap(c.buf) > maxKeptBufBytes {
		c.buf = make([]byte, 0, initialBufBytes)
	}
	c.buf = c.buf[:0]
	if cap(c.nodes) > maxKeptNodes {
		c.nodes = make([]*html.Node, 0, initialNodes)
	}
	clear(c.nodes[:cap(c.nodes)])
	c.nodes = c.nodes[:0]
	return nil
}

// Close releases the scratch space; the extractor cannot be used again.
func (c *CSS) Close() error {
	c.closed.Store(true)
	c.buf, c.nodes = nil, nil
	return nil
}
