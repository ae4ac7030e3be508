package native

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Structured data
//
// Structured answers what extruct (the Python library Scrapy users reach
// for) answers with extruct.extract(html, base_url=url, uniform=False),
// in the same shape, key by key, so that moving from extruct changes one
// call:
//
//	"json-ld"    every object of every <script type="application/ld+json">
//	             (a top-level array gives its elements), as parsed;
//	"microdata"  every top-level microdata item: {"type", "id",
//	             "properties": {name: value or [values]}} or {"value"}
//	             for an item without properties; nested items in place;
//	"opengraph"  [{"namespace": {prefix: uri}, "properties": [[p, v]...]}]
//	             from the <meta property content> of <head>;
//	"rdfa"       [{"@id", "@type": [...], predicate: [{"@id"} or
//	             {"@value", "@language"?, "@type"?}...]}...], one node
//	             per subject, as expanded JSON-LD (see structured_rdfa.go);
//	"microformat" every top-level microformat, mf2 and v1, as mf2py's
//	             "items" (see structured_microformats.go);
//
// and, beyond extruct:
//
//	"json-ld-errors"  [{"index", "error"}] for each block that is not
//	                  JSON, too large or too deep; the block is skipped
//	                  (extruct drops the whole page's JSON-LD instead);
//	"twitter"         [[name, content]...] of <meta name="twitter:...">;
//	"meta"            [{"name"|"property"|"http-equiv"|"itemprop", "content"}]
//	                  of every <meta> with content, in document order.
//
// Bounds, each published in ListExtractors: a JSON-LD block is at most
// MaxJSONLDBytes and MaxJSONLDDepth deep; at most MaxStructuredItems
// items in all (JSON-LD objects, microdata items and properties, meta
// pairs), past which the answer is cut and marked truncated; microdata
// items nest at most MaxMicrodataDepth deep (a deeper item answers its
// text) and an itemref cycle is followed once. The answer is held to
// MaxResultBytes as JSON.
const (
	MaxJSONLDBytes     = 1 << 20
	MaxJSONLDDepth     = 64
	MaxStructuredItems = 10_000
	MaxMicrodataDepth  = 16
)

// The syntaxes Structured knows, in the order of its answer.
const (
	SyntaxJSONLD    = "json-ld"
	SyntaxMicrodata = "microdata"
	SyntaxOpenGraph = "opengraph"
	SyntaxTwitter   = "twitter"
	SyntaxMeta      = "meta"
)

// Syntaxes lists what Structured can answer.
func Syntaxes() []string {
	return []string{SyntaxJSONLD, SyntaxMicrodata, SyntaxOpenGraph, SyntaxRDFa, SyntaxMicroformat, SyntaxTwitter, SyntaxMeta}
}

// StructuredSpec asks for a document's structured data.
type StructuredSpec struct {
	// Syntaxes to answer; all of Syntaxes() when empty.
	Syntaxes []string
	// FlattenGraph replaces each JSON-LD object that has an @graph array
	// by the graph's objects, each given the object's @context unless it
	// has its own. extruct keeps @graph as it is, which is the default.
	FlattenGraph bool
}

// StructuredAnswer is Structured's answer: Data maps each syntax to its
// items, in the JSON types of encoding/json (numbers as json.Number).
type StructuredAnswer struct {
	Data      map[string]any
	Truncated bool
}

// structured is one Structured call's state.
type structured struct {
	ctx     context.Context
	items   int // counted toward MaxStructuredItems
	full    bool
	visited int
	// urls resolves microdata's URL values against doc's base, which is
	// found only when one is met: looking for <base> costs a scan of the
	// page.
	urls    urlResolver
	doc     *Document
	hasBase bool
}

// errStructuredFull stops a walk once MaxStructuredItems is reached.
var errStructuredFull = errors.New("native: structured items limit reached")

// count charges n items and reports whether there was room.
func (s *structured) count(n int) bool {
	if s.items+n > MaxStructuredItems {
		s.full = true
		return false
	}
	s.items += n
	return true
}

func (s *structured) tick() error {
	if s.visited++; s.visited%ctxCheckNodes == 0 {
		return s.ctx.Err()
	}
	return nil
}

// Structured answers spec on doc from its parsed tree.
//
// Errors: *SpecError for an unknown syntax, ErrEmptyDocument,
// ErrUnparsable, ErrResultTooLarge, ErrClosed, or ctx.Err().
func (c *CSS) Structured(ctx context.Context, doc *Document, spec StructuredSpec) (StructuredAnswer, error) {
	if c.closed.Load() {
		return StructuredAnswer{}, ErrClosed
	}
	want := spec.Syntaxes
	if len(want) == 0 {
		want = Syntaxes()
	}
	for _, s := range want {
		if !slices.Contains(Syntaxes(), s) {
			return StructuredAnswer{}, &SpecError{Field: "syntaxes", Value: s, Err: fmt.Errorf("unknown syntax; known: %s", strings.Join(Syntaxes(), ", "))}
		}
	}
	if doc == nil {
		return StructuredAnswer{}, ErrEmptyDocument
	}
	if err := ctx.Err(); err != nil {
		return StructuredAnswer{}, err
	}
	s := &structured{ctx: ctx, doc: doc}
	if doc.streamable() && !slices.ContainsFunc(want, func(syntax string) bool { return !streamSyntax(syntax) }) {
		data, err := c.streamStructured(ctx, doc, s, want, spec.FlattenGraph)
		switch {
		case err == nil || errors.Is(err, errStructuredFull):
			c.cache.streamed.Add(1)
			return c.structuredAnswer(data, s)
		case !errors.Is(err, errNeedsTree):
			return StructuredAnswer{}, err
		}
		c.cache.gaveUp.Add(1)
		s = &structured{ctx: ctx, doc: doc}
	}
	root, err := doc.Root()
	if err != nil {
		return StructuredAnswer{}, err
	}
	sc, err := s.scan(root, slices.Contains(want, SyntaxMicrodata))
	if err != nil {
		return StructuredAnswer{}, err
	}
	data, err := answerSyntaxes(want, func(syntax string) (items, jsonLDErrs []any, err error) {
		switch syntax {
		case SyntaxJSONLD:
			return s.jsonLD(sc.scripts, spec.FlattenGraph)
		case SyntaxMicrodata:
			items, err = s.microdata(root, sc)
		case SyntaxOpenGraph:
			items, err = s.openGraph(sc.heads)
		case SyntaxRDFa:
			items, err = s.rdfa(root, doc.url)
		case SyntaxMicroformat:
			items, err = s.microformats(root)
		case SyntaxTwitter, SyntaxMeta:
			items, err = s.metas(sc.metas, syntax == SyntaxTwitter)
		}
		return items, nil, err
	})
	if err != nil && !errors.Is(err, errStructuredFull) {
		return StructuredAnswer{}, err
	}
	return c.structuredAnswer(data, s)
}

// answerSyntaxes answers each syntax of want with answer, in the order of
// Syntaxes, whether from the tree or the token stream: data holds each
// syntax's items and, under "json-ld-errors", JSON-LD's blocks that do
// not parse, if any. An answer cut at MaxStructuredItems
// (errStructuredFull) lets the syntaxes after it answer what is left, and
// is returned with the data at the end; any other error stops at once.
func answerSyntaxes(want []string, answer func(syntax string) (items, jsonLDErrs []any, err error)) (map[string]any, error) {
	data := make(map[string]any, len(want))
	var full error
	for _, syntax := range Syntaxes() {
		if !slices.Contains(want, syntax) {
			continue
		}
		items, errs, err := answer(syntax)
		switch {
		case errors.Is(err, errStructuredFull):
			full = err
		case err != nil:
			return nil, err
		}
		data[syntax] = items
		if len(errs) > 0 {
			data["json-ld-errors"] = errs
		}
	}
	return data, full
}

// structuredAnswer holds data to the result limit: it goes out as JSON,
// or as its Struct twin, of about the same size.
func (c *CSS) structuredAnswer(data map[string]any, s *structured) (StructuredAnswer, error) {
	if jsonSize(data) > c.limits.MaxResultBytes {
		return StructuredAnswer{}, c.tooLarge()
	}
	return StructuredAnswer{Data: data, Truncated: s.full}, nil
}

// structuredScan is what one walk of the tree finds for every syntax: the
// elements each reads, in document order.
type structuredScan struct {
	scripts []*html.Node // <script type="application/ld+json">
	heads   []*html.Node
	metas   []*html.Node
	// scopes are the elements with itemscope, and itemref is set when
	// some element has itemref, when microdata is asked for.
	scopes  []*html.Node
	itemref bool
}

// scan walks the tree once.
func (s *structured) scan(root *html.Node, microdata bool) (*structuredScan, error) {
	sc := &structuredScan{}
	for n := root; n != nil; n = nextIn(n, root) {
		if err := s.tick(); err != nil {
			return nil, err
		}
		if n.Type != html.ElementNode {
			continue
		}
		if microdata {
			for _, a := range n.Attr {
				switch {
				case a.Namespace != "":
				case a.Key == "itemscope":
					sc.scopes = append(sc.scopes, n)
				case a.Key == "itemref":
					sc.itemref = true
				}
			}
		}
		if n.Namespace != "" {
			continue
		}
		switch n.DataAtom {
		case atom.Script:
			if t, _ := attribute(n, "type"); strings.EqualFold(strings.TrimSpace(t), "application/ld+json") {
				sc.scripts = append(sc.scripts, n)
			}
		case atom.Head:
			sc.heads = append(sc.heads, n)
		case atom.Meta:
			sc.metas = append(sc.metas, n)
		}
	}
	return sc, nil
}

// jsonSize is the length of v written as JSON by encoding/json, or a
// little more: every byte a string may escape is counted as escaped.
func jsonSize(v any) int {
	switch v := v.(type) {
	case nil:
		return len("null")
	case bool:
		return len("false")
	case string:
		return jsonStringSize(v)
	case json.Number:
		return len(v)
	case float64:
		return 24
	case map[string]any:
		n := 2
		for k, x := range v {
			n += jsonStringSize(k) + 2 + jsonSize(x)
		}
		return n
	case []any:
		n := 2
		for _, x := range v {
			n += jsonSize(x) + 1
		}
		return n
	}
	return 0
}

func jsonStringSize(s string) int {
	n := len(s) + 2
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == '"', c == '\\', c == '<', c == '>', c == '&':
			n += 5
		}
	}
	return n
}

// jsonLD answers the JSON-LD blocks' objects and the errors of the blocks
// it skipped.
func (s *structured) jsonLD(scripts []*html.Node, flatten bool) (items, errs []any, err error) {
	blocks := make([]string, len(scripts))
	for i, n := range scripts {
		blocks[i] = rawContent(n)
	}
	return s.jsonLDBlocks(blocks, flatten)
}

// jsonLDBlocks answers the objects of the JSON-LD blocks, each a script's
// text, and the errors of the blocks it skipped.
func (s *structured) jsonLDBlocks(blocks []string, flatten bool) (items, errs []any, err error) {
	items, errs = []any{}, nil
	for index, block := range blocks {
		v, err := parseJSONLD(block)
		if err != nil {
			errs = append(errs, map[string]any{"index": json.Number(strconv.Itoa(index)), "error": err.Error()})
			continue
		}
		var got []any
		switch v := v.(type) {
		case []any:
			got = v
		case map[string]any:
			got = []any{v}
		}
		for _, it := range got {
			if empty(it) {
				continue
			}
			if g, ok := graph(it); ok && flatten {
				for _, gi := range g {
					if !s.count(1) {
						return items, errs, errStructuredFull
					}
					items = append(items, gi)
				}
				continue
			}
			if !s.count(1) {
				return items, errs, errStructuredFull
			}
			items = append(items, it)
		}
	}
	return items, errs, nil
}

// empty reports the values extruct drops: those Python finds false.
func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	case string:
		return v == ""
	case bool:
		return !v
	case json.Number:
		f, err := v.Float64()
		return err == nil && f == 0
	}
	return false
}

// graph returns the objects of it's @graph, each with it's @context.
func graph(it any) ([]any, bool) {
	m, ok := it.(map[string]any)
	if !ok {
		return nil, false
	}
	g, ok := m["@graph"].([]any)
	if !ok {
		return nil, false
	}
	out := make([]any, 0, len(g))
	for _, gi := range g {
		if o, ok := gi.(map[string]any); ok {
			if _, has := o["@context"]; !has && m["@context"] != nil {
				c := make(map[string]any, len(o)+1)
				for k, v := range o {
					c[k] = v
				}
				c["@context"] = m["@context"]
				o = c
			}
			out = append(out, o)
			continue
		}
		out = append(out, gi)
	}
	return out, true
}

// commentLine is a leading HTML or JavaScript comment line, which extruct
// strips from a block that does not parse.
var commentLine = regexp.MustCompile(`^\s*(//.*|<!--.*-->)`)

// parseJSONLD parses a block as extruct does: as JSON that may hold raw
// control characters in strings (Python's strict=False), and failing that
// without a leading comment line.
func parseJSONLD(src string) (any, error) {
	if len(src) > MaxJSONLDBytes {
		return nil, fmt.Errorf("block of %d bytes, over the limit of %d (MaxJSONLDBytes)", len(src), MaxJSONLDBytes)
	}
	if d := jsonDepth(src); d > MaxJSONLDDepth {
		return nil, fmt.Errorf("nested %d deep, over the limit of %d (MaxJSONLDDepth)", d, MaxJSONLDDepth)
	}
	v, err := decodeJSON(escapeControls(src))
	if err == nil {
		return v, nil
	}
	if loc := commentLine.FindStringIndex(src); loc != nil {
		if v, err2 := decodeJSON(escapeControls(src[:loc[0]] + src[loc[1]:])); err2 == nil {
			return v, nil
		}
	}
	return nil, err
}

func decodeJSON(src string) (any, error) {
	d := json.NewDecoder(strings.NewReader(src))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err == nil {
		return nil, errors.New("invalid JSON: data after the value")
	}
	return v, nil
}

// jsonDepth returns the deepest nesting of arrays and objects in src,
// outside strings.
func jsonDepth(src string) int {
	depth, most := 0, 0
	in, esc := false, false
	for i := 0; i < len(src); i++ {
		b := src[i]
		switch {
		case esc:
			esc = false
		case in:
			if b == '\\' {
				esc = true
			} else if b == '"' {
				in = false
			}
		case b == '"':
			in = true
		case b == '[' || b == '{':
			if depth++; depth > most {
				most = depth
			}
		case b == ']' || b == '}':
			depth--
		}
	}
	return most
}

// escapeControls escapes the control characters inside JSON strings,
// which Python's json.loads(strict=False) accepts and Go's decoder does
// not.
func escapeControls(src string) string {
	if !strings.ContainsFunc(src, func(r rune) bool { return r < 0x20 && r != ' ' }) {
		return src
	}
	var b bytes.Buffer
	in, esc := false, false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case in && c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// microdata answers the document's top-level microdata items, as extruct's
// nested, non-strict extractor does.
func (s *structured) microdata(root *html.Node, sc *structuredScan) ([]any, error) {
	items := []any{}
	if len(sc.scopes) == 0 {
		return items, nil
	}
	m := microdata{s: s, seen: map[*html.Node]bool{}, ids: map[string]*html.Node{}}
	if sc.itemref {
		for n := root; n != nil; n = nextIn(n, root) {
			if n.Type == html.ElementNode {
				if id, ok := attribute(n, "id"); ok {
					if _, dup := m.ids[id]; !dup {
						m.ids[id] = n
					}
				}
			}
		}
	}
	for _, n := range sc.scopes {
		if err := s.tick(); err != nil {
			return nil, err
		}
		if m.seen[n] {
			continue
		}
		it, err := m.item(n, 0)
		if err != nil {
			return items, err
		}
		if it != nil && len(it) > 0 {
			items = append(items, it)
		}
	}
	return items, nil
}

type microdata struct {
	s    *structured
	seen map[*html.Node]bool
	ids  map[string]*html.Node
	// buf is scratch space for text values, reused from one to the next.
	buf []byte
}

func hasAttr(n *html.Node, name string) bool {
	_, ok := attribute(n, name)
	return ok
}

// item extracts the item whose itemscope is n, at nesting depth.
func (m *microdata) item(n *html.Node, depth int) (map[string]any, error) {
	m.seen[n] = true
	if !m.s.count(1) {
		return nil, errStructuredFull
	}
	it := map[string]any{}
	if types := strings.Fields(attrOr(n, "itemtype")); len(types) == 1 {
		it["type"] = types[0]
	} else if len(types) > 1 {
		it["type"] = stringsAny(types)
	}
	if _, ok := it["type"]; ok {
		if id := strings.TrimSpace(attrOr(n, "itemid")); id != "" {
			it["id"] = id
		}
	}
	props := map[string][]any{}
	var order []string
	add := func(p *html.Node) error {
		v, err := m.value(p, depth, false)
		if err != nil {
			return err
		}
		for _, name := range strings.Fields(attrOr(p, "itemprop")) {
			if !m.s.count(1) {
				return errStructuredFull
			}
			if _, ok := props[name]; !ok {
				order = append(order, name)
			}
			props[name] = append(props[name], v)
		}
		return nil
	}
	// The item's own properties: elements with itemprop inside n, but not
	// inside a nested itemscope (an itemscope with itemprop is one).
	for p := n.FirstChild; p != nil; {
		if err := m.s.tick(); err != nil {
			return nil, err
		}
		if p.Type != html.ElementNode {
			p = nextIn(p, n)
			continue
		}
		if hasAttr(p, "itemprop") {
			if err := add(p); err != nil {
				return it, err
			}
		}
		if hasAttr(p, "itemscope") {
			p = skipSubtree(p, n)
			continue
		}
		p = nextIn(p, n)
	}
	for _, ref := range strings.Fields(attrOr(n, "itemref")) {
		r, ok := m.ids[ref]
		if !ok {
			continue
		}
		if hasAttr(r, "itemprop") && hasAttr(r, "itemscope") {
			if err := add(r); err != nil {
				return it, err
			}
			continue
		}
		scope := scopeOf(r, true)
		for p := r; p != nil; p = nextIn(p, r) {
			if p.Type == html.ElementNode && hasAttr(p, "itemprop") && scopeOf(p, false) == scope {
				if err := add(p); err != nil {
					return it, err
				}
			}
		}
	}
	if len(order) > 0 {
		it["properties"] = itemProperties(order, props)
	} else {
		v, err := m.value(n, depth, true)
		if err != nil {
			return it, err
		}
		it["value"] = v
	}
	return it, nil
}

// itemProperties is an item's "properties" as extruct writes them: each
// name, in order, to its one value, or to the list of its values.
func itemProperties(order []string, props map[string][]any) map[string]any {
	ps := make(map[string]any, len(order))
	for _, name := range order {
		if v := props[name]; len(v) == 1 {
			ps[name] = v[0]
		} else {
			ps[name] = v
		}
	}
	return ps
}

// scopeOf returns the nearest element with itemscope above n (or n itself
// when self is set), or nil.
func scopeOf(n *html.Node, self bool) *html.Node {
	if !self {
		n = n.Parent
	}
	for ; n != nil; n = n.Parent {
		if n.Type == html.ElementNode && hasAttr(n, "itemscope") {
			return n
		}
	}
	return nil
}

// value is a property's value, as extruct reads it.
func (m *microdata) value(n *html.Node, depth int, force bool) (any, error) {
	if !force && hasAttr(n, "itemscope") {
		if m.seen[n] {
			return nil, nil // extruct answers None for an item met twice
		}
		if depth+1 > MaxMicrodataDepth {
			// Too deep: the item and every item in it answer as text,
			// here and not again as top-level items.
			for d := n; d != nil; d = nextIn(d, n) {
				if d.Type == html.ElementNode && hasAttr(d, "itemscope") {
					m.seen[d] = true
				}
			}
			return m.text(n), nil
		}
		it, err := m.item(n, depth+1)
		if err != nil {
			return nil, err
		}
		return it, nil
	}
	if n.Namespace != "" {
		return m.text(n), nil
	}
	if v, ok := m.s.attrValue(n.DataAtom, func(name string) string { return attrOr(n, name) }); ok {
		return v, nil
	}
	return m.text(n), nil
}

// attrValue is the value of a property element of type a, in the HTML
// namespace, as its attributes give it (attr looks one up), or false when
// its value is its text.
func (s *structured) attrValue(a atom.Atom, attr func(name string) string) (string, bool) {
	url := func(name string) string {
		if !s.hasBase {
			s.urls.base, s.hasBase = s.doc.base(), true
		}
		return s.urls.resolve("href", strings.TrimSpace(attr(name)))
	}
	switch a {
	case atom.Meta:
		return attr("content"), true
	case atom.Audio, atom.Embed, atom.Iframe, atom.Img, atom.Source, atom.Track, atom.Video:
		return url("src"), true
	case atom.A, atom.Area, atom.Link:
		return url("href"), true
	case atom.Object:
		return url("data"), true
	case atom.Data, atom.Meter:
		return attr("value"), true
	case atom.Time:
		return attr("datetime"), true
	}
	if c := attr("content"); c != "" {
		return c, true
	}
	return "", false
}

// text is an element's visible text, white space collapsed.
func (m *microdata) text(n *html.Node) string {
	t := textCollector{buf: m.buf[:0], max: MaxJSONLDBytes}
	t.collect(n)
	m.buf = t.buf
	return string(t.buf)
}

func attrOr(n *html.Node, name string) string {
	v, _ := attribute(n, name)
	return v
}

func stringsAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// ogNamespaces are the OpenGraph prefixes that extruct knows without a
// prefix attribute declaring them.
var ogNamespaces = map[string]string{
	"og":      "http://ogp.me/ns#",
	"music":   "http://ogp.me/ns/music#",
	"video":   "http://ogp.me/ns/video#",
	"article": "http://ogp.me/ns/article#",
	"book":    "http://ogp.me/ns/book#",
	"profile": "http://ogp.me/ns/profile#",
	"product": "http://ogp.me/ns/product#",
}

var prefixDecl = regexp.MustCompile(`\s*(\w+):\s*(\S+)`)

// openGraph answers the OpenGraph properties of <head>, as extruct does.
func (s *structured) openGraph(heads []*html.Node) ([]any, error) {
	var hs []ogHead
	for _, n := range heads {
		var h ogHead
		if p := n.Parent; p != nil && p.Type == html.ElementNode && p.DataAtom == atom.Html {
			h.htmlPrefix = attrOr(p, "prefix")
		}
		h.headPrefix = attrOr(n, "prefix")
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode || c.DataAtom != atom.Meta {
				continue
			}
			prop, ok1 := attribute(c, "property")
			content, ok2 := attribute(c, "content")
			h.metas = append(h.metas, ogMeta{property: prop, content: content, ok: ok1 && ok2})
		}
		hs = append(hs, h)
	}
	return s.openGraphOf(hs)
}

// openGraphOf answers the OpenGraph properties of heads.
func (s *structured) openGraphOf(heads []ogHead) ([]any, error) {
	out := []any{}
	for _, h := range heads {
		ns := map[string]any{}
		declared(ns, h.htmlPrefix)
		declared(ns, h.headPrefix)
		props := []any{}
		for _, m := range h.metas {
			if !m.ok {
				continue
			}
			prop, content := m.property, m.content
			prefix, _, _ := strings.Cut(prop, ":")
			if uri, ok := ogNamespaces[prefix]; ok {
				ns[prefix] = uri
			}
			if _, ok := ns[prefix]; ok {
				if !s.count(1) {
					break
				}
				props = append(props, []any{prop, content})
			}
		}
		if len(props) > 0 {
			out = append(out, map[string]any{"namespace": ns, "properties": props})
		}
	}
	if s.full {
		return out, errStructuredFull
	}
	return out, nil
}

func declared(ns map[string]any, prefix string) {
	for _, m := range prefixDecl.FindAllStringSubmatch(prefix, -1) {
		ns[m[1]] = m[2]
	}
}

// metas answers every <meta> with content: as {attribute: value,
// "content"} objects, or for twitter as [name, content] pairs of the
// twitter: card properties (named by name or, as some pages do, property).
func (s *structured) metas(metas []*html.Node, twitter bool) ([]any, error) {
	out := []any{}
	for _, n := range metas {
		content, ok := attribute(n, "content")
		if !ok {
			continue
		}
		if twitter {
			name, ok := attribute(n, "name")
			if !ok || !strings.HasPrefix(name, "twitter:") {
				name, ok = attribute(n, "property")
			}
			if !ok || !strings.HasPrefix(name, "twitter:") {
				continue
			}
			if !s.count(1) {
				return out, errStructuredFull
			}
			out = append(out, []any{name, content})
			continue
		}
		m := map[string]any{"content": content}
		for _, k := range []string{"name", "property", "http-equiv", "itemprop"} {
			if v, ok := attribute(n, k); ok {
				m[k] = v
			}
		}
		if len(m) == 1 {
			continue // content alone says nothing
		}
		if !s.count(1) {
			return out, errStructuredFull
		}
		out = append(out, m)
	}
	return out, nil
}
