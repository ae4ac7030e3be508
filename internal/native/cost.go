package native

import (
	"errors"
	"fmt"
	"reflect"
	"regexp/syntax"
	"sync"

	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
)

// Bounding what a selector costs
//
// cascadia matches an element by calling its compiled selector's Match,
// which cannot be interrupted and whose cost depends on the selector and
// the document together: div:has(div:has(div:has(span))) visits every
// chain of four nested elements, a few hundred thousand steps on a page
// but 10^10 on 500 nested <div>s. CSS.match owns the outer walk and checks
// the context between elements; what remains is to bound the work inside
// one Match, and the work of the whole walk, before it starts.
//
// A selector is compiled once into a costNode tree that mirrors cascadia's
// own compiled form, read with reflect: cascadia keeps its selector types
// unexported, and a second parser of selector text could disagree with
// cascadia's, which here would be a hole in the bound. A part the model
// does not know (a cascadia upgrade) makes the selector refused, and
// TestCostModelCoversCascadia fails. A document is measured once
// (docShape): its nodes, depth, widest parent, text and attribute bytes,
// and, per element name a selector asks about, how many there are and the
// most of them on one path from the root. From the two, bound gives the
// most steps one Match can take on one element (hit) and on all of them
// (total). A step is one visit of a node with the tests on its tag and
// attributes; text and regexp pseudo-classes are charged per byte read.
//
// cascadia tests a compound selector's type first and stops there when it
// fails, and a combinator tests its left side only on elements that match
// its right side: so the ancestor walk of div p costs the depth once per
// p, and the recursion of x div div span goes only through the div
// ancestors. That keeps the bound of ordinary selectors on real pages
// within a few times their actual work, and lets the hostile ones, whose
// work is the bound, be refused.
//
// The bounds are worst cases (cascadia stops at the first ancestor or
// descendant that matches), so an ordinary selector's actual work is far
// below them; the limits are set for that, and tested on the corpus.

// CostError reports a selector whose worst case is over one of the work
// limits of Limits. It is the cause, inside a *SpecError for the selector,
// of a refused selector; errors.Is(err, ErrTooCostly) holds for it.
type CostError struct {
	// Limit names the Limits field exceeded: "MaxWork", "MaxElementWork",
	// "MaxHasDepth" or, for an XPath expression, "MaxXPathSteps".
	Limit string
	// Cost is the selector's bound (for MaxHasDepth, its nesting of :has).
	Cost float64
	// Max is the limit.
	Max float64
}

func (e *CostError) Error() string {
	switch e.Limit {
	case "MaxHasDepth":
		return fmt.Sprintf("too costly: :has nested %.0f deep, at most %.0f allowed", e.Cost, e.Max)
	case "MaxXPathSteps":
		return fmt.Sprintf("too costly: the evaluation took over %.0f steps on this document", e.Max)
	case "MaxElementWork":
		return fmt.Sprintf("too costly: matching one element could take %.3g steps on this document, over the limit of %.0f", e.Cost, e.Max)
	}
	return fmt.Sprintf("too costly: the question could take %.3g steps on this document, over the limit of %.0f", e.Cost, e.Max)
}

// Is makes errors.Is(err, ErrTooCostly) true.
func (e *CostError) Is(target error) bool { return target == ErrTooCostly }

// costOp is what one node of a selector's cost tree does to an element.
type costOp uint8

const (
	opLeaf       costOp = iota // tests the element's tag or attributes
	opAttrRegex                // [attr#=(regexp)]: a regexp over an attribute value
	opSiblings                 // scans the siblings or children: :nth-*, :first-*, :last-*, :only-*, :empty
	opLang                     // :lang walks the ancestors
	opFieldset                 // :enabled, :disabled walk the ancestors and their siblings
	opText                     // :contains, :matches read the subtree's text
	opOwnText                  // :containsOwn, :matchesOwn read the children's text
	opAll                      // a compound selector: every kid
	opAny                      // a selector list: any kid
	opNot                      // :not(kid)
	opHas                      // :has(kid): some descendant
	opHasChild                 // :haschild(kid): some child
	opDescendant               // kids[0] kids[1]
	opChild                    // kids[0] > kids[1]
	opAdjacent                 // kids[0] + kids[1]
	opSibling                  // kids[0] ~ kids[1]
)

// costNode is a compiled selector as the cost model sees it.
type costNode struct {
	op   costOp
	kids []*costNode
	// tag is, for an opLeaf, the type selector's element name, if it is one.
	tag string
	// weight is, for opText, opOwnText and opAttrRegex, the steps charged
	// per byte read: a fraction for a substring test, the program size for
	// a regexp (Go's regexp costs up to one step per instruction per byte).
	weight float64
}

// Byte weights: collecting and lowercasing text, or a byte of a regexp
// program run, against a node visit.
// A text byte is weighted for strings.ToLower of non-ASCII text, the
// slowest case measured.
const (
	textByteWeight  = 2
	regexByteWeight = 0.25
)

const cascadiaPkg = "github.com/andybalholm/cascadia"

// errUnmodelled reports a part of a compiled selector that the cost model
// does not know, which only a cascadia upgrade can bring; such a selector
// is refused rather than run unbounded.
var errUnmodelled = errors.New("native: selector construct not covered by the cost model")

// costModel returns the cost tree of a compiled selector group.
func costModel(g cascadia.SelectorGroup) (*costNode, error) {
	return modelOf(reflect.ValueOf(g))
}

func modelOf(v reflect.Value) (*costNode, error) {
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, errUnmodelled
		}
		v = v.Elem()
	}
	t := v.Type()
	if t.PkgPath() != cascadiaPkg {
		return nil, fmt.Errorf("%w: %s", errUnmodelled, t)
	}
	switch t.Name() {
	case "SelectorGroup":
		return listOf(opAny, v)
	case "compoundSelector":
		return listOf(opAll, v.FieldByName("selectors"))
	case "combinedSelector":
		first := v.FieldByName("first")
		var op costOp
		switch c := byte(v.FieldByName("combinator").Uint()); c {
		case 0:
			return modelOf(first)
		case ' ':
			op = opDescendant
		case '>':
			op = opChild
		case '+':
			op = opAdjacent
		case '~':
			op = opSibling
		default:
			return nil, fmt.Errorf("%w: combinator %q", errUnmodelled, c)
		}
		return pairOf(op, first, v.FieldByName("second"))
	case "relativePseudoClassSelector":
		kid, err := modelOf(v.FieldByName("match"))
		if err != nil {
			return nil, err
		}
		switch name := v.FieldByName("name").String(); name {
		case "not":
			return &costNode{op: opNot, kids: []*costNode{kid}}, nil
		case "has":
			return &costNode{op: opHas, kids: []*costNode{kid}}, nil
		case "haschild":
			return &costNode{op: opHasChild, kids: []*costNode{kid}}, nil
		default:
			return nil, fmt.Errorf("%w: :%s", errUnmodelled, name)
		}
	case "containsPseudoClassSelector":
		return &costNode{op: textOp(v), weight: textByteWeight}, nil
	case "regexpPseudoClassSelector":
		w, err := regexWeight(v.FieldByName("regexp"))
		if err != nil {
			return nil, err
		}
		return &costNode{op: textOp(v), weight: w}, nil
	case "attrSelector":
		if v.FieldByName("operation").String() != "#=" {
			return &costNode{op: opLeaf}, nil
		}
		w, err := regexWeight(v.FieldByName("regexp"))
		if err != nil {
			return nil, err
		}
		return &costNode{op: opAttrRegex, weight: w}, nil
	case "nthPseudoClassSelector", "onlyChildPseudoClassSelector", "emptyElementPseudoClassSelector":
		return &costNode{op: opSiblings}, nil
	case "langPseudoClassSelector":
		return &costNode{op: opLang}, nil
	case "enabledPseudoClassSelector", "disabledPseudoClassSelector":
		return &costNode{op: opFieldset}, nil
	case "tagSelector":
		return &costNode{op: opLeaf, tag: v.FieldByName("tag").String()}, nil
	case "classSelector", "idSelector", "neverMatchSelector", "rootPseudoClassSelector",
		"linkPseudoClassSelector", "inputPseudoClassSelector", "checkedPseudoClassSelector":
		return &costNode{op: opLeaf}, nil
	}
	return nil, fmt.Errorf("%w: %s", errUnmodelled, t)
}

func listOf(op costOp, list reflect.Value) (*costNode, error) {
	if list.Kind() != reflect.Slice {
		return nil, fmt.Errorf("%w: %s", errUnmodelled, list.Type())
	}
	if list.Len() == 0 { // "*": any element
		return &costNode{op: opLeaf}, nil
	}
	n := &costNode{op: op, kids: make([]*costNode, list.Len())}
	for i := range n.kids {
		k, err := modelOf(list.Index(i))
		if err != nil {
			return nil, err
		}
		n.kids[i] = k
	}
	if len(n.kids) == 1 {
		return n.kids[0], nil
	}
	return n, nil
}

func pairOf(op costOp, first, second reflect.Value) (*costNode, error) {
	a, err := modelOf(first)
	if err != nil {
		return nil, err
	}
	b, err := modelOf(second)
	if err != nil {
		return nil, err
	}
	return &costNode{op: op, kids: []*costNode{a, b}}, nil
}

func textOp(v reflect.Value) costOp {
	if v.FieldByName("own").Bool() {
		return opOwnText
	}
	return opText
}

// regexWeight returns the per-byte weight of the *regexp.Regexp in v: its
// program's size. The source is read from the Regexp's expr field, the
// only way to it from a value reached through unexported fields.
func regexWeight(v reflect.Value) (float64, error) {
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return 0, errUnmodelled
	}
	expr := v.Elem().FieldByName("expr")
	if expr.Kind() != reflect.String {
		return 0, fmt.Errorf("%w: regexp without expr", errUnmodelled)
	}
	re, err := syntax.Parse(expr.String(), syntax.Perl)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errUnmodelled, err)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errUnmodelled, err)
	}
	return max(1, float64(len(prog.Inst))*regexByteWeight), nil
}

// hasDepth returns the deepest nesting of :has and :haschild in n.
func (n *costNode) hasDepth() int {
	d := 0
	for _, k := range n.kids {
		d = max(d, k.hasDepth())
	}
	if n.op == opHas || n.op == opHasChild {
		d++
	}
	return d
}

// leaves returns the number of simple tests in n and whether n is flat: a
// combination of tests on an element and its parents alone, whose cost on
// one element is at most its number of leaves, on any document.
func (n *costNode) flat() (leaves int, ok bool) {
	switch n.op {
	case opLeaf:
		return 1, true
	case opAll, opAny, opNot, opChild:
		for _, k := range n.kids {
			l, ok := k.flat()
			if !ok {
				return 0, false
			}
			leaves += l
		}
		return leaves, true
	}
	return 0, false
}

// docShape is what the cost model needs to know of a parsed document.
// Counts are float64: the bounds they feed overflow int64 on hostile input.
type docShape struct {
	nodes     float64 // every node of the tree, the document node included
	maxDepth  float64 // the document node is at depth 0
	depthSum  float64 // sum over nodes of their depth: the ancestors of every node
	maxKids   float64 // the most children of one node
	sumKids2  float64 // sum over nodes of children², the cost of scanning siblings from every child
	textBytes float64 // bytes of text nodes
	textDepth float64 // sum over text nodes of bytes × (depth+1): the text read from every ancestor
	attrBytes float64 // bytes of attribute values
	maxAttr   float64 // the longest attribute value

	root *html.Node
	mu   sync.Mutex
	tags map[string]tagShape
}

// tagShape describes the elements of one name: how many there are, the
// most of them on one path from the root (the ancestors of that name an
// element can have, which bounds a descendant combinator's recursion), and
// the largest and summed sizes of their subtrees in nodes and text bytes
// (what :has and :contains read from them).
type tagShape struct {
	count, depth            float64
	maxSubNodes, maxSubText float64
	sumSubNodes, sumSubText float64
}

// measure walks the tree under root once.
func measure(root *html.Node) *docShape {
	s := &docShape{root: root}
	depth := 0.0
	for n := root; n != nil; {
		s.nodes++
		s.depthSum += depth
		s.maxDepth = max(s.maxDepth, depth)
		switch n.Type {
		case html.TextNode:
			b := float64(len(n.Data))
			s.textBytes += b
			s.textDepth += b * (depth + 1)
		case html.ElementNode:
			for _, a := range n.Attr {
				b := float64(len(a.Val))
				s.attrBytes += b
				s.maxAttr = max(s.maxAttr, b)
			}
		}
		if n.FirstChild != nil {
			kids := 0.0
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				kids++
			}
			s.maxKids = max(s.maxKids, kids)
			s.sumKids2 += kids * kids
			n = n.FirstChild
			depth++
			continue
		}
		for n != root && n.NextSibling == nil {
			n = n.Parent
			depth--
		}
		if n == root {
			break
		}
		n = n.NextSibling
	}
	return s
}

// tag returns the shape of the elements named name, or of every node for
// "". It walks the tree once per name and remembers the answer.
func (s *docShape) tag(name string) tagShape {
	if name == "" {
		return tagShape{
			count: s.nodes, depth: s.maxDepth,
			maxSubNodes: s.nodes, maxSubText: s.textBytes,
			sumSubNodes: s.nodes + s.depthSum, sumSubText: s.textDepth,
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tags[name]; ok {
		return t
	}
	var t tagShape
	// walk returns the nodes and text bytes of n's subtree; on is the
	// number of elements named name above n. The recursion is as deep as
	// the tree, which the parser keeps within 512.
	var walk func(n *html.Node, on float64) (nodes, text float64)
	walk = func(n *html.Node, on float64) (nodes, text float64) {
		tagged := n.Type == html.ElementNode && n.Data == name
		if tagged {
			on++
		}
		nodes = 1
		if n.Type == html.TextNode {
			text = float64(len(n.Data))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			cn, ct := walk(c, on)
			nodes += cn
			text += ct
		}
		if tagged {
			t.count++
			t.depth = max(t.depth, on)
			t.maxSubNodes = max(t.maxSubNodes, nodes)
			t.maxSubText = max(t.maxSubText, text)
			t.sumSubNodes += nodes
			t.sumSubText += text
		}
		return nodes, text
	}
	walk(s.root, 0)
	if s.tags == nil {
		s.tags = make(map[string]tagShape)
	}
	s.tags[name] = t
	return t
}

// shapeView is a docShape as bound reads it: with the element names the
// selector asks about (byName), or, cheaper, as if every node had every
// name, which needs no walk beyond measure's and bounds the same work
// less tightly. charge tries the cheap view first.
type shapeView struct {
	*docShape
	byName bool
}

func (v shapeView) tag(name string) tagShape {
	if !v.byName {
		name = ""
	}
	return v.docShape.tag(name)
}

// textAlloc is the steps charged for the buffer and the lowercased copy
// that cascadia allocates for each text pseudo-class it evaluates.
const textAlloc = 64

// workBound is a selector's bound on one document. On an element named
// tag, or on any node when tag is "", one Match costs at most hit steps;
// on any other node it costs one step (the type selector that comes first
// in a compound fails) and never matches. total bounds the steps of Match
// on every node of the document.
type workBound struct {
	tag        string
	hit, total float64
}

// ancestors bounds the steps of testing b on every ancestor of one node:
// one each, and hit on those of b's name.
func (b workBound) ancestors(s shapeView) float64 {
	return s.maxDepth + s.tag(b.tag).depth*(b.hit-1)
}

// bound computes n's work bound on the document s, for the elements named
// on ("": any node): hit bounds one Match on one of them, total the sum
// over all of them.
func (n *costNode) bound(s shapeView, on string) workBound {
	N, W, D := s.nodes, s.maxKids, s.maxDepth
	ts := s.tag(on)
	switch n.op {
	case opLeaf:
		return workBound{n.tag, 1, ts.count}
	case opAttrRegex:
		return workBound{"", 1 + s.maxAttr*n.weight, N + s.attrBytes*n.weight}
	case opSiblings:
		return workBound{"", 1 + W, N + s.sumKids2}
	case opLang:
		return workBound{"", 1 + D, N + s.depthSum}
	case opFieldset:
		return workBound{"", 1 + D*(1+W), N + (1+W)*s.depthSum}
	case opText:
		// The subtree's nodes and text.
		return workBound{"", 1 + textAlloc + ts.maxSubNodes + ts.maxSubText*n.weight,
			ts.count*(1+textAlloc) + ts.sumSubNodes + ts.sumSubText*n.weight}
	case opOwnText:
		return workBound{"", 1 + textAlloc + W + s.textBytes*n.weight, N*(2+textAlloc) + s.textBytes*n.weight}
	case opAll:
		// cascadia tests a compound's parts in order and stops at the
		// first that fails; a type selector comes first, and the other
		// parts see only elements of that name.
		out := workBound{hit: 0, total: ts.count}
		rest, sub := n.kids, on
		if k := n.kids[0]; k.op == opLeaf && k.tag != "" {
			out.tag, out.hit = k.tag, 1
			rest, sub = n.kids[1:], k.tag
		}
		for _, k := range rest {
			b := k.bound(s, sub)
			out.hit += b.hit
			out.total += b.total
		}
		return out
	case opAny:
		var out workBound
		for _, k := range n.kids {
			b := k.bound(s, on)
			out.hit += b.hit
			out.total += b.total
		}
		return out
	case opNot:
		b := n.kids[0].bound(s, on)
		return workBound{"", b.hit, b.total}
	case opHas:
		g := n.kids[0].bound(s, "")
		// One Match visits the element's subtree once, testing each
		// node; over the document, each node is visited and tested once
		// per ancestor.
		hit := min(ts.maxSubNodes+g.total, ts.maxSubNodes*(1+g.hit))
		tested := min(g.total, s.tag(g.tag).count*g.hit)
		return workBound{"", hit, ts.sumSubNodes + ts.depth*tested}
	case opHasChild:
		g := n.kids[0].bound(s, "")
		return workBound{"", W + min(W*g.hit, g.total), N + g.total}
	case opDescendant:
		a, b := n.kids[0].bound(s, ""), n.kids[1].bound(s, on)
		walk := a.ancestors(s)
		return workBound{b.tag, b.hit + walk, b.total + s.matching(b.tag, on)*walk}
	case opChild:
		a, b := n.kids[0].bound(s, ""), n.kids[1].bound(s, on)
		return workBound{b.tag, b.hit + a.hit, b.total + min(s.matching(b.tag, on)*a.hit, W*a.total)}
	case opAdjacent:
		a, b := n.kids[0].bound(s, ""), n.kids[1].bound(s, on)
		return workBound{b.tag, b.hit + W + a.hit, b.total + a.total + N}
	case opSibling:
		a, b := n.kids[0].bound(s, ""), n.kids[1].bound(s, on)
		return workBound{b.tag, b.hit + W*a.hit, b.total + min(s.matching(b.tag, on)*W*a.hit, W*a.total) + s.sumKids2}
	}
	panic(fmt.Sprintf("native: cost op %d", n.op))
}

// matching bounds the nodes named on that a selector whose type is tag
// can match.
func (s shapeView) matching(tag, on string) float64 {
	return min(s.tag(tag).count, s.tag(on).count)
}
