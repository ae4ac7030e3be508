package native

import (
	"encoding/json"
	"strconv"
	"strings"

	whatwg "github.com/nlnwa/whatwg-url/url"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// RDFa
//
// rdfa answers the triples of a page's RDFa as extruct's "rdfa" syntax
// does (pyRdfa's graph written by rdflib as expanded JSON-LD): one node
// per subject, {"@id", "@type": [IRI...], predicate IRI: [{"@id"} or
// {"@value", "@language"?, "@type"?}...]}, subjects in document order.
// It reads RDFa Lite (vocab, prefix, typeof, property, resource) and the
// parts of RDFa Core that pages pair with it: about, content, datatype,
// href and src as resources, xml:lang, rel with a resource, and the role
// attribute (xhv:role), with pyRdfa's initial context and the OpenGraph,
// Facebook and Twitter prefixes extruct adds to it.
//
// Not read: rev, inlist, rel without a resource (RDFa's hanging triples)
// and rdf:XMLLiteral values. Blank nodes are named _:b0, _:b1... in
// document order, where rdflib names them at random; lang (as opposed to
// xml:lang) gives no language, as in extruct's answers.
//
// Bounds: typed resources nest at most MaxRDFaDepth deep (the RDFa
// attributes of deeper elements are not read); literal text costs its
// bytes, and one per node its walk visits, against MaxRDFaBytes per call;
// every triple counts toward MaxStructuredItems. Past a bound the answer
// is cut and marked truncated.
const (
	MaxRDFaDepth = 16
	MaxRDFaBytes = 4 << 20
)

// SyntaxRDFa is the RDFa syntax's name, as extruct names it.
const SyntaxRDFa = "rdfa"

const (
	rdfType        = "@type"
	xhvNS          = "http://www.w3.org/1999/xhtml/vocab#"
	xsdNS          = "http://www.w3.org/2001/XMLSchema#"
	usesVocabulary = "http://www.w3.org/ns/rdfa#usesVocabulary"
)

// rdfaPrefixes is pyRdfa's initial context for HTML, with extruct's
// additions (fb, twitter and the OpenGraph types).
var rdfaPrefixes = map[string]string{
	"article": "http://ogp.me/ns/article#", "as": "https://www.w3.org/ns/activitystreams#",
	"book": "http://ogp.me/ns/book#", "cc": "http://creativecommons.org/ns#",
	"csvw": "http://www.w3.org/ns/csvw#", "ctag": "http://commontag.org/ns#",
	"dc": "http://purl.org/dc/terms/", "dc11": "http://purl.org/dc/elements/1.1/",
	"dcat": "http://www.w3.org/ns/dcat#", "dcterms": "http://purl.org/dc/terms/",
	"dqv": "http://www.w3.org/ns/dqv#", "duv": "https://www.w3.org/ns/duv#",
	"fb": "http://ogp.me/ns/fb#", "foaf": "http://xmlns.com/foaf/0.1/",
	"gr": "http://purl.org/goodrelations/v1#", "grddl": "http://www.w3.org/2003/g/data-view#",
	"ical": "http://www.w3.org/2002/12/cal/icaltzd#", "jsonld": "http://www.w3.org/ns/json-ld#",
	"ldp": "http://www.w3.org/ns/ldp#", "ma": "http://www.w3.org/ns/ma-ont#",
	"music": "http://ogp.me/ns/music#", "oa": "http://www.w3.org/ns/oa#",
	"odrl": "http://www.w3.org/ns/odrl/2/", "og": "http://ogp.me/ns#",
	"org": "http://www.w3.org/ns/org#", "owl": "http://www.w3.org/2002/07/owl#",
	"profile": "http://ogp.me/ns/profile#", "prov": "http://www.w3.org/ns/prov#",
	"qb": "http://purl.org/linked-data/cube#", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
	"rdfa": "http://www.w3.org/ns/rdfa#", "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
	"rev": "http://purl.org/stuff/rev#", "rif": "http://www.w3.org/2007/rif#",
	"rr": "http://www.w3.org/ns/r2rml#", "schema": "http://schema.org/",
	"sd": "http://www.w3.org/ns/sparql-service-description#", "sioc": "http://rdfs.org/sioc/ns#",
	"skos": "http://www.w3.org/2004/02/skos/core#", "skosxl": "http://www.w3.org/2008/05/skos-xl#",
	"sosa": "http://www.w3.org/ns/sosa/", "ssn": "http://www.w3.org/ns/ssn/",
	"time": "http://www.w3.org/2006/time#", "twitter": "https://dev.twitter.com/cards#",
	"v": "http://rdf.data-vocabulary.org/#", "vcard": "http://www.w3.org/2006/vcard/ns#",
	"video": "http://ogp.me/ns/video#", "void": "http://rdfs.org/ns/void#",
	"wdr": "http://www.w3.org/2007/05/powder#", "wdrs": "http://www.w3.org/2007/05/powder-s#",
	"xhv": xhvNS, "xml": "http://www.w3.org/XML/1998/namespace",
	"xsd": xsdNS,
}

// rdfaTerms are the initial context's terms, used where no vocab is set.
var rdfaTerms = map[string]string{
	"describedby": "http://www.w3.org/2007/05/powder-s#describedby",
	"license":     xhvNS + "license",
	"role":        xhvNS + "role",
}

// rdfaContext is RDFa's evaluation context, as an element passes it to
// its children.
type rdfaContext struct {
	parentSubject, parentObject string
	vocab                       string
	prefixes                    map[string]string // declared by prefix attributes; shared until changed
	lang                        string
	depth                       int
	// hanging are the predicates of a rel without a resource, whose
	// triples (hangingSubject, predicate, ?) the next element below that
	// names a resource completes.
	hanging        []string
	hangingSubject string
}

// rdfaNode is one subject's triples.
type rdfaNode struct {
	id    string
	types []any
	preds []string
	vals  map[string][]any
	seen  map[string]bool // predicate and value, as rdflib's graph is a set
}

type rdfa struct {
	s *structured
	// base is the page's URL as given, which is the document's IRI, and
	// urls resolves against it: pyRdfa, given a base as extruct gives it,
	// reads no <base> element.
	base   string
	urls   urlResolver
	nodes  []*rdfaNode
	byID   map[string]*rdfaNode
	blanks int
	budget int
}

// rdfa answers the RDFa of the tree below root, whose page is at
// pageURL.
func (s *structured) rdfa(root *html.Node, pageURL string) ([]any, error) {
	r := &rdfa{s: s, base: pageURL, byID: map[string]*rdfaNode{}, budget: MaxRDFaBytes}
	if u, err := whatwg.Parse(pageURL); err == nil {
		r.urls.base = u
	}
	type frame struct {
		n   *html.Node
		ctx rdfaContext
	}
	stack := []frame{{root, rdfaContext{parentSubject: r.base, parentObject: r.base}}}
	var err error
	for c := root.FirstChild; c != nil && err == nil; {
		if err = s.tick(); err != nil {
			break
		}
		if c.Type == html.ElementNode && c.FirstChild != nil {
			var ctx rdfaContext
			ctx, err = r.element(c, stack[len(stack)-1].ctx)
			stack = append(stack, frame{c, ctx})
			c = c.FirstChild
			continue
		}
		if c.Type == html.ElementNode {
			_, err = r.element(c, stack[len(stack)-1].ctx)
		}
		for c.NextSibling == nil && c != root {
			c = c.Parent
			stack = stack[:len(stack)-1]
		}
		if c == root {
			break
		}
		c = c.NextSibling
	}
	out := make([]any, 0, len(r.nodes))
	for _, n := range r.nodes {
		m := make(map[string]any, len(n.preds)+2)
		m["@id"] = n.id
		if len(n.types) > 0 {
			m[rdfType] = n.types
		}
		for _, p := range n.preds {
			m[p] = n.vals[p]
		}
		out = append(out, m)
	}
	return out, err
}

// element reads n's RDFa in ctx and returns its children's context,
// following RDFa Core's processing sequence (section 7.5) for the
// attributes rdfa reads.
func (r *rdfa) element(n *html.Node, ctx rdfaContext) (rdfaContext, error) {
	var about, typeof, property, resource, href, src, content, datatype, rel, role, id, vocab, prefix, lang *string
	xmlns := false
	for i := range n.Attr {
		a := &n.Attr[i]
		if a.Namespace != "" {
			continue
		}
		switch a.Key {
		case "about":
			about = &a.Val
		case "typeof":
			typeof = &a.Val
		case "property":
			property = &a.Val
		case "resource":
			resource = &a.Val
		case "href":
			href = &a.Val
		case "src":
			src = &a.Val
		case "content":
			content = &a.Val
		case "datatype":
			datatype = &a.Val
		case "rel":
			rel = &a.Val
		case "role":
			role = &a.Val
		case "id":
			id = &a.Val
		case "vocab":
			vocab = &a.Val
		case "prefix":
			prefix = &a.Val
		case "xml:lang":
			lang = &a.Val
		default:
			xmlns = xmlns || strings.HasPrefix(a.Key, "xmlns:")
		}
	}
	if role != nil {
		if err := r.role(*role, id); err != nil {
			return ctx, err
		}
	}
	if about == nil && typeof == nil && property == nil && resource == nil && rel == nil &&
		vocab == nil && prefix == nil && lang == nil && !xmlns {
		return ctx, nil // nothing here changes the context
	}
	if typeof != nil && ctx.depth >= MaxRDFaDepth {
		r.s.full = true
		return ctx, nil
	}
	if vocab != nil {
		ctx.vocab = ""
		if v := strings.TrimSpace(*vocab); v != "" {
			ctx.vocab = r.iri(v)
			if err := r.add(r.base, usesVocabulary, map[string]any{"@id": ctx.vocab}); err != nil {
				return ctx, err
			}
		}
	}
	if xmlns {
		// RDFa 1.0's declarations, which RDFa 1.1 still reads (pages
		// declare og with xmlns:og), before prefix, which wins.
		for _, a := range n.Attr {
			if p, ok := strings.CutPrefix(a.Key, "xmlns:"); ok && a.Namespace == "" {
				ctx.prefixes = declarePrefixes(ctx.prefixes, p+": "+a.Val)
			}
		}
	}
	if prefix != nil {
		ctx.prefixes = declarePrefixes(ctx.prefixes, *prefix)
	}
	if lang != nil {
		ctx.lang = strings.ToLower(strings.TrimSpace(*lang))
	}
	isRoot := n.Parent != nil && n.Parent.Type == html.DocumentNode
	headOrBody := n.Namespace == "" && (n.DataAtom == atom.Head || n.DataAtom == atom.Body)
	resourceOf := func() string {
		switch {
		case resource != nil:
			return r.resource(*resource, ctx)
		case href != nil:
			return r.iri(strings.TrimSpace(*href))
		case src != nil:
			return r.iri(strings.TrimSpace(*src))
		}
		return ""
	}
	hasResource := resource != nil || href != nil || src != nil
	var subject, object, typed string
	skip := false
	switch {
	case rel != nil:
		// A link: the subject is the context's, the object the resource.
		switch {
		case about != nil:
			subject = r.resource(*about, ctx)
		case isRoot:
			subject = r.base
		default:
			subject = ctx.parentObject
		}
		if hasResource {
			object = resourceOf()
		}
		switch {
		case typeof != nil && about != nil:
			typed = subject
		case typeof != nil:
			if object == "" {
				object = r.blank()
			}
			typed = object
		}
	case property != nil && content == nil && datatype == nil:
		switch {
		case about != nil:
			subject = r.resource(*about, ctx)
		case isRoot:
			subject = r.base
		default:
			subject = ctx.parentObject
		}
		if typeof != nil {
			switch {
			case about != nil:
				typed = subject
			case isRoot:
				typed = r.base
			case hasResource:
				typed = resourceOf()
			default:
				typed = r.blank()
			}
			object = typed
		}
	default:
		switch {
		case about != nil:
			subject = r.resource(*about, ctx)
		case hasResource:
			subject = resourceOf()
		case isRoot:
			subject = r.base
		case headOrBody:
			subject = ctx.parentObject
		case typeof != nil:
			subject = r.blank()
		default:
			subject = ctx.parentObject
			skip = property == nil
		}
		if typeof != nil {
			typed = subject
		}
	}
	if len(ctx.hanging) > 0 && !skip {
		if named := about != nil || (rel == nil && hasResource) || (typed != "" && typed == subject); named {
			for _, p := range ctx.hanging {
				if err := r.add(ctx.hangingSubject, p, map[string]any{"@id": subject}); err != nil {
					return ctx, err
				}
			}
		}
		ctx.hanging = nil
	}
	if typed != "" {
		for _, t := range strings.Fields(*typeof) {
			if iri, ok := r.term(t, ctx); ok {
				if err := r.add(typed, rdfType, iri); err != nil {
					return ctx, err
				}
			}
		}
	}
	var hanging []string
	if rel != nil {
		for _, t := range strings.Fields(*rel) {
			p, ok := r.term(t, ctx)
			switch {
			case !ok:
			case object == "":
				hanging = append(hanging, p)
			default:
				if err := r.add(subject, p, map[string]any{"@id": object}); err != nil {
					return ctx, err
				}
			}
		}
	}
	if property != nil {
		v, err := r.value(n, ctx, content, datatype, rel == nil && hasResource, resourceOf, typeof != nil && about == nil, typed)
		if err != nil {
			return ctx, err
		}
		if v != nil {
			for _, t := range strings.Fields(*property) {
				if p, ok := r.term(t, ctx); ok {
					if err := r.add(subject, p, v); err != nil {
						return ctx, err
					}
				}
			}
		}
	}
	if skip {
		return ctx, nil
	}
	if len(hanging) > 0 {
		ctx.hanging, ctx.hangingSubject = hanging, subject
	}
	ctx.parentSubject = subject
	ctx.parentObject = subject
	if object != "" {
		ctx.parentObject = object
	}
	if typed != "" {
		ctx.depth++
	}
	return ctx, nil
}

// value is a property's object: the content attribute, a resource, the
// typed resource, or the element's text.
func (r *rdfa) value(n *html.Node, ctx rdfaContext, content, datatype *string, useResource bool, resourceOf func() string, useTyped bool, typed string) (map[string]any, error) {
	var lit string
	switch {
	case content != nil:
		lit = *content
	case datatype == nil && useResource:
		return map[string]any{"@id": resourceOf()}, nil
	case datatype == nil && useTyped && typed != "":
		return map[string]any{"@id": typed}, nil
	default:
		t, ok := r.text(n)
		if !ok {
			return nil, errStructuredFull
		}
		lit = t
	}
	if r.budget -= len(lit); r.budget < 0 {
		r.s.full = true
		return nil, errStructuredFull
	}
	v := map[string]any{"@value": lit}
	if datatype != nil && strings.TrimSpace(*datatype) != "" {
		if dt, ok := r.term(strings.TrimSpace(*datatype), ctx); ok {
			if native, ok := nativeLiteral(lit, dt); ok {
				v["@value"] = native
				return v, nil
			}
			v["@type"] = dt
			return v, nil
		}
	}
	if ctx.lang != "" {
		v["@language"] = ctx.lang
	}
	return v, nil
}

// nativeLiteral is a typed literal's value as rdflib's JSON-LD writer
// gives it, without its type: xsd:string as a string, a valid xsd:integer
// as a number, a valid xsd:boolean as a bool. (rdflib writes xsd:double
// as a Python float, which is kept here as a typed literal.)
func nativeLiteral(lit, datatype string) (any, bool) {
	switch strings.TrimPrefix(datatype, xsdNS) {
	case "string":
		return lit, datatype == xsdNS+"string"
	case "integer":
		if datatype != xsdNS+"integer" {
			return nil, false
		}
		if i, err := strconv.ParseInt(strings.TrimSpace(lit), 10, 64); err == nil {
			return json.Number(strconv.FormatInt(i, 10)), true
		}
	case "boolean":
		if datatype != xsdNS+"boolean" {
			return nil, false
		}
		switch strings.ToLower(strings.TrimSpace(lit)) {
		case "true", "1":
			return true, true
		case "false", "0":
			return false, true
		}
	}
	return nil, false
}

// text is the text of n's descendants as written, every text node's,
// charged to the budget with a byte for each node it visits.
func (r *rdfa) text(n *html.Node) (string, bool) {
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = nextIn(c, n) {
		r.budget--
		if c.Type == html.TextNode {
			r.budget -= len(c.Data)
			b.WriteString(c.Data)
		}
		if r.budget < 0 {
			r.s.full = true
			return "", false
		}
	}
	return b.String(), true
}

// role adds the xhv:role triples of a role attribute: the subject is the
// page's URL with the element's id as fragment, written as pyRdfa writes
// it (even an empty id), or a new blank node.
func (r *rdfa) role(v string, id *string) error {
	roles := strings.Fields(v)
	if len(roles) == 0 {
		return nil
	}
	subject := ""
	if id != nil {
		subject = r.base + "#" + *id
	} else {
		subject = r.blank()
	}
	for _, t := range roles {
		o := xhvNS + t
		if strings.Contains(t, ":") {
			var ok bool
			if o, ok = r.term(t, rdfaContext{}); !ok {
				continue
			}
		}
		if err := r.add(subject, xhvNS+"role", map[string]any{"@id": o}); err != nil {
			return err
		}
	}
	return nil
}

// add records a triple; o is a type IRI for rdf:type, or a JSON-LD value.
func (r *rdfa) add(s, p string, o any) error {
	if s == "" {
		return nil
	}
	node := r.byID[s]
	key := p + "\x00"
	switch o := o.(type) {
	case string:
		key += o
	case map[string]any:
		key += canonicalValue(o)
	}
	if node != nil && node.seen[key] {
		return nil
	}
	if !r.s.count(1) {
		return errStructuredFull
	}
	if node == nil {
		node = &rdfaNode{id: s, vals: map[string][]any{}, seen: map[string]bool{}}
		r.byID[s] = node
		r.nodes = append(r.nodes, node)
	}
	node.seen[key] = true
	if p == rdfType {
		node.types = append(node.types, o)
		return nil
	}
	if _, ok := node.vals[p]; !ok {
		node.preds = append(node.preds, p)
	}
	node.vals[p] = append(node.vals[p], o)
	return nil
}

func canonicalValue(m map[string]any) string {
	var b strings.Builder
	for _, k := range []string{"@id", "@value", "@language", "@type"} {
		if v, ok := m[k].(string); ok {
			b.WriteString(k)
			b.WriteByte(0)
			b.WriteString(v)
			b.WriteByte(0)
		}
	}
	return b.String()
}

func (r *rdfa) blank() string {
	r.blanks++
	return "_:b" + strconv.Itoa(r.blanks-1)
}

// iri resolves v against the page's URL. The page's URL, a fragment of
// it and an absolute IRI are kept as written, as RDF keeps IRIs (pyRdfa's
// urljoin does not normalize them, where WHATWG's parser would add a "/"
// to an empty path).
func (r *rdfa) iri(v string) string {
	switch {
	case v == "":
		return r.base
	case v[0] == '#':
		base, _, _ := strings.Cut(r.base, "#")
		return base + v
	}
	if scheme, rest, ok := strings.Cut(v, ":"); ok && isScheme(scheme) && rest != "" && !strings.ContainsAny(v, " \t\n\r\f") {
		return v
	}
	if u, ok := r.urls.one(v); ok {
		return u
	}
	return v
}

// resource reads about and resource: a safe CURIE, a blank node, a CURIE
// of a known prefix, or an IRI relative to the base.
func (r *rdfa) resource(v string, ctx rdfaContext) string {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
		if iri, ok := r.curie(v[1:len(v)-1], ctx); ok {
			return iri
		}
		return ""
	}
	if strings.HasPrefix(v, "_:") {
		return v
	}
	if p, _, ok := strings.Cut(v, ":"); ok {
		if _, known := r.prefix(strings.ToLower(p), ctx); known {
			iri, _ := r.curie(v, ctx)
			return iri
		}
	}
	return r.iri(v)
}

// term reads a value of property, typeof, rel or datatype: a term of the
// vocab (or of the initial context where none is set), a CURIE or an
// absolute IRI.
func (r *rdfa) term(v string, ctx rdfaContext) (string, bool) {
	if !strings.Contains(v, ":") {
		if ctx.vocab != "" {
			return ctx.vocab + v, true
		}
		iri, ok := rdfaTerms[strings.ToLower(v)]
		return iri, ok
	}
	if strings.HasPrefix(v, "_:") {
		return "", false // a blank node names no property or type
	}
	return r.curie(v, ctx)
}

// curie expands prefix:reference, or takes v as an absolute IRI when its
// prefix is unknown.
func (r *rdfa) curie(v string, ctx rdfaContext) (string, bool) {
	p, ref, _ := strings.Cut(v, ":")
	if p == "" {
		return xhvNS + ref, true
	}
	if ns, ok := r.prefix(strings.ToLower(p), ctx); ok {
		return ns + ref, true
	}
	if strings.HasPrefix(ref, "//") || isScheme(p) {
		return v, true
	}
	return "", false
}

func (r *rdfa) prefix(p string, ctx rdfaContext) (string, bool) {
	if ns, ok := ctx.prefixes[p]; ok {
		return ns, true
	}
	ns, ok := rdfaPrefixes[p]
	return ns, ok
}

// isScheme reports whether s may be a URL scheme.
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		switch {
		case c >= 'a' && c <= 'z':
		case i > 0 && (s[i] >= '0' && s[i] <= '9' || s[i] == '+' || s[i] == '-' || s[i] == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// declarePrefixes returns the prefixes of a prefix attribute ("p: IRI
// ...") added to those in scope, which stay unchanged.
func declarePrefixes(in map[string]string, attr string) map[string]string {
	f := strings.Fields(attr)
	var out map[string]string
	for i := 0; i+1 < len(f); i++ {
		p, ok := strings.CutSuffix(f[i], ":")
		if !ok || p == "" || p == "_" {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(in)+1)
			for k, v := range in {
				out[k] = v
			}
		}
		out[strings.ToLower(p)] = f[i+1]
		i++
	}
	if out == nil {
		return in
	}
	return out
}
