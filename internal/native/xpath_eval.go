package native

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"strconv"

	"golang.org/x/net/html"
)

// XPath 1.0 evaluation over a golang.org/x/net/html tree.
//
// Every node set is a slice in document order without repeats, as XPath
// defines it and lxml answers it. A step is applied to each node of the
// previous step's set on its own, and its predicates count positions along
// the step's axis from that node (backwards for the reverse axes), so
// //a[@href][1] is every first <a> with an href among its siblings; a
// predicate of a filter expression, (//a)[1], counts over the whole set in
// document order. Doctype nodes are not part of XPath's data model and are
// never answered.
//
// The evaluation is bounded by the evaluator, not by the expression: every
// node an axis visits, every predicate tested and every node sorted is a
// step, a string value costs a step per node and per 64 bytes, and once
// the steps run out or the context is done every loop stops at its next
// step and the answer is thrown away for the error.

// xexpr is a compiled expression.
type xexpr interface {
	// eval evaluates the expression with c as its context.
	eval(ev *xpathEval, c xctx) xval
	// kind is the expression's static type.
	kind() XPathKind
}

// xctx is an evaluation context: the node, its position and the size of
// the set it is taken from.
type xctx struct {
	node      xpathNode
	pos, size int
}

// xval is a value: a node set, string, number or boolean, by kind.
type xval struct {
	kind  XPathKind
	nodes []xpathNode
	str   string
	num   float64
	b     bool
}

func nodeSetVal(nodes []xpathNode) xval { return xval{kind: XPathNodeSet, nodes: nodes} }
func stringVal(s string) xval           { return xval{kind: XPathString, str: s} }
func numberVal(f float64) xval          { return xval{kind: XPathNumber, num: f} }
func boolVal(b bool) xval               { return xval{kind: XPathBoolean, b: b} }

// errXPathCost stops an evaluation that has used up its step budget.
var errXPathCost = errors.New("over the step budget")

// ctxCheckSteps is how many steps an evaluation takes between context
// checks.
const ctxCheckSteps = 1024

// xpathCompactAt is the size from which a step's union of overlapping
// answers is made unique as it grows.
const xpathCompactAt = 4096

// maxXPathRegexps bounds the regular expressions one evaluation compiles
// from patterns that are not literals (matches(., @data-re)) and keeps.
const maxXPathRegexps = 16

// xpathEval is one evaluation's state: its document, its budget and the
// first error, after which every loop stops.
type xpathEval struct {
	ctx   context.Context
	doc   *Document
	root  *html.Node
	steps int
	max   int
	err   error
	// regexps holds patterns compiled during this evaluation.
	regexps map[regexpKey]*xpathRegexp
	// maxPattern bounds a pattern computed from the document, as
	// Limits.MaxPatternLen bounds the regex spec's.
	maxPattern int
	// maxMatches bounds the nodes re:match() makes, as
	// Limits.MaxMatches bounds the regex spec's matches.
	maxMatches int
}

// spend charges n steps and reports whether the evaluation may go on.
func (ev *xpathEval) spend(n int) bool {
	if ev.err != nil {
		return false
	}
	before := ev.steps
	ev.steps += n
	if ev.steps > ev.max {
		ev.err = errXPathCost
		return false
	}
	if ev.steps/ctxCheckSteps != before/ctxCheckSteps {
		if err := ev.ctx.Err(); err != nil {
			ev.err = err
			return false
		}
	}
	return true
}

// fail records err as the evaluation's outcome, unless one is already.
func (ev *xpathEval) fail(err error) {
	if ev.err == nil {
		ev.err = err
	}
}

// Conversions, as XPath 1.0's string(), number() and boolean().

func (ev *xpathEval) toString(v xval) string {
	switch v.kind {
	case XPathNodeSet:
		if len(v.nodes) == 0 {
			return ""
		}
		return ev.stringValue(v.nodes[0])
	case XPathNumber:
		return xpathNumber(v.num)
	case XPathBoolean:
		if v.b {
			return "true"
		}
		return "false"
	}
	return v.str
}

func (ev *xpathEval) toNumber(v xval) float64 {
	switch v.kind {
	case XPathNumber:
		return v.num
	case XPathBoolean:
		if v.b {
			return 1
		}
		return 0
	}
	return parseXPathNumber(ev.toString(v))
}

func toBool(v xval) bool {
	switch v.kind {
	case XPathNodeSet:
		return len(v.nodes) > 0
	case XPathNumber:
		return v.num != 0 && !math.IsNaN(v.num)
	case XPathString:
		return v.str != ""
	}
	return v.b
}

// parseXPathNumber is XPath 1.0's number() of a string: optional white
// space, an optional minus, digits with an optional decimal point, and
// optional white space; anything else is NaN (no plus sign, no infinity).
// An exponent (1e3, 2.5E-2) is taken too, as libxml2 takes it, so that
// number() answers what it answers in lxml and parsel.
func parseXPathNumber(s string) float64 {
	i, j := 0, len(s)
	for i < j && isXPathSpace(s[i]) {
		i++
	}
	for j > i && isXPathSpace(s[j-1]) {
		j--
	}
	t := s[i:j]
	k := 0
	if k < len(t) && t[k] == '-' {
		k++
	}
	digits, dot := 0, false
	for ; k < len(t); k++ {
		if isDigit(t[k]) {
			digits++
		} else if t[k] == '.' && !dot {
			dot = true
		} else {
			break
		}
	}
	if digits == 0 {
		return math.NaN()
	}
	if k < len(t) && (t[k] == 'e' || t[k] == 'E') {
		k++
		if k < len(t) && (t[k] == '-' || t[k] == '+') {
			k++
		}
		exp := k
		for k < len(t) && isDigit(t[k]) {
			k++
		}
		if k == exp {
			return math.NaN()
		}
	}
	if k != len(t) {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return math.NaN()
	}
	return f
}

// stringValue is a node's XPath string-value: an attribute's value, a
// text or comment node's text, or for an element or the root the text of
// every descendant text node, concatenated. The latter is charged a step
// per node and per 64 bytes, so string(//*) on a large page runs out of
// budget rather than memory.
func (ev *xpathEval) stringValue(n xpathNode) string {
	if n.attr >= 0 {
		return n.n.Attr[n.attr].Val
	}
	switch n.n.Type {
	case html.TextNode, html.CommentNode:
		return n.n.Data
	}
	// One text child, the common case, needs no copy.
	if c := n.n.FirstChild; c != nil && c == n.n.LastChild && c.Type == html.TextNode {
		ev.spend(1 + len(c.Data)/64)
		return c.Data
	}
	var buf []byte
	for c := n.n.FirstChild; c != nil; c = nextIn(c, n.n) {
		if !ev.spend(1) {
			return ""
		}
		if c.Type == html.TextNode {
			if !ev.spend(len(c.Data) / 64) {
				return ""
			}
			buf = append(buf, c.Data...)
		}
	}
	return string(buf)
}

// Literals.

type xLiteral string

func (l xLiteral) eval(*xpathEval, xctx) xval { return stringVal(string(l)) }
func (xLiteral) kind() XPathKind              { return XPathString }

type xNumber float64

func (n xNumber) eval(*xpathEval, xctx) xval { return numberVal(float64(n)) }
func (xNumber) kind() XPathKind              { return XPathNumber }

// Operators.

type xOp int

const (
	opOr xOp = iota
	opAnd
	opEq
	opNe
	opLt
	opLe
	opGt
	opGe
	opAdd
	opSub
	opMul
	opDiv
	opMod
)

var xpathOps = map[string]xOp{
	"or": opOr, "and": opAnd, "=": opEq, "!=": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe,
	"+": opAdd, "-": opSub, "*": opMul, "div": opDiv, "mod": opMod,
}

type xBinary struct {
	op   xOp
	l, r xexpr
}

func (b *xBinary) kind() XPathKind {
	if b.op >= opAdd {
		return XPathNumber
	}
	return XPathBoolean
}

func (b *xBinary) eval(ev *xpathEval, c xctx) xval {
	switch b.op {
	case opOr:
		return boolVal(ev.truth(b.l, c) || ev.truth(b.r, c))
	case opAnd:
		return boolVal(ev.truth(b.l, c) && ev.truth(b.r, c))
	case opEq, opNe, opLt, opLe, opGt, opGe:
		return boolVal(ev.compare(b.op, b.l.eval(ev, c), b.r.eval(ev, c)))
	}
	x, y := ev.toNumber(b.l.eval(ev, c)), ev.toNumber(b.r.eval(ev, c))
	switch b.op {
	case opAdd:
		return numberVal(x + y)
	case opSub:
		return numberVal(x - y)
	case opMul:
		return numberVal(x * y)
	case opDiv:
		return numberVal(x / y)
	}
	return numberVal(math.Mod(x, y))
}

// compare is XPath 1.0's comparison (section 3.4): a node set compares
// true if any of its nodes does.
func (ev *xpathEval) compare(op xOp, l, r xval) bool {
	if ev.err != nil {
		return false
	}
	switch {
	case l.kind == XPathNodeSet && r.kind == XPathNodeSet:
		return ev.compareSets(op, l.nodes, r.nodes)
	case r.kind == XPathNodeSet:
		return ev.compare(flip(op), r, l)
	case l.kind == XPathNodeSet:
		if r.kind == XPathBoolean {
			return compareScalars(op, boolVal(len(l.nodes) > 0), r, ev)
		}
		for _, n := range l.nodes {
			if !ev.spend(1) {
				return false
			}
			if compareScalars(op, stringVal(ev.stringValue(n)), r, ev) {
				return true
			}
		}
		return false
	}
	return compareScalars(op, l, r, ev)
}

// compareSets compares two node sets in linear time: equality through a
// set of one side's string values, order through each side's extremes.
func (ev *xpathEval) compareSets(op xOp, l, r []xpathNode) bool {
	if len(l) == 0 || len(r) == 0 {
		return false
	}
	if !ev.spend(len(l) + len(r)) {
		return false
	}
	switch op {
	case opEq:
		seen := make(map[string]struct{}, len(r))
		for _, n := range r {
			seen[ev.stringValue(n)] = struct{}{}
		}
		for _, n := range l {
			if _, ok := seen[ev.stringValue(n)]; ok {
				return true
			}
		}
		return false
	case opNe:
		// Some pair differs unless every value on both sides is one.
		first := ev.stringValue(l[0])
		for _, side := range [][]xpathNode{l, r} {
			for _, n := range side {
				if ev.stringValue(n) != first {
					return true
				}
			}
		}
		return false
	}
	// Some pair is ordered so when the extremes that can be are.
	lmin, lmax := ev.numberRange(l)
	rmin, rmax := ev.numberRange(r)
	if op == opLt || op == opLe {
		return ordered(op, lmin, rmax)
	}
	return ordered(op, lmax, rmin)
}

// ordered reports whether x op y, for a relational operator op.
func ordered(op xOp, x, y float64) bool {
	switch op {
	case opLt:
		return x < y
	case opLe:
		return x <= y
	case opGt:
		return x > y
	}
	return x >= y
}

// numberRange returns the least and greatest number of a node set's
// string values, NaN when none is a number.
func (ev *xpathEval) numberRange(nodes []xpathNode) (lo, hi float64) {
	lo, hi = math.NaN(), math.NaN()
	for _, n := range nodes {
		f := parseXPathNumber(ev.stringValue(n))
		if math.IsNaN(f) {
			continue
		}
		if math.IsNaN(lo) || f < lo {
			lo = f
		}
		if math.IsNaN(hi) || f > hi {
			hi = f
		}
	}
	return lo, hi
}

// flip turns l op r into r flip(op) l.
func flip(op xOp) xOp {
	switch op {
	case opLt:
		return opGt
	case opLe:
		return opGe
	case opGt:
		return opLt
	case opGe:
		return opLe
	}
	return op
}

// compareScalars compares two values that are not node sets.
func compareScalars(op xOp, l, r xval, ev *xpathEval) bool {
	if op == opEq || op == opNe {
		var eq bool
		switch {
		case l.kind == XPathBoolean || r.kind == XPathBoolean:
			eq = toBool(l) == toBool(r)
		case l.kind == XPathNumber || r.kind == XPathNumber:
			x, y := ev.toNumber(l), ev.toNumber(r)
			if op == opNe {
				return x != y
			}
			return x == y
		default:
			eq = ev.toString(l) == ev.toString(r)
		}
		return eq == (op == opEq)
	}
	return ordered(op, ev.toNumber(l), ev.toNumber(r))
}

type xNeg struct{ e xexpr }

func (n *xNeg) eval(ev *xpathEval, c xctx) xval { return numberVal(-ev.toNumber(n.e.eval(ev, c))) }
func (*xNeg) kind() XPathKind                   { return XPathNumber }

type xUnion struct{ l, r xexpr }

func (*xUnion) kind() XPathKind { return XPathNodeSet }

func (u *xUnion) eval(ev *xpathEval, c xctx) xval {
	l := u.l.eval(ev, c).nodes
	r := u.r.eval(ev, c).nodes
	switch {
	case len(l) == 0:
		return nodeSetVal(r)
	case len(r) == 0:
		return nodeSetVal(l)
	}
	all := make([]xpathNode, 0, len(l)+len(r))
	return nodeSetVal(ev.sortUnique(append(append(all, l...), r...)))
}

// xFilter is a filter expression: a node set and its predicates, whose
// positions count over the whole set in document order.
type xFilter struct {
	primary xexpr
	preds   []xexpr
}

func (*xFilter) kind() XPathKind { return XPathNodeSet }

func (f *xFilter) eval(ev *xpathEval, c xctx) xval {
	nodes := f.primary.eval(ev, c).nodes
	return nodeSetVal(ev.filter(slices.Clone(nodes), f.preds))
}

// filter keeps the nodes for which every predicate holds, in order;
// positions are 1-based indexes into nodes as each predicate sees them.
// It filters nodes in place.
func (ev *xpathEval) filter(nodes []xpathNode, preds []xexpr) []xpathNode {
	for _, pred := range preds {
		if len(nodes) == 0 || ev.err != nil {
			return nodes[:0]
		}
		// [n], the common positional predicate, needs no evaluation.
		if k, ok := pred.(xNumber); ok {
			i := int(k)
			if float64(i) != float64(k) || i < 1 || i > len(nodes) {
				return nodes[:0]
			}
			nodes[0] = nodes[i-1]
			nodes = nodes[:1]
			continue
		}
		size := len(nodes)
		kept := nodes[:0]
		for i, n := range nodes {
			if !ev.spend(1) {
				return nodes[:0]
			}
			if ev.test(pred, xctx{node: n, pos: i + 1, size: size}) {
				kept = append(kept, n)
			}
		}
		nodes = kept
	}
	return nodes
}

// Location paths.

type xAxis int

const (
	axisChild xAxis = iota
	axisDescendant
	axisDescendantOrSelf
	axisParent
	axisAncestor
	axisAncestorOrSelf
	axisFollowingSibling
	axisPrecedingSibling
	axisFollowing
	axisPreceding
	axisAttribute
	axisNamespace
	axisSelf
)

var xpathAxes = map[string]xAxis{
	"child": axisChild, "descendant": axisDescendant, "descendant-or-self": axisDescendantOrSelf,
	"parent": axisParent, "ancestor": axisAncestor, "ancestor-or-self": axisAncestorOrSelf,
	"following-sibling": axisFollowingSibling, "preceding-sibling": axisPrecedingSibling,
	"following": axisFollowing, "preceding": axisPreceding, "attribute": axisAttribute,
	"namespace": axisNamespace, "self": axisSelf,
}

// reverse reports whether a counts positions backwards from its node.
func (a xAxis) reverse() bool {
	switch a {
	case axisParent, axisAncestor, axisAncestorOrSelf, axisPrecedingSibling, axisPreceding:
		return true
	}
	return false
}

// testKind is the kind of a node test.
type testKind int

const (
	testName      testKind = iota // name or prefix:name
	testAnyName                   // *
	testNamespace                 // prefix:*
	testNode                      // node()
	testText                      // text()
	testComment                   // comment()
	testPI                        // processing-instruction(), which HTML has none of
)

type xTest struct {
	kind     testKind
	local    string
	ns       string // the namespace of a prefixed test
	prefixed bool
}

// match reports whether n passes the test on an axis whose principal node
// type is attribute (attrAxis) or element.
func (t *xTest) match(n xpathNode, attrAxis bool) bool {
	if n.n.Type == html.DoctypeNode {
		return false
	}
	switch t.kind {
	case testNode:
		return true
	case testText:
		return n.attr < 0 && n.n.Type == html.TextNode
	case testComment:
		return n.attr < 0 && n.n.Type == html.CommentNode
	case testPI:
		return false
	}
	if attrAxis {
		if n.attr < 0 {
			return false
		}
		a := n.n.Attr[n.attr]
		switch t.kind {
		case testAnyName:
			return true
		case testNamespace:
			return attrNamespace(a) == t.ns
		}
		if t.prefixed {
			return a.Key == t.local && attrNamespace(a) == t.ns
		}
		// An unprefixed attribute name is in no namespace, so @href does
		// not match xlink:href.
		return a.Key == t.local && a.Namespace == ""
	}
	if n.attr >= 0 || n.n.Type != html.ElementNode {
		return false
	}
	switch t.kind {
	case testAnyName:
		return true
	case testNamespace:
		return elementNamespace(n.n) == t.ns
	}
	return n.n.Data == t.local && (!t.prefixed || elementNamespace(n.n) == t.ns)
}

// elementNamespace is the namespace the HTML5 parser put element n in.
func elementNamespace(n *html.Node) string {
	switch n.Namespace {
	case "svg":
		return nsSVG
	case "math":
		return nsMathML
	}
	return nsHTML
}

// attrNamespace is the namespace of an attribute of a foreign element.
func attrNamespace(a html.Attribute) string {
	switch a.Namespace {
	case "xlink":
		return nsXLink
	case "xml":
		return nsXML
	case "xmlns":
		return nsXMLNS
	}
	return ""
}

type xStep struct {
	axis  xAxis
	test  xTest
	preds []xexpr
}

// xPath is a location path: from the root (absolute), from the context
// node, or from a filter expression's node set (start).
type xPath struct {
	start    xexpr
	absolute bool
	steps    []*xStep
	// firstable is set when first may stop at the first node it finds.
	firstable bool
}

func (*xPath) kind() XPathKind { return XPathNodeSet }

func (p *xPath) eval(ev *xpathEval, c xctx) xval {
	var set []xpathNode
	flat := true // no node of set is an ancestor of another
	switch {
	case p.start != nil:
		set, flat = p.start.eval(ev, c).nodes, false
	case p.absolute:
		set = []xpathNode{{n: ev.root, attr: -1}}
	default:
		set = []xpathNode{c.node}
	}
	for _, s := range p.steps {
		if len(set) == 0 || ev.err != nil {
			return nodeSetVal(nil)
		}
		set, flat = ev.step(s, set, flat)
	}
	return nodeSetVal(set)
}

// optimize reads descendant-or-self::node()/child::x (what // means) as
// descendant::x, which visits each node once instead of twice, where that
// answers the same: when no predicate of the child step counts positions,
// which in the long form count among siblings.
func (p *xPath) optimize() {
	out := p.steps[:0]
	for i := 0; i < len(p.steps); i++ {
		s := p.steps[i]
		if s.axis == axisDescendantOrSelf && s.test.kind == testNode && len(s.preds) == 0 && i+1 < len(p.steps) {
			next := p.steps[i+1]
			if next.axis == axisChild && !slices.ContainsFunc(next.preds, positional) {
				out = append(out, &xStep{axis: axisDescendant, test: next.test, preds: next.preds})
				i++
				continue
			}
		}
		out = append(out, s)
	}
	p.steps = out
	p.firstable = firstable(p)
}

// firstable reports whether p.first may walk depth first: a path from one
// node whose steps before the last are on the child, attribute or self
// axes, and whose last step is on a forward axis (following and
// following-sibling only as the one step, where their nodes come from
// one node).
func firstable(p *xPath) bool {
	if p.start != nil || len(p.steps) == 0 {
		return false
	}
	for _, s := range p.steps[:len(p.steps)-1] {
		switch s.axis {
		case axisChild, axisAttribute, axisSelf:
		default:
			return false
		}
	}
	switch p.steps[len(p.steps)-1].axis {
	case axisChild, axisAttribute, axisSelf, axisDescendant, axisDescendantOrSelf:
		return true
	case axisFollowing, axisFollowingSibling:
		return len(p.steps) == 1
	}
	return false
}

// positional reports whether a predicate may depend on its context's
// position or size: a number, or an expression that calls position() or
// last() anywhere (conservatively, inner predicates included).
func positional(e xexpr) bool {
	if e.kind() == XPathNumber {
		return true
	}
	switch e := e.(type) {
	case *xCall:
		if e.name == "position" || e.name == "last" {
			return true
		}
		return slices.ContainsFunc(e.args, positional)
	case *xBinary:
		return positional(e.l) || positional(e.r)
	case *xNeg:
		return positional(e.e)
	case *xUnion:
		return positional(e.l) || positional(e.r)
	case *xFilter:
		return positional(e.primary) || slices.ContainsFunc(e.preds, positional)
	case *xPath:
		if e.start != nil && positional(e.start) {
			return true
		}
		for _, s := range e.steps {
			if slices.ContainsFunc(s.preds, positional) {
				return true
			}
		}
	}
	return false
}

// step applies s to every node of in, a node set that is flat when no
// node of it is another's ancestor, and returns the union of the answers
// and whether it is flat.
func (ev *xpathEval) step(s *xStep, in []xpathNode, flat bool) ([]xpathNode, bool) {
	if len(in) == 1 {
		out := ev.filter(ev.axis(nil, s, in[0], false), s.preds)
		if s.axis.reverse() {
			slices.Reverse(out)
		}
		switch s.axis {
		case axisChild, axisAttribute, axisSelf, axisParent, axisFollowingSibling, axisPrecedingSibling:
			return out, true
		}
		return out, false
	}
	var out, buf []xpathNode
	// Overlapping answers (the ancestors, or the following nodes, of
	// every node) are made unique whenever they have doubled, so that the
	// union holds about as many nodes as the document at most, not as
	// many as the steps allow.
	compactAt := xpathCompactAt
	for _, n := range in {
		buf = ev.filter(ev.axis(buf[:0], s, n, false), s.preds)
		if ev.err != nil {
			return nil, false
		}
		if s.axis.reverse() {
			slices.Reverse(buf)
		}
		out = append(out, buf...)
		if len(out) > compactAt && !(flat && (s.axis == axisChild || s.axis == axisSelf || s.axis == axisAttribute)) {
			out = ev.sortUnique(out)
			compactAt = max(compactAt, 2*len(out))
		}
	}
	switch s.axis {
	case axisAttribute:
		// Attributes answered in order of their elements, and no
		// attribute is an ancestor.
		if flat {
			return out, true
		}
		return ev.sortUnique(out), true
	case axisChild, axisSelf:
		// Children of nodes none of which contains another come in
		// document order, and once each.
		if flat {
			return out, true
		}
	}
	return ev.sortUnique(out), false
}

// axis appends to out the nodes of s's axis from n that pass its node
// test, in the axis's order: nearest first on a reverse axis. With first
// set, it also tests s's predicates, which must not be positional, and
// stops at the first node that passes them all.
func (ev *xpathEval) axis(out []xpathNode, s *xStep, n xpathNode, first bool) []xpathNode {
	t := &s.test
	attrAxis := s.axis == axisAttribute
	// visit reports whether the walk goes on.
	visit := func(x xpathNode) bool {
		if !ev.spend(1) {
			return false
		}
		if !t.match(x, attrAxis) {
			return true
		}
		if !first {
			out = append(out, x)
			return true
		}
		for _, pred := range s.preds {
			if !ev.test(pred, xctx{node: x, pos: 1, size: 1}) {
				return ev.err == nil
			}
		}
		out = append(out, x)
		return false
	}
	node := func(m *html.Node) bool { return visit(xpathNode{n: m, attr: -1}) }
	switch s.axis {
	case axisSelf:
		visit(n)
	case axisAttribute:
		if n.attr >= 0 || n.n.Type != html.ElementNode {
			break
		}
		for i := range n.n.Attr {
			if !visit(xpathNode{n: n.n, attr: i}) {
				break
			}
		}
	case axisChild:
		if n.attr >= 0 {
			break
		}
		for c := n.n.FirstChild; c != nil && node(c); c = c.NextSibling {
		}
	case axisDescendant, axisDescendantOrSelf:
		if s.axis == axisDescendantOrSelf && !visit(n) || n.attr >= 0 {
			break
		}
		for c := n.n.FirstChild; c != nil && node(c); c = nextIn(c, n.n) {
		}
	case axisParent:
		switch {
		case n.attr >= 0:
			node(n.n)
		case n.n.Parent != nil:
			node(n.n.Parent)
		}
	case axisAncestor, axisAncestorOrSelf:
		if s.axis == axisAncestorOrSelf && !visit(n) {
			break
		}
		p := n.n.Parent
		if n.attr >= 0 {
			p = n.n
		}
		for ; p != nil && node(p); p = p.Parent {
		}
	case axisFollowingSibling:
		if n.attr >= 0 {
			break
		}
		for c := n.n.NextSibling; c != nil && node(c); c = c.NextSibling {
		}
	case axisPrecedingSibling:
		if n.attr >= 0 {
			break
		}
		for c := n.n.PrevSibling; c != nil && node(c); c = c.PrevSibling {
		}
	case axisFollowing:
		// After n in document order and not inside it; an attribute's
		// element's children come after the attribute.
		var c *html.Node
		if n.attr >= 0 {
			c = nextIn(n.n, ev.root)
		} else {
			for x := n.n; x != nil && c == nil; x = x.Parent {
				c = x.NextSibling
			}
		}
		for ; c != nil && node(c); c = nextIn(c, ev.root) {
		}
	case axisPreceding:
		// Before n in document order and not one of its ancestors,
		// nearest first: each previous sibling's subtree from its last
		// node back, and the parents that are not n's ancestors.
		x, anc := n.n, n.n.Parent
		for x != nil {
			if x.PrevSibling == nil {
				x = x.Parent
				if x == nil || x == anc {
					if x != nil {
						anc = x.Parent
					}
					continue
				}
			} else {
				x = x.PrevSibling
				for x.LastChild != nil {
					x = x.LastChild
				}
			}
			if !node(x) {
				break
			}
		}
	case axisNamespace:
		// HTML has no namespace nodes to answer.
	}
	return out
}

// test evaluates a predicate on one context: a number is compared with
// the context's position, anything else taken as a boolean; a path is
// evaluated only as far as its first node.
func (ev *xpathEval) test(pred xexpr, c xctx) bool {
	if p, ok := pred.(*xPath); ok {
		_, found := p.first(ev, c)
		return found
	}
	v := pred.eval(ev, c)
	if v.kind == XPathNumber {
		return v.num == float64(c.pos)
	}
	return toBool(v)
}

// truth evaluates e as a boolean, and a path only as far as its first
// node.
func (ev *xpathEval) truth(e xexpr, c xctx) bool {
	if p, ok := e.(*xPath); ok {
		_, found := p.first(ev, c)
		return found
	}
	return toBool(e.eval(ev, c))
}

// first answers the first node of p's node set in document order. Where
// p's shape allows (p.firstable), it walks the tree depth first and stops
// at the first node found, so //title and [.//img] do not visit the whole
// page; otherwise it evaluates p whole.
func (p *xPath) first(ev *xpathEval, c xctx) (xpathNode, bool) {
	if !p.firstable {
		nodes := p.eval(ev, c).nodes
		if len(nodes) == 0 {
			return xpathNode{}, false
		}
		return nodes[0], true
	}
	start := c.node
	if p.absolute {
		start = xpathNode{n: ev.root, attr: -1}
	}
	return ev.firstFrom(p.steps, start)
}

// firstFrom answers the first node of steps from n, depth first. For
// firstable steps this is the first in document order: every step but
// the last answers, from one node, nodes none of which contains another,
// in document order, so whatever the later steps find from an earlier one
// comes before what they find from a later one.
func (ev *xpathEval) firstFrom(steps []*xStep, n xpathNode) (xpathNode, bool) {
	s := steps[0]
	if len(steps) == 1 {
		if slices.ContainsFunc(s.preds, positional) {
			nodes := ev.filter(ev.axis(nil, s, n, false), s.preds)
			if len(nodes) == 0 {
				return xpathNode{}, false
			}
			return nodes[0], true
		}
		var buf [1]xpathNode
		found := ev.axis(buf[:0], s, n, true)
		if len(found) == 0 || ev.err != nil {
			return xpathNode{}, false
		}
		return found[0], true
	}
	for _, m := range ev.filter(ev.axis(nil, s, n, false), s.preds) {
		if r, ok := ev.firstFrom(steps[1:], m); ok {
			return r, true
		}
		if ev.err != nil {
			break
		}
	}
	return xpathNode{}, false
}

// sortUnique puts nodes in document order, an attribute after its element
// and before its children, and drops repeated nodes. The tree is numbered
// once per document, on the first sort that needs it.
func (ev *xpathEval) sortUnique(nodes []xpathNode) []xpathNode {
	if !ev.spend(len(nodes)) {
		return nil
	}
	order := ev.doc.order.of(ev.root)
	type keyed struct {
		key  int64
		node xpathNode
	}
	ks := make([]keyed, len(nodes))
	var detached map[*html.Node]int64
	for i, n := range nodes {
		o, ok := order[n.n]
		if !ok {
			// A node made by the evaluation (re:match()'s), outside
			// the document: after it, in the order first seen.
			if detached == nil {
				detached = map[*html.Node]int64{}
			}
			if _, seen := detached[n.n]; !seen {
				detached[n.n] = int64(len(order) + len(detached))
			}
			ks[i] = keyed{detached[n.n] << 32, n}
			continue
		}
		ks[i] = keyed{int64(o)<<32 | int64(n.attr+1), n}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return cmp.Compare(a.key, b.key) })
	out := nodes[:0]
	for i, k := range ks {
		if i > 0 && k.key == ks[i-1].key {
			continue
		}
		out = append(out, k.node)
	}
	return out
}
