package native

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// The functions an expression pasted from Scrapy or parsel may call
// beyond XPath 1.0: EXSLT's regular expressions, whose prefix re parsel
// binds to http://exslt.org/regular-expressions by default (and so does
// this package, the prefix being part of the function's name here), and
// parsel's has-class(). They answer as lxml and parsel do, with Go's RE2
// in place of Python's re: linear in the input whatever the pattern.

// exsltMatch is re:match(input, pattern, flags?), as lxml answers it:
// without g, the first match and then each of its groups ("" for one
// that took no part); with g, every match, or its group 1 when the
// pattern has one group, or its groups joined when it has more (Python's
// findall). No match is the empty node set.
//
// lxml answers <match> elements of a document of their own; here each
// string is a text node outside the document, so that its string value,
// and the answer of a node set, is the string as matched, white space
// included. Unlike lxml's, re:match(...)/text() and name(re:match(...))
// find nothing.
func exsltMatch(ev *xpathEval, c xctx, x *xCall) xval {
	s := x.str(ev, c, 0)
	re := x.regexp(ev, c)
	if re == nil || !ev.spend(re.cost(s)) {
		return nodeSetVal(nil)
	}
	groups := re.re.NumSubexp()
	if !re.global {
		loc := re.re.FindStringSubmatchIndex(s)
		if loc == nil {
			return nodeSetVal(nil)
		}
		out := make([]string, 0, 1+groups)
		for g := 0; g <= groups; g++ {
			out = append(out, submatch(s, loc, g))
		}
		return ev.detachedText(out)
	}
	// Every match becomes a node: at most MaxMatches of them, as the
	// regex spec answers at most that many, so that a pattern matching
	// everywhere on a long input cannot fill memory before it is charged.
	locs := re.re.FindAllStringSubmatchIndex(s, ev.maxMatches+1)
	if len(locs) > ev.maxMatches {
		ev.fail(&xpathEvalError{fmt.Errorf("re:match(): more than %d matches (MaxMatches): %w", ev.maxMatches, ErrTooCostly)})
		return nodeSetVal(nil)
	}
	if !ev.spend(len(locs) * (1 + groups)) {
		return nodeSetVal(nil)
	}
	out := make([]string, 0, len(locs))
	for _, loc := range locs {
		switch groups {
		case 0:
			out = append(out, s[loc[0]:loc[1]])
		case 1:
			out = append(out, submatch(s, loc, 1))
		default:
			var b strings.Builder
			for g := 1; g <= groups; g++ {
				b.WriteString(submatch(s, loc, g))
			}
			out = append(out, b.String())
		}
	}
	return ev.detachedText(out)
}

// submatch is group g of a match at loc, "" when it took no part.
func submatch(s string, loc []int, g int) string {
	if loc[2*g] < 0 {
		return ""
	}
	return s[loc[2*g]:loc[2*g+1]]
}

// detachedText makes a text node, outside the document, for each string,
// charged two steps each (a node is about 128 bytes) and a step per 64
// bytes.
func (ev *xpathEval) detachedText(strs []string) xval {
	nodes := make([]xpathNode, 0, len(strs))
	for _, s := range strs {
		if !ev.spend(2 + len(s)/64) {
			return nodeSetVal(nil)
		}
		nodes = append(nodes, xpathNode{n: &html.Node{Type: html.TextNode, Data: s}, attr: -1})
	}
	return nodeSetVal(nodes)
}

// exsltReplace is re:replace(input, pattern, flags, replacement), as lxml
// answers it with Python's re.sub: the first match replaced, or every one
// with g, where the replacement's \1 or \g<1> or \g<name> stand for a
// group, \\ for a backslash and \n, \t, \r, \f, \v, \a, \b for their
// characters. A pattern may match the empty string, as in Python; unlike
// Python 3.7's, Go's empty matches right after a match are skipped, so
// re:replace('abc', 'x*', 'g', '-') is "-a-b-c-" in both but
// re:replace('ab', 'b*', 'g', '-') is "-a-" here and "-a--" in Python.
// The answer is charged before it is made at its largest, as replace()'s.
func exsltReplace(ev *xpathEval, c xctx, x *xCall) xval {
	s, repl := x.str(ev, c, 0), x.str(ev, c, 3)
	re := x.regexp(ev, c)
	if re == nil {
		return stringVal("")
	}
	tmpl, refs, err := pythonTemplate(repl, re.re)
	if err != nil {
		ev.fail(&xpathEvalError{fmt.Errorf("re:replace(): %w", err)})
		return stringVal("")
	}
	// At most len(s)+1 matches, each becoming the replacement with every
	// group reference standing for at most all of s.
	if !ev.spend(re.cost(s) + (len(s)+1)*(1+len(repl)+refs)/64) {
		return stringVal("")
	}
	if re.global {
		return stringVal(re.re.ReplaceAllString(s, tmpl))
	}
	loc := re.re.FindStringSubmatchIndex(s)
	if loc == nil {
		return stringVal(s)
	}
	out := []byte(s[:loc[0]])
	out = re.re.ExpandString(out, tmpl, s, loc)
	return stringVal(string(append(out, s[loc[1]:]...)))
}

// errBadReplacement is a replacement re:replace() cannot read.
var errBadReplacement = errors.New("bad replacement")

// pythonTemplate rewrites a replacement as Python's re.sub reads it into
// a template for Go's Regexp.Expand, and counts its group references.
// Octal escapes and references to groups the pattern lacks are refused,
// as Python refuses the latter.
func pythonTemplate(repl string, re *regexp.Regexp) (tmpl string, refs int, err error) {
	var b strings.Builder
	group := func(ref string) error {
		if strings.Trim(ref, "0123456789") == "" {
			if n, err := strconv.Atoi(ref); err != nil || n > re.NumSubexp() {
				return fmt.Errorf("%w: no group %d in the pattern", errBadReplacement, n)
			}
		} else if re.SubexpIndex(ref) < 0 {
			return fmt.Errorf("%w: no group %q in the pattern", errBadReplacement, ref)
		}
		refs++
		b.WriteString("${" + ref + "}")
		return nil
	}
	for i := 0; i < len(repl); i++ {
		ch := repl[i]
		if ch == '$' {
			b.WriteString("$$")
			continue
		}
		if ch != '\\' {
			b.WriteByte(ch)
			continue
		}
		if i+1 == len(repl) {
			return "", 0, fmt.Errorf("%w: a lone \\ at the end", errBadReplacement)
		}
		i++
		switch e := repl[i]; {
		case e >= '1' && e <= '9':
			j := i + 1
			if j < len(repl) && isDigit(repl[j]) {
				j++
			}
			if err := group(repl[i:j]); err != nil {
				return "", 0, err
			}
			i = j - 1
		case e == 'g':
			end := strings.IndexByte(repl[i:], '>')
			if i+1 >= len(repl) || repl[i+1] != '<' || end < 0 || end == 2 {
				return "", 0, fmt.Errorf("%w: \\g must be followed by <group>", errBadReplacement)
			}
			if err := group(repl[i+2 : i+end]); err != nil {
				return "", 0, err
			}
			i += end
		case e == '\\':
			b.WriteByte('\\')
		case strings.IndexByte("ntrfvab", e) >= 0:
			b.WriteByte("\n\t\r\f\v\a\b"[strings.IndexByte("ntrfvab", e)])
		case e == '0' || 'a' <= e && e <= 'z' || 'A' <= e && e <= 'Z':
			return "", 0, fmt.Errorf("%w: unsupported escape \\%c", errBadReplacement, e)
		default:
			// Python keeps other escapes as written.
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String(), refs, nil
}

// compileHasClass refuses, when the expression compiles, the arguments
// parsel refuses when it runs: has-class() takes strings, so a node set,
// number or boolean is an error rather than converted.
func compileHasClass(x *xCall) error {
	for i, a := range x.args {
		if k := a.kind(); k != XPathString {
			return fmt.Errorf("argument %d is a %s; has-class() takes strings", i+1, k)
		}
	}
	return nil
}

// hasClass is parsel's has-class(name, ...): whether the class attribute
// of the context element, its HTML white space read as spaces, holds
// every name as a space-separated word. It reads the attribute as parsel
// does, so a name with a space in it matches two adjacent classes.
func hasClass(ev *xpathEval, c xctx, x *xCall) xval {
	n := c.node
	if n.attr >= 0 || !ev.spend(1) {
		return boolVal(false)
	}
	class, ok := attribute(n.n, "class")
	if !ok {
		return boolVal(false)
	}
	ev.spend(len(class) / 64)
	padded := " " + strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && isSpaceByte(byte(r)) {
			return ' '
		}
		return r
	}, class) + " "
	for i := range x.args {
		name := x.str(ev, c, i)
		if !ev.spend(1+len(padded)/64) || !strings.Contains(padded, " "+name+" ") {
			return boolVal(false)
		}
	}
	return boolVal(true)
}
