package native

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// XPath 1.0 expressions: lexer and parser.
//
// An expression compiles to a tree of xexpr values (xpath_eval.go), which
// is immutable once built, so one compilation serves every evaluation of
// every extractor sharing the cache. Its static type is checked here: XPath
// 1.0 without variables knows, before seeing a document, which
// subexpressions are node sets, so count('a') and ('a')[1] are refused at
// compile time and evaluation has no type errors left to report.

// MaxXPathNesting bounds how deeply parentheses, predicates and function
// arguments nest in an expression. Compilation and evaluation recurse
// once per level; an expression is at most MaxSelectorLen bytes, so this
// also bounds the recursion on any expression a caller sends.
const MaxXPathNesting = 64

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

// xpathNamespace returns the namespace bound to prefix.
func xpathNamespace(prefix string) (string, bool) {
	switch prefix {
	case "html":
		return nsHTML, true
	case "svg":
		return nsSVG, true
	case "math":
		return nsMathML, true
	case "xlink":
		return nsXLink, true
	case "xml":
		return nsXML, true
	case "xmlns":
		return nsXMLNS, true
	}
	return "", false
}

// tokenKind is the kind of an XPath token.
type tokenKind int

const (
	tokEOF      tokenKind = iota
	tokNumber             // 1, 1.5, .5
	tokLiteral            // 'a' or "a"
	tokName               // a NameTest: name, prefix:name, prefix:*, or *
	tokNodeType           // comment, text, processing-instruction or node, before (
	tokFunction           // a function name, before (
	tokAxis               // an axis name, before ::
	tokOperator           // and, or, mod, div, *, /, //, |, +, -, =, !=, <, <=, >, >=
	tokPunct              // ( ) [ ] . .. @ , ::
	tokVariable           // $name
)

type token struct {
	kind tokenKind
	text string  // the token as written, a literal without its quotes
	num  float64 // a number's value
	pos  int     // byte offset in the expression
}

// lexXPath splits src into tokens, telling names, operator names and
// multiplication apart as XPath 1.0's section 3.7 says.
func lexXPath(src string) ([]token, error) {
	var toks []token
	// operatorAllowed reports whether the previous token lets * and an
	// NCName be read as an operator.
	operatorAllowed := func() bool {
		if len(toks) == 0 {
			return false
		}
		switch p := toks[len(toks)-1]; p.kind {
		case tokOperator:
			return false
		case tokPunct:
			return p.text == ")" || p.text == "]" || p.text == "." || p.text == ".."
		}
		return true
	}
	i := 0
	for {
		for i < len(src) && isXPathSpace(src[i]) {
			i++
		}
		if i == len(src) {
			toks = append(toks, token{kind: tokEOF, pos: i})
			return toks, nil
		}
		start := i
		c := src[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(src[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("unterminated string literal at offset %d", i)
			}
			toks = append(toks, token{kind: tokLiteral, text: src[i+1 : i+1+end], pos: start})
			i += end + 2
		case isDigit(c) || c == '.' && i+1 < len(src) && isDigit(src[i+1]):
			for i < len(src) && isDigit(src[i]) {
				i++
			}
			if i < len(src) && src[i] == '.' {
				i++
				for i < len(src) && isDigit(src[i]) {
					i++
				}
			}
			f, err := strconv.ParseFloat(src[start:i], 64)
			if err != nil {
				return nil, fmt.Errorf("bad number %q at offset %d", src[start:i], start)
			}
			toks = append(toks, token{kind: tokNumber, text: src[start:i], num: f, pos: start})
		case c == '.':
			if strings.HasPrefix(src[i:], "..") {
				i += 2
			} else {
				i++
			}
			toks = append(toks, token{kind: tokPunct, text: src[start:i], pos: start})
		case c == '(' || c == ')' || c == '[' || c == ']' || c == '@' || c == ',':
			i++
			toks = append(toks, token{kind: tokPunct, text: src[start:i], pos: start})
		case c == ':' && strings.HasPrefix(src[i:], "::"):
			i += 2
			toks = append(toks, token{kind: tokPunct, text: "::", pos: start})
		case c == '*':
			i++
			kind := tokName
			if operatorAllowed() {
				kind = tokOperator
			}
			toks = append(toks, token{kind: kind, text: "*", pos: start})
		case c == '/' || c == '|' || c == '+' || c == '-' || c == '=' || c == '<' || c == '>' || c == '!':
			i++
			if (c == '/' && i < len(src) && src[i] == '/') || (c != '/' && c != '|' && c != '+' && c != '-' && c != '=' && i < len(src) && src[i] == '=') {
				i++
			}
			if src[start:i] == "!" {
				return nil, fmt.Errorf("unexpected '!' at offset %d", start)
			}
			toks = append(toks, token{kind: tokOperator, text: src[start:i], pos: start})
		case c == '$':
			i++
			n := ncNameEnd(src, i)
			if n == i {
				return nil, fmt.Errorf("a variable needs a name at offset %d", start)
			}
			i = n
			toks = append(toks, token{kind: tokVariable, text: src[start+1 : i], pos: start})
		default:
			n := ncNameEnd(src, i)
			if n == i {
				r, _ := utf8.DecodeRuneInString(src[i:])
				return nil, fmt.Errorf("unexpected %q at offset %d", r, i)
			}
			i = n
			if operatorAllowed() {
				switch name := src[start:i]; name {
				case "and", "or", "mod", "div":
					toks = append(toks, token{kind: tokOperator, text: name, pos: start})
					continue
				}
				return nil, fmt.Errorf("unexpected name %q at offset %d", src[start:i], start)
			}
			// A QName or prefix:*; "a::" is an axis, not a prefix.
			if i+1 < len(src) && src[i] == ':' && src[i+1] != ':' {
				if src[i+1] == '*' {
					i += 2
				} else if n := ncNameEnd(src, i+1); n > i+1 {
					i = n
				} else {
					return nil, fmt.Errorf("bad name at offset %d", start)
				}
			}
			name := src[start:i]
			j := i
			for j < len(src) && isXPathSpace(src[j]) {
				j++
			}
			kind := tokName
			switch {
			case strings.HasPrefix(src[j:], "::") && !strings.Contains(name, ":"):
				kind = tokAxis
			case j < len(src) && src[j] == '(':
				kind = tokFunction
				switch name {
				case "comment", "text", "processing-instruction", "node":
					kind = tokNodeType
				}
			}
			toks = append(toks, token{kind: kind, text: name, pos: start})
		}
	}
}

// isXPathSpace reports whether c is XPath's white space: #x20, #x9, #xD
// and #xA, and nothing else (not U+00A0).
func isXPathSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// ncNameEnd returns the end of the NCName that starts at src[i], or i.
func ncNameEnd(src string, i int) int {
	start := i
	for i < len(src) {
		r, size := utf8.DecodeRuneInString(src[i:])
		ok := r == '_' || unicode.IsLetter(r)
		if i > start {
			ok = ok || r == '-' || r == '.' || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Me) || r == '\u00B7'
		}
		if !ok {
			break
		}
		i += size
	}
	return i
}

// parseXPath compiles src.
func parseXPath(src string) (xexpr, error) {
	toks, err := lexXPath(src)
	if err != nil {
		return nil, err
	}
	p := &xpathParser{toks: toks}
	e := p.expr()
	if p.err == nil && p.peek().kind != tokEOF {
		p.failAt(p.peek(), "unexpected %s", p.describe(p.peek()))
	}
	if p.err != nil {
		return nil, p.err
	}
	return e, nil
}

// xpathParser is a recursive-descent parser over XPath 1.0's grammar
// (section 3). After the first error it stops consuming and every method
// returns a placeholder, so that callers need not check at each step.
type xpathParser struct {
	toks  []token
	i     int
	depth int
	err   error
}

var errXPathNesting = errors.New("nests too deeply")

func (p *xpathParser) peek() token { return p.toks[p.i] }

func (p *xpathParser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF && p.err == nil {
		p.i++
	}
	return t
}

// is reports whether the next token is kind with text.
func (p *xpathParser) is(kind tokenKind, text string) bool {
	t := p.peek()
	return p.err == nil && t.kind == kind && t.text == text
}

func (p *xpathParser) expect(kind tokenKind, text string) {
	if !p.is(kind, text) {
		p.failAt(p.peek(), "expected %q, found %s", text, p.describe(p.peek()))
		return
	}
	p.next()
}

func (p *xpathParser) describe(t token) string {
	if t.kind == tokEOF {
		return "the end of the expression"
	}
	return fmt.Sprintf("%q", t.text)
}

func (p *xpathParser) failAt(t token, format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("%s at offset %d", fmt.Sprintf(format, args...), t.pos)
	}
}

func (p *xpathParser) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// expr parses Expr, one nesting level deeper.
func (p *xpathParser) expr() xexpr {
	if p.depth++; p.depth > MaxXPathNesting {
		p.fail(fmt.Errorf("%w (more than %d levels)", errXPathNesting, MaxXPathNesting))
		return xLiteral("")
	}
	defer func() { p.depth-- }()
	return p.binary(0)
}

// The binary operators by precedence, loosest first.
var xpathPrecedence = [][]string{
	{"or"},
	{"and"},
	{"=", "!="},
	{"<", "<=", ">", ">="},
	{"+", "-"},
	{"*", "div", "mod"},
}

// binary parses the operators of precedence level and tighter, left
// associative.
func (p *xpathParser) binary(level int) xexpr {
	if level == len(xpathPrecedence) {
		return p.unary()
	}
	l := p.binary(level + 1)
	for p.err == nil {
		t := p.peek()
		if t.kind != tokOperator || !contains(xpathPrecedence[level], t.text) {
			return l
		}
		p.next()
		r := p.binary(level + 1)
		l = newBinary(t.text, l, r)
	}
	return l
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// unary parses UnaryExpr: any number of minus signs before a union.
func (p *xpathParser) unary() xexpr {
	neg := 0
	for p.is(tokOperator, "-") {
		p.next()
		neg++
	}
	e := p.union()
	if neg%2 == 1 {
		return &xNeg{e: e}
	}
	if neg > 0 {
		return &xNeg{e: &xNeg{e: e}} // still a number
	}
	return e
}

func (p *xpathParser) union() xexpr {
	l := p.pathExpr()
	for p.is(tokOperator, "|") {
		t := p.next()
		r := p.pathExpr()
		if !isNodeSet(l) || !isNodeSet(r) {
			p.failAt(t, "'|' joins node sets only")
		}
		l = &xUnion{l: l, r: r}
	}
	return l
}

// pathExpr parses PathExpr: a location path, or a filter expression
// optionally followed by a relative location path.
func (p *xpathParser) pathExpr() xexpr {
	t := p.peek()
	switch {
	case t.kind == tokNumber, t.kind == tokLiteral, t.kind == tokFunction, t.kind == tokVariable,
		t.kind == tokPunct && t.text == "(":
		e := p.filterExpr()
		if p.is(tokOperator, "/") || p.is(tokOperator, "//") {
			if !isNodeSet(e) {
				p.failAt(p.peek(), "a path can only follow a node set")
			}
			path := &xPath{start: e}
			p.relativePath(path, true)
			return path
		}
		return e
	}
	path := &xPath{}
	switch {
	case p.is(tokOperator, "/"):
		p.next()
		path.absolute = true
		if p.stepStarts() {
			p.relativePath(path, false)
		}
	case p.is(tokOperator, "//"):
		p.next()
		path.absolute = true
		path.steps = append(path.steps, descendantOrSelfStep())
		p.relativePath(path, false)
	default:
		if !p.stepStarts() {
			p.failAt(t, "unexpected %s", p.describe(t))
			return xLiteral("")
		}
		p.relativePath(path, false)
	}
	return path
}

// stepStarts reports whether the next token can begin a step.
func (p *xpathParser) stepStarts() bool {
	t := p.peek()
	switch t.kind {
	case tokName, tokNodeType, tokAxis:
		return true
	case tokPunct:
		return t.text == "@" || t.text == "." || t.text == ".."
	}
	return false
}

// relativePath parses steps separated by / and // onto path; after says
// a separator comes first.
func (p *xpathParser) relativePath(path *xPath, after bool) {
	for p.err == nil {
		if after {
			switch {
			case p.is(tokOperator, "/"):
				p.next()
			case p.is(tokOperator, "//"):
				p.next()
				path.steps = append(path.steps, descendantOrSelfStep())
			default:
				path.optimize()
				return
			}
		}
		after = true
		path.steps = append(path.steps, p.step())
	}
}

func descendantOrSelfStep() *xStep {
	return &xStep{axis: axisDescendantOrSelf, test: xTest{kind: testNode}}
}

// step parses Step.
func (p *xpathParser) step() *xStep {
	switch {
	case p.is(tokPunct, "."):
		p.next()
		return &xStep{axis: axisSelf, test: xTest{kind: testNode}}
	case p.is(tokPunct, ".."):
		p.next()
		return &xStep{axis: axisParent, test: xTest{kind: testNode}}
	}
	s := &xStep{axis: axisChild}
	switch t := p.peek(); {
	case p.is(tokPunct, "@"):
		p.next()
		s.axis = axisAttribute
	case t.kind == tokAxis:
		p.next()
		a, ok := xpathAxes[t.text]
		if !ok {
			p.failAt(t, "unknown axis %q", t.text)
		}
		s.axis = a
		p.expect(tokPunct, "::")
	}
	s.test = p.nodeTest()
	s.preds = p.predicates()
	return s
}

func (p *xpathParser) nodeTest() xTest {
	t := p.next()
	switch t.kind {
	case tokName:
		if t.text == "*" {
			return xTest{kind: testAnyName}
		}
		prefix, local, ok := strings.Cut(t.text, ":")
		if !ok {
			return xTest{kind: testName, local: t.text}
		}
		ns, known := xpathNamespace(prefix)
		if !known {
			p.failAt(t, "unknown namespace prefix %q (html, svg, math, xlink, xml and xmlns are bound)", prefix)
		}
		if local == "*" {
			return xTest{kind: testNamespace, ns: ns}
		}
		return xTest{kind: testName, local: local, ns: ns, prefixed: true}
	case tokNodeType:
		p.expect(tokPunct, "(")
		test := xTest{kind: map[string]testKind{"comment": testComment, "text": testText, "node": testNode, "processing-instruction": testPI}[t.text]}
		if test.kind == testPI && p.peek().kind == tokLiteral {
			test.local = p.next().text
		}
		p.expect(tokPunct, ")")
		return test
	}
	p.failAt(t, "expected a node test, found %s", p.describe(t))
	return xTest{}
}

func (p *xpathParser) predicates() []xexpr {
	var preds []xexpr
	for p.is(tokPunct, "[") {
		p.next()
		preds = append(preds, p.expr())
		p.expect(tokPunct, "]")
	}
	return preds
}

// filterExpr parses FilterExpr: a primary expression and its predicates.
func (p *xpathParser) filterExpr() xexpr {
	e := p.primary()
	if p.is(tokPunct, "[") {
		if !isNodeSet(e) {
			p.failAt(p.peek(), "a predicate can only follow a node set")
		}
		return &xFilter{primary: e, preds: p.predicates()}
	}
	return e
}

func (p *xpathParser) primary() xexpr {
	t := p.next()
	switch t.kind {
	case tokNumber:
		return xNumber(t.num)
	case tokLiteral:
		return xLiteral(t.text)
	case tokVariable:
		p.failAt(t, "variables are not supported ($%s)", t.text)
		return xLiteral("")
	case tokFunction:
		return p.call(t)
	case tokPunct:
		if t.text == "(" {
			e := p.expr()
			p.expect(tokPunct, ")")
			return e
		}
	}
	p.failAt(t, "unexpected %s", p.describe(t))
	return xLiteral("")
}

// call parses a function call's arguments and checks them against the
// function's signature.
func (p *xpathParser) call(name token) xexpr {
	fn, ok := xpathFunctions[name.text]
	if !ok {
		p.failAt(name, "unknown function %s()", name.text)
	}
	p.expect(tokPunct, "(")
	var args []xexpr
	if !p.is(tokPunct, ")") {
		if p.depth++; p.depth > MaxXPathNesting {
			p.fail(fmt.Errorf("%w (more than %d levels)", errXPathNesting, MaxXPathNesting))
		}
		for p.err == nil {
			args = append(args, p.expr())
			if !p.is(tokPunct, ",") {
				break
			}
			p.next()
		}
		p.depth--
	}
	p.expect(tokPunct, ")")
	if p.err != nil {
		return xLiteral("")
	}
	if len(args) < fn.min || (fn.max >= 0 && len(args) > fn.max) {
		p.failAt(name, "%s() takes %s, not %d", name.text, fn.arity(), len(args))
		return xLiteral("")
	}
	for _, i := range fn.nodeSetArgs {
		if i < len(args) && !isNodeSet(args[i]) {
			p.failAt(name, "%s()'s argument %d must be a node set", name.text, i+1)
			return xLiteral("")
		}
	}
	c := &xCall{name: name.text, fn: fn, args: args}
	if fn.compile != nil {
		if err := fn.compile(c); err != nil {
			p.failAt(name, "%s(): %v", name.text, err)
		}
	}
	return c
}

// newBinary builds a binary operation.
func newBinary(op string, l, r xexpr) xexpr {
	return &xBinary{op: xpathOps[op], l: l, r: r}
}

// isNodeSet reports whether e's static type is a node set.
func isNodeSet(e xexpr) bool { return e.kind() == XPathNodeSet }
