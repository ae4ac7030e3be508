// Package htmltree encodes a parsed HTML document, a golang.org/x/net/html
// node tree, in the flat binary form that the guest ABI's
// riptide_extract_tree export receives (docs/wasm-abi.md, "The document
// tree"), and decodes it back.
//
// The host parses a document once, natively, and a guest rebuilds the tree
// from the encoding in a single pass with a few allocations, instead of
// running the HTML5 tree-construction algorithm in WebAssembly, where it
// costs some seven times as much. The encoding keeps everything a
// golang.org/x/net/html tree holds, so Decode(Append(nil, root)) is a tree
// equal to root, node for node.
//
// # Format
//
// All integers are little-endian; u32 is an unsigned 32-bit integer.
//
//	header   version u32 (= 1), node count u32, attribute count u32,
//	         string table length u32
//	strings  the string table: bytes that strings point into
//	nodes    node count records in document order (a node before its
//	         children, children in order), each followed by its attributes
//
// A node record is 20 bytes:
//
//	type u8        1 element, 3 text, 8 comment, 9 document, 10 doctype
//	               (the DOM's nodeType numbers)
//	namespace u8   elements: 0 HTML, 1 SVG, 2 MathML; 0 for other nodes
//	reserved u16   0
//	children u32   how many records that follow are its children
//	attributes u32 how many attribute records follow it
//	data u32, u32  offset and length in the string table: an element's
//	               tag name, a text's or a comment's text, a doctype's
//	               name; empty for the document
//
// An attribute record is 24 bytes: three (offset u32, length u32) pairs
// for its namespace ("" except for foreign attributes such as xlink:href),
// its name and its value. A doctype's public and system identifiers are
// its attributes "public" and "system".
//
// The first record is the document, the only one of its type. Only the
// document and elements have children; only elements and doctypes have
// attributes.
package htmltree

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"golang.org/x/net/html"
)

// Version is the version of the format, the header's first field.
const Version = 1

// Sizes of the format's parts, in bytes.
const (
	headerSize = 16
	nodeSize   = 20
	attrSize   = 24
)

// The type byte: the DOM's nodeType numbers.
const (
	typeElement  = 1
	typeText     = 3
	typeComment  = 8
	typeDocument = 9
	typeDoctype  = 10
)

// The namespace byte of an element.
const (
	nsHTML   = 0
	nsSVG    = 1
	nsMathML = 2
)

var (
	// ErrUnsupported is returned by Measure and Append for a tree the
	// format cannot hold, none of which html.Parse makes: an error or raw
	// node, an element in a namespace other than HTML, SVG and MathML, a
	// second document node, children or attributes where the format has
	// none, a child whose Parent link is wrong, or an encoding over 4 GiB.
	ErrUnsupported = errors.New("htmltree: tree not encodable")
	// ErrMalformed is returned by Decode for bytes that are not a valid
	// encoding; the error says what is wrong and where.
	ErrMalformed = errors.New("htmltree: malformed encoding")
)

var le = binary.LittleEndian

// A Plan is the layout of a tree's encoding: Measure walks the tree once to
// count, so that Encode can write the encoding straight into a buffer of
// exactly Len bytes, such as one in a guest's linear memory.
type Plan struct {
	root    *html.Node
	nodes   int
	attrs   int
	strings int
}

// Measure checks that the tree at root can be encoded and returns its
// layout. The tree must not change until Encode has run.
func Measure(root *html.Node) (Plan, error) {
	if root == nil || root.Type != html.DocumentNode {
		return Plan{}, fmt.Errorf("%w: the root is not a document node", ErrUnsupported)
	}
	p := Plan{root: root}
	for n := root; n != nil; n = next(root, n) {
		typ, _, err := typeOf(n)
		if err != nil {
			return Plan{}, err
		}
		switch {
		case typ == typeDocument && n != root:
			return Plan{}, fmt.Errorf("%w: a document node inside the document", ErrUnsupported)
		case n.FirstChild != nil && typ != typeDocument && typ != typeElement:
			return Plan{}, fmt.Errorf("%w: a node of type %d with children", ErrUnsupported, n.Type)
		case len(n.Attr) > 0 && typ != typeElement && typ != typeDoctype:
			return Plan{}, fmt.Errorf("%w: a node of type %d with attributes", ErrUnsupported, n.Type)
		}
		// The walk follows Parent links back up: they must be right.
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Parent != n {
				return Plan{}, fmt.Errorf("%w: a child of <%s> whose Parent is another node", ErrUnsupported, n.Data)
			}
		}
		p.nodes++
		p.attrs += len(n.Attr)
		p.strings += len(n.Data)
		for _, a := range n.Attr {
			p.strings += len(a.Namespace) + len(a.Key) + len(a.Val)
		}
	}
	if p.Len() > math.MaxUint32 {
		return Plan{}, fmt.Errorf("%w: an encoding of %d bytes is over the format's 4 GiB", ErrUnsupported, p.Len())
	}
	return p, nil
}

// Len is the size of the encoding in bytes.
func (p Plan) Len() int {
	return headerSize + p.strings + p.nodes*nodeSize + p.attrs*attrSize
}

// Encode writes the encoding into dst[:p.Len()] and returns that slice. It
// panics if dst is shorter.
func (p Plan) Encode(dst []byte) []byte {
	dst = dst[:p.Len()]
	le.PutUint32(dst[0:], Version)
	le.PutUint32(dst[4:], uint32(p.nodes))
	le.PutUint32(dst[8:], uint32(p.attrs))
	le.PutUint32(dst[12:], uint32(p.strings))
	strs := dst[headerSize : headerSize+p.strings]
	recs := dst[headerSize+p.strings:]
	s, r := 0, 0
	put := func(v string) {
		copy(strs[s:], v)
		le.PutUint32(recs[r:], uint32(s))
		le.PutUint32(recs[r+4:], uint32(len(v)))
		s += len(v)
		r += 8
	}
	for n := p.root; n != nil; n = next(p.root, n) {
		typ, ns, _ := typeOf(n)
		children := 0
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			children++
		}
		recs[r], recs[r+1], recs[r+2], recs[r+3] = typ, ns, 0, 0
		le.PutUint32(recs[r+4:], uint32(children))
		le.PutUint32(recs[r+8:], uint32(len(n.Attr)))
		r += 12
		put(n.Data)
		for _, a := range n.Attr {
			put(a.Namespace)
			put(a.Key)
			put(a.Val)
		}
	}
	return dst
}

// Append appends the encoding of the tree at root to dst.
func Append(dst []byte, root *html.Node) ([]byte, error) {
	p, err := Measure(root)
	if err != nil {
		return dst, err
	}
	n := len(dst)
	if cap(dst)-n < p.Len() {
		dst = append(dst[:cap(dst)], make([]byte, n+p.Len()-cap(dst))...)
	}
	p.Encode(dst[n:])
	return dst[:n+p.Len()], nil
}

// next returns the node after n in document order within root's tree, or
// nil at the end: a walk without recursion, so that no depth of nesting
// can exhaust the stack. Measure has checked the Parent links it climbs.
func next(root, n *html.Node) *html.Node {
	if n.FirstChild != nil {
		return n.FirstChild
	}
	for ; n != root; n = n.Parent {
		if n.NextSibling != nil {
			return n.NextSibling
		}
	}
	return nil
}

// typeOf returns n's type and namespace bytes.
func typeOf(n *html.Node) (typ, ns byte, err error) {
	switch n.Type {
	case html.ElementNode:
		switch n.Namespace {
		case "":
			return typeElement, nsHTML, nil
		case "svg":
			return typeElement, nsSVG, nil
		case "math":
			return typeElement, nsMathML, nil
		}
		return 0, 0, fmt.Errorf("%w: element <%s> in namespace %q", ErrUnsupported, n.Data, n.Namespace)
	case html.TextNode:
		return typeText, 0, nil
	case html.CommentNode:
		return typeComment, 0, nil
	case html.DocumentNode:
		return typeDocument, 0, nil
	case html.DoctypeNode:
		return typeDoctype, 0, nil
	}
	return 0, 0, fmt.Errorf("%w: node of type %d", ErrUnsupported, n.Type)
}
