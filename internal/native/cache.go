package native

import (
	"errors"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync/atomic"

	"github.com/andybalholm/cascadia"
	lru "github.com/hashicorp/golang-lru/v2"
)

// DefaultCacheSize is the number of entries a cache holds when created with
// a size of zero or less.
const DefaultCacheSize = 512

// CacheStats is a snapshot of a cache's counters.
type CacheStats struct {
	Hits, Misses uint64
	Len, Size    int
	// Streamed and StreamGaveUp count, for a SelectorCache only, the
	// questions of its extractors that the token stream answered and those
	// on which it gave up for the tree (see the package doc).
	Streamed, StreamGaveUp uint64
}

// cache is a bounded LRU of compiled values keyed by their source text.
// Compile errors are not cached: a bad selector costs a parse each time,
// which the length limits keep cheap, and caching them would let a client
// flush the good entries with garbage.
type cache[V any] struct {
	lru     *lru.Cache[string, V]
	size    int
	compile func(string) (V, error)
	hits    atomic.Uint64
	misses  atomic.Uint64
}

func newCache[V any](size int, compile func(string) (V, error)) *cache[V] {
	if size <= 0 {
		size = DefaultCacheSize
	}
	l, err := lru.New[string, V](size)
	if err != nil {
		// lru.New fails only for a size <= 0, excluded above.
		panic(err)
	}
	return &cache[V]{lru: l, size: size, compile: compile}
}

// get returns the compiled form of src, compiling and adding it on a miss.
// Two goroutines missing on one key at once both compile it; that wastes a
// few microseconds, where a singleflight would cost every miss a lock.
func (c *cache[V]) get(src string) (V, error) {
	if v, ok := c.lru.Get(src); ok {
		c.hits.Add(1)
		return v, nil
	}
	c.misses.Add(1)
	v, err := c.compile(src)
	if err != nil {
		return v, err
	}
	c.lru.Add(src, v)
	return v, nil
}

// warm compiles and adds every entry of list, without counting misses, and
// returns the errors of the entries that did not compile, joined.
func (c *cache[V]) warm(list []string) error {
	var errs []error
	for _, src := range list {
		if c.lru.Contains(src) {
			continue
		}
		v, err := c.compile(src)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.lru.Add(src, v)
	}
	return errors.Join(errs...)
}

func (c *cache[V]) stats() CacheStats {
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Len: c.lru.Len(), Size: c.size}
}

// SelectorCache is a bounded LRU cache of compiled CSS selectors, keyed by
// selector text, meant to be shared by all the CSS extractors of a pool. It
// is safe for concurrent use.
//
// The cache applies no length limit: extractors check a selector against
// their Limits before they look it up, and Warm trusts its configuration.
type SelectorCache struct {
	c                *cache[*selector]
	streamed, gaveUp atomic.Uint64
	xpath            *XPathCache
}

// NewSelectorCache returns a cache of at most size selectors, or of
// DefaultCacheSize when size <= 0.
func NewSelectorCache(size int) *SelectorCache {
	return &SelectorCache{c: newCache(size, compileSelector), xpath: newXPathCache(size)}
}

// XPath returns the cache of compiled XPath expressions that goes with
// this one: of the same size, for the same extractors.
func (s *SelectorCache) XPath() *XPathCache { return s.xpath }

// Compile returns the compiled selector group for sel (a comma-separated
// list of selectors is one group), from the cache when it holds it. Errors
// are *SpecError with Field "selector".
func (s *SelectorCache) Compile(sel string) (cascadia.SelectorGroup, error) {
	c, err := s.c.get(sel)
	if err != nil {
		return nil, err
	}
	return c.group, nil
}

func parseSelector(sel string) (cascadia.SelectorGroup, error) {
	if strings.TrimSpace(sel) == "" {
		return nil, &SpecError{Field: "selector", Value: sel, Err: ErrEmptyValue}
	}
	g, err := cascadia.ParseGroup(sel)
	if err != nil {
		return nil, &SpecError{Field: "selector", Value: sel, Err: err}
	}
	return g, nil
}

// Warm compiles list into the cache, typically from configuration at start.
// It adds every valid entry and reports the invalid ones as one error
// joining a *SpecError for each.
func (s *SelectorCache) Warm(list []string) error { return s.c.warm(list) }

// Hits returns the number of lookups answered from the cache.
func (s *SelectorCache) Hits() uint64 { return s.c.hits.Load() }

// Misses returns the number of lookups that had to compile.
func (s *SelectorCache) Misses() uint64 { return s.c.misses.Load() }

// Len returns the number of selectors in the cache.
func (s *SelectorCache) Len() int { return s.c.lru.Len() }

// Stats returns a snapshot of all counters.
func (s *SelectorCache) Stats() CacheStats {
	st := s.c.stats()
	st.Streamed, st.StreamGaveUp = s.streamed.Load(), s.gaveUp.Load()
	return st
}

// pattern is a compiled regular expression and what Find needs to know
// about it.
type pattern struct {
	re *regexp.Regexp
	// looksBehind is set when the pattern holds an assertion that looks at the
	// text before the match (^, \A, \b, \B). Such a pattern cannot be
	// searched from the middle of a string by slicing it, because the slice
	// hides the preceding rune.
	looksBehind bool
	// behind, for a pattern that looksBehind, is the pattern searched
	// from the middle of a string: ^(?s:.)(?s:.*?)(pattern), matched
	// from the rune before the search's start, so that the pattern's
	// assertions see that rune (and ^ and \A, mid-text, never match).
	// Its first group is the pattern's match, the lazy prefix making it
	// the leftmost, as a search from that point would find.
	behind *regexp.Regexp
	named  bool // has named groups
	// insts is the size of the compiled program: Go's regexp does at most
	// about that much work per byte of text (its NFA runs up to one
	// thread per instruction), which is the regex cost model.
	insts int
}

// PatternCache is a bounded LRU cache of compiled regular expressions
// (Go RE2 syntax), keyed by pattern text, meant to be shared by all the
// regex extractors of a pool. It is safe for concurrent use.
//
// The cache applies no length limit: extractors check a pattern against
// their Limits before they look it up, and Warm trusts its configuration.
type PatternCache struct {
	c *cache[*pattern]
}

// NewPatternCache returns a cache of at most size patterns, or of
// DefaultCacheSize when size <= 0.
func NewPatternCache(size int) *PatternCache {
	return &PatternCache{c: newCache(size, parsePattern)}
}

// Compile returns the compiled form of expr, from the cache when it holds
// it. Errors are *SpecError with Field "pattern"; a syntax error is
// reachable with errors.As as a *syntax.Error.
func (p *PatternCache) Compile(expr string) (*regexp.Regexp, error) {
	pat, err := p.c.get(expr)
	if err != nil {
		return nil, err
	}
	return pat.re, nil
}

func parsePattern(expr string) (*pattern, error) {
	if expr == "" {
		// The empty pattern matches between every two runes: valid RE2,
		// but never what a client meant.
		return nil, &SpecError{Field: "pattern", Value: expr, Err: ErrEmptyValue}
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, &SpecError{Field: "pattern", Value: expr, Err: err}
	}
	// regexp.Compile has just parsed expr the same way, so this cannot fail.
	tree, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, &SpecError{Field: "pattern", Value: expr, Err: err}
	}
	prog, err := syntax.Compile(tree.Simplify())
	if err != nil {
		return nil, &SpecError{Field: "pattern", Value: expr, Err: err}
	}
	pat := &pattern{re: re, looksBehind: looksBehind(tree), insts: len(prog.Inst)}
	if pat.looksBehind {
		if pat.behind, err = regexp.Compile(`^(?s:.)(?s:.*?)(` + expr + `)`); err != nil {
			return nil, &SpecError{Field: "pattern", Value: expr, Err: err}
		}
	}
	for _, name := range re.SubexpNames() {
		if name != "" {
			pat.named = true
			break
		}
	}
	return pat, nil
}

// looksBehind reports whether re holds an assertion whose truth depends on
// the rune before the current position.
func looksBehind(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpBeginText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	for _, sub := range re.Sub {
		if looksBehind(sub) {
			return true
		}
	}
	return false
}

// Warm compiles list into the cache, typically from configuration at start.
// It adds every valid entry and reports the invalid ones as one error
// joining a *SpecError for each.
func (p *PatternCache) Warm(list []string) error { return p.c.warm(list) }

// Hits returns the number of lookups answered from the cache.
func (p *PatternCache) Hits() uint64 { return p.c.hits.Load() }

// Misses returns the number of lookups that had to compile.
func (p *PatternCache) Misses() uint64 { return p.c.misses.Load() }

// Len returns the number of patterns in the cache.
func (p *PatternCache) Len() int { return p.c.lru.Len() }

// Stats returns a snapshot of all counters.
func (p *PatternCache) Stats() CacheStats { return p.c.stats() }

// viewSize is the number of entries an extractor's view remembers. A pooled
// extractor mostly serves one client's handful of selectors in a row.
const viewSize = 4

// view is an extractor's private front to a shared cache: the last few
// entries it used, found without taking the shared LRU's lock. A hit here
// counts as a hit of the shared cache but does not refresh the entry's
// recency there; the cost is at most one recompile after an eviction.
// Entries are immutable compiled values, so a view never goes stale.
type view[V any] struct {
	shared *cache[V]
	keys   [viewSize]string
	vals   [viewSize]V
	next   int
}

func (v *view[V]) get(src string) (V, error) {
	for i := range v.keys {
		if v.keys[i] == src && src != "" {
			v.shared.hits.Add(1)
			return v.vals[i], nil
		}
	}
	val, err := v.shared.get(src)
	if err == nil {
		v.keys[v.next], v.vals[v.next] = src, val
		v.next = (v.next + 1) % viewSize
	}
	return val, err
}
