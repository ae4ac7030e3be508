package native

import (
	"bytes"
	"context"
	"slices"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Microdata from the token stream
//
// Microdata is a nesting of itemscope and itemprop elements: a property
// belongs to the nearest itemscope above it, and its value is an attribute
// of the element (content, href, src, datetime, ...) or the element's
// text. So the tree is needed only for which element is open above which,
// and where each one ends; mdWalker follows that with a stack of open
// elements, kept as x/net/html's tree builder keeps it: the end tags a
// start tag implies, the scopes an end tag looks in, the formatting
// elements it reopens, tables, <select> and SVG or MathML content. It
// gives up, with errNeedsTree, on what it does not model: content the
// tree builder fosters out of a table, the adoption agency's moves (a
// misnested formatting element with a block inside), <template>,
// <frameset>, breakouts from SVG or MathML, a table that may close a <p>
// (that depends on the doctype's quirks mode), itemref, NUL bytes, an
// <html> or <body> tag that adds item attributes to an element already
// open, items nested deeper than MaxMicrodataDepth, an answer cut by
// MaxStructuredItems, and more than maxStreamCollectors properties (or
// more than MaxResultBytes of text) collected at once. Structured then
// parses. It answers JSON-LD and OpenGraph on the same pass.
// TestStructuredStreamMatchesTree (the corpus),
// TestStructuredStreamRandomPages and FuzzStructuredStream hold it to the
// tree's answer.

// mdNode is an element with itemscope or itemprop.
type mdNode struct {
	scope    bool
	itemprop bool     // has the itemprop attribute, names or not
	names    []string // itemprop's names
	types    []string
	id       string
	props    []*mdNode // the item's properties, in document order
	value    string    // the value, once the element has ended
}

// mdElem is an element on the stack of open elements.
type mdElem struct {
	id       int
	a        atom.Atom
	name     string // the tag name as the tokenizer wrote it
	ns       string // "", "svg" or "math"
	special  bool   // isSpecialElement
	boundary bool   // ends the default scope
	// integration is set for SVG and MathML elements whose content is
	// HTML.
	integration bool
	raw         bool // an HTML element whose content the tokenizer reads raw
	hasChild    bool
	ldjson      bool // a <script type="application/ld+json">
	node        *mdNode
	// text collects the element's text while its value may be its text.
	text *textCollector
}

// mdFormatting is an entry in the list of active formatting elements: an
// open or reopenable formatting element, or a marker (id 0).
type mdFormatting struct {
	id    int
	a     atom.Atom
	name  string
	attrs []html.Attribute // sorted, as the tree builder sorts them
}

// mdWalker is one pass over a page's tokens.
type mdWalker struct {
	ctx context.Context
	s   *structured
	z   *mdTokens
	// collectorLimit bounds the bytes the open collectors hold in all.
	collectorLimit int

	stack  []mdElem
	afe    []mdFormatting
	nextID int
	formID int // the form element pointer; 0 when none

	inBody   bool // the body is open; else the head is being read
	headOpen bool
	sawTag   bool // a token that creates the html element has been read
	// htmlPrefix is set once the html element has a prefix attribute.
	htmlPrefix bool
	tables     int // open table elements

	nodes   int // items and properties met
	head    ogHead
	scripts []string
	script  []byte
	top     []*mdNode

	name      []byte    // the current tag's name
	raw       []rawAttr // the current start tag's attributes, when read
	selfClose bool      // the current start tag ends in "/>"
	// textBuf is the current text token once textRead is set.
	textBuf   []byte
	textRead  bool
	afterHead bool // </head> was read before the body opened

	// coll holds the stack indexes of the elements that collect their
	// text, and hidden those of the elements whose text is not rendered
	// (script, style, noscript, template); collBytes is the text the
	// collectors hold in all.
	coll      []int
	hidden    []int
	collBytes int

	// watch, when set, is an XPath question the walk answers instead of
	// microdata (xpath_stream.go): it is told of every element the walk
	// opens and closes and of the text placed in them, and no element is
	// an item. tokens counts the tokens read, for its step bound.
	watch  *xpathWatch
	tokens int
}

type rawAttr struct{ key, val []byte }

// streamMicrodata answers json-ld, microdata and opengraph, those of want,
// from doc's token stream in one pass, or fails with errNeedsTree.
func (c *CSS) streamMicrodata(ctx context.Context, src string, s *structured, want []string, flatten bool) (map[string]any, error) {
	if strings.IndexByte(src, 0) >= 0 {
		return nil, errNeedsTree
	}
	w := &mdWalker{ctx: ctx, s: s, z: newMDTokens(src),
		collectorLimit: c.limits.MaxResultBytes}
	if err := w.run(); err != nil {
		return nil, err
	}
	data, err := answerSyntaxes(want, func(syntax string) (items, jsonLDErrs []any, err error) {
		switch syntax {
		case SyntaxJSONLD:
			return s.jsonLDBlocks(w.scripts, flatten)
		case SyntaxMicrodata:
			items, err = w.items()
		case SyntaxOpenGraph:
			items, err = s.openGraphOf([]ogHead{w.head})
		}
		return items, nil, err
	})
	if err != nil {
		// A cut answer is the tree's to give: where it is cut depends on
		// the order the tree is walked in.
		return nil, errNeedsTree
	}
	return data, nil
}

// items answers the top-level items, counted as the tree's walk counts
// them.
func (w *mdWalker) items() ([]any, error) {
	out := make([]any, 0, len(w.top))
	for _, n := range w.top {
		it, err := w.item(n, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

func (w *mdWalker) item(n *mdNode, depth int) (map[string]any, error) {
	if !w.s.count(1) {
		return nil, errStructuredFull
	}
	it := map[string]any{}
	if len(n.types) == 1 {
		it["type"] = n.types[0]
	} else if len(n.types) > 1 {
		it["type"] = stringsAny(n.types)
	}
	if len(n.types) > 0 && n.id != "" {
		it["id"] = n.id
	}
	props := map[string][]any{}
	var order []string
	for _, p := range n.props {
		var v any = p.value
		if p.scope {
			if depth+1 > MaxMicrodataDepth {
				return nil, errNeedsTree
			}
			var err error
			if v, err = w.item(p, depth+1); err != nil {
				return nil, err
			}
		}
		for _, name := range p.names {
			if !w.s.count(1) {
				return nil, errStructuredFull
			}
			if _, ok := props[name]; !ok {
				order = append(order, name)
			}
			props[name] = append(props[name], v)
		}
	}
	if len(order) == 0 {
		it["value"] = n.value
		return it, nil
	}
	it["properties"] = itemProperties(order, props)
	return it, nil
}

// run reads every token.
func (w *mdWalker) run() error {
	for tokens := 1; ; tokens++ {
		z := w.z
		w.tokens = tokens
		if tokens%ctxCheckTokens == 0 {
			if err := w.ctx.Err(); err != nil {
				return err
			}
		}
		// The parser allows CDATA sections only in foreign content.
		z.AllowCDATA(len(w.stack) > 0 && w.stack[len(w.stack)-1].ns != "")
		var err error
		tt := z.Next()
		if w.watch != nil && w.watch.afterBody {
			if err := w.watch.afterBodyToken(w, tt); err != nil {
				return err
			}
		}
		switch tt {
		case html.ErrorToken:
			if w.watch != nil && !w.inBody {
				// The tree builder makes html, head and body whatever
				// the page holds, which a watch may count.
				w.openBody()
			}
			w.popTo(0)
			return nil
		case html.TextToken:
			w.textRead = false
			err = w.textToken()
		case html.StartTagToken, html.SelfClosingTagToken:
			err = w.startTag(tt == html.SelfClosingTagToken)
		case html.EndTagToken:
			err = w.endTag()
		case html.CommentToken:
			if n := len(w.stack); n > 0 {
				w.stack[n-1].hasChild = true
			}
			if w.watch != nil {
				w.watch.comment()
			}
		}
		if err != nil {
			return err
		}
	}
}

func (w *mdWalker) current() *mdElem {
	if len(w.stack) == 0 {
		return nil
	}
	return &w.stack[len(w.stack)-1]
}

// textToken places text as the tree builder does. It unescapes the text
// only when someone reads it, or to tell white space from the rest.
func (w *mdWalker) textToken() error {
	cur := w.current()
	if cur != nil && cur.raw {
		if !cur.ldjson && len(w.coll) == 0 && !w.watch.wantsText(cur) {
			return nil // nobody reads it, and no element opens inside
		}
		if cur.a == atom.Textarea && !cur.hasChild {
			w.textBuf = trimLeadingNewline(w.text())
			if len(w.textBuf) == 0 {
				return nil
			}
		}
		return w.addText()
	}
	if !w.inBody {
		if w.blank() {
			switch {
			case w.afterHead:
				// White space after the head goes into html.
				if t := w.stack[0].text; t != nil {
					t.pending = true
				}
			case w.headOpen:
				return w.addText()
			}
			return nil
		}
		w.openBody()
		cur = w.current()
	}
	if cur.ns != "" && !cur.integration {
		return w.addText()
	}
	if w.tables > 0 {
		switch w.tableMode() {
		case modeTable, modeTableBody, modeRow, modeColgroup:
			if !w.blank() || !tableContext(cur) {
				return errNeedsTree // fostered out of the table
			}
			return w.addText()
		}
	}
	if (cur.a == atom.Pre || cur.a == atom.Listing) && cur.ns == "" && !cur.hasChild {
		// The newline that opens a pre is dropped.
		w.textBuf = trimLeadingNewline(w.text())
		if len(w.textBuf) == 0 {
			return nil
		}
	}
	if err := w.reconstruct(); err != nil {
		return err
	}
	return w.addText()
}

// trimLeadingNewline drops the newline that opens a pre, listing or
// textarea, as the tree builder does: a carriage return, then a line
// feed, each if there (a character reference can make "\r" of the text
// after the tokenizer has made line feeds of "\r\n").
func trimLeadingNewline(b []byte) []byte {
	b = bytes.TrimPrefix(b, []byte("\r"))
	return bytes.TrimPrefix(b, []byte("\n"))
}

// text returns the current text token, unescaped, read once.
func (w *mdWalker) text() []byte {
	if !w.textRead {
		w.textRead, w.textBuf = true, w.z.Text()
	}
	return w.textBuf
}

// blank reports whether the current text token is white space only.
func (w *mdWalker) blank() bool {
	raw := w.z.Raw()
	if strings.IndexByte(raw, '&') >= 0 {
		return len(bytes.TrimLeft(w.text(), whitespace)) == 0 // a character reference may be a space, or not
	}
	return len(strings.TrimLeft(raw, whitespace)) == 0
}

const whitespace = " \t\r\n\f"

// addText adds text to the current element: to the script it is in, and
// to every collector that sees it.
func (w *mdWalker) addText() error {
	cur := w.current()
	if cur == nil {
		return nil
	}
	cur.hasChild = true
	if w.watch != nil {
		w.watch.text(cur, w)
	}
	if cur.ldjson {
		w.script = append(w.script, w.text()...)
	}
	if len(w.coll) == 0 {
		return nil
	}
	text := w.text()
	h := -1 // the innermost hidden element: no text below it is seen
	if n := len(w.hidden); n > 0 {
		h = w.hidden[n-1]
	}
	for k := len(w.coll) - 1; k >= 0 && w.coll[k] >= h; k-- {
		t := w.stack[w.coll[k]].text
		before := len(t.buf)
		t.write(string(text))
		w.collBytes += len(t.buf) - before
		if len(t.buf) > t.max || w.collBytes > w.collectorLimit {
			// The tree answers with its own bounds.
			return errNeedsTree
		}
	}
	return nil
}

// breakText owes a space to every collector that sees the element at i,
// the innermost, open or close.
func (w *mdWalker) breakText(i int) {
	if len(w.coll) == 0 || !breaks(w.stack[i].a) {
		return
	}
	h := -1
	if n := len(w.hidden); n > 0 {
		h = w.hidden[n-1]
	}
	for k := len(w.coll) - 1; k >= 0 && w.coll[k] >= h; k-- {
		if w.coll[k] < i {
			w.stack[w.coll[k]].text.pending = true
		}
	}
}

// dropText stops the collector of the element at i: its value is not its
// text.
func (w *mdWalker) dropText(i int) {
	e := &w.stack[i]
	if e.text == nil {
		return
	}
	w.collBytes -= len(e.text.buf)
	e.text = nil
	w.coll = slices.DeleteFunc(w.coll, func(j int) bool { return j == i })
}

// tagName returns the current tag's name, lower-cased, and its atom. It
// reads the name from the token's raw bytes, as the tokenizer delimits it
// (the page has no NUL, which the tokenizer would replace).
func (w *mdWalker) tagName(end bool) (string, atom.Atom) {
	raw := w.z.Raw()
	i := 1
	if end {
		i = 2
	}
	w.name = w.name[:0]
	for ; i < len(raw); i++ {
		c := raw[i]
		if isSpaceByte(c) || c == '/' || c == '>' {
			break
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		w.name = append(w.name, c)
	}
	if a := atom.Lookup(w.name); a != 0 {
		return a.String(), a
	}
	return string(w.name), 0
}

// mayHaveItem reports whether the current tag's raw bytes hold "item" in
// any case, as every microdata attribute's name does.
func (w *mdWalker) mayHaveItem() bool {
	raw := w.z.Raw()
	for i := 0; i+4 <= len(raw); i++ {
		if raw[i]|0x20 == 'i' && raw[i+1]|0x20 == 't' && raw[i+2]|0x20 == 'e' && raw[i+3]|0x20 == 'm' {
			return true
		}
	}
	return false
}

// readAttrs reads the current tag's attributes, when the walk may need
// them: those of a with, and those of any tag that may have a microdata
// attribute (TagAttr copies each one). It reports whether one is a
// microdata attribute, and fails on itemref, which the stream does not
// follow.
func (w *mdWalker) readAttrs(a atom.Atom) (item bool, err error) {
	w.raw = w.raw[:0]
	switch a {
	case atom.Meta, atom.Script, atom.Html, atom.Head, atom.Input, atom.Font:
	default:
		if w.watch != nil && !w.watch.wantsAttrs(w.name) || w.watch == nil && !w.mayHaveItem() {
			return false, nil
		}
	}
	if w.watch != nil {
		// The walk needs the attributes of these tags for itself, and
		// the watch those of the elements it asks about; no element is
		// an item.
		w.z.attributes(func(k, v []byte) { w.raw = append(w.raw, rawAttr{k, v}) })
		return false, nil
	}
	w.z.attributes(func(k, v []byte) {
		w.raw = append(w.raw, rawAttr{k, v})
		if len(k) >= 6 && string(k[:4]) == "item" {
			switch string(k) {
			case "itemref":
				err = errNeedsTree
			case "itemscope", "itemprop", "itemtype", "itemid":
				item = true
			}
		}
	})
	return item, err
}

// stringAttrs returns the current tag's attributes as strings.
func (w *mdWalker) stringAttrs() []html.Attribute {
	attrs := make([]html.Attribute, len(w.raw))
	for i, r := range w.raw {
		attrs[i] = html.Attribute{Key: string(r.key), Val: string(r.val)}
	}
	return attrs
}

func rawAttrOf(raw []rawAttr, name string) (string, bool) {
	for _, r := range raw {
		if string(r.key) == name {
			return string(r.val), true
		}
	}
	return "", false
}

func attrOf(attrs []html.Attribute, name string) string {
	for _, a := range attrs {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func hasAttrOf(attrs []html.Attribute, name string) bool {
	for _, a := range attrs {
		if a.Key == name {
			return true
		}
	}
	return false
}

// startTag places a start tag.
func (w *mdWalker) startTag(selfClosing bool) error {
	name, a := w.tagName(false)
	item, err := w.readAttrs(a)
	if err != nil {
		return err
	}
	w.selfClose = selfClosing
	if cur := w.current(); cur != nil && cur.ns != "" {
		return w.foreignStart(cur, name, a, item, selfClosing)
	}
	switch a {
	case atom.Template, atom.Frameset, atom.Image, atom.Plaintext, atom.Xmp:
		return errNeedsTree
	case atom.Html:
		if w.sawTag && (item || w.watch.mergesAttrs() && len(w.raw) > 0) {
			return errNeedsTree // its attributes join an open element
		}
		// A later <html> tag adds the attributes the element lacks.
		if p, ok := rawAttrOf(w.raw, "prefix"); ok && !w.htmlPrefix {
			w.head.htmlPrefix, w.htmlPrefix = p, true
		}
		if !w.sawTag {
			w.sawTag = true
			return w.push(a, "html", "", w.attrsIf(item), item)
		}
		return nil
	}
	w.ensureHTML()
	if !w.inBody {
		switch a {
		case atom.Head:
			if !w.headOpen {
				w.headOpen = true
				w.head.headPrefix, _ = rawAttrOf(w.raw, "prefix")
				return w.push(a, "head", "", w.attrsIf(item), item)
			}
			return nil
		case atom.Meta:
			w.openHead()
			p, ok1 := rawAttrOf(w.raw, "property")
			c, ok2 := rawAttrOf(w.raw, "content")
			w.head.metas = append(w.head.metas, ogMeta{property: p, content: c, ok: ok1 && ok2})
			return w.void(a, "meta", w.attrsIf(item), item)
		case atom.Base, atom.Basefont, atom.Bgsound, atom.Link:
			w.openHead()
			return w.void(a, a.String(), w.attrsIf(item), item)
		case atom.Title, atom.Style, atom.Script, atom.Noframes, atom.Noscript:
			w.openHead()
			return w.rawElement(a, item)
		case atom.Body:
			return w.openBodyTag(item)
		}
		w.openBody()
	}
	if w.tables > 0 {
		return w.tableStart(w.tableMode(), a, name, item)
	}
	return w.bodyStart(a, name, item)
}

// attrsIf returns the tag's attributes when the walk or its watch needs
// them.
func (w *mdWalker) attrsIf(need bool) []html.Attribute {
	if !need && !w.watch.wantsAttrs(w.name) {
		return nil
	}
	return w.stringAttrs()
}

// ensureHTML opens the html element that any content implies.
func (w *mdWalker) ensureHTML() {
	if !w.sawTag {
		w.sawTag = true
		_ = w.push(atom.Html, "html", "", nil, false)
	}
}

// openHead opens the head element that head content implies.
func (w *mdWalker) openHead() {
	w.ensureHTML()
	if !w.headOpen {
		w.headOpen = true
		_ = w.push(atom.Head, "head", "", nil, false)
	}
}

// openBody ends the head and opens the body that other content implies.
func (w *mdWalker) openBody() {
	w.ensureHTML()
	if w.watch != nil && !w.headOpen {
		// The tree holds an empty head, which a watch may count.
		w.openHead()
	}
	w.popTo(1)
	w.inBody = true
	_ = w.push(atom.Body, "body", "", nil, false)
}

func (w *mdWalker) openBodyTag(item bool) error {
	if w.watch != nil && !w.headOpen {
		w.openHead()
	}
	w.popTo(1)
	w.inBody = true
	return w.push(atom.Body, "body", "", w.attrsIf(item), item)
}

// rawElement opens an element whose text the tokenizer reads raw, in
// the current element.
func (w *mdWalker) rawElement(a atom.Atom, item bool) error {
	attrs := w.attrsIf(item || a == atom.Script)
	if err := w.push(a, a.String(), "", attrs, item); err != nil {
		return err
	}
	cur := w.current()
	cur.raw = true
	if a == atom.Script {
		if strings.EqualFold(strings.TrimSpace(attrOf(attrs, "type")), "application/ld+json") {
			cur.ldjson, w.script = true, w.script[:0]
		}
	}
	return nil
}

// rawTextEnd returns the offset in s of the end tag that ends raw text
// in element name, as x/net/html's readRawEndTag finds it ("</" name, in
// any ASCII case, then white space, "/" or ">"), or len(s).
func rawTextEnd(s, name string) int {
	for i := 0; ; {
		j := strings.Index(s[i:], "</")
		if j < 0 {
			return len(s)
		}
		i += j
		k := i + 2
		if k+len(name) < len(s) && asciiFoldEqual(s[k:k+len(name)], name) {
			switch s[k+len(name)] {
			case ' ', '\n', '\r', '\t', '\f', '/', '>':
				return i
			}
		}
		i += 2
	}
}

// asciiFoldEqual reports whether s equals the lowercase ASCII lower,
// ignoring the case of ASCII letters only.
func asciiFoldEqual(s, lower string) bool {
	for i := 0; i < len(lower); i++ {
		if c := s[i]; c != lower[i] && c+('a'-'A') != lower[i] {
			return false
		}
	}
	return true
}

// bodyStart places a start tag in the body, as inBodyIM does.
func (w *mdWalker) bodyStart(a atom.Atom, name string, item bool) error {
	switch a {
	case atom.Html:
		return nil
	case atom.Body:
		if item || w.watch.mergesAttrs() && len(w.raw) > 0 {
			return errNeedsTree // its attributes join the body
		}
		return nil
	case atom.Head, atom.Caption, atom.Col, atom.Colgroup, atom.Frame,
		atom.Tbody, atom.Td, atom.Tfoot, atom.Th, atom.Thead, atom.Tr:
		return nil // ignored outside a table
	case atom.Base, atom.Basefont, atom.Bgsound, atom.Link, atom.Meta:
		return w.void(a, name, w.attrsIf(item), item)
	case atom.Title, atom.Style, atom.Script, atom.Noframes, atom.Noscript,
		atom.Iframe, atom.Noembed:
		return w.rawElement(a, item)
	case atom.Textarea:
		return w.rawElement(a, item)
	case atom.Address, atom.Article, atom.Aside, atom.Blockquote, atom.Center,
		atom.Details, atom.Dialog, atom.Dir, atom.Div, atom.Dl, atom.Fieldset,
		atom.Figcaption, atom.Figure, atom.Footer, atom.Header, atom.Hgroup,
		atom.Main, atom.Menu, atom.Nav, atom.Ol, atom.P, atom.Search,
		atom.Section, atom.Summary, atom.Ul, atom.Pre, atom.Listing:
		w.popUntil(buttonScope, atom.P)
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		w.popUntil(buttonScope, atom.P)
		if cur := w.current(); heading(cur.a) && cur.ns == "" {
			w.popTo(len(w.stack) - 1)
		}
	case atom.Form:
		if w.formID != 0 {
			return nil // ignored: forms do not nest
		}
		w.popUntil(buttonScope, atom.P)
		if err := w.push(a, name, "", w.attrsIf(item), item); err != nil {
			return err
		}
		w.formID = w.current().id
		return nil
	case atom.Li, atom.Dd, atom.Dt:
		for i := len(w.stack) - 1; i >= 0; i-- {
			e := &w.stack[i]
			if e.ns == "" && (e.a == a || a != atom.Li && (e.a == atom.Dd || e.a == atom.Dt)) {
				w.popTo(i)
				break
			}
			if e.special && !(e.ns == "" && (e.a == atom.Address || e.a == atom.Div || e.a == atom.P)) {
				break
			}
		}
		w.popUntil(buttonScope, atom.P)
	case atom.Button:
		if w.inScope(defaultScope, atom.Button) >= 0 {
			w.impliedEndTags("")
			w.popUntil(defaultScope, atom.Button)
		}
		if err := w.reconstruct(); err != nil {
			return err
		}
	case atom.A:
		// An <a> still active closes as its end tag would, and leaves
		// the stack and the list (which the stream follows where no
		// element moves).
		for i := len(w.afe) - 1; i >= 0 && w.afe[i].id != 0; i-- {
			if w.afe[i].a == atom.A {
				id := w.afe[i].id
				if err := w.formattingEnd(atom.A, "a"); err != nil {
					return err
				}
				if w.open(id) {
					return errNeedsTree // it would leave the stack from below
				}
				w.afe = slices.DeleteFunc(w.afe, func(f mdFormatting) bool { return f.id == id })
				break
			}
		}
		if err := w.reconstruct(); err != nil {
			return err
		}
		return w.formatting(a, name, item)
	case atom.B, atom.Big, atom.Code, atom.Em, atom.Font, atom.I, atom.S,
		atom.Small, atom.Strike, atom.Strong, atom.Tt, atom.U:
		if err := w.reconstruct(); err != nil {
			return err
		}
		return w.formatting(a, name, item)
	case atom.Nobr:
		// A <nobr> in scope is closed as its end tag would close it.
		if err := w.reconstruct(); err != nil {
			return err
		}
		if w.inScope(defaultScope, atom.Nobr) >= 0 {
			if err := w.formattingEnd(atom.Nobr, "nobr"); err != nil {
				return err
			}
			if err := w.reconstruct(); err != nil {
				return err
			}
		}
		return w.formatting(a, name, item)
	case atom.Applet, atom.Marquee, atom.Object:
		if err := w.reconstruct(); err != nil {
			return err
		}
		if err := w.push(a, name, "", w.attrsIf(item), item); err != nil {
			return err
		}
		w.afe = append(w.afe, mdFormatting{})
		return nil
	case atom.Select:
		if w.popUntil(defaultScope, atom.Select) {
			return nil // a select in a select closes it
		}
		if err := w.reconstruct(); err != nil {
			return err
		}
	case atom.Table:
		if w.inScope(buttonScope, atom.P) >= 0 {
			// Whether the table closes the p depends on the doctype's
			// quirks mode, which the stream does not follow.
			return errNeedsTree
		}
	case atom.Area, atom.Br, atom.Embed, atom.Img, atom.Keygen, atom.Wbr,
		atom.Input:
		if a == atom.Input {
			w.popUntil(defaultScope, atom.Select)
		}
		if err := w.reconstruct(); err != nil {
			return err
		}
		return w.void(a, name, w.attrsIf(item), item)
	case atom.Param, atom.Source, atom.Track:
		return w.void(a, name, w.attrsIf(item), item)
	case atom.Hr:
		if w.inScope(buttonScope, atom.P) >= 0 {
			w.impliedEndTags("p")
			w.popUntil(defaultScope, atom.P)
		}
		if w.inScope(defaultScope, atom.Select) >= 0 {
			w.impliedEndTags("")
		}
		return w.void(a, name, w.attrsIf(item), item)
	case atom.Option, atom.Optgroup:
		if w.inScope(defaultScope, atom.Select) >= 0 {
			if a == atom.Option {
				w.impliedEndTags("optgroup")
			} else {
				w.impliedEndTags("")
			}
		} else if cur := w.current(); cur.a == atom.Option && cur.ns == "" {
			w.popTo(len(w.stack) - 1)
		}
		if err := w.reconstruct(); err != nil {
			return err
		}
	case atom.Rb, atom.Rtc:
		if w.inScope(defaultScope, atom.Ruby) >= 0 {
			w.impliedEndTags("")
		}
	case atom.Rp, atom.Rt:
		if w.inScope(defaultScope, atom.Ruby) >= 0 {
			w.impliedEndTags("rtc")
		}
	case atom.Svg, atom.Math:
		if item {
			return errNeedsTree
		}
		if err := w.reconstruct(); err != nil {
			return err
		}
		if err := w.push(a, name, name, nil, false); err != nil {
			return err
		}
		if w.selfClose {
			w.popTo(len(w.stack) - 1)
		}
		return nil
	default:
		if err := w.reconstruct(); err != nil {
			return err
		}
	}
	return w.push(a, name, "", w.attrsIf(item), item)
}

// foreignStart places a start tag in SVG or MathML content.
func (w *mdWalker) foreignStart(cur *mdElem, name string, a atom.Atom, item, selfClosing bool) error {
	if cur.integration || item {
		return errNeedsTree
	}
	safe, _ := foreignSafe(name)
	if !safe {
		return errNeedsTree
	}
	if a == atom.Font {
		for _, r := range w.raw {
			switch string(r.key) {
			case "color", "face", "size":
				return errNeedsTree
			}
		}
	}
	// The parser keeps the tokenizer out of raw text in foreign content.
	w.z.NextIsNotRawText()
	if err := w.push(a, name, cur.ns, nil, false); err != nil {
		return err
	}
	if selfClosing {
		w.popTo(len(w.stack) - 1)
	}
	return nil
}

// formatting opens a formatting element and enters it in the list of
// active formatting elements.
func (w *mdWalker) formatting(a atom.Atom, name string, item bool) error {
	same := 0
	for i := len(w.afe) - 1; i >= 0 && w.afe[i].id != 0; i-- {
		if w.afe[i].a == a {
			same++
		}
	}
	if same >= 3 {
		return errNeedsTree // the Noah's Ark clause may drop one
	}
	var attrs []html.Attribute
	if item || w.watch.wantsAttrs(w.name) {
		// The tree builder sorts a formatting element's attributes, which
		// decides among duplicates; its clones have them too.
		attrs = w.stringAttrs()
		slices.SortFunc(attrs, func(x, y html.Attribute) int {
			if c := strings.Compare(x.Key, y.Key); c != 0 {
				return c
			}
			return strings.Compare(x.Val, y.Val)
		})
	}
	if err := w.push(a, name, "", attrs, item); err != nil {
		return err
	}
	w.afe = append(w.afe, mdFormatting{id: w.current().id, a: a, name: name, attrs: attrs})
	return nil
}

// reconstruct reopens the formatting elements that were closed
// implicitly but are still active, as clones.
func (w *mdWalker) reconstruct() error {
	n := len(w.afe)
	if n == 0 || w.afe[n-1].id == 0 || w.open(w.afe[n-1].id) {
		return nil
	}
	i := n - 1
	for i > 0 && w.afe[i-1].id != 0 && !w.open(w.afe[i-1].id) {
		i--
	}
	for ; i < n; i++ {
		f := &w.afe[i]
		item := f.attrs != nil && w.watch == nil // a watch reads no items
		if err := w.push(f.a, f.name, "", f.attrs, item); err != nil {
			return err
		}
		f.id = w.current().id
	}
	return nil
}

// open reports whether the element id is open. The stack only grows and
// shrinks at its top, so ids increase up the stack: a binary search finds
// it, however deep.
func (w *mdWalker) open(id int) bool {
	_, found := slices.BinarySearchFunc(w.stack, id, func(e mdElem, id int) int { return e.id - id })
	return found
}

// push opens an element in the current one.
func (w *mdWalker) push(a atom.Atom, name, ns string, attrs []html.Attribute, item bool) error {
	if cur := w.current(); cur != nil {
		cur.hasChild = true
	}
	w.nextID++
	e := mdElem{id: w.nextID, a: a, name: name, ns: ns}
	switch ns {
	case "":
		e.special = specialHTML(a)
		switch a {
		case atom.Applet, atom.Caption, atom.Html, atom.Table, atom.Td, atom.Th,
			atom.Marquee, atom.Object, atom.Template, atom.Select:
			e.boundary = true
		}
	case "math":
		switch name {
		case "annotation-xml":
			return errNeedsTree
		case "mi", "mo", "mn", "ms", "mtext":
			e.special, e.boundary, e.integration = true, true, true
		}
	case "svg":
		switch name {
		case "foreignobject", "desc", "title":
			e.special, e.boundary, e.integration = true, true, true
		}
	}
	if item {
		if err := w.itemElement(&e, attrs); err != nil {
			return err
		}
	}
	w.stack = append(w.stack, e)
	if len(w.stack) > maxTreeDepth {
		return errNeedsTree // the tree builder refuses the page: it says so
	}
	i := len(w.stack) - 1
	if w.watch != nil {
		// The watch may make the element collect its text.
		if err := w.watch.pushed(w, &w.stack[i], attrs); err != nil {
			return err
		}
		e.text = w.stack[i].text
	}
	if hidden(a) {
		w.hidden = append(w.hidden, i)
	}
	if a == atom.Table && ns == "" {
		w.tables++
	}
	if e.text != nil {
		if len(w.coll) >= maxStreamCollectors {
			return errNeedsTree
		}
		w.coll = append(w.coll, i)
	}
	w.breakText(i)
	return nil
}

// maxTreeDepth is the deepest stack of open elements x/net/html's parser
// builds; past it Parse fails.
const maxTreeDepth = 512

// maxStreamCollectors bounds the properties whose text the stream
// collects at once: each text token is written to each of them.
const maxStreamCollectors = 64

// itemElement makes e, whose attributes are attrs, an item or property.
func (w *mdWalker) itemElement(e *mdElem, attrs []html.Attribute) error {
	if e.ns != "" {
		return errNeedsTree
	}
	n := &mdNode{scope: hasAttrOf(attrs, "itemscope"), itemprop: hasAttrOf(attrs, "itemprop")}
	if !n.scope && !n.itemprop {
		return nil
	}
	if w.nodes++; w.nodes > MaxStructuredItems {
		// More elements than the answer may hold items: the answer will
		// be cut, which is the tree's to do; and the walk keeps no more.
		return errNeedsTree
	}
	e.node = n
	n.names = strings.Fields(attrOf(attrs, "itemprop"))
	var owner *mdNode
	for i := len(w.stack) - 1; i >= 0; i-- {
		if o := w.stack[i].node; o != nil && o.scope {
			owner = o
			if len(n.names) > 0 && n.itemprop {
				w.dropText(i) // the item has properties: no value of its own
			}
			break
		}
	}
	if n.itemprop && owner != nil {
		owner.props = append(owner.props, n)
	} else if !n.scope {
		e.node = nil // a property of no item
		return nil
	} else {
		w.top = append(w.top, n)
	}
	if n.scope {
		n.types = strings.Fields(attrOf(attrs, "itemtype"))
		n.id = strings.TrimSpace(attrOf(attrs, "itemid"))
	}
	if v, ok := w.s.attrValue(e.a, func(name string) string { return attrOf(attrs, name) }); ok {
		n.value = v
		return nil
	}
	e.text = &textCollector{max: MaxJSONLDBytes}
	return nil
}

// popTo closes the elements from the i-th up.
func (w *mdWalker) popTo(i int) {
	for len(w.stack) > i {
		last := len(w.stack) - 1
		w.breakText(last)
		e := &w.stack[last]
		if w.watch != nil {
			w.watch.popped(w, e)
		}
		if e.ldjson {
			w.scripts = append(w.scripts, strings.TrimSpace(string(w.script)))
		}
		if e.text != nil {
			if e.node != nil {
				e.node.value = string(e.text.buf)
			}
			w.collBytes -= len(e.text.buf)
			w.coll = w.coll[:len(w.coll)-1]
		}
		if n := len(w.hidden); n > 0 && w.hidden[n-1] == last {
			w.hidden = w.hidden[:n-1]
		}
		if e.a == atom.Table && e.ns == "" {
			w.tables--
		}
		w.stack = w.stack[:last]
	}
}

// void opens and closes an element that has no content.
func (w *mdWalker) void(a atom.Atom, name string, attrs []html.Attribute, item bool) error {
	if err := w.push(a, name, "", attrs, item); err != nil {
		return err
	}
	w.popTo(len(w.stack) - 1)
	return nil
}

// The scopes of inScope.
const (
	defaultScope = iota
	buttonScope
	listItemScope
	tableScope
)

// inScope returns the index of the innermost open HTML element of type a
// in scope, or -1.
func (w *mdWalker) inScope(scope int, as ...atom.Atom) int {
	for i := len(w.stack) - 1; i >= 0; i-- {
		e := &w.stack[i]
		if scope == tableScope {
			if e.ns == "" && slices.Contains(as, e.a) {
				return i
			}
			if e.ns == "" && (e.a == atom.Html || e.a == atom.Table || e.a == atom.Template) {
				return -1
			}
			continue
		}
		if e.ns == "" {
			if slices.Contains(as, e.a) {
				return i
			}
			if scope == buttonScope && e.a == atom.Button ||
				scope == listItemScope && (e.a == atom.Ol || e.a == atom.Ul) {
				return -1
			}
		}
		if e.boundary {
			return -1
		}
	}
	return -1
}

func (w *mdWalker) popUntil(scope int, as ...atom.Atom) bool {
	i := w.inScope(scope, as...)
	if i < 0 {
		return false
	}
	w.popTo(i)
	return true
}

// impliedEndTags closes the elements whose end tags are implied, but for
// except.
func (w *mdWalker) impliedEndTags(except string) {
	i := len(w.stack) - 1
	for ; i >= 0; i-- {
		e := &w.stack[i]
		switch e.a {
		case atom.Dd, atom.Dt, atom.Li, atom.Optgroup, atom.Option, atom.P,
			atom.Rb, atom.Rp, atom.Rt, atom.Rtc:
			if e.name != except {
				continue
			}
		}
		break
	}
	w.popTo(i + 1)
}

// endTag places an end tag.
func (w *mdWalker) endTag() error {
	name, a := w.tagName(true)
	cur := w.current()
	if cur != nil && cur.raw {
		// The tokenizer ends raw text only at its own end tag.
		w.popTo(len(w.stack) - 1)
		return nil
	}
	if cur != nil && cur.ns != "" {
		for i := len(w.stack) - 1; i >= 0; i-- {
			if w.stack[i].name == name {
				w.popTo(i)
				return nil
			}
			if i > 0 && w.stack[i-1].ns == "" {
				break
			}
		}
	}
	if !w.inBody {
		switch a {
		case atom.Body, atom.Html, atom.Br:
			w.openBody()
		case atom.Template:
			return errNeedsTree
		case atom.Head:
			w.openHead()
			w.afterHead = true
			return nil
		default:
			return nil // ignored
		}
	}
	if w.tables > 0 {
		done, err := w.tableEnd(w.tableMode(), a)
		if done || err != nil {
			return err
		}
	}
	switch a {
	case atom.Body, atom.Html:
		// After the body, content goes on into the open elements.
		if w.watch != nil {
			w.watch.afterBody = true
		}
	case atom.Address, atom.Article, atom.Aside, atom.Blockquote, atom.Button,
		atom.Center, atom.Details, atom.Dialog, atom.Dir, atom.Div, atom.Dl,
		atom.Fieldset, atom.Figcaption, atom.Figure, atom.Footer, atom.Header,
		atom.Hgroup, atom.Listing, atom.Main, atom.Menu, atom.Nav, atom.Ol,
		atom.Pre, atom.Search, atom.Section, atom.Select, atom.Summary, atom.Ul:
		if w.inScope(defaultScope, a) >= 0 {
			w.impliedEndTags("")
			w.popUntil(defaultScope, a)
		}
	case atom.Form:
		node := w.formID
		w.formID = 0
		i := w.inScope(defaultScope, atom.Form)
		if node == 0 || i < 0 || w.stack[i].id != node {
			return nil
		}
		w.impliedEndTags("")
		if w.current().id != node {
			return errNeedsTree // the form leaves the stack from below
		}
		w.popTo(len(w.stack) - 1)
	case atom.P:
		if w.inScope(buttonScope, atom.P) < 0 {
			if w.current().ns != "" {
				// The <p> it implies breaks out of SVG or MathML.
				return errNeedsTree
			}
			if err := w.push(atom.P, "p", "", nil, false); err != nil {
				return err
			}
		}
		w.popUntil(buttonScope, atom.P)
	case atom.Li:
		w.popUntil(listItemScope, atom.Li)
	case atom.Dd, atom.Dt:
		w.popUntil(defaultScope, a)
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		w.popUntil(defaultScope, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6)
	case atom.A, atom.B, atom.Big, atom.Code, atom.Em, atom.Font, atom.I,
		atom.Nobr, atom.S, atom.Small, atom.Strike, atom.Strong, atom.Tt, atom.U:
		if err := w.formattingEnd(a, name); err != nil {
			return err
		}
	case atom.Applet, atom.Marquee, atom.Object:
		if w.popUntil(defaultScope, a) {
			for len(w.afe) > 0 {
				last := w.afe[len(w.afe)-1]
				w.afe = w.afe[:len(w.afe)-1]
				if last.id == 0 {
					break
				}
			}
		}
	case atom.Br:
		if w.current().ns != "" {
			// The <br> it is read as breaks out of SVG or MathML.
			return errNeedsTree
		}
		if err := w.reconstruct(); err != nil {
			return err
		}
		if err := w.void(atom.Br, "br", nil, false); err != nil {
			return err
		}
	case atom.Template:
		return errNeedsTree
	default:
		w.endTagOther(a, name)
	}
	return nil
}

// formattingEnd closes a formatting element where the adoption agency
// would only pop it, and gives up where it would move elements.
func (w *mdWalker) formattingEnd(a atom.Atom, name string) error {
	cur := w.current()
	afeIndex := func(id int) int {
		for i := len(w.afe) - 1; i >= 0; i-- {
			if w.afe[i].id == id {
				return i
			}
		}
		return -1
	}
	if cur.ns == "" && cur.name == name && afeIndex(cur.id) < 0 {
		w.popTo(len(w.stack) - 1)
		return nil
	}
	f := -1
	for i := len(w.afe) - 1; i >= 0 && w.afe[i].id != 0; i-- {
		if w.afe[i].a == a {
			f = i
			break
		}
	}
	if f < 0 {
		w.endTagOther(a, name)
		return nil
	}
	at, found := slices.BinarySearchFunc(w.stack, w.afe[f].id, func(e mdElem, id int) int { return e.id - id })
	if !found {
		w.afe = slices.Delete(w.afe, f, f+1)
		return nil
	}
	if w.inScope(defaultScope, a) < 0 {
		return nil
	}
	for i := at + 1; i < len(w.stack); i++ {
		if w.stack[i].special {
			return errNeedsTree // a furthest block: elements move
		}
	}
	w.popTo(at)
	w.afe = slices.Delete(w.afe, f, f+1)
	return nil
}

// endTagOther closes the innermost open element named name, unless a
// special element is open inside it.
func (w *mdWalker) endTagOther(a atom.Atom, name string) {
	for i := len(w.stack) - 1; i >= 0; i-- {
		e := &w.stack[i]
		if e.ns == "" && e.a == a && (a != 0 || e.name == name) {
			w.popTo(i)
			return
		}
		if e.special {
			return
		}
	}
}

// specialHTML reports HTML's special elements (isSpecialElement).
func specialHTML(a atom.Atom) bool {
	switch a {
	case atom.Address, atom.Applet, atom.Area, atom.Article, atom.Aside,
		atom.Base, atom.Basefont, atom.Bgsound, atom.Blockquote, atom.Body,
		atom.Br, atom.Button, atom.Caption, atom.Center, atom.Col,
		atom.Colgroup, atom.Dd, atom.Details, atom.Dir, atom.Div, atom.Dl,
		atom.Dt, atom.Embed, atom.Fieldset, atom.Figcaption, atom.Figure,
		atom.Footer, atom.Form, atom.Frame, atom.Frameset, atom.H1, atom.H2,
		atom.H3, atom.H4, atom.H5, atom.H6, atom.Head, atom.Header,
		atom.Hgroup, atom.Hr, atom.Html, atom.Iframe, atom.Img, atom.Input,
		atom.Keygen, atom.Li, atom.Link, atom.Listing, atom.Main,
		atom.Marquee, atom.Menu, atom.Meta, atom.Nav, atom.Noembed,
		atom.Noframes, atom.Noscript, atom.Object, atom.Ol, atom.P,
		atom.Param, atom.Plaintext, atom.Pre, atom.Script, atom.Section,
		atom.Select, atom.Source, atom.Style, atom.Summary, atom.Table,
		atom.Tbody, atom.Td, atom.Template, atom.Textarea, atom.Tfoot,
		atom.Th, atom.Thead, atom.Title, atom.Tr, atom.Track, atom.Ul,
		atom.Wbr, atom.Xmp:
		return true
	}
	return false
}

// The insertion modes of tables, as x/net/html's resetInsertionMode finds
// them from the stack of open elements.
const (
	modeBody = iota
	modeTable
	modeTableBody
	modeRow
	modeCell
	modeCaption
	modeColgroup
)

// tableMode returns the insertion mode while a table is open.
func (w *mdWalker) tableMode() int {
	for i := len(w.stack) - 1; i >= 0; i-- {
		e := &w.stack[i]
		if e.ns != "" {
			continue
		}
		switch e.a {
		case atom.Td, atom.Th:
			return modeCell
		case atom.Tr:
			return modeRow
		case atom.Tbody, atom.Thead, atom.Tfoot:
			return modeTableBody
		case atom.Caption:
			return modeCaption
		case atom.Colgroup:
			return modeColgroup
		case atom.Table:
			return modeTable
		case atom.Body, atom.Html:
			return modeBody
		}
	}
	return modeBody
}

// tableContext reports the elements whose text children stay in the
// table: white space only.
func tableContext(e *mdElem) bool {
	switch e.a {
	case atom.Table, atom.Tbody, atom.Tfoot, atom.Thead, atom.Tr:
		return e.ns == ""
	}
	return false
}

// clearTo pops the elements above the innermost html, template or one of
// as.
func (w *mdWalker) clearTo(as ...atom.Atom) {
	for i := len(w.stack) - 1; i >= 0; i-- {
		e := &w.stack[i]
		if e.a == atom.Html || e.a == atom.Template || slices.Contains(as, e.a) {
			w.popTo(i + 1)
			return
		}
	}
}

// clearFormatting clears the list of active formatting elements to the
// last marker.
func (w *mdWalker) clearFormatting() {
	for len(w.afe) > 0 {
		last := w.afe[len(w.afe)-1]
		w.afe = w.afe[:len(w.afe)-1]
		if last.id == 0 {
			return
		}
	}
}

// tableStart places a start tag while a table is open, in mode; it gives
// up on whatever the tree builder would foster out of the table.
func (w *mdWalker) tableStart(mode int, a atom.Atom, name string, item bool) error {
	for {
		switch mode {
		case modeCell:
			switch a {
			case atom.Caption, atom.Col, atom.Colgroup, atom.Tbody, atom.Td,
				atom.Tfoot, atom.Th, atom.Thead, atom.Tr:
				if !w.popUntil(tableScope, atom.Td, atom.Th) {
					return nil
				}
				w.clearFormatting()
				mode = modeRow
				continue
			}
			return w.bodyStart(a, name, item)
		case modeCaption:
			switch a {
			case atom.Caption, atom.Col, atom.Colgroup, atom.Tbody, atom.Td,
				atom.Tfoot, atom.Thead, atom.Tr:
				// x/net/html leaves <th> out of this list, where the
				// standard has it: a <th> in a caption goes by the body's
				// rules, which ignore it.
				if !w.popUntil(tableScope, atom.Caption) {
					return nil
				}
				w.clearFormatting()
				mode = modeTable
				continue
			}
			return w.bodyStart(a, name, item)
		case modeColgroup:
			switch a {
			case atom.Html:
				return w.bodyStart(a, name, item)
			case atom.Col:
				return w.void(a, name, w.attrsIf(item), item)
			case atom.Template:
				return errNeedsTree
			}
			if cur := w.current(); cur.a != atom.Colgroup {
				return nil
			}
			w.popTo(len(w.stack) - 1)
			mode = modeTable
			continue
		case modeRow:
			switch a {
			case atom.Td, atom.Th:
				w.clearTo(atom.Tr)
				if err := w.push(a, name, "", w.attrsIf(item), item); err != nil {
					return err
				}
				w.afe = append(w.afe, mdFormatting{})
				return nil
			case atom.Caption, atom.Col, atom.Colgroup, atom.Tbody, atom.Tfoot,
				atom.Thead, atom.Tr:
				if w.inScope(tableScope, atom.Tr) < 0 {
					return nil
				}
				w.clearTo(atom.Tr)
				w.popTo(len(w.stack) - 1)
				mode = modeTableBody
				continue
			}
		case modeTableBody:
			switch a {
			case atom.Tr:
				w.clearTo(atom.Tbody, atom.Tfoot, atom.Thead)
				return w.push(a, name, "", w.attrsIf(item), item)
			case atom.Td, atom.Th:
				w.clearTo(atom.Tbody, atom.Tfoot, atom.Thead)
				if err := w.push(atom.Tr, "tr", "", nil, false); err != nil {
					return err
				}
				mode = modeRow
				continue
			case atom.Caption, atom.Col, atom.Colgroup, atom.Tbody, atom.Tfoot,
				atom.Thead:
				if !w.popUntil(tableScope, atom.Tbody, atom.Thead, atom.Tfoot) {
					return nil
				}
				mode = modeTable
				continue
			}
		}
		// The table's own rules (inTableIM).
		switch a {
		case atom.Caption:
			w.clearTo(atom.Table)
			w.afe = append(w.afe, mdFormatting{})
			return w.push(a, name, "", w.attrsIf(item), item)
		case atom.Colgroup:
			w.clearTo(atom.Table)
			return w.push(a, name, "", w.attrsIf(item), item)
		case atom.Col:
			w.clearTo(atom.Table)
			if err := w.push(atom.Colgroup, "colgroup", "", nil, false); err != nil {
				return err
			}
			mode = modeColgroup
			continue
		case atom.Tbody, atom.Tfoot, atom.Thead:
			w.clearTo(atom.Table)
			return w.push(a, name, "", w.attrsIf(item), item)
		case atom.Td, atom.Th, atom.Tr:
			w.clearTo(atom.Table)
			if err := w.push(atom.Tbody, "tbody", "", nil, false); err != nil {
				return err
			}
			mode = modeTableBody
			continue
		case atom.Style, atom.Script:
			return w.rawElement(a, item)
		case atom.Input:
			if t, _ := rawAttrOf(w.raw, "type"); strings.EqualFold(t, "hidden") && !item {
				return w.void(a, name, w.attrsIf(false), false)
			}
		case atom.Form:
			if item {
				return errNeedsTree
			}
			if w.formID != 0 {
				return nil
			}
			if err := w.push(a, name, "", w.attrsIf(false), false); err != nil {
				return err
			}
			w.formID = w.current().id
			w.popTo(len(w.stack) - 1)
			return nil
		}
		// Anything else is fostered out of the table, and a table in a
		// table closes it.
		return errNeedsTree
	}
}

// tableEnd places an end tag while a table is open, in mode, and reports
// whether it did; the rest are the body's.
func (w *mdWalker) tableEnd(mode int, a atom.Atom) (bool, error) {
	for {
		switch mode {
		case modeCell:
			switch a {
			case atom.Td, atom.Th:
				if w.popUntil(tableScope, a) {
					w.clearFormatting()
				}
				return true, nil
			case atom.Body, atom.Caption, atom.Col, atom.Colgroup, atom.Html:
				return true, nil
			case atom.Table, atom.Tbody, atom.Tfoot, atom.Thead, atom.Tr:
				if w.inScope(tableScope, a) < 0 {
					return true, nil
				}
				if w.popUntil(tableScope, atom.Td, atom.Th) {
					w.clearFormatting()
				}
				mode = modeRow
				continue
			}
			return false, nil
		case modeCaption:
			switch a {
			case atom.Caption:
				if w.popUntil(tableScope, atom.Caption) {
					w.clearFormatting()
				}
				return true, nil
			case atom.Table:
				if !w.popUntil(tableScope, atom.Caption) {
					return true, nil
				}
				w.clearFormatting()
				mode = modeTable
				continue
			case atom.Body, atom.Col, atom.Colgroup, atom.Html, atom.Tbody,
				atom.Td, atom.Tfoot, atom.Th, atom.Thead, atom.Tr:
				return true, nil
			}
			return false, nil
		case modeColgroup:
			switch a {
			case atom.Colgroup:
				if cur := w.current(); cur.a == atom.Colgroup {
					w.popTo(len(w.stack) - 1)
				}
				return true, nil
			case atom.Col:
				return true, nil
			case atom.Template:
				return true, errNeedsTree
			}
			if cur := w.current(); cur.a != atom.Colgroup {
				return true, nil
			}
			w.popTo(len(w.stack) - 1)
			mode = modeTable
			continue
		case modeRow:
			switch a {
			case atom.Tr, atom.Table, atom.Tbody, atom.Tfoot, atom.Thead:
				if a != atom.Tr && a != atom.Table && w.inScope(tableScope, a) < 0 ||
					w.inScope(tableScope, atom.Tr) < 0 {
					return true, nil
				}
				w.clearTo(atom.Tr)
				w.popTo(len(w.stack) - 1)
				if a == atom.Tr {
					return true, nil
				}
				mode = modeTableBody
				continue
			case atom.Body, atom.Caption, atom.Col, atom.Colgroup, atom.Html,
				atom.Td, atom.Th:
				return true, nil
			}
		case modeTableBody:
			switch a {
			case atom.Tbody, atom.Tfoot, atom.Thead:
				if w.inScope(tableScope, a) >= 0 {
					w.clearTo(atom.Tbody, atom.Tfoot, atom.Thead)
					w.popTo(len(w.stack) - 1)
				}
				return true, nil
			case atom.Table:
				if !w.popUntil(tableScope, atom.Tbody, atom.Thead, atom.Tfoot) {
					return true, nil
				}
				mode = modeTable
				continue
			case atom.Body, atom.Caption, atom.Col, atom.Colgroup, atom.Html,
				atom.Td, atom.Th, atom.Tr:
				return true, nil
			}
		case modeBody:
			return false, nil
		}
		// The table's own rules (inTableIM).
		switch a {
		case atom.Table:
			w.popUntil(tableScope, atom.Table)
			return true, nil
		case atom.Body, atom.Caption, atom.Col, atom.Colgroup, atom.Html,
			atom.Tbody, atom.Td, atom.Tfoot, atom.Th, atom.Thead, atom.Tr:
			return true, nil
		case atom.Template, atom.P, atom.Br:
			// </p> and </br> insert elements, fostered out of the table.
			return true, errNeedsTree
		}
		// The body's rules, which find nothing to close inside a table.
		return false, nil
	}
}
