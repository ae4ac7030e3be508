package htmltree

import (
	"fmt"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Decode rebuilds the tree that b encodes and returns its document node. It
// checks b completely and returns an error wrapping ErrMalformed, never a
// partial tree, for anything that is not an encoding Append could have
// written.
//
// The tree does not alias b: its strings are copied out, so b may be
// reused at once. Its nodes and attributes are allocated in two blocks,
// which stay in memory while any node of the tree is referenced.
func Decode(b []byte) (*html.Node, error) {
	if len(b) < headerSize {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrMalformed, len(b), headerSize)
	}
	if v := le.Uint32(b); v != Version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrMalformed, v, Version)
	}
	nodeCount, attrCount, strLen := le.Uint32(b[4:]), le.Uint32(b[8:]), le.Uint32(b[12:])
	if nodeCount == 0 {
		return nil, fmt.Errorf("%w: no nodes", ErrMalformed)
	}
	// The header's counts must account for every byte; this also bounds
	// the allocations below by the input's size.
	want := uint64(headerSize) + uint64(strLen) + uint64(nodeCount)*nodeSize + uint64(attrCount)*attrSize
	if want != uint64(len(b)) {
		return nil, fmt.Errorf("%w: the header describes %d bytes, the encoding has %d", ErrMalformed, want, len(b))
	}
	d := decoder{
		strs: string(b[headerSize : headerSize+strLen]),
		recs: b[headerSize+strLen:],
	}
	nodes := make([]html.Node, nodeCount)
	attrs := make([]html.Attribute, attrCount)

	// open holds the nodes still waiting for children, and how many.
	type frame struct {
		n    *html.Node
		left uint32
	}
	var open []frame
	for i := range nodes {
		n := &nodes[i]
		typ, ns := d.recs[d.r], d.recs[d.r+1]
		if d.recs[d.r+2] != 0 || d.recs[d.r+3] != 0 {
			return nil, fmt.Errorf("%w: node %d: reserved bytes are not zero", ErrMalformed, i)
		}
		children, na := le.Uint32(d.recs[d.r+4:]), le.Uint32(d.recs[d.r+8:])
		d.r += 12
		var err error
		if n.Data, err = d.str(); err != nil {
			return nil, fmt.Errorf("%w: node %d: %v", ErrMalformed, i, err)
		}
		if err := setType(n, typ, ns, i); err != nil {
			return nil, err
		}
		switch {
		case children > 0 && n.Type != html.DocumentNode && n.Type != html.ElementNode:
			return nil, fmt.Errorf("%w: node %d, of type %d, has children", ErrMalformed, i, typ)
		case na > 0 && n.Type != html.ElementNode && n.Type != html.DoctypeNode:
			return nil, fmt.Errorf("%w: node %d, of type %d, has attributes", ErrMalformed, i, typ)
		case uint64(na) > uint64(len(attrs)):
			return nil, fmt.Errorf("%w: node %d has %d attributes, more than the header's %d left", ErrMalformed, i, na, len(attrs))
		}
		if na > 0 {
			n.Attr, attrs = attrs[:na:na], attrs[na:]
			for j := range n.Attr {
				a := &n.Attr[j]
				if a.Namespace, err = d.str(); err == nil {
					if a.Key, err = d.str(); err == nil {
						a.Val, err = d.str()
					}
				}
				if err != nil {
					return nil, fmt.Errorf("%w: node %d, attribute %d: %v", ErrMalformed, i, j, err)
				}
			}
		}

		for len(open) > 0 && open[len(open)-1].left == 0 {
			open = open[:len(open)-1]
		}
		if i > 0 {
			if len(open) == 0 {
				return nil, fmt.Errorf("%w: node %d is outside the document: its ancestors declared fewer children", ErrMalformed, i)
			}
			top := &open[len(open)-1]
			top.left--
			appendChild(top.n, n)
		}
		if children > 0 {
			open = append(open, frame{n, children})
		}
	}
	for _, f := range open {
		if f.left > 0 {
			return nil, fmt.Errorf("%w: a <%s> node declares %d more children than the encoding holds", ErrMalformed, f.n.Data, f.left)
		}
	}
	if len(attrs) > 0 {
		return nil, fmt.Errorf("%w: the header counts %d attributes the nodes do not have", ErrMalformed, len(attrs))
	}
	return &nodes[0], nil
}

// decoder reads records and the strings they point to.
type decoder struct {
	strs string // the string table, copied
	recs []byte // node and attribute records
	r    int    // read offset in recs
}

// str reads an (offset, length) pair and returns that string of the table.
// The header's size check guarantees that the pair is in recs.
func (d *decoder) str() (string, error) {
	off, n := le.Uint32(d.recs[d.r:]), le.Uint32(d.recs[d.r+4:])
	d.r += 8
	if uint64(off)+uint64(n) > uint64(len(d.strs)) {
		return "", fmt.Errorf("string [%d, %d) is outside the %d-byte string table", off, uint64(off)+uint64(n), len(d.strs))
	}
	return d.strs[off : off+n], nil
}

// setType sets n's type, namespace and atom from the record's bytes.
func setType(n *html.Node, typ, ns byte, i int) error {
	if ns != nsHTML && typ != typeElement {
		return fmt.Errorf("%w: node %d, of type %d, has namespace %d", ErrMalformed, i, typ, ns)
	}
	if (typ == typeDocument) != (i == 0) {
		return fmt.Errorf("%w: node %d: the document must be the first node and the only one", ErrMalformed, i)
	}
	switch typ {
	case typeElement:
		n.Type = html.ElementNode
		switch ns {
		case nsHTML:
		case nsSVG:
			n.Namespace = "svg"
		case nsMathML:
			n.Namespace = "math"
		default:
			return fmt.Errorf("%w: node %d: unknown namespace %d", ErrMalformed, i, ns)
		}
		if n.Data == "" {
			return fmt.Errorf("%w: node %d: an element without a name", ErrMalformed, i)
		}
		// The parser gives every element the atom of its name, 0 for names
		// that have none (such as SVG's camel-cased ones).
		n.DataAtom = atom.Lookup([]byte(n.Data))
	case typeText:
		n.Type = html.TextNode
	case typeComment:
		n.Type = html.CommentNode
	case typeDocument:
		n.Type = html.DocumentNode
		if n.Data != "" {
			return fmt.Errorf("%w: the document node has data", ErrMalformed)
		}
	case typeDoctype:
		n.Type = html.DoctypeNode
	default:
		return fmt.Errorf("%w: node %d: unknown type %d", ErrMalformed, i, typ)
	}
	return nil
}

// appendChild links c as the last child of p, as html.Node.AppendChild
// does, without its checks: c is new.
func appendChild(p, c *html.Node) {
	c.Parent = p
	if last := p.LastChild; last != nil {
		last.NextSibling = c
		c.PrevSibling = last
	} else {
		p.FirstChild = c
	}
	p.LastChild = c
}
