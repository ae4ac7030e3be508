package native

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The functions an expression pasted from Scrapy or parsel may call
// beyond XPath 1.0: EXSLT's regular expressions, whose prefix re parsel
// binds to http://exslt.org/regular-expressions by default (and so does
// this package, the prefix being part of the function's name here), and
// parsel's has-class(). They answer as lxml and parsel do, with Go's RE2
// in place of Python's re: linear in the input whatever the pattern.

// exsltTest is re:test(input, pattern, flags?): whether pattern matches
// somewhere in input, the string value of its first node for a node set.
// The flag g changes nothing here.
func exsltTest(ev *xpathEval, c xctx, x *xCall) xval {
	s := x.str(ev, c, 0)
	re := x.regexp(ev, c)
	if re == nil || !ev.spend(re.cost(s)) {
		return boolVal(false)
	}
	return boolVal(re.re.MatchString(s))
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
