package native

import (
	"context"
	"errors"

	"github.com/antchfx/xpath"
	"golang.org/x/net/html"
)

// The namespaces an HTML5 parser puts elements and attributes in, and the
// prefixes an XPath expression may use for them. Unprefixed names match
// elements of every namespace, as they do in lxml and parsel, so a pasted
// //svg/path still works; svg:path and html:div test the namespace too.
const (
	nsHTML   = "http://www.w3.org/1999/xhtml"
	nsSVG    = "http://www.w3.org/2000/svg"
	nsMathML = "http://www.w3.org/1998/Math/MathML"
	nsXLink  = "http://www.w3.org/1999/xlink"
	nsXML    = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS  = "http://www.w3.org/2000/xmlns/"
)

// xpathPrefixes returns the prefix bindings every expression is compiled
// with. A fresh map each time: the library keeps the one it is given.
func xpathPrefixes() map[string]string {
	return map[string]string{
		"html":  nsHTML,
		"svg":   nsSVG,
		"math":  nsMathML,
		"xlink": nsXLink,
		"xml":   nsXML,
		"xmlns": nsXMLNS,
	}
}

// errXPathCost stops an evaluation that has used up its step budget.
var errXPathCost = errors.New("over the step budget")

// xpathWalk is the budget of one evaluation, shared by its navigator and
// every copy the library makes of it. The library cannot be told to stop,
// so the navigator stops for it: once the budget is spent or the context
// is done, every move fails and every value is empty, which ends any
// expression in at most a few more calls. The evaluation's answer is then
// thrown away and err returned instead.
type xpathWalk struct {
	ctx   context.Context
	steps int
	max   int
	err   error
}

// ctxCheckSteps is how many steps an evaluation takes between context
// checks.
const ctxCheckSteps = 1024

// spend charges n steps and reports whether the walk may go on.
func (w *xpathWalk) spend(n int) bool {
	if w.err != nil {
		return false
	}
	before := w.steps
	w.steps += n
	if w.steps > w.max {
		w.err = errXPathCost
		return false
	}
	if w.steps/ctxCheckSteps != before/ctxCheckSteps {
		if err := w.ctx.Err(); err != nil {
			w.err = err
			return false
		}
	}
	return true
}

// navigator is an xpath.NodeNavigator over a golang.org/x/net/html tree
// that charges every move and every string value to its walk. Doctype
// nodes are not part of the XPath data model and are stepped over.
type navigator struct {
	walk *xpathWalk
	root *html.Node
	cur  *html.Node
	attr int // index into cur.Attr when on an attribute, else -1
}

var _ xpath.NodeNavigator = (*navigator)(nil)

func newNavigator(w *xpathWalk, root *html.Node) *navigator {
	return &navigator{walk: w, root: root, cur: root, attr: -1}
}

func (n *navigator) NodeType() xpath.NodeType {
	if n.attr >= 0 {
		return xpath.AttributeNode
	}
	switch n.cur.Type {
	case html.DocumentNode:
		return xpath.RootNode
	case html.TextNode:
		return xpath.TextNode
	case html.CommentNode:
		return xpath.CommentNode
	}
	return xpath.ElementNode
}

func (n *navigator) LocalName() string {
	if n.attr >= 0 {
		return n.cur.Attr[n.attr].Key
	}
	if n.cur.Type == html.ElementNode {
		return n.cur.Data
	}
	return ""
}

// Prefix is empty for every element, so that unprefixed name tests match
// SVG and MathML elements too; a namespaced attribute (xlink:href) keeps
// its prefix, so that @href does not match it.
func (n *navigator) Prefix() string {
	if n.attr >= 0 {
		return n.cur.Attr[n.attr].Namespace
	}
	return ""
}

// NamespaceURL is what a prefixed name test (svg:path) compares with.
func (n *navigator) NamespaceURL() string {
	if n.attr >= 0 {
		switch n.cur.Attr[n.attr].Namespace {
		case "xlink":
			return nsXLink
		case "xml":
			return nsXML
		case "xmlns":
			return nsXMLNS
		}
		return ""
	}
	if n.cur.Type != html.ElementNode {
		return ""
	}
	switch n.cur.Namespace {
	case "svg":
		return nsSVG
	case "math":
		return nsMathML
	}
	return nsHTML
}

// Value is the XPath string-value: an attribute's value, a text or
// comment node's text, or for an element or the root every descendant
// text node's text, concatenated. The latter is charged a step per node
// and per 64 bytes, so string(//*) on a large page runs out of budget
// rather than memory.
func (n *navigator) Value() string {
	if n.attr >= 0 {
		return n.cur.Attr[n.attr].Val
	}
	switch n.cur.Type {
	case html.TextNode, html.CommentNode:
		return n.cur.Data
	}
	var buf []byte
	for c := n.cur.FirstChild; c != nil; c = nextIn(c, n.cur) {
		if !n.walk.spend(1) {
			return ""
		}
		if c.Type == html.TextNode {
			if !n.walk.spend(len(c.Data) / 64) {
				return ""
			}
			buf = append(buf, c.Data...)
		}
	}
	return string(buf)
}

func (n *navigator) Copy() xpath.NodeNavigator {
	c := *n
	return &c
}

func (n *navigator) MoveToRoot() {
	n.walk.spend(1)
	n.cur, n.attr = n.root, -1
}

func (n *navigator) MoveToParent() bool {
	if !n.walk.spend(1) {
		return false
	}
	if n.attr >= 0 {
		n.attr = -1
		return true
	}
	if n.cur == n.root || n.cur.Parent == nil {
		return false
	}
	n.cur = n.cur.Parent
	return true
}

func (n *navigator) MoveToNextAttribute() bool {
	if !n.walk.spend(1) || n.cur.Type != html.ElementNode || n.attr+1 >= len(n.cur.Attr) {
		return false
	}
	n.attr++
	return true
}

func (n *navigator) MoveToChild() bool {
	if !n.walk.spend(1) || n.attr >= 0 {
		return false
	}
	c := skipDoctype(n.cur.FirstChild, forward)
	if c == nil {
		return false
	}
	n.cur = c
	return true
}

func (n *navigator) MoveToFirst() bool {
	if !n.walk.spend(1) || n.attr >= 0 || n.cur.Parent == nil || n.cur == n.root {
		return false
	}
	c := skipDoctype(n.cur.Parent.FirstChild, forward)
	if c == nil {
		return false
	}
	n.cur = c
	return true
}

func (n *navigator) MoveToNext() bool {
	if !n.walk.spend(1) || n.attr >= 0 || n.cur == n.root {
		return false
	}
	c := skipDoctype(n.cur.NextSibling, forward)
	if c == nil {
		return false
	}
	n.cur = c
	return true
}

func (n *navigator) MoveToPrevious() bool {
	if !n.walk.spend(1) || n.attr >= 0 || n.cur == n.root {
		return false
	}
	c := skipDoctype(n.cur.PrevSibling, backward)
	if c == nil {
		return false
	}
	n.cur = c
	return true
}

func (n *navigator) MoveTo(other xpath.NodeNavigator) bool {
	o, ok := other.(*navigator)
	if !ok || o.root != n.root {
		return false
	}
	n.cur, n.attr = o.cur, o.attr
	return true
}

type direction bool

const (
	forward  direction = true
	backward direction = false
)

// skipDoctype returns n, or the first sibling from n in direction d that
// is not a doctype.
func skipDoctype(n *html.Node, d direction) *html.Node {
	for n != nil && n.Type == html.DoctypeNode {
		if d == forward {
			n = n.NextSibling
		} else {
			n = n.PrevSibling
		}
	}
	return n
}
