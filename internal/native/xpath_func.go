package native

import (
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// XPath's functions: the core function library of XPath 1.0 (section 4)
// and, as antchfx/xpath offered them before this package evaluated XPath
// itself, lower-case, upper-case, ends-with, matches, replace and
// string-join of XPath 2.0, and reverse, which changes nothing here since
// every node set is in document order.

// xpathFunc is a function's signature and body.
type xpathFunc struct {
	min, max int // arguments; max < 0 is unbounded
	ret      XPathKind
	// nodeSetArgs lists the arguments that must be node sets.
	nodeSetArgs []int
	call        func(ev *xpathEval, c xctx, x *xCall) xval
	// compile, when set, checks a call's arguments once, at compile time.
	compile func(x *xCall) error
	// re, when set, says how a regular-expression function takes its
	// pattern and flags.
	re *regexSig
}

func (f *xpathFunc) arity() string {
	switch {
	case f.max < 0:
		return fmt.Sprintf("at least %d arguments", f.min)
	case f.min == f.max:
		return fmt.Sprintf("%d arguments", f.min)
	}
	return fmt.Sprintf("%d to %d arguments", f.min, f.max)
}

// xCall is a function call.
type xCall struct {
	name string
	fn   *xpathFunc
	args []xexpr
	// re is the regular expression of matches() or replace() when its
	// pattern is a literal, compiled once.
	re *xpathRegexp
}

func (x *xCall) kind() XPathKind                 { return x.fn.ret }
func (x *xCall) eval(ev *xpathEval, c xctx) xval { return x.fn.call(ev, c, x) }

// arg evaluates argument i, or the context node as a node set when the
// call has no argument i (string(), name() and the like).
func (x *xCall) arg(ev *xpathEval, c xctx, i int) xval {
	if i >= len(x.args) {
		return nodeSetVal([]xpathNode{c.node})
	}
	return x.args[i].eval(ev, c)
}

// str evaluates argument i as a string, and a path only as far as its
// first node, which is all a string takes of a node set.
func (x *xCall) str(ev *xpathEval, c xctx, i int) string {
	if i < len(x.args) {
		if p, ok := x.args[i].(*xPath); ok {
			n, found := p.first(ev, c)
			if !found {
				return ""
			}
			return ev.stringValue(n)
		}
	}
	return ev.toString(x.arg(ev, c, i))
}

// num evaluates argument i as a number, a path as str does.
func (x *xCall) num(ev *xpathEval, c xctx, i int) float64 {
	if i < len(x.args) {
		if _, ok := x.args[i].(*xPath); ok {
			return parseXPathNumber(x.str(ev, c, i))
		}
	}
	return ev.toNumber(x.arg(ev, c, i))
}

// result charges a string a function made, a step per 64 bytes.
func (ev *xpathEval) result(s string) xval {
	ev.spend(len(s) / 64)
	return stringVal(s)
}

// xpathFunctions is the function library, by name. It is never modified.
var xpathFunctions = map[string]*xpathFunc{
	// Node sets.
	"last":     {ret: XPathNumber, call: func(_ *xpathEval, c xctx, _ *xCall) xval { return numberVal(float64(c.size)) }},
	"position": {ret: XPathNumber, call: func(_ *xpathEval, c xctx, _ *xCall) xval { return numberVal(float64(c.pos)) }},
	"count": {min: 1, max: 1, ret: XPathNumber, nodeSetArgs: []int{0}, call: func(ev *xpathEval, c xctx, x *xCall) xval {
		return numberVal(float64(len(x.arg(ev, c, 0).nodes)))
	}},
	"id":            {min: 1, max: 1, ret: XPathNodeSet, call: xpathID},
	"local-name":    {max: 1, ret: XPathString, nodeSetArgs: []int{0}, call: xpathName(localName)},
	"name":          {max: 1, ret: XPathString, nodeSetArgs: []int{0}, call: xpathName(qualifiedName)},
	"namespace-uri": {max: 1, ret: XPathString, nodeSetArgs: []int{0}, call: xpathName(namespaceURI)},
	// Strings.
	"string": {max: 1, ret: XPathString, call: func(ev *xpathEval, c xctx, x *xCall) xval { return stringVal(x.str(ev, c, 0)) }},
	"concat": {min: 2, max: -1, ret: XPathString, call: func(ev *xpathEval, c xctx, x *xCall) xval {
		var b strings.Builder
		for i := range x.args {
			b.WriteString(x.str(ev, c, i))
		}
		return ev.result(b.String())
	}},
	"starts-with": {min: 2, max: 2, ret: XPathBoolean, call: func(ev *xpathEval, c xctx, x *xCall) xval {
		return boolVal(strings.HasPrefix(x.str(ev, c, 0), x.str(ev, c, 1)))
	}},
	"ends-with": {min: 2, max: 2, ret: XPathBoolean, call: func(ev *xpathEval, c xctx, x *xCall) xval {
		return boolVal(strings.HasSuffix(x.str(ev, c, 0), x.str(ev, c, 1)))
	}},
	"contains": {min: 2, max: 2, ret: XPathBoolean, call: func(ev *xpathEval, c xctx, x *xCall) xval {
		s := x.str(ev, c, 0)
		ev.spend(len(s) / 64)
		return boolVal(strings.Contains(s, x.str(ev, c, 1)))
	}},
	"substring-before": {min: 2, max: 2, ret: XPathString, call: func(ev *xpathEval, c xctx, x *xCall) xval {
		before, _, ok := strings.Cut(x.str(ev, c, 0), x.str(ev, c, 1))
		if !ok {
			return stringVal("")
		}
		return stringVal(before)
	}},
	"substring-after": {min: 2, max: 2, ret: XPathString, call: func(ev *xpathEval, c xctx, x *xCall) xval {
		_, after, _ := strings.Cut(x.str(ev, c, 0), x.str(ev, c, 1))
		return stringVal(after)
	}},
	"substring": {min: 2, max: 3, ret: XPathString, call: xpathSubstring},
	"string-length": {max: 1, ret: XPathNumber, call: func(ev *xpathEval, c xctx, x *xCall) xval {
		s := x.str(ev, c, 0)
		ev.spend(len(s) / 64)
		return numberVal(float64(utf8.RuneCountInString(s)))
	}},
	"normalize-space": {max: 1, ret: XPathString, call: func(ev *xpathEval, c xctx, x *xCall) xval {
		return ev.result(normalizeXPathSpace(x.str(ev, c, 0)))
	}},
	"translate": {min: 3, max: 3, ret: XPathString, call: xpathTranslate},
	"lower-case": {min: 1, max: 1, ret: XPathString, call: func(ev *xpathEval, c xctx, x *xCall) xval {
		return ev.result(strings.ToLower(x.str(ev, c, 0)))
	}},
	"upper-case": {min: 1, max: 1, ret: XPathString, call: func(ev *xpathEval, c xctx, x *xCall) xval {
		return ev.result(strings.ToUpper(x.str(ev, c, 0)))
	}},
	"matches": {min: 2, max: 3, ret: XPathBoolean, call: xpathMatches, compile: compileLiteralPattern,
		re: &regexSig{flags: 2, allowed: "smi"}},
	"replace": {min: 3, max: 4, ret: XPathString, call: xpathReplace, compile: compileLiteralPattern,
		re: &regexSig{flags: 3, allowed: "smi", noEmpty: true}},
	"string-join": {min: 2, max: 2, ret: XPathString, nodeSetArgs: []int{0}, call: func(ev *xpathEval, c xctx, x *xCall) xval {
		nodes := x.arg(ev, c, 0).nodes
		sep := x.str(ev, c, 1)
		var b strings.Builder
		for i, n := range nodes {
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString(ev.stringValue(n))
			if !ev.spend(1 + b.Len()/64 - (b.Len()-len(sep))/64) {
				return stringVal("")
			}
		}
		return ev.result(b.String())
	}},
	// EXSLT's regular expressions and parsel's has-class()
	// (xpath_exslt.go).
	"re:test": {min: 2, max: 3, ret: XPathBoolean, call: xpathMatches, compile: compileLiteralPattern,
		re: &regexSig{flags: 2, allowed: "gi"}},
	"re:match": {min: 2, max: 3, ret: XPathNodeSet, call: exsltMatch, compile: compileLiteralPattern,
		re: &regexSig{flags: 2, allowed: "gi"}},
	"re:replace": {min: 4, max: 4, ret: XPathString, call: exsltReplace, compile: compileLiteralPattern,
		re: &regexSig{flags: 2, allowed: "gi"}},
	"has-class": {min: 1, max: -1, ret: XPathBoolean, call: hasClass, compile: compileHasClass},
	"reverse": {min: 1, max: 1, ret: XPathNodeSet, nodeSetArgs: []int{0}, call: func(ev *xpathEval, c xctx, x *xCall) xval {
		return x.arg(ev, c, 0)
	}},
	// Booleans.
	"boolean": {min: 1, max: 1, ret: XPathBoolean, call: func(ev *xpathEval, c xctx, x *xCall) xval { return boolVal(toBool(x.arg(ev, c, 0))) }},
	"not":     {min: 1, max: 1, ret: XPathBoolean, call: func(ev *xpathEval, c xctx, x *xCall) xval { return boolVal(!toBool(x.arg(ev, c, 0))) }},
	"true":    {ret: XPathBoolean, call: func(*xpathEval, xctx, *xCall) xval { return boolVal(true) }},
	"false":   {ret: XPathBoolean, call: func(*xpathEval, xctx, *xCall) xval { return boolVal(false) }},
	"lang":    {min: 1, max: 1, ret: XPathBoolean, call: xpathLang},
	// Numbers.
	"number": {max: 1, ret: XPathNumber, call: func(ev *xpathEval, c xctx, x *xCall) xval { return numberVal(x.num(ev, c, 0)) }},
	"sum": {min: 1, max: 1, ret: XPathNumber, nodeSetArgs: []int{0}, call: func(ev *xpathEval, c xctx, x *xCall) xval {
		var sum float64
		for _, n := range x.arg(ev, c, 0).nodes {
			if !ev.spend(1) {
				break
			}
			sum += parseXPathNumber(ev.stringValue(n))
		}
		return numberVal(sum)
	}},
	"floor":   {min: 1, max: 1, ret: XPathNumber, call: func(ev *xpathEval, c xctx, x *xCall) xval { return numberVal(math.Floor(x.num(ev, c, 0))) }},
	"ceiling": {min: 1, max: 1, ret: XPathNumber, call: func(ev *xpathEval, c xctx, x *xCall) xval { return numberVal(math.Ceil(x.num(ev, c, 0))) }},
	"round":   {min: 1, max: 1, ret: XPathNumber, call: func(ev *xpathEval, c xctx, x *xCall) xval { return numberVal(xpathRound(x.num(ev, c, 0))) }},
}

// normalizeXPathSpace strips leading and trailing XPath white space (#x20,
// #x9, #xD, #xA) and collapses each run of it to one space. Other spaces,
// such as U+00A0, are characters like any other, as in lxml.
func normalizeXPathSpace(s string) string {
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		if isXPathSpace(s[i]) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// xpathRound is XPath's round(): the nearest integer, halves up, keeping
// NaN, infinities and negative zero.
func xpathRound(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	r := math.Floor(f + 0.5)
	if r == 0 && math.Signbit(f) {
		return math.Copysign(0, -1)
	}
	return r
}

// xpathSubstring is substring(s, start, length?): the characters whose
// 1-based position p has round(start) <= p < round(start) + round(length),
// compared as numbers so that NaN and the infinities answer as XPath says.
func xpathSubstring(ev *xpathEval, c xctx, x *xCall) xval {
	s := x.str(ev, c, 0)
	from := xpathRound(x.num(ev, c, 1))
	to := math.Inf(1)
	if len(x.args) == 3 {
		to = from + xpathRound(x.num(ev, c, 2))
	}
	ev.spend(len(s) / 64)
	start, end := -1, len(s)
	p := 0
	for i := range s {
		p++
		in := float64(p) >= from && float64(p) < to
		if in && start < 0 {
			start = i
		}
		if !in && start >= 0 {
			end = i
			break
		}
	}
	if start < 0 {
		return stringVal("")
	}
	return stringVal(s[start:end])
}

// xpathTranslate is translate(s, from, to): each character of s found in
// from becomes the character at its first position in to, or is dropped
// when to is shorter.
func xpathTranslate(ev *xpathEval, c xctx, x *xCall) xval {
	s, from, to := x.str(ev, c, 0), []rune(x.str(ev, c, 1)), []rune(x.str(ev, c, 2))
	ev.spend(len(s) / 64)
	m := make(map[rune]rune, len(from))
	for i, r := range from {
		if _, ok := m[r]; ok {
			continue
		}
		if i < len(to) {
			m[r] = to[i]
		} else {
			m[r] = -1
		}
	}
	var b strings.Builder
	for _, r := range s {
		if t, ok := m[r]; ok {
			if t >= 0 {
				b.WriteRune(t)
			}
			continue
		}
		b.WriteRune(r)
	}
	return stringVal(b.String())
}

// The name functions answer for the first node of their argument.
type nameOf func(n xpathNode) string

func xpathName(f nameOf) func(ev *xpathEval, c xctx, x *xCall) xval {
	return func(ev *xpathEval, c xctx, x *xCall) xval {
		nodes := x.arg(ev, c, 0).nodes
		if len(nodes) == 0 {
			return stringVal("")
		}
		return stringVal(f(nodes[0]))
	}
}

func localName(n xpathNode) string {
	if n.attr >= 0 {
		return n.n.Attr[n.attr].Key
	}
	if n.n.Type == html.ElementNode {
		return n.n.Data
	}
	return ""
}

// qualifiedName is an element's local name (unprefixed, as lxml names
// an HTML tree's elements) or an attribute's name with its prefix.
func qualifiedName(n xpathNode) string {
	if n.attr >= 0 {
		if a := n.n.Attr[n.attr]; a.Namespace != "" {
			return a.Namespace + ":" + a.Key
		}
	}
	return localName(n)
}

func namespaceURI(n xpathNode) string {
	switch {
	case n.attr >= 0:
		return attrNamespace(n.n.Attr[n.attr])
	case n.n.Type == html.ElementNode:
		return elementNamespace(n.n)
	}
	return ""
}

// xpathID is id(object): the elements whose id attribute is one of the
// white-space-separated tokens of the object (of each node's string value
// for a node set), in document order.
func xpathID(ev *xpathEval, c xctx, x *xCall) xval {
	v := x.arg(ev, c, 0)
	ids := map[string]bool{}
	add := func(s string) {
		for _, id := range strings.FieldsFunc(s, func(r rune) bool { return r < utf8.RuneSelf && isXPathSpace(byte(r)) }) {
			ids[id] = true
		}
	}
	if v.kind == XPathNodeSet {
		for _, n := range v.nodes {
			add(ev.stringValue(n))
		}
	} else {
		add(ev.toString(v))
	}
	var out []xpathNode
	if len(ids) == 0 {
		return nodeSetVal(nil)
	}
	for n := ev.root; n != nil && ev.spend(1); n = nextIn(n, ev.root) {
		if n.Type != html.ElementNode {
			continue
		}
		if id, ok := attribute(n, "id"); ok && ids[id] {
			out = append(out, xpathNode{n: n, attr: -1})
		}
	}
	return nodeSetVal(out)
}

// xpathLang is lang(s): whether the xml:lang of the context node or its
// nearest ancestor with one is s or a sublanguage of s, ignoring case.
func xpathLang(ev *xpathEval, c xctx, x *xCall) xval {
	want := x.str(ev, c, 0)
	for n := c.node.n; n != nil && ev.spend(1); n = n.Parent {
		for _, a := range n.Attr {
			if a.Namespace == "xml" && a.Key == "lang" || a.Namespace == "" && a.Key == "xml:lang" {
				lang := a.Val
				ok := strings.EqualFold(lang, want) ||
					len(lang) > len(want) && lang[len(want)] == '-' && strings.EqualFold(lang[:len(want)], want)
				return boolVal(ok)
			}
		}
	}
	return boolVal(false)
}

// Regular expressions are Go's RE2, linear in their input, with XPath
// 2.0's flags s, m and i, or EXSLT's g and i (xpath_exslt.go).

// regexSig is where a regular-expression function takes its flags (its
// pattern is always argument 1) and which flags it allows.
type regexSig struct {
	flags int // index of the flags argument
	// allowed lists the flags: "smi" for XPath 2.0's, "gi" for EXSLT's,
	// where g asks for every match and is not a flag of the pattern.
	allowed string
	// noEmpty refuses a pattern that matches the empty string, as XPath
	// 2.0's replace() does.
	noEmpty bool
}

// compile compiles pattern with flags as sig allows them.
func (sig *regexSig) compile(pattern, flags string) (*xpathRegexp, error) {
	global := false
	var mods []byte
	for _, f := range flags {
		if !strings.ContainsRune(sig.allowed, f) {
			return nil, fmt.Errorf("unsupported regular expression flag %q (%s)", f, flagList(sig.allowed))
		}
		if f == 'g' {
			global = true
			continue
		}
		mods = append(mods, byte(f))
	}
	re, err := compileXPathRegexp(pattern, string(mods))
	if err != nil {
		return nil, err
	}
	if sig.noEmpty && re.re.MatchString("") {
		return nil, fmt.Errorf("pattern %q matches the empty string", pattern)
	}
	re.global = global
	return re, nil
}

// flagList writes allowed flags for an error message: "s, m and i are".
func flagList(allowed string) string {
	var b strings.Builder
	for i, f := range allowed {
		switch {
		case i == len(allowed)-1 && i > 0:
			b.WriteString(" and ")
		case i > 0:
			b.WriteString(", ")
		}
		b.WriteRune(f)
	}
	if len(allowed) == 1 {
		return b.String() + " is"
	}
	return b.String() + " are"
}

// compileLiteralPattern compiles a literal pattern and flags at compile
// time, so that a bad one is refused before any document is seen.
func compileLiteralPattern(x *xCall) error {
	pat, ok := x.args[1].(xLiteral)
	if !ok {
		return nil
	}
	sig := x.fn.re
	flags := xLiteral("")
	if sig.flags < len(x.args) {
		if flags, ok = x.args[sig.flags].(xLiteral); !ok {
			return nil
		}
	}
	re, err := sig.compile(string(pat), string(flags))
	if err != nil {
		return err
	}
	x.re = re
	return nil
}

// xpathRegexp is a compiled regular expression and the size of its
// program, which is what matching costs per byte of input.
type xpathRegexp struct {
	re    *regexp.Regexp
	insts int
	// global is EXSLT's flag g: every match, not the first.
	global bool
}

// cost is the steps of running r over s: RE2 steps through at most every
// instruction of its program for every byte, so that a pattern such as
// \pL{1000} costs what it takes, and ordinary ones next to nothing.
func (r *xpathRegexp) cost(s string) int { return 1 + (len(s)+1)*r.insts/256 }

// compileXPathRegexp compiles pattern with the pattern flags mods (s, m, i).
func compileXPathRegexp(pattern, mods string) (*xpathRegexp, error) {
	if mods != "" {
		pattern = "(?" + mods + ")" + pattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	// The program's size, as regexp compiles it, once per pattern.
	parsed, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return nil, err
	}
	return &xpathRegexp{re: re, insts: len(prog.Inst)}, nil
}

// regexp returns the call's regular expression: compiled at compile time
// when literal, or now, charged by its length, and kept for the rest of
// the evaluation. A pattern computed from the document is held to the
// regex spec's MaxPatternLen; a literal one is part of an expression,
// which is shorter than that.
func (x *xCall) regexp(ev *xpathEval, c xctx) *xpathRegexp {
	if x.re != nil {
		return x.re
	}
	sig := x.fn.re
	pat := x.str(ev, c, 1)
	flags := ""
	if sig.flags < len(x.args) {
		flags = x.str(ev, c, sig.flags)
	}
	if ev.err != nil {
		return nil
	}
	if len(pat) > ev.maxPattern {
		ev.fail(&xpathEvalError{fmt.Errorf("%s(): pattern of %d bytes is %w (MaxPatternLen %d)", x.name, len(pat), ErrTooLong, ev.maxPattern)})
		return nil
	}
	// The signature is part of the key: the same flags and pattern may be
	// refused by one function (replace()'s empty match, re:test()'s s)
	// and accepted by another.
	key := regexpKey{sig: sig, flags: flags, pattern: pat}
	if re, ok := ev.regexps[key]; ok {
		return re
	}
	if !ev.spend(1 + len(pat)) {
		return nil
	}
	re, err := sig.compile(pat, flags)
	if err != nil {
		ev.fail(&xpathEvalError{fmt.Errorf("%s(): %w", x.name, err)})
		return nil
	}
	if ev.regexps == nil {
		ev.regexps = map[regexpKey]*xpathRegexp{}
	}
	if len(ev.regexps) < maxXPathRegexps {
		ev.regexps[key] = re
	}
	return re
}

// regexpKey identifies a pattern compiled during an evaluation.
type regexpKey struct {
	sig            *regexSig
	flags, pattern string
}

// xpathEvalError is an expression that compiled but cannot be evaluated:
// a pattern computed from the document that is not a valid one.
type xpathEvalError struct{ err error }

func (e *xpathEvalError) Error() string { return e.err.Error() }
func (e *xpathEvalError) Unwrap() error { return e.err }

// xpathMatches is matches(s, pattern, flags?) and EXSLT's re:test(input,
// pattern, flags?): whether pattern matches somewhere in s, the string
// value of its first node for a node set. The two differ only in the
// flags they take (their regexSig), and re:test's g changes nothing.
func xpathMatches(ev *xpathEval, c xctx, x *xCall) xval {
	s := x.str(ev, c, 0)
	re := x.regexp(ev, c)
	if re == nil || !ev.spend(re.cost(s)) {
		return boolVal(false)
	}
	return boolVal(re.re.MatchString(s))
}

// xpathReplace is replace(s, pattern, replacement, flags?), with $1 for a
// group as XPath 2.0 writes it. A pattern that matches the empty string
// is refused, as XPath 2.0 refuses it. The answer is charged before it is
// made at its largest: every match replaced, each $n standing for the
// whole match.
func xpathReplace(ev *xpathEval, c xctx, x *xCall) xval {
	s, repl := x.str(ev, c, 0), x.str(ev, c, 2)
	re := x.regexp(ev, c)
	if re == nil {
		return stringVal("")
	}
	// A match of m >= 1 bytes becomes at most len(repl) bytes and m for
	// each $n.
	refs := strings.Count(repl, "$")
	if !ev.spend(re.cost(s) + len(s)*(1+len(repl)+refs)/64) {
		return stringVal("")
	}
	// $1 in XPath is ${1} in Go, so that "$1x" is not read as group "1x".
	var tmpl strings.Builder
	for i := 0; i < len(repl); i++ {
		switch {
		case repl[i] == '\\' && i+1 < len(repl):
			i++
			if repl[i] == '$' {
				tmpl.WriteString("$$")
			} else {
				tmpl.WriteByte(repl[i])
			}
		case repl[i] == '$':
			j := i + 1
			for j < len(repl) && isDigit(repl[j]) {
				j++
			}
			if j == i+1 {
				ev.fail(&xpathEvalError{fmt.Errorf("replace(): '$' must be followed by a group number or escaped as \\$")})
				return stringVal("")
			}
			tmpl.WriteString("${" + repl[i+1:j] + "}")
			i = j - 1
		default:
			tmpl.WriteByte(repl[i])
		}
	}
	return stringVal(re.re.ReplaceAllString(s, tmpl.String()))
}
