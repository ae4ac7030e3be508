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

	"github.com/antchfx/xpath"
	"golang.org/x/net/html"
)

// XPath 1.0
//
// Expressions are compiled by github.com/antchfx/xpath, which walks a tree
// through a navigator that this package implements over x/net/html
// (xpath_nav.go). The navigator, not the library, enforces the budget: it
// charges every move and every string value, checks the context every
// ctxCheckSteps steps, and stops answering once either runs out, so that
// a hostile expression such as //*[count(//*) > 0] costs its caller at
// most Limits.MaxXPathSteps steps or its deadline, whichever comes first.

// ErrTooCostly is the cause, inside a *SpecError, of a question over a
// work limit: a selector refused by the cost model (a *CostError), or an
// expression whose evaluation on the document went over MaxXPathSteps (a
// *CostError with Limit "MaxXPathSteps").
var ErrTooCostly = errors.New("too costly")

// XPathSpec is one XPath 1.0 question asked of a document.
type XPathSpec struct {
	// Expression is an XPath 1.0 expression, with the functions of
	// antchfx/xpath (XPath 1.0's core library and a few of 2.0's, such as
	// matches, ends-with and lower-case). The prefixes html, svg, math,
	// xlink, xml and xmlns are bound to their namespaces.
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

// xpathExpr is an expression in the cache. The library's compiled form
// keeps evaluation state in its query tree, and a second evaluation of it
// can see the first's (normalize-space(//title) answered another page's
// title in the corpus test), so no compilation serves two evaluations:
// the cache holds one that has never run, and each evaluation takes it or
// compiles the source again, which is known to compile.
type xpathExpr struct {
	src   string
	exprs sync.Pool
}

func compileXPath(src string) (*xpathExpr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &SpecError{Field: "expression", Value: src, Err: ErrEmptyValue}
	}
	e, err := buildXPath(src)
	if err != nil {
		return nil, &SpecError{Field: "expression", Value: src, Err: err}
	}
	x := &xpathExpr{src: src}
	x.exprs.Put(e)
	return x, nil
}

// buildXPath compiles src, turning a panic of the library's parser into
// an error: the expression is the caller's, and no expression may take
// the daemon down.
func buildXPath(src string) (e *xpath.Expr, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return xpath.CompileWithNS(src, xpathPrefixes())
}

// get returns a compiled expression for one evaluation; put returns it.
func (x *xpathExpr) get() *xpath.Expr {
	if e, ok := x.exprs.Get().(*xpath.Expr); ok {
		return e
	}
	// It compiled when it entered the cache, so it compiles again.
	e, err := buildXPath(x.src)
	if err != nil {
		panic(fmt.Sprintf("native: xpath %q compiled once but not twice: %v", x.src, err))
	}
	return e
}

// put is where a used compilation would go back; it must not.
func (x *xpathExpr) put(*xpath.Expr) {}

// xpathNode is one node of a node set: an element, text, comment or the
// root, or the attribute attr of element n.
type xpathNode struct {
	n    *html.Node
	attr int
}

// XPath answers spec on doc from its parsed tree. A node set answers one
// value per node, as Select does for elements; see XPathAnswer for
// scalars. The evaluation is bounded by ctx and by Limits.MaxXPathSteps.
//
// Errors: *SpecError for an invalid spec or one over its step budget
// (cause ErrTooCostly), ErrEmptyDocument, ErrUnparsable, ErrResultTooLarge,
// ErrClosed, or ctx.Err().
func (c *CSS) XPath(ctx context.Context, doc *Document, spec XPathSpec) (XPathAnswer, error) {
	attr, err := c.checkXPath(spec)
	if err != nil {
		return XPathAnswer{}, err
	}
	nodes, ans, err := c.xpathNodes(ctx, doc, spec, attr)
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

	e := x.get()
	defer x.put(e)
	walk := &xpathWalk{ctx: ctx, max: c.limits.MaxXPathSteps}
	// The library answers some node sets out of document order (a
	// union's sides one after the other, reverse axes backwards, steps
	// after a positional predicate) and some with a node twice (the
	// parents of siblings), where XPath's node sets are sets and lxml
	// answers them in document order. So every node is collected, up to
	// the bound, then sorted and made unique: the first node in document
	// order may come last.
	nodes, ans, err = evaluate(e, newNavigator(walk, root), attr, c.limits.MaxMatches+1)
	if err == nil && len(nodes) > 1 {
		nodes = sortNodes(walk, doc.order.of(root), nodes)
	}
	if len(nodes) > look {
		nodes = nodes[:look]
	}
	if walk.err != nil {
		err = walk.err
	}
	switch {
	case errors.Is(err, errXPathCost):
		return nil, XPathAnswer{}, &SpecError{Field: "expression", Value: spec.Expression,
			Err: &CostError{Limit: "MaxXPathSteps", Cost: float64(walk.steps), Max: float64(c.limits.MaxXPathSteps)}}
	case err != nil:
		return nil, XPathAnswer{}, err
	}
	if len(nodes) > want {
		nodes, ans.Truncated = nodes[:want], true
	}
	return nodes, ans, nil
}

// evaluate runs e from nav and returns a node set's first look nodes (the
// elements carrying attr, when attr is set) or a scalar answer. A panic
// in the library is the expression's doing and comes back as a
// *SpecError.
func evaluate(e *xpath.Expr, nav *navigator, attr string, look int) (nodes []xpathNode, ans XPathAnswer, err error) {
	defer func() {
		if r := recover(); r != nil {
			nodes, ans = nil, XPathAnswer{}
			err = &SpecError{Field: "expression", Value: e.String(), Err: fmt.Errorf("cannot be evaluated: %v", r)}
		}
	}()
	switch v := e.Evaluate(nav).(type) {
	case *xpath.NodeIterator:
		for len(nodes) < look && v.MoveNext() {
			cur, ok := v.Current().(*navigator)
			if !ok {
				continue
			}
			n := xpathNode{n: cur.cur, attr: cur.attr}
			if attr != "" {
				if n.attr >= 0 || n.n.Type != html.ElementNode {
					continue
				}
				if _, ok := attribute(n.n, attr); !ok {
					continue
				}
			}
			nodes = append(nodes, n)
		}
		return nodes, XPathAnswer{Kind: XPathNodeSet}, nil
	case string:
		return nil, XPathAnswer{Kind: XPathString, Values: []string{v}}, nil
	case float64:
		return nil, XPathAnswer{Kind: XPathNumber, Values: []string{xpathNumber(v)}, Number: v}, nil
	case bool:
		return nil, XPathAnswer{Kind: XPathBoolean, Values: []string{strconv.FormatBool(v)}, Bool: v}, nil
	default:
		return nil, ans, &SpecError{Field: "expression", Value: e.String(), Err: fmt.Errorf("answers an unknown type %T", v)}
	}
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

// sortNodes puts nodes in document order, an attribute after its element
// and before its children, and drops repeated nodes.
func sortNodes(walk *xpathWalk, order map[*html.Node]int32, nodes []xpathNode) []xpathNode {
	walk.spend(len(nodes))
	slices.SortStableFunc(nodes, func(a, b xpathNode) int {
		if a.n == b.n {
			return a.attr - b.attr
		}
		return int(order[a.n] - order[b.n])
	})
	return slices.Compact(nodes)
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
