package native

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/html"
)

// XPath 1.0
//
// Expressions are compiled by this package (xpath_parse.go) and evaluated
// over the x/net/html tree (xpath_eval.go, xpath_func.go), as XPath 1.0
// says and lxml answers, predicates' positions and node-set order
// included. The evaluator charges every node it visits to a step budget
// and checks the context every ctxCheckSteps steps, so that a hostile
// expression such as //*[count(//*) > 0] costs its caller at most
// Limits.MaxXPathSteps steps or its deadline, whichever comes first.

// ErrTooCostly is the cause, inside a *SpecError, of a question over a
// work limit: a selector refused by the cost model (a *CostError), or an
// expression whose evaluation on the document went over MaxXPathSteps (a
// *CostError with Limit "MaxXPathSteps").
var ErrTooCostly = errors.New("too costly")

// XPathSpec is one XPath 1.0 question asked of a document.
type XPathSpec struct {
	// Expression is an XPath 1.0 expression, with XPath 1.0's core
	// function library and a few of 2.0's (xpath_func.go: matches,
	// replace, ends-with, lower-case, upper-case, string-join), EXSLT's
	// re:test, re:match and re:replace and parsel's has-class
	// (xpath_exslt.go). The
	// prefixes html, svg, math, xlink, xml and xmlns are bound to their
	// namespaces.
	Expression string
	// Attribute, when set, answers that attribute of each element of the
	// node set instead of Output; nodes without it are skipped.
	Attribute string
	// Output is what each element of a node set answers; text, comment
	// and attribute nodes answer their own text whatever it says.
	Output Output
	// All asks for every node of a node set; otherwise only the first.
	All bool
	// Limit, when positive and All is set, returns at most Limit nodes.
	Limit int
	// AbsoluteURLs makes the values of URL-valued attributes absolute
	// (urls.go), whether the node set holds them or Attribute names one.
	AbsoluteURLs bool
}

// XPathKind is the type of an XPath result.
type XPathKind int

const (
	XPathNodeSet XPathKind = iota
	XPathString
	XPathNumber
	XPathBoolean
)

func (k XPathKind) String() string {
	switch k {
	case XPathNodeSet:
		return "node-set"
	case XPathString:
		return "string"
	case XPathNumber:
		return "number"
	case XPathBoolean:
		return "boolean"
	}
	return fmt.Sprintf("XPathKind(%d)", int(k))
}

// XPathAnswer is the result of an XPath question. Values holds one value
// per node of a node set, in document order, or the one value of a
// scalar written as XPath's string() writes it ("3", "NaN", "true").
type XPathAnswer struct {
	Kind      XPathKind
	Values    []string
	Truncated bool
	// Number and Bool hold a number or boolean result as such.
	Number float64
	Bool   bool
	// Unresolved counts the URLs that AbsoluteURLs left as written
	// because they do not parse.
	Unresolved int
}

// xpathExpr is a compiled expression in the cache. It is immutable, so
// one compilation serves every evaluation.
type xpathExpr struct {
	src string
	e   xexpr
	// cssType, when set, is the element name of an expression //name or
	// //name/@attr, and cssAttr the attr (xpathAsCSS).
	cssType, cssAttr string
	// stream is the expression's form when the token stream can answer
	// it (xpath_stream.go).
	stream xstreamForm
}

func compileXPath(src string) (*xpathExpr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &SpecError{Field: "expression", Value: src, Err: ErrEmptyValue}
	}
	e, err := parseXPath(src)
	if err != nil {
		return nil, &SpecError{Field: "expression", Value: src, Err: err}
	}
	x := &xpathExpr{src: src, e: e}
	x.cssType, x.cssAttr = cssQuestion(e)
	if x.stream = xstreamQuestion(e); x.stream.kind == xstreamElems && x.cssType != "" {
		// Select's own token stream answers //name as it answers name.
		x.stream = xstreamForm{}
	}
	return x, nil
}

// cssQuestion returns the element name and attribute of an expression
// //name or //name/@attr whose names are lowercase ASCII: XPath compares
// names as written and CSS type selectors ignore case, which agree on
// such names in an HTML tree, where elements are named in lowercase.
func cssQuestion(e xexpr) (typ, attr string) {
	p, ok := e.(*xPath)
	if !ok || !p.absolute || p.start != nil || len(p.steps) == 0 || len(p.steps) > 2 {
		return "", ""
	}
	plain := func(s *xStep, axis xAxis) bool {
		return s.axis == axis && s.test.kind == testName && !s.test.prefixed && len(s.preds) == 0 && lowerASCIIName(s.test.local)
	}
	if !plain(p.steps[0], axisDescendant) {
		return "", ""
	}
	if len(p.steps) == 2 {
		if !plain(p.steps[1], axisAttribute) {
			return "", ""
		}
		attr = p.steps[1].test.local
	}
	return p.steps[0].test.local, attr
}

func lowerASCIIName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || i > 0 && ('0' <= c && c <= '9' || c == '-')) {
			return false
		}
	}
	return s != ""
}

// xpathNode is one node of a node set: an element, text, comment or the
// root, or the attribute attr of element n.
type xpathNode struct {
	n    *html.Node
	attr int
}

// XPath answers spec on doc. A node set answers one value per node, as
// Select does for elements; see XPathAnswer for scalars. The evaluation
// is bounded by ctx and by Limits.MaxXPathSteps.
//
// An expression that asks what a CSS type selector asks, //name or
// //name/@attr, is answered as Select answers that selector: from the
// token stream, without building the tree, where the page allows; and so
// are count(//name), string(//name), normalize-space(//name),
// //name/text() and, first, //name/@attr (xpath_stream.go).
//
// Errors: *SpecError for an invalid spec or one over its step budget
// (cause ErrTooCostly), ErrEmptyDocument, ErrUnparsable, ErrResultTooLarge,
// ErrClosed, or ctx.Err().
func (c *CSS) XPath(ctx context.Context, doc *Document, spec XPathSpec) (XPathAnswer, error) {
	attr, err := c.checkXPath(spec)
	if err != nil {
		return XPathAnswer{}, err
	}
	if c.closed.Load() {
		return XPathAnswer{}, ErrClosed
	}
	x, err := c.xpaths().get(spec.Expression)
	if err != nil {
		return XPathAnswer{}, err
	}
	if doc != nil && doc.streamable() && ctx.Err() == nil {
		if f, ok := xpathStreamForm(x.stream, spec, attr); ok {
			if ans, ok, err := c.xpathFromStream(ctx, doc, spec, x, f); ok {
				return ans, err
			}
		}
	}
	if x.cssType != "" && (x.cssAttr == "" || attr == "") {
		return c.xpathAsCSS(ctx, doc, spec, x)
	}
	return c.xpathTreeOf(ctx, doc, spec, attr, x)
}

// xpathAsCSS answers spec, whose expression is //name or //name/@attr,
// with Select: the same elements in the same order (an unprefixed XPath
// name, like a CSS type selector, matches every namespace), each
// answering as XPath answers it.
func (c *CSS) xpathAsCSS(ctx context.Context, doc *Document, spec XPathSpec, x *xpathExpr) (XPathAnswer, error) {
	cs := CSSSpec{Selector: x.cssType, Attribute: spec.Attribute, Output: spec.Output, All: spec.All, Limit: spec.Limit}
	if x.cssAttr != "" {
		// Attribute nodes answer their value whatever the output.
		cs.Attribute, cs.Output = x.cssAttr, OutputText
	}
	values, truncated, err := c.Select(ctx, doc, cs)
	if err != nil {
		return XPathAnswer{}, err
	}
	ans := XPathAnswer{Kind: XPathNodeSet, Values: values, Truncated: truncated}
	if spec.AbsoluteURLs {
		if ans.Unresolved, err = c.ResolveURLs(doc, cs, values); err != nil {
			return XPathAnswer{}, err
		}
	}
	if ans.Values == nil {
		ans.Values = []string{}
	}
	return ans, nil
}

// xpathTree answers spec by evaluating its expression on the tree.
func (c *CSS) xpathTree(ctx context.Context, doc *Document, spec XPathSpec, attr string) (XPathAnswer, error) {
	x, err := c.xpaths().get(spec.Expression)
	if err != nil {
		return XPathAnswer{}, err
	}
	return c.xpathTreeOf(ctx, doc, spec, attr, x)
}

// xpathTreeOf is xpathTree with the expression already compiled: one
// call looks its expression up once, so the cache's counters count calls.
func (c *CSS) xpathTreeOf(ctx context.Context, doc *Document, spec XPathSpec, attr string, x *xpathExpr) (XPathAnswer, error) {
	nodes, ans, err := c.xpathNodesOf(ctx, doc, spec, attr, x)
	if err != nil {
		return XPathAnswer{}, err
	}
	if ans.Kind != XPathNodeSet {
		if len(ans.Values[0]) > c.limits.MaxResultBytes {
			return XPathAnswer{}, c.tooLarge()
		}
		return ans, nil
	}
	ans.Values = make([]string, 0, len(nodes))
	budget := c.limits.MaxResultBytes
	var urls *urlResolver
	if spec.AbsoluteURLs {
		urls = &urlResolver{base: doc.base()}
	}
	for i, n := range nodes {
		if i > 0 && i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return XPathAnswer{}, err
			}
		}
		v, err := c.xpathValue(n, spec.Output, attr, budget)
		if err != nil {
			return XPathAnswer{}, err
		}
		if urls != nil {
			switch {
			case n.attr >= 0:
				v = urls.resolve(attrName(n.n.Attr[n.attr]), v)
			case attr != "":
				v = urls.resolve(attr, v)
			}
			if len(v) > budget {
				return XPathAnswer{}, c.tooLarge()
			}
		}
		budget -= len(v)
		ans.Values = append(ans.Values, v)
	}
	if urls != nil {
		ans.Unresolved = urls.unresolved
	}
	return ans, nil
}

// xpathNodes evaluates a checked spec: a node set's nodes, in document
// order and cut as the spec and MaxMatches say (ans.Truncated set), or a
// scalar answer.
func (c *CSS) xpathNodes(ctx context.Context, doc *Document, spec XPathSpec, attr string) (nodes []xpathNode, ans XPathAnswer, err error) {
	if c.closed.Load() {
		return nil, ans, ErrClosed
	}
	x, err := c.xpaths().get(spec.Expression)
	if err != nil {
		return nil, ans, err
	}
	return c.xpathNodesOf(ctx, doc, spec, attr, x)
}

// xpathNodesOf is xpathNodes with the expression already compiled.
func (c *CSS) xpathNodesOf(ctx context.Context, doc *Document, spec XPathSpec, attr string, x *xpathExpr) (nodes []xpathNode, ans XPathAnswer, err error) {
	if c.closed.Load() {
		return nil, ans, ErrClosed
	}
	if doc == nil {
		return nil, ans, ErrEmptyDocument
	}
	if err := ctx.Err(); err != nil {
		return nil, ans, err
	}
	root, err := doc.Root()
	if err != nil {
		return nil, ans, err
	}
	want, look := plan(spec.All, spec.Limit, c.limits.MaxMatches)

	ev := &xpathEval{ctx: ctx, doc: doc, root: root, max: c.limits.MaxXPathSteps, maxPattern: c.limits.MaxPatternLen, maxMatches: c.limits.MaxMatches}
	top := xctx{node: xpathNode{n: root, attr: -1}, pos: 1, size: 1}
	var v xval
	if p, ok := x.e.(*xPath); ok && look == 1 && attr == "" {
		// One node is asked for: the first, found without the rest.
		if n, found := p.first(ev, top); found {
			v = nodeSetVal([]xpathNode{n})
		}
	} else {
		v = x.e.eval(ev, top)
	}
	var xe *xpathEvalError
	switch err := ev.err; {
	case errors.Is(err, errXPathCost):
		return nil, XPathAnswer{}, &SpecError{Field: "expression", Value: spec.Expression,
			Err: &CostError{Limit: "MaxXPathSteps", Cost: float64(ev.steps), Max: float64(c.limits.MaxXPathSteps)}}
	case errors.As(err, &xe):
		return nil, XPathAnswer{}, &SpecError{Field: "expression", Value: spec.Expression, Err: fmt.Errorf("cannot be evaluated: %w", err)}
	case err != nil:
		return nil, XPathAnswer{}, err
	}
	switch v.kind {
	case XPathString:
		return nil, XPathAnswer{Kind: XPathString, Values: []string{v.str}}, nil
	case XPathNumber:
		return nil, XPathAnswer{Kind: XPathNumber, Values: []string{xpathNumber(v.num)}, Number: v.num}, nil
	case XPathBoolean:
		return nil, XPathAnswer{Kind: XPathBoolean, Values: []string{strconv.FormatBool(v.b)}, Bool: v.b}, nil
	}
	nodes = v.nodes
	if attr != "" {
		// Only elements carrying the attribute answer.
		nodes = slices.DeleteFunc(nodes, func(n xpathNode) bool {
			if n.attr >= 0 || n.n.Type != html.ElementNode {
				return true
			}
			_, ok := attribute(n.n, attr)
			return !ok
		})
	}
	if len(nodes) > look {
		nodes = nodes[:look]
	}
	ans = XPathAnswer{Kind: XPathNodeSet}
	if len(nodes) > want {
		nodes, ans.Truncated = nodes[:want], true
	}
	return nodes, ans, nil
}

// xpathNumber writes f as XPath 1.0's string() does: NaN, Infinity,
// integers without a decimal point, and no exponent.
func xpathNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0" // and -0
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// xpathValue renders one node of a node set; budget is the bytes the
// result may still grow by.
func (c *CSS) xpathValue(n xpathNode, out Output, attr string, budget int) (string, error) {
	var v string
	switch {
	case n.attr >= 0:
		v = n.n.Attr[n.attr].Val
	case n.n.Type == html.ElementNode, n.n.Type == html.DocumentNode:
		return c.value(n.n, out, attr, budget)
	case out == OutputText:
		// Text and comment nodes answer their text as written, as lxml
		// and parsel do: text() is how a caller asks for exact text.
		v = n.n.Data
	default:
		w := budgetWriter{buf: c.buf[:0], max: budget}
		err := html.Render(&w, n.n)
		c.buf = w.buf
		if errors.Is(err, errBudget) {
			return "", c.tooLarge()
		}
		if err != nil {
			return "", fmt.Errorf("native: rendering a node: %w", err)
		}
		v = string(c.buf)
	}
	if len(v) > budget {
		return "", c.tooLarge()
	}
	return v, nil
}

// checkXPath validates spec against the limits and returns the attribute
// name to look for, lowercased.
func (c *CSS) checkXPath(spec XPathSpec) (attr string, err error) {
	switch {
	case strings.TrimSpace(spec.Expression) == "":
		return "", &SpecError{Field: "expression", Value: spec.Expression, Err: ErrEmptyValue}
	case len(spec.Expression) > c.limits.MaxSelectorLen:
		return "", &SpecError{Field: "expression", Value: spec.Expression, Err: ErrTooLong}
	}
	// The other fields mean what they mean for CSS.
	return c.check(CSSSpec{Selector: spec.Expression, Attribute: spec.Attribute, Output: spec.Output, Limit: spec.Limit})
}

// XPathCache is a bounded LRU cache of compiled XPath expressions, keyed by
// their text, shared by the extractors of a pool like a SelectorCache (it
// is one's companion: see SelectorCache.XPath). Safe for concurrent use.
type XPathCache struct {
	c *cache[*xpathExpr]
}

func newXPathCache(size int) *XPathCache {
	return &XPathCache{c: newCache(size, compileXPath)}
}

// Compile checks that expr compiles, adding it to the cache. Errors are
// *SpecError with Field "expression".
func (x *XPathCache) Compile(expr string) error {
	_, err := x.c.get(expr)
	return err
}

// Warm compiles list into the cache, as SelectorCache.Warm does.
func (x *XPathCache) Warm(list []string) error { return x.c.warm(list) }

// Stats returns a snapshot of the cache's counters.
func (x *XPathCache) Stats() CacheStats { return x.c.stats() }

// xpaths returns the extractor's view of its pool's expression cache.
func (c *CSS) xpaths() *view[*xpathExpr] {
	if c.xpathView.shared == nil {
		c.xpathView.shared = c.cache.XPath().c
	}
	return &c.xpathView
}

// docOrder numbers a tree's nodes in document order, once per document.
type docOrder struct {
	once  sync.Once
	order map[*html.Node]int32
}

func (d *docOrder) of(root *html.Node) map[*html.Node]int32 {
	d.once.Do(func() {
		d.order = make(map[*html.Node]int32)
		var i int32
		for n := root; n != nil; n = nextIn(n, root) {
			d.order[n] = i
			i++
		}
	})
	return d.order
}
